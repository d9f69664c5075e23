/**
 * Encoding and decoding of the RFC 5354 parameters that have structure: transports, policies,
 * pool elements, server information and operation errors.
 *
 * @module
 */

import type { WireDecoder } from "./decoder.ts";
import { ErrorCause, WireError } from "./errors.ts";
import {
  type OperationErrorCause,
  ParameterType,
  type Policy,
  PolicyCode,
  type PolicyName,
  type PoolElementParameter,
  type ServerInformation,
  type TransportParameter,
  type TransportUse,
} from "./types.ts";
import { WireWriter } from "./writer.ts";

/**
 * Decoding limits. Nesting is fixed by the message formats (message, pool element, transport,
 * address: at most 4 levels), and every count is also bounded by the 16-bit length field.
 *
 * @example
 * ```ts
 * import { WIRE_LIMITS } from "@rserpool/rserpool/wire";
 * WIRE_LIMITS.maxAddressesPerTransport; // 64
 * ```
 */
export const WIRE_LIMITS = {
  /** Addresses in one transport parameter. */
  maxAddressesPerTransport: 64,
  /** Error causes in one Operation Error parameter. */
  maxErrorCauses: 64,
} as const;

const TRANSPORT_TYPES: Record<TransportParameter["protocol"], number> = {
  "sctp": ParameterType.SctpTransport,
  "tcp": ParameterType.TcpTransport,
  "udp": ParameterType.UdpTransport,
  "udp-lite": ParameterType.UdpLiteTransport,
  "dccp": ParameterType.DccpTransport,
};

/** Field names of each policy after its type code, in wire order. */
const POLICY_FIELDS: Record<PolicyName, readonly string[]> = {
  "round-robin": [],
  "weighted-round-robin": ["weight"],
  "random": [],
  "weighted-random": ["weight"],
  "priority": ["priority"],
  "least-used": ["load"],
  "least-used-degradation": ["load", "loadDegradation"],
  "priority-least-used": ["load", "loadDegradation"],
  "randomized-least-used": ["load"],
  "randomized-priority-least-used": ["load"],
  "randomized-least-used-degradation": ["load", "loadDegradation"],
  "priority-least-used-degradation": ["load", "loadDegradation"],
  "randomized-priority-least-used-degradation": ["load", "loadDegradation"],
  "weighted-random-dpf": ["weight", "weightDpf", "distance"],
  "least-used-dpf": ["load", "loadDpf", "distance"],
  "least-used-degradation-dpf": ["load", "loadDegradation", "loadDpf", "distance"],
};

const POLICY_BY_CODE = new Map<number, PolicyName>();
for (const [name, code] of Object.entries(PolicyCode)) {
  POLICY_BY_CODE.set(code, name as PolicyName);
}

/**
 * The fields of a policy after its type code, in wire order.
 *
 * @example
 * ```ts
 * import { policyFields } from "@rserpool/rserpool/wire";
 * policyFields("least-used-degradation"); // ["load", "loadDegradation"]
 * ```
 */
export function policyFields(name: PolicyName): readonly string[] {
  return POLICY_FIELDS[name];
}

/**
 * Whether `name` is a known policy name.
 *
 * @example
 * ```ts
 * import { isPolicyName } from "@rserpool/rserpool/wire";
 * isPolicyName("least-used"); // true
 * ```
 */
export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICY_FIELDS, name);
}

function invalid(message: string): WireError {
  return new WireError(ErrorCause.InvalidValues, message);
}

/** Writes a transport parameter. */
export function writeTransport(w: WireWriter, t: TransportParameter): void {
  const type = t === null || typeof t !== "object" ? undefined : TRANSPORT_TYPES[t.protocol];
  if (type === undefined) throw invalid("Unknown transport protocol");
  const addresses = t.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw invalid("A transport needs at least one address");
  }
  if (t.protocol !== "sctp" && addresses.length !== 1) {
    throw invalid(`A ${t.protocol} transport carries exactly one address`);
  }
  if (addresses.length > WIRE_LIMITS.maxAddressesPerTransport) {
    throw invalid("Too many addresses in a transport");
  }
  const start = w.begin(type);
  w.u16(t.port, "port");
  if (t.protocol === "sctp" || t.protocol === "tcp") {
    if (t.transportUse !== "data" && t.transportUse !== "data-control") {
      throw invalid(`Invalid transport use ${String(t.transportUse)}`);
    }
    w.u16(t.transportUse === "data" ? 0 : 1);
  } else if (t.protocol === "dccp") {
    w.u16(0);
    w.u32(t.serviceCode, "DCCP service code");
  } else {
    w.u16(0);
  }
  for (const a of addresses) w.address(a);
  w.end(start);
}

