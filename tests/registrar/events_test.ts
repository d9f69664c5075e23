// The registrar's events and counters, which logs, metrics and the status page are built on.

import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import type { RegistrarEvent } from "../../registrar/events.ts";
import { asapAddress, FAST_HUNT, startRegistrar, waitFor } from "../asap/helpers.ts";

Deno.test("registrar events: registration, renewal, unreachable reports and removal with its reason", async () => {
  const registrar = await startRegistrar("tcp", { maxBadPeReports: 2 });
  const events: RegistrarEvent[] = [];
  const off = registrar.onEvent((e) => events.push(e));
  const registrars = [asapAddress(registrar, "tcp")];
  const pe = await PoolElement.start({
    poolHandle: "EventPool",
    registrars,
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    reregistrationInterval: 200,
    hunt: FAST_HUNT,
  });
  const pu = new PoolUser({ registrars, cacheLifetime: 0 });
  try {
    await waitFor(() => events.filter((e) => e.type === "registered").length >= 2, "a renewal");
    const registered = events.filter((e) => e.type === "registered");
    assert.equal(registered[0].type === "registered" && registered[0].renewal, false);
    assert.equal(registered[1].type === "registered" && registered[1].renewal, true);
    assert.equal(registered[0].type === "registered" && registered[0].from, "127.0.0.1");
    // Two reporters (two associations) make the registrar check it; it answers and stays.
    const other = new PoolUser({ registrars, cacheLifetime: 0 });
    await pu.reportUnreachable("EventPool", pe.identifier);
    await other.reportUnreachable("EventPool", pe.identifier);
    await waitFor(
      () => events.filter((e) => e.type === "unreachable-reported").length === 2,
      "two reports",
    );
    const reports = events.filter((e) => e.type === "unreachable-reported");
    assert.deepEqual(reports.map((e) => e.type === "unreachable-reported" && e.reports), [1, 2]);
    await other.close();
    // Its deregistration is a removal with that reason.
    await pe.close();
    await waitFor(() => events.some((e) => e.type === "removed"), "the removal");
    const removed = events.find((e) => e.type === "removed");
    assert.equal(removed?.type === "removed" && removed.reason, "deregistered");
    assert.equal(removed?.type === "removed" && removed.poolElement.identifier, pe.identifier);
    // Counters beside them.
    assert.equal(registrar.stats.unreachableReports, 2);
    await pu.resolve("NoSuchPool").catch(() => {});
    assert.equal(registrar.stats.handleResolutionsUnknown, 1);
    assert.equal(registrar.stats.resolutionTimes.count, registrar.stats.handleResolutions);
    assert.equal(
      registrar.stats.resolutionTimes.counts.reduce((a, b) => a + b, 0),
      registrar.stats.resolutionTimes.count,
    );
    assert.deepEqual(registrar.associationsByTransport.tcp, registrar.associationCount);
  } finally {
    off();
    await pu.close();
    await pe.close();
    await registrar.close();
  }
});
