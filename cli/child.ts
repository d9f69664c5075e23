/**
 * Child processes running this project's Deno programs (registrar, PEs, PUs), for the demo, the
 * scenario tests and the benchmarks: their standard output read line by line, their standard
 * error kept for messages, and a signal to stop them.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
/** The Deno binary running this program, so that children run on the same version. */
const DENO = Deno.execPath();

/**
 * A running child process.
 *
 * @example
 * ```ts ignore
 * import { Child } from "./child.ts";
 * const registrar = Child.spawn("registrar", "registrar/main.ts", ["--announce", "off"]);
 * console.log(await registrar.line());
 * await registrar.stop();
 * ```
 */
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

/** The lines of a byte stream. */
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
