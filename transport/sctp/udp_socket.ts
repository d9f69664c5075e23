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
import { udpReceiveDropsSync } from "./udp_drops.ts";

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
  /** Times the socket was bound anew because its receive had stalled (see `DenoUdpSocket`). */
  readonly rebinds: number;
  /** Sends a datagram; `onSent` runs once the socket is done with it (sent or failed). */
  send(packet: Uint8Array, port: number, address: string, onSent: () => void): void;
  /**
   * Closes the socket; the promise, if any, resolves once it is closed (its port free again
   * and no operation of it pending).
   */
  close(): void | Promise<void>;
}

/** The parts of `Deno.DatagramConn` used here (its types need `--unstable-net`). */
export interface DenoDatagramConn {
  receive(p?: Uint8Array): Promise<[Uint8Array, { hostname: string; port: number }]>;
  send(p: Uint8Array, addr: { transport: "udp"; hostname: string; port: number }): Promise<number>;
  close(): void;
  readonly addr: { port: number };
}

/** `Deno.listenDatagram` for UDP, or a stand-in with its shape. */
export type ListenDatagram = (options: {
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

/** How often (ms) a socket whose receive waits checks whether the kernel drops its datagrams. */
export const RECEIVE_STALL_CHECK_INTERVAL = 1000;

/**
 * Options of {@linkcode DenoUdpSocket}.
 *
 * @example
 * ```ts
 * import type { DenoUdpSocketOptions } from "./udp_socket.ts";
 * const options: DenoUdpSocketOptions = { drops: () => undefined };
 * ```
 */
export interface DenoUdpSocketOptions {
  /** Datagrams dropped so far at a port (default: `udpReceiveDropsSync`, `/proc` on Linux). */
  drops?: (port: number) => number | undefined;
}

/**
 * A UDP socket over `Deno.listenDatagram`, with a watchdog for a stalled receive.
 *
 * Seen with Deno 2.9 under overload (a registrar with 20,000 SCTP PEs, its CPU shared with busy
 * loops): a receive stayed pending for 37 s while the socket's receive queue was full and the
 * kernel dropped every datagram that arrived, long enough for every association on it to fail.
 * The cause is not known (one guess: a full queue that nobody reads gives the event loop no new
 * readiness). So, once a receive has waited a whole second with no datagram, the socket reads
 * the kernel's drop count for its port every second; when it grew while still no datagram came
 * in, the socket is bound anew on the same address and port (its queue of stale datagrams is
 * lost; SCTP retransmits what matters). Where the count cannot be read (not Linux), there is no
 * watchdog.
 *
 * @example
 * ```ts ignore
 * import { DenoUdpSocket } from "./udp_socket.ts";
 * const listen = (Deno as any).listenDatagram;
 * const socket = new DenoUdpSocket(listen, "127.0.0.1", 0, (bytes) => console.log(bytes));
 * socket.close();
 * ```
 */
export class DenoUdpSocket implements UdpSocket {
  /** The API underneath. */
  readonly api = "deno" as const;
  /** The bound port. */
  readonly port: number;
  #rebinds = 0;
  #listen: ListenDatagram;
  #address: string;
  #onMessage: DatagramHandler;
  #drops: (port: number) => number | undefined;
  #conn: DenoDatagramConn;
  #closed = false;
  #to = { transport: "udp" as const, hostname: "", port: 0 };
  /** Ends once the pending receive has failed after close(). */
  #receiving: Promise<void>;
  /** True while a receive is pending. */
  #waiting = false;
  /** Datagrams received so far, and at the watchdog's last look. */
  #received = 0;
  #receivedBefore = 0;
  /** The drop count at the watchdog's last reading, while no datagram has come in since. */
  #dropsBefore: number | undefined;
  #watchdog: ReturnType<typeof setInterval>;
  /** Between closing a stalled socket and binding its port again. */
  #reopening = false;
  #reopenTimer: ReturnType<typeof setTimeout> | undefined;

  /** Binds `address`:`port` (0 for a free port) and hands every datagram to `onMessage`. */
  constructor(
    listen: ListenDatagram,
    address: string,
    port: number,
    onMessage: DatagramHandler,
    options: DenoUdpSocketOptions = {},
  ) {
    this.#listen = listen;
    this.#address = address;
    this.#onMessage = onMessage;
    this.#drops = options.drops ?? ((p) => udpReceiveDropsSync([p]));
    this.#conn = listen({ transport: "udp", hostname: address, port });
    this.port = this.#conn.addr.port;
    this.#receiving = this.#receiveLoop(this.#conn);
    this.#watchdog = setInterval(() => {
      try {
        this.#checkStall();
      } catch {
        // A watchdog never takes the socket down.
      }
    }, RECEIVE_STALL_CHECK_INTERVAL);
  }

  /** Times the socket was bound anew because its receive had stalled. */
  get rebinds(): number {
    return this.#rebinds;
  }

  #checkStall(): void {
    if (
      this.#closed || this.#reopening || !this.#waiting || this.#received !== this.#receivedBefore
    ) {
      // A datagram came in since the last look (or none is awaited): nothing stalls.
      this.#receivedBefore = this.#received;
      this.#dropsBefore = undefined;
      return;
    }
    // No datagram for a whole interval. Read synchronously: a stalled socket has been seen
    // beside file reads that stalled too.
    const drops = this.#drops(this.port);
    if (drops === undefined) return;
    const before = this.#dropsBefore;
    this.#dropsBefore = drops;
    if (before !== undefined && drops > before) this.#rebind();
  }

  /**
   * Closes the stalled socket (its receive fails and its loop ends) and binds the same address
   * and port again once the runtime has let go of it: the port stays in use until the
   * cancelled receive is dropped, a turn of the event loop later.
   */
  #rebind(): void {
    this.#rebinds++;
    this.#dropsBefore = undefined;
    this.#waiting = false;
    this.#reopening = true;
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    this.#reopen(0);
  }

  #reopen(attempt: number): void {
    if (this.#closed) return;
    try {
      this.#conn = this.#listen({ transport: "udp", hostname: this.#address, port: this.port });
    } catch {
      // Still held (or taken): again soon, then once a second, until closed.
      const delay = attempt < 100 ? 10 : 1000;
      this.#reopenTimer = setTimeout(() => this.#reopen(attempt + 1), delay);
      return;
    }
    this.#reopening = false;
    this.#receiving = this.#receiveLoop(this.#conn);
  }

  async #receiveLoop(conn: DenoDatagramConn): Promise<void> {
    const onMessage = this.#onMessage;
    // One buffer for every datagram: the handler copies what it keeps.
    const buffer = new Uint8Array(65536);
    let turn = 0;
    let lastHostname = "";
    while (!this.#closed && conn === this.#conn) {
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
        this.#waiting = true;
        [bytes, from] = await conn.receive(buffer);
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        continue; // an error of one datagram
      } finally {
        if (conn === this.#conn) this.#waiting = false;
      }
      this.#received++;
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

  /** Sends a datagram; `onSent` runs once the socket is done with it (sent or failed). */
  send(packet: Uint8Array, port: number, address: string, onSent: () => void): void {
    let to = this.#to;
    if (to.port !== port || to.hostname !== address) {
      to = { transport: "udp", hostname: address, port };
      this.#to = to;
    }
    this.#conn.send(packet, to).then(onSent, onSent);
  }

  /** Closes the socket; resolves once its pending receive has ended. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearInterval(this.#watchdog);
      clearTimeout(this.#reopenTimer);
      if (!this.#reopening) this.#conn.close();
    }
    return this.#receiving;
  }
}

class NodeUdpSocket implements UdpSocket {
  readonly api = "node" as const;
  readonly rebinds = 0;
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
