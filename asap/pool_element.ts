/**
 * The pool element (RFC 5352, PE side): registers into a pool with a registrar it hunts for,
 * re-registers periodically and when its load changes, answers keep-alives, finds another
 * registrar when its registrar fails, deregisters when it closes, and accepts the PUs'
 * sessions.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { decodeAsapMessage, encodeAsapMessage } from "./codec.ts";
import type {
  AsapEndpointKeepAlive,
  AsapMessage,
  AsapRegistration,
  AsapRegistrationResponse,
} from "./messages.ts";
import { signRegistration } from "./registration_auth.ts";
import { ASAP_PPID } from "./connect.ts";
import { policyFromWire, type PolicySettings, policyToWire } from "./policy_settings.ts";
import { PoolError } from "./errors.ts";
import { samePoolHandle, toPoolHandle } from "./pool_handle.ts";
import { PoolElementSession } from "./pool_element_session.ts";
import { CookieLedger } from "./cookie_ledger.ts";
import { FAST_FAILOVER_SCTP, MULTI_HOMED_SCTP } from "./pool_user_session.ts";
import { RegistrarChannel } from "./registrar_channel.ts";
import { type HuntTuning, RegistrarHunt } from "./registrar_hunt.ts";
import { MAX_LOAD } from "../policy/types.ts";
import { Channel } from "../transport/channel.ts";
import { closeGracefully } from "../transport/close_gracefully.ts";
import { delay } from "../transport/delay.ts";
import type { MulticastOptions } from "../transport/multicast.ts";
import {
  type EndpointAddress,
  formatEndpointAddress,
  hostnamesOf,
  type MultiHomedAddress,
  openListener,
} from "../transport/open.ts";
import type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
import { SctpEndpoint } from "../transport/sctp/endpoint.ts";
import type { Association, AssociationListener } from "../transport/types.ts";
import { ErrorCause, errorCauseName } from "../wire/errors.ts";
import type { Policy, PoolElementParameter, TransportParameter } from "../wire/types.ts";

const logger = getLogger(["rserpool", "asap", "pe"]);

export type { HuntTuning };

/**
 * Options of {@linkcode PoolElement.start}. Times in milliseconds; defaults follow RSPLIB
 * where RFC 5352 leaves a choice.
 *
 * @example A least-used echo PE on TCP, registering with a registrar on loopback
 * ```ts
 * import type { PoolElementOptions } from "@rserpool/rserpool/asap";
 * const options: PoolElementOptions = {
 *   poolHandle: "EchoPool",
 *   policy: { name: "least-used", load: 0 },
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 *   listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
 *   cookieSecret: "shared by every PE of EchoPool",
 * };
 * ```
 */
