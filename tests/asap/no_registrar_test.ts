import assert from "node:assert/strict";
import { PoolElement, PoolError, PoolUser, Registrar } from "../../mod.ts";

/** A TCP port on loopback that nothing listens on (bound, then closed). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("PU: connect with no registrar listening fails at once with no-registrar and why", async () => {
  const port = closedPort();
  await using pu = new PoolUser({
    registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port }],
  });
  const started = Date.now();
  await assert.rejects(
    () => pu.connect("NoRegistrarPool"),
    (e) =>
      e instanceof PoolError && e.code === "no-registrar" &&
      e.message.includes(`tcp:127.0.0.1:${port}`) && /refused/i.test(e.message),
  );
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

Deno.test("PE: closed settles when the PE is closed", async () => {
  await using registrar = await Registrar.start({
    asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
    announce: false,
  });
  const pe = await PoolElement.start({
    poolHandle: "ClosedPromisePool",
    registrars: registrar.addresses,
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    onSession: async () => {},
  });
  let settled = false;
  const closed = pe.closed.then(() => settled = true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, false);
  await pe.close();
  await closed;
  assert.equal(settled, true);
});
