/**
 * Datagrams the kernel dropped because a UDP socket's receive buffer was full, read from
 * Linux's `/proc/net/udp` and `/proc/net/udp6` (the last column, `drops`, per socket). Deno
 * has no API for it (no `SO_RXQ_OVFL`); elsewhere than on Linux, or without read permission,
 * the count is unknown.
 *
 * For SCTP over UDP these drops are lost packets of every association on the socket, at the
 * receiver's own door: the sign that the process reads its socket more slowly than its peers
 * send.
 *
 * @module
 */

/** The files that list the UDP sockets of the process's network namespace. */
const PROC_FILES = ["/proc/net/udp", "/proc/net/udp6"];

/**
 * Sums the `drops` column of the sockets bound to one of `ports` in the text of
 * `/proc/net/udp` or `/proc/net/udp6`.
 *
 * @example
 * ```ts
 * import { dropsInProcNetUdp } from "./udp_drops.ts";
 * const text =
 *   "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
 *   "  1: 0100007F:2654 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123 2 0000000000000000 17\n";
 * dropsInProcNetUdp(text, new Set([0x2654])); // 17
 * ```
 */
export function dropsInProcNetUdp(text: string, ports: ReadonlySet<number>): number {
  let drops = 0;
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // sl, local address:port, remote address:port, state, queues, ..., drops last.
    if (fields.length < 13 || !fields[0].endsWith(":")) continue;
    const local = fields[1];
    const port = parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    if (!ports.has(port)) continue;
    const n = Number(fields[fields.length - 1]);
    if (Number.isFinite(n)) drops += n;
  }
  return drops;
}

/**
 * {@linkcode udpReceiveDrops} read synchronously: it answers even when the runtime completes
 * no asynchronous operation (as when a socket's receive has stalled, see `DenoUdpSocket`).
 *
 * @example
 * ```ts
 * import { udpReceiveDropsSync } from "./udp_drops.ts";
 * const drops = udpReceiveDropsSync([9899]); // a number on Linux
 * ```
 */
export function udpReceiveDropsSync(ports: Iterable<number>): number | undefined {
  return sumDrops(
    PROC_FILES.map((file) => readOrUndefined(() => Deno.readTextFileSync(file))),
    ports,
  );
}

/**
 * Datagrams dropped so far at the UDP sockets bound to `ports` (of any process in this network
 * namespace), or undefined where that cannot be read (not Linux, no read permission).
 *
 * @example
 * ```ts
 * import { udpReceiveDrops } from "./udp_drops.ts";
 * const drops = await udpReceiveDrops([9899]); // a number on Linux
 * ```
 */
export async function udpReceiveDrops(
  ports: Iterable<number>,
  readTextFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<number | undefined> {
  const texts = await Promise.all(
    PROC_FILES.map((file) => readTextFile(file).catch(() => undefined)),
  );
  return sumDrops(texts, ports);
}

/** The text a read gives, or undefined when it fails (not Linux, no IPv6, no permission). */
function readOrUndefined(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The drops at `ports` over the files that could be read; undefined when none could. */
function sumDrops(texts: (string | undefined)[], ports: Iterable<number>): number | undefined {
  const wanted = new Set(ports);
  let drops: number | undefined;
  for (const text of texts) {
    if (text !== undefined) drops = (drops ?? 0) + dropsInProcNetUdp(text, wanted);
  }
  return drops;
}
