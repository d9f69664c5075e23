/**
 * ASAP messages (RFC 5352) as a discriminated union of plain objects.
 *
 * @module
 */

import type {
  DecodedExtras,
  OperationErrorCause,
  Policy,
  PoolElementParameter,
  TransportParameter,
} from "../wire/types.ts";

/**
 * ASAP message type codes (RFC 5352, section 2.2).
 *
 * @example
 * ```ts
 * import { AsapMessageType } from "@rserpool/rserpool/asap";
 * AsapMessageType["handle-resolution"]; // 0x05
 * ```
 */
export const AsapMessageType = {
  "registration": 0x01,
  "deregistration": 0x02,
  "registration-response": 0x03,
  "deregistration-response": 0x04,
  "handle-resolution": 0x05,
  "handle-resolution-response": 0x06,
  "endpoint-keep-alive": 0x07,
  "endpoint-keep-alive-ack": 0x08,
  "endpoint-unreachable": 0x09,
  "server-announce": 0x0a,
  "cookie": 0x0b,
  "cookie-echo": 0x0c,
  "business-card": 0x0d,
  "error": 0x0e,
} as const;

/** The name of an ASAP message type, the discriminant of {@linkcode AsapMessage}. */
export type AsapMessageName = keyof typeof AsapMessageType;

/** REGISTRATION (0x01): a PE registers or re-registers into a pool. */
export interface AsapRegistration extends DecodedExtras {
  /** Message type. */
  type: "registration";
  /** The pool to register into. */
  poolHandle: Uint8Array;
  /** The PE with its transport and policy data. */
  poolElement: PoolElementParameter;
  /**
   * Signature by the pool's secret (this project's Registration Authentication parameter,
   * skipped by implementations that do not know it; see `signRegistration`).
   */
  authentication?: Uint8Array;
}

/** DEREGISTRATION (0x02): a PE leaves a pool. */
export interface AsapDeregistration extends DecodedExtras {
  /** Message type. */
  type: "deregistration";
  /** The pool to leave. */
  poolHandle: Uint8Array;
  /** The PE's identifier. */
  identifier: number;
}

/** REGISTRATION_RESPONSE (0x03): the registrar's answer to a REGISTRATION. */
export interface AsapRegistrationResponse extends DecodedExtras {
  /** Message type. */
  type: "registration-response";
  /** R flag: the registration was rejected. */
  rejected: boolean;
  /** The pool. */
  poolHandle: Uint8Array;
  /** The PE's identifier. */
  identifier: number;
  /** Why it was rejected (an Operation Error parameter). */
  error?: OperationErrorCause[];
}

/** DEREGISTRATION_RESPONSE (0x04): the registrar's answer to a DEREGISTRATION. */
export interface AsapDeregistrationResponse extends DecodedExtras {
  /** Message type. */
  type: "deregistration-response";
  /** The pool. */
  poolHandle: Uint8Array;
  /** The PE's identifier. */
  identifier: number;
  /** Why it failed (an Operation Error parameter). */
  error?: OperationErrorCause[];
}

/** HANDLE_RESOLUTION (0x05): a PU asks for PEs of a pool. */
export interface AsapHandleResolution extends DecodedExtras {
  /** Message type. */
  type: "handle-resolution";
  /** S flag: the PU wants to be told of changes to the pool. */
  wantsUpdates: boolean;
  /** The pool. */
  poolHandle: Uint8Array;
  /**
   * Handle Resolution Option: how many PEs the PU wants; `0xffffffff` means as many as
   * possible. Absent: the registrar's default.
   */
  items?: number;
}

/** HANDLE_RESOLUTION_RESPONSE (0x06): PEs of a pool, or an error. */
export interface AsapHandleResolutionResponse extends DecodedExtras {
  /** Message type. */
  type: "handle-resolution-response";
  /** A flag: the registrar accepted the request for updates. */
  acceptsUpdates: boolean;
  /** The pool. */
  poolHandle: Uint8Array;
  /** The pool's policy; absent means Round Robin. Absent too in a negative answer. */
  policy?: Policy;
  /** The selected PEs (none in a negative answer). */
  poolElements: PoolElementParameter[];
  /** Why the resolution failed (for example Unknown Pool Handle). */
  error?: OperationErrorCause[];
}

