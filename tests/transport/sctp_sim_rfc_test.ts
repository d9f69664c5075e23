/**
 * RFC 9260 behaviour of the SCTP association, checked over a simulated network in virtual time
 * (transport/sctp/sim): each test sets up one situation with chosen packet drops and asserts
 * what the sender or receiver does, not only that data arrives.
 */

import assert from "node:assert/strict";
import { countMessages, every, sendMessages, simPair, WireTap } from "../support/sctp_sim.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const KB = 1000;

Deno.test(
  "sctp sim: RTT is not sampled from a chunk an earlier SACK gap-acked (Karn, 6.3.1)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses } = await simPair({ link: { delay: 50 } });
    const tap = new WireTap(net, clientAddresses);
    for (const rel of [40, 120, 200]) tap.drop(rel);
    const got = countMessages(net, server);
    let maxSrtt = 0;
    const stop = every(net, 1, () => maxSrtt = Math.max(maxSrtt, client.paths[0].srtt));
    sendMessages(client, 300, KB);
    const start = net.clock.now();
    await net.runUntil(() => got.count === 300, 60_000);
    stop();
    const elapsed = net.clock.now() - start;
    assert.equal(client.stats.fastRetransmits, 3);
    // The true round trip is 100 ms (a delayed SACK adds up to 50 ms to some samples).
    assert.ok(maxSrtt < 130, `smoothed RTT rose to ${maxSrtt.toFixed(1)} ms`);
    // At most one measurement per round trip.
    const rounds = Math.ceil(elapsed / 100) + 1;
    assert.ok(
      client.paths[0].rttSamples <= rounds,
      `${client.paths[0].rttSamples} RTT samples in ${rounds} round trips`,
    );
    client.abort();
  },
);

Deno.test(
  "sctp sim: fast recovery ends at the highest TSN outstanding, not queued (7.2.4)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses } = await simPair({ link: { delay: 10 } });
    const tap = new WireTap(net, clientAddresses);
    tap.drop(30);
    const got = countMessages(net, server);
    sendMessages(client, 3000, KB);
    await net.runUntil(() => client.stats.fastRetransmits === 1, 10_000);
    const afterLoss = client.paths[0].cwnd;
    // Ten round trips later the window grows again (congestion avoidance).
    await net.run(200);
    assert.ok(got.count < 3000, "the transfer is still running");
    assert.ok(
      client.paths[0].cwnd > afterLoss,
      `cwnd ${client.paths[0].cwnd} did not grow from ${afterLoss} after recovery`,
    );
    client.abort();
  },
);

Deno.test(
  "sctp sim: after a T3 timeout a chunk is not fast-retransmitted again (7.2.4, 6.3.3)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses } = await simPair({ link: { delay: 50 } });
    const tap = new WireTap(net, clientAddresses);
    tap.drop(60, 1);
    tap.drop(60, 2);
    const got = countMessages(net, server);
    sendMessages(client, 400, KB);
    await net.runUntil(() => got.count === 400, 60_000);
    assert.equal(tap.transmissions(60), 3, "first, fast retransmission, T3 retransmission");
    assert.equal(client.stats.timeouts, 1);
    assert.equal(client.stats.fastRetransmits, 1);
    client.abort();
  },
);

Deno.test(
  "sctp sim: a fast retransmission sends one packet regardless of cwnd, the rest within it (7.2.4)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses } = await simPair({
      link: { delay: 20, bandwidth: 10e6 },
    });
    const tap = new WireTap(net, clientAddresses);
    for (let rel = 100; rel < 120; rel++) tap.drop(rel);
    const got = countMessages(net, server);
    sendMessages(client, 600, KB);
    await net.runUntil(() => got.count === 600, 60_000);
    // Retransmissions sent in the instant of the first fast retransmission.
    const first = tap.data.find((d) => d.transmission === 2);
    assert.ok(first !== undefined);
    const burst = tap.data.filter((d) => d.transmission === 2 && d.time === first.time);
    assert.equal(client.stats.fastRetransmits, 20);
    assert.equal(burst.length, 1, `${burst.length} retransmitted chunks at once`);
    client.abort();
  },
);

Deno.test(
  "sctp sim: in fast recovery a SACK advancing the cumulative ack counts all missing TSNs (7.2.4 HTNA)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses } = await simPair({ link: { delay: 20 } });
    const tap = new WireTap(net, clientAddresses);
    const got = countMessages(net, server);
    // Warm up: the window grows past ten packets.
    sendMessages(client, 200, KB);
    await net.runUntil(() => got.count === 200, 60_000);
    await net.run(100);
    assert.ok(client.paths[0].cwnd >= 12 * 1200);
    // A tail of ten messages, the 3rd and the 8th lost.
    tap.drop(202);
    tap.drop(207);
    sendMessages(client, 10, KB, 200);
    await net.runUntil(() => got.count === 210, 60_000);
    assert.equal(client.stats.fastRetransmits, 2);
    assert.equal(client.stats.timeouts, 0);
    client.abort();
  },
);

