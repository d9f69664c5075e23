/**
 * Runs the usrsctp example programs (Debian package libusrsctp-examples) as independent SCTP
 * over UDP peers. Their standard output is line-buffered with `stdbuf -oL` so that the test
 * can read it while they run. Tests use {@linkcode ignoreWithoutUsrsctp}: without the programs
 * they are ignored on a developer's machine but run, and fail, when `CI` is `true`.
 *
 * Facts (checked by running them): `echo_server LOCAL_ENCAPS REMOTE_ENCAPS` listens on SCTP
 * port 7, prints one `Msg of length N received ... complete C.` line per read of at most
 * 10240 bytes and echoes only reads that end a message, so a message above 10240 bytes comes
 * back as its last piece. `client ADDR PORT LOCAL_PORT LOCAL_ENCAPS REMOTE_ENCAPS` sends each
 * `fgets` of 80 bytes (a line, or 79 bytes of a longer one) as one message, writes what it
 * receives to standard output unbuffered, shuts down at end of input and prints its
 * notifications (buffered by stdio) when it exits.
 *
 * @module
 */

import dgram from "node:dgram";

/** Where the example programs live. */
export const USRSCTP_DIR = "/usr/lib/usrsctp";

/** Tells whether the usrsctp example programs are installed. */
export async function usrsctpAvailable(): Promise<boolean> {
  try {
    await Deno.stat(`${USRSCTP_DIR}/echo_server`);
    await Deno.stat(`${USRSCTP_DIR}/client`);
    return true;
  } catch {
    return false;
  }
}

/** The `ignore` value for a test that needs usrsctp: never ignored under `CI=true`. */
export async function ignoreWithoutUsrsctp(): Promise<boolean> {
  if (await usrsctpAvailable()) return false;
  return Deno.env.get("CI") !== "true";
}

/** A free UDP port on 127.0.0.1 (bound once and released). */
export function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: "127.0.0.1", port: 0 }, () => {
      const port = socket.address().port;
      socket.close(() => resolve(port));
    });
  });
}

/** A running usrsctp program. */
export interface UsrsctpProcess extends AsyncDisposable {
  /** Standard output so far. */
  readonly output: () => string;
  /** Waits until standard output matches, or throws after `timeout` ms. */
  waitFor(pattern: RegExp, timeout?: number): Promise<void>;
  /** Writes to standard input and closes it. */
  finishInput(data: Uint8Array): Promise<void>;
  /** Waits for the exit, killing the process after `timeout` ms. */
  exit(timeout?: number): Promise<Deno.CommandStatus>;
  /** Kills the process (if alive) and waits for it. */
  kill(): Promise<void>;
}

/**
 * Starts `/usr/lib/usrsctp/NAME ARGS...`, by default with a line-buffered standard output
 * (`lineBuffered: false` keeps stdio's buffering: the client's notifications then come after
 * the echoed data, at exit).
 *
 * @example
 * ```ts ignore
 * await using server = startUsrsctp("echo_server", ["29899", "29900"]);
 * ```
 */
export function startUsrsctp(
  name: string,
  args: readonly string[],
  options: { lineBuffered?: boolean } = {},
): UsrsctpProcess {
  let child: Deno.ChildProcess;
  const program = `${USRSCTP_DIR}/${name}`;
  const lineBuffered = options.lineBuffered ?? true;
  try {
    child = new Deno.Command(lineBuffered ? "stdbuf" : program, {
      args: lineBuffered ? ["-oL", program, ...args] : [...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(`Cannot run ${USRSCTP_DIR}/${name} (Debian libusrsctp-examples)`, {
      cause: error,
    });
  }
  const chunks: Uint8Array[] = [];
  let text: string | undefined;
  const decoder = new TextDecoder();
  const watchers = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>, keep: boolean) => {
    for await (const chunk of stream) {
      if (!keep) continue;
      chunks.push(chunk);
      text = undefined;
      for (const w of watchers) w();
    }
  };
  const pumps = Promise.all([pump(child.stdout, true), pump(child.stderr, false)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const output = (): string => {
    if (text === undefined) {
      let size = 0;
      for (const c of chunks) size += c.length;
      const all = new Uint8Array(size);
      let pos = 0;
      for (const c of chunks) {
        all.set(c, pos);
        pos += c.length;
      }
      text = decoder.decode(all);
    }
    return text;
  };
  const kill = async (): Promise<void> => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await status;
    await pumps;
  };
  return {
    output,
    waitFor(pattern, timeout = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output())) return;
          watchers.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${name} did not print ${pattern} in ${timeout} ms: ${output()}`));
        }, timeout);
        watchers.add(check);
        check();
      });
    },
    async finishInput(data) {
      const writer = child.stdin.getWriter();
      await writer.write(data);
      await writer.close();
    },
    async exit(timeout = 15_000) {
      const timer = setTimeout(() => kill(), timeout);
      const s = await status;
      clearTimeout(timer);
      await pumps;
      return s;
    },
    kill,
    async [Symbol.asyncDispose]() {
      try {
        await child.stdin.close();
      } catch {
        // closed already
      }
      await kill();
    },
  };
}
