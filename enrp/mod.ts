/**
 * ENRP (RFC 5353): the messages between registrars, and the protocol engine a registrar runs
 * with its peers (peer table, start-up from a mentor, handle table transfer, updates, audit,
 * takeover).
 *
 * @example
 * ```ts
 * import { decodeEnrpMessage, encodeEnrpMessage } from "./mod.ts";
 * const bytes = encodeEnrpMessage({ type: "list-request", senderId: 7, receiverId: 0 });
 * decodeEnrpMessage(bytes).senderId; // 7
 * ```
 *
 * @module
 */

export * from "./messages.ts";
export { decodeEnrpMessage, encodeEnrpMessage } from "./codec.ts";
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
