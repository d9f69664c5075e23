/**
 * The PingPong service, on the wire as RSPLIB's Ping Pong Protocol (PPP): binary messages with
 * PPID 33, integers in network byte order.
 *
 * ```
 * Ping: Type=1 (u8) | Flags=0 (u8) | Length (u16) | MessageNo (u64) | Data
 * Pong: Type=2 (u8) | Flags=0 (u8) | Length (u16) | MessageNo (u64) | ReplyNo (u64) | Data
 * Cookie (ASAP COOKIE, 16 bytes): ID "<PP-TD1>" (8 bytes) | ReplyNo (u64)
 * ```
 *
 * `Length` counts the whole message. The PU numbers its pings; the PE answers each with a pong
 * that carries the ping's number, the ping's data and its own reply counter (from 1 in a new
 * session), then sends a cookie with the next reply number. A PE that gets the cookie by
 * COOKIE_ECHO, as the first message of a session, goes on counting from it, so the PU sees no
 * gap in the reply numbers across a failover. A PE aborts the association on anything else:
 * a message that is not a ping, a cookie that is not 16 bytes with the right ID, or a
 * COOKIE_ECHO that is not the first message.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { bytesOf, pause, rawSessionEvents, sendRawCookie, textOf } from "./service.ts";

/**
 * PPID of the Ping Pong Protocol (IANA-registered for RSPLIB).
 *
 * @example
 * ```ts
 * import { PPID_PINGPONG } from "./ping_pong.ts";
 * PPID_PINGPONG; // 33
 * ```
 */
export const PPID_PINGPONG = 33;

/**
 * ID at the start of every PingPong cookie.
 *
 * @example
 * ```ts
 * import { PINGPONG_COOKIE_ID } from "./ping_pong.ts";
 * PINGPONG_COOKIE_ID.length; // 8
 * ```
 */
export const PINGPONG_COOKIE_ID = "<PP-TD1>";

const PING = 0x01;
const PONG = 0x02;
const PING_HEADER = 12;
const PONG_HEADER = 20;
const COOKIE_SIZE = 16;

/**
 * A PingPong message.
 *
 * @example
 * ```ts
 * import type { PingPongMessage } from "./ping_pong.ts";
 * const ping: PingPongMessage = { type: "ping", messageNo: 1n, data: new Uint8Array() };
 * ```
 */
export type PingPongMessage =
  | { type: "ping"; messageNo: bigint; data: Uint8Array; flags?: number }
  | { type: "pong"; messageNo: bigint; replyNo: bigint; data: Uint8Array; flags?: number };

/**
 * Encodes a ping or pong.
 *
 * @example
 * ```ts
 * import { encodePingPong } from "./ping_pong.ts";
 * encodePingPong({ type: "ping", messageNo: 1n, data: new Uint8Array() }).length; // 12
 * ```
 */
export function encodePingPong(message: PingPongMessage): Uint8Array {
  const header = message.type === "ping" ? PING_HEADER : PONG_HEADER;
  const length = header + message.data.length;
  if (length > 0xffff) throw new RangeError("PingPong message longer than 65535 bytes");
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, message.type === "ping" ? PING : PONG);
  view.setUint8(1, message.flags ?? 0);
  view.setUint16(2, length);
  view.setBigUint64(4, message.messageNo);
  if (message.type === "pong") view.setBigUint64(12, message.replyNo);
  bytes.set(message.data, header);
  return bytes;
}

/**
 * Decodes a ping or pong as RSPLIB reads them: the type byte decides, the Length field must
 * cover the header, and the data is what Length says (bounded by the bytes received). Returns
 * `undefined` for anything else.
 *
 * @example
 * ```ts
 * import { decodePingPong, encodePingPong } from "./ping_pong.ts";
 * const bytes = encodePingPong({ type: "pong", messageNo: 7n, replyNo: 3n, data: new Uint8Array() });
 * decodePingPong(bytes)?.type; // "pong"
 * ```
 */
export function decodePingPong(bytes: Uint8Array): PingPongMessage | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  const flags = view.getUint8(1);
  const length = Math.min(view.getUint16(2), bytes.length);
  if (type === PING && view.getUint16(2) >= PING_HEADER && bytes.length >= PING_HEADER) {
    return {
      type: "ping",
      flags,
      messageNo: view.getBigUint64(4),
      data: bytes.slice(PING_HEADER, Math.max(PING_HEADER, length)),
    };
  }
  if (type === PONG && view.getUint16(2) >= PONG_HEADER && bytes.length >= PONG_HEADER) {
    return {
      type: "pong",
      flags,
      messageNo: view.getBigUint64(4),
      replyNo: view.getBigUint64(12),
      data: bytes.slice(PONG_HEADER, Math.max(PONG_HEADER, length)),
    };
  }
  return undefined;
}

