/**
 * The ASAP control association of a PE or a PU to its registrar: hunts for a registrar when
 * there is none, matches answers to requests, hands everything else to its owner and reports
 * the loss of the association.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { decodeAsapMessage, encodeAsapMessage } from "./codec.ts";
import type { AsapMessage } from "./messages.ts";
import { ASAP_PPID } from "./connect.ts";
import { PoolError } from "./errors.ts";
import type { RegistrarHunt } from "./registrar_hunt.ts";
import { closeGracefully } from "../transport/close_gracefully.ts";
import type { EndpointAddress } from "../transport/open.ts";
import type { Association } from "../transport/types.ts";
import { WireError } from "../wire/errors.ts";

const logger = getLogger(["rserpool", "asap", "channel"]);

/**
 * What a {@linkcode RegistrarChannel} tells its owner.
 *
 * @example
 * ```ts
 * import type { RegistrarChannelHandlers } from "./registrar_channel.ts";
 * const handlers: RegistrarChannelHandlers = {
 *   onMessage: (m) => console.log(m.type),
 *   onDown: (reason) => console.log("registrar lost:", reason),
 * };
 * ```
 */
export interface RegistrarChannelHandlers {
  /** An ASAP message that answers no request (keep-alives, for example). */
  onMessage?(message: AsapMessage, association: Association): void;
  /** The association to a registrar came up. */
  onUp?(address: EndpointAddress, serverId: number | undefined): void;
  /** The association to the registrar ended. */
  onDown?(reason: string): void;
}

interface Pending {
  match: (m: AsapMessage) => boolean;
  resolve: (m: AsapMessage) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One ASAP association to a registrar, found by a {@linkcode RegistrarHunt}.
 *
 * @example
 * ```ts ignore
 * import { RegistrarChannel } from "./registrar_channel.ts";
 * import { RegistrarHunt } from "@rserpool/rserpool/asap";
 * const channel = new RegistrarChannel(
 *   new RegistrarHunt({ registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }] }),
 *   {},
 * );
 * const answer = await channel.request(
 *   { type: "handle-resolution", wantsUpdates: false, poolHandle: new TextEncoder().encode("P") },
 *   (m) => m.type === "handle-resolution-response",
 *   3000,
 * );
 * await channel.close();
 * ```
 */
export class RegistrarChannel {
  #hunt: RegistrarHunt;
  #handlers: RegistrarChannelHandlers;
  #association: Association | undefined;
  #address: EndpointAddress | undefined;
  #serverId: number | undefined;
  #connecting: Promise<Association> | undefined;
  #pending: Pending[] = [];
  #closed = false;
  #controller = new AbortController();
  #readers = new Set<Promise<void>>();

  /** Creates a channel that hunts with `hunt` (the channel closes the hunt when it closes). */
  constructor(hunt: RegistrarHunt, handlers: RegistrarChannelHandlers) {
    this.#hunt = hunt;
    this.#handlers = handlers;
  }

  /** Whether an association to a registrar is up. */
  get connected(): boolean {
    return this.#association !== undefined && !this.#association.closed;
  }

  /** The address of the current registrar. */
  get address(): EndpointAddress | undefined {
    return this.#address;
  }

  /** The server ID of the current registrar, when known (announced or from a keep-alive). */
  get serverId(): number | undefined {
    return this.#serverId;
  }

  set serverId(id: number | undefined) {
    this.#serverId = id;
  }

  /**
   * Makes `association`, opened to the PE by a registrar that took it over (a keep-alive with
   * the H flag came on it), the channel's association to its new home; the old one is aborted.
   */
  adopt(association: Association, serverId: number): void {
    if (this.#closed) {
      association.abort("Channel is closed");
      return;
    }
    const old = this.#association;
    this.#install(association, undefined, serverId);
    if (old !== undefined && old !== association) old.abort("Replaced by the new home registrar");
  }

