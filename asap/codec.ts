/**
 * Encoding and decoding of ASAP messages (RFC 5352) in their RFC 5354 TLV form.
 *
 * @module
 */

import { WireDecoder } from "../wire/decoder.ts";
import { ErrorCause, WireError } from "../wire/errors.ts";
import { bit, need, readParameterSet, TRANSPORTS } from "../wire/parameter_set.ts";
import {
  writeOpaque,
  writeOperationError,
  writePolicy,
  writePoolElement,
  writeTransport,
  writeU32Parameter,
} from "../wire/parameters.ts";
import { ParameterType, type PoolElementParameter } from "../wire/types.ts";
import { WireWriter } from "../wire/writer.ts";
import type { AsapMessage } from "./messages.ts";

const P = ParameterType;
const writer = new WireWriter();

function writePoolElements(w: WireWriter, list: PoolElementParameter[]): void {
  if (!Array.isArray(list)) {
    throw new WireError(ErrorCause.InvalidValues, "Pool elements must be an array");
  }
  for (const pe of list) writePoolElement(w, pe);
}

/**
 * Encodes an ASAP message. The message length is the strict RFC one (without the padding of
 * the last parameter); the returned bytes include that padding.
 *
 * @throws {WireError} with cause Invalid Values when a field is out of range or missing.
 *
 * @example The HANDLE_RESOLUTION test vector
 * ```ts
 * import { encodeAsapMessage } from "@rserpool/rserpool/asap";
 * const bytes = encodeAsapMessage({
 *   type: "handle-resolution",
 *   wantsUpdates: false,
 *   poolHandle: new TextEncoder().encode("EchoPool1"),
 * });
 * bytes.length; // 20, and bytes[3] is 0x11
 * ```
 */
