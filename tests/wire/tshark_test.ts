/**
 * Conformance of our wire encoding with Wireshark 4.0's ASAP, ENRP and SCTP dissectors: every
 * message goes into a pcap on UDP (ASAP 3863, ENRP 9901) and in SCTP over UDP (port 9899,
 * PPID 11/12, CRC32c); tshark must decode each packet as the expected message type with no
 * Malformed marker and no expert error, and with good checksums.
 */

import assert from "node:assert/strict";
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
  const types = fieldValues(packet.layers[c.protocol], `${c.protocol}.message_type`);
  if (types.length !== 1 || Number(types[0]) !== c.type) {
    found.push(`message type ${JSON.stringify(types)}, expected ${c.type}`);
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
  assert.deepEqual(report, [], "tshark disagrees with our encoding:\n" + report.join("\n"));
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
