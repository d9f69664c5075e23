/**
 * Opening a TCP or TLS association.
 *
 * @module
 */

import { TransportError } from "../errors.ts";
import type { Association } from "../types.ts";
import { TcpAssociation } from "./association.ts";
import { denoConnStream } from "./byte_stream.ts";
import {
  DEFAULT_TIMEOUT,
  resolveAssociationOptions,
  type TcpAssociationOptions,
} from "./options.ts";

/**
 * TLS settings of {@linkcode connectTcp}.
 *
 * @example
 * ```ts
 * import type { TlsConnectOptions } from "@rserpool/rserpool/transport";
 * const tls: TlsConnectOptions = { caCerts: ["-----BEGIN CERTIFICATE-----\n..."], hostname: "localhost" };
 * ```
 */
export interface TlsConnectOptions {
  /** PEM certificates of the CAs to trust, in addition to the built-in roots. */
  caCerts?: string[];
  /** The name the server certificate must be valid for (default: the `hostname` connected to). */
  hostname?: string;
  /** PEM client certificate chain, to authenticate to the server (with `key`). */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
}

/**
 * Options of {@linkcode connectTcp}.
 *
 * @example
 * ```ts
 * import type { TcpConnectOptions } from "@rserpool/rserpool/transport";
 * const options: TcpConnectOptions = { hostname: "127.0.0.1", port: 3863, framing: "rserpool", ppid: 11 };
 * ```
 */
export interface TcpConnectOptions extends TcpAssociationOptions {
  /** The peer's IP address or host name. */
  hostname: string;
  /** The peer's port. */
  port: number;
  /** Use TLS with these settings. */
  tls?: TlsConnectOptions;
  /** Bound of the TCP connect plus TLS handshake, in milliseconds (default 10 s). */
  timeout?: number;
}

function connectError(error: unknown, what: string): TransportError {
  if (error instanceof TransportError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return new TransportError("refused", `${what} refused: ${text}`, { cause: error });
  }
  if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.AddrNotAvailable) {
    return new TransportError("local", `${what} failed here: ${text}`, { cause: error });
  }
  return new TransportError("io", `${what} failed: ${text}`, { cause: error });
}

async function open(options: TcpConnectOptions, signal: AbortSignal): Promise<Deno.Conn> {
  const { hostname, port, tls } = options;
  if (tls === undefined) {
    const conn = await Deno.connect({ hostname, port, signal });
    conn.setNoDelay(options.noDelay ?? true);
    return conn;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new TransportError("invalid", "A TLS client certificate needs both cert and key");
  }
  if (tls.cert !== undefined && tls.key !== undefined) {
    // Deno.startTls takes no client certificate, so TCP_NODELAY cannot be set on this path.
    if (tls.hostname !== undefined && tls.hostname !== hostname) {
      throw new TransportError(
        "invalid",
        "With a client certificate, tls.hostname must equal hostname (Deno.connectTls)",
      );
    }
    return await Deno.connectTls({
      hostname,
      port,
      caCerts: tls.caCerts,
      cert: tls.cert,
      key: tls.key,
    });
  }
  const tcp = await Deno.connect({ hostname, port, signal });
  tcp.setNoDelay(options.noDelay ?? true);
  try {
    return await Deno.startTls(tcp, { hostname: tls.hostname ?? hostname, caCerts: tls.caCerts });
  } catch (error) {
    try {
      tcp.close();
    } catch {
      // startTls took it over.
    }
    throw error;
  }
}

/**
 * Opens a TCP association, or TLS with `tls`, and resolves once it is up (TLS: after the
 * handshake, which checks the server certificate against `tls.caCerts` and `tls.hostname`).
 *
 * @throws {TransportError} `invalid` for bad options, `refused` when the peer refuses, `timeout`
 * after `timeout` ms, `io` for other failures (a TLS certificate that does not check out).
 *
 * @example Send one ASAP message, tshark-readable
 * ```ts ignore
 * import { connectTcp } from "@rserpool/rserpool/transport";
 * const association = await connectTcp({
 *   hostname: "127.0.0.1",
 *   port: 3863,
 *   framing: "rserpool",
 *   ppid: 11,
 * });
 * await association.send(new Uint8Array([0x05, 0, 0, 4]));
 * await association.close();
 * ```
 */
export async function connectTcp(options: TcpConnectOptions): Promise<Association> {
  const resolved = resolveAssociationOptions(options);
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new TransportError("invalid", "Option timeout must be a positive number");
  }
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const attempt = open(options, controller.signal).then(async (conn) => {
    if (options.tls !== undefined) {
      await (conn as Deno.TlsConn).handshake().catch((error) => {
        conn.close();
        throw error;
      });
    }
    return conn;
  });
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
      reject(
        new TransportError("timeout", `Connect to ${options.hostname}:${options.port} timed out`),
      );
    }, timeout);
  });
  try {
    const conn = await Promise.race([attempt, expiry]);
    return new TcpAssociation(denoConnStream(conn), options.tls ? "tls" : "tcp", resolved);
  } catch (error) {
    if (timedOut) {
      // Release a connection that completes after the deadline.
      attempt.then((conn) => conn.close(), () => {});
    }
    throw connectError(error, options.tls ? "TLS connect" : "Connect");
  } finally {
    clearTimeout(timer);
  }
}
