// The UDP socket under the SCTP stack: a busy socket does not hold the event loop.

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { bindUdp } from "../../transport/sctp/udp_socket.ts";
import { within } from "../support/deadline.ts";

const sanitized = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "udp socket: a backlog of datagrams lets the event loop turn in between",
  sanitized,
  async () => {
    const COUNT = 96;
    let sinceTurn = 0;
    let mostInOneTurn = 0;
    let received = 0;
    const all = Promise.withResolvers<void>();
    const socket = await bindUdp("127.0.0.1", 0, () => {
      // Slow handling builds a backlog, as a busy registrar's has.
      const until = performance.now() + 0.3;
      while (performance.now() < until) { /* busy */ }
      mostInOneTurn = Math.max(mostInOneTurn, ++sinceTurn);
      if (++received === COUNT) all.resolve();
    }, "deno");
    // An event-loop turn counter: each immediate marks one turn.
    let ticking = true;
    const tick = () => {
      sinceTurn = 0;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      const to = { transport: "udp" as const, hostname: "127.0.0.1", port: socket.port };
      await Promise.all(Array.from({ length: COUNT }, () => sender.send(new Uint8Array(40), to)));
      await within(all.promise, "all datagrams");
    } finally {
      ticking = false;
      sender.close();
      await socket.close();
    }
    assert.equal(received, COUNT);
    // Without the yield Deno hands over up to 128 completed receives in one turn.
    assert.ok(mostInOneTurn <= 20, `${mostInOneTurn} datagrams handled in one turn`);
  },
);
