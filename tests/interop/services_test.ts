// Interoperation of RSPLIB's PingPong and CalcApp services with ours, both ways: RSPLIB's
// `pingpongclient` and `calcappclient` use our PEs (`services/pe_main.ts`), our PU
// (`services/pu_main.ts`) uses `rspserver -pingpong` and `rspserver -calcapp`; in each
// direction a PE is SIGKILLed mid-session and the PU must go on at another PE from the last
// state cookie (tests/support/rsplib.ts).

import assert from "node:assert/strict";
import type { Child } from "../../cli/child.ts";
import {
  ASAP_PORT,
  ignoreWithoutRsplib,
  type InteropLab,
  interopTest,
  type RsplibProcess,
} from "../support/rsplib.ts";

const ignore = await ignoreWithoutRsplib();

/** A line of one of our programs' standard output, parsed, with the time it arrived. */
interface Line {
  /** `performance.now()` when it was read. */
  at: number;
  /** The line parsed as JSON (an object), or `{ text }` when it is not JSON. */
  json: Record<string, unknown>;
}

/** Our program's standard output, read as it comes. */
interface Followed {
  readonly lines: Line[];
  /** Waits for a line (from index `from`) matching `test`; throws after `timeout` ms. */
  waitFor(
    test: (json: Record<string, unknown>) => boolean,
    options?: { timeout?: number; from?: number },
  ): Promise<Line>;
  /** The whole output, for failure messages. */
  text(): string;
}

