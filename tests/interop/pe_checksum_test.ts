// ENRP groundwork: the PE checksum (RFC 5353) of our handlespace code gives the value RSPLIB's
// registrar computes for the same PEs, both as `hsdump` prints it and on the wire, in the PE
// Checksum parameter of the PRESENCE that `rspregistrar` sends (tests/support/rsplib.ts).

import assert from "node:assert/strict";
import { peChecksum } from "../../handlespace/checksum.ts";
import { ASAP_PORT, ENRP_PORT, ignoreWithoutRsplib, interopTest } from "../support/rsplib.ts";
import { ignoreWithoutTshark, runTshark } from "../support/tshark.ts";

const ignore = (await ignoreWithoutRsplib()) || (await ignoreWithoutTshark());
const encoder = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** RSPLIB sums and prints the checksum as a host-order 16-bit integer. */
function asRsplibPrints(checksum: number): number {
  return LITTLE_ENDIAN ? ((checksum & 0xff) << 8) | (checksum >> 8) : checksum;
}

const item = (pool: string, identifier: number) => ({
  poolHandle: encoder.encode(pool),
  identifier,
});

interopTest(
  "interop: our PE checksum equals RSPLIB's, in hsdump and in its PRESENCE",
  { subnet: 226, timeout: 120_000, ignore },
  async (lab) => {
    const { serverId } = await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const enrp = `${lab.rsplibAddress}:${ENRP_PORT}`;
    // RSPLIB's PEs and ours, in pools with handles of several lengths (padding matters).
    const pes: [string, number][] = [
      ["ChecksumPool", 0x6001],
      ["ChecksumPool", 0x6002],
      ["Odd", 0xfedcba98],
      ["Pool5", 0x8000ffff],
      ["Pool5", 0x6005],
    ];
    for (const [pool, identifier] of pes.slice(0, 2)) {
      await lab.rsplibServer("echo", { pool, registrar, identifier });
    }
    for (const [pool, identifier] of pes.slice(2)) {
      await lab.ourPoolElement("echo", { pool, registrar, identifier });
    }

    const capture = await lab.capture(`udp port 9899`);
    const dump = await lab.hsdump(enrp);
    await new Promise((r) => setTimeout(r, 1000));
    const path = await capture.stop();

    // hsdump: each PE's term and the checksum over all of them.
    const dumped = dump.pools.flatMap((p) => p.elements.map((e) => ({ pool: p.handle, ...e })));
    assert.deepEqual(
      dumped.map((e) => [e.pool, e.identifier]).sort(),
      pes.map(([p, id]) => [p, id]).sort(),
      dump.text,
    );
    for (const e of dumped) {
      assert.equal(e.home, serverId);
      assert.equal(
        e.checksum,
        asRsplibPrints(peChecksum([item(e.pool, e.identifier)])),
        `checksum of ${e.pool}/$${e.identifier.toString(16)}`,
      );
    }
    const ours = peChecksum(pes.map(([p, id]) => item(p, id)));
    assert.equal(dump.checksum, asRsplibPrints(ours), "hsdump's handlespace checksum");

    // The wire: the PRESENCE that RSPLIB's registrar sends carries the checksum of the PEs
    // it owns, all of them here.
    const fields = await runTshark([
      "-n",
      "-r",
      path,
      "-d",
      "udp.port==9899,sctp",
      "-Y",
      `enrp.message_type == 1 && enrp.sender_servers_id == ${serverId}`,
      "-T",
      "fields",
      "-e",
      "enrp.pe_checksum",
    ]);
    const sent = fields.split("\n").filter((l) => l.trim() !== "").map((l) => Number(l.trim()));
    assert.ok(sent.length > 0, `no PRESENCE from $${serverId.toString(16)} captured`);
    for (const value of sent) {
      assert.equal(value, ours, `PRESENCE checksum 0x${value.toString(16)}`);
    }
  },
);
