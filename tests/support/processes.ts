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
