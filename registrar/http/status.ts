/**
 * JSON views of a registrar for its HTTP API: the registrar itself (endpoints, uptime, limits,
 * associations, ENRP peers), its pools, and their PEs. They only read the registrar.
 *
 * @module
 */

import type { PoolElementEntry } from "../../handlespace/mod.ts";
import type { EndpointAddress } from "../../transport/open.ts";
import type { TransportParameter } from "../../wire/types.ts";
import type { Registrar, RegistrarPeState } from "../registrar.ts";

/**
 * A server ID or PE identifier as 8 hex digits, the form the API and the page use everywhere.
 *
 * @example
 * ```ts
 * import { formatId } from "./status.ts";
 * formatId(0xabcd); // "0000abcd"
 * ```
 */
export function formatId(id: number): string {
  return (id >>> 0).toString(16).padStart(8, "0");
}

const textDecoder = new TextDecoder();

/**
 * A pool handle as text (UTF-8; bytes that are not are shown as U+FFFD).
 *
 * @example
 * ```ts
 * import { poolHandleText } from "./status.ts";
 * poolHandleText(new TextEncoder().encode("EchoPool")); // "EchoPool"
 * ```
 */
export function poolHandleText(handle: Uint8Array): string {
  return textDecoder.decode(handle);
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The path of a pool in the API: `/api/pools/` and the handle's bytes percent-encoded (all but
 * the unreserved characters of RFC 3986), so that any handle, text or not, has one.
 *
 * @example
 * ```ts
 * import { poolPath } from "./status.ts";
 * poolPath(new TextEncoder().encode("Echo Pool")); // "/api/pools/Echo%20Pool"
 * ```
 */
export function poolPath(handle: Uint8Array): string {
  let path = "/api/pools/";
  for (const byte of handle) {
    const c = String.fromCharCode(byte);
    path += byte < 0x80 && UNRESERVED.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return path;
}

/**
 * The pool handle of a path segment: percent escapes are bytes, other characters UTF-8. The
 * inverse of {@linkcode poolPath}; undefined for a malformed escape.
 *
 * @example
 * ```ts
 * import { parsePoolSegment } from "./status.ts";
 * parsePoolSegment("Echo%20Pool"); // the bytes of "Echo Pool"
 * ```
 */
export function parsePoolSegment(segment: string): Uint8Array | undefined {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "%") {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = segment.codePointAt(i)!;
      const char = String.fromCodePoint(code);
      bytes.push(...encoder.encode(char));
      i += char.length - 1;
    }
  }
  return new Uint8Array(bytes);
}

/**
 * An endpoint in the API: protocol, host and port.
 *
 * @example
 * ```ts
 * import type { EndpointStatus } from "./status.ts";
 * const e: EndpointStatus = { protocol: "tcp", hostname: "127.0.0.1", port: 3863 };
 * ```
 */
export interface EndpointStatus {
  /** Transport protocol. */
  protocol: string;
  /** Host address. */
  hostname: string;
  /** Port. */
  port: number;
}

/**
 * A transport parameter of a PE in the API.
 *
 * @example
 * ```ts
 * import type { TransportStatus } from "./status.ts";
 * const t: TransportStatus = {
 *   protocol: "sctp",
 *   port: 7,
 *   addresses: ["127.0.0.1"],
 *   transportUse: "data",
 * };
 * ```
 */
export interface TransportStatus {
  /** Transport protocol. */
  protocol: string;
  /** Port. */
  port: number;
  /** Addresses (SCTP may have several). */
  addresses: string[];
  /** `data` or `data-control` (SCTP and TCP only). */
  transportUse?: string;
}

/**
 * A PE's policy in the API: its name and its policy data as registered (RFC 5356 and RSPLIB
 * field names; load, degradation and DPF values are fractions of `0xffffffff`).
 *
 * @example
 * ```ts
 * import type { PolicyStatus } from "./status.ts";
 * const p: PolicyStatus = { name: "least-used", load: 0x40000000 };
 * ```
 */
export interface PolicyStatus {
  /** The policy name. */
  name: string;
  /** Policy data fields. */
  [field: string]: string | number;
}

/**
 * A PE in the API.
 *
 * @example
 * ```ts
 * import type { PoolElementStatus } from "./status.ts";
 * const describe = (pe: PoolElementStatus) =>
 *   `${pe.id} at ${pe.userTransport.addresses[0]}:${pe.userTransport.port}`;
 * ```
 */
