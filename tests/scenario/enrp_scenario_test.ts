// ENRP with real registrar processes on loopback: PEs registered at different registrars are
// resolvable at each, removals disappear everywhere, a registrar started later synchronises
// from a mentor, and the PEs of a SIGKILLed registrar are taken over by exactly one survivor.

import assert from "node:assert/strict";
import { peChecksum } from "../../handlespace/checksum.ts";
import type { EndpointAddress } from "../../transport/open.ts";
import type { PoolElementParameter } from "../../wire/types.ts";
import { AsapClient, text } from "../support/asap_client.ts";
import { createTwoHosts, ignoreWithoutNetns } from "../support/netns.ts";
import { Child, exitWithin, type RegistrarReady, startRegistrar } from "../support/processes.ts";

const POOL = "EnrpPool";
const TIMERS = [
  "--peer-heartbeat-cycle",
  "300ms",
  "--max-time-last-heard",
  "1s",
  "--max-time-no-response",
  "1s",
  "--takeover-expiry",
  "2s",
  "--mentor-discovery-timeout",
  "500ms",
  "--keep-alive-interval",
  "300ms",
  // A second to answer: a PE process on a loaded machine may take some hundred ms.
  "--keep-alive-timeout",
  "1s",
  "--max-handle-resolution-items",
  "100",
];

const asArg = (a: EndpointAddress) => `${a.protocol}:${a.hostname}:${a.port}`;

interface Running {
  child: Child;
  ready: RegistrarReady;
  asap: EndpointAddress;
  enrp: EndpointAddress;
}

async function registrar(spawned: Child[], name: string, peers: Running[]): Promise<Running> {
  const { child, ready } = await startRegistrar([
    "--asap",
    "tcp:127.0.0.1:0",
    "--enrp",
    "sctp:127.0.0.1:0",
    ...peers.flatMap((p) => ["--peer", asArg(p.enrp)]),
    ...TIMERS,
  ], name);
  spawned.push(child);
  return { child, ready, asap: ready.asap[0], enrp: ready.enrp[0] };
}

async function pe(spawned: Child[], at: Running, name: string): Promise<number> {
  const child = Child.spawn(name, "services/pe_main.ts", [
    "--service",
    "echo",
    "--pool",
    POOL,
    "--registrar",
    asArg(at.asap),
  ]);
  spawned.push(child);
  return (await child.json<{ identifier: number }>()).identifier;
}

/** The PEs a registrar resolves the pool to (all of them: up to 100 per resolution). */
async function resolve(r: Running): Promise<PoolElementParameter[]> {
  const client = await AsapClient.open(r.asap);
  try {
    const answer = await client.request({
      type: "handle-resolution",
      wantsUpdates: false,
      poolHandle: text(POOL),
    });
    if (answer.type !== "handle-resolution-response") throw new Error(`Got ${answer.type}`);
    return answer.poolElements;
  } finally {
    client.close();
  }
}

const idsOf = (pes: PoolElementParameter[]) => pes.map((p) => p.identifier).sort((a, b) => a - b);
const checksumOf = (pes: PoolElementParameter[]) =>
  peChecksum(pes.map((p) => ({ poolHandle: text(POOL), identifier: p.identifier })));