/**
 * Encodes the cookie a PingPong PE sends after each pong: the next reply number.
 *
 * @example
 * ```ts
 * import { encodePingPongCookie } from "./ping_pong.ts";
 * encodePingPongCookie(2n).length; // 16
 * ```
 */
export function encodePingPongCookie(replyNo: bigint): Uint8Array {
  const bytes = new Uint8Array(COOKIE_SIZE);
  bytes.set(bytesOf(PINGPONG_COOKIE_ID), 0);
  new DataView(bytes.buffer).setBigUint64(8, replyNo);
  return bytes;
}

/**
 * Decodes a PingPong cookie: the reply number, or `undefined` when it is not exactly 16 bytes
 * starting with {@linkcode PINGPONG_COOKIE_ID}.
 *
 * @example
 * ```ts
 * import { decodePingPongCookie, encodePingPongCookie } from "./ping_pong.ts";
 * decodePingPongCookie(encodePingPongCookie(5n)); // 5n
 * ```
 */
export function decodePingPongCookie(bytes: Uint8Array): bigint | undefined {
  if (bytes.length !== COOKIE_SIZE) return undefined;
  if (textOf(bytes.subarray(0, 8)) !== PINGPONG_COOKIE_ID) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(8);
}

/**
 * Options of {@linkcode createPingPong}.
 *
 * @example
 * ```ts
 * import type { PingPongOptions } from "./ping_pong.ts";
 * const options: PingPongOptions = { failureAfter: 5 };
 * ```
 */
export interface PingPongOptions {
  /**
   * PE side: abort the association after this many replies, to test failover (RSPLIB's
   * `-pppfailureafter`; default 0, never).
   */
  failureAfter?: number;
}

/**
 * Makes a PingPong service with options.
 *
 * @example
 * ```ts
 * import { createPingPong } from "./ping_pong.ts";
 * createPingPong({ failureAfter: 3 }).name; // "pingpong"
 * ```
 */
export function createPingPong(options: PingPongOptions = {}): Service {
  const failureAfter = options.failureAfter ?? 0;
  return {
    name: "pingpong",
    description: "RSPLIB's Ping Pong Protocol (PPID 33): numbered pings, pongs, reply cookies",
    defaultPool: "PingPongPool",

    async serve(session: PoolElementSession, _context: ServeContext): Promise<void> {
      let replyNo = 1n;
      let replies = 0;
      let first = true;
      for await (const e of rawSessionEvents(session)) {
        if (e.type === "cookie-echo") {
          const restored = first ? decodePingPongCookie(e.cookie) : undefined;
          if (restored === undefined) {
            session.abort(first ? "Bad PingPong cookie echo" : "Unexpected COOKIE_ECHO");
            return;
          }
          replyNo = restored;
          first = false;
          continue;
        }
        first = false;
        const ping = decodePingPong(e.data);
        if (ping?.type !== "ping") {
          session.abort("Not a PingPong ping");
          return;
        }
        await session.send(
          encodePingPong({ type: "pong", messageNo: ping.messageNo, replyNo, data: ping.data }),
          { ppid: PPID_PINGPONG },
        );
        replyNo++;
        replies++;
        await sendRawCookie(session, encodePingPongCookie(replyNo));
        if (failureAfter > 0 && replies >= failureAfter) {
          session.abort(`Failure tester: aborting after ${replies} replies`);
          return;
        }
      }
    },

    async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
      let completed = 0;
      let lastReplyNo = 0n;
      let gaps = 0;
      for (let i = 1; i <= options.count; i++) {
        const started = performance.now();
        const messageNo = BigInt(i);
        const text = `Nachricht: ${i}, Zeitstempel: ${BigInt(Date.now()) * 1000n}`;
        const answer = await session.request(
          encodePingPong({ type: "ping", messageNo, data: bytesOf(text) }),
          { ppid: PPID_PINGPONG },
        );
        const pong = decodePingPong(answer);
        if (pong?.type !== "pong" || pong.messageNo !== messageNo) {
          return { ok: false, completed, detail: `ping ${i} not answered by its pong` };
        }
        const gap = pong.replyNo - lastReplyNo;
        if (gap !== 1n) gaps++;
        lastReplyNo = pong.replyNo;
        completed++;
        options.print(JSON.stringify({
          ping: i,
          reply: Number(pong.replyNo),
          ...(gap !== 1n ? { gap: Number(gap) } : {}),
          pe: session.poolElement?.identifier,
          ms: Number((performance.now() - started).toFixed(3)),
        }));
        await pause(options.interval);
      }
      return {
        ok: gaps === 0,
        completed,
        detail: `${completed} pongs, ${gaps} gaps in the reply numbers`,
      };
    },
  };
}

/**
 * The PingPong service with default options.
 *
 * @example
 * ```ts
 * import { pingPong } from "./ping_pong.ts";
 * pingPong.defaultPool; // "PingPongPool"
 * ```
 */
export const pingPong: Service = createPingPong();