/** Reads the transport parameter just found by `d.scan()`; undefined if it is not one. */
export function readTransport(d: WireDecoder): TransportParameter | undefined {
  const type = d.type;
  if (type < ParameterType.DccpTransport || type > ParameterType.UdpLiteTransport) {
    return undefined;
  }
  const vs = d.valueStart;
  const ve = d.valueEnd;
  const port = d.u16(vs, ve);
  const second = d.u16(vs + 2, ve);
  let pos = vs + 4;
  let serviceCode = 0;
  if (type === ParameterType.DccpTransport) {
    serviceCode = d.u32(pos, ve);
    pos += 4;
  }
  const addresses: string[] = [];
  while (d.scan(pos, ve)) {
    const a = d.address();
    if (a === undefined) d.fail(d.valueStart - 4, "Expected an address parameter");
    if (addresses.length === WIRE_LIMITS.maxAddressesPerTransport) {
      d.fail(d.valueStart - 4, "Too many addresses in a transport");
    }
    addresses.push(a);
    pos = d.next;
  }
  if (addresses.length === 0) d.fail(vs - 4, "Transport without an address");
  if (type !== ParameterType.SctpTransport && addresses.length !== 1) {
    d.fail(vs - 4, "Transport with more than one address");
  }
  switch (type) {
    case ParameterType.SctpTransport:
    case ParameterType.TcpTransport: {
      if (second > 1) d.fail(vs + 2, `Invalid transport use ${second}`);
      const transportUse: TransportUse = second === 0 ? "data" : "data-control";
      return type === ParameterType.SctpTransport
        ? { protocol: "sctp", port, transportUse, addresses }
        : { protocol: "tcp", port, transportUse, addresses };
    }
    case ParameterType.UdpTransport:
      return { protocol: "udp", port, addresses };
    case ParameterType.UdpLiteTransport:
      return { protocol: "udp-lite", port, addresses };
    default:
      return { protocol: "dccp", port, serviceCode, addresses };
  }
}

/** Writes a Pool Member Selection Policy parameter. */
export function writePolicy(w: WireWriter, p: Policy): void {
  const name = p === null || typeof p !== "object" ? undefined : p.name;
  if (name === undefined || !isPolicyName(name)) {
    throw invalid(`Unknown policy ${String(name)}`);
  }
  const start = w.begin(ParameterType.PoolMemberSelectionPolicy);
  w.u32(PolicyCode[name]);
  const record = p as unknown as Record<string, number>;
  for (const field of POLICY_FIELDS[name]) w.u32(record[field], `policy ${field}`);
  w.end(start);
}

/**
 * Reads the policy parameter just found by `d.scan()`. Fields beyond those the policy defines
 * are ignored; fewer is an error, and so is a policy code that is not known.
 */
export function readPolicy(d: WireDecoder): Policy {
  const vs = d.valueStart;
  const ve = d.valueEnd;
  const code = d.u32(vs, ve);
  const name = POLICY_BY_CODE.get(code);
  if (name === undefined) d.fail(vs, `Unknown policy type 0x${code.toString(16)}`);
  const fields = POLICY_FIELDS[name];
  if (ve - vs < 4 + 4 * fields.length) {
    d.fail(vs - 2, `Policy ${name} needs ${fields.length} fields`);
  }
  const policy: Record<string, unknown> = { name };
  for (let i = 0; i < fields.length; i++) policy[fields[i]] = d.view.getUint32(vs + 4 + 4 * i);
  return policy as Policy;
}

/** Writes a Pool Element parameter. */
export function writePoolElement(w: WireWriter, pe: PoolElementParameter): void {
  if (pe === null || typeof pe !== "object") throw invalid("Missing pool element");
  const cached = (pe as { [ENCODED]?: Uint8Array })[ENCODED];
  if (cached !== undefined) {
    w.bytes(cached);
    return;
  }
  const start = w.begin(ParameterType.PoolElement);
  w.u32(pe.identifier, "PE identifier");
  w.u32(pe.homeRegistrarId, "home registrar ID");
  w.i32(pe.registrationLife, "registration life");
  writeTransport(w, pe.userTransport);
  writePolicy(w, pe.policy);
  if (pe.asapTransport !== undefined) writeTransport(w, pe.asapTransport);
  w.end(start);
}

/** Where {@linkcode freezePoolElement} keeps a PE's encoding (not enumerable). */
const ENCODED: unique symbol = Symbol("encoded Pool Element parameter");
const freezeWriter = new WireWriter();

/**
 * Deeply freezes a Pool Element parameter (its transports, addresses and policy too), encodes
 * it once and keeps the bytes with it, and returns it: a registrar sends the same PEs in every
 * handle resolution. (Every part of a Pool Element parameter is a multiple of 4 bytes long, so
 * the bytes carry no padding of their own.)
 *
 * @throws {WireError} when the parameter does not encode.
 *
 * @example
 * ```ts
 * import { freezePoolElement } from "@rserpool/rserpool/wire";
 * const pe = freezePoolElement({
 *   identifier: 1,
 *   homeRegistrarId: 0,
 *   registrationLife: 30_000,
 *   userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["127.0.0.1"] },
 *   policy: { name: "round-robin" },
 * });
 * Object.isFrozen(pe.userTransport.addresses); // true
 * ```
 */
