/**
 * Registrar hunt (RFC 5352, section 3.2), shared by pool elements and pool users: the
 * candidates are the static list and the registrars heard in SERVER_ANNOUNCEs; several are
 * tried at once and the first association to come up wins (as RSPLIB does); a round in which
 * none answers is followed by a pause that doubles up to a maximum (T5-Serverhunt), cut short
 * when a new registrar is announced.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { decodeAsapMessage } from "./codec.ts";
import { ASAP_PPID, connectEndpoint } from "./connect.ts";
import { PoolError } from "./errors.ts";
import { delay } from "../transport/delay.ts";
import { type EndpointAddress, formatEndpointAddress } from "../transport/open.ts";
import { type MulticastOptions, MulticastReceiver } from "../transport/multicast.ts";
import type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
import type { SctpEndpoint } from "../transport/sctp/endpoint.ts";
import type { Association } from "../transport/types.ts";

const logger = getLogger(["rserpool", "asap", "hunt"]);

/**
 * How a registrar hunt paces itself (RFC 5352, section 3.2). Times in milliseconds.
 *
 * @example A hunt that retries quickly, for tests
 * ```ts
 * import type { HuntTuning } from "@rserpool/rserpool";
 * const fast: HuntTuning = { huntInterval: 500, maxHuntInterval: 2000, connectTimeout: 1000 };
 * ```
 */
export interface HuntTuning {
  /** How long an announced registrar stays a candidate after its last announce (default 5000). */
  announceLifetime?: number;
  /** Most registrars tried at once (default 3, as RSPLIB). */
  maxParallel?: number;
  /** Bound of one connect attempt (default 7500, as RSPLIB). */
  connectTimeout?: number;
  /** First pause after a round in which no registrar answered (T5-Serverhunt, default 10000). */
  huntInterval?: number;
  /** Largest pause, reached by doubling (RETRAN-MAX, default 60000). */
  maxHuntInterval?: number;
}

/**
 * Options of a {@linkcode RegistrarHunt}. Times in milliseconds.
 *
 * @example Static registrars plus announcements on loopback
 * ```ts
 * import type { RegistrarHuntOptions } from "@rserpool/rserpool/asap";
 * const options: RegistrarHuntOptions = {
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 *   announce: { group: "239.0.0.50", port: 3863, interfaceAddress: "127.0.0.1" },
 * };
 * ```
 */
export interface RegistrarHuntOptions extends SctpUdpPorts, HuntTuning {
  /** Registrars to try (default none: then `announce` must find one). */
  registrars?: EndpointAddress[];
  /**
   * Listen for SERVER_ANNOUNCE on this multicast group (RSPLIB: 239.0.0.50:3863). Announced
   * registrars are tried before the static ones. Default: no listening.
   */
  announce?: MulticastOptions;
  /**
   * Rounds after which {@linkcode RegistrarHunt.hunt} gives up and rejects with
   * {@linkcode PoolError} `no-registrar` naming each registrar's failure (default: hunt on
   * forever, as a pool element does; a pool user gives up after one round).
   */
  maxRounds?: number;
  /** SCTP protocol parameters of the ASAP associations. */
  sctp?: SctpTuning;
  /** Open SCTP associations from this endpoint (a PE's ASAP endpoint). */
  sctpEndpoint?: SctpEndpoint;
  /** Clock in ms (default `Date.now`). */
  clock?: () => number;
}

/**
 * A registrar to try.
 *
 * @example
 * ```ts
 * import type { RegistrarCandidate } from "@rserpool/rserpool/asap";
 * const c: RegistrarCandidate = {
 *   address: { protocol: "sctp", hostname: "127.0.0.1", port: 3863 },
 *   serverId: 0x1234,
 * };
 * ```
 */
export interface RegistrarCandidate {
  /** Where to connect. */
  address: EndpointAddress;
  /** The registrar's server ID when it was announced. */
  serverId?: number;
}

/**
 * An ASAP association to a registrar, as a hunt found it.
 *
 * @example
 * ```ts
 * import type { RegistrarConnection } from "@rserpool/rserpool/asap";
 * const describe = (c: RegistrarConnection) => `${c.address.hostname}:${c.address.port}`;
 * ```
 */
export interface RegistrarConnection {
  /** The association (TCP with framing "rserpool" and PPID 11, or SCTP). */
  association: Association;
  /** The address it was opened to. */
  address: EndpointAddress;
  /** The registrar's server ID when it was announced. */
  serverId?: number;
}

