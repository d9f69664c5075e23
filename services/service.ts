/**
 * What an example service is: a pool element side that serves one PU session, and a pool user
 * side that uses a session from the command line.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";

/**
 * What the PE side of a service gets besides the session.
 *
 * @example
 * ```ts
 * import type { ServeContext } from "./service.ts";
 * const context: ServeContext = { identifier: 0x1234, print: console.log };
 * ```
 */
export interface ServeContext {
  /** The PE's identifier. */
  identifier: number;
  /** Prints a line of output. */
  print: (line: string) => void;
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