  /** Hunts for a registrar unless connected; concurrent calls share one hunt. */
  connect(signal?: AbortSignal): Promise<Association> {
    if (this.#closed) return Promise.reject(new PoolError("closed", "Channel is closed"));
    if (this.#association !== undefined && !this.#association.closed) {
      return Promise.resolve(this.#association);
    }
    if (this.#connecting === undefined) {
      this.#connecting = this.#hunt.hunt(this.#controller.signal).then((c) => {
        this.#install(c.association, c.address, c.serverId);
        return c.association;
      }).finally(() => {
        this.#connecting = undefined;
      });
    }
    const connecting = this.#connecting;
    if (signal === undefined) return connecting;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new PoolError("closed", "Cancelled"));
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      connecting.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  #install(
    association: Association,
    address: EndpointAddress | undefined,
    serverId: number | undefined,
  ): void {
    this.#association = association;
    this.#address = address ??
      (association.remoteAddresses[0] === undefined ? undefined : {
        protocol: association.protocol === "sctp" ? "sctp" : "tcp",
        hostname: association.remoteAddresses[0].hostname,
        port: association.remoteAddresses[0].port,
      });
    this.#serverId = serverId;
    const reader = this.#read(association);
    this.#readers.add(reader);
    reader.finally(() => this.#readers.delete(reader));
    logger.debug("ASAP association to registrar {address}", {
      address: `${this.#address?.hostname}:${this.#address?.port}`,
    });
    if (this.#address !== undefined) this.#handlers.onUp?.(this.#address, serverId);
  }

  async #read(association: Association): Promise<void> {
    let reason = "Association ended";
    try {
      for await (const m of association) {
        if (m.ppid !== ASAP_PPID) continue;
        this.#deliver(m.data, association);
      }
    } catch (e) {
      reason = String(e);
    }
    if (this.#association === association) this.#down(reason);
  }

  #deliver(data: Uint8Array, association: Association): void {
    let message: AsapMessage;
    try {
      message = decodeAsapMessage(data);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      logger.debug("Malformed ASAP message from the registrar: {error}", { error: e.message });
      return;
    }
    if (association === this.#association) {
      const i = this.#pending.findIndex((p) => p.match(message));
      if (i >= 0) {
        const [p] = this.#pending.splice(i, 1);
        clearTimeout(p.timer);
        p.resolve(message);
        return;
      }
    }
    this.#handlers.onMessage?.(message, association);
  }

  #down(reason: string): void {
    this.#association = undefined;
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new PoolError("registrar-lost", `Registrar association lost: ${reason}`));
    }
    if (!this.#closed) this.#handlers.onDown?.(reason);
  }

  /** Sends a message to the registrar; hunts first when there is no association. */
  async send(message: AsapMessage, signal?: AbortSignal): Promise<void> {
    const association = await this.connect(signal);
    await association.send(encodeAsapMessage(message), { ppid: ASAP_PPID, transfer: true });
  }

  /**
   * Sends a request and waits up to `timeout` ms for the first message that `match`es.
   * Rejects with {@linkcode PoolError} `timeout`, `registrar-lost` or `closed`. The timeout
   * runs from the moment the request is sent (not during a hunt).
   */
  async request<T extends AsapMessage>(
    message: AsapMessage,
    match: (m: AsapMessage) => m is T,
    timeout: number,
    signal?: AbortSignal,
  ): Promise<T>;
  /** Sends a request and waits for an answer that `match`es. */
  async request(
    message: AsapMessage,
    match: (m: AsapMessage) => boolean,
    timeout: number,
    signal?: AbortSignal,
  ): Promise<AsapMessage>;
  async request(
    message: AsapMessage,
    match: (m: AsapMessage) => boolean,
    timeout: number,
    signal?: AbortSignal,
  ): Promise<AsapMessage> {
    const association = await this.connect(signal);
    const answer = new Promise<AsapMessage>((resolve, reject) => {
      const p: Pending = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#pending.indexOf(p);
          if (i >= 0) this.#pending.splice(i, 1);
          reject(new PoolError("timeout", `No answer to ${message.type} in ${timeout} ms`));
        }, timeout),
      };
      this.#pending.push(p);
    });
    try {
      await association.send(encodeAsapMessage(message), { ppid: ASAP_PPID, transfer: true });
    } catch (e) {
      // The read loop rejects the pending request when the association ended.
      if (this.#association === association && !association.closed) throw e;
    }
    return await answer;
  }

  /** Aborts the current association (the owner hunts again when it wants one). */
  drop(reason: string): void {
    const a = this.#association;
    if (a === undefined) return;
    a.abort(reason);
    if (this.#association === a) this.#down(reason);
  }

  /** Closes the association gracefully (bounded by the transport) and the hunt. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.abort();
    const a = this.#association;
    this.#down("Channel closed");
    await this.#hunt.close();
    await this.#connecting?.catch(() => {});
    if (a !== undefined) await closeGracefully(a, { timeout: 2000, reason: "Channel closed" });
    await Promise.allSettled([...this.#readers]);
  }
}
