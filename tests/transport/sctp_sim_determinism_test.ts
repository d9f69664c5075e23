/**
 * The simulated network does not depend on the machine: everything in the SCTP code paths it
 * runs takes its time from the virtual clock, and the driver only yields to the runtime so that
 * promise callbacks run. A run with real timers and busy macrotasks competing with it (a loaded
 * machine, as far as the process can tell) puts exactly the same packets on the wire at exactly
 * the same virtual times as a quiet run.
 */

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { countMessages, sendMessages, simPair, WireTap } from "../support/sctp_sim.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

interface Trace {
  data: string[];
  sacks: string[];
  stats: { retransmissions: number; timeouts: number; fastRetransmits: number };
  cwnd: number;
  srtt: number;
  end: number;
}

/** The fast-retransmission scenario of sctp_sim_rfc_test.ts: 20 TSNs lost in a row. */
async function scenario(): Promise<Trace> {
  const { net, client, server, clientAddresses } = await simPair({
    link: { delay: 20, bandwidth: 10e6 },
  });
  const tap = new WireTap(net, clientAddresses);
  for (let rel = 100; rel < 120; rel++) tap.drop(rel);
  const got = countMessages(net, server);
  sendMessages(client, 600, 1000);
  await net.runUntil(() => got.count === 600, 60_000);
  const trace: Trace = {
    data: tap.data.map((d) => `${d.time}:${d.rel}:${d.transmission}:${d.to}:${d.dropped}`),
    sacks: tap.sacks.map((s) => `${s.time}:${s.cumRel}:${s.gaps}:${s.withData}`),
    stats: { ...client.stats },
    cwnd: client.paths[0].cwnd,
    srtt: client.paths[0].srtt,
    end: net.clock.now(),
  };
  client.abort();
  return trace;
}

/**
 * Keeps the runtime busy until stopped: macrotasks that burn CPU between the simulation's own,
 * and real timers firing, so that wall-clock time passes at random points of the run.
 */
function loadRuntime(): () => void {
  let running = true;
  const burn = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) { /* busy */ }
  };
  const spin = () => {
    if (!running) return;
    burn(0.05);
    setImmediate(spin);
  };
  setImmediate(spin);
  const timer = setInterval(() => burn(0.5), 1);
  return () => {
    running = false;
    clearInterval(timer);
  };
}

Deno.test(
  "sctp sim: a busy runtime changes nothing in a run (no real time or timers)",
  sanitized,
  async () => {
    const quiet = await scenario();
    const stop = loadRuntime();
    let loaded: Trace;
    try {
      loaded = await scenario();
    } finally {
      stop();
    }
    assert.ok(quiet.stats.fastRetransmits === 20, "the scenario ran");
    assert.deepEqual(loaded, quiet);
  },
);
