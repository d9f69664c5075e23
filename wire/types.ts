/**
 * Plain data types of the RFC 5354 parameters shared by ASAP and ENRP, and their type codes.
 *
 * Addresses are strings in the usual text form (`"127.0.0.1"`, `"::1"`); pool handles, cookies
 * and error cause information are bytes. Load, degradation and the distance penalty factors are
 * 32-bit fractions on the wire: 0 is 0 % and `0xffffffff` is 100 %.
 *
 * @module
 */

/**
 * Parameter type codes of RFC 5354 (and the Handle Resolution Option of the ASAP draft).
 *
 * @example
 * ```ts
 * import { ParameterType } from "@rserpool/rserpool/wire";
 * ParameterType.PoolHandle; // 0x0009
 * ```
 */
export const ParameterType = {
  /** IPv4 Address. */
  Ipv4Address: 0x0001,
  /** IPv6 Address. */
  Ipv6Address: 0x0002,
  /** DCCP Transport. */
  DccpTransport: 0x0003,
  /** SCTP Transport. */
  SctpTransport: 0x0004,
  /** TCP Transport. */
  TcpTransport: 0x0005,
  /** UDP Transport. */
  UdpTransport: 0x0006,
  /** UDP-Lite Transport. */
  UdpLiteTransport: 0x0007,
  /** Pool Member Selection Policy. */
  PoolMemberSelectionPolicy: 0x0008,
  /** Pool Handle. */
  PoolHandle: 0x0009,
  /** Pool Element. */
  PoolElement: 0x000a,
  /** Server Information. */
  ServerInformation: 0x000b,
  /** Operation Error. */
  OperationError: 0x000c,
  /** Cookie. */
  Cookie: 0x000d,
  /** PE Identifier. */
  PeIdentifier: 0x000e,
  /** PE Checksum. */
  PeChecksum: 0x000f,
  /** Handle Resolution Option (ASAP draft extension; high bits `10`: skip when unknown). */
  HandleResolutionOption: 0x803f,
  /**
   * Registration Authentication (this project's extension; high bits `10`: skip when unknown, so
   * RSPLIB ignores it): a REGISTRATION signed with its pool's secret.
   */
  RegistrationAuthentication: 0x8040,
} as const;

/** How a transport address of a pool element may be used (RFC 5354, section 3.3). */
export type TransportUse = "data" | "data-control";

/**
 * A transport parameter: where a pool element or a registrar listens. SCTP carries one or more
 * addresses (multi-homing); TCP, UDP, UDP-Lite and DCCP carry exactly one.
 *
 * @example An SCTP endpoint with two addresses
 * ```ts
 * import type { TransportParameter } from "@rserpool/rserpool/wire";
 * const t: TransportParameter = {
 *   protocol: "sctp",
 *   port: 7,
 *   transportUse: "data",
 *   addresses: ["10.0.0.1", "10.0.1.1"],
 * };
 * ```
 */
export type TransportParameter =
  | SctpTransportParameter
  | TcpTransportParameter
  | UdpTransportParameter
  | UdpLiteTransportParameter
  | DccpTransportParameter;

/** An SCTP Transport parameter (type 0x0004). */
export interface SctpTransportParameter {
  /** Transport protocol. */
  protocol: "sctp";
  /** SCTP port. */
  port: number;
  /** Whether the endpoint also takes ASAP control traffic. */
  transportUse: TransportUse;
  /** One or more IPv4/IPv6 addresses. */
  addresses: string[];
}

/** A TCP Transport parameter (type 0x0005). */
export interface TcpTransportParameter {
  /** Transport protocol. */
  protocol: "tcp";
  /** TCP port. */
  port: number;
  /** Whether the endpoint also takes ASAP control traffic. */
  transportUse: TransportUse;
  /** Exactly one IPv4/IPv6 address. */
  addresses: string[];
}

/** A UDP Transport parameter (type 0x0006). */
export interface UdpTransportParameter {
  /** Transport protocol. */
  protocol: "udp";
  /** UDP port. */
  port: number;
  /** Exactly one IPv4/IPv6 address. */
  addresses: string[];
}

/** A UDP-Lite Transport parameter (type 0x0007). */
export interface UdpLiteTransportParameter {
  /** Transport protocol. */
  protocol: "udp-lite";
  /** UDP-Lite port. */
  port: number;
  /** Exactly one IPv4/IPv6 address. */
  addresses: string[];
}

/** A DCCP Transport parameter (type 0x0003). */
export interface DccpTransportParameter {
  /** Transport protocol. */
  protocol: "dccp";
  /** DCCP port. */
  port: number;
  /** DCCP service code. */
  serviceCode: number;
  /** Exactly one IPv4/IPv6 address. */
  addresses: string[];
}

/**
 * Pool member selection policy codes: RFC 5356 and RSPLIB's extensions.
 *
 * @example
 * ```ts
 * import { PolicyCode } from "@rserpool/rserpool/wire";
 * PolicyCode["least-used"]; // 0x40000001
 * ```
 */
