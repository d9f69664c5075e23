/**
 * The registrar's live page: plain HTML and one small script, no build step. The script reads
 * `/api/registrar` and `/api/pools` every second and on each server-sent event of
 * `/api/events`, which also feed its list of recent events. Everything from the registrar is
 * put into the page as text (pool handles are chosen by whoever registers), never as HTML.
 *
 * @module
 */

/**
 * The page served at `/`.
 *
 * @example
 * ```ts
 * import { PAGE_HTML } from "./page.ts";
 * new Response(PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
 * ```
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RSerPool registrar</title>
<style>
  :root { color-scheme: light; --line: #d8dde3; --muted: #5f6b7a; --accent: #1f6feb; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; gap: 24px;
    align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header .facts { display: flex; gap: 18px; flex-wrap: wrap; color: #d0d7de; }
  header .facts b { color: #fff; }
  .scroll { overflow-x: auto; }
  #live { margin-left: auto; font-size: 12px; }
  #live.on::before { content: "\\25CF "; color: #3fb950; }
  #live.off::before { content: "\\25CF "; color: #f85149; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 1fr); gap: 16px;
    padding: 16px 20px; }
  section.card { background: #fff; border: 1px solid var(--line); border-radius: 6px;
    margin-bottom: 16px; }
  section.card > h2 { font-size: 15px; margin: 0; padding: 8px 12px; border-bottom: 1px solid
    var(--line); display: flex; gap: 12px; align-items: baseline; }
  h2 .meta { color: var(--muted); font-weight: normal; font-size: 12px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #eef1f4;
    white-space: nowrap; }
  th { font-size: 12px; color: var(--muted); font-weight: 600; }
  td.id, td.mono { font-family: ui-monospace, monospace; }
  tr.fresh td { animation: fresh 2s ease-out; }
  @keyframes fresh { from { background: #dafbe1; } to { background: transparent; } }
  .peer { color: var(--muted); }
  .warn { color: #bf8700; }
  .bad { color: #cf222e; }
  .bar { display: inline-block; width: 60px; height: 8px; background: #eaeef2;
    border-radius: 4px; vertical-align: middle; margin-right: 6px; overflow: hidden; }
  .bar > span { display: block; height: 100%; background: var(--accent); }
  #events { list-style: none; margin: 0; padding: 0; max-height: 70vh; overflow: auto; }
  #events li { padding: 4px 12px; border-bottom: 1px solid #eef1f4; font-size: 13px; }
  #events time { color: var(--muted); font-family: ui-monospace, monospace; margin-right: 6px; }
  #events .registered { color: #1a7f37; }
  #events .removed { color: #cf222e; }
  #events .unreachable-reported, #events .rate-limited { color: #bf8700; }
  .empty { padding: 12px; color: var(--muted); }
  label.toggle { font-weight: normal; font-size: 12px; color: var(--muted); margin-left: auto; }
</style>
</head>
<body>
<header>
  <h1>Registrar <span id="server-id" class="mono">…</span></h1>
  <div class="facts">
    <span>up <b id="uptime">–</b></span>
    <span id="pool-count">– pools</span>
    <span id="pe-count">– PEs</span>
    <span id="assoc-count">– associations</span>
    <span id="peer-count">– peers</span>
  </div>
  <span id="live" class="off">connecting</span>
</header>
<main>
  <div>
    <div id="pools"><p class="empty">Loading…</p></div>
    <section class="card" id="peers-card" hidden>
      <h2>ENRP peers</h2>
      <table><thead><tr><th>Server ID</th><th>Endpoint</th><th>State</th><th>PEs</th>
        <th>Last heard</th></tr></thead><tbody id="peers"></tbody></table>
    </section>
  </div>
  <section class="card">
    <h2>Recent events <label class="toggle"><input type="checkbox" id="show-renewals">
      re-registrations</label></h2>
    <ol id="events"><li class="empty" id="no-events">No events yet</li></ol>
  </section>
</main>
<script src="/page.js"></script>
</body>
</html>
`;

/**
 * The page's script, served at `/page.js`.
 *
 * @example
 * ```ts
 * import { PAGE_SCRIPT } from "./page.ts";
 * new Response(PAGE_SCRIPT, { headers: { "content-type": "text/javascript; charset=utf-8" } });
 * ```
 */
