// Two SCTP associations joined through a simulated network (transport/sctp/sim), for tests that
// assert protocol behaviour in virtual time.

import type { SctpAssociation } from "../../transport/sctp/association.ts";
import { ChunkType, decodeData, decodePacket, decodeSack } from "../../transport/sctp/chunks.ts";
import type { SctpTuning } from "../../transport/sctp/config.ts";
import { connectSctp, listenSctp, type SctpEndpoint } from "../../transport/sctp/endpoint.ts";
import { type SimLink, type SimLinkOptions, SimNetwork } from "../../transport/sctp/sim/mod.ts";
import { delay } from "../../transport/delay.ts";
import { SeededRandom } from "./random.ts";

/** Options of {@linkcode simPair}. */
export interface SimPairOptions extends SctpTuning {
  /** Seed of the network (loss) and of the endpoints' random sources. */
  seed?: number;
  /** How every link behaves (each path gets one link). */
  link?: SimLinkOptions;
  /** Number of paths: client 10.i.0.1 to server 10.i.0.2 (default 1). */
  paths?: number;
}

/** A client and a server association on a simulated network, established. */
export interface SimPair {
  net: SimNetwork;
  client: SctpAssociation;
  server: SctpAssociation;
  listener: SctpEndpoint;
  /** One link per path, the primary first. */
  links: SimLink[];
  clientAddresses: string[];
  serverAddresses: string[];
}

/** Sets up the network and the association (in virtual time). */
export async function simPair(options: SimPairOptions = {}): Promise<SimPair> {
  const { seed = 1, link = {}, paths = 1, ...tuning } = options;
  const net = new SimNetwork({ seed });
  const clientAddresses: string[] = [];
  const serverAddresses: string[] = [];
  const links: SimLink[] = [];
  for (let i = 0; i < paths; i++) {
    clientAddresses.push(`10.${i}.0.1`);
    serverAddresses.push(`10.${i}.0.2`);
    links.push(net.link(clientAddresses[i], serverAddresses[i], link));
  }
  const random = new SeededRandom(seed * 7919 + 1);
  const listener = await listenSctp({
    ...tuning,
    hostname: serverAddresses,
    port: 5000,
    stack: net.stack(),
    random: () => random.u32(),
    secret: new Uint8Array(32),
  });
  const accepted = listener.accept();
  const client = await net.settle(connectSctp({
    ...tuning,
    hostname: serverAddresses,
    port: 5000,
    localHostname: clientAddresses,
    localPort: 6000,
    stack: net.stack(),
    random: () => random.u32(),
  }));
  const server = (await net.settle(accepted)) as SctpAssociation;
  return { net, client, server, listener, links, clientAddresses, serverAddresses };
}

/** One DATA chunk seen on the wire. */
export interface DataSend {
  time: number;
  /** TSN relative to the first one seen. */
  rel: number;
  /** 1 for the first transmission. */
  transmission: number;
  from: string;
  to: string;
  /** Whether the tap dropped its packet. */
  dropped: boolean;
}

/** One SACK seen on the wire. */
export interface SackSend {
  time: number;
  from: string;
  to: string;
  cumRel: number;
  gaps: number;
  /** Whether DATA was bundled with it. */
  withData: boolean;
}

/**
 * Watches the DATA chunks sent from `senders` and the SACKs sent back, and drops chosen
 * transmissions of chosen TSNs (the whole packet that carries them).
 */
export class WireTap {
  base: number | undefined;
  readonly data: DataSend[] = [];
  readonly sacks: SackSend[] = [];
  #count = new Map<number, number>();
  #drops = new Set<string>();
  #rules: ((d: DataSend) => boolean)[] = [];

  constructor(net: SimNetwork, senders: readonly string[]) {
    net.filter((p) => {
      const packet = decodePacket(p.bytes);
      if (packet === undefined) return;
      let drop = false;
      const fromSender = senders.includes(p.from);
      const seen: DataSend[] = [];
      let hasData = false;
      for (const c of packet.chunks) {
        if (c.type === ChunkType.Data) hasData = true;
        if (c.type !== ChunkType.Data || !fromSender) continue;
        const d = decodeData(c);
        if (d === undefined) continue;
        this.base ??= d.tsn;
        const rel = (d.tsn - this.base) >>> 0;
        const n = (this.#count.get(rel) ?? 0) + 1;
        this.#count.set(rel, n);
        const send: DataSend = {
          time: p.time,
          rel,
          transmission: n,
          from: p.from,
          to: p.to,
          dropped: false,
        };
        seen.push(send);
        if (this.#drops.has(`${rel}:${n}`) || this.#rules.some((r) => r(send))) drop = true;
      }
      for (const s of seen) {
        s.dropped = drop;
        this.data.push(s);
      }
      if (!fromSender) {
        for (const c of packet.chunks) {
          if (c.type !== ChunkType.Sack) continue;
          const sack = decodeSack(c.value);
          if (sack === undefined) continue;
          this.sacks.push({
            time: p.time,
            from: p.from,
            to: p.to,
            cumRel: this.base === undefined ? -1 : (sack.cumulativeTsn - this.base) | 0,
            gaps: sack.gaps.length,
            withData: hasData,
          });
        }
      }
      if (drop) return false;
    });
  }

  /** Drops the packet carrying transmission `transmission` (1: the first) of TSN `rel`. */
  drop(rel: number, transmission = 1): void {
    this.#drops.add(`${rel}:${transmission}`);
  }

  /** Drops every packet with a DATA chunk that `rule` picks. */
  dropWhen(rule: (d: DataSend) => boolean): void {
    this.#rules.push(rule);
  }

  /** How many times TSN `rel` was sent. */
  transmissions(rel: number): number {
    return this.#count.get(rel) ?? 0;
  }
}

/** Queues `count` messages of `size` bytes (waiting when the send buffer is full). */
export function sendMessages(a: SctpAssociation, count: number, size: number, start = 0): void {
  const options = { transfer: true };
  (async () => {
    for (let i = 0; i < count; i++) {
      const data = new Uint8Array(size);
      const id = start + i;
      data[0] = id >>> 24;
      data[1] = id >>> 16;
      data[2] = id >>> 8;
      data[3] = id;
      await a.send(data, options);
    }
  })().catch(() => {});
}

/** Reads every message of `a` and counts them; `paused()` true stops reading for a while. */
export function countMessages(
  net: SimNetwork,
  a: SctpAssociation,
  paused: () => boolean = () => false,
): { count: number; outOfOrder: number } {
  const state = { count: 0, outOfOrder: 0 };
  (async () => {
    for (;;) {
      while (paused()) await delay(1, { timers: net.clock });
      const m = await a.receive();
      if (m === null) return;
      const d = m.data;
      const id = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
      if (id !== state.count) state.outOfOrder++;
      state.count++;
    }
  })();
  return state;
}

/** Calls `sample` every `interval` ms of virtual time until the returned stopper is called. */
export function every(net: SimNetwork, interval: number, sample: () => void): () => void {
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    sample();
    net.clock.setTimeout(tick, interval);
  };
  net.clock.setTimeout(tick, interval);
  return () => stopped = true;
}
