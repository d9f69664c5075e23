// Child processes for scenario tests and benchmarks: Deno programs of this project, with their
// first line of standard output (a JSON object) read back, and killed at the end.

const DENO = new URL("../../node_modules/.bin/deno", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** A running child process. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly name: string;
  #lines: AsyncIterator<string>;
  #stderr: string[] = [];
  #status: Promise<Deno.CommandStatus>;

  private constructor(name: string, process: Deno.ChildProcess) {
    this.name = name;
    this.process = process;
    this.#lines = lines(process.stdout)[Symbol.asyncIterator]();
    this.#status = process.status;
    // Keep the last lines of standard error for failure messages.
    (async () => {
      for await (const line of lines(process.stderr)) {
        this.#stderr.push(line);
        if (this.#stderr.length > 200) this.#stderr.shift();
        if (Deno.env.get("SCENARIO_VERBOSE")) console.error(`[${name}] ${line}`);
      }
    })();
  }

  /** Starts `deno run -A SCRIPT ARGS` from the project root. */
  static spawn(name: string, script: string, args: string[], namespace?: string): Child {
    const argv = ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}${script}`, ...args];
    const command = namespace === undefined
      ? new Deno.Command(DENO, { args: argv, cwd: ROOT, stdout: "piped", stderr: "piped" })
      : new Deno.Command("ip", {
        args: ["netns", "exec", namespace, DENO, ...argv],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      });
    return new Child(name, command.spawn());
  }

  /** The next line of standard output (waits up to `timeout` ms). */
  async line(timeout = 30_000): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name}: no output in ${timeout} ms\n${this.stderr()}`)),
        timeout,
      );
    });
    try {
      const next = await Promise.race([this.#lines.next(), expired]);
      if (next.done) throw new Error(`${this.name} ended\n${this.stderr()}`);
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next line of standard output as JSON. */
  async json<T>(timeout?: number): Promise<T> {
    return JSON.parse(await this.line(timeout)) as T;
  }

  /** The last lines of standard error. */
  stderr(): string {
    return this.#stderr.slice(-30).join("\n");
  }

  /** Sends a signal (default SIGTERM) and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.process.kill(signal);
    } catch {
      // already gone
    }
    return await this.#status;
  }

  /** The exit status once it has ended. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i);
      rest = rest.slice(i + 1);
    }
  }
  if (rest !== "") yield rest;
}

/** What the registrar prints first. */
export interface RegistrarReady {
  serverId: number;
  asap: { protocol: "sctp" | "tcp"; hostname: string; port: number }[];
}

/** Starts a registrar process on free loopback ports; resolves once it listens. */
export async function startRegistrar(
  args: string[] = [],
  name = "registrar",
): Promise<{ child: Child; ready: RegistrarReady }> {
  const defaults = [
    ...(args.includes("--asap") ? [] : ["--asap", "sctp:127.0.0.1:0", "--asap", "tcp:127.0.0.1:0"]),
    ...(args.includes("--announce") ? [] : ["--announce", "off"]),
  ];
  const child = Child.spawn(name, "registrar/main.ts", [...defaults, ...args]);
  const ready = await child.json<RegistrarReady>();
  return { child, ready };
}
