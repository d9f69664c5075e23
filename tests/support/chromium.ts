/**
 * Headless Chromium driven over the DevTools protocol, for tests of the registrar's live page:
 * open a page, evaluate expressions in it, take a screenshot. Debian's `chromium-headless-shell`
 * or `chromium` (installed by `.ci/run`), or the binary named by the environment's `CHROMIUM`.
 * Tests use {@linkcode ignoreWithoutChromium}: ignored without it on a developer's machine, but
 * run (and fail) when `CI` is `true`.
 *
 * @module
 */

const CANDIDATES = [
  "chromium-headless-shell",
  "chromium",
  "chromium-browser",
  "google-chrome-stable",
  "google-chrome",
];

/** Debian's Chromium binaries behind the wrapper scripts in /usr/bin. */
const DEBIAN_BINARIES = [
  "/usr/lib/chromium/chromium-headless-shell",
  "/usr/lib/chromium/chromium",
];

/** The path of a Chromium binary, or undefined when there is none. */
export async function findChromium(): Promise<string | undefined> {
  const named = Deno.env.get("CHROMIUM");
  if (named !== undefined && named !== "") return named;
  // Debian's /usr/bin/chromium-headless-shell is a shell script that runs the browser as its
  // child, not with exec: stopping the script would leave the browser running. Its binary first.
  for (const path of DEBIAN_BINARIES) {
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
  for (const name of CANDIDATES) {
    for (const dir of dirs) {
      const path = `${dir}/${name}`;
      try {
        const info = await Deno.stat(path);
        if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The `ignore` value for a test that needs Chromium (with a line saying why it is ignored). */
export async function ignoreWithoutChromium(test: string): Promise<boolean> {
  if (await findChromium() !== undefined) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.error(
    `${test}: ignored: no Chromium (install Debian's chromium-headless-shell or chromium, or ` +
      `set CHROMIUM to a binary); under CI=true it fails instead`,
  );
  return true;
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** One page (tab) over its own DevTools WebSocket. */
export class ChromiumPage {
  #socket: WebSocket;
  #next = 1;
  #pending = new Map<number, Pending>();
  #closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    socket.addEventListener("message", (m) => {
      const message = JSON.parse(String(m.data));
      if (typeof message.id !== "number") return;
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) {
        pending.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
      } else pending.resolve(message.result ?? {});
    });
    socket.addEventListener("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("DevTools socket closed"));
      this.#pending.clear();
    });
  }

  /** Connects to a page's DevTools WebSocket. */
  static async connect(url: string): Promise<ChromiumPage> {
    const socket = new WebSocket(url);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error(`Cannot connect to ${url}`)), {
        once: true,
      });
      timer = setTimeout(() => {
        reject(new Error(`No connection to ${url} in 30 s`));
        socket.close();
      }, 30_000);
    }).finally(() => clearTimeout(timer));
    return new ChromiumPage(socket);
  }

  /**
   * Sends a DevTools command and waits for its result, up to `timeout` ms (a page or browser
   * that hangs fails the test instead of stopping it).
   */
  send(
    method: string,
    params: Record<string, unknown> = {},
    timeout = 30_000,
  ): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      reject(new Error(`DevTools: no answer to ${method} in ${timeout} ms`));
    }, timeout);
    this.#pending.set(id, {
      resolve: (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    this.#socket.send(JSON.stringify({ id, method, params }));
    return promise;
  }

  /** Evaluates an expression in the page and returns its value (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true });
    if (r.exceptionDetails !== undefined) {
      throw new Error(`Page exception: ${JSON.stringify(r.exceptionDetails)}`);
    }
    return (r.result as { value: T }).value;
  }

  /** Polls `expression` every 50 ms until it is truthy; returns the ms it took. */
  async waitFor(expression: string, what: string, timeout = 10_000): Promise<number> {
    const start = performance.now();
    while (!(await this.evaluate<boolean>(`Boolean(${expression})`))) {
      if (performance.now() - start > timeout) {
        throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return performance.now() - start;
  }

  /** Loads a URL and waits for its load event. */
  async navigate(url: string): Promise<void> {
    await this.send("Page.enable");
    await this.send("Page.navigate", { url });
    await this.waitFor(`document.readyState === "complete"`, `${url} to load`);
  }

  /** A PNG of the page as shown (the viewport) or of its whole height. */
  async screenshot(options: { fullPage?: boolean } = {}): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: options.fullPage ?? false,
    });
    return Uint8Array.from(atob(r.data as string), (c) => c.charCodeAt(0));
  }

  /** Closes the DevTools connection. */
  async close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close();
    await this.#closed;
  }
}

/**
 * A headless Chromium process on a fresh profile, listening for DevTools on a free port of
 * loopback.
 *
 * @example
 * ```ts ignore
 * await using browser = await Chromium.launch();
 * const page = await browser.newPage();
 * await page.navigate("http://127.0.0.1:8080/");
 * ```
 */
export class Chromium implements AsyncDisposable {
  #process: Deno.ChildProcess;
  #profile: string;
  #devtools: string;
  #stderr: string[];

  private constructor(
    process: Deno.ChildProcess,
    profile: string,
    devtools: string,
    stderr: string[],
  ) {
    this.#process = process;
    this.#profile = profile;
    this.#devtools = devtools;
    this.#stderr = stderr;
  }

  /** Starts Chromium with a window of `width` x `height` CSS pixels. */
  static async launch(
    options: { width?: number; height?: number; timeout?: number } = {},
  ): Promise<Chromium> {
    const binary = await findChromium();
    if (binary === undefined) {
      throw new Error(
        "No Chromium: install Debian's chromium-headless-shell or chromium (.ci/run does)",
      );
    }
    const profile = await Deno.makeTempDir({ prefix: "rserpool-chromium-" });
    const process = new Deno.Command(binary, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        `--window-size=${options.width ?? 1280},${options.height ?? 800}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    const found = Promise.withResolvers<string>();
    (async () => {
      let rest = "";
      for await (const chunk of process.stderr.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let i: number;
        while ((i = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, i);
          rest = rest.slice(i + 1);
          stderr.push(line);
          if (stderr.length > 100) stderr.shift();
          const m = /DevTools listening on ws:\/\/([^/]+)\//.exec(line);
          if (m !== null) found.resolve(m[1]);
        }
      }
      found.reject(new Error(`Chromium ended before DevTools listened:\n${stderr.join("\n")}`));
    })();
    const timeout = options.timeout ?? 20_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const devtools = await Promise.race([
        found.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Chromium: no DevTools in ${timeout} ms\n${stderr.join("\n")}`)),
            timeout,
          );
        }),
      ]);
      return new Chromium(process, profile, devtools, stderr);
    } catch (e) {
      try {
        process.kill("SIGKILL");
      } catch {
        // gone
      }
      await process.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a new blank page. */
  async newPage(): Promise<ChromiumPage> {
    const response = await fetch(`http://${this.#devtools}/json/new?about:blank`, {
      method: "PUT",
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`DevTools /json/new: ${response.status}`);
    const target = await response.json() as { webSocketDebuggerUrl: string };
    return await ChromiumPage.connect(target.webSocketDebuggerUrl);
  }

  /** The last lines Chromium wrote to its standard error. */
  stderr(): string {
    return this.#stderr.join("\n");
  }

  /** Stops Chromium and removes its profile. */
  async close(): Promise<void> {
    try {
      this.#process.kill("SIGTERM");
    } catch {
      // gone
    }
    const killer = setTimeout(() => {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 3000);
    await this.#process.status;
    clearTimeout(killer);
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode Chromium.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
