/**
 * ASAP (RFC 5352): the messages between pool elements, pool users and registrars, and the two
 * ends that use them: {@linkcode PoolElement} (registers into a pool, serves PU sessions, sends
 * state cookies) and {@linkcode PoolUser} (resolves pools, opens sessions that fail over).
 *
 * @example Codec
 * ```ts
 * import { decodeAsapMessage, encodeAsapMessage } from "@rserpool/rserpool/asap";
 * const bytes = encodeAsapMessage({ type: "cookie", cookie: new Uint8Array([1, 2, 3]) });
 * decodeAsapMessage(bytes).type; // "cookie"
 * ```
 *
 * @example A PE and a PU
 * ```ts ignore
 * import { PoolElement, PoolUser } from "@rserpool/rserpool/asap";
 * const registrars = [{ protocol: "tcp" as const, hostname: "127.0.0.1", port: 3863 }];
 * await using pe = await PoolElement.start({
 *   poolHandle: "EchoPool",
 *   registrars,
 *   listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
 *   onSession: async (session) => {
 *     for await (const m of session) await session.send(m.data);
 *   },
 * });
 * await using pu = new PoolUser({ registrars });
 * await using session = await pu.connect("EchoPool");
 * await session.request(new TextEncoder().encode("hello"));
 * ```
 *
 * @module
 */

export * from "./messages.ts";
export { decodeAsapMessage, encodeAsapMessage } from "./codec.ts";
export { PoolError, type PoolErrorCode, type PoolErrorOptions } from "./errors.ts";
export { ASAP_PPID } from "./connect.ts";
export {
  MAX_COOKIE_SIZE,
  type OpenedCookie,
  openStateCookie,
  sealStateCookie,
  type StateCookieOptions,
} from "./state_cookie.ts";
export {
  type HuntTuning,
  type RegistrarCandidate,
  type RegistrarConnection,
  RegistrarHunt,
  type RegistrarHuntOptions,
} from "./registrar_hunt.ts";
export { policyFromWire, type PolicySettings, policyToWire } from "./policy_settings.ts";
export {
  PoolElement,
  type PoolElementEvent,
  type PoolElementOptions,
  type PoolElementStats,
} from "./pool_element.ts";
export {
  PoolElementSession,
  type PoolElementSessionEvent,
  type PoolElementSessionOptions,
  type SessionMessage,
  type SessionSendOptions,
} from "./pool_element_session.ts";
export { CookieLedger } from "./cookie_ledger.ts";
export {
  signRegistration,
  verifyRegistration,
  type VerifyRegistrationOptions,
} from "./registration_auth.ts";
export {
  PoolUser,
  type PoolUserOptions,
  type PoolUserStats,
  type ResolveOptions,
} from "./pool_user.ts";
export {
  FAST_FAILOVER_SCTP,
  MULTI_HOMED_SCTP,
  poolElementAddress,
  poolElementAddresses,
  PoolUserSession,
  type PoolUserSessionEvent,
  type PoolUserSessionHost,
  type PoolUserSessionOptions,
  type RequestOptions,
} from "./pool_user_session.ts";
// Types of the signatures above that live in other layers (the root module exports them too).
export type {
  DccpTransportParameter,
  DecodedExtras,
  OperationErrorCause,
  Policy,
  PoolElementParameter,
  SctpTransportParameter,
  TcpTransportParameter,
  TransportParameter,
  TransportUse,
  UdpLiteTransportParameter,
  UdpTransportParameter,
} from "../wire/types.ts";
export type { EndpointAddress, MultiHomedAddress } from "../transport/open.ts";
export type {
  Association,
  AssociationEvent,
  AssociationListener,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../transport/types.ts";
export type { MulticastOptions } from "../transport/multicast.ts";
export type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
export type {
  SctpConnectOptions,
  SctpEndpoint,
  SctpEndpointOptions,
  SctpEndpointStats,
} from "../transport/sctp/endpoint.ts";
export type { SctpConfig } from "../transport/sctp/config.ts";
export type { SctpAssociation, SctpState } from "../transport/sctp/association.ts";
export type { RawChunk, SctpPacket } from "../transport/sctp/chunks.ts";
export type {
  SctpBinding,
  SctpBindRequest,
  SctpPortReceiver,
  SctpStack,
  SctpStackStats,
  SharedUdpSocket,
} from "../transport/sctp/stack.ts";
export type { UdpSocketApi } from "../transport/sctp/udp_socket.ts";
