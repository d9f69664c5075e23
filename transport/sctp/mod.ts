/**
 * SCTP over UDP (RFC 9260 in RFC 6951 packets): associations with streams, ordered and
 * unordered messages, fragmentation, SACK, retransmission, congestion control, multi-homing
 * with heartbeats, SHUTDOWN and ABORT.
 *
 * @example
 * ```ts ignore
 * import { connectSctp, listenSctp } from "@rserpool/rserpool/transport";
 * const listener = await listenSctp({ hostname: "127.0.0.1", port: 0 });
 * const client = await connectSctp({ hostname: "127.0.0.1", port: listener.addresses[0].port });
 * const server = await listener.accept();
 * await client.send(new TextEncoder().encode("hi"), { ppid: 11 });
 * console.log(await server?.receive());
 * ```
 *
 * @module
 */

export {
  type AssociationHost,
  type AssociationStart,
  type EstablishedParameters,
  SctpAssociation,
  type SctpState,
} from "./association.ts";
export type { RawChunk, SctpPacket } from "./chunks.ts";
export { type SctpClock, type SctpTimerHandle, systemClock } from "./clock.ts";
export type { SctpConfig, SctpTuning, SctpUdpPorts } from "./config.ts";
export { crc32c } from "./crc32c.ts";
export type { DatagramHandler, UdpBinder, UdpSocket, UdpSocketApi } from "./udp_socket.ts";
export {
  type SctpBinding,
  type SctpBindRequest,
  type SctpPortReceiver,
  SctpStack,
  type SctpStackOptions,
  type SctpStackStats,
  SharedUdpSocket,
} from "./stack.ts";
export {
  connectSctp,
  listenSctp,
  type SctpConnectOptions,
  SctpEndpoint,
  type SctpEndpointOptions,
  type SctpEndpointStats,
} from "./endpoint.ts";
export type {
  Association,
  AssociationEvent,
  AssociationListener,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../types.ts";
export { TransportError, type TransportErrorCode } from "../errors.ts";
