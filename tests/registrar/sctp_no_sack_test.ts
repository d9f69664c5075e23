// Issue 10: SCTP peers that never SACK. 50 raw SCTP-over-UDP peers (tests/support/
// sctp_no_sack_peer.ts) complete the handshake with a 1,500-byte window, answer HEARTBEATs and
// send 1 KB HANDLE_RESOLUTIONs (answered with 1 KB each) as fast as the registrar's window
// lets them, and never acknowledge a DATA chunk. Against a registrar process on loopback:
// - each attacker gets the registrar to take at most ATTACKER_BOUND bytes of requests (what
//   it reads is what it answers, and none of its answers is ever acknowledged: receive buffer
//   256 KiB + send buffer 256 KiB + a backlog of a quarter of maxUnsentBytes + one answer);
// - each is cut off once its answers have waited --send-stall-timeout (2 s here);
// - a PE and a PU on SCTP keep working during the attack, and the handlespace stays intact;
// - the registrar's resident memory stays under RSS_BOUND_MB above what it was before.

import assert from "node:assert/strict";
import { encodeAsapMessage } from "../../asap/codec.ts";
import { connectSctp } from "../../transport/sctp/endpoint.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";
import { NoSackPeer } from "../support/sctp_no_sack_peer.ts";
import { startRegistrar } from "../support/processes.ts";

const ATTACKERS = 50;
const KIB = 1024;
/** Request bytes one attacker may get the registrar to take (see the file comment). */
const ATTACKER_BOUND = 256 * KIB + 256 * KIB + 64 * KIB + 64 * KIB + 8 * KIB;
/** Growth of the registrar's RSS allowed during the attack (generous: 50 x 640 KiB held). */
const RSS_BOUND_MB = 250;
const STALL_TIMEOUT_MS = 2000;
/** The attack's longest run: every attacker must be cut off by then. */
const ATTACK_MS = 20_000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m === null ? NaN : Number(m[1]) / 1024;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves `client`'s request or rejects after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name:
    "sctp no-SACK attack: 50 peers that never acknowledge are held to a byte bound and cut off; a PE and a PU keep working",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { child, ready } = await startRegistrar([
      "--asap",
      "sctp:127.0.0.1:0",
      "--send-stall-timeout",
      `${STALL_TIMEOUT_MS}ms`,
      "--keep-alive-interval",
      "1s",
      "--keep-alive-timeout",
      "3s",
    ], "registrar-no-sack");
    const pid = child.process.pid;
    const address = ready.asap[0];
    const attackers: NoSackPeer[] = [];
    const clients: AsapClient[] = [];
    try {
      // A well-behaved PE (answers keep-alives) and PU, both on SCTP.
      const peClient = AsapClient.over(
        await connectSctp({ hostname: address.hostname, port: address.port }),
      );
      clients.push(peClient);
      const registered = await within(
        peClient.request({ type: "registration", poolHandle: text("Good"), poolElement: pe(1) }),
        5000,
        "registration",
      );
      assert.equal(registered.type === "registration-response" && registered.rejected, false);
      const pu = AsapClient.over(
        await connectSctp({ hostname: address.hostname, port: address.port }),
      );
      clients.push(pu);
      const resolve = async () => {
        const r = await within(
          pu.request({ type: "handle-resolution", wantsUpdates: false, poolHandle: text("Good") }),
          5000,
          "handle resolution",
        );
        assert.equal(r.type, "handle-resolution-response");
        return r.type === "handle-resolution-response" ? r.poolElements : [];
      };
      assert.deepEqual((await resolve()).map((p) => p.identifier), [1]);
      await delay(300);
      const baseline = rssMb(pid);

      // The attack: 1 KB requests for an unknown pool, answered with as much.
      const request = encodeAsapMessage({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: new Uint8Array(1000).fill(0x41),
      });
      for (let i = 0; i < ATTACKERS; i++) {
        attackers.push(
          await NoSackPeer.connect({ hostname: address.hostname, port: address.port }),
        );
      }
      for (const a of attackers) a.flood(request, 10_000);

      let peak = baseline;
      let answered = 0;
      const end = Date.now() + ATTACK_MS;
      while (Date.now() < end && attackers.some((a) => !a.stats.aborted)) {
        // The PU resolves and the PE stays registered while the attack goes on.
        const pes = await resolve();
        assert.deepEqual(pes.map((p) => p.identifier), [1], "the PE stays in the handlespace");
        answered++;
        peak = Math.max(peak, rssMb(pid));
        await delay(100);
      }
      const accepted = attackers.map((a) => a.stats.bytesAccepted);
      const maxAccepted = Math.max(...accepted);
      console.log(
        `no-SACK attack: ${attackers.filter((a) => a.stats.aborted).length} of ${ATTACKERS} ` +
          `cut off; request bytes taken per attacker max ${maxAccepted}, ` +
          `min ${Math.min(...accepted)} (bound ${ATTACKER_BOUND}); answer bytes sent to one ` +
          `max ${Math.max(...attackers.map((a) => a.stats.bytesReceived))}; RSS ` +
          `${baseline.toFixed(1)} MB before, peak ${peak.toFixed(1)} MB; ${answered} ` +
          `resolutions of the PU answered during the attack`,
      );
      for (const [i, a] of attackers.entries()) {
        assert.ok(
          a.stats.bytesAccepted <= ATTACKER_BOUND,
          `attacker ${i} got ${a.stats.bytesAccepted} request bytes taken`,
        );
        assert.ok(a.stats.aborted, `attacker ${i} was cut off within ${ATTACK_MS} ms`);
        // The attack ran: the registrar took requests and sent answers it never saw acknowledged
        // (it is cut off by the registrar's stall check or, earlier, by the SCTP association's
        // own dataStallTimeout, which the registrar sets to the same time).
        assert.ok(a.stats.bytesAccepted > 0 && a.stats.bytesReceived > 0, `attacker ${i} ran`);
      }
      assert.ok(answered > 0);
      assert.ok(
        peak - baseline < RSS_BOUND_MB,
        `RSS grew by ${(peak - baseline).toFixed(1)} MB`,
      );
      // After the attack: the PE is still there and still supervised (it answers keep-alives).
      await delay(1500);
      assert.deepEqual((await resolve()).map((p) => p.identifier), [1]);
      assert.ok(peClient.keepAlives > 0, "the PE keeps being supervised");
    } finally {
      for (const a of attackers) a.close();
      await Promise.all(attackers.map((a) => a.done));
      for (const c of clients) c.association.abort();
      await child.stop("SIGKILL");
    }
  },
});
