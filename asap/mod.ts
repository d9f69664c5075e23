/**
 * ASAP (RFC 5352): the messages between pool elements, pool users and registrars.
 *
 * @example
 * ```ts
 * import { decodeAsapMessage, encodeAsapMessage } from "./mod.ts";
 * const bytes = encodeAsapMessage({ type: "cookie", cookie: new Uint8Array([1, 2, 3]) });
 * decodeAsapMessage(bytes).type; // "cookie"
 * ```
 *
 * @module
 */

export * from "./messages.ts";
export { decodeAsapMessage, encodeAsapMessage } from "./codec.ts";