export interface PoolElementOptions extends SctpUdpPorts {
  /** The pool to register into (a string is UTF-8). */
  poolHandle: string | Uint8Array;
  /**
   * Pool member selection policy with its data (default round robin); loads, degradations and
   * DPFs as fractions in [0, 1] (see {@linkcode PolicySettings}).
   */
  policy?: PolicySettings;
  /** Registrars to register with (tried in parallel; announced ones come first). */
  registrars?: EndpointAddress[];
  /** Also find registrars by SERVER_ANNOUNCE on this multicast group. */
  announce?: MulticastOptions;
  /**
   * Where PUs connect: SCTP over UDP, or TCP with framing `"framed"`. Port 0 picks a free port;
   * a wildcard address (0.0.0.0, ::) registers the address the registrar sees the PE at.
   *
   * Several addresses (a list of `hostname`s, the primary first) make a multi-homed PE: it
   * listens on all of them and, over SCTP, registers all of them, so that a PU's association
   * has a path over each and survives the loss of all but one; its registrar associations leave
   * from the same addresses. A TCP transport parameter carries one address (RFC 5354): over TCP
   * the PE listens on all and registers the first. Its PU associations use
   * {@linkcode FAST_FAILOVER_SCTP} with {@linkcode MULTI_HOMED_SCTP} unless `sctp` says
   * otherwise, so that it moves its answers to another path as soon as the PU does.
   */
  listen: MultiHomedAddress;
  /** PE identifier (default: random, not 0). */
  identifier?: number;
  /** Interval of re-registrations (T4, default 30000 as RSPLIB). */
  reregistrationInterval?: number;
  /** Registration life sent to the registrar (default 3 x interval + 3000, as RSPLIB). */
  registrationLife?: number;
  /** Time to wait for a REGISTRATION_RESPONSE (T2-registration, default 30000). */
  registrationTimeout?: number;
  /**
   * Registrations sent to one registrar without an answer before another registrar is hunted
   * for (MAX-REG-ATTEMPT, default 2).
   */
  maxRegistrationAttempts?: number;
  /** How long {@linkcode PoolElement.close} waits for the DEREGISTRATION_RESPONSE (default 5000). */
  deregistrationTimeout?: number;
  /** Registrar hunt tuning. */
  hunt?: HuntTuning;
  /** The pool's cookie secret, the same at every PE of the pool (needed for state cookies). */
  cookieSecret?: Uint8Array | string;
  /** Echoed cookies older than this (ms) are rejected (default 3,600,000: one hour). */
  cookieMaxAge?: number;
  /**
   * The pool's registration secret, when the registrars require one (`poolSecrets` of
   * `RegistrarOptions`): every REGISTRATION is signed with it.
   */
  registrationSecret?: Uint8Array | string;
  /** What a session does with a cookie that does not verify (default `"abort"`). */
  invalidCookie?: "abort" | "ignore";
  /** Default PPID of the sessions' application messages (default 0). */
  ppid?: number;
  /**
   * Called with every new session. Without it, sessions queue for
   * {@linkcode PoolElement.accept} and async iteration of the PE.
   */
  onSession?: (session: PoolElementSession) => void | Promise<void>;
  /**
   * Whether {@linkcode PoolElement.start} waits for the first registration (default true); it
   * rejects when the registration is rejected.
   */
  waitForRegistration?: boolean;
  /** Stops waiting for the first registration (the PE is closed and start rejects). */
  signal?: AbortSignal;
  /** SCTP protocol parameters (ASAP association and the listener). */
  sctp?: SctpTuning;
  /** Clock in ms for cookies and the hunt (default `Date.now`). */
  clock?: () => number;
}

/**
 * Something that happened to a {@linkcode PoolElement}.
 *
 * - `registered`: a registration (first or renewal) was accepted.
 * - `registration-rejected`: the registrar refused; `error.errorCause` says why. The PE tries
 *   again after the re-registration interval.
 * - `registrar-lost`: the ASAP association to the registrar ended; the PE hunts for one and
 *   registers again.
 * - `home-changed`: a keep-alive with the H flag made another registrar the PE's home.
 * - `deregistered`: {@linkcode PoolElement.close} deregistered the PE.
 *
 * @example
 * ```ts
 * import type { PoolElementEvent } from "@rserpool/rserpool/asap";
 * const describe = (e: PoolElementEvent) => e.type;
 * ```
 */
export type PoolElementEvent =
  | { type: "registered"; registrar: EndpointAddress | undefined; renewal: boolean }
  | { type: "registration-rejected"; error: PoolError }
  | { type: "registrar-lost"; reason: string }
  | { type: "home-changed"; serverId: number }
  | { type: "deregistered" };

/**
 * Counters of a pool element.
 *
 * @example
 * ```ts
 * import type { PoolElementStats } from "@rserpool/rserpool/asap";
 * const describe = (s: PoolElementStats) => `${s.registrations} registrations`;
 * ```
 */
export interface PoolElementStats {
  /** Registrations accepted. */
  registrations: number;
  /** Registrations rejected. */
  rejections: number;
  /** REGISTRATIONs sent. */
  registrationsSent: number;
  /** Keep-alives answered. */
  keepAlivesAnswered: number;
  /** Registrar associations lost. */
  registrarsLost: number;
  /** Sessions accepted. */
  sessions: number;
}

