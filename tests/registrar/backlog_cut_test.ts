// Answers that peers do not take, summed over associations: past maxTotalUnsentBytes the
// registrar cuts the associations whose sends have waited longest, first, until it holds
// less. Two SCTP clients ask for resolutions and never read the answers (their message
// handler paused: their receive windows close); the one that started first goes, the other
// stays, and a client that reads its answers is served throughout.

import assert from "node:assert/strict";
import { encodeAsapMessage } from "../../asap/codec.ts";
import { connectSctp } from "../../transport/sctp/endpoint.ts";
import type { Association } from "../../transport/types.ts";
import type { RegistrarEvent } from "../../registrar/events.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";
import { delay, waitFor, withRegistrar } from "./helpers.ts";

const ASAP = 11;
const KIB = 1024;

/** An SCTP client that asks `count` resolutions at once and reads none of the answers. */
async function hog(port: number, count: number): Promise<Association> {
  const association = await connectSctp({
    hostname: "127.0.0.1",
    port,
    maxMessageSize: 4 * KIB,
    receiveBufferSize: 8 * KIB,
  });
  association.setMessageHandler(() => {});
  association.pause();
  const request = encodeAsapMessage({
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: text("Pool"),
  });
  for (let i = 0; i < count; i++) association.send(request, { ppid: ASAP }).catch(() => {});
  return association;
}

Deno.test("sctp: past the total of answers held, the longest waiting association is cut first", async () => {
  const events: RegistrarEvent[] = [];
  await withRegistrar("sctp", {
    maxUnsentBytes: 64 * KIB,
    // Two blocked associations hold about 2 x (64 KiB of send buffer + 16 KiB waiting).
    maxTotalUnsentBytes: 120 * KIB,
    sendStallTimeout: 0,
    handleResolutionRate: { rate: 1e6, burst: 1e6 },
  }, async (registrar, address) => {
    registrar.onEvent((e) => events.push(e));
    const reader = await AsapClient.open(address);
    for (let id = 1; id <= 3; id++) {
      const r = await reader.request({
        type: "registration",
        poolHandle: text("Pool"),
        poolElement: pe(id),
      });
      assert.equal(r.type, "registration-response");
    }
    const first = await hog(address.port, 3000);
    // Its answers fill its window and the registrar's send buffer within milliseconds, then
    // wait; the second's start to wait a second later.
    await waitFor(() => registrar.stats.handleResolutions >= 100);
    await delay(1000);
    const second = await hog(address.port, 3000);
    try {
      await waitFor(() => first.closed, 10_000);
      // The cut brought the total under the limit: the second stays.
      await delay(1500);
      assert.equal(second.closed, false, "the association that waited less is kept");
      const cuts = events.filter((e) => e.type === "association-cut");
      assert.equal(cuts.length, 1);
      assert.match(String((cuts[0] as { reason: string }).reason), /too many answers/);
      // A client that reads its answers is served meanwhile.
      const r = await reader.request({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: text("Pool"),
      });
      assert.equal(r.type, "handle-resolution-response");
    } finally {
      first.abort();
      second.abort();
      await reader.close();
    }
  });
});
