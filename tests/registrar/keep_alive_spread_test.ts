import assert from "node:assert/strict";
import { Registrar } from "../../registrar/registrar.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";

// PEs that register together are not probed together: their first keep-alives fall at
// different times within the interval, and never later than the interval.
Deno.test("keep-alives of PEs registered at once spread over the interval", async () => {
  const now = 1_000_000;
  const registrar = await Registrar.start({
    asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
    announce: false,
    clock: () => now, // frozen: no keep-alive is due while the test runs
    keepAliveInterval: 5000,
    registrationRate: { rate: 1000, burst: 1000 },
  });
  try {
    const c = await AsapClient.open(registrar.addresses[0]);
    const ph = text("Spread");
    for (let id = 1; id <= 200; id++) {
      await c.request({ type: "registration", poolHandle: ph, poolElement: pe(id) });
    }
    const due = [...registrar.handlespace.poolElements(ph)].map((e) => e.expiresAt - now);
    assert.equal(due.length, 200);
    assert.ok(due.every((d) => d > 0 && d <= 5000), `${Math.min(...due)}..${Math.max(...due)}`);
    // Spread: no 100 ms slot holds more than a tenth of them, and they span most of the half.
    const slots = new Map<number, number>();
    for (const d of due) slots.set(Math.floor(d / 100), (slots.get(Math.floor(d / 100)) ?? 0) + 1);
    assert.ok(Math.max(...slots.values()) <= 20, `${Math.max(...slots.values())} in one slot`);
    assert.ok(Math.max(...due) - Math.min(...due) >= 2000);
    await c.close();
  } finally {
    await registrar.close();
  }
});
