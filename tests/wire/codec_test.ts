import assert from "node:assert/strict";
import {
  type AsapMessage,
  AsapMessageType,
  decodeAsapMessage,
  encodeAsapMessage,
} from "../../asap/mod.ts";
import {
  decodeEnrpMessage,
  encodeEnrpMessage,
  type EnrpMessage,
  EnrpMessageType,
} from "../../enrp/mod.ts";
import { freezePoolElement, type Policy, PolicyCode, type PolicyName } from "../../wire/mod.ts";
import {
  asapSamples,
  enrpSamples,
  handle,
  samplePoolElement,
  tcpPoolElement,
} from "../support/messages.ts";

function hex(s: string): Uint8Array {
  return new Uint8Array(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));
}

const HANDLE_RESOLUTION_VECTOR = hex("05 00 00 11 00 09 00 0d 45 63 68 6f 50 6f 6f 6c 31 00 00 00");
const PRESENCE_VECTOR = hex(
  "01 01 00 2c 11 22 33 44 00 00 00 00 00 0f 00 06 ab cd 00 00 00 0b 00 18 11 22 33 44 " +
    "00 04 00 10 26 ad 00 00 00 01 00 08 7f 00 00 01",
);

Deno.test("HANDLE_RESOLUTION test vector encodes byte for byte", () => {
  const bytes = encodeAsapMessage({
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: handle("EchoPool1"),
  });
  assert.deepEqual(bytes, HANDLE_RESOLUTION_VECTOR);
});

Deno.test("HANDLE_RESOLUTION test vector decodes", () => {
  assert.deepEqual(decodeAsapMessage(HANDLE_RESOLUTION_VECTOR), {
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: handle("EchoPool1"),
  });
});

const PRESENCE: EnrpMessage = {
  type: "presence",
  replyRequired: true,
  senderId: 0x11223344,
  receiverId: 0,
  checksum: 0xabcd,
  serverInfo: {
    serverId: 0x11223344,
    transport: { protocol: "sctp", port: 9901, transportUse: "data", addresses: ["127.0.0.1"] },
  },
};

Deno.test("PRESENCE test vector encodes byte for byte", () => {
  assert.deepEqual(encodeEnrpMessage(PRESENCE), PRESENCE_VECTOR);
});

Deno.test("PRESENCE test vector decodes", () => {
  assert.deepEqual(decodeEnrpMessage(PRESENCE_VECTOR), PRESENCE);
});

Deno.test("every ASAP message type round-trips", () => {
  const samples = asapSamples();
  const seen = new Set<string>();
  for (const m of samples) {
    const bytes = encodeAsapMessage(m);
    assert.equal(bytes[0], AsapMessageType[m.type]);
    assert.equal(bytes.length % 4, 0, "padded to 4 bytes");
    assert.deepEqual(decodeAsapMessage(bytes), m, m.type);
    seen.add(m.type);
  }
  assert.deepEqual([...seen].sort(), Object.keys(AsapMessageType).sort());
});

Deno.test("every ENRP message type round-trips", () => {
  const samples = enrpSamples();
  const seen = new Set<string>();
  for (const m of samples) {
    const bytes = encodeEnrpMessage(m);
    assert.equal(bytes[0], EnrpMessageType[m.type]);
    assert.equal(bytes.length % 4, 0, "padded to 4 bytes");
    assert.deepEqual(decodeEnrpMessage(bytes), m, m.type);
    seen.add(m.type);
  }
  assert.deepEqual([...seen].sort(), Object.keys(EnrpMessageType).sort());
});

Deno.test("message length is strict on encode and both forms decode", () => {
  for (const m of asapSamples()) {
    const bytes = encodeAsapMessage(m);
    const length = (bytes[2] << 8) | bytes[3];
    assert.ok(length <= bytes.length && bytes.length - length < 4);
    // RSPLIB's form counts the padding.
    const padded = bytes.slice();
    padded[2] = bytes.length >> 8;
    padded[3] = bytes.length & 0xff;
    assert.deepEqual(decodeAsapMessage(padded), m);
    // Without the trailing padding at all (a strict sender that cut it) decodes the same.
    assert.deepEqual(decodeAsapMessage(bytes.subarray(0, length)), m);
  }
  for (const m of enrpSamples()) {
    const bytes = encodeEnrpMessage(m);
    const padded = bytes.slice();
    padded[2] = bytes.length >> 8;
    padded[3] = bytes.length & 0xff;
    assert.deepEqual(decodeEnrpMessage(padded), m);
  }
});

