/**
 * A simulated IP network for SCTP over UDP: hosts are addresses, links join two addresses with
 * a delay, a bandwidth, a drop-tail queue and seeded loss, duplication and reordering, and
 * everything runs on a {@linkcode VirtualClock}. An {@linkcode SctpStack} made by
 * {@linkcode SimNetwork.stack} binds simulated UDP sockets, so that endpoints and associations
 * run unchanged, without real sockets and in virtual time: a transfer of seconds takes
 * milliseconds, and the same seed gives the same run.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { TransportError } from "../../errors.ts";
import { SctpStack } from "../stack.ts";
import type { DatagramHandler, UdpSocket, UdpSocketApi } from "../udp_socket.ts";
import { VirtualClock } from "./virtual_clock.ts";

/**
 * How a link treats packets, each direction alike (the options of {@linkcode SimNetwork.link}).
 *
 * @example A lossy, long, narrow link
 * ```ts
 * import type { SimLinkOptions } from "./network.ts";
 * const wan: SimLinkOptions = { delay: 20, bandwidth: 10e6, loss: 0.01, queueBytes: 64_000 };
 * ```
 */
export interface SimLinkOptions {
  /** One-way propagation delay in milliseconds (default 1). */
  delay?: number;
  /** Bits per second; packets are serialized one after another (default `Infinity`). */
  bandwidth?: number;
  /** Bytes waiting for the wire beyond which packets are dropped (default `Infinity`). */
  queueBytes?: number;
  /** Bytes a packet costs on the wire beyond its UDP payload (default 28: IPv4 and UDP). */
  overhead?: number;
  /** Probability that a packet is lost (default 0). */
  loss?: number;
  /** Probability that a packet arrives twice (default 0). */
  duplicate?: number;
  /** Probability that a packet is held back by `reorderDelay` (default 0). */
  reorder?: number;
  /** Extra delay of a reordered packet in milliseconds (default: the delay, at least 1). */
  reorderDelay?: number;
  /** Whether the link carries packets (default true). */
  up?: boolean;
}

/** Counters of one direction of a link. */
export interface SimLinkStats {
  /** Packets handed to the link. */
  sent: number;
  /** Bytes (UDP payload) handed to the link. */
  bytes: number;
  /** Packets delivered (duplicates included). */
  delivered: number;
  /** Packets lost at random. */
  lost: number;
  /** Packets dropped by a full queue, a link that is down or a filter. */
  dropped: number;
  /** Packets duplicated. */
  duplicated: number;
  /** Packets reordered. */
  reordered: number;
}

/**
 * A packet on its way, as a {@linkcode SimPacketFilter} sees it.
 *
 * @example
 * ```ts
 * import type { SimPacket } from "./network.ts";
 * const describe = (p: SimPacket) => `${p.from} -> ${p.to}: ${p.bytes.length} bytes`;
 * ```
 */
export interface SimPacket {
  /** Virtual time it was sent. */
  time: number;
  /** Source address. */
  from: string;
  /** Source UDP port. */
  fromPort: number;
  /** Destination address. */
  to: string;
  /** Destination UDP port. */
  toPort: number;
  /** The UDP payload (do not change it). */
  bytes: Uint8Array;
}

/** Sees every packet handed to a link; returning `false` drops it. */
export type SimPacketFilter = (packet: SimPacket) => boolean | void;

interface Direction {
  stats: SimLinkStats;
  /** When the wire is free for the next packet. */
  freeAt: number;
}

/**
 * A link between two addresses.
 *
 * @example
 * ```ts
 * import { SimNetwork } from "./network.ts";
 * const net = new SimNetwork({ seed: 1 });
 * const link = net.link("10.0.0.1", "10.0.0.2", { delay: 5 });
 * link.configure({ up: false }); // a cable pulled
 * ```
 */
export class SimLink {
  /** One end. */
  readonly a: string;
  /** The other end. */
  readonly b: string;
  #options: Required<SimLinkOptions>;
  #ab: Direction = { stats: emptyStats(), freeAt: 0 };
  #ba: Direction = { stats: emptyStats(), freeAt: 0 };

  /** @internal Use {@linkcode SimNetwork.link}. */
  constructor(a: string, b: string, options: SimLinkOptions) {
    this.a = a;
    this.b = b;
    this.#options = {
      delay: 1,
      bandwidth: Infinity,
      queueBytes: Infinity,
      overhead: 28,
      loss: 0,
      duplicate: 0,
      reorder: 0,
      reorderDelay: Math.max(1, options.delay ?? 1),
      up: true,
    };
    this.configure(options);
  }

  /** The link's behaviour now. */
  get options(): Readonly<Required<SimLinkOptions>> {
    return this.#options;
  }

  /** Changes how the link behaves from now on (packets on their way are not affected). */
  configure(options: SimLinkOptions): void {
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined) (this.#options as Record<string, unknown>)[key] = value;
    }
  }

  /** Counters of the direction from `from` (one of the ends). */
  stats(from: string): SimLinkStats {
    return this.#direction(from).stats;
  }

  /** @internal */
  direction(from: string): Direction {
    return this.#direction(from);
  }

  #direction(from: string): Direction {
    if (from === this.a) return this.#ab;
    if (from === this.b) return this.#ba;
    throw new TransportError("invalid", `Address ${from} is not an end of this link`);
  }
}