/** Reads a child's standard output line by line into `lines`, each stamped on arrival. */
function follow(child: Child): Followed {
  const lines: Line[] = [];
  let ended = false;
  let changed = Promise.withResolvers<void>();
  const wake = () => {
    changed.resolve();
    changed = Promise.withResolvers<void>();
  };
  void (async () => {
    try {
      for (;;) {
        const text = await child.line(3_600_000);
        const at = performance.now();
        let json: Record<string, unknown>;
        try {
          const parsed = JSON.parse(text);
          json = typeof parsed === "object" && parsed !== null ? parsed : { text };
        } catch {
          json = { text };
        }
        lines.push({ at, json });
        wake();
      }
    } catch {
      ended = true;
      wake();
    }
  })();
  const text = () => lines.map((l) => JSON.stringify(l.json)).join("\n");
  return {
    lines,
    text,
    async waitFor(test, options = {}) {
      const end = performance.now() + (options.timeout ?? 20_000);
      let i = options.from ?? 0;
      for (;;) {
        for (; i < lines.length; i++) if (test(lines[i].json)) return lines[i];
        if (ended) throw new Error(`${child.name} ended first:\n${text()}\n${child.stderr()}`);
        const left = end - performance.now();
        if (left <= 0) throw new Error(`${child.name}: not in time:\n${text()}\n${child.stderr()}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([changed.promise, new Promise((r) => timer = setTimeout(r, left))]);
        clearTimeout(timer);
      }
    },
  };
}

/** The acknowledgements `pingpongclient` printed: `Ack #M from PE $X (reply #R)`. */
function pingPongAcks(client: RsplibProcess): { message: number; pe: number; reply: number }[] {
  const acks = [];
  for (const line of client.lines) {
    const m = /Ack #(\d+) from PE \$([0-9a-f]+) \(reply #(\d+)\)/i.exec(line);
    if (m) acks.push({ message: Number(m[1]), pe: parseInt(m[2], 16), reply: Number(m[3]) });
  }
  return acks;
}

/** A temporary directory for the statistics files of RSPLIB's CalcApp programs. */
async function statisticsDirectory(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "rsplib-calcapp-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Starts `rspserver -calcapp` PEs, their statistics files in `dir`; returns them by PE ID. */
async function rsplibCalcAppServers(
  lab: InteropLab,
  options: { pool: string; registrar: string; identifiers: number[]; dir: string },
): Promise<Map<number, RsplibProcess>> {
  const servers = new Map<number, RsplibProcess>();
  for (const identifier of options.identifiers) {
    const { process } = await lab.rsplibServer("calcapp", {
      pool: options.pool,
      registrar: options.registrar,
      identifier,
      extra: [
        `-capvector=${options.dir}/pe-${identifier}.vec`,
        `-capscalar=${options.dir}/pe-${identifier}.sca`,
        // A cookie every 250 ms, so that a PE killed mid-job leaves a recent one.
        "-capcookiemaxtime=0.25",
      ],
    });
    servers.set(identifier, process);
  }
  return servers;
}

interopTest(
  "interop: RSPLIB's pingpongclient uses our PingPong PEs: pongs in sequence",
  { subnet: 231, timeout: 60_000, ignore },
  async (lab) => {
    await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = "OurPingPongPool";
    const ours = [0x7101, 0x7102];
    for (const identifier of ours) {
      await lab.ourPoolElement("pingpong", { pool, registrar, identifier });
    }
    const client = lab.rsplibClient("pingpongclient", {
      pool,
      registrar,
      extra: ["-interval=100"],
    });
    await client.waitFor(/Ack #15 from PE/, { timeout: 30_000 });
    const acks = pingPongAcks(client).slice(0, 15);
    const text = client.output();
    // One session at one of our PEs, every ping answered in order, reply numbers from 1.
    assert.ok(ours.includes(acks[0].pe), text);
    assert.deepEqual(
      acks,
      acks.map((_, i) => ({ message: i + 1, pe: acks[0].pe, reply: i + 1 })),
      text,
    );
    assert.ok(!client.lines.some((l) => /Detected gap/.test(l)), text);
  },
);

interopTest(
  "interop: our PingPong PU uses rspserver -pingpong, fails over at SIGKILL with the cookie",
  { subnet: 232, timeout: 60_000, ignore },
  async (lab) => {
    await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = "TheirPingPongPool";
    const servers = new Map<number, RsplibProcess>();
    for (const identifier of [0x7201, 0x7202]) {
      const { process } = await lab.rsplibServer("pingpong", { pool, registrar, identifier });
      servers.set(identifier, process);
    }
    const pu = follow(
      await lab.ourPoolUser("pingpong", {
        pool,
        registrar,
        // A ping every 100 ms, the default request timeout (5 s): the SCTP of our PU's data
        // associations (FAST_FAILOVER_SCTP, asap/pool_user_session.ts) notices the dead PE.
        extra: ["--count", "40", "--interval", "100ms"],
      }),
    );
    const connected = await pu.waitFor((j) => "connected" in j, { timeout: 20_000 });
    const first = connected.json.connected as number;
    assert.ok(servers.has(first), pu.text());
    const tenth = await pu.waitFor((j) => j.ping === 10);
    assert.equal(tenth.json.pe, first, pu.text());

    // SIGKILL the PE of the session: nothing tells the PU, it has to notice.
    const from = pu.lines.length;
    const killedAt = performance.now();
    await servers.get(first)!.stop("SIGKILL");
    const other = [...servers.keys()].find((id) => id !== first);
    // (A ping sent just before the kill may still have been answered by the old PE.)
    const next = await pu.waitFor((j) => typeof j.ping === "number" && j.pe === other, {
      from,
      timeout: 15_000,
    });
    const failover = await pu.waitFor((j) => "failover" in j, { from, timeout: 1 });
    const last = await pu.waitFor((j) => "ok" in j, { timeout: 30_000 });
    const text = pu.text();
    assert.deepEqual(failover.json.failover, {
      from: first,
      to: other,
      reason: (failover.json.failover as Record<string, unknown>).reason,
    });
    assert.equal(failover.json.cookieEchoed, true, text);
    // Every pong, at both PEs, continues the reply numbers: the new PE got the cookie.
    const pongs = pu.lines.map((l) => l.json).filter((j) => typeof j.ping === "number");
    assert.deepEqual(pongs.map((p) => [p.ping, p.reply]), pongs.map((_, i) => [i + 1, i + 1]));
    assert.ok(pongs.every((p) => p.gap === undefined), text);
    const switched = pongs.findIndex((p) => p.pe === other);
    assert.ok(switched >= 10, text);
    assert.ok(pongs.slice(0, switched).every((p) => p.pe === first), text);
    assert.ok(pongs.slice(switched).every((p) => p.pe === other), text);
    assert.equal(last.json.ok, true, text);
    assert.equal(last.json.completed, 40, text);
    // The next pong after the kill within about a second (measured here: 0.45-0.6 s): the
    // unanswered ping's retransmissions (RTO 50, 100, 200, 200 ms) fail the association, then
    // a new one to the other PE, the cookie echo and the ping sent again.
    const took = next.at - killedAt;
    console.error(
      `our PingPong PU: next pong ${took.toFixed(0)} ms after the SIGKILL ` +
        `(${JSON.stringify(failover.json)})`,
    );
    assert.ok(took < 1500, `next pong ${took.toFixed(0)} ms after the kill\n${text}`);
  },
);

interopTest(
  "interop: RSPLIB's calcappclient uses our CalcApp PEs; SIGKILL mid-job, the other finishes it",
  { subnet: 233, timeout: 90_000, ignore },
  async (lab) => {
    await using stats = await statisticsDirectory();
    await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = "OurCalcAppPool";
    const pes = new Map<number, Followed & { child: Child }>();
    for (const identifier of [0x7301, 0x7302]) {
      const pe = await lab.ourPoolElement("calcapp", {
        pool,
        registrar,
        identifier,
        extra: ["--cookie-max-time", "250ms"],
      });
      pes.set(identifier, { ...follow(pe.child), child: pe.child });
    }
    // Jobs of 1,000,000 calculations on average (RSPLIB draws sizes from an exponential
    // distribution), one every 0.3 s on average; our PEs do 1,000,000 per second.
    // Keep-alives every second, one unanswered for a second fails the PE over: RSPLIB's
    // own failure detection for this service (its SCTP alone takes 25-31 s).
    const client = lab.rsplibClient("calcappclient", {
      pool,
      registrar,
      extra: [
        "-jobsize=1000000",
        "-jobinterval=0.3",
        "-keepalivetransmissioninterval=1000",
        "-keepalivetimeoutinterval=1000",
        `-vector=${stats.path}/pu.vec`,
        `-scalar=${stats.path}/pu.sca`,
      ],
    });
    await client.waitFor(/^Job #2 completed/, { timeout: 30_000 });

    // A job of 1.2 s or more accepted at one of our PEs: SIGKILL that PE 0.7 s into it, when
    // it has sent the client a cookie or two.
    const all = () => [...pes.entries()];
    let victim: number | undefined;
    let job: Record<string, unknown> | undefined;
    let acceptedAt = 0;
    const deadline = Date.now() + 30_000;
    const seen = new Map(all().map(([id, pe]) => [id, pe.lines.length]));
    while (victim === undefined) {
      assert.ok(Date.now() < deadline, "no job of 1,200,000 calculations or more in 30 s");
      for (const [id, pe] of all()) {
        for (let i = seen.get(id)!; i < pe.lines.length; i++) {
          const j = pe.lines[i].json;
          if (j.calcapp === "accepted" && (j.size as number) >= 1_200_000) {
            victim = id;
            job = j;
            acceptedAt = pe.lines[i].at;
          }
        }
        seen.set(id, pe.lines.length);
      }
      if (victim === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    const jobId = job!.job as number;
    await new Promise((r) => setTimeout(r, acceptedAt + 700 - performance.now()));
    const from = client.lines.length;
    const killedAt = performance.now();
    await pes.get(victim)!.child.stop("SIGKILL");
    const other = all().find(([id]) => id !== victim)!;

    // The client goes on with that job at the other PE, from the cookie, and completes it.
    const resumed = await other[1].waitFor(
      (j) => j.calcapp === "accepted" && j.job === jobId,
      { timeout: 60_000 },
    );
    const movedAfter = resumed.at - killedAt;
    await client.waitFor(new RegExp(`^Job #${jobId} completed`), { from, timeout: 60_000 });
    const done = await other[1].waitFor((j) => j.calcapp === "completed" && j.job === jobId, {
      timeout: 1,
    });
    console.error(
      `calcappclient: job ${jobId} at our other PE ${movedAfter.toFixed(0)} ms after the ` +
        `SIGKILL (${JSON.stringify(resumed.json)})`,
    );
    // calcappclient failed over on its keep-alive timeout and echoed the job's last cookie:
    // our other PE took the job up where the killed one had got to.
    const after = client.lines.slice(from);
    assert.ok(after.some((l) => /^Timeout -> Failover/.test(l)), client.output());
    assert.equal(resumed.json.from, "cookie", other[1].text());
    assert.ok((resumed.json.completed as number) > 0, other[1].text());
    assert.equal(done.json.size, job!.size);
    const killed = pes.get(victim)!;
    assert.ok(!killed.lines.some((l) => l.json.calcapp === "completed" && l.json.job === jobId));
    // Later jobs still complete.
    await client.waitFor(new RegExp(`^Job #${jobId + 1} completed`), { from, timeout: 30_000 });
  },
);

interopTest(
  "interop: our CalcApp PU uses rspserver -calcapp; SIGKILL mid-job, resumes from the cookie",
  { subnet: 234, timeout: 60_000, ignore },
  async (lab) => {
    await using stats = await statisticsDirectory();
    await lab.rsplibRegistrar();
    const registrar = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const pool = "TheirCalcAppPool";
    const servers = await rsplibCalcAppServers(lab, {
      pool,
      registrar,
      identifiers: [0x7401, 0x7402, 0x7403],
      dir: stats.path,
    });
    // Jobs of 3,000,000 calculations: 3 s at rspserver's 1,000,000 per second. Keep-alives
    // every 500 ms: RSPLIB's PE takes up a COOKIE_ECHO only when the next data message
    // arrives (its rsp_poll() does not report a stored cookie echo; RSPLIB's own PUs send
    // their next message right after it), which is our PU's next KEEPALIVE. (A KEEPALIVE sent
    // at once after the failover was tried: the job then stalled for good.)
    const pu = follow(
      await lab.ourPoolUser("calcapp", {
        pool,
        registrar,
        extra: ["--count", "2", "--job-size", "3000000", "--keep-alive-interval", "500ms"],
      }),
    );
    const job1 = await pu.waitFor((j) => j.job === 1 && "completed" in j, { timeout: 30_000 });
    assert.equal(job1.json.completed, 3_000_000, pu.text());
    assert.ok(servers.has(job1.json.pe as number), pu.text());

    // Job 2: find the PE that accepted it, SIGKILL it 2 s into the job.
    let victim: number | undefined;
    const deadline = Date.now() + 10_000;
    while (victim === undefined) {
      assert.ok(Date.now() < deadline, "no PE accepted job 2");
      for (const [id, server] of servers) {
        if (server.lines.some((l) => /^Job \d+\/2 of size \S+ accepted$/.test(l))) victim = id;
      }
      if (victim === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const from = pu.lines.length;
    const killedAt = performance.now();
    await servers.get(victim)!.stop("SIGKILL");

    const failover = await pu.waitFor((j) => "failover" in j, { from, timeout: 15_000 });
    const job2 = await pu.waitFor((j) => j.job === 2 && "completed" in j, {
      from,
      timeout: 30_000,
    });
    const last = await pu.waitFor((j) => "ok" in j, { timeout: 10_000 });
    const text = pu.text();
    const to = (failover.json.failover as Record<string, unknown>).to as number;
    assert.equal((failover.json.failover as Record<string, unknown>).from, victim, text);
    assert.ok(servers.has(to) && to !== victim, text);
    assert.equal(failover.json.cookieEchoed, true, text);
    // The new PE took the job up from the cookie, with the calculations done before the kill.
    const m = await servers.get(to)!.waitFor(
      /^Job \d+\/2 of size (\S+), completed (\S+) accepted from cookie echo$/,
      { timeout: 1 },
    );
    // (RSPLIB prints them as C++ doubles: 3e+06, 1.5e+06.)
    assert.equal(Number(m[1]), 3_000_000);
    const fromCookie = Number(m[2]);
    assert.ok(fromCookie >= 1_500_000 && fromCookie < 3_000_000, servers.get(to)!.output());
    // Our PU: job 2 completed at the new PE, in the time the rest of it takes (plus up to a
    // keep-alive interval, see above, and some slack), where starting over would take 3 s.
    assert.equal(job2.json.pe, to, text);
    assert.equal(job2.json.completed, 3_000_000, text);
    const rest = (job2.at - failover.at) / 1000;
    console.error(
      `our CalcApp PU: failover ${(failover.at - killedAt).toFixed(0)} ms after the SIGKILL, ` +
        `resumed at ${fromCookie}, rest of the job took ${rest.toFixed(2)} s`,
    );
    assert.ok(rest < (3_000_000 - fromCookie) / 1_000_000 + 0.5 + 0.7, text);
    assert.equal(last.json.ok, true, text);
    assert.equal(last.json.completed, 2, text);
  },
);
