/**
 * The byte stream under a TCP or TLS association: a `Deno.Conn`, or a `node:tls` socket (the only
 * server-side TLS in Deno that can require client certificates), behind one small interface.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { TransportAddress } from "../types.ts";

/** A connected, reliable byte stream. */
export interface ByteStream {
  /** Local address. */
  readonly localAddress: TransportAddress;
  /** Peer address. */
  readonly remoteAddress: TransportAddress;
  /** Reads into `into`; the number of bytes read, or `null` at the end of the stream. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; resolves with how many bytes were taken (at least one). */
  write(data: Uint8Array): Promise<number>;
  /** Ends the write side (TCP FIN, TLS close_notify). */
  closeWrite(): Promise<void>;
  /** Closes both directions at once and releases the socket. Never throws. */
  close(): void;
}

/**
 * A `Deno.NetAddr` as a transport address. (A connection from `Deno.startTls` reports its
 * addresses without the `transport` field, so only the fields are looked at.)
 */
export function netAddress(addr: Deno.Addr): TransportAddress {
  const { hostname, port } = addr as Partial<Deno.NetAddr>;
  return { hostname: hostname ?? "", port: port ?? 0 };
}

/** A `Deno.Conn` (TCP or TLS) as a byte stream. */
export function denoConnStream(conn: Deno.Conn): ByteStream {
  return {
    localAddress: netAddress(conn.localAddr),
    remoteAddress: netAddress(conn.remoteAddr),
    read: (into) => conn.read(into),
    write: (data) => conn.write(data),
    closeWrite: () => conn.closeWrite(),
    close: () => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** Received bytes a `node:net`/`node:tls` socket may hold before it is paused. */
const NODE_HIGH_WATER = 256 * 1024;

/**
 * A connected `node:net` or `node:tls` socket as a byte stream. It must already be connected
 * (for TLS: after `secureConnection`).
 */
export class NodeSocketStream implements ByteStream {
  readonly localAddress: TransportAddress;
  readonly remoteAddress: TransportAddress;
  #socket: Socket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.localAddress = { hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 };
    this.remoteAddress = { hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= NODE_HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < into.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(chunk.length, into.length - n);
      into.set(take === chunk.length ? chunk : chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#buffered -= n;
    if (this.#buffered < NODE_HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(data: Uint8Array): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => error ? reject(error) : resolve(data.length));
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    this.#socket.destroy();
  }
}
