// A registrar whose event loop lags (here: this process's event loop held most of the time)
// does not remove a PE whose keep-alive answer is late; once it keeps up again, it does.

import assert from "node:assert/strict";
import { delay, waitFor, withRegistrar } from "./helpers.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";

/** Holds the event loop 60 ms of every ~70 until the returned function is called. */
function holdEventLoop(): () => void {
  const timer = setInterval(() => {
    const end = performance.now() + 60;
    while (performance.now() < end) { /* busy */ }
  }, 10);
  return () => clearInterval(timer);
}

for (const overloadLag of [undefined, 0]) {
  const paced = overloadLag === undefined;
  Deno.test(
    paced
      ? "overloaded registrar: an unanswered keep-alive does not remove the PE until it keeps up again"
      : "overloadLag 0: an unanswered keep-alive removes the PE even while the registrar lags",
    async () => {
      await withRegistrar(
        "tcp",
        { keepAliveInterval: 100, keepAliveTimeout: 300, overloadLag },
        async (registrar, address) => {
          const c = await AsapClient.open(address);
          await c.request({ type: "registration", poolHandle: text("P"), poolElement: pe(1) });
          await waitFor(() => c.keepAlives >= 2);
          const release = holdEventLoop();
          try {
            // A second of lag for the registrar to see it.
            await delay(1500);
            assert.equal(registrar.load.overloaded, paced);
            c.answerKeepAlives = false;
            await delay(1500);
            if (paced) {
              assert.equal(registrar.handlespace.size, 1, "kept while overloaded");
              assert.ok(registrar.stats.keepAliveTimeoutsExcused > 0);
              assert.equal(registrar.stats.keepAliveTimeouts, 0);
            } else {
              assert.equal(registrar.handlespace.size, 0, "removed");
              assert.equal(registrar.stats.keepAliveTimeoutsExcused, 0);
            }
          } finally {
            release();
          }
          // Keeping up again, the registrar removes the PE that does not answer.
          await waitFor(() => registrar.handlespace.size === 0, 10_000);
          assert.equal(registrar.stats.keepAliveTimeouts, 1);
          assert.equal(registrar.load.overloaded, false);
          await c.close();
        },
      );
    },
  );
}
