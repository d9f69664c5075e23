/**
 * A live loopback capture with `dumpcap` (from the tshark packages) for the SCTP-over-UDP
 * tests. Under `CI=true` a missing `dumpcap` fails the test.
 *
 * @module
 */

/** A running capture. */
export interface LiveCapture {
  /** The capture file. */
  readonly path: string;
  /** Stops dumpcap and waits until the file is complete. */
  stop(): Promise<void>;
}

/**
 * Starts `dumpcap -i lo -f FILTER -w PATH` and resolves once it is capturing.
 *
 * @example
 * ```ts ignore
 * const capture = await captureLoopback("udp port 9899", "/tmp/sctp.pcapng");
 * await capture.stop();
 * ```
 */
export async function captureLoopback(filter: string, path: string): Promise<LiveCapture> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("dumpcap", {
      args: ["-i", "lo", "-f", filter, "-w", path, "-q"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error("dumpcap is not installed (Debian package tshark)", { cause: error });
  }
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("Capturing on")) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`dumpcap ended before capturing: ${text}`);
    }
    text += value;
  }
  // dumpcap reports before its filter is attached; give it a moment.
  await new Promise((r) => setTimeout(r, 500));
  const drain = (async () => {
    while (!(await reader.read()).done) {
      // keep stderr flowing
    }
  })();
  let stopped = false;
  return {
    path,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Let the last packets reach the capture buffer before stopping.
      await new Promise((r) => setTimeout(r, 500));
      child.kill("SIGINT");
      await child.status;
      await drain;
    },
  };
}
