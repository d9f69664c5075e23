/**
 * Encoding and decoding of ENRP messages (RFC 5353) in their RFC 5354 TLV form.
 *
 * @module
 */

import { WireDecoder } from "../wire/decoder.ts";
import { ErrorCause, WireError } from "../wire/errors.ts";
import { bit, need, readParameterSet } from "../wire/parameter_set.ts";
import {
  readPoolElement,
  writeOpaque,
  writeOperationError,
  writePoolElement,
  writeServerInformation,
} from "../wire/parameters.ts";
import { ParameterType } from "../wire/types.ts";
import { WireWriter } from "../wire/writer.ts";
import type { EnrpMessage, EnrpPoolEntry } from "./messages.ts";

const P = ParameterType;
const writer = new WireWriter();

function invalid(message: string): WireError {
  return new WireError(ErrorCause.InvalidValues, message);
}

/**
 * Encodes an ENRP message. The message length is the strict RFC one (without the padding of
 * the last parameter); the returned bytes include that padding.
 *
 * @throws {WireError} with cause Invalid Values when a field is out of range or missing.
 *
 * @example
 * ```ts
 * import { encodeEnrpMessage } from "@rserpool/rserpool/enrp";
 * const bytes = encodeEnrpMessage({ type: "list-request", senderId: 1, receiverId: 0 });
 * bytes.length; // 12
 * ```
 */
export function encodeEnrpMessage(message: EnrpMessage): Uint8Array {
  const w = writer;
  w.reset();
  let flags = 0;
  let code = 0;
  switch (message?.type) {
    case "presence":
      code = 0x01;
      flags = message.replyRequired ? 0x01 : 0;
      break;
    case "handle-table-request":
      code = 0x02;
      flags = message.ownChildrenOnly ? 0x01 : 0;
      break;
    case "handle-table-response":
      code = 0x03;
      flags = (message.rejected ? 0x01 : 0) | (message.more ? 0x02 : 0);
      break;
    case "handle-update":
      code = 0x04;
      flags = message.takeoverSuggested ? 0x01 : 0;
      break;
    case "list-request":
      code = 0x05;
      break;
    case "list-response":
      code = 0x06;
      flags = message.rejected ? 0x01 : 0;
      break;
    case "init-takeover":
      code = 0x07;
      break;
    case "init-takeover-ack":
      code = 0x08;
      break;
    case "takeover-server":
      code = 0x09;
      break;
    case "error":
      code = 0x0a;
      break;
    default: {
      const type = (message as { type?: unknown } | null)?.type;
      throw invalid(`Unknown ENRP message type ${String(type)}`);
    }
  }
  const m = w.beginMessage(code, flags);
  w.u32(message.senderId, "sending server ID");
  w.u32(message.receiverId, "receiving server ID");
  switch (message.type) {
    case "presence": {
      const c = w.begin(P.PeChecksum);
      w.u16(message.checksum, "PE checksum");
      w.end(c);
      if (message.serverInfo !== undefined) writeServerInformation(w, message.serverInfo);
      break;
    }
    case "handle-table-response":
      if (!Array.isArray(message.pools)) throw invalid("Pools must be an array");
      for (const pool of message.pools) {
        if (!Array.isArray(pool?.poolElements) || pool.poolElements.length === 0) {
          throw invalid("A pool in a handle table response needs at least one pool element");
        }
        writeOpaque(w, P.PoolHandle, pool.poolHandle);
        for (const pe of pool.poolElements) writePoolElement(w, pe);
      }
      break;
    case "handle-update":
      if (message.action !== "add" && message.action !== "delete") {
        throw invalid(`Invalid update action ${String(message.action)}`);
      }
      w.u16(message.action === "add" ? 0 : 1);
      w.u16(0);
      writeOpaque(w, P.PoolHandle, message.poolHandle);
      writePoolElement(w, message.poolElement);
      break;
    case "list-response":
      if (!Array.isArray(message.servers)) throw invalid("Servers must be an array");
      for (const s of message.servers) writeServerInformation(w, s);
      break;
    case "init-takeover":
    case "init-takeover-ack":
    case "takeover-server":
      w.u32(message.targetId, "target server ID");
      break;
    case "error":
      writeOperationError(w, message.error);
      break;
  }
  w.endMessage(m);
  return w.finish();
}

/**
 * Decodes an ENRP message. Accepts both the strict RFC message length and RSPLIB's, which
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
 * import { decodeEnrpMessage } from "@rserpool/rserpool/enrp";
 * const m = decodeEnrpMessage(new Uint8Array([5, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0]));
 * m.type; // "list-request"
 * ```
 */
