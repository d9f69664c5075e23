/**
 * The handlespace: pools of pool elements keyed by pool handle, handle resolution by each
 * pool's selection policy, expiry timers on an injected clock, ownership by home registrar and
 * the RFC 5353 PE checksum. Pure data structures, no I/O.
 *
 * @example
 * ```ts
 * import { Handlespace } from "@rserpool/rserpool/handlespace";
 * const hs = new Handlespace({ clock: () => 0, random: () => 0.5 });
 * const handle = new TextEncoder().encode("EchoPool");
 * hs.registerPoolElement(handle, {
 *   identifier: 0x1234,
 *   homeRegistrarId: 1,
 *   registrationLife: 30_000,
 *   userTransport: { protocol: "sctp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
 *   policy: { name: "least-used", load: 0 },
 * });
 * hs.selectPoolElements(handle, 3).length; // 1
 * hs.ownerChecksum(1) === hs.computeOwnerChecksum(1); // true
 * ```
 *
 * @module
 */

export {
  Handlespace,
  type HandlespaceOptions,
  type PoolElementEntry,
  type PoolInfo,
  type RegisterOptions,
  type RegistrationResult,
  type SelectOptions,
} from "./handlespace.ts";
export { HandlespaceError } from "./errors.ts";
export {
  type ChecksumItem,
  finishChecksum,
  peChecksum,
  peChecksumTerm,
  wordSum,
} from "./checksum.ts";
export { poolHandleKey } from "./pool_handle.ts";
export {
  type DccpTransportParameter,
  type Policy,
  PolicyCode,
  type PolicyName,
  type PoolElementParameter,
  type SctpTransportParameter,
  type TcpTransportParameter,
  type TransportParameter,
  type TransportUse,
  type UdpLiteTransportParameter,
  type UdpTransportParameter,
} from "../wire/types.ts";
export type { RandomSource } from "../policy/random_source.ts";