interface Announced {
  serverId: number;
  addresses: EndpointAddress[];
  heardAt: number;
}

function sameAddress(a: EndpointAddress, b: EndpointAddress): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/**
 * Finds a registrar: keeps the candidates (static and announced) and opens an ASAP
 * association to one of them.
 *
 * @example
 * ```ts ignore
 * import { RegistrarHunt } from "@rserpool/rserpool/asap";
 * const hunt = new RegistrarHunt({
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 * });
 * const { association } = await hunt.hunt();
 * association.abort();
 * hunt.close();
 * ```
 */
export class RegistrarHunt {
  #static: EndpointAddress[];
  #announced = new Map<number, Announced>();
  #options: Required<
    Pick<
      RegistrarHuntOptions,
      "announceLifetime" | "maxParallel" | "connectTimeout" | "huntInterval" | "maxHuntInterval"
    >
  >;
  #maxRounds: number;
  #lastFailure: string | undefined;
  #sctp: SctpTuning | undefined;
  #udpPorts: SctpUdpPorts;
  #sctpEndpoint: SctpEndpoint | undefined;
  #clock: () => number;
  #receiver: Promise<MulticastReceiver | undefined> | undefined;
  #wakers = new Set<() => void>();
  #rotation = 0;
  #closed = false;
  #controller = new AbortController();

