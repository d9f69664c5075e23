import assert from "node:assert/strict";
import { decodeAsapMessage, encodeAsapMessage } from "../../asap/mod.ts";
import { decodeEnrpMessage, encodeEnrpMessage } from "../../enrp/mod.ts";
import { ErrorCause, WireError } from "../../wire/mod.ts";
import { handle, samplePoolElement, tcpPoolElement } from "../support/messages.ts";

function wireError(fn: () => unknown, cause: number, offset?: number): WireError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof WireError, `expected WireError, got ${e}`);
    assert.equal(e.errorCause, cause, e.message);
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    return e;
  }
  assert.fail("no error thrown");
}

/** A HANDLE_RESOLUTION for "P" with an extra raw TLV appended, strict length. */
function withExtra(extra: number[]): Uint8Array {
  const base = [0x05, 0, 0, 0, 0x00, 0x09, 0x00, 0x05, 0x50, 0, 0, 0, ...extra];
  base[3] = base.length;
  return new Uint8Array(base);
}

Deno.test("header problems are Invalid Values with the offset", () => {
  wireError(() => decodeAsapMessage(new Uint8Array([5, 0, 0])), ErrorCause.InvalidValues, 0);
  wireError(() => decodeAsapMessage(new Uint8Array([5, 0, 0, 2])), ErrorCause.InvalidValues, 2);
  wireError(
    () => decodeAsapMessage(new Uint8Array([5, 0, 0, 8, 0, 9])),
    ErrorCause.InvalidValues,
    2,
  );
  // Bytes beyond the message's padding.
  const ok = withExtra([]);
  const trailing = new Uint8Array([...ok, 0, 0, 0, 0]);
  wireError(() => decodeAsapMessage(trailing), ErrorCause.InvalidValues, 12);
});

Deno.test("an unknown message type is Unrecognized Message carrying the message", () => {
  const bytes = new Uint8Array([0x42, 0, 0, 4]);
  const e = wireError(() => decodeAsapMessage(bytes), ErrorCause.UnrecognizedMessage, 0);
  assert.deepEqual(e.data, bytes);
  const e2 = wireError(
    () => decodeEnrpMessage(new Uint8Array([0x0b, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0])),
    ErrorCause.UnrecognizedMessage,
  );
  assert.equal(e2.data?.length, 12);
});

Deno.test("unknown parameters follow their two high bits", () => {
  // 00: stop, discard silently.
  const silent = wireError(
    () => decodeAsapMessage(withExtra([0x00, 0x30, 0x00, 0x05, 0xaa, 0, 0, 0])),
    ErrorCause.UnrecognizedParameter,
    12,
  );
  assert.equal(silent.silent, true);
  assert.deepEqual(silent.data, new Uint8Array([0x00, 0x30, 0x00, 0x05, 0xaa]));
  // 01: stop, discard and report.
  const loud = wireError(
    () => decodeAsapMessage(withExtra([0x40, 0x30, 0x00, 0x04])),
    ErrorCause.UnrecognizedParameter,
    12,
  );
  assert.equal(loud.silent, false);
  assert.deepEqual(loud.data, new Uint8Array([0x40, 0x30, 0x00, 0x04]));
  // 10: skip.
  const skipped = decodeAsapMessage(withExtra([0x80, 0x30, 0x00, 0x06, 1, 2, 0, 0]));
  assert.equal(skipped.type, "handle-resolution");
  assert.equal(skipped.unrecognized, undefined);
  // 11: skip and report.
  const reported = decodeAsapMessage(withExtra([0xc0, 0x30, 0x00, 0x06, 1, 2, 0, 0]));
  assert.equal(reported.type, "handle-resolution");
  assert.deepEqual(reported.unrecognized, [new Uint8Array([0xc0, 0x30, 0x00, 0x06, 1, 2])]);
});

