/**
 * Accepting TCP and TLS associations.
 *
 * @module
 */

import tls from "node:tls";
import type { Socket } from "node:net";
import { Channel } from "../channel.ts";
import { TransportError } from "../errors.ts";
import type { Association, AssociationListener, TransportAddress } from "../types.ts";
import { TcpAssociation } from "./association.ts";
import { type ByteStream, denoConnStream, netAddress, NodeSocketStream } from "./byte_stream.ts";
import {
  DEFAULT_TIMEOUT,
  resolveAssociationOptions,
  type ResolvedAssociationOptions,
  type TcpAssociationOptions,
} from "./options.ts";

/**
 * TLS settings of {@linkcode listenTcp}.
 *
 * @example
 * ```ts
 * import type { TlsListenOptions } from "@rserpool/rserpool/transport";
 * const tls: TlsListenOptions = {
 *   cert: "-----BEGIN CERTIFICATE-----\n...",
 *   key: "-----BEGIN PRIVATE KEY-----\n...",
 * };
 * ```
 */
export interface TlsListenOptions {
  /** PEM certificate chain of the server. */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /**
   * PEM certificates of the CAs that sign client certificates. When given, every client must
   * present a certificate that checks out against them, or the handshake fails and no
   * association is accepted.
   */
  caCerts?: string[];
  /**
   * Require a client certificate (default: true when `caCerts` is given). `true` needs
   * `caCerts`; `false` with `caCerts` is refused, since optional checking is not offered.
   */
  requireClientCertificate?: boolean;
}

/**
 * Options of {@linkcode listenTcp}.
 *
 * @example
 * ```ts
 * import type { TcpListenOptions } from "@rserpool/rserpool/transport";
 * const options: TcpListenOptions = { hostname: "127.0.0.1", port: 0 };
 * ```
 */
export interface TcpListenOptions extends TcpAssociationOptions {
  /** Local address to listen on (default `"127.0.0.1"`; `"0.0.0.0"` or `"::"` for all). */
  hostname?: string;
  /** Local port; 0 picks a free one (see `addresses`). */
  port: number;
  /** Use TLS with these settings. */
  tls?: TlsListenOptions;
  /** Bound of a TLS handshake of an incoming connection, in milliseconds (default 10 s). */
  handshakeTimeout?: number;
}

/** Where the connections come from: a Deno listener or a `node:tls` server. */
interface ConnectionSource {
  addresses: TransportAddress[];
  /** Stops listening; resolves once the listening socket is released. */
  close(): Promise<void>;
}

class TcpListener implements AssociationListener {
  #source: ConnectionSource | undefined;
  #addresses: readonly TransportAddress[] = [];
  /** Associations not accepted yet; closed with the listener. */
  #incoming = new Channel<Association>();
  #pending = new Set<ByteStream | Deno.Conn>();

  /** The local addresses it listens on, with the port actually bound. */
  get addresses(): readonly TransportAddress[] {
    return this.#addresses;
  }

  /** Connects the listener to where its connections come from. */
  attach(source: ConnectionSource): void {
    this.#source = source;
    this.#addresses = Object.freeze([...source.addresses]);
  }

  get isClosed(): boolean {
    return this.#incoming.closed;
  }

  /** Tracks a connection that is not an association yet (in its TLS handshake). */
  hold(connection: ByteStream | Deno.Conn): void {
    this.#pending.add(connection);
  }

  release(connection: ByteStream | Deno.Conn): void {
    this.#pending.delete(connection);
  }

