// Scenarios with real processes: a registrar, pool elements and pool users, each a
// `deno run` of this project's programs on loopback, killed and restarted.

import assert from "node:assert/strict";
import { encodeAsapMessage } from "../../asap/mod.ts";
import { ErrorCause } from "../../wire/mod.ts";
import type { EndpointAddress } from "../../transport/open.ts";
import { AsapClient, text } from "../support/asap_client.ts";
import { asapSamples } from "../support/messages.ts";
import { Child, exitWithin, startRegistrar } from "../support/processes.ts";
import { mutate } from "../wire/fuzz.ts";
import { SeededRandom } from "../support/random.ts";

// Keep-alives every 300 ms, a second to answer (a PE process on a loaded machine may take some
// hundred ms).
const FAST_KEEP_ALIVE = ["--keep-alive-interval", "300ms", "--keep-alive-timeout", "1s"];

const asArg = (a: EndpointAddress) => `${a.protocol}:${a.hostname}:${a.port}`;

async function withChildren(body: (spawned: Child[]) => Promise<void>): Promise<void> {
  const spawned: Child[] = [];
  try {
    await body(spawned);
  } finally {
    for (const c of spawned.reverse()) await c.stop("SIGKILL");
  }
}

async function startPe(
  spawned: Child[],
  registrar: string,
  args: string[],
  name = "pe",
): Promise<{ child: Child; identifier: number }> {
  const child = Child.spawn(name, "services/pe_main.ts", [
    "--registrar",
    registrar,
    "--cookie-secret",
    "scenario secret",
    ...args,
  ]);
  spawned.push(child);
  const info = await child.json<{ identifier: number }>();
  return { child, identifier: info.identifier };
}

/** The PE IDs a handle resolution returns, or [] for an unknown pool. */
async function resolveIds(client: AsapClient, pool: string): Promise<number[]> {
  const r = await client.request({
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: text(pool),
  });
  if (r.type !== "handle-resolution-response") throw new Error(`Got ${r.type}`);
  if (r.error !== undefined) {
    assert.equal(r.error[0].code, ErrorCause.UnknownPoolHandle);
    return [];
  }
  return r.poolElements.map((p) => p.identifier);
}

