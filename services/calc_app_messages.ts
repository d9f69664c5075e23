/**
 * The messages of RSPLIB's CalcApp protocol: PPID 34, one 24-byte layout for every message,
 * integers in network byte order, and a 20-byte cookie.
 *
 * ```
 * Message: Type (u8) | Flags=0 (u8) | Length=24 (u16) | JobID (u32) | JobSize (u64) | Completed (u64)
 * Cookie (ASAP COOKIE):                                  JobID (u32) | JobSize (u64) | Completed (u64)
 * ```
 *
 * Types: 1 REQUEST, 2 ACCEPT, 3 REJECT, 4 ABORT (defined, never sent), 5 COMPLETE,
 * 6 KEEPALIVE, 7 KEEPALIVE_ACK. JobSize is set in REQUEST and COMPLETE, Completed in COMPLETE;
 * the other messages carry only the JobID and zeros.
 *
 * @module
 */

/**
 * PPID of the CalcApp protocol (IANA-registered for RSPLIB).
 *
 * @example
 * ```ts
 * import { PPID_CALCAPP } from "./calc_app_messages.ts";
 * PPID_CALCAPP; // 34
 * ```
 */
export const PPID_CALCAPP = 34;

/**
 * Size of every CalcApp message.
 *
 * @example
 * ```ts
 * import { CALCAPP_MESSAGE_SIZE } from "./calc_app_messages.ts";
 * CALCAPP_MESSAGE_SIZE; // 24
 * ```
 */
export const CALCAPP_MESSAGE_SIZE = 24;

/**
 * Size of a CalcApp cookie.
 *
 * @example
 * ```ts
 * import { CALCAPP_COOKIE_SIZE } from "./calc_app_messages.ts";
 * CALCAPP_COOKIE_SIZE; // 20
 * ```
 */
export const CALCAPP_COOKIE_SIZE = 20;

/**
 * CalcApp message types by name, with their codes.
 *
 * @example
 * ```ts
 * import { CALCAPP_TYPES } from "./calc_app_messages.ts";
 * CALCAPP_TYPES.complete; // 5
 * ```
 */
export const CALCAPP_TYPES = {
  request: 1,
  accept: 2,
  reject: 3,
  abort: 4,
  complete: 5,
  keepalive: 6,
  "keepalive-ack": 7,
} as const;

/**
 * A CalcApp message type.
 *
 * @example
 * ```ts
 * import type { CalcAppType } from "./calc_app_messages.ts";
 * const t: CalcAppType = "keepalive-ack";
 * ```
 */
export type CalcAppType = keyof typeof CALCAPP_TYPES;

/**
 * A CalcApp message. `jobSize` and `completed` are calculations (RSPLIB keeps them as doubles
 * and rounds them into the u64 fields).
 *
 * @example
 * ```ts
 * import type { CalcAppMessage } from "./calc_app_messages.ts";
 * const request: CalcAppMessage = { type: "request", jobId: 1, jobSize: 5_000_000, completed: 0 };
 * ```
 */
export interface CalcAppMessage {
  /** The message type. */
  type: CalcAppType;
  /** The job. */
  jobId: number;
  /** Size of the job (REQUEST, COMPLETE; else 0). */
  jobSize: number;
  /** Calculations done (COMPLETE; else 0). */
  completed: number;
  /** Flags (0). */
  flags?: number;
}

/**
 * The state in a CalcApp cookie.
 *
 * @example
 * ```ts
 * import type { CalcAppCookie } from "./calc_app_messages.ts";
 * const cookie: CalcAppCookie = { jobId: 1, jobSize: 5_000_000, completed: 1_250_000 };
 * ```
 */
export interface CalcAppCookie {
  /** The job. */
  jobId: number;
  /** Its size. */
  jobSize: number;
  /** Calculations done. */
  completed: number;
}

const TYPE_NAMES = new Map<number, CalcAppType>(
  Object.entries(CALCAPP_TYPES).map(([name, code]) => [code, name as CalcAppType]),
);

function u64(value: number): bigint {
  const v = Math.round(value);
  if (!(v >= 0)) throw new RangeError("CalcApp counts are not negative");
  return BigInt(v);
}

/**
 * Encodes a CalcApp message (24 bytes).
 *
 * @example
 * ```ts
 * import { encodeCalcApp } from "./calc_app_messages.ts";
 * encodeCalcApp({ type: "accept", jobId: 1, jobSize: 0, completed: 0 })[0]; // 2
 * ```
 */
export function encodeCalcApp(message: CalcAppMessage): Uint8Array {
  const bytes = new Uint8Array(CALCAPP_MESSAGE_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, CALCAPP_TYPES[message.type]);
  view.setUint8(1, message.flags ?? 0);
  view.setUint16(2, CALCAPP_MESSAGE_SIZE);
  view.setUint32(4, message.jobId >>> 0);
  view.setBigUint64(8, u64(message.jobSize));
  view.setBigUint64(16, u64(message.completed));
  return bytes;
}

/**
 * Decodes a CalcApp message as RSPLIB reads them: at least 24 bytes, the type byte decides (the
 * Length field is not looked at). Returns `undefined` for a short message or an unknown type.
 *
 * @example
 * ```ts
 * import { decodeCalcApp, encodeCalcApp } from "./calc_app_messages.ts";
 * const m = decodeCalcApp(encodeCalcApp({ type: "request", jobId: 9, jobSize: 100, completed: 0 }));
 * m?.jobSize; // 100
 * ```
 */
export function decodeCalcApp(bytes: Uint8Array): CalcAppMessage | undefined {
  if (bytes.length < CALCAPP_MESSAGE_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = TYPE_NAMES.get(view.getUint8(0));
  if (type === undefined) return undefined;
  return {
    type,
    flags: view.getUint8(1),
    jobId: view.getUint32(4),
    jobSize: Number(view.getBigUint64(8)),
    completed: Number(view.getBigUint64(16)),
  };
}

/**
 * Encodes a CalcApp cookie (20 bytes).
 *
 * @example
 * ```ts
 * import { encodeCalcAppCookie } from "./calc_app_messages.ts";
 * encodeCalcAppCookie({ jobId: 1, jobSize: 10, completed: 4 }).length; // 20
 * ```
 */
export function encodeCalcAppCookie(cookie: CalcAppCookie): Uint8Array {
  const bytes = new Uint8Array(CALCAPP_COOKIE_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, cookie.jobId >>> 0);
  view.setBigUint64(4, u64(cookie.jobSize));
  view.setBigUint64(12, u64(cookie.completed));
  return bytes;
}

/**
 * Decodes a CalcApp cookie; `undefined` when shorter than 20 bytes (RSPLIB accepts longer
 * ones and reads the first 20).
 *
 * @example
 * ```ts
 * import { decodeCalcAppCookie, encodeCalcAppCookie } from "./calc_app_messages.ts";
 * decodeCalcAppCookie(encodeCalcAppCookie({ jobId: 1, jobSize: 10, completed: 4 }))?.completed; // 4
 * ```
 */
export function decodeCalcAppCookie(bytes: Uint8Array): CalcAppCookie | undefined {
  if (bytes.length < CALCAPP_COOKIE_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    jobId: view.getUint32(0),
    jobSize: Number(view.getBigUint64(4)),
    completed: Number(view.getBigUint64(12)),
  };
}