// 30 s by default: registrar and PE processes start and replicate slowly on a loaded machine.
async function eventually(check: () => Promise<boolean>, what: string, timeout = 30_000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every registrar resolves exactly `ids`. */
async function converge(registrars: Running[], ids: number[], what: string): Promise<void> {
  const want = [...ids].sort((a, b) => a - b);
  await eventually(async () => {
    for (const r of registrars) {
      if (JSON.stringify(idsOf(await resolve(r))) !== JSON.stringify(want)) return false;
    }
    return true;
  }, what);
}

async function withChildren(body: (spawned: Child[]) => Promise<void>): Promise<void> {
  const spawned: Child[] = [];
  try {
    await body(spawned);
  } finally {
    for (const c of spawned.reverse()) await c.stop("SIGKILL");
  }
}

Deno.test("enrp scenario: three registrars replicate registrations, deregistrations and removals; a fourth synchronises from a mentor", async () => {
  await withChildren(async (spawned) => {
    const r1 = await registrar(spawned, "r1", []);
    const r2 = await registrar(spawned, "r2", [r1]);
    const r3 = await registrar(spawned, "r3", [r1]);
    const a = await pe(spawned, r1, "pe-a");
    const b = await pe(spawned, r2, "pe-b");
    const c = await pe(spawned, r3, "pe-c");
    await converge([r1, r2, r3], [a, b, c], "every PE at every registrar");
    // Each PE's home is the registrar it registered at, everywhere.
    for (const r of [r1, r2, r3]) {
      const homes = new Map((await resolve(r)).map((p) => [p.identifier, p.homeRegistrarId]));
      assert.equal(homes.get(a), r1.ready.serverId);
      assert.equal(homes.get(b), r2.ready.serverId);
      assert.equal(homes.get(c), r3.ready.serverId);
    }
    // A deregistration (PE a stops cleanly) disappears everywhere.
    await exitWithin(spawned.find((x) => x.name === "pe-a")!, 15_000, "SIGTERM");
    await converge([r1, r2, r3], [b, c], "a deregistered everywhere");
    // A PE that dies is removed by its home's keep-alive and disappears everywhere.
    await spawned.find((x) => x.name === "pe-b")!.stop("SIGKILL");
    await converge([r1, r2, r3], [c], "b removed everywhere");
    // A fourth registrar, knowing only r2, synchronises and answers for every PE.
    const d = await pe(spawned, r1, "pe-d");
    await converge([r1, r2, r3], [c, d], "d everywhere");
    const r4 = await registrar(spawned, "r4", [r2]);
    await converge([r4], [c, d], "the fourth registrar synchronised");
    const sums = await Promise.all([r1, r2, r3, r4].map(async (r) => checksumOf(await resolve(r))));
    assert.equal(new Set(sums).size, 1, `handlespace checksums differ: ${sums}`);
    // And it takes part from now on: a PE registered at it reaches the others.
    const e = await pe(spawned, r4, "pe-e");
    await converge([r1, r2, r3, r4], [c, d, e], "e (registered at the newcomer) everywhere");
  });
});

Deno.test("enrp scenario: a SIGKILLed registrar's PEs are taken over by exactly one survivor, and it resynchronises after a restart", async () => {
  await withChildren(async (spawned) => {
    const r1 = await registrar(spawned, "r1", []);
    const r2 = await registrar(spawned, "r2", [r1]);
    const r3 = await registrar(spawned, "r3", [r1]);
    const a = await pe(spawned, r1, "pe-a");
    // b and c register only with r2: when it dies they have nowhere else to go, so they stay
    // in the handlespaces through the takeover alone.
    const b = await pe(spawned, r2, "pe-b");
    const c = await pe(spawned, r2, "pe-c");
    await converge([r1, r2, r3], [a, b, c], "every PE at every registrar");
    const killedAt = Date.now();
    await r2.child.stop("SIGKILL");
    const survivors = [r1.ready.serverId, r3.ready.serverId];
    let newHome = 0;
    await eventually(async () => {
      const views = await Promise.all([r1, r3].map(resolve));
      const homes = views.flatMap((v) =>
        v.filter((p) => p.identifier === b || p.identifier === c).map((p) => p.homeRegistrarId)
      );
      // Both PEs at both survivors, owned by one and the same survivor.
      if (homes.length !== 4 || new Set(homes).size !== 1) return false;
      newHome = homes[0];
      return survivors.includes(newHome);
    }, "b and c owned by one survivor at both survivors");
    const took = Date.now() - killedAt;
    // max-time-last-heard + max-time-no-response + takeover round trip, with room for a slow
    // machine.
    assert.ok(took < 8000, `takeover took ${took} ms`);
    await converge([r1, r3], [a, b, c], "nothing lost in the takeover");
    // r2 comes back (a new server ID, the same peer): it synchronises and agrees.
    const again = await registrar(spawned, "r2-again", [r1]);
    await converge([again], [a, b, c], "the restarted registrar synchronised");
    const owners = new Map((await resolve(again)).map((p) => [p.identifier, p.homeRegistrarId]));
    assert.equal(owners.get(b), newHome);
    assert.equal(owners.get(c), newHome);
    assert.equal(owners.get(a), r1.ready.serverId);
  });
});

Deno.test("enrp scenario: PEs over SCTP make the registrar that took them over their home (keep-alive with the H flag)", async () => {
  await withChildren(async (spawned) => {
    const sctpRegistrar = async (name: string, peers: Running[]) => {
      const { child, ready } = await startRegistrar([
        "--asap",
        "sctp:127.0.0.1:0",
        "--asap",
        "tcp:127.0.0.1:0",
        "--enrp",
        "sctp:127.0.0.1:0",
        ...peers.flatMap((p) => ["--peer", asArg(p.enrp)]),
        ...TIMERS,
      ], name);
      spawned.push(child);
      const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
      return { child, ready, asap: tcp, enrp: ready.enrp[0], sctp: ready.asap[0] };
    };
    const r1 = await sctpRegistrar("r1", []);
    const r2 = await sctpRegistrar("r2", [r1]);
    // Two PEs that know only r2, over SCTP: when r2 dies, a survivor must come to them.
    const pes: { child: Child; id: number }[] = [];
    for (const name of ["pe-x", "pe-y"]) {
      const child = Child.spawn(name, "services/pe_main.ts", [
        "--service",
        "echo",
        "--pool",
        POOL,
        "--registrar",
        asArg(r2.sctp),
        "--log-level",
        "info",
      ]);
      spawned.push(child);
      pes.push({ child, id: (await child.json<{ identifier: number }>()).identifier });
    }
    await converge([r1, r2], pes.map((p) => p.id), "both PEs at both registrars");
    await r2.child.stop("SIGKILL");
    const home = r1.ready.serverId.toString(16);
    await eventually(
      () =>
        Promise.resolve(
          pes.every((p) =>
            new RegExp(`registrar "?${home}"? took over as home`).test(p.child.stderr())
          ),
        ),
      "both PEs adopted r1 as their home",
    );
    const view = await resolve(r1);
    assert.deepEqual(idsOf(view), pes.map((p) => p.id).sort((a, b) => a - b));
    for (const p of view) assert.equal(p.homeRegistrarId, r1.ready.serverId);
    // r1 supervises them now: they answer its keep-alives, so they outlive several intervals.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(idsOf(await resolve(r1)), pes.map((p) => p.id).sort((a, b) => a - b));
  });
});

Deno.test("enrp scenario: a PU whose registrar dies finds another one in its list, and its session goes on at a PE of that registrar", async () => {
  await withChildren(async (spawned) => {
    // r2's ASAP port is chosen now, so that the PU can list it before r2 exists.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const r2Port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const r1 = await registrar(spawned, "r1", []);
    const calcPe = (name: string, at: Running) => {
      const child = Child.spawn(name, "services/pe_main.ts", [
        "--service",
        "calc",
        "--pool",
        POOL,
        "--registrar",
        asArg(at.asap),
        "--cookie-secret",
        "enrp scenario",
      ]);
      spawned.push(child);
      return child;
    };
    const a = calcPe("pe-a", r1);
    const aId = (await a.json<{ identifier: number }>()).identifier;
    const pu = Child.spawn("pu", "services/pu_main.ts", [
      "--service",
      "calc",
      "--pool",
      POOL,
      "--registrar",
      asArg(r1.asap),
      "--registrar",
      `tcp:127.0.0.1:${r2Port}`,
      "--count",
      "200",
      "--interval",
      "30ms",
      "--request-timeout",
      "1s",
    ]);
    spawned.push(pu);
    // The PU works with PE a, resolved at r1 (the only registrar so far).
    const first = JSON.parse(await pu.line(30_000));
    assert.equal(first.connected, aId, JSON.stringify(first));
    // r2 joins, with PE b.
    const { child, ready } = await startRegistrar([
      "--asap",
      `tcp:127.0.0.1:${r2Port}`,
      "--enrp",
      "sctp:127.0.0.1:0",
      "--peer",
      asArg(r1.enrp),
      ...TIMERS,
    ], "r2");
    spawned.push(child);
    const r2: Running = { child, ready, asap: ready.asap[0], enrp: ready.enrp[0] };
    const b = calcPe("pe-b", r2);
    const bId = (await b.json<{ identifier: number }>()).identifier;
    await converge([r1, r2], [aId, bId], "a and b at both registrars");
    // The PU's registrar and its PE die together.
    await r1.child.stop("SIGKILL");
    await a.stop("SIGKILL");
    let failover: { from: number; to: number } | undefined;
    let result: { ok: boolean; completed: number } | undefined;
    while (result === undefined) {
      const event = JSON.parse(await pu.line(60_000));
      if (event.failover !== undefined) failover = event.failover;
      else if (event.ok !== undefined) result = event;
    }
    assert.deepEqual(failover && [failover.from, failover.to], [aId, bId]);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.completed, 200, "no step lost");
  });
});

