/**
 * A harness for interoperation tests against RSPLIB, the C reference implementation of
 * RSerPool (`../shared/rsplib/`, built by its `build.sh` into `$RSPLIB_PREFIX`, else
 * `/var/tmp/rsplib`).
 *
 * RSPLIB runs on sctplib, a user-space SCTP that carries SCTP in UDP port 9899 at both ends,
 * through raw sockets that see every UDP/9899 packet of their network namespace. So a test
 * builds a lab ({@linkcode createInteropLab}): RSPLIB's programs in namespace A at `10.N.0.1`
 * on a bridge, and each of this project's programs (run with their SCTP on UDP 9899) in a
 * namespace of its own at `10.N.0.2`, `.3`, ..., joined to A's bridge by a veth pair, with a
 * distinct `N` per test so that tests run in parallel. Every process the lab starts is killed
 * and every namespace deleted when the lab is disposed, whether the test passed or not.
 *
 * Tests use {@linkcode interopTest}: ignored (with the reason printed) when RSPLIB, root or
 * `ip` is missing on a developer's machine, but run, and fail, when `CI` is `true`.
 *
 * @module
 */

import { Child } from "../../cli/child.ts";
import { ip, netnsAvailable } from "./netns.ts";

/** The UDP port sctplib uses as source and destination of every SCTP packet. */
export const RSPLIB_UDP_PORT = 9899;

/** Flags that put the SCTP of one of this project's programs on RSPLIB's UDP port. */
export const SCTP_ON_RSPLIB_PORT: readonly string[] = [
  "--sctp-udp-port",
  String(RSPLIB_UDP_PORT),
  "--sctp-remote-udp-port",
  String(RSPLIB_UDP_PORT),
];

/** The ASAP port of registrars. */
export const ASAP_PORT = 3863;
/** The ENRP port of registrars. */
export const ENRP_PORT = 9901;

/** Where RSPLIB is installed: `$RSPLIB_PREFIX`, else `/var/tmp/rsplib`. */
export function rsplibPrefix(): string {
  return Deno.env.get("RSPLIB_PREFIX") || "/var/tmp/rsplib";
}

/** The path of an RSPLIB program. */
export function rsplibProgram(name: string): string {
  return `${rsplibPrefix()}/bin/${name}`;
}

/** The programs the tests use. */
const PROGRAMS = ["rspregistrar", "rspserver", "rspterminal", "hsdump", "hrestest"];

/** Why the interop tests cannot run here, or `undefined` when they can. */
export async function rsplibMissing(): Promise<string | undefined> {
  if (!(await netnsAvailable())) return "needs Linux, root and ip (iproute2)";
  for (const p of PROGRAMS) {
    try {
      const info = await Deno.stat(rsplibProgram(p));
      if (!info.isFile) return `${rsplibProgram(p)} is not a file`;
    } catch {
      return `RSPLIB not built: no ${rsplibProgram(p)} (run ../shared/rsplib/build.sh)`;
    }
  }
  try {
    const out = await new Deno.Command("stdbuf", { args: ["--version"], stdout: "null" })
      .output();
    if (!out.success) return "stdbuf (coreutils) does not run";
  } catch {
    return "needs stdbuf (coreutils)";
  }
  return undefined;
}

/**
 * The `ignore` value for an interop test: never ignored under `CI=true`; elsewhere ignored,
 * with the reason printed, when RSPLIB, root or `ip` is missing.
 */
export async function ignoreWithoutRsplib(): Promise<boolean> {
  const missing = await rsplibMissing();
  if (missing === undefined) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.error(`interop tests ignored: ${missing}`);
  return true;
}

/** Removes terminal colour sequences (rspterminal colours its lines). */
function plain(line: string): string {
  // deno-lint-ignore no-control-regex
  return line.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Reads a byte stream line by line into `sink`. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  sink: (line: string) => void,
): Promise<void> {
  let rest = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let i: number;
      while ((i = rest.indexOf("\n")) >= 0) {
        sink(plain(rest.slice(0, i)));
        rest = rest.slice(i + 1);
      }
    }
  } catch {
    // the process was killed
  }
  if (rest !== "") sink(plain(rest));
}