Deno.test("flags are encoded as the RFCs define them", () => {
  const ph = handle("P");
  const flagOf = (m: AsapMessage) => encodeAsapMessage(m)[1];
  assert.equal(flagOf({ type: "handle-resolution", wantsUpdates: true, poolHandle: ph }), 1);
  assert.equal(
    flagOf({ type: "registration-response", rejected: true, poolHandle: ph, identifier: 1 }),
    1,
  );
  assert.equal(
    flagOf({ type: "endpoint-keep-alive", home: true, serverId: 1, poolHandle: ph }),
    1,
  );
  const enrpFlag = (m: EnrpMessage) => encodeEnrpMessage(m)[1];
  assert.equal(
    enrpFlag({
      type: "handle-table-response",
      rejected: true,
      more: true,
      senderId: 1,
      receiverId: 2,
      pools: [],
    }),
    3,
  );
  assert.equal(
    enrpFlag({ type: "handle-table-request", ownChildrenOnly: true, senderId: 1, receiverId: 2 }),
    1,
  );
});

Deno.test("every policy round-trips with its fields in wire order", () => {
  // Each policy with its fields in the wire order of the spec table, values 1, 2, 3, ...
  const order: Record<PolicyName, string[]> = {
    "round-robin": [],
    "weighted-round-robin": ["weight"],
    "random": [],
    "weighted-random": ["weight"],
    "priority": ["priority"],
    "least-used": ["load"],
    "least-used-degradation": ["load", "loadDegradation"],
    "priority-least-used": ["load", "loadDegradation"],
    "randomized-least-used": ["load"],
    "randomized-priority-least-used": ["load"],
    "randomized-least-used-degradation": ["load", "loadDegradation"],
    "priority-least-used-degradation": ["load", "loadDegradation"],
    "randomized-priority-least-used-degradation": ["load", "loadDegradation"],
    "weighted-random-dpf": ["weight", "weightDpf", "distance"],
    "least-used-dpf": ["load", "loadDpf", "distance"],
    "least-used-degradation-dpf": ["load", "loadDegradation", "loadDpf", "distance"],
  };
  assert.deepEqual(Object.keys(order).sort(), Object.keys(PolicyCode).sort());
  for (const [name, fields] of Object.entries(order) as [PolicyName, string[]][]) {
    const policy: Record<string, unknown> = { name };
    fields.forEach((f, i) => policy[f] = 0x01010101 * (i + 1));
    const message: AsapMessage = {
      type: "registration",
      poolHandle: handle("P"),
      poolElement: { ...tcpPoolElement(1), policy: policy as unknown as Policy },
    };
    const bytes = encodeAsapMessage(message);
    const at = findPolicy(bytes);
    const view = new DataView(bytes.buffer);
    assert.equal(view.getUint16(at + 2), 8 + 4 * fields.length, name);
    assert.equal(view.getUint32(at + 4), PolicyCode[name], name);
    fields.forEach((_, i) => assert.equal(view.getUint32(at + 8 + 4 * i), 0x01010101 * (i + 1)));
    assert.deepEqual(decodeAsapMessage(bytes), message, name);
  }
});

function findPolicy(bytes: Uint8Array): number {
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    if (bytes[i] === 0 && bytes[i + 1] === 8 && bytes[i + 2] === 0) return i;
  }
  throw new Error("No policy parameter");
}

Deno.test("priority-least-used puts load then degradation on the wire", () => {
  const bytes = encodeAsapMessage({
    type: "registration",
    poolHandle: handle("P"),
    poolElement: {
      ...tcpPoolElement(1),
      policy: { name: "priority-least-used", load: 0x11, loadDegradation: 0x22 },
    },
  });
  const at = findPolicy(bytes);
  const v = new DataView(bytes.buffer);
  assert.equal(v.getUint32(at + 4), 0x40000003);
  assert.equal(v.getUint32(at + 8), 0x11);
  assert.equal(v.getUint32(at + 12), 0x22);
});

Deno.test("a frozen pool element encodes as an unfrozen one, also from the cache", () => {
  const message = (pe: ReturnType<typeof samplePoolElement>): AsapMessage => ({
    type: "handle-resolution-response",
    acceptsUpdates: false,
    poolHandle: handle("P"),
    poolElements: [pe, tcpPoolElement(9)],
  });
  const plain = encodeAsapMessage(message(samplePoolElement(7)));
  const frozen = freezePoolElement(samplePoolElement(7));
  assert.ok(Object.isFrozen(frozen.userTransport.addresses));
  assert.deepEqual(encodeAsapMessage(message(frozen)), plain);
  assert.deepEqual(encodeAsapMessage(message(frozen)), plain, "second encoding, from the cache");
  const other = freezePoolElement(samplePoolElement(8));
  assert.notDeepEqual(encodeAsapMessage(message(other)), plain);
  assert.deepEqual(decodeAsapMessage(encodeAsapMessage(message(frozen))), message(frozen));
});