function randomIdentifier(): number {
  for (;;) {
    const id = crypto.getRandomValues(new Uint32Array(1))[0];
    if (id !== 0) return id;
  }
}

function hasLoad(policy: Policy): policy is Extract<Policy, { load: number }> {
  return "load" in policy;
}

/**
 * A pool element: registered into its pool while it runs, accepting the PUs' sessions.
 *
 * Registration: the PE hunts for a registrar (static list and SERVER_ANNOUNCE, several at
 * once), sends REGISTRATION and waits T2 for the answer, MAX-REG-ATTEMPT times, before it drops
 * that registrar and hunts again. Once registered it re-registers every
 * `reregistrationInterval`, and at once when {@linkcode PoolElement.setLoad} changes the load
 * by 1 % or more. It answers ENDPOINT_KEEP_ALIVE with ENDPOINT_KEEP_ALIVE_ACK (on whichever
 * association it came; the H flag records the sender as the home registrar). When the
 * registrar association ends it hunts and registers again.
 *
 * @example
 * ```ts ignore
 * import { PoolElement } from "@rserpool/rserpool/asap";
 * await using pe = await PoolElement.start({
 *   poolHandle: "EchoPool",
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 *   listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
 *   onSession: async (session) => {
 *     for await (const m of session) await session.send(m.data);
 *   },
 * });
 * console.log(pe.identifier.toString(16), pe.address);
 * ```
 */
export class PoolElement implements AsyncIterable<PoolElementSession>, AsyncDisposable {
  /** The PE identifier. */
  readonly identifier: number;
  /** The pool handle. */
  readonly poolHandle: Uint8Array;
  /** Counters. */
  readonly stats: PoolElementStats = {
    registrations: 0,
    rejections: 0,
    registrationsSent: 0,
    keepAlivesAnswered: 0,
    registrarsLost: 0,
    sessions: 0,
  };
  #options: PoolElementOptions;
  #interval: number;
  /** What this PE remembers of its sessions' cookies (replays are refused). */
  #cookieLedger = new CookieLedger();
  /** Consecutive Non-unique PE Identifier refusals. */
  #refusals = 0;
  #life: number;
  #t2: number;
  #attempts: number;
  #policy: Policy;
  #sentLoad: number | undefined;
  #dirty = false;
  #listener: AssociationListener;
  #asapEndpoint: SctpEndpoint | undefined;
  #userTransport: TransportParameter;
  #channel: RegistrarChannel;
  #home = 0;
  #registered = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #listeners = new Set<(e: PoolElementEvent) => void>();
  #done = Promise.withResolvers<void>();
  #sessions = new Set<PoolElementSession>();
  /** Sessions for `accept` (without `onSession`); closed when the PE closes. */
  #incoming = new Channel<PoolElementSession>();
  #tasks = new Set<Promise<void>>();
  #first: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #firstPromise: Promise<void>;

