/**
 * What a registrar tells those who watch it (logs, the HTTP status page, metrics): things that
 * happened to its PEs and its associations.
 *
 * @module
 */

import type { PoolElementParameter } from "../wire/types.ts";

/**
 * Why a PE left the handlespace.
 *
 * - `deregistered`: its DEREGISTRATION.
 * - `keep-alive`: no answer to an ENDPOINT_KEEP_ALIVE (or its association ended and it did not
 *   come back in time).
 * - `lifetime`: its registration life ran out.
 * - `unreachable`: PUs reported it unreachable too often.
 *
 * @example
 * ```ts
 * import type { RemovalReason } from "@rserpool/rserpool/registrar";
 * const reason: RemovalReason = "keep-alive";
 * ```
 */
export type RemovalReason = "deregistered" | "keep-alive" | "lifetime" | "unreachable";

/**
 * An event of a registrar. `time` is the registrar's clock (ms); `from` the remote address of
 * the association concerned.
 *
 * @example
 * ```ts
 * import type { RegistrarEvent } from "@rserpool/rserpool/registrar";
 * function line(e: RegistrarEvent): string {
 *   return e.type === "removed" ? `removed (${e.reason})` : e.type;
 * }
 * ```
 */
export type RegistrarEvent =
  | {
    type: "registered";
    time: number;
    poolHandle: Uint8Array;
    poolElement: PoolElementParameter;
    /** False for a PE new in the pool, true for a re-registration. */
    renewal: boolean;
    from: string;
  }
  | {
    type: "registration-rejected";
    time: number;
    poolHandle: Uint8Array;
    identifier: number;
    /** The RFC 5354 error cause. */
    cause: number;
    from: string;
  }
  | {
    type: "removed";
    time: number;
    poolHandle: Uint8Array;
    poolElement: PoolElementParameter;
    reason: RemovalReason;
  }
  | {
    type: "unreachable-reported";
    time: number;
    poolHandle: Uint8Array;
    identifier: number;
    /** Reports about the PE so far (it is removed at the limit). */
    reports: number;
    from: string;
  }
  | {
    type: "rate-limited";
    time: number;
    /** Which limit. */
    kind: "registration" | "handle-resolution" | "unreachable";
    from: string;
  }
  | {
    type: "association-cut";
    time: number;
    from: string;
    /** Why the registrar aborted it. */
    reason: string;
  };

/**
 * Bounds of the handle resolution service time histogram, in seconds (Prometheus `le`).
 *
 * @example
 * ```ts
 * import { RESOLUTION_TIME_BUCKETS } from "@rserpool/rserpool/registrar";
 * RESOLUTION_TIME_BUCKETS.length; // 10
 * ```
 */
export const RESOLUTION_TIME_BUCKETS: readonly number[] = [
  0.000005,
  0.00001,
  0.000025,
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.01,
];

/**
 * A histogram of handle resolution service times (from the request's decoding to its answer
 * handed to the transport): counts per bucket of {@linkcode RESOLUTION_TIME_BUCKETS}, not
 * cumulative, plus one for longer ones, and the sum in seconds.
 *
 * @example
 * ```ts
 * import type { ResolutionTimes } from "@rserpool/rserpool/registrar";
 * const mean = (h: ResolutionTimes) => h.count === 0 ? 0 : h.sum / h.count;
 * ```
 */
export interface ResolutionTimes {
  /** Observations per bucket; the last entry counts those above the last bound. */
  counts: number[];
  /** Sum of the observed times in seconds. */
  sum: number;
  /** Number of observations. */
  count: number;
}
