/**
 * A seeded UDP relay for fault injection: it sits between a client and a server on loopback
 * and drops, duplicates and reorders (delays) datagrams in both directions, reproducibly for
 * one seed. The client sends to the relay's port; the relay forwards from one socket of its
 * own to the server, and the server's answers (sent back to that socket, RFC 6951) go to the
 * client.
 *
 * @module
 */

import dgram from "node:dgram";
import { SeededRandom } from "./random.ts";

/** Fault rates of a {@linkcode LossyRelay}, each a probability per datagram. */
export interface LossyRelayOptions {
  /** Address and UDP port of the server. */
  target: { hostname: string; port: number };
  /** Seed of the random choices. */
  seed: number;
  /** Probability that a datagram is dropped (default 0.1). */
  loss?: number;
  /** Probability that a datagram is sent twice (default 0.02). */
  duplicate?: number;
  /** Probability that a datagram is held back and sent after later ones (default 0.05). */
  reorder?: number;
  /** Longest hold of a reordered datagram in milliseconds (default 5). */
  maxDelay?: number;
}

/** Counters of a relay. */
export interface LossyRelayStats {
  /** Datagrams received from either side. */
  received: number;
  /** Datagrams dropped. */
  dropped: number;
  /** Extra copies sent. */
  duplicated: number;
  /** Datagrams held back. */
  reordered: number;
}

/** A running relay; `port` is where the client sends. */
export interface LossyRelay extends AsyncDisposable {
  /** The relay's client-facing UDP port on 127.0.0.1. */
  readonly port: number;
  /** Counters. */
  readonly stats: LossyRelayStats;
  /** Stops faults (everything passes) when false. */
  faults: boolean;
  /** Drops everything, both ways, while true. */
  blackhole: boolean;
  /** Closes both sockets and cancels held datagrams. */
  close(): Promise<void>;
}

function bind(port = 0): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

/**
 * Starts a relay in front of `options.target`.
 *
 * @example
 * ```ts ignore
 * await using relay = await startLossyRelay({ target: { hostname: "127.0.0.1", port: 5000 }, seed: 1 });
 * // connect to port 5000 through UDP port relay.port
 * ```
 */
export async function startLossyRelay(options: LossyRelayOptions): Promise<LossyRelay> {
  const random = new SeededRandom(options.seed);
  const loss = options.loss ?? 0.1;
  const duplicate = options.duplicate ?? 0.02;
  const reorder = options.reorder ?? 0.05;
  const maxDelay = options.maxDelay ?? 5;
  const front = await bind();
  const back = await bind();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const stats: LossyRelayStats = { received: 0, dropped: 0, duplicated: 0, reordered: 0 };
  let client: { address: string; port: number } | undefined;
  let closed = false;
  const relay: LossyRelay = {
    port: front.address().port,
    stats,
    faults: true,
    blackhole: false,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([
        new Promise<void>((r) => front.close(() => r())),
        new Promise<void>((r) => back.close(() => r())),
      ]);
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
  const forward = (socket: dgram.Socket, msg: Uint8Array, address: string, port: number) => {
    if (closed) return;
    stats.received++;
    if (relay.blackhole) {
      stats.dropped++;
      return;
    }
    const send = () => {
      if (!closed) socket.send(msg, port, address);
    };
    if (!relay.faults) return send();
    if (random.next() < loss) {
      stats.dropped++;
      return;
    }
    const copies = random.next() < duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (random.next() < reorder) {
        stats.reordered++;
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, 1 + random.int(maxDelay));
        timers.add(t);
      } else {
        send();
      }
    }
  };
  front.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    forward(back, msg, options.target.hostname, options.target.port);
  });
  back.on("message", (msg: Uint8Array) => {
    if (client !== undefined) forward(front, msg, client.address, client.port);
  });
  front.on("error", () => {});
  back.on("error", () => {});
  return relay;
}
