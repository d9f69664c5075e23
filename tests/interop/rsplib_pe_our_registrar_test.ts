// Interoperation: RSPLIB's pool elements (`rspserver -echo`) register at our registrar, and
// RSPLIB's pool users (`rspterminal`, `hrestest`) resolve and use them through it. Our
// registrar runs its SCTP on UDP 9899, RSPLIB's port (tests/support/rsplib.ts).

import assert from "node:assert/strict";
import { ASAP_PORT, ignoreWithoutRsplib, interopTest } from "../support/rsplib.ts";

const ignore = await ignoreWithoutRsplib();

interopTest(
  "interop: RSPLIB echo PEs at our registrar serve rspterminal; hrestest resolves 2,000 times",
  { subnet: 221, timeout: 120_000, ignore },
  async (lab) => {
    const ours = await lab.ourRegistrar(["--max-handle-resolution-items", "8"]);
    const registrar = `${ours.address}:${ASAP_PORT}`;
    const pool = "EchoPool";
    const expected = [0x1001, 0x1002, 0x1003];
    for (const identifier of expected) {
      const pe = await lab.rsplibServer("echo", { pool, registrar, identifier });
      assert.equal(pe.identifier, identifier);
    }

    // Every resolution answers, and with exactly the PEs registered.
    const resolved = await lab.hrestest({ pool, registrar, runs: 2000, items: 8 });
    assert.equal(resolved.result.code, 0, resolved.result.stderr.join("\n"));
    assert.equal(resolved.successes, 2000, "resolutions that returned PEs");
    assert.deepEqual([...resolved.identifiers.keys()].sort(), expected);
    for (const [id, n] of resolved.identifiers) assert.equal(n, 2000, `times PE ${id} returned`);

    // A pool that does not exist resolves to nothing.
    const unknown = await lab.hrestest({ pool: "NoSuchPool", registrar, runs: 3 });
    assert.equal(unknown.successes, 0);

    // rspterminal: lines come back unchanged, from the registered PEs.
    const terminal = lab.rsplibTerminal({ pool, registrar });
    const answering = new Set<number>();
    for (let i = 1; i <= 5; i++) {
      const pe = await lab.echo(terminal, `interop line ${i}: hello through our registrar`);
      assert.ok(expected.includes(pe), `answer from unknown PE $${pe.toString(16)}`);
      answering.add(pe);
    }
    assert.equal(answering.size, 1, "one session, one PE");
  },
);
