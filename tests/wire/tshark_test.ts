/**
 * Conformance of our wire encoding with Wireshark 4.0's ASAP, ENRP and SCTP dissectors: every
 * message goes into a pcap on UDP (ASAP 3863, ENRP 9901) and in SCTP over UDP (port 9899,
 * PPID 11/12, CRC32c); tshark must decode each packet as the expected message type with no
 * Malformed marker and no expert error, and with good checksums.
 */

import assert from "node:assert/strict";
import { type AsapMessage, AsapMessageType, encodeAsapMessage } from "../../asap/mod.ts";
import { encodeEnrpMessage, type EnrpMessage, EnrpMessageType } from "../../enrp/mod.ts";
import {
  ErrorCause,
  type Policy,
  PolicyCode,
  type PoolElementParameter,
  type TransportParameter,
} from "../../wire/mod.ts";
import { PPID, sctpOverUdpPacket, udpPacket, writePcap } from "../support/pcap.ts";
import {
  decodePcap,
  fieldValues,
  ignoreWithoutTshark,
  type TsharkPacket,
} from "../support/tshark.ts";

const ignore = await ignoreWithoutTshark();

const ASAP_PORT = 3863;
const ENRP_PORT = 9901;

/** Bytes from a hex string with optional spaces. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from(
    { length: digits.length / 2 },
    (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16),
  );
}

/** The two test vectors of rserpool-wire.md. */
const HANDLE_RESOLUTION_VECTOR = hex("05 00 00 11 00 09 00 0d 45 63 68 6f 50 6f 6f 6c 31 00 00 00");
const PRESENCE_VECTOR = hex(
  "01 01 00 2c 11 22 33 44 00 00 00 00 00 0f 00 06 ab cd 00 00 00 0b 00 18 11 22 33 44" +
    " 00 04 00 10 26 ad 00 00 00 01 00 08 7f 00 00 01",
);

/** One RSerPool message to put on the wire, and what tshark must make of it. */
interface Case {
  /** Name for failure messages. */
  label: string;
  /** "asap" or "enrp". */
  protocol: "asap" | "enrp";
  /** Expected message type code. */
  type: number;
  /** The encoded message. */
  bytes: Uint8Array;
  /** Field values tshark must show in the message's layer, all of them in document order. */
  expect?: Record<string, string[]>;
}

/**
 * Writes each case twice, on plain UDP and in SCTP over UDP, decodes the file with tshark, and
 * returns the packets in that order (UDP of case 0, SCTP of case 0, UDP of case 1, ...).
 */
async function decodeBothWays(cases: readonly Case[]): Promise<TsharkPacket[]> {
  const packets: Uint8Array[] = [];
  cases.forEach((c, i) => {
    const port = c.protocol === "asap" ? ASAP_PORT : ENRP_PORT;
    const ipv6 = i % 5 === 4; // some of each kind over IPv6
    const src = ipv6 ? "fd00::10" : "10.0.0.10";
    const dst = ipv6 ? "fd00::20" : "10.0.0.20";
    packets.push(udpPacket({ src, dst, srcPort: 40000 + i, dstPort: port, payload: c.bytes }));
    packets.push(sctpOverUdpPacket({
      src,
      dst,
      sctpSrcPort: 50000,
      sctpDstPort: port,
      verificationTag: 0xc0ffee00 + i,
      tsn: 1000 + i,
      ppid: PPID[c.protocol],
      payload: c.bytes,
    }));
  });
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await writePcap(path, packets);
    return await decodePcap(path);
  } finally {
    await Deno.remove(path);
  }
}

const NUMBER = /^(0x[0-9a-f]+|\d+)$/i;

/** Compares tshark's field text with an expected one, numbers by value (tshark shows "0x0005"). */
function sameValue(actual: string, expected: string): boolean {
  if (NUMBER.test(actual) && NUMBER.test(expected)) return Number(actual) === Number(expected);
  return actual === expected;
}

