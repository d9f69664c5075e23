/**
 * Multi-homed PEs and PUs in network namespaces: host A (the PU, the registrar, a second PE)
 * and host B (a PE with two addresses), joined by two veth links on two subnets. A cut link
 * costs a path switch, not a failover; both links cut cost a failover that resumes from the
 * state cookie; a loopback address registered with a routable one is left out.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createTwoHosts, ignoreWithoutNetns, namespacesNamed } from "../support/netns.ts";
import { Child, exitWithin } from "../support/processes.ts";

const ignore = await ignoreWithoutNetns();
const PU = "tests/scenario/multihoming_pu.ts";
const SECRET = "multihoming scenario";

type Line = Record<string, unknown>;

/** Reads a child's JSON lines in the background; waits for one that matches. */
class Lines {
  readonly seen: Line[] = [];
  #waiters = new Set<() => void>();
  #ended = false;

  constructor(readonly child: Child) {
    void (async () => {
      try {
        for (;;) {
          const text = await child.line(3_600_000);
          try {
            this.seen.push(JSON.parse(text));
          } catch {
            this.seen.push({ text });
          }
          for (const w of [...this.#waiters]) w();
        }
      } catch {
        this.#ended = true;
        for (const w of [...this.#waiters]) w();
      }
    })();
  }

  waitFor(what: string, test: (l: Line) => boolean, timeout = 20_000, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.seen.slice(from).find(test);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.#ended) {
          done();
          reject(new Error(`${this.child.name} ended before ${what}\n${this.child.stderr()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `No ${what} in ${timeout} ms: ${
              JSON.stringify(this.seen.slice(-5))
            }\n${this.child.stderr()}`,
          ),
        );
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The highest `answered` count printed so far. */
  get answered(): number {
    return Math.max(0, ...this.seen.map((l) => typeof l.answered === "number" ? l.answered : 0));
  }
}

/**
 * Kills whatever still runs in the hosts' namespaces (`ip netns exec` forks: a child whose `ip`
 * was killed can outlive it), then deletes them.
 */
async function destroyHosts(hosts: { a: string; b: string; destroy(): Promise<void> }) {
  for (const ns of [hosts.a, hosts.b]) {
    const out = await new Deno.Command("ip", { args: ["netns", "pids", ns], stdout: "piped" })
      .output();
    for (const pid of new TextDecoder().decode(out.stdout).split(/\s+/).filter((p) => p !== "")) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  await hosts.destroy();
}

async function withChildren(body: (spawned: Child[]) => Promise<void>): Promise<void> {
  const spawned: Child[] = [];
  try {
    await body(spawned);
  } finally {
    for (const c of spawned.reverse()) await c.stop("SIGKILL");
  }
}

function spawnIn(spawned: Child[], name: string, script: string, args: string[], ns: string) {
  const child = Child.spawn(name, script, args, ns);
  spawned.push(child);
  return child;
}

async function startRegistrar(spawned: Child[], ns: string): Promise<void> {
  const r = spawnIn(spawned, "registrar", "registrar/main.ts", [
    "--asap",
    "sctp:0.0.0.0:3863",
    "--announce",
    "off",
    "--enrp",
    "off",
  ], ns);
  await r.json(30_000);
}

interface PeReady {
  identifier: number;
  addresses: string[];
}

function startPe(
  spawned: Child[],
  name: string,
  ns: string,
  listen: string,
  registrar: string,
  pool: string,
): Child {
  return spawnIn(spawned, name, "services/pe_main.ts", [
    "--service",
    "calc",
    "--pool",
    pool,
    "--listen",
    listen,
    "--registrar",
    registrar,
    "--cookie-secret",
    SECRET,
  ], ns);
}

async function resolveIn(
  ns: string,
  pool: string,
): Promise<{ id: number; addresses: string[] }[]> {
  const child = Child.spawn("resolve", PU, ["resolve", "sctp:127.0.0.1:3863", pool], ns);
  try {
    return await child.json(20_000);
  } finally {
    await child.stop("SIGKILL");
  }
}

Deno.test({
  name:
    "multihoming scenario: a cut link switches paths without a failover, both cut fail over and resume from the cookie",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const hosts = await createTwoHosts({ links: 2, base: 221 });
    try {
      await withChildren(async (spawned) => {
        const [a0] = hosts.aAddresses;
        const [b0, b1] = hosts.bAddresses;
        const pool = "MultiHomedPool";
        await startRegistrar(spawned, hosts.a);
        // A PE with two addresses registers both, and a resolution returns both.
        const pe1 = startPe(
          spawned,
          "pe-1",
          hosts.b,
          `sctp:${b0},${b1}:7000`,
          `sctp:${a0}:3863`,
          pool,
        );
        const ready = await pe1.json<PeReady>(30_000);
        assert.deepEqual(ready.addresses, [b0, b1]);
        assert.deepEqual(await resolveIn(hosts.a, pool), [
          { id: ready.identifier, addresses: [b0, b1] },
        ]);

        const pu = new Lines(
          spawnIn(spawned, "pu", PU, ["run", "sctp:127.0.0.1:3863", pool], hosts.a),
        );
        const connected = await pu.waitFor("connected", (l) => l.connected !== undefined, 30_000);
        assert.equal(connected.connected, ready.identifier);
        assert.equal(connected.path, b0);
        await pu.waitFor("answers", (l) => (l.answered as number) >= 60);

        // The primary link cut with requests in flight: the association moves to the other
        // path, the same PE answers everything.
        await hosts.setLink(0, false);
        const switched = pu.seen.length;
        await pu.waitFor(
          "a path switch to the second address",
          (l) => {
            const c = l.pathChanged as { from?: string; to: string } | undefined;
            return c?.from === b0 && c.to === b1;
          },
          10_000,
          switched,
        );
        let mark = pu.answered;
        await pu.waitFor(
          "answers over the second path",
          (l) => (l.answered as number) >= mark + 60 && l.path === b1,
        );

        // The link back: the primary returns; then the other link cut.
        await hosts.setLink(0, true);
        await pu.waitFor(
          "the switch back to the primary",
          (l) => {
            const c = l.pathChanged as { from?: string; to: string } | undefined;
            return c?.from === b1 && c.to === b0;
          },
          15_000,
          switched,
        );
        await hosts.setLink(1, false);
        mark = pu.answered;
        await pu.waitFor(
          "answers with the second link cut",
          (l) => (l.answered as number) >= mark + 100 && l.path === b0,
        );
        await hosts.setLink(1, true);
        const events = () =>
          JSON.stringify(pu.seen.filter((l) => l.failover !== undefined || l.pathChanged));
        assert.ok(!pu.seen.some((l) => l.failover !== undefined), `a failover: ${events()}`);

        // Both links cut: the session fails over to a PE in host A and resumes from the cookie.
        const pe2 = startPe(
          spawned,
          "pe-2",
          hosts.a,
          "sctp:127.0.0.1:7001",
          "sctp:127.0.0.1:3863",
          pool,
        );
        const ready2 = await pe2.json<PeReady>(30_000);
        await new Promise((r) => setTimeout(r, 1200)); // the PU's cache lifetime
        await hosts.setLink(0, false);
        await hosts.setLink(1, false);
        const failover = await pu.waitFor("a failover", (l) => l.failover !== undefined, 15_000);
        assert.deepEqual(
          [(failover.failover as { from: number }).from, (failover.failover as { to: number }).to],
          [ready.identifier, ready2.identifier],
        );
        assert.equal(failover.cookieEchoed, true);
        mark = pu.answered;
        await pu.waitFor(
          "answers from the second PE",
          (l) => (l.answered as number) >= mark + 60 && l.pe === ready2.identifier,
        );

        pu.child.process.kill("SIGTERM");
        const summary = await pu.waitFor("the summary", (l) => l.done === true, 20_000);
        console.log(JSON.stringify(summary));
        assert.equal(summary.errors, 0, JSON.stringify(summary.detail));
        assert.equal(summary.lost, 0, JSON.stringify(summary.detail));
        assert.equal(summary.answered, summary.sent);
        assert.equal(summary.failovers, 1);
        assert.ok((summary.pathSwitches as number) >= 2, "switched away and back");
        const stats = summary.stats as { failovers: number; pathSwitches: number };
        assert.equal(stats.failovers, 1);
        assert.equal(stats.pathSwitches, summary.pathSwitches);
      });
    } finally {
      await destroyHosts(hosts);
    }
    assert.deepEqual(await namespacesNamed(hosts.a), []);
  },
});

Deno.test({
  name:
    "multihoming scenario: a loopback address registered with a routable one is left out, alone it is refused",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const hosts = await createTwoHosts({ links: 1, base: 231 });
    try {
      await withChildren(async (spawned) => {
        const [a0] = hosts.aAddresses;
        const [b0] = hosts.bAddresses;
        await startRegistrar(spawned, hosts.a);
        const pe = startPe(
          spawned,
          "pe",
          hosts.b,
          `sctp:127.0.0.1,${b0}:0`,
          `sctp:${a0}:3863`,
          "ScopePool",
        );
        const ready = await pe.json<PeReady>(30_000);
        assert.deepEqual(await resolveIn(hosts.a, "ScopePool"), [
          { id: ready.identifier, addresses: [b0] },
        ]);
        const alone = startPe(
          spawned,
          "pe-loopback",
          hosts.b,
          "sctp:127.0.0.1:0",
          `sctp:${a0}:3863`,
          "ScopePool2",
        );
        const status = await exitWithin(alone, 30_000);
        assert.equal(status.code, 1);
        assert.match(alone.stderr(), /could not register.*security/i);
      });
    } finally {
      await destroyHosts(hosts);
    }
    assert.deepEqual(await namespacesNamed(hosts.a), []);
  },
});
