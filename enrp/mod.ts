/**
 * ENRP (RFC 5353): the messages between registrars, and the protocol engine a registrar runs
 * with its peers (peer table, start-up from a mentor, handle table transfer, updates, audit,
 * takeover).
 *
 * @example
 * ```ts
 * import { decodeEnrpMessage, encodeEnrpMessage } from "@rserpool/rserpool/enrp";
 * const bytes = encodeEnrpMessage({ type: "list-request", senderId: 7, receiverId: 0 });
 * decodeEnrpMessage(bytes).senderId; // 7
 * ```
 *
 * @module
 */

export * from "./messages.ts";
export { decodeEnrpMessage, encodeEnrpMessage } from "./codec.ts";
export {
  ENRP_AUTHENTICATION_PARAMETER,
  EnrpAuthenticator,
  type EnrpAuthFailure,
  type EnrpAuthOptions,
} from "./auth.ts";
export { HandleTableExtract, type HandleTableItem, type HandleTablePart } from "./handle_table.ts";
export {
  ENRP_PPID,
  type EnrpHost,
  type EnrpPeerInfo,
  EnrpServer,
  type EnrpServerOptions,
  type EnrpStats,
  type EnrpTuning,
} from "./server.ts";
// Types of the signatures above that live in other layers.
export { PolicyCode } from "../wire/types.ts";
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
export type { EndpointAddress } from "../transport/open.ts";
export type {
  Association,
  AssociationEvent,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../transport/types.ts";
export type {
  Handlespace,
  PoolElementEntry,
  PoolInfo,
  RegisterOptions,
  RegistrationResult,
  SelectOptions,
} from "../handlespace/handlespace.ts";
