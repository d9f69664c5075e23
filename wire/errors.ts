/**
 * The error type of the wire layer and the RFC 5354 error cause codes.
 *
 * @module
 */

/**
 * Error cause codes of RFC 5354, section 3.10 (carried in an Operation Error parameter).
 *
 * @example Naming a cause
 * ```ts
 * import { ErrorCause } from "@rserpool/rserpool/wire";
 * const code: number = ErrorCause.UnknownPoolHandle; // 0x9
 * ```
 */
export const ErrorCause = {
  /** Unspecified error. */
  Unspecified: 0x0,
  /** Unrecognized parameter; the cause carries the parameter. */
  UnrecognizedParameter: 0x1,
  /** Unrecognized message; the cause carries the message. */
  UnrecognizedMessage: 0x2,
  /** Invalid values (a malformed or out-of-range field). */
  InvalidValues: 0x3,
  /** Non-unique PE identifier. */
  NonUniquePeIdentifier: 0x4,
  /** Inconsistent pooling policy. */
  InconsistentPoolingPolicy: 0x5,
  /** Lack of resources. */
  LackOfResources: 0x6,
  /** Inconsistent transport type. */
  InconsistentTransportType: 0x7,
  /** Inconsistent data/control configuration. */
  InconsistentDataControlConfiguration: 0x8,
  /** Unknown pool handle. */
  UnknownPoolHandle: 0x9,
  /** Rejection due to security considerations. */
  RejectedForSecurity: 0xa,
} as const;

/** One of the RFC 5354 error cause codes of {@linkcode ErrorCause}. */
export type ErrorCauseCode = typeof ErrorCause[keyof typeof ErrorCause];

const CAUSE_NAMES: Record<number, string> = {
  0x0: "Unspecified",
  0x1: "Unrecognized Parameter",
  0x2: "Unrecognized Message",
  0x3: "Invalid Values",
  0x4: "Non-unique PE Identifier",
  0x5: "Inconsistent Pooling Policy",
  0x6: "Lack of Resources",
  0x7: "Inconsistent Transport Type",
  0x8: "Inconsistent Data/Control Configuration",
  0x9: "Unknown Pool Handle",
  0xa: "Rejection due to security considerations",
};

/**
 * The RFC name of an error cause code, or `Cause 0x..` for a code the RFC does not define.
 *
 * @example
 * ```ts
 * import { errorCauseName } from "@rserpool/rserpool/wire";
 * errorCauseName(0x9); // "Unknown Pool Handle"
 * ```
 */
export function errorCauseName(code: number): string {
  return CAUSE_NAMES[code] ?? `Cause 0x${code.toString(16)}`;
}

/** Options of a {@linkcode WireError}. */
export interface WireErrorOptions {
  /** Byte offset into the decoded buffer where the problem was found. */
  offset?: number;
  /**
   * Bytes to report back to the sender in the error cause: the unrecognized parameter (TLV) for
   * {@linkcode ErrorCause.UnrecognizedParameter}, the message for
   * {@linkcode ErrorCause.UnrecognizedMessage}.
   */
  data?: Uint8Array;
  /**
   * True when the RFC asks the receiver to discard the message without a report (an unknown
   * parameter whose type has the high bits `00`).
   */
  silent?: boolean;
  /** The error that led to this one (error chaining, `Error.cause`). */
  cause?: unknown;
}

/**
 * The only error that encoding and decoding of ASAP and ENRP throw. It carries the RFC 5354
 * error cause code that a protocol endpoint sends back, and the offset of the offending byte.
 *
 * @example Telling a malformed message apart
 * ```ts
 * import { decodeAsapMessage } from "@rserpool/rserpool/asap";
 * import { ErrorCause, WireError } from "@rserpool/rserpool/wire";
 * try {
 *   decodeAsapMessage(new Uint8Array([0x05, 0x00, 0x00, 0x40]));
 * } catch (e) {
 *   if (e instanceof WireError) console.log(e.errorCause === ErrorCause.InvalidValues, e.offset);
 * }
 * ```
 */
export class WireError extends Error {
  /** The RFC 5354 error cause code (see {@linkcode ErrorCause}). */
  readonly errorCause: number;
  /** Byte offset into the decoded buffer, or -1 when encoding. */
  readonly offset: number;
  /** Bytes for the cause-specific information of the error report, if any. */
  readonly data: Uint8Array | undefined;
  /** True when the message must be discarded without sending a report. */
  readonly silent: boolean;

  /** Creates an error with a cause code and a message in sentence case. */
  constructor(errorCause: number, message: string, options: WireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WireError";
    this.errorCause = errorCause;
    this.offset = options.offset ?? -1;
    this.data = options.data;
    this.silent = options.silent ?? false;
  }
}
