/**
 * Live packet capture on loopback with `dumpcap` (from the tshark packages), and decoding of
 * the capture with extra tshark arguments (for example `-X lua_script:...`), for the tests of
 * real TCP traffic. Under `CI=true` a missing `dumpcap` fails the test (see `tshark.ts`).
 *
 * @module
 */

import dgram from "node:dgram";
import { fieldValues, runTshark, type TsharkPacket } from "./tshark.ts";

/** A running capture. */
export interface Capture {
  /** The capture file (pcapng). */
  path: string;
  /**
   * Waits until the file holds at least `count` packets that match the display filter (the
   * kernel hands packets to dumpcap in blocks, so the last ones may come late; stopping
   * before they are written loses them). Gives up after about 10 s.
   */
  waitFor(displayFilter: string, count: number): Promise<void>;
  /** Stops the capture and waits until the file is complete. */
  stop(): Promise<void>;
}

/**
 * Starts `dumpcap -i lo -f FILTER` and resolves once it captures: dumpcap says "Capturing on"
 * a moment before packets really reach it, so a UDP probe (to a socket of our own, also in the
 * filter) is sent until one shows up in the file.
 *
 * @example
 * ```ts ignore
 * const capture = await startCapture({ filter: "tcp port 3863", path: "/tmp/x.pcapng" });
 * // ... traffic ...
 * await capture.stop();
 * ```
 */
export async function startCapture(
  options: { filter: string; path: string; interface?: string },
): Promise<Capture> {
  const probe = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  try {
    return await capture(options, probe);
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

async function capture(
  options: { filter: string; path: string; interface?: string },
  probe: dgram.Socket,
): Promise<Capture> {
  const probePort = probe.address().port;
  const filter = `(${options.filter}) or (udp port ${probePort})`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("dumpcap", {
      args: ["-i", options.interface ?? "lo", "-f", filter, "-w", options.path, "-q"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error("dumpcap is not installed (Debian package tshark); CI=true requires it", {
        cause: error,
      });
    }
    throw error;
  }
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // dumpcap writes "Capturing on 'Loopback: lo'" once the capture is open.
  while (!text.includes("Capturing on")) {
    const { value, done } = await reader.read();
    if (done) {
      const status = await child.status;
      throw new Error(`dumpcap exited with ${status.code} before capturing: ${text}`);
    }
    text += value;
  }
  const drain = (async () => {
    while (!(await reader.read()).done) {
      // Keep reading so that dumpcap never blocks on stderr.
    }
  })();
  const result: Capture = {
    path: options.path,
    async waitFor(displayFilter, count) {
      for (let attempt = 0; attempt < 100; attempt++) {
        if (await matches(options.path, displayFilter, count)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      child.kill("SIGINT");
      const status = await child.status;
      await drain;
      // dumpcap ends with status 0 on SIGINT after writing the file.
      if (!status.success && status.signal !== "SIGINT") {
        throw new Error(`dumpcap failed with ${status.code}: ${text}`);
      }
    },
  };
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      probe.send(new Uint8Array([0]), probePort, "127.0.0.1");
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (await matches(options.path, `udp.port == ${probePort}`, 1)) return result;
    }
    throw new Error("dumpcap did not capture the probe packets");
  } catch (error) {
    await result.stop().catch(() => {});
    throw error;
  }
}

/** Whether the capture file holds at least `count` packets matching the display filter. */
async function matches(path: string, displayFilter: string, count: number): Promise<boolean> {
  try {
    const out = await runTshark([
      "-n",
      "-r",
      path,
      "-Y",
      displayFilter,
      "-T",
      "fields",
      "-e",
      "frame.number",
    ]);
    return out.split("\n").filter((line) => line !== "").length >= count;
  } catch {
    // No file yet, or it ends inside a packet block while dumpcap writes it.
    return false;
  }
}

const EXPERT = /\[Expert Info \(([^/)]+)\/([^)]+)\): (.*)\]\s*$/gm;

/**
 * Decodes a capture with tshark and the given extra arguments (`-d`, `-X`, `-o` ...), like
 * `decodePcap` of `tshark.ts`, and returns every packet.
 */
export async function decodeCapture(
  path: string,
  extraArgs: readonly string[],
): Promise<TsharkPacket[]> {
  const common = ["-n", "-r", path, ...extraArgs];
  const [text, json] = await Promise.all([
    runTshark([...common, "-V"]),
    runTshark([...common, "-T", "json", "--no-duplicate-keys"]),
  ]);
  const frames = text.split(/^(?=Frame \d+: )/m).filter((block) => /^Frame \d+: /.test(block));
  const trees = JSON.parse(json) as { _source: { layers: Record<string, unknown> } }[];
  if (frames.length !== trees.length) {
    throw new Error(`tshark -V gave ${frames.length} frames but -T json ${trees.length}`);
  }
  return trees.map((tree, i) => ({
    number: i + 1,
    protocols: String(fieldValues(tree._source.layers, "frame.protocols")[0] ?? "").split(":"),
    text: frames[i],
    experts: [...frames[i].matchAll(EXPERT)].map(([, severity, group, message]) => ({
      severity,
      group,
      message,
    })),
    malformed: frames[i].includes("[Malformed Packet"),
    layers: tree._source.layers,
  }));
}
