import assert from "node:assert/strict";
import { simPair } from "../support/sctp_sim.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

Deno.test("sctp sim: an association carries messages in virtual time", sanitized, async () => {
  const { net, client, server } = await simPair({ link: { delay: 10 } });
  const got: number[] = [];
  (async () => {
    for await (const m of server) got.push(m.data[0]);
  })();
  for (let i = 0; i < 10; i++) await client.send(new Uint8Array([i]));
  await net.runUntil(() => got.length === 10, 10_000);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  console.log(net.clock.now());
  client.abort();
});