/** What is wrong with one decoded packet, or nothing. */
function problems(c: Case, packet: TsharkPacket, overSctp: boolean): string[] {
  const found: string[] = [];
  const expectedStack = overSctp ? ["udp", "sctp", c.protocol] : ["udp", c.protocol];
  const stack = packet.protocols.slice(packet.protocols.indexOf("udp"));
  if (stack.join(":") !== expectedStack.join(":")) {
    found.push(
      `protocol stack ${packet.protocols.join(":")}, expected ...${expectedStack.join(":")}`,
    );
  }
  // The first type is the message's own; an Unrecognized Message cause may nest another.
  const types = fieldValues(packet.layers[c.protocol], `${c.protocol}.message_type`);
  if (types.length === 0 || Number(types[0]) !== c.type) {
    found.push(`message type ${JSON.stringify(types)}, expected ${c.type}`);
  }
  for (const [field, expected] of Object.entries(c.expect ?? {})) {
    const actual = fieldValues(packet.layers[c.protocol], field);
    if (actual.length !== expected.length || actual.some((a, i) => !sameValue(a, expected[i]))) {
      found.push(`${field} ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
  }
  if (packet.malformed) found.push("marked [Malformed Packet]");
  for (const e of packet.experts) {
    if (e.severity === "Error" || e.severity === "Warning") {
      found.push(`expert ${e.severity}/${e.group}: ${e.message}`);
    }
  }
  for (const [layer, field] of [["ip", "ip.checksum.status"], ["udp", "udp.checksum.status"]]) {
    const status = fieldValues(packet.layers[layer], field);
    if (status.length > 0 && status.some((s) => s !== "1")) found.push(`${field} ${status}`);
  }
  if (overSctp) {
    const status = fieldValues(packet.layers.sctp, "sctp.checksum.status");
    if (status.length !== 1 || status[0] !== "1") found.push(`sctp.checksum.status ${status}`);
    const ppid = fieldValues(packet.layers.sctp, "sctp.data_payload_proto_id");
    if (ppid[0] !== String(PPID[c.protocol])) found.push(`PPID ${ppid}`);
  }
  return found;
}

/** Decodes the cases and fails with every problem of every packet at once. */
async function assertDecodesCleanly(cases: readonly Case[]): Promise<TsharkPacket[]> {
  const packets = await decodeBothWays(cases);
  assert.equal(packets.length, 2 * cases.length);
  const report: string[] = [];
  cases.forEach((c, i) => {
    for (
      const [packet, overSctp] of [[packets[2 * i], false], [packets[2 * i + 1], true]] as const
    ) {
      for (const p of problems(c, packet, overSctp)) {
        report.push(`${c.label} (frame ${packet.number}, ${overSctp ? "SCTP/UDP" : "UDP"}): ${p}`);
      }
    }
  });
  if (report.length > 0) assert.fail("tshark disagrees with our encoding:\n" + report.join("\n"));
  return packets;
}

Deno.test({
  name: "tshark decodes the test vectors of rserpool-wire.md over UDP and SCTP over UDP",
  ignore,
  async fn() {
    const packets = await assertDecodesCleanly([
      {
        label: "HANDLE_RESOLUTION vector",
        protocol: "asap",
        type: 0x05,
        bytes: HANDLE_RESOLUTION_VECTOR,
      },
      { label: "PRESENCE vector", protocol: "enrp", type: 0x01, bytes: PRESENCE_VECTOR },
    ]);
    for (const packet of packets.slice(0, 2)) {
      assert.deepEqual(fieldValues(packet.layers.asap, "asap.pool_handle_pool_handle"), [
        "45:63:68:6f:50:6f:6f:6c:31",
      ]);
    }
    for (const packet of packets.slice(2)) {
      assert.deepEqual(fieldValues(packet.layers.enrp, "enrp.sender_servers_id"), ["0x11223344"]);
      assert.deepEqual(fieldValues(packet.layers.enrp, "enrp.pe_checksum"), ["0xabcd"]);
      assert.deepEqual(fieldValues(packet.layers.enrp, "enrp.ipv4_address"), ["127.0.0.1"]);
      assert.deepEqual(fieldValues(packet.layers.enrp, "enrp.sctp_transport_port"), ["9901"]);
    }
  },
});

Deno.test({
  name: "the conformance check catches a wrong CRC32c, a bad UDP checksum and a malformed message",
  ignore,
  async fn() {
    const good = sctpOverUdpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      sctpSrcPort: 50000,
      sctpDstPort: ASAP_PORT,
      ppid: PPID.asap,
      payload: HANDLE_RESOLUTION_VECTOR,
    });
    // CRC32c stored big-endian instead of least significant byte first.
    const swappedCrc = good.slice();
    swappedCrc.set(good.slice(28 + 8, 28 + 12).reverse(), 28 + 8);
    // A UDP checksum off by one.
    const badUdp = udpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 40000,
      dstPort: ASAP_PORT,
      payload: HANDLE_RESOLUTION_VECTOR,
    });
    badUdp[26] ^= 0x01;
    // A Pool Handle parameter whose length runs past the end of the message.
    const truncated = HANDLE_RESOLUTION_VECTOR.slice();
    truncated[7] = 0x40;
    const malformed = udpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 40000,
      dstPort: ASAP_PORT,
      payload: truncated,
    });
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    let packets: TsharkPacket[];
    try {
      await writePcap(path, [good, swappedCrc, badUdp, malformed]);
      packets = await decodePcap(path);
    } finally {
      await Deno.remove(path);
    }
    const c: Case = { label: "vector", protocol: "asap", type: 5, bytes: HANDLE_RESOLUTION_VECTOR };
    assert.deepEqual(problems(c, packets[0], true), []);
    assert.match(problems(c, packets[1], true).join("\n"), /sctp\.checksum\.status 0/);
    assert.match(problems(c, packets[2], false).join("\n"), /udp\.checksum\.status 0/);
    assert.ok(problems(c, packets[2], false).some((p) => p.startsWith("expert Error/Checksum")));
    assert.ok(packets[3].malformed || packets[3].experts.some((e) => e.severity === "Error"));
    assert.notDeepEqual(problems(c, packets[3], false), []);
  },
});

// ---------------------------------------------------------------------------------------------
// Every ASAP and ENRP message type, encoded by our codec.

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Bytes as tshark prints an FT_BYTES field. */
const colons = (bytes: Uint8Array): string =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");

const ECHO_POOL = text("EchoPool");
const DAYTIME_POOL = text("DaytimePool");
const CALC_POOL = text("CalcPool-1"); // 10 bytes: padded

const sctp2: TransportParameter = {
  protocol: "sctp",
  port: 7,
  transportUse: "data",
  addresses: ["10.0.0.11", "10.0.1.11"],
};
const sctpMixed: TransportParameter = {
  protocol: "sctp",
  port: 7000,
  transportUse: "data-control",
  addresses: ["fd00::11", "10.0.0.12"],
};
const tcp6: TransportParameter = {
  protocol: "tcp",
  port: 13,
  transportUse: "data",
  addresses: ["fd00::12"],
};
const udp4: TransportParameter = { protocol: "udp", port: 9, addresses: ["10.0.0.13"] };
const udpLite: TransportParameter = { protocol: "udp-lite", port: 19, addresses: ["10.0.0.14"] };
const dccp: TransportParameter = {
  protocol: "dccp",
  port: 5001,
  serviceCode: 0x11,
  addresses: ["10.0.0.15"],
};
const asapSctp: TransportParameter = {
  protocol: "sctp",
  port: 3863,
  transportUse: "data-control",
  addresses: ["10.0.0.11", "10.0.1.11"],
};

const QUARTER = 0x40000000;

/** One policy of each kind, RFC 5356 and RSPLIB. */
const POLICIES: Policy[] = [
  { name: "round-robin" },
  { name: "weighted-round-robin", weight: 3 },
  { name: "random" },
  { name: "weighted-random", weight: 7 },
  { name: "priority", priority: 2 },
  { name: "least-used", load: QUARTER },
  { name: "least-used-degradation", load: QUARTER, loadDegradation: 0x01000000 },
  { name: "priority-least-used", load: QUARTER, loadDegradation: 0x02000000 },
  { name: "randomized-least-used", load: 0x80000000 },
  { name: "randomized-priority-least-used", load: QUARTER },
  { name: "randomized-least-used-degradation", load: QUARTER, loadDegradation: 0x01000000 },
  { name: "priority-least-used-degradation", load: QUARTER, loadDegradation: 0x01000000 },
  {
    name: "randomized-priority-least-used-degradation",
    load: QUARTER,
    loadDegradation: 0x01000000,
  },
  { name: "weighted-random-dpf", weight: 5, weightDpf: 0x00100000, distance: 20 },
  { name: "least-used-dpf", load: QUARTER, loadDpf: 0x00100000, distance: 35 },
  {
    name: "least-used-degradation-dpf",
    load: QUARTER,
    loadDegradation: 0x01000000,
    loadDpf: 0x00100000,
    distance: 35,
  },
];
const TRANSPORTS = [sctp2, tcp6, udp4, sctpMixed, udpLite, dccp];

function poolElement(
  identifier: number,
  userTransport: TransportParameter,
  policy: Policy,
  asapTransport?: TransportParameter,
): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: 0x11223344,
    registrationLife: 93_000,
    userTransport,
    policy,
    ...(asapTransport ? { asapTransport } : {}),
  };
}

const peSctp = poolElement(0x1a2b3c4d, sctp2, POLICIES[5], asapSctp);
const peTcp6 = poolElement(0x00000002, tcp6, POLICIES[5]);
const peUdp = poolElement(0x7fffffff, udp4, POLICIES[5]);
const peMixed = poolElement(0xfedcba98, sctpMixed, POLICIES[7], asapSctp);

/** A Pool Member Selection Policy parameter (Least Used, 25 %), as an error cause carries it. */
const POLICY_TLV = hex("00 08 00 0c 40 00 00 01 40 00 00 00");
/** A parameter of unknown type whose high bits say "skip and report". */
const UNKNOWN_TLV = hex("c0 01 00 06 ab cd");
/** An ASAP message of an unknown type 0x20 carrying a Pool Handle "Pool". */
const UNKNOWN_ASAP_MESSAGE = hex("20 00 00 0c 00 09 00 08 50 6f 6f 6c");
const COOKIE = Uint8Array.from({ length: 37 }, (_, i) => (i * 37 + 11) & 0xff);

const ASAP_MESSAGES: [string, AsapMessage, Record<string, string[]>?][] = [
  ...POLICIES.map((policy, i): [string, AsapMessage, Record<string, string[]>] => [
    `REGISTRATION (${policy.name}, ${TRANSPORTS[i % TRANSPORTS.length].protocol})`,
    {
      type: "registration",
      poolHandle: ECHO_POOL,
      poolElement: poolElement(0x100 + i, TRANSPORTS[i % TRANSPORTS.length], policy),
    },
    {
      "asap.pool_handle_pool_handle": [colons(ECHO_POOL)],
      "asap.pool_member_selection_policy_type": [String(policyCode(policy))],
    },
  ]),
  ["DEREGISTRATION", { type: "deregistration", poolHandle: ECHO_POOL, identifier: 0x1a2b3c4d }, {
    "asap.pe_identifier": [String(0x1a2b3c4d)],
  }],
  ["REGISTRATION_RESPONSE (accepted)", {
    type: "registration-response",
    rejected: false,
    poolHandle: ECHO_POOL,
    identifier: 0x1a2b3c4d,
  }, { "asap.r_bit": ["0"] }],
  ["REGISTRATION_RESPONSE (rejected, two causes)", {
    type: "registration-response",
    rejected: true,
    poolHandle: ECHO_POOL,
    identifier: 0x1a2b3c4d,
    error: [
      { code: ErrorCause.InconsistentPoolingPolicy, info: POLICY_TLV },
      { code: ErrorCause.LackOfResources, info: new Uint8Array() },
    ],
  }, { "asap.r_bit": ["1"], "asap.cause_code": ["5", "6"] }],
  ["DEREGISTRATION_RESPONSE (unknown pool handle)", {
    type: "deregistration-response",
    poolHandle: CALC_POOL,
    identifier: 5,
    error: [{ code: ErrorCause.UnknownPoolHandle, info: new Uint8Array() }],
  }, { "asap.cause_code": ["9"] }],
  ["HANDLE_RESOLUTION (plain)", {
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: DAYTIME_POOL,
  }, { "asap.pool_handle_pool_handle": [colons(DAYTIME_POOL)] }],
  ["HANDLE_RESOLUTION (S flag, as many items as possible)", {
    type: "handle-resolution",
    wantsUpdates: true,
    poolHandle: ECHO_POOL,
    items: 0xffffffff,
  }, { "asap.hropt_items": [String(0xffffffff)], "asap.message_flags": ["0x01"] }],
  ["HANDLE_RESOLUTION_RESPONSE (3 PEs)", {
    type: "handle-resolution-response",
    acceptsUpdates: true,
    poolHandle: ECHO_POOL,
    policy: POLICIES[5],
    poolElements: [peSctp, peTcp6, peUdp],
  }, {
    "asap.pool_element_pe_identifier": [String(0x1a2b3c4d), "2", String(0x7fffffff)],
    "asap.ipv4_address": ["10.0.0.11", "10.0.1.11", "10.0.0.11", "10.0.1.11", "10.0.0.13"],
    "asap.ipv6_address": ["fd00::12"],
  }],
  ["HANDLE_RESOLUTION_RESPONSE (negative)", {
    type: "handle-resolution-response",
    acceptsUpdates: false,
    poolHandle: CALC_POOL,
    poolElements: [],
    error: [{ code: ErrorCause.UnknownPoolHandle, info: new Uint8Array() }],
  }, { "asap.cause_code": ["9"] }],
  ["ENDPOINT_KEEP_ALIVE (H flag, with PE identifier)", {
    type: "endpoint-keep-alive",
    home: true,
    serverId: 0x11223344,
    poolHandle: ECHO_POOL,
    identifier: 0x1a2b3c4d,
  }, {
    "asap.h_bit": ["1"],
    "asap.server_identifier": [String(0x11223344)],
    "asap.pe_identifier": [String(0x1a2b3c4d)],
  }],
  ["ENDPOINT_KEEP_ALIVE (no PE identifier)", {
    type: "endpoint-keep-alive",
    home: false,
    serverId: 0x55667788,
    poolHandle: CALC_POOL,
  }, { "asap.h_bit": ["0"] }],
  ["ENDPOINT_KEEP_ALIVE_ACK", {
    type: "endpoint-keep-alive-ack",
    poolHandle: ECHO_POOL,
    identifier: 0x1a2b3c4d,
  }],
  ["ENDPOINT_UNREACHABLE", {
    type: "endpoint-unreachable",
    poolHandle: ECHO_POOL,
    identifier: 0xfedcba98,
  }, { "asap.pe_identifier": [String(0xfedcba98)] }],
  ["SERVER_ANNOUNCE (two transports)", {
    type: "server-announce",
    serverId: 0x11223344,
    transports: [asapSctp, { ...tcp6, port: 3863, transportUse: "data-control" }],
  }, {
    "asap.sctp_transport_port": ["3863"],
    "asap.tcp_transport_port": ["3863"],
    "asap.transport_use": ["1", "1"],
  }],
  ["SERVER_ANNOUNCE (no transport)", { type: "server-announce", serverId: 1, transports: [] }],
  ["COOKIE", { type: "cookie", cookie: COOKIE }, { "asap.cookie": [colons(COOKIE)] }],
  ["COOKIE_ECHO", { type: "cookie-echo", cookie: COOKIE }, { "asap.cookie": [colons(COOKIE)] }],
  ["BUSINESS_CARD", {
    type: "business-card",
    poolHandle: ECHO_POOL,
    poolElements: [peMixed, peTcp6],
  }, { "asap.pool_element_pe_identifier": [String(0xfedcba98), "2"] }],
  ["ERROR (unrecognized message and parameter)", {
    type: "error",
    error: [
      { code: ErrorCause.UnrecognizedMessage, info: UNKNOWN_ASAP_MESSAGE },
      { code: ErrorCause.UnrecognizedParameter, info: UNKNOWN_TLV },
    ],
  }, { "asap.cause_code": ["2", "1"] }],
];

const ENRP_MESSAGES: [string, EnrpMessage, Record<string, string[]>?][] = [
  ["PRESENCE (reply required, server information)", {
    type: "presence",
    senderId: 0x11223344,
    receiverId: 0,
    replyRequired: true,
    checksum: 0xabcd,
    serverInfo: {
      serverId: 0x11223344,
      transport: {
        protocol: "sctp",
        port: 9901,
        transportUse: "data",
        addresses: ["10.0.0.1", "fd00::1"],
      },
    },
  }, {
    "enrp.r_bit": ["1"],
    "enrp.pe_checksum": ["0xabcd"],
    "enrp.ipv6_address": ["fd00::1"],
  }],
  ["PRESENCE (no server information)", {
    type: "presence",
    senderId: 0x11223344,
    receiverId: 0x55667788,
    replyRequired: false,
    checksum: 0xffff,
  }, { "enrp.receiver_servers_id": ["0x55667788"] }],
  ["HANDLE_TABLE_REQUEST (W flag)", {
    type: "handle-table-request",
    senderId: 0x11223344,
    receiverId: 0x55667788,
    ownChildrenOnly: true,
  }, { "enrp.w_bit": ["1"] }],
  ["HANDLE_TABLE_RESPONSE (M flag, three pools)", {
    type: "handle-table-response",
    senderId: 0x55667788,
    receiverId: 0x11223344,
    rejected: false,
    more: true,
    pools: [
      { poolHandle: ECHO_POOL, poolElements: [peSctp, peMixed] },
      { poolHandle: DAYTIME_POOL, poolElements: [peTcp6] },
      { poolHandle: CALC_POOL, poolElements: [peUdp] },
    ],
  }, {
    "enrp.m_bit": ["1"],
    "enrp.r_bit": ["0"],
    "enrp.pool_handle_pool_handle": [colons(ECHO_POOL), colons(DAYTIME_POOL), colons(CALC_POOL)],
  }],
  ["HANDLE_TABLE_RESPONSE (rejected)", {
    type: "handle-table-response",
    senderId: 0x55667788,
    receiverId: 0x11223344,
    rejected: true,
    more: false,
    pools: [],
  }, { "enrp.r_bit": ["1"] }],
  ["HANDLE_UPDATE (add, with ASAP transport)", {
    type: "handle-update",
    senderId: 0x11223344,
    receiverId: 0,
    takeoverSuggested: false,
    action: "add",
    poolHandle: ECHO_POOL,
    poolElement: peSctp,
  }, { "enrp.update_action": ["0"], "enrp.sctp_transport_port": ["7", "3863"] }],
  ["HANDLE_UPDATE (delete, T flag)", {
    type: "handle-update",
    senderId: 0x11223344,
    receiverId: 0,
    takeoverSuggested: true,
    action: "delete",
    poolHandle: DAYTIME_POOL,
    poolElement: peTcp6,
  }, { "enrp.update_action": ["1"], "enrp.t_bit": ["1"] }],
  ["LIST_REQUEST", { type: "list-request", senderId: 0x11223344, receiverId: 0x55667788 }],
  ["LIST_RESPONSE (three servers)", {
    type: "list-response",
    senderId: 0x55667788,
    receiverId: 0x11223344,
    rejected: false,
    servers: [
      {
        serverId: 0x11223344,
        transport: { protocol: "sctp", port: 9901, transportUse: "data", addresses: ["10.0.0.1"] },
      },
      {
        serverId: 0x55667788,
        transport: {
          protocol: "sctp",
          port: 9901,
          transportUse: "data",
          addresses: ["fd00::2", "10.0.0.2"],
        },
      },
      {
        serverId: 0x99aabbcc,
        transport: { protocol: "tcp", port: 9901, transportUse: "data", addresses: ["10.0.0.3"] },
      },
    ],
  }, {
    "enrp.server_information_server_identifier": ["0x11223344", "0x55667788", "0x99aabbcc"],
  }],
  ["LIST_RESPONSE (rejected)", {
    type: "list-response",
    senderId: 0x55667788,
    receiverId: 0x11223344,
    rejected: true,
    servers: [],
  }, { "enrp.r_bit": ["1"] }],
  ["INIT_TAKEOVER", {
    type: "init-takeover",
    senderId: 0x11223344,
    receiverId: 0,
    targetId: 0x99aabbcc,
  }, { "enrp.target_servers_id": ["0x99aabbcc"] }],
  ["INIT_TAKEOVER_ACK", {
    type: "init-takeover-ack",
    senderId: 0x55667788,
    receiverId: 0x11223344,
    targetId: 0x99aabbcc,
  }, { "enrp.target_servers_id": ["0x99aabbcc"] }],
  ["TAKEOVER_SERVER", {
    type: "takeover-server",
    senderId: 0x11223344,
    receiverId: 0,
    targetId: 0x99aabbcc,
  }, { "enrp.target_servers_id": ["0x99aabbcc"] }],
  ["ERROR (unrecognized parameter)", {
    type: "error",
    senderId: 0x55667788,
    receiverId: 0x11223344,
    error: [{ code: ErrorCause.UnrecognizedParameter, info: UNKNOWN_TLV }],
  }, { "enrp.cause_code": ["1"] }],
];

function policyCode(policy: Policy): number {
  return PolicyCode[policy.name];
}

Deno.test("the conformance cases cover every ASAP and ENRP message type", () => {
  const asapTypes = new Set(ASAP_MESSAGES.map(([, m]) => m.type));
  const enrpTypes = new Set(ENRP_MESSAGES.map(([, m]) => m.type));
  assert.equal(asapTypes.size, 14);
  assert.equal(enrpTypes.size, 10);
  assert.equal(new Set(POLICIES.map((p) => p.name)).size, 16);
});

Deno.test({
  name: "tshark decodes every ASAP message we encode, over UDP 3863 and SCTP over UDP 9899",
  ignore,
  async fn() {
    await assertDecodesCleanly(ASAP_MESSAGES.map(([label, message, expect]) => ({
      label,
      protocol: "asap",
      type: AsapMessageType[message.type],
      bytes: encodeAsapMessage(message),
      expect,
    })));
  },
});

Deno.test({
  name: "tshark decodes every ENRP message we encode, over UDP 9901 and SCTP over UDP 9899",
  ignore,
  async fn() {
    await assertDecodesCleanly(ENRP_MESSAGES.map(([label, message, expect]) => ({
      label,
      protocol: "enrp",
      type: EnrpMessageType[message.type],
      bytes: encodeEnrpMessage(message),
      expect,
    })));
  },
});
