/**
 * Runs tshark on a capture file and returns what it decoded, packet by packet: the `-V` text
 * (where Wireshark writes its `[Malformed Packet ...]` and `[Expert Info (...)]` markers), the
 * expert infos and malformed marker found in it, and the `-T json` layer tree for field values.
 *
 * Tests that need tshark use {@linkcode ignoreWithoutTshark}: without tshark they are ignored
 * on a developer's machine but run, and fail, when the environment variable `CI` is `true`.
 *
 * @module
 */

/** Preferences that make tshark verify every checksum our packets carry. */
export const CHECKSUM_PREFERENCES: Readonly<Record<string, string>> = {
  "sctp.checksum": "CRC 32c",
  "ip.check_checksum": "TRUE",
  "udp.check_checksum": "TRUE",
};

/** An expert info item of a packet, as `-V` prints it: `[Expert Info (Error/Malformed): ...]`. */
export interface ExpertInfo {
  /** Severity: `Chat`, `Note`, `Warning`, `Error` (or `Comment`). */
  severity: string;
  /** Group, for example `Malformed`, `Checksum`, `Protocol`, `Sequence`. */
  group: string;
  /** The message text. */
  message: string;
}

/** One packet as tshark decoded it. */
export interface TsharkPacket {
  /** Frame number, from 1. */
  number: number;
  /** The protocol stack, from `frame.protocols` (for example `raw:ip:udp:sctp:asap`). */
  protocols: string[];
  /** The packet's `-V` text. */
  text: string;
  /** Expert infos in the `-V` text. */
  experts: ExpertInfo[];
  /** Whether the `-V` text holds a `[Malformed Packet` marker. */
  malformed: boolean;
  /** The packet's layers from `-T json --no-duplicate-keys` (repeated keys become arrays). */
  layers: Record<string, unknown>;
}

/** Options of {@linkcode decodePcap}. */
export interface DecodeOptions {
  /** `-o NAME:VALUE` preferences; {@linkcode CHECKSUM_PREFERENCES} unless given. */
  preferences?: Readonly<Record<string, string>>;
  /** `-d` decode-as rules, for example `udp.port==4000,asap`. */
  decodeAs?: readonly string[];
}

let availability: Promise<boolean> | undefined;

/** Tells whether `tshark` can be run (the answer is cached). */
export function tsharkAvailable(): Promise<boolean> {
  availability ??= (async () => {
    try {
      const { success } = await new Deno.Command("tshark", {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      return success;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  })();
  return availability;
}

/**
 * The `ignore` value for a `Deno.test` that needs tshark: `true` when tshark is missing and
 * `CI` is not `true`. Under CI the test runs, and {@linkcode runTshark} fails it.
 */
export async function ignoreWithoutTshark(): Promise<boolean> {
  if (await tsharkAvailable()) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.error(
    "tshark tests ignored: no tshark (install Debian's tshark); under CI=true they fail instead",
  );
  return true;
}

/** Runs tshark with `args` and returns its standard output; throws when it fails. */
export async function runTshark(args: readonly string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("tshark", { args: [...args], stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error("tshark is not installed (Debian package tshark); CI=true requires it", {
        cause: error,
      });
    }
    throw error;
  }
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(
      `tshark ${args.join(" ")} exited with ${output.code}: ${decoder.decode(output.stderr)}`,
    );
  }
  return decoder.decode(output.stdout);
}

const EXPERT = /\[Expert Info \(([^/)]+)\/([^)]+)\): (.*)\]\s*$/gm;

/** Splits `tshark -V` output into one text per frame. */
function splitFrames(text: string): string[] {
  return text.split(/^(?=Frame \d+: )/m).filter((block) => /^Frame \d+: /.test(block));
}

/**
 * Decodes a capture file with tshark (`-V` and `-T json`) and returns its packets.
 *
 * @example
 * ```ts ignore
 * import { decodePcap, fieldValues } from "./tshark.ts";
 * const [packet] = await decodePcap("/tmp/one.pcap");
 * fieldValues(packet.layers, "asap.message_type"); // ["5"]
 * ```
 */
export async function decodePcap(
  path: string,
  options: DecodeOptions = {},
): Promise<TsharkPacket[]> {
  const common = ["-n", "-r", path];
  for (const [name, value] of Object.entries(options.preferences ?? CHECKSUM_PREFERENCES)) {
    common.push("-o", `${name}:${value}`);
  }
  for (const rule of options.decodeAs ?? []) common.push("-d", rule);
  const [text, json] = await Promise.all([
    runTshark([...common, "-V"]),
    runTshark([...common, "-T", "json", "--no-duplicate-keys"]),
  ]);
  const frames = splitFrames(text);
  const trees = JSON.parse(json) as { _source: { layers: Record<string, unknown> } }[];
  if (frames.length !== trees.length) {
    throw new Error(`tshark -V gave ${frames.length} frames but -T json ${trees.length}`);
  }
  return trees.map((tree, i) => {
    const layers = tree._source.layers;
    const frameText = frames[i];
    return {
      number: i + 1,
      protocols: String(fieldValues(layers, "frame.protocols")[0] ?? "").split(":"),
      text: frameText,
      experts: [...frameText.matchAll(EXPERT)].map(([, severity, group, message]) => ({
        severity,
        group,
        message,
      })),
      malformed: frameText.includes("[Malformed Packet"),
      layers,
    };
  });
}

/**
 * All values of a field anywhere in a `-T json` layer tree, depth first in document order.
 *
 * @example
 * ```ts
 * import { fieldValues } from "./tshark.ts";
 * const layers = { asap: { "asap.message_type": "5", "Pool Handle": { "asap.pool_handle": "41" } } };
 * fieldValues(layers, "asap.pool_handle"); // ["41"]
 * ```
 */
export function fieldValues(tree: unknown, field: string): string[] {
  const out: string[] = [];
  const walk = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key);
    } else if (node !== null && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) walk(v, k);
    } else if (key === field) {
      out.push(String(node));
    }
  };
  walk(tree, undefined);
  return out;
}
