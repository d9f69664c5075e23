import assert from "node:assert/strict";
import { decodeAsapMessage, encodeAsapMessage } from "../../asap/codec.ts";
import { ASAP_PPID } from "../../asap/connect.ts";
import type { AsapMessage } from "../../asap/messages.ts";
import { PoolElement, type PoolElementEvent } from "../../asap/pool_element.ts";
import { openListener } from "../../transport/open.ts";
import type { Association } from "../../transport/types.ts";
import { acceptWithin, receiveWithin } from "../support/deadline.ts";
import { FAST_HUNT, text } from "./helpers.ts";

async function next(association: Association) {
  const m = await receiveWithin(association);
  if (m === null) throw new Error("Association ended");
  return decodeAsapMessage(m.data);
}

Deno.test("PE: answers keep-alives with its PE ID and pool handle; the H flag moves its home", async () => {
  // A scripted registrar: accepts the registration, then sends keep-alives.
  const listener = await openListener(
    { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    { framing: "rserpool", ppid: ASAP_PPID },
  );
  const events: PoolElementEvent[] = [];
  const script = (async () => {
    const a = (await acceptWithin(listener))!;
    const send = (m: AsapMessage) => a.send(encodeAsapMessage(m), { ppid: ASAP_PPID });
    const registration = await next(a);
    assert.ok(registration.type === "registration");
    const id = registration.poolElement.identifier;
    await send({
      type: "registration-response",
      rejected: false,
      poolHandle: registration.poolHandle,
      identifier: id,
    });
    await send({
      type: "endpoint-keep-alive",
      home: false,
      serverId: 0x1111,
      poolHandle: text("KaPool"),
      identifier: id,
    });
    const ack = await next(a);
    assert.deepEqual(ack, {
      type: "endpoint-keep-alive-ack",
      poolHandle: text("KaPool"),
      identifier: id,
    });
    // Another pool's keep-alive is not answered; the takeover's is.
    await send({ type: "endpoint-keep-alive", home: false, serverId: 1, poolHandle: text("X") });
    await send({
      type: "endpoint-keep-alive",
      home: true,
      serverId: 0x2222,
      poolHandle: text("KaPool"),
    });
    const ack2 = await next(a);
    assert.ok(ack2.type === "endpoint-keep-alive-ack" && ack2.identifier === id);
    return a;
  })();
  try {
    await using pe = await PoolElement.start({
      poolHandle: "KaPool",
      registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: listener.addresses[0].port }],
      listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
      hunt: FAST_HUNT,
      deregistrationTimeout: 100,
    });
    pe.onEvent((e) => events.push(e));
    const a = await script;
    assert.equal(pe.homeRegistrarId, 0x2222);
    assert.deepEqual(events, [{ type: "home-changed", serverId: 0x2222 }]);
    assert.equal(pe.stats.keepAlivesAnswered, 2);
    a.abort();
  } finally {
    await listener.close();
  }
});