/** ENDPOINT_KEEP_ALIVE (0x07): the home registrar checks that a PE is alive. */
export interface AsapEndpointKeepAlive extends DecodedExtras {
  /** Message type. */
  type: "endpoint-keep-alive";
  /** H flag: the sender becomes the PE's home registrar (after a takeover). */
  home: boolean;
  /** Server ID of the sending registrar. */
  serverId: number;
  /** The pool. */
  poolHandle: Uint8Array;
  /** The PE's identifier (RSPLIB sends it; RFC 5352 does not require it). */
  identifier?: number;
}

/** ENDPOINT_KEEP_ALIVE_ACK (0x08): a PE's answer to a keep-alive. */
export interface AsapEndpointKeepAliveAck extends DecodedExtras {
  /** Message type. */
  type: "endpoint-keep-alive-ack";
  /** The pool. */
  poolHandle: Uint8Array;
  /** The PE's identifier. */
  identifier: number;
}

/** ENDPOINT_UNREACHABLE (0x09): a PU reports a PE it could not reach. */
export interface AsapEndpointUnreachable extends DecodedExtras {
  /** Message type. */
  type: "endpoint-unreachable";
  /** The pool. */
  poolHandle: Uint8Array;
  /** The unreachable PE's identifier. */
  identifier: number;
}

/** SERVER_ANNOUNCE (0x0a): a registrar announces itself by multicast. */
export interface AsapServerAnnounce extends DecodedExtras {
  /** Message type. */
  type: "server-announce";
  /** Server ID of the registrar. */
  serverId: number;
  /** Where to reach it; none means SCTP to the sender's address, port 3863. */
  transports: TransportParameter[];
}

/** COOKIE (0x0b): a PE hands its PU a state cookie. */
export interface AsapCookie extends DecodedExtras {
  /** Message type. */
  type: "cookie";
  /** The opaque cookie. */
  cookie: Uint8Array;
}

/** COOKIE_ECHO (0x0c): a PU hands the last cookie to the PE it failed over to. */
export interface AsapCookieEcho extends DecodedExtras {
  /** Message type. */
  type: "cookie-echo";
  /** The opaque cookie. */
  cookie: Uint8Array;
}

/** BUSINESS_CARD (0x0d): a PE tells its PU which PEs to fail over to. */
export interface AsapBusinessCard extends DecodedExtras {
  /** Message type. */
  type: "business-card";
  /** The pool. */
  poolHandle: Uint8Array;
  /** PEs to fail over to, in order of preference. */
  poolElements: PoolElementParameter[];
}

/** ERROR (0x0e): reports an unrecognized message or parameter. */
export interface AsapError extends DecodedExtras {
  /** Message type. */
  type: "error";
  /** The error causes. */
  error: OperationErrorCause[];
}

/**
 * Any ASAP message.
 *
 * @example
 * ```ts
 * import type { AsapMessage } from "@rserpool/rserpool/asap";
 * const m: AsapMessage = {
 *   type: "handle-resolution",
 *   wantsUpdates: false,
 *   poolHandle: new TextEncoder().encode("EchoPool1"),
 * };
 * ```
 */
export type AsapMessage =
  | AsapRegistration
  | AsapDeregistration
  | AsapRegistrationResponse
  | AsapDeregistrationResponse
  | AsapHandleResolution
  | AsapHandleResolutionResponse
  | AsapEndpointKeepAlive
  | AsapEndpointKeepAliveAck
  | AsapEndpointUnreachable
  | AsapServerAnnounce
  | AsapCookie
  | AsapCookieEcho
  | AsapBusinessCard
  | AsapError;