/**
 * An RSPLIB program running in a namespace (`ip netns exec` keeps its PID), its standard
 * output and error kept line by line, line-buffered through `stdbuf`.
 */
export class RsplibProcess {
  /** Name for messages. */
  readonly name: string;
  readonly #process: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #errors: string[] = [];
  #changed = Promise.withResolvers<void>();
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #done: Promise<unknown>;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #exited = false;

  constructor(
    name: string,
    namespace: string,
    program: string,
    args: readonly string[],
    options: { stdin?: boolean } = {},
  ) {
    this.name = name;
    this.#process = new Deno.Command("ip", {
      args: ["netns", "exec", namespace, "stdbuf", "-oL", "-eL", rsplibProgram(program), ...args],
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin) this.#stdin = this.#process.stdin.getWriter();
    const push = (into: string[]) => (line: string) => {
      into.push(line);
      this.#changed.resolve();
      this.#changed = Promise.withResolvers<void>();
    };
    this.#done = Promise.all([
      readLines(this.#process.stdout, push(this.#lines)),
      readLines(this.#process.stderr, push(this.#errors)),
    ]);
    this.#status = this.#process.status.then((s) => {
      this.#exited = true;
      this.#changed.resolve();
      return s;
    });
  }

  /** The process ID (that of the program itself). */
  get pid(): number {
    return this.#process.pid;
  }

  /** The lines of standard output so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Standard output and error so far, for failure messages. */
  output(): string {
    return [...this.#lines.slice(-60), "-- stderr:", ...this.#errors.slice(-30)].join("\n");
  }

  /** The exit status and all output, once it has ended. */
  async finished(): Promise<{ status: Deno.CommandStatus; stdout: string[]; stderr: string[] }> {
    const status = await this.#status;
    await this.#done;
    return { status, stdout: this.#lines, stderr: this.#errors };
  }

  /**
   * Waits for a line of standard output matching `pattern` (searching from line `from`),
   * throws after `timeout` ms or when the program ends first.
   */
  async waitFor(
    pattern: RegExp,
    options: { timeout?: number; from?: number } = {},
  ): Promise<RegExpExecArray> {
    const end = Date.now() + (options.timeout ?? 15_000);
    let i = options.from ?? 0;
    for (;;) {
      for (; i < this.#lines.length; i++) {
        const m = pattern.exec(this.#lines[i]);
        if (m !== null) return m;
      }
      if (this.#exited) {
        await this.#done;
        if (i < this.#lines.length) continue;
        throw new Error(`${this.name} ended before printing ${pattern}\n${this.output()}`);
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${pattern} in time\n${this.output()}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#changed.promise,
        new Promise((r) => timer = setTimeout(r, left)),
      ]);
      clearTimeout(timer);
    }
  }

  /** Writes to standard input (started with `stdin: true`). */
  async write(text: string): Promise<void> {
    if (this.#stdin === undefined) throw new Error(`${this.name} has no standard input`);
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Closes standard input. */
  async closeInput(): Promise<void> {
    try {
      await this.#stdin?.close();
    } catch {
      // already closed
    }
    this.#stdin = undefined;
  }

  /** Sends a signal (default SIGKILL) if it still runs, and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    await this.closeInput();
    if (!this.#exited) {
      try {
        this.#process.kill(signal);
      } catch {
        // already gone
      }
    }
    const status = await this.#status;
    await this.#done;
    return status;
  }
}

/** What a program run to its end printed. */
export interface RunResult {
  /** Exit code, or -1 when killed at the deadline. */
  code: number;
  /** Standard output lines. */
  stdout: string[];
  /** Standard error lines. */
  stderr: string[];
}

/** A PE as `hsdump` prints it. */
export interface DumpedPoolElement {
  /** PE ID. */
  identifier: number;
  /** Home registrar's server ID. */
  home: number;
  /** The PE's term of the PE checksum, as RSPLIB prints it (`chsum=$...`). */
  checksum: number;
  /** Registration life in ms. */
  registrationLife: number;
  /** User transport addresses. */
  addresses: string[];
  /** User transport port. */
  port: number;
  /** User transport protocol, e.g. `SCTP`. */
  protocol: string;
}

/** A pool as `hsdump` prints it. */
export interface DumpedPool {
  /** Pool handle. */
  handle: string;
  /** Policy name, RSPLIB's spelling (e.g. `RoundRobin`). */
  policy: string;
  /** Its PEs, in index order (by PE ID). */
  elements: DumpedPoolElement[];
}

/** A registrar's handlespace as `hsdump` prints it. */
export interface HandlespaceDump {
  /** Pools in index order. */
  pools: DumpedPool[];
  /** The PE checksum over all PEs of the dump (`Checksums: Handlespace=$...`). */
  checksum: number;
  /** The whole output. */
  text: string;
}

/**
 * Parses the output of `hsdump`: the pools and PEs of its "Index" section.
 *
 * @example
 * ```ts ignore
 * const dump = parseHsdump(lines.join("\n"));
 * dump.pools[0].elements.map((e) => e.identifier);
 * ```
 */
export function parseHsdump(text: string): HandlespaceDump {
  const lines = text.split("\n").map(plain);
  const pools: DumpedPool[] = [];
  let checksum = Number.NaN;
  let inIndex = false;
  let pe: DumpedPoolElement | undefined;
  for (const line of lines) {
    const sums = /Checksums: Handlespace=\$([0-9a-f]+)/i.exec(line);
    if (sums) checksum = parseInt(sums[1], 16);
    if (/^\*-- Index:/.test(line)) {
      inIndex = true;
      continue;
    }
    if (/^\*-- /.test(line)) {
      inIndex = false;
      continue;
    }
    if (!inIndex) continue;
    const pool = /^ \+-- Pool "(.*)", Policy "([^"]*)"/.exec(line);
    if (pool) {
      pools.push({ handle: pool[1], policy: pool[2], elements: [] });
      continue;
    }
    const idx = /^\s+- idx:#\d+: \$([0-9a-f]+)/i.exec(line);
    if (idx && pools.length > 0) {
      pe = {
        identifier: parseInt(idx[1], 16),
        home: 0,
        checksum: Number.NaN,
        registrationLife: 0,
        addresses: [],
        port: 0,
        protocol: "",
      };
      pools[pools.length - 1].elements.push(pe);
      continue;
    }
    if (pe === undefined) continue;
    const sum = /chsum=\$([0-9a-f]+) home=\$([0-9a-f]+) life=(\d+)ms/i.exec(line);
    if (sum) {
      pe.checksum = parseInt(sum[1], 16);
      pe.home = parseInt(sum[2], 16);
      pe.registrationLife = Number(sum[3]);
    }
    const user = /userT: \{([^}]*)\} (\d+)\/([A-Za-z-]+)/.exec(line);
    if (user) {
      pe.addresses = user[1].split(/[\s,]+/).filter((a) => a !== "");
      pe.port = Number(user[2]);
      pe.protocol = user[3];
    }
  }
  return { pools, checksum, text };
}

/** What `hrestest -printresults` saw. */
export interface HrestestResult {
  /** Resolutions that returned at least one PE. */
  successes: number;
  /** Resolutions asked for. */
  runs: number;
  /** How often each PE ID was returned. */
  identifiers: Map<number, number>;
  /** The run's output. */
  result: RunResult;
}

/** Our registrar, started. */
export interface OurRegistrar {
  /** The process. */
  child: Child;
  /** Its server ID. */
  serverId: number;
  /** Its address (ASAP on SCTP port 3863 there). */
  address: string;
}

/** Our PE, registered. */
export interface OurPoolElement {
  /** The process. */
  child: Child;
  /** Its PE ID. */
  identifier: number;
  /** Its address. */
  address: string;
}

/** RSPLIB's services that `rspserver` offers. */
export type RsplibService = "echo" | "discard" | "daytime" | "chargen" | "pingpong" | "calcapp";

/** A namespace of one of our programs, on the lab's bridge. */
export interface OurHost {
  /** Namespace name. */
  namespace: string;
  /** Its address, `10.N.0.K`. */
  address: string;
}

/**
 * The lab: RSPLIB's programs in namespace A (`10.N.0.1`, on a bridge `br0`), and each of our
 * programs in a namespace of its own (`10.N.0.2`, `.3`, ...) plugged into A's bridge, since
 * each of them binds UDP 9899 (sctplib, on raw sockets, lets many RSPLIB programs share A).
 * Everything is stopped and deleted when disposed.
 */
export interface InteropLab extends AsyncDisposable {
  /** RSPLIB's namespace. */
  readonly rsplibNamespace: string;
  /** RSPLIB's address, `10.N.0.1`. */
  readonly rsplibAddress: string;
  /** A new namespace for one of our programs. */
  ourHost(): Promise<OurHost>;
  /** RSPLIB's registrar at `rsplibAddress` (ASAP 3863, ENRP 9901), started on first use. */
  rsplibRegistrar(extra?: string[]): Promise<{ process: RsplibProcess; serverId: number }>;
  /** Starts any RSPLIB program in A (tracked: killed when the lab is disposed). */
  rsplib(program: string, args: string[], options?: { stdin?: boolean }): RsplibProcess;
  /** Runs an RSPLIB program in A to its end, killed after `timeout` ms. */
  run(program: string, args: string[], timeout?: number): Promise<RunResult>;
  /**
   * Starts `rspserver -SERVICE` registered at `registrar` (`ADDR:PORT`), waits for its
   * registration and returns its PE ID.
   */
  rsplibServer(
    service: RsplibService,
    options: { pool: string; registrar: string; identifier?: number; extra?: string[] },
  ): Promise<{ process: RsplibProcess; identifier: number }>;
  /**
   * Starts an RSPLIB pool user of a service (`pingpongclient`, `calcappclient`, ...) on a
   * pool; its output lines are in `lines`, `waitFor` reads them.
   */
  rsplibClient(
    program: string,
    options: { pool: string; registrar: string; extra?: string[] },
  ): RsplibProcess;
  /** Starts `rspterminal` on a pool; write lines with {@linkcode InteropLab.echo}. */
  rsplibTerminal(options: { pool: string; registrar: string }): RsplibProcess;
  /** Sends `text` through a terminal and waits for its echo; returns the answering PE ID. */
  echo(terminal: RsplibProcess, text: string, timeout?: number): Promise<number>;
  /** Runs `hrestest -printresults`: `runs` resolutions of `pool` at `registrar`. */
  hrestest(
    options: { pool: string; registrar: string; runs: number; items?: number; timeout?: number },
  ): Promise<HrestestResult>;
  /** Runs `hsdump` against a registrar's ENRP endpoint (`ADDR:9901`) and parses it. */
  hsdump(enrp: string, timeout?: number): Promise<HandlespaceDump>;
  /** Starts our registrar in a namespace of its own, ASAP on SCTP port 3863 over UDP 9899. */
  ourRegistrar(args?: string[]): Promise<OurRegistrar>;
  /**
   * Starts our PE (`services/pe_main.ts --service NAME`) in a namespace of its own, listening
   * on SCTP `listenPort` (default 7000), registered at `registrar` (`ADDR:PORT`).
   */
  ourPoolElement(
    service: string,
    options: {
      pool: string;
      registrar: string;
      identifier?: number;
      listenPort?: number;
      extra?: string[];
    },
  ): Promise<OurPoolElement>;
  /** Starts our PU (`services/pu_main.ts --service NAME`) in a namespace of its own. */
  ourPoolUser(
    service: string,
    options: { pool: string; registrar: string; extra?: string[] },
  ): Promise<Child>;
  /**
   * Starts `dumpcap` on an interface of RSPLIB's namespace (default `lo`, where RSPLIB's
   * programs talk to each other) into a temporary pcapng file; `stop()` returns its path.
   */
  capture(filter: string, iface?: string): Promise<{ stop(): Promise<string> }>;
  /** The recent output of every process, for failure messages. */
  logs(): string;
}

/**
 * Creates the lab on subnet `10.{subnet}.0.0/24` (pick one per test).
 *
 * @example
 * ```ts ignore
 * await using lab = await createInteropLab(221);
 * const { process } = await lab.rsplibRegistrar();
 * ```
 */
export async function createInteropLab(subnet: number): Promise<InteropLab> {
  const tag = `${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
  const net = `10.${subnet}.0`;
  const a = `rsp-ia-${tag}`;
  const namespaces: string[] = [];
  const theirs: RsplibProcess[] = [];
  const ours: Child[] = [];
  const captures: Deno.ChildProcess[] = [];
  const files: string[] = [];
  let hostCount = 1;
  let count = 0;
  let registrar: Promise<{ process: RsplibProcess; serverId: number }> | undefined;

  const destroy = async () => {
    await Promise.all([
      ...theirs.map((p) => p.stop("SIGKILL")),
      ...ours.map((c) => c.stop("SIGKILL")),
      ...captures.map(async (c) => {
        try {
          c.kill("SIGKILL");
        } catch {
          // already gone
        }
        await c.status;
      }),
    ]);
    for (const f of files) await Deno.remove(f).catch(() => {});
    for (const ns of namespaces.reverse()) {
      try {
        await ip("netns", "delete", ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    await ip("netns", "add", a);
    namespaces.push(a);
    await ip("-n", a, "link", "set", "lo", "up");
    await ip("-n", a, "link", "add", "br0", "type", "bridge");
    await ip("-n", a, "addr", "add", `${net}.1/24`, "dev", "br0");
    await ip("-n", a, "link", "set", "br0", "up");
    await ip("-n", a, "route", "add", "224.0.0.0/4", "dev", "br0");
  } catch (e) {
    await destroy();
    throw e;
  }
  const rsplibAddress = `${net}.1`;

  const ourHost = async (): Promise<OurHost> => {
    const k = ++hostCount;
    if (k > 254) throw new Error("No addresses left in the lab");
    const ns = `rsp-i${k}-${tag}`;
    await ip("netns", "add", ns);
    namespaces.push(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("-n", a, "link", "add", `p${k}`, "type", "veth", "peer", "name", "e0", "netns", ns);
    await ip("-n", a, "link", "set", `p${k}`, "master", "br0");
    await ip("-n", a, "link", "set", `p${k}`, "up");
    await ip("-n", ns, "addr", "add", `${net}.${k}/24`, "dev", "e0");
    await ip("-n", ns, "link", "set", "e0", "up");
    await ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "e0");
    return { namespace: ns, address: `${net}.${k}` };
  };
  const rsplib = (program: string, args: string[], options: { stdin?: boolean } = {}) => {
    const p = new RsplibProcess(`${program}#${++count}`, a, program, args, options);
    theirs.push(p);
    return p;
  };
  const run = async (program: string, args: string[], timeout = 60_000): Promise<RunResult> => {
    const p = rsplib(program, args);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let killed = false;
    const deadline = new Promise<void>((r) =>
      timer = setTimeout(() => {
        killed = true;
        r();
      }, timeout)
    );
    await Promise.race([p.finished(), deadline]);
    clearTimeout(timer);
    if (killed) await p.stop("SIGKILL");
    const { status, stdout, stderr } = await p.finished();
    return { code: killed ? -1 : status.code, stdout: [...stdout], stderr: [...stderr] };
  };
  const spawnOurs = async (name: string, script: string, args: (h: OurHost) => string[]) => {
    const host = await ourHost();
    const child = Child.spawn(`${name} at ${host.address}`, script, args(host), host.namespace);
    ours.push(child);
    return { child, host };
  };
  const logs = () =>
    [
      ...theirs.map((p) => `--- ${p.name} (pid ${p.pid}):\n${p.output()}`),
      ...ours.map((c) => `--- ${c.name} (stderr):\n${c.stderr()}`),
    ].join("\n");

  return {
    rsplibNamespace: a,
    rsplibAddress,
    ourHost,
    rsplib,
    run,
    rsplibRegistrar(extra = []) {
      registrar ??= (async () => {
        const process = rsplib("rspregistrar", [
          `-asap=${rsplibAddress}:${ASAP_PORT}`,
          `-enrp=${rsplibAddress}:${ENRP_PORT}`,
          "-asapannounce=off",
          "-enrpannounce=off",
          ...extra,
        ]);
        const id = await process.waitFor(/^Server ID:\s+\$([0-9a-f]+)/i);
        await process.waitFor(/Max Endpoint Unreachable Rate/);
        return { process, serverId: parseInt(id[1], 16) };
      })();
      return registrar;
    },
    async rsplibServer(service, options) {
      const process = rsplib("rspserver", [
        `-${service}`,
        `-poolhandle=${options.pool}`,
        `-registrar=${options.registrar}`,
        "-asapannounce=off",
        ...(options.identifier === undefined
          ? []
          : [`-identifier=0x${options.identifier.toString(16)}`]),
        ...(options.extra ?? []),
      ]);
      const m = await process.waitFor(/^\s*Identifier\s+= \$([0-9a-f]+)/i, { timeout: 20_000 });
      return { process, identifier: parseInt(m[1], 16) };
    },
    rsplibClient(program, options) {
      return rsplib(program, [
        `-poolhandle=${options.pool}`,
        `-registrar=${options.registrar}`,
        "-asapannounce=off",
        ...(options.extra ?? []),
      ]);
    },
    rsplibTerminal(options) {
      return rsplib("rspterminal", [
        `-poolhandle=${options.pool}`,
        `-registrar=${options.registrar}`,
        "-asapannounce=off",
      ], { stdin: true });
    },
    async echo(terminal, text, timeout = 20_000) {
      const from = terminal.lines.length;
      await terminal.write(`${text}\n`);
      const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const m = await terminal.waitFor(new RegExp(`^from PE \\$([0-9a-f]+)> ${escaped}$`, "i"), {
        timeout,
        from,
      });
      return parseInt(m[1], 16);
    },
    async hrestest(options) {
      const result = await run("hrestest", [
        `-registrar=${options.registrar}`,
        "-asapannounce=off",
        `-poolhandle=${options.pool}`,
        `-maxruns=${options.runs}`,
        ...(options.items === undefined ? [] : [`-items=${options.items}`]),
        "-quiet",
        "-logquiet",
        "-printresults",
      ], options.timeout ?? 60_000);
      const identifiers = new Map<number, number>();
      let successes = 0;
      for (const line of result.stdout) {
        if (/^#\d+: Selected \d+ items/.test(line)) successes++;
        const id = /^\s+ID \$([0-9a-f]+)/i.exec(line);
        if (id) {
          const n = parseInt(id[1], 16);
          identifiers.set(n, (identifiers.get(n) ?? 0) + 1);
        }
      }
      return { successes, runs: options.runs, identifiers, result };
    },
    async hsdump(enrp, timeout = 30_000) {
      const result = await run("hsdump", [enrp, "-loglevel=0"], timeout);
      if (result.code !== 0) {
        const text = [...result.stdout, ...result.stderr].join("\n");
        throw new Error(`hsdump ${enrp} failed (${result.code}):\n${text}`);
      }
      return parseHsdump(result.stdout.join("\n"));
    },
    async ourRegistrar(args = []) {
      const { child, host } = await spawnOurs("our registrar", "registrar/main.ts", (h) => [
        "--asap",
        `sctp:${h.address}:${ASAP_PORT}`,
        "--announce",
        "off",
        ...SCTP_ON_RSPLIB_PORT,
        ...args,
      ]);
      const ready = await child.json<{ serverId: number }>(20_000);
      return { child, serverId: ready.serverId, address: host.address };
    },
    async ourPoolElement(service, options) {
      const { child, host } = await spawnOurs(`our ${service} PE`, "services/pe_main.ts", (h) => [
        "--service",
        service,
        "--pool",
        options.pool,
        "--registrar",
        `sctp:${options.registrar}`,
        "--listen",
        `sctp:${h.address}:${options.listenPort ?? 7000}`,
        ...(options.identifier === undefined ? [] : ["--id", String(options.identifier)]),
        ...SCTP_ON_RSPLIB_PORT,
        ...(options.extra ?? []),
      ]);
      const ready = await child.json<{ identifier: number }>(20_000);
      return { child, identifier: ready.identifier, address: host.address };
    },
    async ourPoolUser(service, options) {
      const { child } = await spawnOurs(`our ${service} PU`, "services/pu_main.ts", () => [
        "--service",
        service,
        "--pool",
        options.pool,
        "--registrar",
        `sctp:${options.registrar}`,
        ...SCTP_ON_RSPLIB_PORT,
        ...(options.extra ?? []),
      ]);
      return child;
    },
    async capture(filter, iface = "lo") {
      const path = await Deno.makeTempFile({ prefix: "rsplib-interop-", suffix: ".pcapng" });
      files.push(path);
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", a, "dumpcap", "-i", iface, "-f", filter, "-w", path, "-q"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      captures.push(child);
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const deadline = Date.now() + 10_000;
      while (!text.includes("Capturing on")) {
        if (Date.now() > deadline) throw new Error(`dumpcap did not start: ${text}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`dumpcap ended before capturing: ${text}`);
        text += value;
      }
      reader.releaseLock();
      child.stderr.cancel().catch(() => {});
      // dumpcap reports a moment before packets reach it
      await new Promise((r) => setTimeout(r, 500));
      return {
        async stop() {
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
          await child.status;
          return path;
        },
      };
    },
    logs,
    [Symbol.asyncDispose]: destroy,
  };
}

/** Reads a child's JSON lines until it ends (or `timeout` ms pass). */
export async function jsonLines(child: Child, timeout = 60_000): Promise<unknown[]> {
  const end = Date.now() + timeout;
  const out: unknown[] = [];
  for (;;) {
    let line: string;
    try {
      line = await child.line(Math.max(1, end - Date.now()));
    } catch (e) {
      if (/ ended\n/.test((e as Error).message) || (e as Error).message.endsWith(" ended")) {
        return out;
      }
      throw e;
    }
    try {
      out.push(JSON.parse(line));
    } catch {
      out.push(line);
    }
  }
}

/**
 * Registers an interop test: a fresh lab on `subnet`, the body bounded by `timeout` ms, the
 * processes' output added to a failure, everything stopped and deleted afterwards.
 *
 * @example
 * ```ts ignore
 * interopTest("RSPLIB PEs at our registrar", { subnet: 221, timeout: 90_000 }, async (lab) => {
 *   await lab.ourRegistrar();
 * });
 * ```
 */
export function interopTest(
  name: string,
  options: { subnet: number; timeout: number; ignore: boolean },
  body: (lab: InteropLab) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: options.ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const missing = await rsplibMissing();
      if (missing !== undefined) throw new Error(`Interop test cannot run: ${missing}`);
      const started = Date.now();
      await using lab = await createInteropLab(options.subnet);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const running = body(lab);
      running.catch(() => {});
      try {
        await Promise.race([
          running,
          new Promise<never>((_, reject) =>
            timer = setTimeout(
              () => reject(new Error(`Test did not finish in ${options.timeout} ms`)),
              options.timeout,
            )
          ),
        ]);
      } catch (e) {
        const error = e as Error;
        error.message += `\n\n=== processes' output ===\n${lab.logs()}`;
        throw error;
      } finally {
        clearTimeout(timer);
        if (Deno.env.get("INTEROP_VERBOSE")) {
          console.error(`${name}: ${Date.now() - started} ms\n${lab.logs()}`);
        }
      }
    },
  });
}
