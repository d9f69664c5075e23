/**
 * SCTP association events and the accept side, as for TCP: a listener registered after
 * `connectSctp()` resolved, or after `accept()`, is told `communication-up`, and one registered
 * after the end is told how it ended; a listener that stops listening aborts what it has not
 * handed out. In virtual time on the simulated network, and side by side with TCP on loopback.
 */

import assert from "node:assert/strict";
import type { SctpAssociation } from "../../transport/sctp/association.ts";
import { connectSctp, listenSctp } from "../../transport/sctp/endpoint.ts";
import { SimNetwork } from "../../transport/sctp/sim/mod.ts";
import { connectTcp, listenTcp } from "../../transport/tcp/mod.ts";
import type { Association, AssociationListener } from "../../transport/types.ts";
import { acceptWithin, within } from "../support/deadline.ts";
import { simPair } from "../support/sctp_sim.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

function recorder(association: Association): string[] {
  const seen: string[] = [];
  association.onEvent((e) => seen.push(e.type));
  return seen;
}

Deno.test(
  "sctp sim: a listener added after connectSctp() resolves is told communication-up",
  sanitized,
  async () => {
    const { net, client, server, listener } = await simPair({ link: { delay: 10 } });
    const clientEvents = recorder(client);
    const serverEvents = recorder(server);
    assert.deepEqual(clientEvents, [], "not synchronously");
    await net.run(0);
    assert.deepEqual(clientEvents, ["communication-up"]);
    assert.deepEqual(serverEvents, ["communication-up"]);
    await net.settle(client.close(), 10_000);
    await net.runUntil(() => server.closed, 10_000);
    assert.deepEqual(clientEvents, ["communication-up", "shutdown"]);
    assert.deepEqual(serverEvents, ["communication-up", "shutdown"]);
    // Registered after the end: told that it was up, then how it ended, once.
    const late = recorder(client);
    await net.run(100);
    assert.deepEqual(late, ["communication-up", "shutdown"]);
    await listener.close();
  },
);

Deno.test(
  "sctp sim: closing a listener aborts what it has not handed out; accept() then gives null",
  sanitized,
  async () => {
    const net = new SimNetwork({ seed: 3 });
    net.link("10.0.0.1", "10.0.0.2", { delay: 5 });
    const listener = await listenSctp({ hostname: "10.0.0.2", port: 7, stack: net.stack() });
    const client = await net.settle(connectSctp({
      hostname: "10.0.0.2",
      port: 7,
      localHostname: "10.0.0.1",
      stack: net.stack(),
    }));
    const clientEvents = recorder(client);
    // Never accepted: aborted by close(), so the client learns that its association is lost.
    await listener.close();
    await net.runUntil(() => client.closed, 10_000);
    assert.deepEqual(clientEvents, ["communication-up", "communication-lost"]);
    assert.equal(await listener.accept(), null);
    assert.equal(await listener.accept(), null);
  },
);

Deno.test(
  "sctp sim: destroy() ends accept() and leaves no aborted association to accept",
  sanitized,
  async () => {
    const net = new SimNetwork({ seed: 4 });
    net.link("10.0.0.1", "10.0.0.2", { delay: 5 });
    const listener = await listenSctp({ hostname: "10.0.0.2", port: 7, stack: net.stack() });
    const waiting = listener.accept();
    const first = await net.settle(connectSctp({
      hostname: "10.0.0.2",
      port: 7,
      localHostname: "10.0.0.1",
      localPort: 1001,
      stack: net.stack(),
    }));
    const accepted = (await net.settle(waiting)) as SctpAssociation;
    assert.equal(accepted.closed, false);
    // A second association waits to be accepted when the endpoint is destroyed.
    const second = await net.settle(connectSctp({
      hostname: "10.0.0.2",
      port: 7,
      localHostname: "10.0.0.1",
      localPort: 1002,
      stack: net.stack(),
    }));
    await listener.destroy();
    assert.equal(await listener.accept(), null);
    await net.runUntil(() => first.closed && second.closed, 10_000);
    assert.equal(accepted.closed, true);
  },
);

/** The events a listener registered after connect and accept sees, through a graceful close. */
async function lateListenerEvents(
  listener: AssociationListener,
  connect: () => Promise<Association>,
): Promise<{ client: string[]; server: string[]; afterEnd: string[] }> {
  const accepted = acceptWithin(listener);
  const client = await within(connect(), "association");
  const server = (await accepted)!;
  const clientEvents = recorder(client);
  const serverEvents = recorder(server);
  const serverEnded = new Promise<void>((resolve) =>
    server.onEvent((e) => {
      if (e.type !== "communication-up") resolve();
    })
  );
  // Let the replay run before the close, so that its place in the list is fixed.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await within(client.close(), "close");
  await within(serverEnded, "end of the server association");
  const afterEnd = recorder(client);
  await new Promise((resolve) => setTimeout(resolve, 0));
  await listener.close();
  return { client: clientEvents, server: serverEvents, afterEnd };
}

Deno.test("sctp and tcp: late listeners see the same events", sanitized, async () => {
  const sctpListener = await listenSctp({ hostname: "127.0.0.1", port: 0 });
  const sctp = await lateListenerEvents(
    sctpListener,
    () => connectSctp({ hostname: "127.0.0.1", port: sctpListener.addresses[0].port }),
  );
  const tcpListener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  const tcp = await lateListenerEvents(
    tcpListener,
    () => connectTcp({ hostname: "127.0.0.1", port: tcpListener.addresses[0].port }),
  );
  const expected = ["communication-up", "shutdown"];
  assert.deepEqual(sctp, { client: expected, server: expected, afterEnd: expected });
  assert.deepEqual(tcp, sctp);
});