export interface PoolElementStatus {
  /** PE identifier, 8 hex digits. */
  id: string;
  /** The pool handle as text. */
  pool: string;
  /** Where pool users reach it. */
  userTransport: TransportStatus;
  /** Where registrars reach it (ASAP), when known. */
  asapTransport: TransportStatus | null;
  /** Its policy with the policy data as registered (load fields as 32-bit fractions). */
  policy: PolicyStatus;
  /** The load of a load-based policy as a fraction from 0 to 1; null for other policies. */
  load: number | null;
  /** Server ID of its home registrar, 8 hex digits. */
  homeRegistrar: string;
  /** True when this registrar is its home (it supervises the PE). */
  local: boolean;
  /** When it joined the pool (ISO 8601, the registrar's clock). */
  registeredAt: string;
  /** When it registered last (here, or when its last update from its home arrived). */
  updatedAt: string;
  /** Registration life as registered (ms; -1 is infinite). */
  registrationLife: number;
  /**
   * Registration life left (ms): exact for local PEs, from the last update for peers' PEs;
   * null when infinite.
   */
  lifeLeftMs: number | null;
  /** True while a keep-alive waits for its answer (local PEs; null for peers' PEs). */
  awaitingKeepAliveAnswer: boolean | null;
  /** When it last answered a keep-alive (ISO 8601), when the registrar tracks it; else null. */
  lastKeepAliveAnswer: string | null;
  /** When its keep-alive or life timer is due next (ISO 8601), null when none. */
  nextCheck: string | null;
  /** ENDPOINT_UNREACHABLE reports about it so far (local PEs; null for peers' PEs). */
  unreachableReports: number | null;
  /** The address it registered from (local PEs; null for peers' PEs). */
  registeredFrom: string | null;
}

/**
 * A pool in the API, with (at most a limit of) its PEs.
 *
 * @example
 * ```ts
 * import type { PoolStatus } from "./status.ts";
 * const describe = (p: PoolStatus) => `${p.handle}: ${p.size} PEs (${p.policy})`;
 * ```
 */
export interface PoolStatus {
  /** The pool handle as text. */
  handle: string;
  /** The pool handle's bytes in hex. */
  handleHex: string;
  /** Its path in the API. */
  href: string;
  /** The pool's policy. */
  policy: string;
  /** The pool's user transport protocol. */
  protocol: string;
  /** Number of PEs. */
  size: number;
  /** Its PEs, in registration order, at most the limit asked for. */
  poolElements: PoolElementStatus[];
  /** True when `poolElements` holds fewer than `size`. */
  truncated: boolean;
}

/**
 * `GET /api/pools`: pools and their PEs.
 *
 * @example
 * ```ts
 * import type { PoolsStatus } from "./status.ts";
 * const total = (s: PoolsStatus) => s.poolElementCount;
 * ```
 */
export interface PoolsStatus {
  /** The registrar's server ID, 8 hex digits. */
  serverId: string;
  /** When this view was taken (ISO 8601). */
  time: string;
  /** Number of pools. */
  poolCount: number;
  /** Number of PEs in all pools (this registrar's and its peers'). */
  poolElementCount: number;
  /** The pools, at most the limit asked for. */
  pools: PoolStatus[];
  /** True when `pools` holds fewer than `poolCount`. */
  truncated: boolean;
}

/**
 * An ENRP peer in the API.
 *
 * @example
 * ```ts
 * import type { PeerStatus } from "./status.ts";
 * const up = (p: PeerStatus) => p.state === "up";
 * ```
 */
export interface PeerStatus {
  /** Its server ID, 8 hex digits. */
  serverId: string;
  /** Its ENRP endpoint, when known. */
  address: EndpointStatus | null;
  /** `up`, `probing` or `taking-over`. */
  state: string;
  /** When it was last heard from (ISO 8601). */
  lastHeard: string;
  /** PEs it owns in this registrar's handlespace. */
  poolElements: number;
  /** The PE checksum of those PEs, 8 hex digits. */
  checksum: string;
  /** The PE checksum it announced last, 8 hex digits, when known. */
  announcedChecksum: string | null;
  /** Associations up with it. */
  associations: number;
}

