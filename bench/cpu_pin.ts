// Pinning benchmark processes to CPUs with `taskset` (Linux), so that a registrar's figures are
// its own and not the machine's share-out among it, its load and its clients.

/** Binds every thread of a process (and those it starts later) to `cpus` ("0", "1-3"). */
export async function pin(pid: number, cpus: string): Promise<void> {
  const { success } = await new Deno.Command("taskset", {
    args: ["-a", "-c", "-p", cpus, String(pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`taskset could not bind process ${pid} to CPUs ${cpus}`);
}
