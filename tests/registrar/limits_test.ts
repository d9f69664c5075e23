// The registrar's association limits: per address, in total (with room made for PEs by
// closing the idlest association without PEs), and the idle timeout.

import assert from "node:assert/strict";
import { waitFor, withRegistrar } from "./helpers.ts";
import { Registrar } from "../../registrar/registrar.ts";
import { connectSctp } from "../../transport/sctp/endpoint.ts";
import type { Association } from "../../transport/types.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "limits: one address may hold maxAssociationsPerAddress associations; another is not affected (SCTP)",
  ...opts,
  async fn() {
    await withRegistrar("sctp", { maxAssociationsPerAddress: 20 }, async (registrar, address) => {
      // 50 handshakes from one host: 20 stay, the rest are aborted at once.
      const flood: Association[] = [];
      for (let i = 0; i < 50; i++) {
        flood.push(await connectSctp({ hostname: address.hostname, port: address.port }));
      }
      await waitFor(() => registrar.stats.associationsRefused === 30);
      await waitFor(() => flood.filter((a) => !a.closed).length === 20);
      // A PE from another address registers.
      const pe2 = await connectSctp({
        hostname: address.hostname,
        port: address.port,
        localHostname: "127.0.0.2",
      });
      const client = AsapClient.over(pe2);
      const r = await client.request({
        type: "registration",
        poolHandle: text("P"),
        poolElement: pe(7, {
          userTransport: {
            protocol: "tcp",
            port: 7000,
            transportUse: "data",
            addresses: ["127.0.0.2"],
          },
        }),
      });
      assert.equal(r.type === "registration-response" && r.rejected, false);
      assert.equal(registrar.associationCount, 21);
      for (const a of flood) a.abort();
      await client.close();
    });
  },
});

Deno.test({
  name:
    "limits: at maxAssociations a new association takes the place of the idlest one without PEs; with PEs everywhere it is refused",
  ...opts,
  async fn() {
    await withRegistrar(
      "tcp",
      { maxAssociations: 4, maxAssociationsPerAddress: 100 },
      async (registrar, address) => {
        const idle = [await AsapClient.open(address), await AsapClient.open(address)];
        const pes = [await AsapClient.open(address), await AsapClient.open(address)];
        for (const [i, c] of pes.entries()) {
          await c.request({ type: "registration", poolHandle: text("P"), poolElement: pe(i + 1) });
        }
        await waitFor(() => registrar.associationCount === 4);
        // Full: a newcomer pushes out the idle ones, oldest first.
        const newcomer = await AsapClient.open(address);
        await waitFor(() => idle[0].association.closed);
        assert.equal(idle[1].association.closed, false);
        const r = await newcomer.request({
          type: "registration",
          poolHandle: text("P"),
          poolElement: pe(3),
        });
        assert.equal(r.type === "registration-response" && r.rejected, false);
        const next = await AsapClient.open(address);
        await waitFor(() => idle[1].association.closed);
        await next.request({ type: "registration", poolHandle: text("P"), poolElement: pe(4) });
        // Now every association has PEs: the next one is refused, and every PE stays.
        const refused = await AsapClient.open(address);
        await waitFor(() => refused.association.closed);
        assert.equal(registrar.handlespace.size, 4);
        assert.equal(registrar.stats.associationsRefused, 1);
        for (const c of [...pes, newcomer, next]) await c.close();
      },
    );
  },
});

Deno.test({
  name:
    "limits: an association that registered nothing and asks nothing is closed after idleTimeout",
  ...opts,
  async fn() {
    await withRegistrar(
      "tcp",
      // Timeouts long against the 100 ms between the asking one's requests, so that a loaded
      // machine does not make it (or the PE, which answers keep-alives) look idle.
      { idleTimeout: 1000, keepAliveInterval: 100, keepAliveTimeout: 1000 },
      async (registrar, address) => {
        const quiet = await AsapClient.open(address);
        const asking = await AsapClient.open(address);
        const owner = await AsapClient.open(address);
        await owner.request({ type: "registration", poolHandle: text("P"), poolElement: pe(1) });
        // Ask until the silent one is closed (within 15 s), then for longer than idleTimeout.
        const start = Date.now();
        let quietClosedAfter = Infinity;
        while (Date.now() - start < 15_000) {
          await asking.request({
            type: "handle-resolution",
            wantsUpdates: false,
            poolHandle: text("P"),
          });
          await new Promise((r) => setTimeout(r, 100));
          if (quiet.association.closed && quietClosedAfter === Infinity) {
            quietClosedAfter = Date.now() - start;
          }
          if (Date.now() - start >= quietClosedAfter + 1500) break;
        }
        assert.equal(quiet.association.closed, true, "the silent one is closed");
        assert.equal(asking.association.closed, false, "the one that asks stays");
        assert.equal(owner.association.closed, false, "the one with a PE stays");
        assert.ok(registrar.stats.associationsIdleClosed >= 1);
        await asking.close();
        await owner.close();
      },
    );
  },
});

Deno.test({
  name: "a registrar on two addresses is multi-homed: an association to it has a path to each",
  ...opts,
  async fn() {
    const registrar = await Registrar.start({
      asap: [{ protocol: "sctp", hostname: ["127.0.0.1", "127.0.0.2"], port: 0 }],
      announce: false,
    });
    try {
      const port = registrar.addresses[0].port;
      const a = await connectSctp({
        hostname: "127.0.0.1",
        port,
        localHostname: ["127.0.0.1", "127.0.0.2"],
      });
      assert.deepEqual(a.remoteAddresses.map((x) => x.hostname).sort(), [
        "127.0.0.1",
        "127.0.0.2",
      ]);
      const c = AsapClient.over(a);
      const r = await c.request({
        type: "registration",
        poolHandle: text("M"),
        poolElement: pe(1),
      });
      assert.equal(r.type === "registration-response" && r.rejected, false);
      await c.close();
    } finally {
      await registrar.close();
    }
  },
});