Deno.test("an unknown parameter nested in a pool element follows the same rules", () => {
  const bytes = encodeAsapMessage({
    type: "registration",
    poolHandle: handle("P"),
    poolElement: tcpPoolElement(1),
  });
  // Append a skip-and-report TLV inside the PE parameter and fix both lengths.
  const extra = [0xc1, 0x00, 0x00, 0x04];
  const peAt = 12; // header 4 + pool handle "P" padded to 8
  const out = new Uint8Array([...bytes, ...extra]);
  const view = new DataView(out.buffer);
  view.setUint16(peAt + 2, view.getUint16(peAt + 2) + 4);
  view.setUint16(2, out.length);
  const m = decodeAsapMessage(out);
  assert.equal(m.type, "registration");
  assert.deepEqual(m.unrecognized, [new Uint8Array(extra)]);
});

Deno.test("parameter lengths are checked against the bytes present", () => {
  // Pool handle claims 200 bytes.
  wireError(
    () => decodeAsapMessage(new Uint8Array([5, 0, 0, 12, 0, 9, 0, 200, 0x50, 0, 0, 0])),
    ErrorCause.InvalidValues,
    6,
  );
  // Parameter length below 4.
  wireError(
    () => decodeAsapMessage(new Uint8Array([5, 0, 0, 12, 0, 9, 0, 2, 0x50, 0, 0, 0])),
    ErrorCause.InvalidValues,
    6,
  );
  // A parameter header cut short.
  wireError(
    () => decodeAsapMessage(new Uint8Array([5, 0, 0, 6, 0, 9, 0, 0])),
    ErrorCause.InvalidValues,
    4,
  );
});

Deno.test("missing, repeated and misplaced parameters are Invalid Values", () => {
  wireError(() => decodeAsapMessage(new Uint8Array([5, 0, 0, 4])), ErrorCause.InvalidValues);
  // Two pool handles.
  wireError(
    () => decodeAsapMessage(withExtra([0x00, 0x09, 0x00, 0x05, 0x51, 0, 0, 0])),
    ErrorCause.InvalidValues,
    12,
  );
  // A cookie in a handle resolution.
  wireError(
    () => decodeAsapMessage(withExtra([0x00, 0x0d, 0x00, 0x05, 0x51, 0, 0, 0])),
    ErrorCause.InvalidValues,
    12,
  );
  // A PE identifier of the wrong length.
  const dereg = encodeAsapMessage({
    type: "deregistration",
    poolHandle: handle("P"),
    identifier: 1,
  });
  const bad = dereg.slice(0, dereg.length - 4);
  new DataView(bad.buffer).setUint16(14, 4);
  new DataView(bad.buffer).setUint16(2, bad.length);
  wireError(() => decodeAsapMessage(bad), ErrorCause.InvalidValues);
});

Deno.test("bad values inside parameters are Invalid Values", () => {
  const good = encodeAsapMessage({
    type: "registration",
    poolHandle: handle("P"),
    poolElement: samplePoolElement(1),
  });
  // The first 4-aligned parameter header of `type` with a plausible length.
  const find = (bytes: Uint8Array, type: number, length?: number) => {
    const view = new DataView(bytes.buffer);
    for (let i = 4; i + 4 <= bytes.length; i += 4) {
      const l = view.getUint16(i + 2);
      if (view.getUint16(i) === type && (length === undefined ? l >= 8 : l === length)) return i;
    }
    throw new Error("not found");
  };
  // Unknown policy code.
  const policyAt = find(good, 0x0008);
  const unknownPolicy = good.slice();
  new DataView(unknownPolicy.buffer).setUint32(policyAt + 4, 0x12345678);
  wireError(() => decodeAsapMessage(unknownPolicy), ErrorCause.InvalidValues, policyAt + 4);
  // Transport use 7.
  const transportAt = find(good, 0x0004);
  const badUse = good.slice();
  new DataView(badUse.buffer).setUint16(transportAt + 6, 7);
  wireError(() => decodeAsapMessage(badUse), ErrorCause.InvalidValues, transportAt + 6);
  // An IPv4 address parameter claiming IPv6.
  const addressAt = find(good, 0x0001, 8);
  const badAddress = good.slice();
  new DataView(badAddress.buffer).setUint16(addressAt, 0x0002);
  wireError(() => decodeAsapMessage(badAddress), ErrorCause.InvalidValues);
  // Handle update action 2.
  const update = encodeEnrpMessage({
    type: "handle-update",
    takeoverSuggested: false,
    senderId: 1,
    receiverId: 0,
    action: "add",
    poolHandle: handle("P"),
    poolElement: tcpPoolElement(1),
  });
  update[13] = 2;
  wireError(() => decodeEnrpMessage(update), ErrorCause.InvalidValues, 12);
});