export const PolicyCode = {
  "round-robin": 0x00000001,
  "weighted-round-robin": 0x00000002,
  "random": 0x00000003,
  "weighted-random": 0x00000004,
  "priority": 0x00000005,
  "least-used": 0x40000001,
  "least-used-degradation": 0x40000002,
  "priority-least-used": 0x40000003,
  "randomized-least-used": 0x40000004,
  "randomized-priority-least-used": 0xb0001001,
  "randomized-least-used-degradation": 0xb0001002,
  "priority-least-used-degradation": 0xb0001003,
  "randomized-priority-least-used-degradation": 0xb0001004,
  "weighted-random-dpf": 0xb0002001,
  "least-used-dpf": 0xb0002002,
  "least-used-degradation-dpf": 0xb0002003,
} as const;

/** The name of a pool member selection policy, the discriminant of {@linkcode Policy}. */
export type PolicyName = keyof typeof PolicyCode;

/**
 * A Pool Member Selection Policy parameter with its per-policy fields (RFC 5356 and RSPLIB).
 * All fields are unsigned 32-bit integers; load, degradation and DPF values are fractions of
 * `0xffffffff`, distances are whatever unit the caller measures in (RSPLIB: milliseconds).
 *
 * @example
 * ```ts
 * import type { Policy } from "@rserpool/rserpool/wire";
 * const p: Policy = { name: "least-used", load: 0x40000000 }; // 25 % loaded
 * ```
 */
export type Policy =
  | { name: "round-robin" }
  | { name: "weighted-round-robin"; weight: number }
  | { name: "random" }
  | { name: "weighted-random"; weight: number }
  | { name: "priority"; priority: number }
  | { name: "least-used"; load: number }
  | { name: "least-used-degradation"; load: number; loadDegradation: number }
  | { name: "priority-least-used"; load: number; loadDegradation: number }
  | { name: "randomized-least-used"; load: number }
  | { name: "randomized-priority-least-used"; load: number }
  | { name: "randomized-least-used-degradation"; load: number; loadDegradation: number }
  | { name: "priority-least-used-degradation"; load: number; loadDegradation: number }
  | {
    name: "randomized-priority-least-used-degradation";
    load: number;
    loadDegradation: number;
  }
  | { name: "weighted-random-dpf"; weight: number; weightDpf: number; distance: number }
  | { name: "least-used-dpf"; load: number; loadDpf: number; distance: number }
  | {
    name: "least-used-degradation-dpf";
    load: number;
    loadDegradation: number;
    loadDpf: number;
    distance: number;
  };

/**
 * A Pool Element parameter (type 0x000a): one server of a pool as registered and as resolved.
 *
 * @example
 * ```ts
 * import type { PoolElementParameter } from "@rserpool/rserpool/wire";
 * const pe: PoolElementParameter = {
 *   identifier: 0x1234,
 *   homeRegistrarId: 0,
 *   registrationLife: 90_000,
 *   userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["127.0.0.1"] },
 *   policy: { name: "round-robin" },
 * };
 * ```
 */
export interface PoolElementParameter {
  /** PE identifier, an unsigned 32-bit integer chosen by the PE. */
  identifier: number;
  /** Server ID of the PE's home registrar (0 when not known yet). */
  homeRegistrarId: number;
  /** Registration lifetime in milliseconds (as RSPLIB and Wireshark read it); -1 is infinite. */
  registrationLife: number;
  /** Where PUs reach the PE. */
  userTransport: TransportParameter;
  /** The PE's pool member selection policy and its policy data. */
  policy: Policy;
  /** The address the registrar talks ASAP with the PE on; filled in by the registrar. */
  asapTransport?: TransportParameter;
}

/**
 * A Server Information parameter (type 0x000b): a registrar's ID and ENRP endpoint.
 *
 * @example
 * ```ts
 * import type { ServerInformation } from "@rserpool/rserpool/wire";
 * const s: ServerInformation = {
 *   serverId: 0x11223344,
 *   transport: { protocol: "sctp", port: 9901, transportUse: "data", addresses: ["127.0.0.1"] },
 * };
 * ```
 */
export interface ServerInformation {
  /** The registrar's server ID. */
  serverId: number;
  /** The registrar's ENRP endpoint (an SCTP transport, or TCP when ENRP runs on TCP). */
  transport: TransportParameter;
}

/**
 * One error cause of an Operation Error parameter.
 *
 * @example
 * ```ts
 * import type { OperationErrorCause } from "@rserpool/rserpool/wire";
 * const c: OperationErrorCause = { code: 0x9, info: new Uint8Array() }; // Unknown Pool Handle
 * ```
 */
export interface OperationErrorCause {
  /** RFC 5354 cause code (see `ErrorCause`). */
  code: number;
  /** Cause-specific information: the offending parameter or message, or empty. */
  info: Uint8Array;
}

/**
 * Fields that decoding adds to every ASAP and ENRP message.
 *
 * @example
 * ```ts
 * import type { DecodedExtras } from "@rserpool/rserpool/wire";
 * const extras: DecodedExtras = { unrecognized: [new Uint8Array([0xc0, 0x01, 0x00, 0x04])] };
 * ```
 */
export interface DecodedExtras {
  /**
   * Parameters of unknown type whose high bits ask for a report (`11`: skip and report), as
   * their raw TLV bytes, in the order met. Absent when there were none. Ignored by encoding.
   */
  unrecognized?: Uint8Array[];
}
