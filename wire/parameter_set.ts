/**
 * Reading the parameters of a message body into one record, with the set of parameter types
 * the message allows.
 *
 * @module
 */

import { parameterTypeName, type WireDecoder } from "./decoder.ts";
import {
  readOperationError,
  readPolicy,
  readPoolElement,
  readServerInformation,
  readTransport,
  readU32Parameter,
} from "./parameters.ts";
import {
  type OperationErrorCause,
  ParameterType,
  type Policy,
  type PoolElementParameter,
  type ServerInformation,
  type TransportParameter,
} from "./types.ts";

/** The parameters read from a message body. Lists are empty when there were none. */
export interface ParameterSet {
  /** Pool Handle. */
  poolHandle?: Uint8Array;
  /** PE Identifier. */
  identifier?: number;
  /** Pool Member Selection Policy (top level, not inside a pool element). */
  policy?: Policy;
  /** Pool Element parameters in order. */
  poolElements: PoolElementParameter[];
  /** Transport parameters in order (top level). */
  transports: TransportParameter[];
  /** Operation Error causes. */
  error?: OperationErrorCause[];
  /** Cookie. */
  cookie?: Uint8Array;
  /** PE Checksum. */
  checksum?: number;
  /** Server Information parameters in order. */
  serverInfos: ServerInformation[];
  /** Handle Resolution Option. */
  items?: number;
  /** Registration Authentication. */
  authentication?: Uint8Array;
}

/** Bit of a parameter type in an `allowed` mask of {@linkcode readParameterSet}. */
export function bit(type: number): number {
  if (type === ParameterType.HandleResolutionOption) return 1 << 16;
  if (type === ParameterType.RegistrationAuthentication) return 1 << 17;
  return 1 << type;
}

/** A mask of allowed transport types. */
export const TRANSPORTS: number = bit(ParameterType.SctpTransport) |
  bit(ParameterType.TcpTransport) | bit(ParameterType.UdpTransport) |
  bit(ParameterType.UdpLiteTransport) | bit(ParameterType.DccpTransport);

/**
 * Reads every parameter in `[pos, end)`. A known parameter type not in `allowed`, or a second
 * one of a type that may occur once, is an Invalid Values error.
 */
export function readParameterSet(
  d: WireDecoder,
  pos: number,
  end: number,
  allowed: number,
): ParameterSet {
  const set: ParameterSet = { poolElements: [], transports: [], serverInfos: [] };
  while (d.scan(pos, end)) {
    const type = d.type;
    const at = d.valueStart - 4;
    const next = d.next;
    if ((allowed & bit(type)) === 0) {
      d.fail(at, `Unexpected ${parameterTypeName(type)} parameter`);
    }
    switch (type) {
      case ParameterType.PoolHandle:
        if (set.poolHandle !== undefined) d.fail(at, "Second pool handle");
        set.poolHandle = d.copy(d.valueStart, d.valueEnd);
        break;
      case ParameterType.PeIdentifier:
        if (set.identifier !== undefined) d.fail(at, "Second PE identifier");
        set.identifier = readU32Parameter(d);
        break;
      case ParameterType.PoolMemberSelectionPolicy:
        if (set.policy !== undefined) d.fail(at, "Second policy");
        set.policy = readPolicy(d);
        break;
      case ParameterType.PoolElement:
        set.poolElements.push(readPoolElement(d));
        break;
      case ParameterType.OperationError:
        if (set.error !== undefined) d.fail(at, "Second operation error");
        set.error = readOperationError(d);
        break;
      case ParameterType.Cookie:
        if (set.cookie !== undefined) d.fail(at, "Second cookie");
        set.cookie = d.copy(d.valueStart, d.valueEnd);
        break;
      case ParameterType.PeChecksum:
        if (set.checksum !== undefined) d.fail(at, "Second PE checksum");
        // Value: checksum u16 (the parameter length is 6; 2 padding bytes follow).
        if (d.valueEnd - d.valueStart !== 2 && d.valueEnd - d.valueStart !== 4) {
          d.fail(at + 2, "PE checksum length must be 6");
        }
        set.checksum = d.view.getUint16(d.valueStart);
        break;
      case ParameterType.ServerInformation:
        set.serverInfos.push(readServerInformation(d));
        break;
      case ParameterType.HandleResolutionOption:
        if (set.items !== undefined) d.fail(at, "Second handle resolution option");
        set.items = readU32Parameter(d);
        break;
      case ParameterType.RegistrationAuthentication:
        if (set.authentication !== undefined) d.fail(at, "Second registration authentication");
        set.authentication = d.copy(d.valueStart, d.valueEnd);
        break;
      default: {
        const t = readTransport(d);
        if (t === undefined) d.fail(at, `Unexpected ${parameterTypeName(type)} parameter`);
        set.transports.push(t);
      }
    }
    pos = next;
  }
  return set;
}

/** A required parameter, or an Invalid Values error naming it. */
export function need<T>(d: WireDecoder, value: T | undefined, what: string): T {
  if (value === undefined) d.fail(4, `Missing ${what} parameter`);
  return value;
}
