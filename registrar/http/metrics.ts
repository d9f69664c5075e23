/**
 * The registrar's metrics in the Prometheus text exposition format (version 0.0.4), rendered
 * from the counters the registrar already keeps: a scrape reads numbers and writes about 4 KB
 * of text, whatever the size of the handlespace.
 *
 * @module
 */

import { RESOLUTION_TIME_BUCKETS } from "../events.ts";
import type { Registrar } from "../registrar.ts";
import type { FeedCounts } from "./event_feed.ts";
import { formatId } from "./status.ts";

/**
 * The content type of {@linkcode renderMetrics}' text.
 *
 * @example
 * ```ts
 * import { METRICS_CONTENT_TYPE } from "@rserpool/rserpool/registrar";
 * new Response("", { headers: { "content-type": METRICS_CONTENT_TYPE } });
 * ```
 */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Options of {@linkcode renderMetrics}.
 *
 * @example
 * ```ts
 * import type { RenderMetricsOptions } from "./metrics.ts";
 * const options: RenderMetricsOptions = {
 *   counts: {
 *     reregistrations: 0,
 *     rateLimited: { registration: 0, "handle-resolution": 0, unreachable: 0 },
 *   },
 * };
 * ```
 */
export interface RenderMetricsOptions {
  /** Re-registrations and rate-limit drops by kind (from an `EventFeed`); left out without. */
  counts?: FeedCounts;
}

type Labels = Record<string, string>;

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Writes metric families: one HELP and TYPE line each, then its samples. */
class Exposition {
  #text = "";

  family(
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: [Labels | undefined, number][],
  ): void {
    this.#text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    for (const [labels, value] of samples) {
      this.#text += `${name}${formatLabels(labels)} ${formatValue(value)}\n`;
    }
  }

  /** A histogram from per-bucket counts (not cumulative; the last one above the bounds). */
  histogram(
    name: string,
    help: string,
    bounds: readonly number[],
    counts: readonly number[],
    sum: number,
    count: number,
  ): void {
    this.#text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i] ?? 0;
      this.#text += `${name}_bucket{le="${formatValue(bounds[i])}"} ${cumulative}\n`;
    }
    this.#text += `${name}_bucket{le="+Inf"} ${count}\n`;
    this.#text += `${name}_sum ${formatValue(sum)}\n${name}_count ${count}\n`;
  }

  toString(): string {
    return this.#text;
  }
}

const P = "rserpool_registrar_";

/**
 * Renders a registrar's metrics in the Prometheus text format. Counters are totals since the
 * registrar started, except those from `options.counts` (since the feed started).
 *
 * @example
 * ```ts ignore
 * import { renderMetrics } from "./metrics.ts";
 * const text = renderMetrics(registrar);
 * text.includes("# TYPE rserpool_registrar_registrations_total counter"); // true
 * ```
 */
