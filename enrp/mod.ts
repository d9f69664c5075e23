/**
 * ENRP (RFC 5353): the messages between registrars.
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
