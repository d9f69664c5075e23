// The UDP ports of SCTP as options of the registrar, the PE and the PU: all of a program's
// SCTP on one UDP port, and a local failure (a UDP port that cannot be bound) reported to the
// caller, never as the PE's failure.

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { PoolElement } from "../../asap/pool_element.ts";
import { PoolError } from "../../asap/errors.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import { SctpStack } from "../../transport/sctp/stack.ts";
import { asapAddress, FAST_HUNT, hasPe, startRegistrar, str, text } from "./helpers.ts";

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind({ address: "127.0.0.1", port: 0 }, () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function udpSocketsOn(port: number): number {
  return SctpStack.default.sockets.filter((s) => s.port === port).length;
}

Deno.test("udp ports: registrar, PE (registrar association + listener) and PU (registrar + data associations) each on one fixed UDP port", async () => {
  const registrarUdp = await freeUdpPort();
  const peUdp = await freeUdpPort();
  const puUdp = await freeUdpPort();
  // SCTP ports are the stack's own numbers, apart from UDP ports: the registrar's is 3863 over
  // UDP registrarUdp, so peers must be told the UDP port.
  const registrar = await startRegistrar("sctp", {
    asap: [{ protocol: "sctp", hostname: "127.0.0.1", port: 3863 }],
    udpPort: registrarUdp,
  });
  const registrars = [asapAddress(registrar, "sctp")];
  assert.equal(registrars[0].port, 3863);
  const pe = await PoolElement.start({
    poolHandle: "UdpPortPool",
    registrars,
    listen: { protocol: "sctp", hostname: "127.0.0.1", port: 7777 },
    udpPort: peUdp,
    remoteUdpPort: registrarUdp,
    hunt: FAST_HUNT,
    onSession: async (session) => {
      for await (const m of session) await session.send(m.data);
    },
  });
  const pu = new PoolUser({
    registrars,
    udpPort: puUdp,
    remoteUdpPort: registrarUdp,
    hunt: FAST_HUNT,
  });
  try {
    assert.ok(hasPe(registrar, "UdpPortPool", pe.identifier));
    assert.equal(udpSocketsOn(peUdp), 1, "the PE's listener and registrar association share");
    // The PE's SCTP port 7777 is reached over the PE's UDP port, which no ASAP parameter
    // carries (RFC 6951): the session is told.
    const session = await pu.connect("UdpPortPool", { remoteUdpPort: peUdp });
    for (let i = 0; i < 5; i++) assert.equal(str(await session.request(text(`m${i}`))), `m${i}`);
    assert.equal(udpSocketsOn(puUdp), 1, "the PU's registrar and data associations share");
    await session.close();
  } finally {
    await pu.close();
    await pe.close();
    await registrar.close();
  }
});

Deno.test("udp ports: a PU that cannot bind its UDP port fails with a local error and reports no PE", async () => {
  const registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  const pe = await PoolElement.start({
    poolHandle: "LocalFailurePool",
    registrars,
    listen: { protocol: "sctp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    onSession: async (session) => {
      for await (const m of session) await session.send(m.data);
    },
  });
  // Someone else holds the UDP port the PU is told to use.
  const holder = dgram.createSocket("udp4");
  await new Promise<void>((r) =>
    holder.bind({ address: "127.0.0.1", port: 0, exclusive: true }, () => r())
  );
  const pu = new PoolUser({ registrars, udpPort: holder.address().port, hunt: FAST_HUNT });
  try {
    await assert.rejects(
      pu.connect("LocalFailurePool"),
      (e) => e instanceof PoolError && e.code === "local",
    );
    assert.equal(registrar.stats.unreachableReports, 0, "no ENDPOINT_UNREACHABLE was sent");
    assert.ok(hasPe(registrar, "LocalFailurePool", pe.identifier));
  } finally {
    await pu.close();
    await new Promise<void>((r) => holder.close(() => r()));
    await pe.close();
    await registrar.close();
  }
});
