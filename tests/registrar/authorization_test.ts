// Registration authorization (RFC 5355, 3.1): a pool with a secret at the registrar takes only
// registrations signed with it; other pools stay open (as RSPLIB's, whose PEs do not sign).

import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import { PoolError } from "../../asap/errors.ts";
import { signRegistration, verifyRegistration } from "../../asap/registration_auth.ts";
import type { AsapRegistration } from "../../asap/messages.ts";
import { ErrorCause } from "../../wire/errors.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";
import { asapAddress, FAST_HUNT, startRegistrar } from "../asap/helpers.ts";

Deno.test("authorization: signed registrations into a guarded pool are taken, unsigned, mis-signed and stale ones refused", async () => {
  const registrar = await startRegistrar("tcp", { poolSecrets: { Guarded: "the guard's secret" } });
  const address = asapAddress(registrar, "tcp");
  const start = (pool: string, secret?: string) =>
    PoolElement.start({
      poolHandle: pool,
      registrars: [address],
      listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
      hunt: FAST_HUNT,
      registrationSecret: secret,
      onSession: () => {},
    });
  const refused = (e: unknown) =>
    e instanceof PoolError && e.code === "registration-rejected" &&
    e.errorCause === ErrorCause.RejectedForSecurity;
  await assert.rejects(start("Guarded"), refused);
  await assert.rejects(start("Guarded", "a guess"), refused);
  const good = await start("Guarded", "the guard's secret");
  const open = await start("Open");
  // A signature made too long ago (or copied from an old registration) is refused too.
  const client = await AsapClient.open(address);
  const message: AsapRegistration = {
    type: "registration",
    poolHandle: text("Guarded"),
    poolElement: pe(77),
  };
  message.authentication = signRegistration(message, "the guard's secret", Date.now() - 3_600_000);
  const stale = await client.request(message);
  try {
    assert.ok(good.registered);
    assert.ok(open.registered);
    assert.equal(stale.type === "registration-response" && stale.rejected, true);
    assert.equal(registrar.handlespace.getPool(text("Guarded"))?.size, 1);
    // Changing any part of the PE after signing breaks the signature.
    const signed: AsapRegistration = {
      type: "registration",
      poolHandle: text("Guarded"),
      poolElement: pe(78),
    };
    signed.authentication = signRegistration(signed, "s");
    assert.ok(verifyRegistration(signed, "s"));
    signed.poolElement = pe(78, { registrationLife: 1 });
    assert.ok(!verifyRegistration(signed, "s"));
  } finally {
    await client.close();
    await good.close();
    await open.close();
    await registrar.close();
  }
});