async function eventually(check: () => Promise<boolean>, what: string, timeout = 15_000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("scenario: PEs register and resolve under several policies", async () => {
  await withChildren(async (spawned) => {
    const { child: registrar, ready } = await startRegistrar([
      "--max-handle-resolution-items",
      "5",
      "--max-increment",
      "0",
    ]);
    spawned.push(registrar);
    const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
    const reg = asArg(tcp);
    const rr: number[] = [];
    for (let i = 0; i < 3; i++) {
      rr.push((await startPe(spawned, reg, ["--service", "echo", "--pool", "RrPool"])).identifier);
    }
    const lu = new Map<number, number>();
    for (const load of [0.5, 0.1, 0.3]) {
      const { identifier } = await startPe(spawned, reg, [
        "--service",
        "echo",
        "--pool",
        "LuPool",
        "--policy",
        "least-used",
        "--load",
        String(load),
        "--listen",
        "sctp:127.0.0.1:0",
      ]);
      lu.set(load, identifier);
    }
    const prio = new Map<number, number>();
    for (const priority of [1, 9, 5]) {
      const { identifier } = await startPe(spawned, reg, [
        "--service",
        "echo",
        "--pool",
        "PrioPool",
        "--policy",
        "priority",
        "--priority",
        String(priority),
      ]);
      prio.set(priority, identifier);
    }
    const client = await AsapClient.open(ready.asap.find((a) => a.protocol === "sctp")!);
    try {
      // Round robin: with max-increment 0 every selected PE moves to the end.
      const first = await resolveIds(client, "RrPool");
      assert.deepEqual([...first].sort(), [...rr].sort());
      assert.deepEqual(await resolveIds(client, "RrPool"), first);
      // Least used: lowest load first.
      assert.deepEqual(await resolveIds(client, "LuPool"), [lu.get(0.1), lu.get(0.3), lu.get(0.5)]);
      // Priority: highest priority first.
      assert.deepEqual(await resolveIds(client, "PrioPool"), [
        prio.get(9),
        prio.get(5),
        prio.get(1),
      ]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("scenario: a PE killed with SIGKILL leaves the handlespace after the keep-alive timeout", async () => {
  await withChildren(async (spawned) => {
    const { child: registrar, ready } = await startRegistrar(FAST_KEEP_ALIVE);
    spawned.push(registrar);
    const sctp = ready.asap.find((a) => a.protocol === "sctp")!;
    const survivor = await startPe(spawned, asArg(sctp), ["--service", "echo"]);
    const victim = await startPe(spawned, asArg(sctp), ["--service", "echo"]);
    const client = await AsapClient.open(sctp);
    try {
      assert.equal((await resolveIds(client, "EchoPool")).length, 2);
      await victim.child.stop("SIGKILL");
      await eventually(
        async () => (await resolveIds(client, "EchoPool")).length === 1,
        "the killed PE removed",
      );
      assert.deepEqual(await resolveIds(client, "EchoPool"), [survivor.identifier]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("scenario: a registration life that runs out removes a PE that is still alive", async () => {
  await withChildren(async (spawned) => {
    const { child: registrar, ready } = await startRegistrar(FAST_KEEP_ALIVE);
    spawned.push(registrar);
    const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
    await startPe(spawned, asArg(tcp), [
      "--service",
      "echo",
      "--registration-life",
      "1s",
      "--reregistration-interval",
      "60s",
    ]);
    const client = await AsapClient.open(tcp);
    try {
      assert.equal((await resolveIds(client, "EchoPool")).length, 1);
      await eventually(
        async () => (await resolveIds(client, "EchoPool")).length === 0,
        "the PE's registration expired",
      );
    } finally {
      await client.close();
    }
  });
});

Deno.test("scenario: unreachable reports from PUs remove a PE that does not answer, never one that does", async () => {
  await withChildren(async (spawned) => {
    const { child: registrar, ready } = await startRegistrar(["--max-bad-pe-reports", "3"]);
    spawned.push(registrar);
    const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
    const pe = await startPe(spawned, asArg(tcp), [
      "--service",
      "echo",
      "--reregistration-interval",
      "60s",
    ]);
    // Three PUs (three associations) report it.
    const clients = await Promise.all([0, 1, 2].map(() => AsapClient.open(tcp)));
    const report = () =>
      Promise.all(clients.map((c) =>
        c.send({
          type: "endpoint-unreachable",
          poolHandle: text("EchoPool"),
          identifier: pe.identifier,
        })
      ));
    try {
      // It answers the registrar's check: it stays.
      await report();
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(await resolveIds(clients[0], "EchoPool"), [pe.identifier]);
      // Stopped (alive but silent, its association up): the same reports remove it.
      Deno.kill(pe.child.process.pid, "SIGSTOP");
      await report();
      await eventually(
        async () => (await resolveIds(clients[0], "EchoPool")).length === 0,
        "the reported PE removed",
        5000,
      );
    } finally {
      Deno.kill(pe.child.process.pid, "SIGCONT");
      for (const c of clients) await c.close();
    }
  });
});

for (const protocol of ["tcp", "sctp"] as const) {
  Deno.test(`scenario: ${protocol} PU fails over mid-computation and resumes from the cookie`, async () => {
    await withChildren(async (spawned) => {
      const { child: registrar, ready } = await startRegistrar(FAST_KEEP_ALIVE);
      spawned.push(registrar);
      const reg = asArg(ready.asap.find((a) => a.protocol === protocol)!);
      const pes = new Map<number, Child>();
      for (let i = 0; i < 3; i++) {
        const pe = await startPe(spawned, reg, [
          "--service",
          "calc",
          "--listen",
          `${protocol}:127.0.0.1:0`,
        ], `pe${i}`);
        pes.set(pe.identifier, pe.child);
      }
      const pu = Child.spawn("pu", "services/pu_main.ts", [
        "--service",
        "calc",
        "--registrar",
        reg,
        "--count",
        "30",
        "--interval",
        "20ms",
        "--request-timeout",
        "1s",
      ]);
      spawned.push(pu);
      let killed: number | undefined;
      let failovers = 0;
      let result: { ok: boolean; completed: number; failovers: number } | undefined;
      while (result === undefined) {
        const event = JSON.parse(await pu.line(30_000));
        if (event.step === 10) {
          killed = event.pe;
          await pes.get(event.pe)?.stop("SIGKILL");
        } else if (event.failover !== undefined) {
          failovers++;
          assert.equal(event.failover.from, killed);
          assert.notEqual(event.failover.to, killed);
          assert.equal(event.cookieEchoed, true);
        } else if (event.ok !== undefined) {
          result = event;
        }
      }
      assert.ok(killed !== undefined, "a PE was killed");
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.completed, 30, "no step lost");
      assert.equal(failovers, 1);
      assert.equal((await exitWithin(pu, 15_000)).code, 0);
    });
  });
}

Deno.test("scenario: after a registrar restart the PEs register again and resolution works", async () => {
  await withChildren(async (spawned) => {
    // A free port for both runs of the registrar.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const args = ["--asap", `tcp:127.0.0.1:${port}`, "--announce", "off"];
    const first = await startRegistrar(args, "registrar1");
    spawned.push(first.child);
    const reg = `tcp:127.0.0.1:${port}`;
    const pe = await startPe(spawned, reg, ["--service", "echo"]);
    await first.child.stop("SIGKILL");
    const second = await startRegistrar(args, "registrar2");
    spawned.push(second.child);
    assert.notEqual(second.ready.serverId, first.ready.serverId);
    const client = await AsapClient.open(second.ready.asap[0]);
    try {
      await eventually(
        async () => (await resolveIds(client, "EchoPool")).includes(pe.identifier),
        "the PE registered with the new registrar",
        30_000,
      );
    } finally {
      await client.close();
    }
  });
});

Deno.test("scenario: fuzzed messages to a registrar process leave its PEs served", async () => {
  await withChildren(async (spawned) => {
    const { child: registrar, ready } = await startRegistrar();
    spawned.push(registrar);
    const sctp = ready.asap.find((a) => a.protocol === "sctp")!;
    const pe = await startPe(spawned, asArg(sctp), ["--service", "echo"]);
    const hostile = await AsapClient.open(sctp);
    hostile.answerKeepAlives = false;
    const rnd = new SeededRandom(99);
    const corpus = asapSamples().map(encodeAsapMessage);
    for (let i = 0; i < 300; i++) {
      const bytes = mutate(rnd.pick(corpus), corpus, rnd);
      if (bytes.length > 0) await hostile.sendRaw(bytes);
    }
    const client = await AsapClient.open(sctp);
    try {
      assert.deepEqual(await resolveIds(client, "EchoPool"), [pe.identifier]);
    } finally {
      await client.close();
      await hostile.abort();
    }
    assert.equal(registrar.process.pid > 0, true);
  });
});