  private constructor(
    options: PoolElementOptions,
    listener: AssociationListener,
    asapEndpoint?: SctpEndpoint,
  ) {
    this.#options = options;
    this.poolHandle = toPoolHandle(options.poolHandle);
    this.identifier = options.identifier ?? randomIdentifier();
    this.#interval = options.reregistrationInterval ?? 30_000;
    this.#life = options.registrationLife ?? 3 * this.#interval + 3000;
    this.#t2 = options.registrationTimeout ?? 30_000;
    this.#attempts = Math.max(1, options.maxRegistrationAttempts ?? 2);
    this.#policy = policyToWire(options.policy ?? { name: "round-robin" });
    this.#listener = listener;
    const port = listener.addresses[0]?.port ?? options.listen.port;
    // A TCP transport parameter carries one address (RFC 5354): a TCP PE listens on all of its
    // addresses but registers the first.
    const addresses = options.listen.protocol === "sctp"
      ? listener.addresses.map((a) => a.hostname)
      : hostnamesOf(options.listen).slice(0, 1);
    // Data plus control: the sessions carry ASAP (COOKIE, COOKIE_ECHO, BUSINESS_CARD) beside the
    // application's messages, and RSPLIB's registrar refuses to mix "data only" PEs with its
    // own, which all say so.
    this.#userTransport = options.listen.protocol === "sctp"
      ? { protocol: "sctp", port, transportUse: "data-control", addresses }
      : { protocol: "tcp", port, transportUse: "data-control", addresses };
    this.#firstPromise = new Promise((resolve, reject) => this.#first = { resolve, reject });
    this.#firstPromise.catch(() => {});
    this.#asapEndpoint = asapEndpoint;
    const hunt = new RegistrarHunt({
      ...options.hunt,
      registrars: options.registrars,
      announce: options.announce,
      sctp: options.sctp,
      sctpEndpoint: asapEndpoint,
      udpPort: options.udpPort,
      remoteUdpPort: options.remoteUdpPort,
      clock: options.clock,
    });
    this.#channel = new RegistrarChannel(hunt, {
      onMessage: (m, a) => this.#onAsap(m, a),
      onDown: (reason) => {
        this.#registered = false;
        this.stats.registrarsLost++;
        if (this.#closed) return;
        logger.info("PE {id}: registrar association lost: {reason}", {
          id: this.identifier.toString(16),
          reason,
        });
        this.#emit({ type: "registrar-lost", reason });
        this.#wake?.();
      },
    });
  }

  /**
   * Opens the PUs' listener and registers. Waits for the first registration unless
   * `waitForRegistration` is false; rejects with {@linkcode PoolError}
   * `registration-rejected` (the PE is closed then) or `closed` when `signal` aborts.
   */
  static async start(options: PoolElementOptions): Promise<PoolElement> {
    if (options.policy !== undefined) policyToWire(options.policy); // Throws when invalid.
    const multiHomed = hostnamesOf(options.listen).length > 1;
    const listener = await openListener(
      options.listen,
      options.listen.protocol === "tcp" ? { framing: "framed" } : {
        sctp: multiHomed
          ? { ...FAST_FAILOVER_SCTP, ...MULTI_HOMED_SCTP, ...options.sctp }
          : options.sctp,
        udpPort: options.udpPort,
      },
    );
    let pe: PoolElement;
    let asapEndpoint: SctpEndpoint | undefined;
    try {
      asapEndpoint = await openAsapEndpoint(options);
      pe = new PoolElement(options, listener, asapEndpoint);
    } catch (e) {
      await asapEndpoint?.destroy();
      await listener.close();
      throw e;
    }
    pe.#track(pe.#acceptLoop());
    if (asapEndpoint !== undefined) pe.#track(pe.#acceptRegistrars(asapEndpoint));
    pe.#track(pe.#run());
    if (options.waitForRegistration === false) return pe;
    const signal = options.signal;
    const onAbort = () =>
      pe.#settleFirst(new PoolError("closed", "Stopped waiting for the registration"));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      await pe.#firstPromise;
    } catch (e) {
      await pe.close();
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    return pe;
  }

  /** Where PUs reach the PE (the listener's protocol, first address and bound port). */
  get address(): EndpointAddress {
    return {
      protocol: this.#options.listen.protocol,
      hostname: this.#listener.addresses[0]?.hostname ?? hostnamesOf(this.#options.listen)[0],
      port: this.#userTransport.port,
    };
  }

  /** Every address the PE registers for PUs (several for a multi-homed PE), the primary first. */
  get addresses(): readonly string[] {
    return this.#userTransport.addresses;
  }

  /** Whether the PE's current registration was accepted. */
  get registered(): boolean {
    return this.#registered;
  }

  /** The server ID of the home registrar (0 until a keep-alive has told it). */
  get homeRegistrarId(): number {
    return this.#home;
  }

  /** The current registrar's ASAP address. */
  get registrar(): EndpointAddress | undefined {
    return this.#channel.address;
  }

  /** The current policy with its data, the load as last set (fractions in [0, 1]). */
  get policy(): PolicySettings {
    return policyFromWire(this.#policy);
  }

  /** The Pool Element parameter the PE registers. */
  get parameter(): PoolElementParameter {
    return {
      identifier: this.identifier,
      homeRegistrarId: this.#home,
      registrationLife: this.#life,
      userTransport: this.#userTransport,
      policy: this.#policy,
    };
  }

  /** Registers a listener for PE events; returns a function that removes it. */
  onEvent(listener: (event: PoolElementEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: PoolElementEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch (e) {
        logger.error("PE event listener failed: {error}", { error: String(e) });
      }
    }
  }

  /**
   * Sets the load for the least-used policies, a fraction in [0, 1]. The PE re-registers at
   * once when the load differs from the registered one by 1 % or more (as RSPLIB). Throws
   * {@linkcode PoolError} `invalid` for a policy without load or a value out of range.
   */
  setLoad(fraction: number): void {
    if (!hasLoad(this.#policy)) {
      throw new PoolError("invalid", `Policy ${this.#policy.name} has no load`);
    }
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new PoolError("invalid", "Load must be a fraction between 0 and 1");
    }
    const load = Math.round(fraction * MAX_LOAD);
    this.#policy = { ...this.#policy, load } as Policy;
    const sent = this.#sentLoad ?? 0;
    if (Math.abs(load - sent) >= MAX_LOAD / 100) {
      this.#dirty = true;
      this.#wake?.();
    }
  }

  // ------------------------------------------------------------------ registration

  #settleFirst(error?: Error): void {
    const first = this.#first;
    if (first === undefined) return;
    this.#first = undefined;
    if (error === undefined) first.resolve();
    else first.reject(error);
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#channel.connect();
      } catch {
        if (this.#closed) return;
        continue;
      }
      const outcome = await this.#register();
      if (this.#closed) return;
      if (outcome === "timeout") {
        logger.warn("PE {id}: no answer to {n} registrations; hunting for another registrar", {
          id: this.identifier.toString(16),
          n: this.#attempts,
        });
        this.#channel.drop("Registration not answered");
        continue;
      }
      if (outcome === "lost") continue;
      if (outcome === "retry") {
        // The ID is still held by the PE's old association (a restart the registrar has not
        // noticed yet): try again soon, waiting longer each time.
        const wait = Math.min(this.#interval, 500 * 2 ** this.#refusals);
        this.#refusals++;
        await this.#pause(wait, true);
        continue;
      }
      this.#refusals = 0;
      await this.#pause(this.#interval);
    }
  }

  /**
   * Waits `ms`, or less when the load changed, the registrar was lost or the PE closes (`force`:
   * the full time even when the load changed).
   */
  #pause(ms: number, force = false): Promise<void> {
    if ((this.#dirty && !force) || !this.#channel.connected || this.#closed) {
      return Promise.resolve();
    }
    const woken = new AbortController();
    const wake = (): void => woken.abort();
    this.#wake = wake;
    return delay(ms, { signal: woken.signal }).finally(() => {
      if (this.#wake === wake) this.#wake = undefined;
    });
  }

  async #register(): Promise<"ok" | "rejected" | "retry" | "timeout" | "lost"> {
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      if (this.#closed) return "lost";
      this.#dirty = false;
      const parameter = this.parameter;
      const load = hasLoad(parameter.policy) ? parameter.policy.load : undefined;
      let answer: AsapRegistrationResponse;
      try {
        this.stats.registrationsSent++;
        const registration: AsapRegistration = {
          type: "registration",
          poolHandle: this.poolHandle,
          poolElement: parameter,
        };
        const secret = this.#options.registrationSecret;
        if (secret !== undefined) {
          registration.authentication = signRegistration(
            registration,
            secret,
            (this.#options.clock ?? Date.now)(),
          );
        }
        answer = await this.#channel.request(
          registration,
          (m): m is AsapRegistrationResponse =>
            m.type === "registration-response" && m.identifier === this.identifier &&
            samePoolHandle(m.poolHandle, this.poolHandle),
          this.#t2,
        );
      } catch (e) {
        if (e instanceof PoolError && e.code === "timeout") continue;
        if (!(e instanceof PoolError)) {
          // Not the registrar's doing (a registration that cannot be encoded): trying again at
          // once would only fail again.
          logger.error("PE {id}: registration failed: {error}", {
            id: this.identifier.toString(16),
            error: String(e),
          });
          this.#settleFirst(e instanceof Error ? e : new Error(String(e)));
          return "rejected";
        }
        return "lost";
      }
      if (answer.rejected) {
        const cause = answer.error?.[0]?.code;
        const error = new PoolError(
          "registration-rejected",
          `Registration rejected: ${
            cause === undefined ? "no cause given" : errorCauseName(cause)
          }`,
          { errorCause: cause },
        );
        this.#registered = false;
        this.stats.rejections++;
        const soon = cause === ErrorCause.NonUniquePeIdentifier && this.#refusals < MAX_REFUSALS;
        const wait = soon ? Math.min(this.#interval, 500 * 2 ** this.#refusals) : this.#interval;
        logger.warn("PE {id}: {error} by {registrar}; {next}", {
          id: this.identifier.toString(16),
          error: error.message,
          registrar: this.#channel.address === undefined
            ? "the registrar"
            : formatEndpointAddress(this.#channel.address),
          next: this.#first !== undefined && !soon
            ? "the PE does not start"
            : `trying again in ${wait} ms`,
        });
        this.#emit({ type: "registration-rejected", error });
        if (cause === ErrorCause.NonUniquePeIdentifier && this.#refusals < MAX_REFUSALS) {
          return "retry";
        }
        this.#settleFirst(error);
        return "rejected";
      }
      const renewal = this.#registered;
      this.#registered = true;
      this.#sentLoad = load;
      this.stats.registrations++;
      if (!renewal) {
        logger.info("PE {id} registered in {pool} with {registrar}", {
          id: this.identifier.toString(16),
          pool: new TextDecoder().decode(this.poolHandle),
          registrar: `${this.#channel.address?.hostname}:${this.#channel.address?.port}`,
        });
      }
      this.#emit({ type: "registered", registrar: this.#channel.address, renewal });
      this.#settleFirst();
      return "ok";
    }
    return "timeout";
  }

  #onAsap(message: AsapMessage, association: Association): void {
    if (message.type !== "endpoint-keep-alive") return;
    this.#onKeepAlive(message, association);
  }

  #onKeepAlive(message: AsapEndpointKeepAlive, association: Association): void {
    if (!samePoolHandle(message.poolHandle, this.poolHandle)) return;
    if (message.identifier !== undefined && message.identifier !== this.identifier) return;
    this.stats.keepAlivesAnswered++;
    association.send(
      encodeAsapMessage({
        type: "endpoint-keep-alive-ack",
        poolHandle: this.poolHandle,
        identifier: this.identifier,
      }),
      { ppid: ASAP_PPID },
    ).catch(() => {});
    if (message.home && message.serverId !== this.#home) {
      this.#home = message.serverId;
      this.#channel.serverId = message.serverId;
      this.#emit({ type: "home-changed", serverId: message.serverId });
    } else if (this.#home === 0) {
      this.#home = message.serverId;
      this.#channel.serverId = message.serverId;
    }
  }

  // ------------------------------------------------------------------ sessions

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /**
   * Associations that registrars open to the PE's ASAP endpoint: a registrar that took over the
   * PE's home (RFC 5353) sends an ENDPOINT_KEEP_ALIVE with the H flag; the PE answers, makes it
   * its home and its registrar association. Anything else is aborted.
   */
  async #acceptRegistrars(endpoint: SctpEndpoint): Promise<void> {
    for await (const association of endpoint) {
      if (this.#closed) {
        association.abort("Pool element closing");
        continue;
      }
      void this.#onRegistrarAssociation(association);
    }
  }

  async #onRegistrarAssociation(association: Association): Promise<void> {
    const answered = new AbortController();
    const first = await Promise.race([
      association.receive().catch(() => null),
      delay(10_000, { signal: answered.signal }).then(() => null),
    ]);
    answered.abort();
    let message: AsapMessage | undefined;
    if (first !== null && first.ppid === ASAP_PPID) {
      try {
        message = decodeAsapMessage(first.data);
      } catch {
        // not ASAP
      }
    }
    if (
      message === undefined || message.type !== "endpoint-keep-alive" || !message.home ||
      !samePoolHandle(message.poolHandle, this.poolHandle) ||
      (message.identifier !== undefined && message.identifier !== this.identifier) ||
      this.#closed
    ) {
      association.abort("Expected a keep-alive from a new home registrar");
      return;
    }
    logger.info("PE {id}: registrar {server} took over as home", {
      id: this.identifier.toString(16),
      server: message.serverId.toString(16),
    });
    this.#onKeepAlive(message, association);
    this.#channel.adopt(association, message.serverId);
    this.#registered = true;
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const association of this.#listener) {
        if (this.#closed) {
          association.abort("Pool element closing");
          continue;
        }
        this.#onAssociation(association);
      }
    } catch (e) {
      if (!this.#closed) logger.error("PE listener failed: {error}", { error: String(e) });
    }
  }

  #onAssociation(association: Association): void {
    const o = this.#options;
    const session = new PoolElementSession(association, {
      poolHandle: this.poolHandle,
      cookieSecret: o.cookieSecret,
      cookieMaxAge: o.cookieMaxAge,
      cookieLedger: this.#cookieLedger,
      invalidCookie: o.invalidCookie,
      ppid: o.ppid,
      clock: o.clock,
      onAsap: (m, a) => this.#onAsap(m, a),
    });
    this.stats.sessions++;
    this.#sessions.add(session);
    association.onEvent((e) => {
      if (e.type === "communication-lost" || e.type === "shutdown") this.#sessions.delete(session);
    });
    if (o.onSession !== undefined) {
      const handler = o.onSession;
      void (async () => {
        try {
          await handler(session);
        } catch (e) {
          logger.error("Session handler failed: {error}", { error: String(e) });
          session.abort("Session handler failed");
        }
      })();
      return;
    }
    if (!this.#incoming.push(session)) session.abort("Pool element closing");
  }

  /** The next PU session (when no `onSession` handler was given), or `null` once closed. */
  accept(): Promise<PoolElementSession | null> {
    return this.#incoming.receive();
  }

  /** Yields PU sessions until the PE is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<PoolElementSession> {
    for (;;) {
      const s = await this.accept();
      if (s === null) return;
      yield s;
    }
  }

  // ------------------------------------------------------------------ closing

  /**
   * Deregisters (waiting at most `deregistrationTimeout` for the answer), then closes the
   * registrar association, the listener and every session (gracefully, aborting those that do
   * not close within 2 s).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#incoming.close();
    this.#wake?.();
    this.#settleFirst(new PoolError("closed", "Pool element closed"));
    if (this.#registered && this.#channel.connected) {
      try {
        await this.#channel.request(
          { type: "deregistration", poolHandle: this.poolHandle, identifier: this.identifier },
          (m) =>
            m.type === "deregistration-response" && m.identifier === this.identifier &&
            samePoolHandle(m.poolHandle, this.poolHandle),
          this.#options.deregistrationTimeout ?? 5000,
        );
        this.#registered = false;
        this.#emit({ type: "deregistered" });
      } catch (e) {
        logger.warn("PE {id}: deregistration failed: {error}", {
          id: this.identifier.toString(16),
          error: String(e),
        });
      }
    }
    await this.#shutDown(false);
  }

  /**
   * Stops at once without deregistering, aborting every association: what the pool sees when
   * the PE crashes (the registrar notices by keep-alive, the PUs by the aborted sessions).
   */
  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#incoming.close();
    this.#wake?.();
    this.#settleFirst(new PoolError("closed", "Pool element aborted"));
    this.#channel.drop("Pool element aborted");
    await this.#shutDown(true);
  }

  async #shutDown(abort: boolean): Promise<void> {
    this.#registered = false;
    await this.#channel.close();
    await this.#asapEndpoint?.close();
    await this.#listener.close();
    // Sessions not accepted yet are in #sessions too, unless they have ended.
    const sessions = new Set([...this.#sessions, ...this.#incoming.drain()]);
    this.#sessions.clear();
    if (abort) {
      for (const s of sessions) s.abort("Pool element aborted");
    } else {
      await Promise.all(
        [...sessions].map((s) =>
          closeGracefully(s, { timeout: 2000, reason: "Pool element closed" })
        ),
      );
    }
    await Promise.allSettled([...this.#tasks]);
    this.#done.resolve();
  }

  /**
   * Settles once the PE is closed ({@linkcode PoolElement.close}, {@linkcode PoolElement.abort},
   * or a failed start), so that a program can wait on it.
   *
   * @example Serve until the PE is closed
   * ```ts ignore
   * import { PoolElement } from "@rserpool/rserpool";
   * const pe = await PoolElement.start({
   *   poolHandle: "MyEchoPool",
   *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
   *   listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
   *   onSession: async (session) => {
   *     for await (const m of session) await session.send(m.data);
   *   },
   * });
   * Deno.addSignalListener("SIGINT", () => pe.close());
   * await pe.closed;
   * ```
   */
  get closed(): Promise<void> {
    return this.#done.promise;
  }

  /** Same as {@linkcode PoolElement.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Non-unique PE Identifier refusals retried soon (0.5, 1, 2, 4, ... s) before the first
 * registration fails: the registrar frees the ID once the old association is gone.
 */
const MAX_REFUSALS = 7;

/**
 * The SCTP endpoint a PE opens its registrar associations from, listening so that a registrar
 * that takes the PE over can reach it at the ASAP address its old home recorded. Its UDP port
 * equals its SCTP port unless `udpPort` is set, so the default port rule finds it. None when
 * the PE talks to registrars over TCP only.
 *
 * A PE that listens on several specific addresses opens it on those addresses: its INITs list
 * them all, so a registrar's association to it is multi-homed too, and a cut path does not cost
 * the registration.
 */
async function openAsapEndpoint(options: PoolElementOptions): Promise<SctpEndpoint | undefined> {
  const sctp = (options.registrars ?? []).filter((r) => r.protocol === "sctp");
  if (sctp.length === 0 && options.announce === undefined) return undefined;
  const loopback = sctp.length > 0 &&
    sctp.every((r) => r.hostname.startsWith("127.") || r.hostname === "::1");
  const v6 = sctp.length > 0 && sctp.every((r) => r.hostname.includes(":"));
  const own = hostnamesOf(options.listen).filter((h) => h.includes(":") === v6);
  const isLoopback = (h: string) => h.startsWith("127.") || h === "::1";
  const multiHomed = own.length > 1 && !own.some((h) => h === "0.0.0.0" || h === "::") &&
    (!loopback || own.every(isLoopback));
  const endpoint = await SctpEndpoint.open({
    ...options.sctp,
    hostname: multiHomed ? own : loopback ? (v6 ? "::1" : "127.0.0.1") : (v6 ? "::" : "0.0.0.0"),
    port: 0,
    udpPort: options.udpPort,
  });
  endpoint.listen();
  return endpoint;
}