  offer(association: Association): void {
    if (!this.#incoming.push(association)) association.abort("Listener closed");
  }

  accept(): Promise<Association | null> {
    return this.#incoming.receive();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Association> {
    while (true) {
      const association = await this.accept();
      if (association === null) return;
      yield association;
    }
  }

  /** Stops listening and aborts associations not accepted yet; resolves once the port is free. */
  close(): Promise<void> {
    if (this.#incoming.closed) return Promise.resolve();
    this.#incoming.close();
    const stopped = this.#source?.close();
    for (const connection of this.#pending) {
      try {
        connection.close();
      } catch {
        // Already closed.
      }
    }
    this.#pending.clear();
    for (const association of this.#incoming.drain()) association.abort("Listener closed");
    return stopped ?? Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function listenError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new TransportError("io", `Listen failed: ${text}`, { cause: error });
}

/** Accepts from a Deno TCP or TLS listener until it is closed. */
function denoSource(
  listener: TcpListener,
  socket: Deno.Listener,
  isTls: boolean,
  options: ResolvedAssociationOptions,
  handshakeTimeout: number,
): ConnectionSource {
  const handshake = async (conn: Deno.TlsConn): Promise<void> => {
    listener.hold(conn);
    const timer = setTimeout(() => conn.close(), handshakeTimeout);
    try {
      await conn.handshake();
    } catch {
      // A failed handshake is the client's problem: drop the connection.
      try {
        conn.close();
      } catch {
        // Closed by the timer or the listener.
      }
      return;
    } finally {
      clearTimeout(timer);
      listener.release(conn);
    }
    if (listener.isClosed) {
      conn.close();
      return;
    }
    listener.offer(new TcpAssociation(denoConnStream(conn), "tls", options));
  };
  const loop = (async () => {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await socket.accept();
      } catch (error) {
        if (listener.isClosed || error instanceof Deno.errors.BadResource) return;
        continue; // A failed accept (e.g. too many open files) does not end the listener.
      }
      if (listener.isClosed) {
        conn.close();
        return;
      }
      if (isTls) {
        void handshake(conn as Deno.TlsConn);
      } else {
        (conn as Deno.TcpConn).setNoDelay(options.noDelay);
        listener.offer(new TcpAssociation(denoConnStream(conn), "tcp", options));
      }
    }
  })();
  return {
    addresses: [netAddress(socket.addr)],
    close: () => {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      return loop;
    },
  };
}

/** Starts a `node:tls` server that requires and checks client certificates. */
async function nodeTlsSource(
  listener: TcpListener,
  hostname: string,
  port: number,
  tlsOptions: TlsListenOptions,
  options: ResolvedAssociationOptions,
  handshakeTimeout: number,
): Promise<ConnectionSource> {
  const server = tls.createServer({
    cert: tlsOptions.cert,
    key: tlsOptions.key,
    ca: tlsOptions.caCerts,
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout,
  });
  server.on("secureConnection", (socket: Socket) => {
    socket.setNoDelay(options.noDelay);
    listener.offer(new TcpAssociation(new NodeSocketStream(socket), "tls", options));
  });
  server.on("tlsClientError", () => {
    // The client failed the handshake (no or a bad certificate); node has dropped it.
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: hostname, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {
    // Errors of the listening socket after start; accepted sockets report their own.
  });
  const address = server.address();
  const bound = typeof address === "object" && address !== null
    ? { hostname: address.address, port: address.port }
    : { hostname, port };
  return {
    addresses: [bound],
    // The callback of server.close() waits for accepted connections too: do not wait for it.
    close: () => {
      server.close();
      return Promise.resolve();
    },
  };
}

/**
 * Listens for TCP associations, or TLS with `tls`. With `tls.caCerts` it requires client
 * certificates signed by those CAs (through `node:tls`, since `Deno.listenTls` cannot ask for
 * client certificates); otherwise it uses `Deno.listen` / `Deno.listenTls`. An incoming TLS
 * connection becomes an association only after its handshake has succeeded.
 *
 * @throws {TransportError} `invalid` for bad options, `io` when the address cannot be bound.
 *
 * @example Echo server
 * ```ts ignore
 * import { listenTcp } from "@rserpool/rserpool/transport";
 * const listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
 * console.log("listening on", listener.addresses[0].port);
 * for await (const association of listener) {
 *   (async () => {
 *     for await (const m of association) await association.send(m.data, m);
 *   })();
 * }
 * ```
 */
export async function listenTcp(options: TcpListenOptions): Promise<AssociationListener> {
  const resolved = resolveAssociationOptions(options);
  const hostname = options.hostname ?? "127.0.0.1";
  const { port, tls: tlsOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new TransportError("invalid", "Option port must be an integer from 0 to 65535");
  }
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_TIMEOUT;
  let requireClientCertificate = false;
  if (tlsOptions !== undefined) {
    if (typeof tlsOptions.cert !== "string" || typeof tlsOptions.key !== "string") {
      throw new TransportError("invalid", "A TLS listener needs cert and key (PEM)");
    }
    const hasCas = tlsOptions.caCerts !== undefined && tlsOptions.caCerts.length > 0;
    requireClientCertificate = tlsOptions.requireClientCertificate ?? hasCas;
    if (requireClientCertificate !== hasCas) {
      throw new TransportError(
        "invalid",
        hasCas
          ? "Client certificates are always required when caCerts is given"
          : "Requiring client certificates needs caCerts to check them",
      );
    }
  }
  const listener = new TcpListener();
  try {
    if (tlsOptions !== undefined && requireClientCertificate) {
      listener.attach(
        await nodeTlsSource(listener, hostname, port, tlsOptions, resolved, handshakeTimeout),
      );
    } else {
      const socket = tlsOptions === undefined
        ? Deno.listen({ hostname, port })
        : Deno.listenTls({ hostname, port, cert: tlsOptions.cert, key: tlsOptions.key });
      listener.attach(
        denoSource(listener, socket, tlsOptions !== undefined, resolved, handshakeTimeout),
      );
    }
    return listener;
  } catch (error) {
    throw listenError(error);
  }
}
