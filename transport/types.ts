/**
 * The one interface of every transport: a message-based, reliable association (SCTP over UDP,
 * TCP, TLS), its events and its listener.
 *
 * @module
 */

/**
 * A transport address: an IPv4 or IPv6 address in text form and a port.
 *
 * @example
 * ```ts
 * import type { TransportAddress } from "@rserpool/rserpool/transport";
 * const a: TransportAddress = { hostname: "127.0.0.1", port: 3863 };
 * ```
 */
export interface TransportAddress {
  /** IPv4 or IPv6 address in text form. */
  hostname: string;
  /** Port. */
  port: number;
}

/**
 * Options of {@linkcode Association.send}.
 *
 * @example
 * ```ts
 * import type { SendOptions } from "@rserpool/rserpool/transport";
 * const asap: SendOptions = { ppid: 11, stream: 0 };
 * ```
 */
export interface SendOptions {
  /** Stream to send on (default 0). Ordering holds per stream. */
  stream?: number;
  /** Payload protocol identifier (default 0): 11 for ASAP, 12 for ENRP. */
  ppid?: number;
  /** Deliver as soon as it arrives, not in stream order (default false). */
  unordered?: boolean;
  /**
   * Hand `data` over instead of having it copied (default false): the caller does not change
   * it afterwards, because SCTP may keep it until the peer acknowledges it. For messages
   * encoded just for this send; it spares a copy and the garbage it leaves.
   */
  transfer?: boolean;
}

/**
 * A message received on an association.
 *
 * @example
 * ```ts
 * import type { ReceivedMessage } from "@rserpool/rserpool/transport";
 * function isAsap(m: ReceivedMessage): boolean {
 *   return m.ppid === 11;
 * }
 * ```
 */
export interface ReceivedMessage {
  /** The message bytes. */
  data: Uint8Array;
  /** Payload protocol identifier. */
  ppid: number;
  /** Stream it arrived on. */
  stream: number;
  /** Whether it was sent unordered. */
  unordered: boolean;
}

/**
 * Something that happened to an association.
 *
 * - `communication-up`: the association is established.
 * - `communication-lost`: the association failed (retransmissions exhausted, ABORT received,
 *   connection reset); `reason` says why. No more messages come.
 * - `path-down` / `path-up`: one peer address stopped or started answering (multi-homing).
 * - `primary-changed`: the path used for new data moved to another peer address.
 * - `shutdown`: the association was closed gracefully (by either side).
 *
 * @example
 * ```ts
 * import type { AssociationEvent } from "@rserpool/rserpool/transport";
 * function describe(e: AssociationEvent): string {
 *   return e.type === "path-down" ? `lost ${e.address.hostname}` : e.type;
 * }
 * ```
 */
export type AssociationEvent =
  | { type: "communication-up" }
  | { type: "communication-lost"; reason: string }
  | { type: "path-down"; address: TransportAddress }
  | { type: "path-up"; address: TransportAddress }
  | { type: "primary-changed"; address: TransportAddress }
  | { type: "shutdown" };

/**
 * A reliable, message-based association with one peer. Messages keep their boundaries, their
 * payload protocol identifier and their stream; ordered messages of one stream arrive in order.
 * Iterating it yields received messages until the association ends.
 *
 * @example Echo every message back
 * ```ts
 * import type { Association } from "@rserpool/rserpool/transport";
 * async function echo(association: Association): Promise<void> {
 *   for await (const m of association) {
 *     await association.send(m.data, { ppid: m.ppid, stream: m.stream });
 *   }
 * }
 * ```
 */
export interface Association extends AsyncIterable<ReceivedMessage>, AsyncDisposable {
  /** The transport underneath. */
  readonly protocol: "sctp" | "tcp" | "tls";
  /** Local addresses (several with SCTP multi-homing). */
  readonly localAddresses: readonly TransportAddress[];
  /** Peer addresses (several with SCTP multi-homing); the first is the primary path. */
  readonly remoteAddresses: readonly TransportAddress[];
  /** True once the association has ended (shut down, aborted or failed). */
  readonly closed: boolean;
  /**
   * Queues a message. Resolves when the message has been accepted into the send buffer
   * (waiting while the buffer is full); rejects with a `TransportError` once the association
   * has ended.
   */
  send(data: Uint8Array, options?: SendOptions): Promise<void>;
  /** Receives the next message, or `null` once the association has ended. */
  receive(): Promise<ReceivedMessage | null>;
  /**
   * Hands every received message to `handler` instead of to `receive` and iteration (which
   * then fail), in order, each in a microtask after the packet or read that completed it, and
   * `null` once the association has ended. Set once. There is no promise per message nor one
   * waiting between messages: for a server of many associations that each bring a message now
   * and then (a registrar's PEs answering keep-alives), that is most of what receiving costs,
   * in CPU and in garbage kept for the interval.
   *
   * @example Echo every message back, without a promise per message
   * ```ts
   * import type { Association } from "@rserpool/rserpool/transport";
   * function echo(association: Association): void {
   *   association.setMessageHandler((m) => {
   *     if (m !== null) association.send(m.data, { ppid: m.ppid }).catch(() => {});
   *   });
   * }
   * ```
   */
  setMessageHandler(handler: (message: ReceivedMessage | null) => void): void;
  /**
   * Holds messages back from the {@linkcode Association.setMessageHandler} handler: they wait
   * in the receive buffer, so that a peer that goes on sending is held back by flow control
   * (the SCTP receive window, TCP's own). The end is still handed over once nothing waits.
   */
  pause(): void;
  /** Hands held-back messages to the handler again (see {@linkcode Association.pause}). */
  resume(): void;
  /**
   * Registers a listener for association events; returns a function that removes it. On every
   * transport a listener added late is told `communication-up` first (in a microtask), and the
   * final event too if the association has already ended, so that nothing is missed between
   * connecting and registering. A listener that throws does not stop the others; its exception
   * is reported as an uncaught error.
   */
  onEvent(listener: (event: AssociationEvent) => void): () => void;
  /** Graceful close: delivers what is queued, then shuts the association down. */
  close(): Promise<void>;
  /**
   * Ends the association at once (SCTP ABORT, TCP reset); messages queued to send and received
   * messages not read yet are dropped.
   */
  abort(reason?: string): void;
}

/**
 * Accepts incoming associations. Iterating it yields them until it is closed.
 *
 * @example
 * ```ts
 * import type { AssociationListener } from "@rserpool/rserpool/transport";
 * async function serve(listener: AssociationListener): Promise<void> {
 *   for await (const association of listener) {
 *     console.log("from", association.remoteAddresses[0]);
 *   }
 * }
 * ```
 */
export interface AssociationListener extends AsyncIterable<Association>, AsyncDisposable {
  /** The local addresses it listens on (with the port actually bound). */
  readonly addresses: readonly TransportAddress[];
  /** Waits for the next association, or `null` once the listener is closed. */
  accept(): Promise<Association | null>;
  /** Stops listening; associations already accepted stay open. */
  close(): Promise<void>;
}
