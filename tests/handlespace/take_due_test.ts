import assert from "node:assert/strict";
import { Handlespace } from "../../handlespace/mod.ts";
import { tcpPoolElement } from "../support/messages.ts";

Deno.test("takeDue returns due PEs, keeps them registered and stops their timers", () => {
  let now = 0;
  const hs = new Handlespace({ clock: () => now });
  const handle = new TextEncoder().encode("P");
  for (const id of [1, 2, 3]) {
    hs.registerPoolElement(handle, { ...tcpPoolElement(id), registrationLife: 1000 * id });
  }
  now = 2000;
  assert.deepEqual(hs.takeDue().map((e) => e.poolElement.identifier).sort(), [1, 2]);
  assert.equal(hs.size, 3);
  assert.deepEqual(hs.takeDue(), [], "their timers are stopped");
  assert.equal(hs.nextExpiry(), 3000);
  hs.setExpiry(handle, 1, 2500);
  now = 2600;
  assert.deepEqual(hs.takeDue().map((e) => e.poolElement.identifier), [1]);
  assert.equal(hs.getPoolElement(handle, 1)?.expiresAt, Infinity);
});
