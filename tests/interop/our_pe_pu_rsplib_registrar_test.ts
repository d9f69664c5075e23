// Interoperation: our pool elements register at RSPLIB's registrar (`rspregistrar`), RSPLIB's
// `rspterminal` uses them; our pool user resolves at RSPLIB's registrar and uses RSPLIB's PEs
// (`rspserver -echo`). Our programs run their SCTP on UDP 9899, all associations of a process
// on one UDP socket, as sctplib expects (tests/support/rsplib.ts).

import assert from "node:assert/strict";
import {
  ASAP_PORT,
  ENRP_PORT,
  ignoreWithoutRsplib,
  interopTest,
  jsonLines,
} from "../support/rsplib.ts";

const ignore = await ignoreWithoutRsplib();

interopTest(
  "interop: our echo PEs at RSPLIB's registrar, in its hsdump, serve rspterminal",
  { subnet: 222, timeout: 120_000, ignore },
  async (lab) => {
    const { serverId } = await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = "OurEchoPool";
    const pes = [
      await lab.ourPoolElement("echo", { pool, registrar, identifier: 0x2001 }),
      await lab.ourPoolElement("echo", { pool, registrar, identifier: 0x2002 }),
    ];
    const expected = pes.map((p) => p.identifier);
    assert.deepEqual(expected, [0x2001, 0x2002]);

    // RSPLIB's registrar holds them, with their user transport, as their home registrar.
    const dump = await lab.hsdump(`${lab.rsplibAddress}:${ENRP_PORT}`);
    assert.deepEqual(dump.pools.map((p) => p.handle), [pool], dump.text);
    const elements = dump.pools[0].elements;
    assert.deepEqual(elements.map((e) => e.identifier), expected, dump.text);
    for (const [i, e] of elements.entries()) {
      assert.equal(e.home, serverId, `home of $${e.identifier.toString(16)}`);
      assert.deepEqual(e.addresses, [pes[i].address]);
      assert.equal(e.port, 7000);
      assert.equal(e.protocol, "SCTP");
    }

    const resolved = await lab.hrestest({ pool, registrar, runs: 500, items: 8 });
    assert.equal(resolved.successes, 500);
    assert.deepEqual([...resolved.identifiers.keys()].sort(), expected);

    // rspterminal: lines come back unchanged from one of our PEs.
    const terminal = lab.rsplibTerminal({ pool, registrar });
    for (let i = 1; i <= 5; i++) {
      const pe = await lab.echo(terminal, `line ${i} to our PE, via RSPLIB's registrar`);
      assert.ok(expected.includes(pe), `answer from unknown PE $${pe.toString(16)}`);
    }
  },
);

interopTest(
  "interop: our echo PU resolves at RSPLIB's registrar and uses RSPLIB's PEs",
  { subnet: 223, timeout: 120_000, ignore },
  async (lab) => {
    await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = "TheirEchoPool";
    const expected = [0x3001, 0x3002];
    for (const identifier of expected) {
      await lab.rsplibServer("echo", { pool, registrar, identifier });
    }
    const pu = await lab.ourPoolUser("echo", {
      pool,
      registrar,
      extra: ["--count", "20", "--size", "200"],
    });
    const lines = await jsonLines(pu, 60_000) as Record<string, unknown>[];
    const status = await pu.status;
    const text = JSON.stringify(lines);
    assert.ok(expected.includes(lines[0]?.connected as number), text);
    const echoes = lines.filter((l) => typeof l.echo === "number");
    assert.equal(echoes.length, 20, text);
    for (const e of echoes) {
      assert.equal(e.bytes, 200);
      assert.equal(e.pe, lines[0].connected);
    }
    assert.deepEqual(lines.at(-1), {
      ok: true,
      completed: 20,
      detail: "20 echoes",
      failovers: 0,
      pathSwitches: 0,
    });
    assert.equal(status.code, 0);
  },
);
