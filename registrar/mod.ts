/**
 * The RSerPool registrar (RFC 5352 server side) for embedding, and its HTTP status server;
 * `main.ts` is its command line. Published as `@rserpool/rserpool/registrar`.
 *
 * @example A registrar on a free TCP port of loopback
 * ```ts
 * import { Registrar } from "@rserpool/rserpool/registrar";
 * const registrar = await Registrar.start({
 *   asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
 *   announce: false,
 *   enrp: [],
 * });
 * console.log(registrar.addresses[0].port > 0); // true
 * await registrar.close();
 * ```
 *
 * @module
 */

export {
  Registrar,
  type RegistrarLoad,
  type RegistrarOptions,
  type RegistrarPeState,
  type RegistrarStats,
} from "./registrar.ts";
export { type RateLimit, TokenBucket } from "./rate_limiter.ts";
export {
  type RegistrarEvent,
  type RemovalReason,
  RESOLUTION_TIME_BUCKETS,
  type ResolutionTimes,
} from "./events.ts";
export {
  EventFeed,
  type EventFeedOptions,
  type FeedCounts,
  type FeedRecord,
  type HttpAddress,
  METRICS_CONTENT_TYPE,
  RegistrarHttpServer,
  type RegistrarHttpServerOptions,
} from "./http/mod.ts";
// Types of the signatures above that live in other layers.
export type {
  DccpTransportParameter,
  DecodedExtras,
  OperationErrorCause,
  Policy,
  PolicyName,
  PoolElementParameter,
  SctpTransportParameter,
  ServerInformation,
  TcpTransportParameter,
  TransportParameter,
  TransportUse,
  UdpLiteTransportParameter,
  UdpTransportParameter,
} from "../wire/types.ts";
export { PolicyCode } from "../wire/types.ts";
export type { EndpointAddress, MultiHomedAddress } from "../transport/open.ts";
export type {
  Association,
  AssociationEvent,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../transport/types.ts";
export type { MulticastOptions } from "../transport/multicast.ts";
export type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
export type {
  Handlespace,
  PoolElementEntry,
  PoolInfo,
  RegisterOptions,
  RegistrationResult,
  SelectOptions,
} from "../handlespace/handlespace.ts";
export type { EnrpPeerInfo, EnrpServer, EnrpStats, EnrpTuning } from "../enrp/server.ts";