export function encodeAsapMessage(message: AsapMessage): Uint8Array {
  const w = writer;
  w.reset();
  switch (message.type) {
    case "registration": {
      const m = w.beginMessage(0x01, 0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      writePoolElement(w, message.poolElement);
      if (message.authentication !== undefined) {
        writeOpaque(w, P.RegistrationAuthentication, message.authentication);
      }
      w.endMessage(m);
      break;
    }
    case "deregistration": {
      const m = w.beginMessage(0x02, 0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      writeU32Parameter(w, P.PeIdentifier, message.identifier, "PE identifier");
      w.endMessage(m);
      break;
    }
    case "registration-response":
    case "deregistration-response": {
      const isRegistration = message.type === "registration-response";
      const flags = isRegistration && message.rejected ? 0x01 : 0;
      const m = w.beginMessage(isRegistration ? 0x03 : 0x04, flags);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      writeU32Parameter(w, P.PeIdentifier, message.identifier, "PE identifier");
      if (message.error !== undefined) writeOperationError(w, message.error);
      w.endMessage(m);
      break;
    }
    case "handle-resolution": {
      const m = w.beginMessage(0x05, message.wantsUpdates ? 0x01 : 0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      if (message.items !== undefined) {
        writeU32Parameter(w, P.HandleResolutionOption, message.items, "items");
      }
      w.endMessage(m);
      break;
    }
    case "handle-resolution-response": {
      const m = w.beginMessage(0x06, message.acceptsUpdates ? 0x01 : 0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      if (message.policy !== undefined) writePolicy(w, message.policy);
      writePoolElements(w, message.poolElements);
      if (message.error !== undefined) writeOperationError(w, message.error);
      w.endMessage(m);
      break;
    }
    case "endpoint-keep-alive": {
      const m = w.beginMessage(0x07, message.home ? 0x01 : 0);
      w.u32(message.serverId, "server ID");
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      if (message.identifier !== undefined) {
        writeU32Parameter(w, P.PeIdentifier, message.identifier, "PE identifier");
      }
      w.endMessage(m);
      break;
    }
    case "endpoint-keep-alive-ack":
    case "endpoint-unreachable": {
      const m = w.beginMessage(message.type === "endpoint-keep-alive-ack" ? 0x08 : 0x09, 0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      writeU32Parameter(w, P.PeIdentifier, message.identifier, "PE identifier");
      w.endMessage(m);
      break;
    }
    case "server-announce": {
      const m = w.beginMessage(0x0a, 0);
      w.u32(message.serverId, "server ID");
      if (!Array.isArray(message.transports)) {
        throw new WireError(ErrorCause.InvalidValues, "Transports must be an array");
      }
      for (const t of message.transports) writeTransport(w, t);
      w.endMessage(m);
      break;
    }
    case "cookie":
    case "cookie-echo": {
      const m = w.beginMessage(message.type === "cookie" ? 0x0b : 0x0c, 0);
      writeOpaque(w, P.Cookie, message.cookie);
      w.endMessage(m);
      break;
    }
    case "business-card": {
      const m = w.beginMessage(0x0d, 0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      writePoolElements(w, message.poolElements);
      w.endMessage(m);
      break;
    }
    case "error": {
      const m = w.beginMessage(0x0e, 0);
      writeOperationError(w, message.error);
      w.endMessage(m);
      break;
    }
    default: {
      const type = (message as { type?: unknown } | null)?.type;
      throw new WireError(ErrorCause.InvalidValues, `Unknown ASAP message type ${String(type)}`);
    }
  }
  return w.finish();
}

const HANDLE = bit(P.PoolHandle);
const ID = bit(P.PeIdentifier);
const ERROR = bit(P.OperationError);
const PE = bit(P.PoolElement);

/**
 * Decodes an ASAP message. Accepts both the strict RFC message length and RSPLIB's, which
 * counts the padding of the last parameter. Parameters of unknown type are skipped or make the
 * message fail as their two high bits say; skipped ones whose bits ask for a report are
 * returned in `unrecognized`.
 *
 * @throws {WireError} and nothing else: Invalid Values for malformed input, Unrecognized
 * Message (with the message in `data`) for an unknown type, Unrecognized Parameter (with the
 * parameter in `data`, `silent` when no report is due) for a parameter that stops decoding.
 *
 * @example
 * ```ts
 * import { decodeAsapMessage } from "@rserpool/rserpool/asap";
 * const m = decodeAsapMessage(
 *   new Uint8Array([5, 0, 0, 0x11, 0, 9, 0, 0x0d, 69, 99, 104, 111, 80, 111, 111, 108, 49, 0, 0, 0]),
 * );
 * m.type; // "handle-resolution"
 * ```
 */
export function decodeAsapMessage(bytes: Uint8Array): AsapMessage {
  const d = new WireDecoder(bytes);
  const end = d.messageLength();
  const type = bytes[0];
  const flags = bytes[1];
  let message: AsapMessage;
  switch (type) {
    case 0x01: {
      const s = readParameterSet(d, 4, end, HANDLE | PE | bit(P.RegistrationAuthentication));
      if (s.poolElements.length !== 1) d.fail(4, "A registration carries one pool element");
      message = {
        type: "registration",
        poolHandle: need(d, s.poolHandle, "pool handle"),
        poolElement: s.poolElements[0],
      };
      if (s.authentication !== undefined) message.authentication = s.authentication;
      break;
    }
    case 0x02: {
      const s = readParameterSet(d, 4, end, HANDLE | ID);
      message = {
        type: "deregistration",
        poolHandle: need(d, s.poolHandle, "pool handle"),
        identifier: need(d, s.identifier, "PE identifier"),
      };
      break;
    }
    case 0x03:
    case 0x04: {
      const s = readParameterSet(d, 4, end, HANDLE | ID | ERROR);
      const poolHandle = need(d, s.poolHandle, "pool handle");
      const identifier = need(d, s.identifier, "PE identifier");
      message = type === 0x03
        ? { type: "registration-response", rejected: (flags & 1) !== 0, poolHandle, identifier }
        : { type: "deregistration-response", poolHandle, identifier };
      if (s.error !== undefined) message.error = s.error;
      break;
    }
    case 0x05: {
      const s = readParameterSet(d, 4, end, HANDLE | bit(P.HandleResolutionOption));
      message = {
        type: "handle-resolution",
        wantsUpdates: (flags & 1) !== 0,
        poolHandle: need(d, s.poolHandle, "pool handle"),
      };
      if (s.items !== undefined) message.items = s.items;
      break;
    }
    case 0x06: {
      const s = readParameterSet(d, 4, end, HANDLE | bit(P.PoolMemberSelectionPolicy) | PE | ERROR);
      message = {
        type: "handle-resolution-response",
        acceptsUpdates: (flags & 1) !== 0,
        poolHandle: need(d, s.poolHandle, "pool handle"),
        poolElements: s.poolElements,
      };
      if (s.policy !== undefined) message.policy = s.policy;
      if (s.error !== undefined) message.error = s.error;
      break;
    }
    case 0x07: {
      const serverId = d.u32(4, end);
      const s = readParameterSet(d, 8, end, HANDLE | ID);
      message = {
        type: "endpoint-keep-alive",
        home: (flags & 1) !== 0,
        serverId,
        poolHandle: need(d, s.poolHandle, "pool handle"),
      };
      if (s.identifier !== undefined) message.identifier = s.identifier;
      break;
    }
    case 0x08:
    case 0x09: {
      const s = readParameterSet(d, 4, end, HANDLE | ID);
      message = {
        type: type === 0x08 ? "endpoint-keep-alive-ack" : "endpoint-unreachable",
        poolHandle: need(d, s.poolHandle, "pool handle"),
        identifier: need(d, s.identifier, "PE identifier"),
      };
      break;
    }
    case 0x0a: {
      const serverId = d.u32(4, end);
      const s = readParameterSet(d, 8, end, TRANSPORTS);
      message = { type: "server-announce", serverId, transports: s.transports };
      break;
    }
    case 0x0b:
    case 0x0c: {
      const s = readParameterSet(d, 4, end, bit(P.Cookie));
      message = {
        type: type === 0x0b ? "cookie" : "cookie-echo",
        cookie: need(d, s.cookie, "cookie"),
      };
      break;
    }
    case 0x0d: {
      const s = readParameterSet(d, 4, end, HANDLE | PE);
      message = {
        type: "business-card",
        poolHandle: need(d, s.poolHandle, "pool handle"),
        poolElements: s.poolElements,
      };
      break;
    }
    case 0x0e: {
      const s = readParameterSet(d, 4, end, ERROR);
      message = { type: "error", error: need(d, s.error, "operation error") };
      break;
    }
    default:
      throw new WireError(
        ErrorCause.UnrecognizedMessage,
        `Unrecognized ASAP message type ${type}`,
        {
          offset: 0,
          data: bytes.slice(0, end),
        },
      );
  }
  if (d.unrecognized !== undefined) message.unrecognized = d.unrecognized;
  return message;
}