  /** Creates a hunt; starts listening for announcements when `announce` is given. */
  constructor(options: RegistrarHuntOptions) {
    this.#static = [...(options.registrars ?? [])];
    this.#options = {
      announceLifetime: options.announceLifetime ?? 5000,
      maxParallel: Math.max(1, options.maxParallel ?? 3),
      connectTimeout: options.connectTimeout ?? 7500,
      huntInterval: options.huntInterval ?? 10_000,
      maxHuntInterval: options.maxHuntInterval ?? 60_000,
    };
    this.#maxRounds = options.maxRounds ?? Infinity;
    this.#sctp = options.sctp;
    this.#udpPorts = { udpPort: options.udpPort, remoteUdpPort: options.remoteUdpPort };
    this.#sctpEndpoint = options.sctpEndpoint;
    this.#clock = options.clock ?? Date.now;
    if (options.announce !== undefined) {
      this.#receiver = MulticastReceiver.open(
        options.announce,
        (data, from) => this.#onAnnounce(data, from),
      ).then((r) => {
        if (this.#closed) {
          r.close();
          return undefined;
        }
        return r;
      }, (e) => {
        logger.warn("Could not listen for SERVER_ANNOUNCE: {error}", { error: String(e) });
        return undefined;
      });
    }
  }

  /**
   * What went wrong in the last round in which no registrar answered (each candidate and its
   * error), or `undefined` before any such round.
   */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  /** Resolves once the announcement receiver is set up (or failed to be). */
  async ready(): Promise<void> {
    await this.#receiver;
  }

  /** The candidates in the order a hunt tries them: announced (newest first), then static. */
  get candidates(): RegistrarCandidate[] {
    const now = this.#clock();
    const out: RegistrarCandidate[] = [];
    const announced = [...this.#announced.values()].sort((a, b) => b.heardAt - a.heardAt);
    for (const a of announced) {
      if (now - a.heardAt > this.#options.announceLifetime) {
        this.#announced.delete(a.serverId);
        continue;
      }
      for (const address of a.addresses) {
        if (!out.some((c) => sameAddress(c.address, address))) {
          out.push({ address, serverId: a.serverId });
        }
      }
    }
    for (const address of this.#static) {
      if (!out.some((c) => sameAddress(c.address, address))) out.push({ address });
    }
    return out;
  }

  #onAnnounce(data: Uint8Array, from: string): void {
    let message;
    try {
      message = decodeAsapMessage(data);
    } catch {
      return;
    }
    if (message.type !== "server-announce") return;
    const addresses: EndpointAddress[] = [];
    if (message.transports.length === 0) {
      addresses.push({ protocol: "sctp", hostname: from, port: 3863 });
    }
    for (const t of message.transports) {
      if (t.protocol !== "sctp" && t.protocol !== "tcp") continue;
      for (const a of t.addresses.length === 0 ? [from] : t.addresses) {
        addresses.push({ protocol: t.protocol, hostname: isWildcard(a) ? from : a, port: t.port });
        if (t.protocol === "tcp") break; // TCP carries one address
      }
    }
    if (addresses.length === 0) return;
    const isNew = !this.#announced.has(message.serverId);
    this.#announced.set(message.serverId, {
      serverId: message.serverId,
      addresses,
      heardAt: this.#clock(),
    });
    if (isNew) {
      logger.debug("Registrar {id} announced at {addresses}", {
        id: message.serverId.toString(16),
        addresses: addresses.map(formatEndpointAddress),
      });
      for (const wake of [...this.#wakers]) wake();
    }
  }

  /**
   * Hunts until an association to a registrar is up: rounds of up to `maxParallel` candidates
   * at once, the first to connect wins and the others are cancelled. Rejects with
   * {@linkcode PoolError} `closed` when the hunt is closed or `signal` aborts.
   */
  async hunt(signal?: AbortSignal): Promise<RegistrarConnection> {
    await this.#receiver;
    let pause = this.#options.huntInterval;
    for (let rounds = 1;; rounds++) {
      this.#check(signal);
      const all = this.candidates;
      if (all.length > 0) {
        const n = Math.min(this.#options.maxParallel, all.length);
        const start = this.#rotation % all.length;
        const round: RegistrarCandidate[] = [];
        for (let i = 0; i < n; i++) round.push(all[(start + i) % all.length]);
        this.#rotation = start + n;
        const failures: string[] = [];
        const won = await this.#round(round, signal, failures);
        if (won !== undefined) return won;
        this.#check(signal);
        this.#lastFailure = failures.join("; ");
        if (rounds >= this.#maxRounds) {
          throw new PoolError("no-registrar", `No registrar reachable: ${this.#lastFailure}`);
        }
      } else {
        this.#lastFailure = "no registrar known yet (none given, none announced)";
      }
      this.#check(signal);
      // The first failed round of a hunt is worth a warning: a PE or PU waiting for a registrar
      // that is not there otherwise says nothing at all.
      const properties = { failure: this.#lastFailure, pause };
      const message = "No registrar answered ({failure}); trying again in {pause} ms";
      if (rounds === 1) logger.warn(message, properties);
      else logger.debug(message, properties);
      await this.#sleep(pause, signal);
      pause = Math.min(pause * 2, this.#options.maxHuntInterval);
    }
  }

  #check(signal: AbortSignal | undefined): void {
    if (this.#closed || signal?.aborted) throw new PoolError("closed", "Registrar hunt stopped");
  }

  async #round(
    round: RegistrarCandidate[],
    signal: AbortSignal | undefined,
    failures: string[],
  ): Promise<RegistrarConnection | undefined> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal?.addEventListener("abort", stop, { once: true });
    this.#controller.signal.addEventListener("abort", stop, { once: true });
    let winner: RegistrarConnection | undefined;
    try {
      await Promise.all(round.map(async (candidate) => {
        let association: Association;
        try {
          association = await connectEndpoint(candidate.address, {
            framing: "rserpool",
            ppid: ASAP_PPID,
            timeout: this.#options.connectTimeout,
            signal: controller.signal,
            sctp: this.#sctp,
            ...this.#udpPorts,
            sctpEndpoint: this.#sctpEndpoint,
          });
        } catch (e) {
          if (!controller.signal.aborted) {
            const error = e instanceof Error ? e.message : String(e);
            failures.push(`${formatEndpointAddress(candidate.address)}: ${error}`);
            logger.debug("Registrar {address} did not answer: {error}", {
              address: formatEndpointAddress(candidate.address),
              error,
            });
          }
          return;
        }
        if (winner !== undefined || controller.signal.aborted) {
          association.abort("Another registrar answered first");
          return;
        }
        winner = { association, address: candidate.address, serverId: candidate.serverId };
        controller.abort();
      }));
    } finally {
      signal?.removeEventListener("abort", stop);
      this.#controller.signal.removeEventListener("abort", stop);
    }
    if (winner !== undefined && (this.#closed || signal?.aborted)) {
      winner.association.abort("Registrar hunt stopped");
      return undefined;
    }
    return winner;
  }

  /** Waits `ms`, or less when `signal` aborts or an announcement wakes the hunt. */
  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const woken = new AbortController();
    const wake = (): void => woken.abort();
    this.#wakers.add(wake);
    signal?.addEventListener("abort", wake, { once: true });
    if (signal?.aborted) wake();
    return delay(ms, { signal: woken.signal }).finally(() => {
      this.#wakers.delete(wake);
      signal?.removeEventListener("abort", wake);
    });
  }

  /** Stops listening for announcements and ends every hunt in progress. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.abort();
    for (const wake of [...this.#wakers]) wake();
    (await this.#receiver)?.close();
  }
}
