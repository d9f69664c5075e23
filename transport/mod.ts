/**
 * Transports behind one {@linkcode Association} interface: SCTP over UDP (RFC 6951), TCP and
 * TLS.
 *
 * @example
 * ```ts ignore
 * import { connectSctp } from "@rserpool/rserpool/transport";
 * const association = await connectSctp({ hostname: "127.0.0.1", port: 3863 });
 * await association.send(new Uint8Array([1, 2, 3]), { ppid: 11 });
 * await association.close();
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export {
  connectSctp,
  listenSctp,
  SctpAssociation,
  type SctpConnectOptions,
  SctpEndpoint,
  type SctpEndpointOptions,
  type SctpEndpointStats,
  type SctpState,
  type SctpTuning,
  type SctpUdpPorts,
} from "./sctp/mod.ts";
export {
  type SctpBinding,
  type SctpBindRequest,
  type SctpPortReceiver,
  SctpStack,
  type SctpStackOptions,
  type SctpStackStats,
  SharedUdpSocket,
} from "./sctp/stack.ts";
export type { SctpConfig } from "./sctp/config.ts";
export { type SctpClock, type SctpTimerHandle, systemClock } from "./sctp/clock.ts";
export type { DatagramHandler, UdpBinder, UdpSocket, UdpSocketApi } from "./sctp/udp_socket.ts";
export {
  connectTcp,
  type Framing,
  listenTcp,
  type TcpAssociationOptions,
  type TcpConnectOptions,
  type TcpListenOptions,
  type TlsConnectOptions,
  type TlsListenOptions,
} from "./tcp/mod.ts";
export {
  type EndpointAddress,
  formatEndpointAddress,
  hostnamesOf,
  type MultiHomedAddress,
  openAssociation,
  openListener,
  type OpenOptions,
  parseEndpointAddress,
  parseMultiHomedAddress,
} from "./open.ts";
export { type MulticastOptions, MulticastReceiver, MulticastSender } from "./multicast.ts";
export type { RawChunk, SctpPacket } from "./sctp/chunks.ts";
