/**
 * What an example service is: a pool element side that serves one PU session, and a pool user
 * side that uses a session from the command line.
 *
 * @module
 */

import { decodeAsapMessage, encodeAsapMessage } from "../asap/codec.ts";
import { ASAP_PPID } from "../asap/connect.ts";
import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";

/**
 * What the PE side of a service gets besides the session. A PE passes the same object to every
 * session it serves, so that a service can keep state per PE (CalcApp's jobs and capacity).
 *
 * @example
 * ```ts
 * import type { ServeContext } from "./service.ts";
 * const context: ServeContext = { identifier: 0x1234, print: console.log };
 * ```
 */
export interface ServeContext {
  /** The PE's identifier. */
  readonly identifier: number;
  /** Prints a line of output. */
  print: (line: string) => void;
  /**
   * Reports the PE's load, a fraction from 0 to 1; the PE re-registers with it when its policy
   * has a load (least-used and the like). Absent when nothing is listening.
   */
  setLoad?: (fraction: number) => void;
}

/**
 * How the PU side of a service runs.
 *
 * @example
 * ```ts
 * import type { UseOptions } from "./service.ts";
 * const options: UseOptions = { count: 10, interval: 0, size: 64, print: console.log };
 * ```
 */
export interface UseOptions {
  /** Requests or messages to send (or lines to receive). */
  count: number;
  /** Pause between them in ms. */
  interval: number;
  /** Size of a message where the service sends data. */
  size: number;
  /** Prints a line of output. */
  print: (line: string) => void;
  /**
   * Opens another session with the same pool, for services that use a fresh session per job
   * (CalcApp, as RSPLIB's client does); without it they reuse the one given.
   */
  openSession?: () => Promise<PoolUserSession>;
}

/**
 * What the PU side reports when it is done.
 *
 * @example
 * ```ts
 * import type { UseResult } from "./service.ts";
 * const result: UseResult = { ok: true, completed: 10, detail: "10 echoes" };
 * ```
 */
export interface UseResult {
  /** Whether every answer was as expected. */
  ok: boolean;
  /** Requests answered (or messages sent or received). */
  completed: number;
  /** A line about the outcome. */
  detail: string;
}

/**
 * An example service.
 *
 * @example
 * ```ts ignore
 * import type { Service } from "./service.ts";
 * function describe(s: Service): string {
 *   return `${s.name}: ${s.description} (pool ${s.defaultPool})`;
 * }
 * ```
 */
export interface Service {
  /** Name on the command line. */
  readonly name: string;
  /** One line about it. */
  readonly description: string;
  /** Pool handle used when none is given. */
  readonly defaultPool: string;
  /** Serves one PU session until it ends. */
  serve(session: PoolElementSession, context: ServeContext): Promise<void>;
  /** Uses a session as a PU. */
  use(session: PoolUserSession, options: UseOptions): Promise<UseResult>;
  /**
   * Called once when the PE stops, before it deregisters (CalcApp hands its PUs a last cookie
   * here, as RSPLIB's clean shutdown does).
   */
  stop?(context: ServeContext): Promise<void>;
}

/**
 * Something a PU sent on a session of a service that handles RSPLIB's raw cookies: an
 * application message, or the bytes of a COOKIE_ECHO.
 *
 * @example
 * ```ts
 * import type { RawSessionEvent } from "./service.ts";
 * const size = (e: RawSessionEvent) => e.type === "message" ? e.data.length : e.cookie.length;
 * ```
 */
export type RawSessionEvent =
  | { type: "message"; data: Uint8Array; ppid: number; stream: number }
  | { type: "cookie-echo"; cookie: Uint8Array };

/**
 * Reads a PE session as RSPLIB's services do: application messages, and COOKIE_ECHOs handed
 * over as the plain bytes the PU echoed (RSPLIB's cookies are the application's own structs,
 * not sealed state), in the order they arrived. Other ASAP messages are dropped. Use it instead
 * of iterating the session, not beside it.
 *
 * @example
 * ```ts ignore
 * import type { PoolElementSession } from "../asap/pool_element_session.ts";
 * import { rawSessionEvents } from "./service.ts";
 * async function serve(session: PoolElementSession): Promise<void> {
 *   for await (const e of rawSessionEvents(session)) {
 *     if (e.type === "message") await session.send(e.data);
 *   }
 * }
 * ```
 */
export async function* rawSessionEvents(
  session: PoolElementSession,
): AsyncGenerator<RawSessionEvent, void, undefined> {
  for (;;) {
    const m = await session.association.receive();
    if (m === null) return;
    if (m.ppid !== ASAP_PPID) {
      yield { type: "message", data: m.data, ppid: m.ppid, stream: m.stream };
      continue;
    }
    try {
      const asap = decodeAsapMessage(m.data);
      if (asap.type === "cookie-echo") yield { type: "cookie-echo", cookie: asap.cookie };
    } catch {
      // Not ASAP after all: dropped, as RSPLIB drops what it cannot parse.
    }
  }
}

/**
 * Sends an ASAP COOKIE (PPID 11) with `cookie` as its plain bytes, as RSPLIB's
 * `rsp_send_cookie` does; the PU echoes them to the PE it fails over to.
 *
 * @example
 * ```ts ignore
 * import type { PoolElementSession } from "../asap/pool_element_session.ts";
 * import { sendRawCookie } from "./service.ts";
 * declare const session: PoolElementSession;
 * await sendRawCookie(session, new Uint8Array([1, 2, 3]));
 * ```
 */
export function sendRawCookie(session: PoolElementSession, cookie: Uint8Array): Promise<void> {
  return session.association.send(encodeAsapMessage({ type: "cookie", cookie }), {
    ppid: ASAP_PPID,
  });
}

/** The text of bytes (UTF-8). */
export function textOf(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** The bytes of a text (UTF-8). */
export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Waits `ms` milliseconds (not at all for 0). */
export function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
