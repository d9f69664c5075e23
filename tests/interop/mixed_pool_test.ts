// Interoperation: one pool of RSPLIB's PEs (`rspserver -echo`) and ours together, behind our
// registrar and behind RSPLIB's. Resolutions (RSPLIB's `hrestest`, RSPLIB's `hsdump`) list
// both kinds; RSPLIB's `rspterminal` and our PU are served by the pool (tests/support/rsplib.ts).

import assert from "node:assert/strict";
import {
  ASAP_PORT,
  ENRP_PORT,
  ignoreWithoutRsplib,
  type InteropLab,
  interopTest,
  jsonLines,
} from "../support/rsplib.ts";

const ignore = await ignoreWithoutRsplib();
const POOL = "MixedPool";

/** Registers two RSPLIB PEs and two of ours at `registrar`; returns their PE IDs. */
async function mixedPool(
  lab: InteropLab,
  registrar: string,
  base: number,
): Promise<{ theirs: number[]; ours: number[] }> {
  const theirs = [base + 1, base + 2];
  const ours = [base + 3, base + 4];
  for (const identifier of theirs) {
    const pe = await lab.rsplibServer("echo", { pool: POOL, registrar, identifier });
    assert.equal(pe.identifier, identifier);
  }
  for (const identifier of ours) {
    const pe = await lab.ourPoolElement("echo", { pool: POOL, registrar, identifier });
    assert.equal(pe.identifier, identifier);
  }
  return { theirs, ours };
}

/**
 * Resolves and uses the pool with RSPLIB's PUs and ours: every PE in every resolution; one
 * session after the other, the registrar's round robin (one step per resolution) hands each
 * PE, RSPLIB's and ours, to an `rspterminal` session and to a session of our PU, and every
 * echo comes back intact.
 */
async function usePool(lab: InteropLab, registrar: string, all: number[]): Promise<void> {
  const resolved = await lab.hrestest({ pool: POOL, registrar, runs: 500, items: 8 });
  assert.equal(
    resolved.result.code,
    0,
    `hrestest exited with ${resolved.result.code}${
      resolved.result.code === 139 ? " (SIGSEGV)" : ""
    }`,
  );
  assert.equal(resolved.successes, 500);
  assert.deepEqual([...resolved.identifiers.keys()].sort(), all);
  for (const [id, n] of resolved.identifiers) assert.equal(n, 500, `times PE ${id} returned`);

  const byTerminal: number[] = [];
  for (let i = 1; i <= all.length; i++) {
    const terminal = lab.rsplibTerminal({ pool: POOL, registrar });
    byTerminal.push(await lab.echo(terminal, `session ${i}: mixed pool`));
    await terminal.stop("SIGKILL");
  }
  assert.deepEqual([...byTerminal].sort(), all, "PEs that answered rspterminal sessions");

  const byPu: number[] = [];
  for (let i = 1; i <= all.length; i++) {
    const pu = await lab.ourPoolUser("echo", {
      pool: POOL,
      registrar,
      extra: ["--count", "5", "--size", "100"],
    });
    const lines = await jsonLines(pu, 60_000) as Record<string, unknown>[];
    const text = JSON.stringify(lines);
    const pe = lines[0]?.connected as number;
    const echoes = lines.filter((l) => typeof l.echo === "number");
    assert.deepEqual(echoes.map((e) => [e.bytes, e.pe]), Array(5).fill([100, pe]), text);
    assert.equal(lines.at(-1)?.ok, true, text);
    assert.equal((await pu.status).code, 0, text);
    byPu.push(pe);
  }
  assert.deepEqual([...byPu].sort(), all, "PEs that served our PU's sessions");
}

interopTest(
  "interop: a pool of RSPLIB's PEs and ours behind our registrar",
  { subnet: 224, timeout: 150_000, ignore },
  async (lab) => {
    const ours = await lab.ourRegistrar([
      "--max-handle-resolution-items",
      "8",
      "--max-increment",
      "1",
    ]);
    const registrar = `${ours.address}:${ASAP_PORT}`;
    const pool = await mixedPool(lab, registrar, 0x4000);
    await usePool(lab, registrar, [...pool.theirs, ...pool.ours]);
  },
);

interopTest(
  "interop: a pool of RSPLIB's PEs and ours behind RSPLIB's registrar, in its hsdump",
  { subnet: 225, timeout: 150_000, ignore },
  async (lab) => {
    const { serverId } = await lab.rsplibRegistrar(["-maxhresitems=8", "-maxincrement=1"]);
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = await mixedPool(lab, registrar, 0x5000);
    const all = [...pool.theirs, ...pool.ours];

    const dump = await lab.hsdump(`${lab.rsplibAddress}:${ENRP_PORT}`);
    assert.deepEqual(dump.pools.map((p) => p.handle), [POOL], dump.text);
    assert.deepEqual(dump.pools[0].elements.map((e) => e.identifier), all, dump.text);
    for (const e of dump.pools[0].elements) assert.equal(e.home, serverId);

    await usePool(lab, registrar, all);
  },
);