/**
 * `GET /api/registrar`: the registrar.
 *
 * @example
 * ```ts
 * import type { RegistrarStatus } from "./status.ts";
 * const describe = (s: RegistrarStatus) => `${s.serverId} up ${s.uptimeSeconds} s`;
 * ```
 */
export interface RegistrarStatus {
  /** Server ID, 8 hex digits. */
  serverId: string;
  /** ASAP endpoints. */
  asap: EndpointStatus[];
  /** ENRP endpoints (none without ENRP). */
  enrp: EndpointStatus[];
  /** When it started (ISO 8601). */
  startedAt: string;
  /** Seconds since then. */
  uptimeSeconds: number;
  /** Its limits and timers, as configured. */
  limits: Record<string, unknown>;
  /** ASAP associations open, in all and by transport. */
  associations: { total: number; sctp: number; tcp: number };
  /** Pools and PEs held (PEs: this registrar's own, and its peers'). */
  handlespace: { pools: number; poolElements: number; local: number; peers: number };
  /** ENRP: whether it has synchronised (null without ENRP), and its peers. */
  enrpReady: boolean | null;
  /** The ENRP peer table. */
  peers: PeerStatus[];
  /** The registrar's counters. */
  stats: Record<string, number>;
}

/**
 * Options of the status views.
 *
 * @example
 * ```ts
 * import type { StatusOptions } from "./status.ts";
 * const options: StatusOptions = { clock: Date.now, maxPools: 100 };
 * ```
 */
export interface StatusOptions {
  /** The registrar's clock (ms; default `Date.now`). */
  clock?: () => number;
  /** Most pools listed (default 1000). */
  maxPools?: number;
  /** Most PEs listed per pool (default 1000). */
  maxPoolElements?: number;
  /** Limits reported when the registrar does not report its own (e.g. from its options). */
  limits?: Record<string, unknown>;
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date.toISOString() : "";
}

function endpoint(a: EndpointAddress): EndpointStatus {
  return { protocol: a.protocol, hostname: a.hostname, port: a.port };
}

