// The registrar's HTTP server over real HTTP: the JSON API (pools, PEs, the registrar, peers'
// PEs with their home registrar), server-sent events (and resuming after Last-Event-ID), the
// Prometheus text (parsed: HELP and TYPE lines, counter values against the registrar's,
// histogram buckets), and what it refuses (other methods, a non-loopback Host header).

import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import { Registrar } from "../../registrar/registrar.ts";
import { RESOLUTION_TIME_BUCKETS } from "../../registrar/events.ts";
import {
  type FeedRecord,
  type PoolsStatus,
  type PoolStatus,
  RegistrarHttpServer,
  type RegistrarStatus,
} from "../../registrar/http/mod.ts";
import { asapAddress, FAST_HUNT, startRegistrar, waitFor } from "../asap/helpers.ts";

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

/** A sample of the exposition: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its TYPE, HELP and samples. */
interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

/**
 * Parses the Prometheus text format strictly enough to catch what scrapers reject: a sample
 * before its family's TYPE, a second TYPE or HELP, bad label syntax, a value that is not a
 * number, a histogram without +Inf or with counts going down.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const familyOf = (name: string): Family | undefined => {
    const f = families.get(name);
    if (f !== undefined) return f;
    const base = name.replace(/_(bucket|sum|count)$/, "");
    const h = families.get(base);
    return h?.type === "histogram" ? h : undefined;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)) !== null) {
      assert.ok(!families.has(m[1]) || families.get(m[1])!.help === "", `one HELP for ${m[1]}`);
      const f = families.get(m[1]) ?? { type: "", help: "", samples: [] };
      f.help = m[2];
      families.set(m[1], f);
      continue;
    }
    if (
      (m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(
        line,
      )) !== null
    ) {
      const f = families.get(m[1]);
      assert.ok(f !== undefined && f.help !== "", `HELP before TYPE for ${m[1]}`);
      assert.equal(f.type, "", `one TYPE for ${m[1]}`);
      assert.equal(f.samples.length, 0, `TYPE of ${m[1]} before its samples`);
      f.type = m[2];
      continue;
    }
    assert.ok(!line.startsWith("#"), `unexpected comment: ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== "") {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let end = 0;
      for (let l = re.exec(m[3]); l !== null; l = re.exec(m[3])) {
        labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
        end = re.lastIndex;
        if (end === m[3].length) break;
      }
      assert.equal(end, m[3].length, `label syntax: ${line}`);
    }
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    assert.ok(m[4] === "NaN" || !Number.isNaN(value), `a number: ${line}`);
    const f = familyOf(m[1]);
    assert.ok(f !== undefined && f.type !== "", `TYPE declared before sample ${m[1]}`);
    if (f.type === "counter") assert.ok(m[1].endsWith("_total") && value >= 0, line);
    f.samples.push({ name: m[1], labels, value });
  }
  for (const [name, f] of families) {
    assert.notEqual(f.type, "", `${name} has a TYPE`);
    if (f.type !== "histogram") continue;
    const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
    const bounds = buckets.map((b) => b.labels.le === "+Inf" ? Infinity : Number(b.labels.le));
    assert.equal(bounds.at(-1), Infinity, `${name} ends with le="+Inf"`);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(bounds[i] > bounds[i - 1], `${name}: bounds ascend`);
      assert.ok(buckets[i].value >= buckets[i - 1].value, `${name}: cumulative counts ascend`);
    }
    const count = f.samples.find((s) => s.name === `${name}_count`)?.value;
    assert.equal(buckets.at(-1)!.value, count, `${name}: +Inf bucket equals _count`);
    assert.ok(f.samples.some((s) => s.name === `${name}_sum`), `${name} has _sum`);
  }
  return families;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
  assert.ok(family !== undefined, `metric ${name}`);
  const sample = family.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(sample !== undefined, `sample of ${name} ${JSON.stringify(labels)}`);
  return sample.value;
}

/** Reads server-sent events into `records` until cancelled. */
function readEvents(url: string, lastEventId?: number) {
  const records: FeedRecord[] = [];
  const controller = new AbortController();
  const done = (async () => {
    const response = await fetch(url, {
      signal: controller.signal,
      headers: lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    let buffer = "";
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const fields = Object.fromEntries(
          frame.split("\n").filter((l) => !l.startsWith(":")).map((l) => {
            const c = l.indexOf(":");
            return [l.slice(0, c), l.slice(c + 1).trimStart()];
          }),
        );
        if (fields.event === "registrar") {
          const record = JSON.parse(fields.data) as FeedRecord;
          assert.equal(String(record.id), fields.id);
          records.push(record);
        }
      }
    }
  })().catch((e) => {
    if (!controller.signal.aborted) throw e;
  });
  return {
    records,
    close: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Sends a raw request (fetch sets its own Host header) and returns the status code. */
async function rawStatus(port: number, request: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  conn.close();
  const head = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  return Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
}

Deno.test("registrar HTTP: pools and PEs, the registrar, events, metrics", async () => {
  const registrar = await startRegistrar("tcp", { keepAliveInterval: 200, keepAliveTimeout: 500 });
  const http = await RegistrarHttpServer.start(registrar, {
    port: 0,
    limits: { maxBadPeReports: 3 },
  });
  const base = `http://127.0.0.1:${http.address.port}`;
  assert.equal(http.address.hostname, "127.0.0.1");
  const events = readEvents(`${base}/api/events`);
  const registrars = [asapAddress(registrar, "tcp")];
  const pe = await PoolElement.start({
    poolHandle: "Echo Pool",
    registrars,
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    policy: { name: "least-used", load: 0.25 },
    reregistrationInterval: 200,
    hunt: FAST_HUNT,
  });
  const pu = new PoolUser({ registrars, cacheLifetime: 0 });
  const id = hex8(pe.identifier);
  try {
    await waitFor(
      () => events.records.some((r) => r.type === "registered" && r.renewal),
      "a renewal",
    );
    const first = events.records.find((r) => r.type === "registered")!;
    assert.deepEqual(
      { pool: first.pool, pe: first.pe, renewal: first.renewal, from: first.from },
      { pool: "Echo Pool", pe: id, renewal: false, from: "127.0.0.1" },
    );
    await pu.resolve("Echo Pool");
    await pu.resolve("NoSuchPool").catch(() => {});
    await pu.reportUnreachable("Echo Pool", pe.identifier);
    await waitFor(
      () => events.records.some((r) => r.type === "unreachable-reported"),
      "the unreachable report",
    );
    const report = events.records.find((r) => r.type === "unreachable-reported")!;
    assert.equal(report.pe, id);
    assert.equal(report.reports, 1);

    // GET /api/pools
    const pools = await (await fetch(`${base}/api/pools`)).json() as PoolsStatus;
    assert.equal(pools.serverId, hex8(registrar.serverId));
    assert.equal(pools.poolCount, 1);
    assert.equal(pools.poolElementCount, 1);
    const [pool] = pools.pools;
    assert.equal(pool.handle, "Echo Pool");
    assert.equal(pool.href, "/api/pools/Echo%20Pool");
    assert.equal(pool.policy, "least-used");
    assert.equal(pool.size, 1);
    const [entry] = pool.poolElements;
    assert.match(entry.id, /^[0-9a-f]{8}$/);
    assert.equal(entry.id, id);
    assert.equal(entry.homeRegistrar, hex8(registrar.serverId));
    assert.equal(entry.local, true);
    assert.equal(entry.load, 0.25);
    assert.equal(entry.policy.name, "least-used");
    assert.deepEqual(entry.userTransport.addresses, ["127.0.0.1"]);
    assert.equal(entry.userTransport.port, pe.address.port);
    assert.equal(entry.asapTransport?.protocol, "tcp");
    assert.ok(entry.lifeLeftMs !== null && entry.lifeLeftMs > 0);
    assert.equal(typeof entry.awaitingKeepAliveAnswer, "boolean");
    assert.equal(entry.unreachableReports, 1);
    assert.equal(entry.registeredFrom, "127.0.0.1");
    assert.ok(!Number.isNaN(Date.parse(entry.registeredAt)));

    // GET /api/pools/{handle}
    const one = await (await fetch(`${base}${pool.href}`)).json() as PoolStatus;
    assert.deepEqual(one.poolElements.map((e) => e.id), [id]);
    const missing = await fetch(`${base}/api/pools/NoSuchPool`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const malformed = await fetch(`${base}/api/pools/%zz`);
    assert.equal(malformed.status, 400);
    await malformed.body?.cancel();

    // GET /api/registrar
    const status = await (await fetch(`${base}/api/registrar`)).json() as RegistrarStatus;
    assert.equal(status.serverId, hex8(registrar.serverId));
    assert.deepEqual(status.asap, [{
      protocol: "tcp",
      hostname: "127.0.0.1",
      port: registrars[0].port,
    }]);
    assert.deepEqual(status.enrp, []);
    assert.equal(status.enrpReady, null);
    assert.deepEqual(status.peers, []);
    assert.ok(status.uptimeSeconds >= 0);
    assert.equal(status.limits.maxBadPeReports, 3);
    assert.ok(status.associations.tcp >= 2, "the PE's and the PU's associations");
    assert.equal(status.associations.sctp, 0);
    assert.deepEqual(status.handlespace, { pools: 1, poolElements: 1, local: 1, peers: 0 });
    assert.equal(status.stats.handleResolutionsUnknown, 1);

    // GET /metrics
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const metrics = parseExposition(await response.text());
    const s = registrar.stats;
    const types: Record<string, string> = {
      rserpool_registrar_registrations_total: "counter",
      rserpool_registrar_reregistrations_total: "counter",
      rserpool_registrar_deregistrations_total: "counter",
      rserpool_registrar_removals_total: "counter",
      rserpool_registrar_handle_resolutions_total: "counter",
      rserpool_registrar_keep_alives_sent_total: "counter",
      rserpool_registrar_keep_alives_missed_total: "counter",
      rserpool_registrar_unreachable_reports_total: "counter",
      rserpool_registrar_rate_limited_total: "counter",
      rserpool_registrar_errors_sent_total: "counter",
      rserpool_registrar_associations: "gauge",
      rserpool_registrar_pool_elements: "gauge",
      rserpool_registrar_pools: "gauge",
      rserpool_registrar_handle_resolution_duration_seconds: "histogram",
    };
    for (const [name, type] of Object.entries(types)) {
      assert.equal(metrics.get(name)?.type, type, `${name} is a ${type}`);
    }
    assert.ok(value(metrics, "rserpool_registrar_registrations_total") >= 2);
    assert.ok(value(metrics, "rserpool_registrar_reregistrations_total") >= 1);
    assert.equal(
      value(metrics, "rserpool_registrar_handle_resolutions_total", {
        result: "unknown-pool-handle",
      }),
      1,
    );
    assert.ok(
      value(metrics, "rserpool_registrar_handle_resolutions_total", { result: "found" }) >= 1,
    );
    assert.equal(value(metrics, "rserpool_registrar_unreachable_reports_total"), 1);
    assert.ok(value(metrics, "rserpool_registrar_keep_alives_sent_total") >= 0);
    assert.equal(value(metrics, "rserpool_registrar_pool_elements", { home: "local" }), 1);
    assert.equal(value(metrics, "rserpool_registrar_pool_elements", { home: "peer" }), 0);
    assert.equal(value(metrics, "rserpool_registrar_pools"), 1);
    assert.ok(value(metrics, "rserpool_registrar_associations", { transport: "tcp" }) >= 2);
    assert.equal(
      value(metrics, "rserpool_registrar_rate_limited_total", { kind: "handle-resolution" }),
      0,
    );
    assert.equal(
      value(metrics, "rserpool_registrar_info", { server_id: hex8(registrar.serverId) }),
      1,
    );
    const histogram = metrics.get("rserpool_registrar_handle_resolution_duration_seconds")!;
    assert.equal(
      histogram.samples.filter((x) => x.name.endsWith("_bucket")).length,
      RESOLUTION_TIME_BUCKETS.length + 1,
    );
    assert.equal(
      value(metrics, "rserpool_registrar_handle_resolution_duration_seconds_count"),
      s.resolutionTimes.count,
    );
    assert.ok(s.resolutionTimes.count >= 2);

    // Removal: the PE deregisters.
    await pe.close();
    await waitFor(() => events.records.some((r) => r.type === "removed"), "the removal");
    const removed = events.records.find((r) => r.type === "removed")!;
    assert.deepEqual([removed.pe, removed.reason], [id, "deregistered"]);
    const after = parseExposition(await (await fetch(`${base}/metrics`)).text());
    assert.equal(value(after, "rserpool_registrar_removals_total", { reason: "deregistered" }), 1);
    assert.equal(value(after, "rserpool_registrar_pools"), 0);
    const empty = await (await fetch(`${base}/api/pools`)).json() as PoolsStatus;
    assert.deepEqual(empty.pools, []);

    // A client that reconnects gets what came after its last event, in order.
    const ids = events.records.map((r) => r.id);
    assert.deepEqual(ids, ids.slice().sort((a, b) => a - b));
    const resumed = readEvents(`${base}/api/events`, report.id);
    await waitFor(() => resumed.records.some((r) => r.id === removed.id), "the resumed stream");
    assert.equal(resumed.records[0].id, report.id + 1);
    await resumed.close();
    await waitFor(() => http.eventStreams === 1, "the resumed stream's end at the server");

    // The page and its script.
    const page = await fetch(`${base}/`);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await page.text(), /<script src="\/page.js"><\/script>/);
    const script = await fetch(`${base}/page.js`);
    assert.match(await script.text(), /new EventSource\("\/api\/events"\)/);

    // Refused: other methods, other host names (DNS rebinding), unknown paths.
    const post = await fetch(`${base}/api/pools`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    const unknown = await fetch(`${base}/nothing`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const port = http.address.port;
    assert.equal(
      await rawStatus(port, "GET /api/pools HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
      403,
    );
    assert.equal(
      await rawStatus(port, `GET /api/pools HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`),
      200,
    );
  } finally {
    await events.close();
    await pu.close();
    await pe.close();
    await http.close();
    await registrar.close();
  }
});

Deno.test("registrar HTTP: a peer's PEs with their home registrar, and the peer table", async () => {
  const start = (peers: Registrar[]) =>
    Registrar.start({
      asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
      enrp: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
      peers: peers.map((p) => p.enrpAddresses[0]),
      announce: false,
      enrpAnnounce: false,
      enrpTuning: { mentorHuntTimeout: 50 },
    });
  const a = await start([]);
  await waitFor(() => a.enrp?.ready === true, "ENRP start-up of A");
  const b = await start([a]);
  const http = await RegistrarHttpServer.start(b, { port: 0 });
  const base = `http://127.0.0.1:${http.address.port}`;
  const pe = await PoolElement.start({
    poolHandle: "PeerPool",
    registrars: [asapAddress(a, "tcp")],
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
  });
  try {
    await waitFor(() => b.handlespace.size === 1, "the PE at B", 10_000);
    const pools = await (await fetch(`${base}/api/pools`)).json() as PoolsStatus;
    const entry = pools.pools[0].poolElements[0];
    assert.equal(entry.id, hex8(pe.identifier));
    assert.equal(entry.homeRegistrar, hex8(a.serverId));
    assert.equal(entry.local, false);
    assert.equal(entry.awaitingKeepAliveAnswer, null);
    assert.equal(entry.unreachableReports, null);
    const status = await (await fetch(`${base}/api/registrar`)).json() as RegistrarStatus;
    assert.equal(status.enrpReady, true);
    const peer = status.peers.find((p) => p.serverId === hex8(a.serverId));
    assert.ok(peer !== undefined, "A in B's peer table");
    assert.equal(peer.poolElements, 1);
    assert.deepEqual(status.handlespace, { pools: 1, poolElements: 1, local: 0, peers: 1 });
    const metrics = parseExposition(await (await fetch(`${base}/metrics`)).text());
    assert.equal(value(metrics, "rserpool_registrar_pool_elements", { home: "peer" }), 1);
    assert.equal(value(metrics, "rserpool_registrar_enrp_peers"), 1);
    assert.equal(metrics.get("rserpool_registrar_enrp_handle_updates_total")?.type, "counter");
  } finally {
    await pe.close();
    await http.close();
    await b.close();
    await a.close();
  }
});
