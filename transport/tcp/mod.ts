/**
 * RSerPool associations over TCP and TLS, with the same {@linkcode Association} interface as
 * SCTP: messages keep their boundaries, payload protocol identifier (PPID) and stream.
 *
 * ## Framing
 *
 * Chosen per association with the `framing` option; both sides must agree.
 *
 * - `"framed"` (default): a 12-byte header before each message, network byte order:
 *   payload length (u32), PPID (u32), stream (u16), flags (u8: 0x01 unordered, 0x80 abort),
 *   reserved (u8, 0). Any PPID and stream go through. The abort flag carries a UTF-8 reason
 *   and tells the peer that the sender aborted, so that it sees `communication-lost`.
 * - `"rserpool"`: no header of our own. The stream is the plain sequence of ASAP or ENRP
 *   messages, delimited by their RFC 5354 header (type, flags, u16 length); the receiver
 *   accepts the strict RFC length and RSPLIB's padded one, takes `(length + 3) & ~3` bytes and
 *   delivers them all. Every message carries the association's `ppid` (11 ASAP, 12 ENRP) on
 *   stream 0; `send` rejects others with `invalid`. Each message is written with one write, so
 *   with `noDelay` one message goes out per TCP segment on an idle connection, which is what
 *   Wireshark's ASAP dissector needs on TCP (`tshark -d tcp.port==N,asap`; ENRP over TCP with
 *   `-X lua_script:enrp_tcp.lua` on port 9901). Use it for ASAP/ENRP control traffic.
 *
 * A length above `maxMessageSize` (checked before any buffer is sized from it), an RSerPool
 * length below 4, or a connection that ends inside a message is a protocol violation: the
 * association aborts with `communication-lost`.
 *
 * ## Behaviour
 *
 * - Events: every `onEvent` listener is first told `communication-up`; then `shutdown` after a
 *   graceful close by either side (TCP FIN at a message boundary; with TLS, close_notify), or
 *   `communication-lost` on a reset, an error, a protocol violation or an abort.
 * - `send` copies the message into the send queue and resolves while fewer than
 *   `maxBufferedBytes` are queued, else once enough have been written; one writer loop writes
 *   in order (with `"framed"`, small queued messages are joined into one write).
 * - Reading uses one buffer, parses every complete message in it and copies each delivered
 *   message once; it stops reading while more than `maxBufferedBytes` wait for `receive`.
 * - `close()` writes what is queued, ends the write side, waits up to `closeTimeout` for the
 *   peer's end, then emits `shutdown`. The peer's end makes the other side do the same.
 * - `abort()` drops the queue and closes at once. With `"rserpool"` framing there is no way to
 *   tell the peer: Deno cannot send a TCP reset, so the peer sees a graceful end (`shutdown`),
 *   or `communication-lost` if it ends inside a message (or, with TLS, no close_notify).
 *
 * ## TLS
 *
 * Clients check the server certificate against `tls.caCerts` (plus the built-in roots) and the
 * name `tls.hostname` (default: the address connected to; IP addresses in the certificate work).
 * A client certificate (`tls.cert`, `tls.key`) is sent through `Deno.connectTls`; without one
 * the client uses `Deno.connect` plus `Deno.startTls`, which keeps TCP_NODELAY. Deno's
 * `Deno.listenTls` cannot request or check client certificates, so a listener with
 * `tls.caCerts` uses `node:tls` (`requestCert`, `rejectUnauthorized`) instead: clients without
 * a certificate signed by one of those CAs fail the handshake and are never accepted.
 * Limits: `Deno.listenTls` and `Deno.connectTls` expose no TCP_NODELAY, so those two paths keep
 * Nagle's algorithm (harmless for one write per message, but a message above one segment may
 * wait for an ACK); the peer certificate is not exposed on the association.
 *
 * @example Echo over the framed TCP association
 * ```ts
 * import { connectTcp, listenTcp } from "@rserpool/rserpool/transport";
 *
 * const listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
 * const client = await connectTcp({ hostname: "127.0.0.1", port: listener.addresses[0].port });
 * const server = (await listener.accept())!;
 * await client.send(new TextEncoder().encode("hello"), { ppid: 11, stream: 2 });
 * const message = (await server.receive())!;
 * console.log(message.ppid, message.stream); // 11 2
 * await Promise.all([client.close(), server.close()]);
 * await listener.close();
 * ```
 *
 * @module
 */

export { connectTcp, type TcpConnectOptions, type TlsConnectOptions } from "./connect.ts";
export { listenTcp, type TcpListenOptions, type TlsListenOptions } from "./listen.ts";
export type { TcpAssociationOptions } from "./options.ts";
export type { Framing } from "./framing.ts";
export type {
  Association,
  AssociationEvent,
  AssociationListener,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../types.ts";
export { TransportError, type TransportErrorCode } from "../errors.ts";