/**
 * Options of {@linkcode SimNetwork}.
 *
 * @example
 * ```ts
 * import type { SimNetworkOptions } from "./network.ts";
 * const options: SimNetworkOptions = { seed: 42 };
 * ```
 */
export interface SimNetworkOptions {
  /** Seed of the random source of loss, duplication and reordering (default 1). */
  seed?: number;
  /** The clock (default: a new {@linkcode VirtualClock} at 0). */
  clock?: VirtualClock;
}

/**
 * A simulated network on a virtual clock.
 *
 * @example Two endpoints over a lossy link, in virtual time
 * ```ts ignore
 * import { SimNetwork } from "./network.ts";
 * import { connectSctp, listenSctp } from "../endpoint.ts";
 * const net = new SimNetwork({ seed: 7 });
 * net.link("10.0.0.1", "10.0.0.2", { delay: 10, loss: 0.05 });
 * const listener = await listenSctp({ hostname: "10.0.0.2", port: 7, stack: net.stack() });
 * const client = await net.settle(connectSctp({
 *   hostname: "10.0.0.2", port: 7, localHostname: "10.0.0.1", stack: net.stack(),
 * }));
 * const server = await net.settle(listener.accept());
 * ```
 */
export class SimNetwork {
  /** The virtual clock everything runs on. */
  readonly clock: VirtualClock;
  /** Packets sent to an address no link reaches, or to a port nobody bound. */
  unroutable = 0;
  #state: number;
  #links = new Map<string, SimLink>();
  #sockets = new Map<string, SimUdpSocket>();
  #filters: SimPacketFilter[] = [];
  #nextPort = 49152;
  #bind = (
    address: string,
    port: number,
    onMessage: DatagramHandler,
    _api?: UdpSocketApi,
  ): Promise<UdpSocket> => {
    try {
      return Promise.resolve(this.#bindNow(address, port, onMessage));
    } catch (e) {
      return Promise.reject(e);
    }
  };

  /** A network without links yet. */
  constructor(options: SimNetworkOptions = {}) {
    this.clock = options.clock ?? new VirtualClock();
    this.#state = (options.seed ?? 1) >>> 0;
  }

  /**
   * Joins two addresses with a link (both directions alike), or changes the link that joins
   * them.
   */
  link(a: string, b: string, options: SimLinkOptions = {}): SimLink {
    const key = linkKey(a, b);
    let link = this.#links.get(key);
    if (link === undefined) {
      link = new SimLink(a, b, options);
      this.#links.set(key, link);
    } else {
      link.configure(options);
    }
    return link;
  }

  /** A new SCTP stack (one per simulated host) whose UDP sockets are on this network. */
  stack(): SctpStack {
    return new SctpStack({ clock: this.clock, bindUdp: this.#bind });
  }

  /** Adds a filter that sees every packet sent; returns its remover. */
  filter(filter: SimPacketFilter): () => void {
    this.#filters.push(filter);
    return () => {
      const i = this.#filters.indexOf(filter);
      if (i >= 0) this.#filters.splice(i, 1);
    };
  }

  /** A random number in [0, 1) from the network's seeded source (mulberry32). */
  random(): number {
    return this.randomU32() / 0x100000000;
  }

  /** A random unsigned 32-bit integer from the network's seeded source. */
  randomU32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * Runs the network for `ms` milliseconds of virtual time. After each instant it lets the
   * runtime's pending promise callbacks run (one `setImmediate`), so that application code
   * awaiting sends and receives keeps up.
   */
  async run(ms: number): Promise<void> {
    const until = this.clock.now() + ms;
    await yieldToRuntime();
    while (await this.#advance(until));
  }

  /**
   * Runs the network until `done` returns true, or until `limit` milliseconds of virtual time
   * have passed (then throws `TransportError` `timeout`).
   */
  async runUntil(done: () => boolean, limit = 600_000): Promise<void> {
    const until = this.clock.now() + limit;
    await yieldToRuntime();
    while (!done()) {
      if (!(await this.#advance(until)) && !done()) {
        throw new TransportError(
          "timeout",
          `Condition not met within ${limit} ms of simulated time`,
        );
      }
    }
  }

  /**
   * Runs the work of the current instant, or else the next instant no later than `until`,
   * then lets the runtime's promise callbacks run. False when there was nothing to run.
   */
  async #advance(until: number): Promise<boolean> {
    if (this.clock.busy) {
      this.clock.runNow();
    } else if (this.clock.next > until) {
      // Promise callbacks of the application may still start something.
      await yieldToRuntime();
      if (this.clock.busy || this.clock.next <= until) return true;
      this.clock.step(until);
      return false;
    } else {
      this.clock.step(until);
    }
    await yieldToRuntime();
    return true;
  }

  /** Runs the network until `promise` settles (within `limit` ms of virtual time) and returns it. */
  async settle<T>(promise: Promise<T>, limit = 600_000): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => settled = true);
    // Observed here so that a rejection is not reported as unhandled while the network runs.
    watched.catch(() => {});
    await this.runUntil(() => settled, limit);
    return await watched;
  }

  #bindNow(address: string, port: number, onMessage: DatagramHandler): SimUdpSocket {
    if (port === 0) {
      do {
        port = this.#nextPort++;
      } while (this.#sockets.has(`${address}|${port}`));
    }
    const key = `${address}|${port}`;
    if (this.#sockets.has(key)) {
      throw new TransportError("local", `Address ${address} port ${port} already in use`);
    }
    const socket = new SimUdpSocket(this, address, port, onMessage, () => {
      if (this.#sockets.get(key) === socket) this.#sockets.delete(key);
    });
    this.#sockets.set(key, socket);
    return socket;
  }

  /** @internal A socket sends a datagram. */
  transmit(from: string, fromPort: number, bytes: Uint8Array, to: string, toPort: number): void {
    let source = from;
    let link: SimLink | undefined;
    if (from === "0.0.0.0" || from === "::") {
      for (const l of this.#links.values()) {
        if (l.a === to || l.b === to) {
          link = l;
          source = l.a === to ? l.b : l.a;
          break;
        }
      }
    } else {
      link = this.#links.get(linkKey(from, to));
    }
    if (link === undefined) {
      this.unroutable++;
      return;
    }
    const direction = link.direction(source);
    const stats = direction.stats;
    const o = link.options;
    const now = this.clock.now();
    stats.sent++;
    stats.bytes += bytes.length;
    if (!o.up) {
      stats.dropped++;
      return;
    }
    if (this.#filters.length > 0) {
      const packet: SimPacket = { time: now, from: source, fromPort, to, toPort, bytes };
      for (const f of this.#filters) {
        if (f(packet) === false) {
          stats.dropped++;
          return;
        }
      }
    }
    let departs = now;
    if (o.bandwidth !== Infinity) {
      const start = Math.max(now, direction.freeAt);
      if ((start - now) * o.bandwidth / 8000 + bytes.length > o.queueBytes) {
        stats.dropped++;
        return;
      }
      departs = start + (bytes.length + o.overhead) * 8000 / o.bandwidth;
      direction.freeAt = departs;
    }
    if (o.loss > 0 && this.random() < o.loss) {
      stats.lost++;
      return;
    }
    let arrives = departs + o.delay;
    if (o.reorder > 0 && this.random() < o.reorder) {
      stats.reordered++;
      arrives += o.reorderDelay;
    }
    const copies = o.duplicate > 0 && this.random() < o.duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.clock.setTimeout(() => {
        const socket = this.#sockets.get(`${to}|${toPort}`) ??
          this.#sockets.get(`${to.includes(":") ? "::" : "0.0.0.0"}|${toPort}`);
        if (socket === undefined) {
          this.unroutable++;
          return;
        }
        stats.delivered++;
        socket.deliver(bytes, source, fromPort);
      }, arrives - now);
    }
  }
}

class SimUdpSocket implements UdpSocket {
  readonly api = "deno" as const;
  readonly rebinds = 0;
  readonly port: number;
  #network: SimNetwork;
  #address: string;
  #onMessage: DatagramHandler;
  #onClose: () => void;
  #closed = false;

  constructor(
    network: SimNetwork,
    address: string,
    port: number,
    onMessage: DatagramHandler,
    onClose: () => void,
  ) {
    this.#network = network;
    this.#address = address;
    this.port = port;
    this.#onMessage = onMessage;
    this.#onClose = onClose;
  }

  send(packet: Uint8Array, port: number, address: string, onSent: () => void): void {
    if (!this.#closed) this.#network.transmit(this.#address, this.port, packet, address, port);
    // On the simulated network at once: a socket closing after its sends need not wait for
    // the virtual clock to run (nobody may step it any more).
    onSent();
  }

  deliver(bytes: Uint8Array, from: string, fromPort: number): void {
    if (!this.#closed) this.#onMessage(bytes, from, fromPort);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function emptyStats(): SimLinkStats {
  return { sent: 0, bytes: 0, delivered: 0, lost: 0, dropped: 0, duplicated: 0, reordered: 0 };
}

function yieldToRuntime(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