Deno.test({
  name:
    "enrp scenario: a partition between two registrars (each with its PEs) heals into one handlespace",
  ignore: await ignoreWithoutNetns(),
  async fn() {
    await using hosts = await createTwoHosts({ links: 1, base: 151 });
    await withChildren(async (spawned) => {
      const [aAddress] = hosts.aAddresses;
      const [bAddress] = hosts.bAddresses;
      const start = async (name: string, ns: string, address: string, peer?: string) => {
        const child = Child.spawn(name, "registrar/main.ts", [
          "--asap",
          `tcp:${address}:3863`,
          "--enrp",
          `sctp:${address}:9901`,
          "--announce",
          "off",
          "--enrp-announce",
          "off",
          ...(peer === undefined ? [] : ["--peer", `${peer}:9901`]),
          ...TIMERS,
        ], ns);
        spawned.push(child);
        return (await child.json<RegistrarReady>()).serverId;
      };
      const ra = await start("ra", hosts.a, aAddress);
      const rb = await start("rb", hosts.b, bAddress, aAddress);
      const pe = async (name: string, ns: string, address: string) => {
        const child = Child.spawn(name, "services/pe_main.ts", [
          "--service",
          "echo",
          "--pool",
          POOL,
          "--registrar",
          `tcp:${address}:3863`,
          "--listen",
          `tcp:${address}:0`,
        ], ns);
        spawned.push(child);
        return (await child.json<{ identifier: number }>()).identifier;
      };
      const pa = await pe("pe-a", hosts.a, aAddress);
      const pb = await pe("pe-b", hosts.b, bAddress);
      const view = async (ns: string, address: string) => {
        const child = Child.spawn("resolve", "tests/support/resolve_main.ts", [
          `tcp:${address}:3863`,
          POOL,
        ], ns);
        try {
          const pes = await child.json<{ id: number; home: number }[]>(10_000);
          return pes.sort((x, y) => x.id - y.id);
        } finally {
          await child.stop("SIGKILL");
        }
      };
      const want = [{ id: pa, home: ra }, { id: pb, home: rb }].sort((x, y) => x.id - y.id);
      const agreed = async () =>
        JSON.stringify(await view(hosts.a, aAddress)) === JSON.stringify(want) &&
        JSON.stringify(await view(hosts.b, bAddress)) === JSON.stringify(want);
      await eventually(agreed, "both registrars hold both PEs, each at its home");
      // The partition: each side sees the other die and takes its PEs over.
      await hosts.setLink(0, false);
      await eventually(
        async () => {
          const [a, b] = [await view(hosts.a, aAddress), await view(hosts.b, bAddress)];
          return a.length === 2 && a.every((p) => p.home === ra) && b.length === 2 &&
            b.every((p) => p.home === rb);
        },
        "each side took over the other's PE",
        20_000,
      );
      // Healed: the two handlespaces agree again, each PE owned by the registrar it talks to.
      await hosts.setLink(0, true);
      await eventually(agreed, "one handlespace again after the partition", 30_000);
    });
  },
});