export const PAGE_SCRIPT = `"use strict";
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const known = new Set();
let first = true;

function duration(ms) {
  if (ms === null || ms === undefined) return "∞";
  const s = Math.round(ms / 1000);
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return Math.round(s / 3600) + " h";
}

function transport(t) {
  const hosts = t.addresses.map((a) => a.includes(":") ? "[" + a + "]" : a).join(",");
  return t.protocol + ":" + hosts + ":" + t.port;
}

function peRow(pe) {
  const key = pe.pool + "/" + pe.id;
  const fresh = !first && !known.has(key);
  const load = pe.load === null ? "–" : el("span", {},
    el("span", { class: "bar" }, el("span", { style: "width:" + Math.round(pe.load * 100) + "%" })),
    Math.round(pe.load * 100) + " %");
  let keepAlive = "–";
  if (pe.awaitingKeepAliveAnswer === true) keepAlive = el("span", { class: "warn" }, "awaiting");
  else if (pe.lastKeepAliveAnswer) keepAlive = clock(pe.lastKeepAliveAnswer);
  else if (pe.awaitingKeepAliveAnswer === false) keepAlive = "ok";
  const reports = pe.unreachableReports === null ? "–" :
    el("span", { class: pe.unreachableReports > 0 ? "bad" : "" }, pe.unreachableReports);
  return el("tr", { "data-pe-id": pe.id, "data-pool": pe.pool, class: fresh ? "fresh" : "" },
    el("td", { class: "id" }, pe.id),
    el("td", { class: "mono" }, transport(pe.userTransport)),
    el("td", {}, pe.policy.name),
    el("td", {}, load),
    el("td", { class: pe.local ? "mono" : "mono peer" }, pe.homeRegistrar + (pe.local ? " (here)" : "")),
    el("td", {}, duration(pe.lifeLeftMs)),
    el("td", {}, keepAlive),
    el("td", {}, reports));
}

const HEADINGS = [["PE ID"], ["User transport"], ["Policy"], ["Load"], ["Home registrar"],
  ["Life left", "registration life left"], ["Keep-alive", "last ENDPOINT_KEEP_ALIVE answer"],
  ["Reports", "ENDPOINT_UNREACHABLE reports from pool users"]];
const clock = (t) => new Date(t).toTimeString().slice(0, 8);

function renderPools(data) {
  const box = $("pools");
  const sections = [];
  const seen = new Set();
  for (const pool of data.pools) {
    const body = el("tbody");
    for (const pe of pool.poolElements) {
      body.append(peRow(pe));
      seen.add(pe.pool + "/" + pe.id);
    }
    const more = pool.truncated ? el("p", { class: "empty" },
      (pool.size - pool.poolElements.length) + " more PEs not shown") : "";
    sections.push(el("section", { class: "card pool", "data-pool": pool.handle },
      el("h2", {}, pool.handle, el("span", { class: "meta" },
        pool.size + (pool.size === 1 ? " PE · " : " PEs · ") + pool.policy + " · " + pool.protocol)),
      el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ...HEADINGS.map(([h, title]) =>
        el("th", title ? { title } : {}, h)))), body)), more));
  }
  if (sections.length === 0) sections.push(el("p", { class: "empty", id: "no-pools" }, "No pools"));
  if (data.truncated) {
    sections.push(el("p", { class: "empty" }, (data.poolCount - data.pools.length) + " more pools not shown"));
  }
  box.replaceChildren(...sections);
  known.clear();
  for (const k of seen) known.add(k);
  first = false;
}

function renderRegistrar(r) {
  $("server-id").textContent = r.serverId;
  $("uptime").textContent = duration(r.uptimeSeconds * 1000);
  const count = (id, n, one, many) => $(id).replaceChildren(el("b", {}, n), " " + (n === 1 ? one : many));
  count("pool-count", r.handlespace.pools, "pool", "pools");
  count("pe-count", r.handlespace.poolElements, "PE", "PEs");
  count("assoc-count", r.associations.total, "association", "associations");
  count("peer-count", r.peers.length, "peer", "peers");
  document.title = "Registrar " + r.serverId;
  $("peers-card").hidden = r.peers.length === 0;
  $("peers").replaceChildren(...r.peers.map((p) => el("tr", { "data-peer-id": p.serverId },
    el("td", { class: "id" }, p.serverId),
    el("td", { class: "mono" }, p.address ? p.address.protocol + ":" + p.address.hostname + ":" + p.address.port : "–"),
    el("td", {}, p.state), el("td", {}, p.poolElements),
    el("td", {}, clock(p.lastHeard)))));
}

let inFlight = false;
let again = false;
async function refresh() {
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    const [r, p] = await Promise.all([fetch("/api/registrar"), fetch("/api/pools")]);
    if (r.ok) renderRegistrar(await r.json());
    if (p.ok) renderPools(await p.json());
  } catch (e) {
    $("live").className = "off";
    $("live").textContent = "registrar unreachable";
  } finally {
    inFlight = false;
    if (again) { again = false; setTimeout(refresh, 50); }
  }
}

let scheduled = false;
function refreshSoon() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; refresh(); }, 50);
}

const MAX_EVENTS = 100;
function describe(ev) {
  switch (ev.type) {
    case "registered": return (ev.renewal ? "re-registered " : "registered ") + ev.pe + " in " + ev.pool + " from " + ev.from;
    case "registration-rejected": return "rejected " + ev.pe + " in " + ev.pool + " (cause " + ev.cause + ") from " + ev.from;
    case "removed": return "removed " + ev.pe + " from " + ev.pool + ": " + ev.reason;
    case "unreachable-reported": return "unreachable report on " + ev.pe + " in " + ev.pool + " (" + ev.reports + ") from " + ev.from;
    case "rate-limited": return ev.count + " " + ev.kind + " request" + (ev.count === 1 ? "" : "s") + " over the rate limit, last from " + ev.from;
    case "association-cut": return "association of " + ev.from + " cut: " + ev.reason;
    default: return ev.type;
  }
}

function addEvent(ev) {
  const list = $("events");
  $("no-events")?.remove();
  const item = el("li", { class: ev.type + (ev.renewal ? " renewal" : ""), "data-event-id": ev.id },
    el("time", { datetime: ev.time }, clock(ev.time)), describe(ev));
  if (ev.renewal && !$("show-renewals").checked) item.hidden = true;
  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

$("show-renewals").addEventListener("change", (e) => {
  for (const li of document.querySelectorAll("#events li.renewal")) li.hidden = !e.target.checked;
});

const source = new EventSource("/api/events");
source.addEventListener("open", () => {
  $("live").className = "on";
  $("live").textContent = "live";
});
source.addEventListener("error", () => {
  $("live").className = "off";
  $("live").textContent = "reconnecting";
});
source.addEventListener("registrar", (m) => {
  addEvent(JSON.parse(m.data));
  refreshSoon();
});
refresh();
setInterval(refresh, 1000);
`;
