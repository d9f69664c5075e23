/**
 * The UDP socket under an SCTP endpoint, over `Deno.listenDatagram` when the runtime offers it
 * (`--unstable-net`, or `"unstable": ["net"]` in deno.json) and over `node:dgram` otherwise.
 *
 * `Deno.listenDatagram` reads into one buffer that is reused for every datagram, where
 * `node:dgram` allocates a fresh 64 KiB buffer per datagram; on loopback it carries about
 * 2.5 times the packets per second (measured with 1200-byte datagrams). A received datagram
 * is therefore only valid during the `onMessage` call: whoever keeps bytes copies them.
 *
 * @module
 */

import dgram from "node:dgram";
import { setImmediate } from "node:timers";
import { ipAddressFamily } from "../../wire/address.ts";

/** Which UDP API an endpoint uses: `"auto"` picks `Deno.listenDatagram` when it exists. */
export type UdpSocketApi = "auto" | "deno" | "node";

/** Called for each datagram; `bytes` is only valid during the call. */
export type DatagramHandler = (bytes: Uint8Array, address: string, port: number) => void;

/**
 * Binds a UDP socket to an address and port (0 for a free one); {@linkcode bindUdp} is the
 * runtime's.
 */
export type UdpBinder = (
  address: string,
  port: number,
  onMessage: DatagramHandler,
  api?: UdpSocketApi,
) => Promise<UdpSocket>;

/** A bound UDP socket. */
export interface UdpSocket {
  /** The API underneath. */
  readonly api: "deno" | "node";
  /** The bound port. */
  readonly port: number;
  /** Sends a datagram; `onSent` runs once the socket is done with it (sent or failed). */
  send(packet: Uint8Array, port: number, address: string, onSent: () => void): void;
  /**
   * Closes the socket; the promise, if any, resolves once it is closed (its port free again
   * and no operation of it pending).
   */
  close(): void | Promise<void>;
}

/** The parts of `Deno.DatagramConn` used here (its types need `--unstable-net`). */
interface DenoDatagramConn {
  receive(p?: Uint8Array): Promise<[Uint8Array, { hostname: string; port: number }]>;
  send(p: Uint8Array, addr: { transport: "udp"; hostname: string; port: number }): Promise<number>;
  close(): void;
  readonly addr: { port: number };
}

type ListenDatagram = (options: {
  transport: "udp";
  hostname: string;
  port: number;
}) => DenoDatagramConn;

function denoListenDatagram(): ListenDatagram | undefined {
  const listen = (Deno as unknown as { listenDatagram?: unknown }).listenDatagram;
  return typeof listen === "function" ? (listen as ListenDatagram) : undefined;
}

/** True when `Deno.listenDatagram` is available (the runtime has `--unstable-net`). */
export function hasDenoDatagrams(): boolean {
  return denoListenDatagram() !== undefined;
}

/**
 * Binds a UDP socket to `address` and `port` (0 for a free one).
 *
 * @example
 * ```ts ignore
 * import { bindUdp } from "./udp_socket.ts";
 * const socket = await bindUdp("127.0.0.1", 0, (bytes) => console.log(bytes.length));
 * socket.close();
 * ```
 */
export async function bindUdp(
  address: string,
  port: number,
  onMessage: DatagramHandler,
  api: UdpSocketApi = "auto",
): Promise<UdpSocket> {
  const listen = api === "node" ? undefined : denoListenDatagram();
  if (listen !== undefined) return new DenoUdpSocket(listen, address, port, onMessage);
  if (api === "deno") throw new Error("Deno.listenDatagram needs --unstable-net");
  return await bindNode(address, port, onMessage);
}

/** Datagrams a socket hands over before it lets the event loop run other work. */
const RECEIVES_PER_TURN = 16;

class DenoUdpSocket implements UdpSocket {
  readonly api = "deno" as const;
  readonly port: number;
  #conn: DenoDatagramConn;
  #closed = false;
  #to = { transport: "udp" as const, hostname: "", port: 0 };
  /** Ends once the pending receive has failed after close(). */
  #receiving: Promise<void>;

  constructor(listen: ListenDatagram, address: string, port: number, onMessage: DatagramHandler) {
    this.#conn = listen({ transport: "udp", hostname: address, port });
    this.port = this.#conn.addr.port;
    this.#receiving = this.#receiveLoop(onMessage);
  }

  async #receiveLoop(onMessage: DatagramHandler): Promise<void> {
    // One buffer for every datagram: the handler copies what it keeps.
    const buffer = new Uint8Array(65536);
    let turn = 0;
    let lastHostname = "";
    while (!this.#closed) {
      // Deno completes up to 128 receives of a busy socket in one turn of its event loop, at
      // tens of microseconds each: timers and the other connections (a PU's TCP requests
      // beside 100,000 SCTP PEs) would wait for all of them. Measured at 100,000 supervised
      // PEs: resolutions over TCP 25,000/s and 14,000/s without this, 36,000/s and 39,000/s
      // with it (every 16th and every 4th datagram).
      if (++turn === RECEIVES_PER_TURN) {
        turn = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      let bytes: Uint8Array;
      let from: { hostname: string; port: number };
      try {
        [bytes, from] = await this.#conn.receive(buffer);
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        continue; // an error of one datagram
      }
      // The same peer's address as the same string: later comparisons of it (the path a
      // packet came from) and lookups by it find an equal pointer and a hash already computed.
      let hostname = from.hostname;
      if (hostname === lastHostname) hostname = lastHostname;
      else lastHostname = hostname;
      try {
        onMessage(bytes, hostname, from.port);
      } catch {
        // A handler's failure is its own; the socket goes on.
      }
    }
  }

  send(packet: Uint8Array, port: number, address: string, onSent: () => void): void {
    let to = this.#to;
    if (to.port !== port || to.hostname !== address) {
      to = { transport: "udp", hostname: address, port };
      this.#to = to;
    }
    this.#conn.send(packet, to).then(onSent, onSent);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#conn.close();
    }
    return this.#receiving;
  }
}

class NodeUdpSocket implements UdpSocket {
  readonly api = "node" as const;
  /** Kept: `address()` throws once the socket is closed. */
  readonly port: number;
  #socket: dgram.Socket;

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    this.port = socket.address().port;
  }

  send(packet: Uint8Array, port: number, address: string, onSent: () => void): void {
    this.#socket.send(packet, port, address, onSent);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // closed already
      }
    });
  }
}

function bindNode(address: string, port: number, onMessage: DatagramHandler): Promise<UdpSocket> {
  const family = ipAddressFamily(address) === "ipv6" ? "udp6" : "udp4";
  const socket = dgram.createSocket({
    type: family,
    ipv6Only: family === "udp6",
    // No recvBufferSize: in Deno 2.9 it makes every read allocate a buffer of that size (a
    // round trip drops from ~19,000/s to ~500/s).
  });
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      try {
        socket.close();
      } catch {
        // not bound
      }
      reject(e);
    };
    socket.once("error", onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off("error", onError);
      socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
        // A plain view, not the Buffer: Buffer's slice() shares memory instead of copying,
        // and messages handed to the application must be plain Uint8Arrays.
        onMessage(
          new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
          rinfo.address,
          rinfo.port,
        );
      });
      socket.on("error", () => {});
      resolve(new NodeUdpSocket(socket));
    });
  });
}