function transport(t: TransportParameter): TransportStatus {
  const status: TransportStatus = {
    protocol: t.protocol,
    port: t.port,
    addresses: [...t.addresses],
  };
  if (t.protocol === "sctp" || t.protocol === "tcp") status.transportUse = t.transportUse;
  return status;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The registrar's per-PE state, with what a newer registrar may add. */
type PeState = RegistrarPeState & { lastKeepAliveAnswer?: number };

/**
 * One PE as the API shows it.
 *
 * @example
 * ```ts ignore
 * import { poolElementStatus } from "./status.ts";
 * const entry = registrar.handlespace.poolElements().next().value!;
 * poolElementStatus(registrar, entry).id; // e.g. "1a2b3c4d"
 * ```
 */
export function poolElementStatus(
  registrar: Registrar,
  entry: PoolElementEntry<RegistrarPeState>,
  options: StatusOptions = {},
): PoolElementStatus {
  const now = (options.clock ?? Date.now)();
  const pe = entry.poolElement;
  const state = entry.userData as PeState | undefined;
  const local = entry.owner === registrar.serverId;
  const policy = pe.policy;
  const life = pe.registrationLife;
  let lifeLeftMs: number | null;
  if (state !== undefined) {
    lifeLeftMs = state.lifetimeEnd === Infinity ? null : Math.max(0, state.lifetimeEnd - now);
  } else {
    lifeLeftMs = life < 0 ? null : Math.max(0, entry.updatedAt + life - now);
  }
  return {
    id: formatId(pe.identifier),
    pool: poolHandleText(entry.poolHandle),
    userTransport: transport(pe.userTransport),
    asapTransport: pe.asapTransport === undefined ? null : transport(pe.asapTransport),
    policy: { ...policy },
    load: "load" in policy ? Number((policy.load / 0xffffffff).toFixed(4)) : null,
    homeRegistrar: formatId(entry.owner),
    local,
    registeredAt: iso(entry.registeredAt),
    updatedAt: iso(entry.updatedAt),
    registrationLife: life,
    lifeLeftMs,
    awaitingKeepAliveAnswer: state === undefined ? null : state.awaitingAck,
    lastKeepAliveAnswer: state?.lastKeepAliveAnswer === undefined
      ? null
      : iso(state.lastKeepAliveAnswer),
    nextCheck: entry.expiresAt === Infinity ? null : iso(entry.expiresAt),
    unreachableReports: state === undefined ? null : state.badReports,
    registeredFrom: state === undefined ? null : state.remoteAddress,
  };
}

/**
 * One pool as the API shows it (`GET /api/pools/{handle}`), or undefined when the registrar
 * holds no PE of it.
 *
 * @example
 * ```ts ignore
 * import { poolStatus } from "./status.ts";
 * poolStatus(registrar, new TextEncoder().encode("EchoPool"))?.size;
 * ```
 */
export function poolStatus(
  registrar: Registrar,
  poolHandle: Uint8Array,
  options: StatusOptions = {},
): PoolStatus | undefined {
  const pool = registrar.handlespace.getPool(poolHandle);
  if (pool === undefined) return undefined;
  const max = options.maxPoolElements ?? 1000;
  const poolElements: PoolElementStatus[] = [];
  for (const entry of registrar.handlespace.poolElements(pool.poolHandle)) {
    if (poolElements.length >= max) break;
    poolElements.push(poolElementStatus(registrar, entry, options));
  }
  return {
    handle: poolHandleText(pool.poolHandle),
    handleHex: hex(pool.poolHandle),
    href: poolPath(pool.poolHandle),
    policy: pool.policy,
    protocol: pool.protocol,
    size: pool.size,
    poolElements,
    truncated: poolElements.length < pool.size,
  };
}

/**
 * All pools as the API shows them (`GET /api/pools`), in the order they were created.
 *
 * @example
 * ```ts ignore
 * import { poolsStatus } from "./status.ts";
 * poolsStatus(registrar, { maxPools: 10 }).pools.length; // at most 10
 * ```
 */
export function poolsStatus(registrar: Registrar, options: StatusOptions = {}): PoolsStatus {
  const hs = registrar.handlespace;
  const max = options.maxPools ?? 1000;
  const pools: PoolStatus[] = [];
  for (const pool of hs.pools()) {
    if (pools.length >= max) break;
    const status = poolStatus(registrar, pool.poolHandle, options);
    if (status !== undefined) pools.push(status);
  }
  return {
    serverId: formatId(registrar.serverId),
    time: iso((options.clock ?? Date.now)()),
    poolCount: hs.poolCount,
    poolElementCount: hs.size,
    pools,
    truncated: pools.length < hs.poolCount,
  };
}

/**
 * The registrar as the API shows it (`GET /api/registrar`).
 *
 * @example
 * ```ts ignore
 * import { registrarStatus } from "./status.ts";
 * registrarStatus(registrar).associations.total;
 * ```
 */
export function registrarStatus(
  registrar: Registrar,
  options: StatusOptions = {},
): RegistrarStatus {
  const now = (options.clock ?? Date.now)();
  const hs = registrar.handlespace;
  const local = hs.ownerSize(registrar.serverId);
  const byTransport = registrar.associationsByTransport;
  const own = (registrar as { limits?: Record<string, unknown> }).limits;
  const { resolutionTimes: _, ...counters } = registrar.stats;
  const enrp = registrar.enrp;
  return {
    serverId: formatId(registrar.serverId),
    asap: registrar.addresses.map(endpoint),
    enrp: registrar.enrpAddresses.map(endpoint),
    startedAt: iso(registrar.startedAt),
    uptimeSeconds: Math.max(0, Math.round((now - registrar.startedAt) / 1000)),
    limits: { ...(own ?? options.limits ?? {}) },
    associations: { total: registrar.associationCount, ...byTransport },
    handlespace: {
      pools: hs.poolCount,
      poolElements: hs.size,
      local,
      peers: hs.size - local,
    },
    enrpReady: enrp === undefined ? null : enrp.ready,
    peers: registrar.peers.map((p) => ({
      serverId: formatId(p.serverId),
      address: p.address === undefined ? null : endpoint(p.address),
      state: p.state,
      lastHeard: iso(p.lastHeard),
      poolElements: p.ownedPoolElements,
      checksum: formatId(p.checksum),
      announcedChecksum: p.announcedChecksum === undefined ? null : formatId(p.announcedChecksum),
      associations: p.associations,
    })),
    stats: { ...counters },
  };
}