export function decodeEnrpMessage(bytes: Uint8Array): EnrpMessage {
  const d = new WireDecoder(bytes);
  const end = d.messageLength();
  const type = bytes[0];
  const flags = bytes[1];
  if (type < 0x01 || type > 0x0a) {
    throw new WireError(ErrorCause.UnrecognizedMessage, `Unrecognized ENRP message type ${type}`, {
      offset: 0,
      data: bytes.slice(0, end),
    });
  }
  const senderId = d.u32(4, end);
  const receiverId = d.u32(8, end);
  let message: EnrpMessage;
  switch (type) {
    case 0x01: {
      const s = readParameterSet(d, 12, end, bit(P.PeChecksum) | bit(P.ServerInformation));
      if (s.serverInfos.length > 1) d.fail(12, "Second server information");
      message = {
        type: "presence",
        replyRequired: (flags & 1) !== 0,
        senderId,
        receiverId,
        checksum: need(d, s.checksum, "PE checksum"),
      };
      if (s.serverInfos.length === 1) message.serverInfo = s.serverInfos[0];
      break;
    }
    case 0x02:
      readParameterSet(d, 12, end, 0);
      message = {
        type: "handle-table-request",
        ownChildrenOnly: (flags & 1) !== 0,
        senderId,
        receiverId,
      };
      break;
    case 0x03:
      message = {
        type: "handle-table-response",
        rejected: (flags & 1) !== 0,
        more: (flags & 2) !== 0,
        senderId,
        receiverId,
        pools: readPools(d, 12, end),
      };
      break;
    case 0x04: {
      const action = d.u16(12, end);
      if (action > 1) d.fail(12, `Invalid update action ${action}`);
      d.u16(14, end);
      const s = readParameterSet(d, 16, end, bit(P.PoolHandle) | bit(P.PoolElement));
      if (s.poolElements.length !== 1) d.fail(16, "A handle update carries one pool element");
      message = {
        type: "handle-update",
        takeoverSuggested: (flags & 1) !== 0,
        senderId,
        receiverId,
        action: action === 0 ? "add" : "delete",
        poolHandle: need(d, s.poolHandle, "pool handle"),
        poolElement: s.poolElements[0],
      };
      break;
    }
    case 0x05:
      readParameterSet(d, 12, end, 0);
      message = { type: "list-request", senderId, receiverId };
      break;
    case 0x06: {
      const s = readParameterSet(d, 12, end, bit(P.ServerInformation));
      message = {
        type: "list-response",
        rejected: (flags & 1) !== 0,
        senderId,
        receiverId,
        servers: s.serverInfos,
      };
      break;
    }
    case 0x07:
    case 0x08:
    case 0x09: {
      const targetId = d.u32(12, end);
      readParameterSet(d, 16, end, 0);
      const name = type === 0x07
        ? "init-takeover"
        : type === 0x08
        ? "init-takeover-ack"
        : "takeover-server";
      message = { type: name, senderId, receiverId, targetId };
      break;
    }
    default: {
      const s = readParameterSet(d, 12, end, bit(P.OperationError));
      message = { type: "error", senderId, receiverId, error: need(d, s.error, "operation error") };
    }
  }
  if (d.unrecognized !== undefined) message.unrecognized = d.unrecognized;
  return message;
}

/** Reads the body of a HANDLE_TABLE_RESPONSE: each pool handle followed by its PEs. */
function readPools(d: WireDecoder, pos: number, end: number): EnrpPoolEntry[] {
  const pools: EnrpPoolEntry[] = [];
  let current: EnrpPoolEntry | undefined;
  while (d.scan(pos, end)) {
    const at = d.valueStart - 4;
    const next = d.next;
    if (d.type === P.PoolHandle) {
      if (current !== undefined && current.poolElements.length === 0) {
        d.fail(at, "Pool handle without pool elements");
      }
      current = { poolHandle: d.copy(d.valueStart, d.valueEnd), poolElements: [] };
      pools.push(current);
    } else if (d.type === P.PoolElement) {
      if (current === undefined) d.fail(at, "Pool element before a pool handle");
      current.poolElements.push(readPoolElement(d));
    } else {
      d.fail(at, "Unexpected parameter in a handle table response");
    }
    pos = next;
  }
  if (current !== undefined && current.poolElements.length === 0) {
    d.fail(pos, "Pool handle without pool elements");
  }
  return pools;
}
