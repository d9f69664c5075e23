import assert from "node:assert/strict";
import { openStateCookie, sealStateCookie } from "../../asap/state_cookie.ts";
import { PoolError } from "../../asap/errors.ts";
import { text } from "./helpers.ts";

const options = { secret: "pool secret", poolHandle: text("CookiePool"), clock: () => 1_000_000 };

function assertInvalid(f: () => unknown): void {
  assert.throws(f, (e) => e instanceof PoolError && e.code === "invalid-cookie");
}

Deno.test("state cookie: state survives a round trip, with its issue time", () => {
  const state = { counter: 7, name: "x", bytes: new Uint8Array([1, 2, 3]), list: [1, null] };
  const cookie = sealStateCookie(state, options);
  const opened = openStateCookie(cookie, options);
  assert.deepEqual(opened.state, state);
  assert.equal(opened.issuedAt, 1_000_000);
});

Deno.test("state cookie: every single-bit change is rejected", () => {
  const cookie = sealStateCookie({ counter: 1 }, options);
  for (let i = 0; i < cookie.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const altered = cookie.slice();
      altered[i] ^= bit;
      assertInvalid(() => openStateCookie(altered, options));
    }
  }
});

Deno.test("state cookie: another secret, another pool, truncation and garbage are rejected", () => {
  const cookie = sealStateCookie({ counter: 1 }, options);
  assertInvalid(() => openStateCookie(cookie, { ...options, secret: "other secret" }));
  assertInvalid(() => openStateCookie(cookie, { ...options, poolHandle: text("OtherPool") }));
  assertInvalid(() => openStateCookie(cookie.subarray(0, cookie.length - 1), options));
  assertInvalid(() => openStateCookie(new Uint8Array(0), options));
  assertInvalid(() => openStateCookie(crypto.getRandomValues(new Uint8Array(64)), options));
  // A cookie forged with the right layout but a made-up tag.
  const forged = cookie.slice();
  forged.set(new Uint8Array(32), forged.length - 32);
  assertInvalid(() => openStateCookie(forged, options));
});

Deno.test("state cookie: maxAge rejects old cookies", () => {
  const cookie = sealStateCookie("s", options);
  assert.equal(
    openStateCookie(cookie, { ...options, clock: () => 1_000_500, maxAge: 1000 }).state,
    "s",
  );
  assertInvalid(() =>
    openStateCookie(cookie, { ...options, clock: () => 1_002_000, maxAge: 1000 })
  );
});

Deno.test("state cookie: a state too large for a COOKIE message is refused", () => {
  assert.throws(
    () => sealStateCookie(new Uint8Array(70_000), options),
    (e) => e instanceof PoolError && e.code === "invalid",
  );
});
