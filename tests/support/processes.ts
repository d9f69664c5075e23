// Helpers for scenario tests and benchmarks that start this project's programs.

import { Child } from "../../cli/child.ts";

export { Child };

/** What the registrar prints first. */
export interface RegistrarReady {
  serverId: number;
  asap: { protocol: "sctp" | "tcp"; hostname: string; port: number }[];
  enrp: { protocol: "sctp" | "tcp"; hostname: string; port: number }[];
}

/** Starts a registrar process on free loopback ports; resolves once it listens. */
export async function startRegistrar(
  args: string[] = [],
  name = "registrar",
): Promise<{ child: Child; ready: RegistrarReady }> {
  const defaults = [
    ...(args.includes("--asap") ? [] : ["--asap", "sctp:127.0.0.1:0", "--asap", "tcp:127.0.0.1:0"]),
    ...(args.includes("--announce") ? [] : ["--announce", "off"]),
    // ENRP only when asked for, and then without multicast unless asked: registrars of tests
    // running at once must not find each other.
    ...(args.includes("--enrp") ? [] : ["--enrp", "off"]),
    ...(!args.includes("--enrp") || args.includes("--enrp-announce") ? [] : [
      "--enrp-announce",
      "off",
    ]),
  ];
  const child = Child.spawn(name, "registrar/main.ts", [...defaults, ...args]);
  const ready = await child.json<RegistrarReady>();
  return { child, ready };
}

/**
 * The exit status of `child` once it ends by itself (after `signal`, if one is given); past
 * `timeout` ms it is killed with SIGKILL and this throws, so that a test fails instead of
 * waiting forever for a program that does not end.
 */
export async function exitWithin(
  child: Child,
  timeout: number,
  signal?: Deno.Signal,
): Promise<Deno.CommandStatus> {
  if (signal !== undefined) {
    try {
      child.process.kill(signal);
    } catch {
      // already gone
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), timeout);
  });
  try {
    const status = await Promise.race([child.status, expired]);
    if (status !== "expired") return status;
  } finally {
    clearTimeout(timer);
  }
  await child.stop("SIGKILL");
  throw new Error(
    `${child.name} did not end within ${timeout} ms${signal ? ` of ${signal}` : ""}\n` +
      child.stderr(),
  );
}