export function freezePoolElement(pe: PoolElementParameter): PoolElementParameter {
  for (const t of [pe.userTransport, pe.asapTransport]) {
    if (t === undefined) continue;
    Object.freeze(t.addresses);
    Object.freeze(t);
  }
  Object.freeze(pe.policy);
  freezeWriter.reset();
  writePoolElement(freezeWriter, pe);
  Object.defineProperty(pe, ENCODED, { value: freezeWriter.finish(), enumerable: false });
  return Object.freeze(pe);
}

/** Reads the Pool Element parameter just found by `d.scan()`. */
export function readPoolElement(d: WireDecoder): PoolElementParameter {
  const vs = d.valueStart;
  const ve = d.valueEnd;
  const identifier = d.u32(vs, ve);
  const homeRegistrarId = d.u32(vs + 4, ve);
  const registrationLife = d.i32(vs + 8, ve);
  let pos = vs + 12;
  let userTransport: TransportParameter | undefined;
  let policy: Policy | undefined;
  let asapTransport: TransportParameter | undefined;
  while (d.scan(pos, ve)) {
    const next = d.next;
    const at = d.valueStart - 4;
    if (d.type === ParameterType.PoolMemberSelectionPolicy) {
      if (policy !== undefined) d.fail(at, "Second policy in a pool element");
      policy = readPolicy(d);
    } else {
      const t = readTransport(d);
      if (t === undefined) d.fail(at, "Unexpected parameter in a pool element");
      if (userTransport === undefined) userTransport = t;
      else if (asapTransport === undefined) asapTransport = t;
      else d.fail(at, "Third transport in a pool element");
    }
    pos = next;
  }
  if (userTransport === undefined) d.fail(vs - 4, "Pool element without a user transport");
  if (policy === undefined) d.fail(vs - 4, "Pool element without a policy");
  const pe: PoolElementParameter = {
    identifier,
    homeRegistrarId,
    registrationLife,
    userTransport,
    policy,
  };
  if (asapTransport !== undefined) pe.asapTransport = asapTransport;
  return pe;
}

/** Writes a Server Information parameter. */
export function writeServerInformation(w: WireWriter, s: ServerInformation): void {
  if (s === null || typeof s !== "object") throw invalid("Missing server information");
  const start = w.begin(ParameterType.ServerInformation);
  w.u32(s.serverId, "server ID");
  writeTransport(w, s.transport);
  w.end(start);
}

/** Reads the Server Information parameter just found by `d.scan()`. */
export function readServerInformation(d: WireDecoder): ServerInformation {
  const vs = d.valueStart;
  const ve = d.valueEnd;
  const serverId = d.u32(vs, ve);
  if (!d.scan(vs + 4, ve)) d.fail(vs + 4, "Server information without a transport");
  const transport = readTransport(d);
  if (transport === undefined) d.fail(d.valueStart - 4, "Server information without a transport");
  return { serverId, transport };
}

/** Writes an Operation Error parameter. */
export function writeOperationError(w: WireWriter, causes: OperationErrorCause[]): void {
  if (!Array.isArray(causes)) throw invalid("Operation error causes must be an array");
  if (causes.length > WIRE_LIMITS.maxErrorCauses) throw invalid("Too many error causes");
  const start = w.begin(ParameterType.OperationError);
  for (const c of causes) {
    if (!(c?.info instanceof Uint8Array)) throw invalid("Error cause information must be bytes");
    const cs = w.begin(c.code);
    w.bytes(c.info);
    w.end(cs);
  }
  w.end(start);
}

/** Reads the Operation Error parameter just found by `d.scan()`. */
export function readOperationError(d: WireDecoder): OperationErrorCause[] {
  const ve = d.valueEnd;
  let pos = d.valueStart;
  const causes: OperationErrorCause[] = [];
  while (pos < ve) {
    if (ve - pos < 4) d.fail(pos, "Truncated error cause");
    const code = d.view.getUint16(pos);
    const length = d.view.getUint16(pos + 2);
    if (length < 4 || length > ve - pos) d.fail(pos + 2, `Invalid error cause length ${length}`);
    if (causes.length === WIRE_LIMITS.maxErrorCauses) d.fail(pos, "Too many error causes");
    causes.push({ code, info: d.copy(pos + 4, pos + length) });
    pos += (length + 3) & ~3;
  }
  return causes;
}

/** Writes a parameter whose value is the given bytes (Pool Handle, Cookie). */
export function writeOpaque(w: WireWriter, type: number, value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) {
    throw invalid(
      `The value of a ${type === ParameterType.Cookie ? "cookie" : "pool handle"} must be bytes`,
    );
  }
  const start = w.begin(type);
  w.bytes(value);
  w.end(start);
}

/** Writes a parameter whose value is one unsigned 32-bit integer (PE Identifier, option). */
export function writeU32Parameter(w: WireWriter, type: number, value: number, what: string): void {
  const start = w.begin(type);
  w.u32(value, what);
  w.end(start);
}

/** Reads the value of the parameter just found by `d.scan()` as one exact u32. */
export function readU32Parameter(d: WireDecoder): number {
  if (d.valueEnd - d.valueStart !== 4) d.fail(d.valueStart - 2, "Parameter length must be 8");
  return d.view.getUint32(d.valueStart);
}