export function renderMetrics(registrar: Registrar, options: RenderMetricsOptions = {}): string {
  const s = registrar.stats;
  const hs = registrar.handlespace;
  const out = new Exposition();
  out.family(`${P}info`, "gauge", "The registrar's server ID (label server_id), always 1.", [
    [{ server_id: formatId(registrar.serverId) }, 1],
  ]);
  out.family(
    `${P}start_time_seconds`,
    "gauge",
    "When the registrar started, in seconds since the Unix epoch.",
    [[undefined, registrar.startedAt / 1000]],
  );
  out.family(
    `${P}registrations_total`,
    "counter",
    "Registrations accepted: new PEs and re-registrations.",
    [[undefined, s.registrations]],
  );
  if (options.counts !== undefined) {
    out.family(
      `${P}reregistrations_total`,
      "counter",
      "Registrations accepted of a PE already registered (re-registrations).",
      [[undefined, options.counts.reregistrations]],
    );
  }
  out.family(
    `${P}registrations_rejected_total`,
    "counter",
    "Registrations rejected with an error cause.",
    [[undefined, s.registrationsRejected]],
  );
  out.family(`${P}deregistrations_total`, "counter", "Deregistrations accepted.", [
    [undefined, s.deregistrations],
  ]);
  out.family(`${P}removals_total`, "counter", "PEs removed from the handlespace, by reason.", [
    [{ reason: "deregistered" }, s.deregistrations],
    [{ reason: "keep-alive" }, s.keepAliveTimeouts],
    [{ reason: "lifetime" }, s.lifetimeExpiries],
    [{ reason: "unreachable" }, s.unreachableRemovals],
  ]);
  out.family(
    `${P}handle_resolutions_total`,
    "counter",
    "Handle resolutions answered, by result.",
    [
      [{ result: "found" }, s.handleResolutions - s.handleResolutionsUnknown],
      [{ result: "unknown-pool-handle" }, s.handleResolutionsUnknown],
    ],
  );
  const h = s.resolutionTimes;
  out.histogram(
    `${P}handle_resolution_duration_seconds`,
    "Service time of handle resolutions, from the request decoded to the answer sent.",
    RESOLUTION_TIME_BUCKETS,
    h.counts,
    h.sum,
    h.count,
  );
  out.family(`${P}keep_alives_sent_total`, "counter", "ENDPOINT_KEEP_ALIVEs sent to PEs.", [
    [undefined, s.keepAlivesSent],
  ]);
  out.family(
    `${P}keep_alives_missed_total`,
    "counter",
    "ENDPOINT_KEEP_ALIVEs not answered in time (the PE was removed).",
    [[undefined, s.keepAliveTimeouts]],
  );
  out.family(
    `${P}unreachable_reports_total`,
    "counter",
    "ENDPOINT_UNREACHABLE reports received from pool users (within the rate limit).",
    [[undefined, s.unreachableReports]],
  );
  if (options.counts !== undefined) {
    const r = options.counts.rateLimited;
    out.family(
      `${P}rate_limited_total`,
      "counter",
      "Requests dropped by a per-association rate limit, by limit.",
      [
        [{ kind: "registration" }, r.registration],
        [{ kind: "handle-resolution" }, r["handle-resolution"]],
        [{ kind: "unreachable" }, r.unreachable],
      ],
    );
  } else {
    out.family(
      `${P}rate_limited_total`,
      "counter",
      "Requests dropped by a per-association rate limit.",
      [[undefined, s.rateLimited]],
    );
  }
  out.family(`${P}malformed_messages_total`, "counter", "ASAP messages that did not decode.", [
    [undefined, s.malformed],
  ]);
  out.family(`${P}errors_sent_total`, "counter", "ASAP ERRORs and rejections sent.", [
    [undefined, s.errorsSent],
  ]);
  out.family(
    `${P}associations_cut_total`,
    "counter",
    "ASAP associations aborted for not reading their answers.",
    [[undefined, s.associationsCut]],
  );
  // Counters of newer registrars, shown when present.
  const more = s as unknown as Record<string, number | undefined>;
  if (more.associationsRefused !== undefined) {
    out.family(
      `${P}associations_refused_total`,
      "counter",
      "ASAP associations refused over the association limits.",
      [[undefined, more.associationsRefused]],
    );
  }
  if (more.associationsIdleClosed !== undefined) {
    out.family(
      `${P}associations_idle_closed_total`,
      "counter",
      "ASAP associations closed for being idle without PEs.",
      [[undefined, more.associationsIdleClosed]],
    );
  }
  out.family(
    `${P}keep_alives_deferred_total`,
    "counter",
    "ENDPOINT_KEEP_ALIVEs put off because the registrar was overloaded.",
    [[undefined, s.keepAlivesDeferred]],
  );
  out.family(
    `${P}keep_alive_timeouts_excused_total`,
    "counter",
    "Unanswered ENDPOINT_KEEP_ALIVEs that did not remove their PE: the registrar was overloaded.",
    [[undefined, s.keepAliveTimeoutsExcused]],
  );
  const load = registrar.load;
  out.family(
    `${P}overloaded`,
    "gauge",
    "1 while the registrar's event loop lags (keep-alives paced), else 0.",
    [[undefined, load.overloaded ? 1 : 0]],
  );
  out.family(
    `${P}sctp_receive_drops_total`,
    "counter",
    "Datagrams the kernel dropped at the SCTP sockets for want of room (Linux).",
    [[undefined, load.receiveDropsTotal]],
  );
  out.family(
    `${P}sctp_receive_stalls_total`,
    "counter",
    "SCTP sockets bound anew because their receive stalled while the kernel dropped datagrams.",
    [[undefined, load.receiveStalls]],
  );
  out.family(
    `${P}event_loop_lag_seconds`,
    "gauge",
    "Mean lag of the registrar's event loop over the last second.",
    [[undefined, load.eventLoopLag / 1000]],
  );
  const t = registrar.associationsByTransport;
  out.family(`${P}associations`, "gauge", "ASAP associations open, by transport.", [
    [{ transport: "sctp" }, t.sctp],
    [{ transport: "tcp" }, t.tcp],
  ]);
  const local = hs.ownerSize(registrar.serverId);
  out.family(
    `${P}pool_elements`,
    "gauge",
    "PEs in the handlespace, by home: this registrar (local) or a peer.",
    [[{ home: "local" }, local], [{ home: "peer" }, hs.size - local]],
  );
  out.family(`${P}pools`, "gauge", "Pools in the handlespace.", [[undefined, hs.poolCount]]);
  const enrp = registrar.enrp;
  if (enrp !== undefined) {
    out.family(`${P}enrp_peers`, "gauge", "ENRP peers in the peer table.", [
      [undefined, registrar.peers.length],
    ]);
    const e = enrp.stats;
    out.family(`${P}enrp_messages_received_total`, "counter", "ENRP messages received.", [
      [undefined, e.received],
    ]);
    out.family(`${P}enrp_handle_updates_sent_total`, "counter", "HANDLE_UPDATEs sent to peers.", [
      [undefined, e.updatesSent],
    ]);
    out.family(
      `${P}enrp_handle_updates_total`,
      "counter",
      "HANDLE_UPDATEs and handle table entries from peers, by result.",
      [[{ result: "applied" }, e.updatesApplied], [{ result: "rejected" }, e.updatesRejected]],
    );
    out.family(
      `${P}enrp_messages_refused_total`,
      "counter",
      "ENRP messages dropped by peer authentication, by reason.",
      [[{ reason: "unauthenticated" }, e.unauthenticated], [{ reason: "replayed" }, e.replayed]],
    );
    out.family(`${P}enrp_takeovers_total`, "counter", "Takeovers of a dead peer's PEs.", [
      [{ result: "completed" }, e.takeovers],
      [{ result: "abandoned" }, e.takeoversAbandoned],
    ]);
  }
  return out.toString();
}