Deno.test(
  "sctp sim: a path's cwnd grows by no more than the bytes acknowledged on it (7.2.1)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses, links } = await simPair({
      link: { delay: 20 },
      paths: 2,
      heartbeatInterval: 60_000,
      rtoInitial: 1000,
    });
    links[1].configure({ delay: 100 });
    const tap = new WireTap(net, clientAddresses);
    const got = countMessages(net, server);
    // A window lost on the primary, fast retransmissions too: T3 moves its retransmissions to
    // the second path while new data goes on on the primary.
    tap.dropWhen((d) => d.to === "10.0.0.2" && d.rel >= 20 && d.rel < 60 && d.transmission <= 2);
    const secondCwnd: number[] = [];
    const stop = every(net, 1, () => secondCwnd.push(client.paths[1].cwnd));
    sendMessages(client, 400, KB);
    await net.runUntil(() => got.count === 400, 60_000);
    stop();
    const onSecond = tap.data.filter((d) => d.to === "10.1.0.2" && !d.dropped).length * KB;
    const growth = Math.max(...secondCwnd) - secondCwnd[0];
    assert.ok(client.stats.timeouts >= 1);
    assert.ok(
      growth <= onSecond,
      `second path cwnd grew by ${growth} bytes for ${onSecond} bytes sent on it`,
    );
    client.abort();
  },
);

Deno.test(
  "sctp sim: T3 is not restarted on a path with nothing outstanding (6.3.2)",
  sanitized,
  async () => {
    const { net, client, server, links } = await simPair({
      link: { delay: 20 },
      paths: 2,
      heartbeatInterval: 60_000,
      rtoInitial: 1000,
    });
    // The second path is long: its SACKs come after the primary's RTO.
    links[1].configure({ delay: 300 });
    await net.run(2_000);
    const got = countMessages(net, server);
    sendMessages(client, 5, KB);
    await net.runUntil(() => got.count === 5, 60_000);
    // The primary fails both ways; the T3 retransmissions go to the second path.
    let lossy = true;
    net.filter((p) =>
      lossy && (p.from === "10.0.0.1" || p.from === "10.0.0.2") ? false : undefined
    );
    sendMessages(client, 5, KB, 5);
    await net.runUntil(() => got.count === 10, 60_000);
    lossy = false;
    await net.run(5_000);
    assert.equal(client.stats.timeouts, 1, "one T3 expiry");
    client.abort();
  },
);

Deno.test(
  "sctp sim: unanswered HEARTBEATs on an idle other path do not fail the association (8.1)",
  sanitized,
  async () => {
    const { net, client, links } = await simPair({
      link: { delay: 5 },
      paths: 2,
      heartbeatInterval: 30_000,
      rtoMax: 500,
      pathMaxRetransmits: 2,
      associationMaxRetransmits: 3,
    });
    links[1].configure({ up: false });
    await net.run(120_000);
    assert.equal(client.closed, false, "the association survives");
    assert.equal(client.paths[1].active, false, "the second path is down");
    assert.equal(client.paths[0].active, true);
    client.abort();
  },
);

Deno.test(
  "sctp sim: HEARTBEAT ACK goes to the source address of the HEARTBEAT (8.3, 6.4)",
  sanitized,
  async () => {
    const { net, client, clientAddresses, serverAddresses } = await simPair({
      link: { delay: 5 },
      paths: 2,
      heartbeatInterval: 1_000,
    });
    const acks: { from: string; to: string }[] = [];
    net.filter((p) => {
      if (p.bytes[12] === 5) acks.push({ from: p.from, to: p.to }); // HEARTBEAT ACK first
    });
    await net.run(10_000);
    const fromServer = acks.filter((a) => serverAddresses.includes(a.from));
    assert.ok(fromServer.some((a) => a.to === clientAddresses[1]), "acks reach the second path");
    for (const a of fromServer) {
      assert.equal(serverAddresses.indexOf(a.from), clientAddresses.indexOf(a.to));
    }
    client.abort();
  },
);

Deno.test(
  "sctp sim: a full receive buffer drops the highest held TSN to accept a lower one (6.2)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses } = await simPair({
      link: { delay: 5 },
      maxMessageSize: 1000,
      receiveBufferSize: 0, // the smallest: maxMessageSize + 64 KiB
    });
    const tap = new WireTap(net, clientAddresses);
    // The hole stays open while held chunks fill the buffer.
    for (let n = 1; n <= 3; n++) tap.drop(3, n);
    let reading = false;
    const got = countMessages(net, server, () => !reading);
    sendMessages(client, 2000, 100);
    await net.run(2_000);
    reading = true;
    await net.runUntil(() => got.count === 2000, 120_000);
    assert.equal(got.outOfOrder, 0);
    client.abort();
  },
);

Deno.test(
  "sctp sim: a SACK goes to the source address of the DATA it acknowledges (6.4)",
  sanitized,
  async () => {
    const { net, client, server, clientAddresses, serverAddresses } = await simPair({
      link: { delay: 10 },
      paths: 2,
      pathMaxRetransmits: 1,
      heartbeatInterval: 60_000,
    });
    const tap = new WireTap(net, clientAddresses);
    const got = countMessages(net, server);
    // The client's primary path fails in its direction only.
    net.filter((p) => p.from === clientAddresses[0] ? false : undefined);
    sendMessages(client, 200, KB);
    await net.runUntil(() => got.count === 200, 60_000);
    const onSecond = tap.data.filter((d) => d.to === serverAddresses[1]);
    assert.ok(onSecond.length > 100, "the data moved to the second path");
    const afterSwitch = tap.sacks.filter((s) => s.time > onSecond[0].time + 25);
    assert.ok(afterSwitch.length > 0);
    for (const s of afterSwitch) assert.equal(s.to, clientAddresses[1], `SACK at ${s.time}`);
    client.abort();
  },
);
