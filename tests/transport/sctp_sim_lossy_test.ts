/**
 * Bulk transfer over a simulated lossy link in virtual time (transport/sctp/sim): 100,000
 * messages at 10 % loss in each direction arrive in order, and the sender's retransmissions,
 * RTO and congestion window behave as RFC 9260 says. The same seed gives the same run.
 */

import assert from "node:assert/strict";
import { countMessages, every, sendMessages, simPair } from "../support/sctp_sim.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

interface Run {
  virtualMs: number;
  wallMs: number;
  stats: { retransmissions: number; timeouts: number; fastRetransmits: number };
  rtos: number[];
  cwnds: number[];
  lost: number;
  sent: number;
}

async function transfer(count: number, seed: number): Promise<Run> {
  const wallStart = performance.now();
  const { net, client, server, links } = await simPair({
    seed,
    link: { delay: 5, loss: 0.1, bandwidth: 100e6 },
  });
  const got = countMessages(net, server);
  const rtos: number[] = [];
  const cwnds: number[] = [];
  const stop = every(net, 10, () => {
    rtos.push(client.paths[0].rto);
    cwnds.push(client.paths[0].cwnd);
  });
  const start = net.clock.now();
  sendMessages(client, count, 100);
  await net.runUntil(() => got.count === count, 3_600_000);
  stop();
  assert.equal(got.outOfOrder, 0, "messages in order");
  const run: Run = {
    virtualMs: net.clock.now() - start,
    wallMs: performance.now() - wallStart,
    stats: client.stats,
    rtos,
    cwnds,
    lost: links[0].stats("10.0.0.1").lost,
    sent: links[0].stats("10.0.0.1").sent,
  };
  client.abort();
  return run;
}

Deno.test({
  name: "sctp sim: 100,000 messages at 10 % loss, in virtual time",
  ...sanitized,
  async fn() {
    const run = await transfer(100_000, 3);
    console.log(
      `virtual ${(run.virtualMs / 1000).toFixed(1)} s, wall ${run.wallMs.toFixed(0)} ms,`,
      JSON.stringify(run.stats),
      `packets ${run.sent}, lost ${run.lost}`,
    );
    const { retransmissions, timeouts, fastRetransmits } = run.stats;
    // About one chunk in ten is lost (packets carry several): each loss costs one
    // retransmission, mostly fast ones, and few are spurious.
    assert.ok(retransmissions >= 9_000 && retransmissions <= 16_000, `${retransmissions}`);
    assert.ok(fastRetransmits >= retransmissions * 0.6, "mostly fast retransmissions");
    assert.ok(timeouts > 0 && timeouts < run.lost / 5, `${timeouts} T3 expiries`);
    // RTO within its bounds, near the 10 ms round trip most of the time (RTO.Min is 100).
    assert.ok(run.rtos.every((r) => r >= 100 && r <= 5000));
    const median = [...run.rtos].sort((a, b) => a - b)[run.rtos.length >> 1];
    assert.equal(median, 100);
    // cwnd: never below one MTU, cut on loss and grown back.
    assert.ok(run.cwnds.every((c) => c >= 1200));
    let cuts = 0;
    let growths = 0;
    for (let i = 1; i < run.cwnds.length; i++) {
      if (run.cwnds[i] < run.cwnds[i - 1]) cuts++;
      if (run.cwnds[i] > run.cwnds[i - 1]) growths++;
    }
    assert.ok(cuts > 100 && growths > cuts, `${cuts} cuts, ${growths} growths`);
  },
});

Deno.test({
  name: "sctp sim: the same seed gives the same run",
  ...sanitized,
  async fn() {
    const a = await transfer(5_000, 11);
    const b = await transfer(5_000, 11);
    assert.equal(a.virtualMs, b.virtualMs);
    assert.deepEqual(a.stats, b.stats);
    assert.deepEqual(a.cwnds, b.cwnds);
    const c = await transfer(5_000, 12);
    assert.notDeepEqual(a.cwnds, c.cwnds);
  },
});
