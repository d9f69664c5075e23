/**
 * Reliable Server Pooling (RSerPool, RFC 5351-5356) for Deno: what a program needs to offer a
 * service in a pool, to use one, and to run a registrar.
 *
 * - {@linkcode PoolElement} registers into a pool with a registrar, serves the sessions of pool
 *   users and sends them state cookies.
 * - {@linkcode PoolUser} resolves a pool handle through a registrar (with a cache) and opens a
 *   {@linkcode PoolUserSession} that fails over to another pool element and resumes from the
 *   last cookie.
 * - {@linkcode Registrar} keeps the handlespace and shares it with its peers over ENRP.
 *
 * The layers underneath have their own entry points, as in the Deno standard library:
 * `@rserpool/rserpool/wire` (RFC 5354 parameters and errors), `/asap` and `/enrp` (the messages
 * and their codecs), `/transport` (SCTP over UDP, TCP, TLS), `/handlespace`, `/policy` (RFC 5356
 * selection policies) and `/registrar` (the registrar and its command line).
 *
 * SCTP over UDP uses `Deno.listenDatagram`: run with `--unstable-net` (or `"unstable": ["net"]`
 * in deno.json); without it `node:dgram` is used.
 *
 * @example A pool element and a pool user, through a registrar
 * ```ts
 * import { PoolElement, PoolUser, Registrar } from "@rserpool/rserpool";
 *
 * await using registrar = await Registrar.start({
 *   asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
 *   announce: false,
 * });
 * const registrars = registrar.addresses;
 * await using pe = await PoolElement.start({
 *   poolHandle: "DocEchoPool",
 *   registrars,
 *   listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
 *   onSession: async (session) => {
 *     for await (const m of session) await session.send(m.data);
 *   },
 * });
 * await using pu = new PoolUser({ registrars });
 * await using session = await pu.connect("DocEchoPool");
 * const answer = await session.request(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(answer)); // "hello"
 * ```
 *
 * @module
 */

export {
  PoolElement,
  type PoolElementEvent,
  type PoolElementOptions,
  type PoolElementStats,
} from "./asap/pool_element.ts";
export {
  PoolElementSession,
  type PoolElementSessionEvent,
  type PoolElementSessionOptions,
  type SessionMessage,
  type SessionSendOptions,
} from "./asap/pool_element_session.ts";
export {
  PoolUser,
  type PoolUserOptions,
  type PoolUserStats,
  type ResolveOptions,
} from "./asap/pool_user.ts";
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
} from "./asap/pool_user_session.ts";
export { policyFromWire, type PolicySettings, policyToWire } from "./asap/policy_settings.ts";
export { PoolError, type PoolErrorCode, type PoolErrorOptions } from "./asap/errors.ts";
export {
  type RateLimit,
  Registrar,
  type RegistrarEvent,
  type RegistrarLoad,
  type RegistrarOptions,
  type RegistrarPeState,
  type RegistrarStats,
  type RemovalReason,
  RESOLUTION_TIME_BUCKETS,
  type ResolutionTimes,
} from "./registrar/mod.ts";
export { ErrorCause, type ErrorCauseCode, errorCauseName } from "./wire/errors.ts";
export {
  type DccpTransportParameter,
  type DecodedExtras,
  type OperationErrorCause,
  type Policy,
  PolicyCode,
  type PolicyName,
  type PoolElementParameter,
  type SctpTransportParameter,
  type TcpTransportParameter,
  type TransportParameter,
  type TransportUse,
  type UdpLiteTransportParameter,
  type UdpTransportParameter,
} from "./wire/types.ts";
export { MAX_LOAD } from "./policy/types.ts";
export {
  type EndpointAddress,
  formatEndpointAddress,
  type MultiHomedAddress,
  parseEndpointAddress,
  parseMultiHomedAddress,
} from "./transport/open.ts";
export type {
  Association,
  AssociationEvent,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "./transport/types.ts";
export { TransportError, type TransportErrorCode } from "./transport/errors.ts";
export type { SctpTuning, SctpUdpPorts } from "./transport/sctp/config.ts";
export type { MulticastOptions } from "./transport/multicast.ts";
export { AsapMessageType } from "./asap/messages.ts";
export { CookieLedger } from "./asap/cookie_ledger.ts";
export type { HuntTuning } from "./asap/registrar_hunt.ts";
// Types of the signatures above: the ASAP messages a session hook sees and the parts of a
// registrar that `Registrar` exposes for inspection.
export type {
  AsapBusinessCard,
  AsapCookie,
  AsapCookieEcho,
  AsapDeregistration,
  AsapDeregistrationResponse,
  AsapEndpointKeepAlive,
  AsapEndpointKeepAliveAck,
  AsapEndpointUnreachable,
  AsapError,
  AsapHandleResolution,
  AsapHandleResolutionResponse,
  AsapMessage,
  AsapMessageName,
  AsapRegistration,
  AsapRegistrationResponse,
  AsapServerAnnounce,
} from "./asap/messages.ts";
export type {
  Handlespace,
  PoolElementEntry,
  PoolInfo,
  RegisterOptions,
  RegistrationResult,
  SelectOptions,
} from "./handlespace/handlespace.ts";
export type { EnrpPeerInfo, EnrpServer, EnrpStats, EnrpTuning } from "./enrp/server.ts";