Deno.test("a handle table response needs a pool handle before its pool elements", () => {
  const bytes = encodeEnrpMessage({
    type: "handle-table-response",
    rejected: false,
    more: false,
    senderId: 1,
    receiverId: 2,
    pools: [{ poolHandle: handle("PPPP"), poolElements: [tcpPoolElement(1)] }],
  });
  // Drop the pool handle (8 bytes at offset 12).
  const cut = new Uint8Array([...bytes.subarray(0, 12), ...bytes.subarray(20)]);
  new DataView(cut.buffer).setUint16(2, cut.length);
  wireError(() => decodeEnrpMessage(cut), ErrorCause.InvalidValues, 12);
});

Deno.test("encoding rejects values that do not fit their fields", () => {
  const ph = handle("P");
  const pe = tcpPoolElement(1);
  const reg = (poolElement: unknown) =>
    encodeAsapMessage({
      type: "registration",
      poolHandle: ph,
      poolElement: poolElement as typeof pe,
    });
  wireError(() => reg({ ...pe, identifier: 2 ** 32 }), ErrorCause.InvalidValues);
  wireError(() => reg({ ...pe, identifier: -1 }), ErrorCause.InvalidValues);
  wireError(() => reg({ ...pe, registrationLife: 2 ** 31 }), ErrorCause.InvalidValues);
  wireError(
    () => reg({ ...pe, userTransport: { ...pe.userTransport, port: 70000 } }),
    ErrorCause.InvalidValues,
  );
  wireError(
    () => reg({ ...pe, userTransport: { ...pe.userTransport, addresses: ["300.1.1.1"] } }),
    ErrorCause.InvalidValues,
  );
  wireError(
    () => reg({ ...pe, userTransport: { ...pe.userTransport, addresses: ["::1", "::2"] } }),
    ErrorCause.InvalidValues,
  );
  wireError(() => reg({ ...pe, policy: { name: "fastest" } }), ErrorCause.InvalidValues);
  wireError(() => reg({ ...pe, policy: { name: "least-used" } }), ErrorCause.InvalidValues);
  wireError(() => reg(undefined), ErrorCause.InvalidValues);
  wireError(
    () => encodeAsapMessage({ type: "cookie", cookie: new Uint8Array(70_000) }),
    ErrorCause.InvalidValues,
  );
  wireError(
    () =>
      encodeAsapMessage({ type: "nonsense" } as unknown as Parameters<typeof encodeAsapMessage>[0]),
    ErrorCause.InvalidValues,
  );
  // The shared writer is still usable after a failed encode.
  assert.equal(encodeAsapMessage({ type: "cookie", cookie: new Uint8Array(3) }).length, 12);
});

Deno.test("a cookie up to the 16-bit limit round-trips", () => {
  const cookie = new Uint8Array(65_535 - 8).map((_, i) => i & 0xff);
  const bytes = encodeAsapMessage({ type: "cookie", cookie });
  const m = decodeAsapMessage(bytes);
  assert.equal(m.type, "cookie");
  if (m.type === "cookie") assert.deepEqual(m.cookie, cookie);
});
