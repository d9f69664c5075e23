/**
 * Options shared by TCP and TLS associations, their defaults and their checks.
 *
 * @module
 */

import { TransportError } from "../errors.ts";
import type { Framing } from "./framing.ts";

/** Default largest message: 1 MiB plus 64 KiB of headroom. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024 + 64 * 1024;

/** Default bound of queued bytes, per direction. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Default bound of a graceful close (and of connect and TLS handshakes), in milliseconds. */
export const DEFAULT_TIMEOUT = 10_000;

/**
 * Options of a TCP or TLS association, for {@linkcode connectTcp} and {@linkcode listenTcp}.
 *
 * @example ENRP control traffic that tshark decodes
 * ```ts
 * import type { TcpAssociationOptions } from "@rserpool/rserpool/transport";
 * const enrp: TcpAssociationOptions = { framing: "rserpool", ppid: 12 };
 * ```
 */
export interface TcpAssociationOptions {
  /**
   * How messages are delimited (default `"framed"`): `"framed"` puts a 12-byte header (length,
   * PPID, stream, flags) before each message; `"rserpool"` sends bare ASAP or ENRP messages,
   * delimited by their own header, as Wireshark expects them.
   */
  framing?: Framing;
  /**
   * The payload protocol identifier of every message with `"rserpool"` framing (required
   * there): 11 for ASAP, 12 for ENRP. Ignored with `"framed"`, which carries it per message.
   */
  ppid?: number;
  /** Largest message accepted, sent or received, in bytes (default 1 MiB + 64 KiB). */
  maxMessageSize?: number;
  /**
   * Bound of queued bytes per direction (default 4 MiB): `send` waits while more are waiting
   * to be written, and reading stops while more received bytes wait for `receive`. Each
   * queued message counts 256 bytes beyond its data, for the objects that hold it.
   */
  maxBufferedBytes?: number;
  /** Disable Nagle's algorithm (default true). See the module documentation for TLS. */
  noDelay?: boolean;
  /** How long `close()` waits for the peer to close its side, in milliseconds (default 10 s). */
  closeTimeout?: number;
  /**
   * How long a message may take to arrive once its first byte has (default 30 s): a peer that
   * sends half a frame and stops is aborted then.
   */
  frameTimeout?: number;
}

/** {@linkcode TcpAssociationOptions} with every default filled in. */
export interface ResolvedAssociationOptions {
  framing: Framing;
  ppid: number;
  maxMessageSize: number;
  maxBufferedBytes: number;
  noDelay: boolean;
  closeTimeout: number;
  frameTimeout: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TransportError("invalid", `Option ${name} must be a positive integer`);
  }
  return value;
}

/** Checks the options and fills in the defaults; throws a `TransportError` "invalid". */
export function resolveAssociationOptions(
  options: TcpAssociationOptions,
): ResolvedAssociationOptions {
  const framing = options.framing ?? "framed";
  if (framing !== "framed" && framing !== "rserpool") {
    throw new TransportError("invalid", `Unknown framing ${String(framing)}`);
  }
  let ppid = 0;
  if (framing === "rserpool") {
    if (options.ppid === undefined) {
      throw new TransportError("invalid", "The rserpool framing needs a ppid (11 ASAP, 12 ENRP)");
    }
    if (!Number.isInteger(options.ppid) || options.ppid < 0 || options.ppid > 0xffffffff) {
      throw new TransportError("invalid", "Option ppid must be a 32-bit unsigned integer");
    }
    ppid = options.ppid;
  }
  let maxMessageSize = positiveInteger(
    "maxMessageSize",
    options.maxMessageSize,
    DEFAULT_MAX_MESSAGE_SIZE,
  );
  if (maxMessageSize > 0x7fffffff) {
    throw new TransportError("invalid", "Option maxMessageSize must be below 2 GiB");
  }
  // An RFC 5354 message is at most 65535 bytes plus padding.
  if (framing === "rserpool") maxMessageSize = Math.min(maxMessageSize, 65536);
  return {
    framing,
    ppid,
    maxMessageSize,
    maxBufferedBytes: positiveInteger(
      "maxBufferedBytes",
      options.maxBufferedBytes,
      DEFAULT_MAX_BUFFERED_BYTES,
    ),
    noDelay: options.noDelay ?? true,
    closeTimeout: positiveInteger("closeTimeout", options.closeTimeout, DEFAULT_TIMEOUT),
    frameTimeout: positiveInteger("frameTimeout", options.frameTimeout, 30_000),
  };
}
