/**
 * ENRP messages (RFC 5353) as a discriminated union of plain objects.
 *
 * @module
 */

import type {
  DecodedExtras,
  OperationErrorCause,
  PoolElementParameter,
  ServerInformation,
} from "../wire/types.ts";

/**
 * ENRP message type codes (RFC 5353, section 2).
 *
 * @example
 * ```ts
 * import { EnrpMessageType } from "@rserpool/rserpool/enrp";
 * EnrpMessageType["presence"]; // 0x01
 * ```
 */
export const EnrpMessageType = {
  "presence": 0x01,
  "handle-table-request": 0x02,
  "handle-table-response": 0x03,
  "handle-update": 0x04,
  "list-request": 0x05,
  "list-response": 0x06,
  "init-takeover": 0x07,
  "init-takeover-ack": 0x08,
  "takeover-server": 0x09,
  "error": 0x0a,
} as const;

/** The name of an ENRP message type, the discriminant of {@linkcode EnrpMessage}. */
export type EnrpMessageName = keyof typeof EnrpMessageType;

/** The two server IDs that start every ENRP message. */
export interface EnrpHeader extends DecodedExtras {
  /** Server ID of the sending registrar. */
  senderId: number;
  /** Server ID of the receiving registrar; 0 means all peers. */
  receiverId: number;
}

/** PRESENCE (0x01): a registrar's heartbeat, with the checksum of the PEs it owns. */
export interface EnrpPresence extends EnrpHeader {
  /** Message type. */
  type: "presence";
  /** R flag: the receiver must answer with a PRESENCE of its own. */
  replyRequired: boolean;
  /** PE Checksum (RFC 1071 checksum over the sender's own PEs). */
  checksum: number;
  /** The sender's ENRP endpoint. */
  serverInfo?: ServerInformation;
}

/** HANDLE_TABLE_REQUEST (0x02): asks a peer for its handlespace. */
export interface EnrpHandleTableRequest extends EnrpHeader {
  /** Message type. */
  type: "handle-table-request";
  /** W flag: only the PEs the receiver owns. */
  ownChildrenOnly: boolean;
}

/** One pool in a HANDLE_TABLE_RESPONSE: a handle and its PEs. */
export interface EnrpPoolEntry {
  /** The pool handle. */
  poolHandle: Uint8Array;
  /** One or more PEs of the pool. */
  poolElements: PoolElementParameter[];
}

/** HANDLE_TABLE_RESPONSE (0x03): a part of the sender's handlespace. */
export interface EnrpHandleTableResponse extends EnrpHeader {
  /** Message type. */
  type: "handle-table-response";
  /** R flag: the request was rejected. */
  rejected: boolean;
  /** M flag: more parts follow. */
  more: boolean;
  /** Pools with their PEs. */
  pools: EnrpPoolEntry[];
}

/** Update action of a HANDLE_UPDATE. */
export type EnrpUpdateAction = "add" | "delete";

/** HANDLE_UPDATE (0x04): a PE was added to or removed from the sender's handlespace. */
export interface EnrpHandleUpdate extends EnrpHeader {
  /** Message type. */
  type: "handle-update";
  /** T flag (draft extension): the sender suggests a takeover. */
  takeoverSuggested: boolean;
  /** ADD_PE (0) or DEL_PE (1). */
  action: EnrpUpdateAction;
  /** The pool. */
  poolHandle: Uint8Array;
  /** The PE. */
  poolElement: PoolElementParameter;
}

/** LIST_REQUEST (0x05): asks a peer for its list of registrars. */
export interface EnrpListRequest extends EnrpHeader {
  /** Message type. */
  type: "list-request";
}

/** LIST_RESPONSE (0x06): the sender's list of registrars. */
export interface EnrpListResponse extends EnrpHeader {
  /** Message type. */
  type: "list-response";
  /** R flag: the request was rejected. */
  rejected: boolean;
  /** The registrars the sender knows. */
  servers: ServerInformation[];
}

/** INIT_TAKEOVER (0x07): the sender wants to take over a dead registrar's PEs. */
export interface EnrpInitTakeover extends EnrpHeader {
  /** Message type. */
  type: "init-takeover";
  /** Server ID of the registrar to take over. */
  targetId: number;
}

/** INIT_TAKEOVER_ACK (0x08): the sender agrees to a takeover. */
export interface EnrpInitTakeoverAck extends EnrpHeader {
  /** Message type. */
  type: "init-takeover-ack";
  /** Server ID of the registrar being taken over. */
  targetId: number;
}

/** TAKEOVER_SERVER (0x09): the sender has taken over a registrar's PEs. */
export interface EnrpTakeoverServer extends EnrpHeader {
  /** Message type. */
  type: "takeover-server";
  /** Server ID of the registrar taken over. */
  targetId: number;
}

/** ERROR (0x0a): reports an unrecognized message or parameter. */
export interface EnrpError extends EnrpHeader {
  /** Message type. */
  type: "error";
  /** The error causes. */
  error: OperationErrorCause[];
}

/**
 * Any ENRP message.
 *
 * @example
 * ```ts
 * import type { EnrpMessage } from "@rserpool/rserpool/enrp";
 * const m: EnrpMessage = { type: "list-request", senderId: 1, receiverId: 2 };
 * ```
 */
export type EnrpMessage =
  | EnrpPresence
  | EnrpHandleTableRequest
  | EnrpHandleTableResponse
  | EnrpHandleUpdate
  | EnrpListRequest
  | EnrpListResponse
  | EnrpInitTakeover
  | EnrpInitTakeoverAck
  | EnrpTakeoverServer
  | EnrpError;
