// CalcApp end to end over real sockets: the bytes our PE sends, jobs of our PU at our PEs, load
// reports, and failover of a job from its cookie when its PE dies or stops.

import assert from "node:assert/strict";
import { decodeAsapMessage, encodeAsapMessage } from "../../asap/codec.ts";
import { ASAP_PPID, connectEndpoint } from "../../asap/connect.ts";
import type { Association } from "../../transport/types.ts";
import { createCalcApp, runCalcAppJob } from "../../services/calc_app.ts";
import {
  type CalcAppMessage,
  decodeCalcApp,
  decodeCalcAppCookie,
  encodeCalcApp,
  encodeCalcAppCookie,
  PPID_CALCAPP,
} from "../../services/calc_app_messages.ts";
import { startPu, startRegistrar, startServicePe, waitFor } from "./helpers.ts";

type Seen =
  | { kind: "calcapp"; message: CalcAppMessage; bytes: Uint8Array }
  | { kind: "cookie"; cookie: Uint8Array };

/**
 * Reads what a PE sends until `until` holds for the last thing seen (or the end). Past
 * `deadline` ms the association is aborted, so that a test fails instead of waiting forever.
 */
async function readUntil(
  a: Association,
  until: (s: Seen) => boolean,
  deadline = 10_000,
): Promise<Seen[]> {
  const seen: Seen[] = [];
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    a.abort();
  }, deadline);
  try {
    for (;;) {
      const m = await a.receive();
      if (m === null) {
        assert.ok(!expired, `nothing ended the read in ${deadline} ms; seen: ${describe(seen)}`);
        return seen;
      }
      const s = decodeSeen(m.ppid, m.data);
      seen.push(s);
      if (until(s)) return seen;
    }
  } finally {
    clearTimeout(timer);
  }
}

function describe(seen: Seen[]): string {
  return seen.map((s) => s.kind === "calcapp" ? s.message.type : "cookie").join();
}

function decodeSeen(ppid: number, data: Uint8Array): Seen {
  if (ppid === ASAP_PPID) {
    const asap = decodeAsapMessage(data);
    assert.ok(asap.type === "cookie", `unexpected ASAP ${asap.type}`);
    return { kind: "cookie", cookie: asap.cookie };
  }
  assert.equal(ppid, PPID_CALCAPP);
  const message = decodeCalcApp(data);
  assert.ok(message !== undefined);
  return { kind: "calcapp", message, bytes: data };
}

const msg = (type: CalcAppMessage["type"], jobId: number, jobSize = 0, completed = 0) =>
  encodeCalcApp({ type, jobId, jobSize, completed });

Deno.test("CalcApp PE: ACCEPT, KEEPALIVE, cookies and COMPLETE in RSPLIB's bytes; REJECT when full; load", async () => {
  await using registrar = await startRegistrar("tcp");
  const service = createCalcApp({
    server: {
      maxJobs: 1,
      capacity: 1_000_000,
      keepAliveInterval: 60,
      // Longer than the job: KEEPALIVEs not yet read (and answered) do not drop it.
      keepAliveTimeout: 5000,
      cookieMaxTime: 50,
      cookieMaxCalculations: 1_000_000,
    },
  });
  const pe = await startServicePe(registrar, service, { policy: { name: "least-used", load: 0 } });
  try {
    const a = await connectEndpoint(pe.pe.address, { framing: "framed", timeout: 2000 });
    // 2 s of work: the rejection and the keep-alives below happen while it runs, however slow
    // the machine.
    await a.send(msg("request", 7, 2_000_000), { ppid: PPID_CALCAPP });
    const first = await readUntil(a, () => true);
    assert.equal(first[0].kind, "calcapp");
    assert.deepEqual(first[0].kind === "calcapp" && first[0].bytes, msg("accept", 7));
    await waitFor(() => pe.loads.includes(1), "load 1 reported");
    assert.equal(pe.pe.policy.name === "least-used" && pe.pe.policy.load, 1);

    // Full: a second job is rejected.
    const b = await connectEndpoint(pe.pe.address, { framing: "framed", timeout: 2000 });
    await b.send(msg("request", 8, 10), { ppid: PPID_CALCAPP });
    const rejected = await readUntil(b, () => true);
    assert.deepEqual(rejected[0].kind === "calcapp" && rejected[0].bytes, msg("reject", 8));
    await b.close();

    // A KEEPALIVE of the PU is answered; the PE's KEEPALIVEs are answered by us.
    await a.send(msg("keepalive", 7), { ppid: PPID_CALCAPP });
    const rest = await readUntil(a, (s) => {
      if (s.kind === "calcapp" && s.message.type === "keepalive") {
        a.send(msg("keepalive-ack", 7), { ppid: PPID_CALCAPP }).catch(() => {});
      }
      return s.kind === "calcapp" && s.message.type === "complete";
    });
    const types = rest.map((s) => s.kind === "calcapp" ? s.message.type : "cookie");
    assert.ok(types.includes("keepalive-ack"), types.join());
    assert.ok(types.includes("keepalive"), types.join());
    const last = rest.at(-1)!;
    assert.deepEqual(
      last.kind === "calcapp" && last.bytes,
      msg("complete", 7, 2_000_000, 2_000_000),
    );
    const cookies = rest.flatMap((s) => s.kind === "cookie" ? [s.cookie] : []);
    assert.ok(cookies.length >= 3, `${cookies.length} cookies`);
    let before = -1;
    for (const c of cookies) {
      assert.equal(c.length, 20);
      const cookie = decodeCalcAppCookie(c)!;
      assert.equal(cookie.jobId, 7);
      assert.equal(cookie.jobSize, 2_000_000);
      assert.ok(cookie.completed > before && cookie.completed <= 2_000_000);
      before = cookie.completed;
    }
    await waitFor(() => pe.loads.at(-1) === 0, "load 0 reported");
    await a.close();
  } finally {
    await pe.stop();
  }
});

Deno.test("CalcApp PE: a COOKIE_ECHO resumes the job where the cookie says; a KEEPALIVE unanswered drops it", async () => {
  await using registrar = await startRegistrar("tcp");
  const service = createCalcApp({
    // A KEEPALIVE 50 ms after ACCEPT or its answer; a second to answer it (in time however
    // loaded the machine).
    server: { capacity: 1_000_000, keepAliveInterval: 50, keepAliveTimeout: 1000 },
  });
  const pe = await startServicePe(registrar, service);
  try {
    const a = await connectEndpoint(pe.pe.address, { framing: "framed", timeout: 2000 });
    const started = performance.now();
    const cookie = encodeCalcAppCookie({
      jobId: 3,
      jobSize: 100_000_000,
      completed: 98_500_000,
    });
    await a.send(encodeAsapMessage({ type: "cookie-echo", cookie }), { ppid: ASAP_PPID });
    // Our KEEPALIVE_ACKs keep the job: 1.5 s of work outlasts the interval and timeout.
    const seen = await readUntil(a, (s) => {
      if (s.kind === "calcapp" && s.message.type === "keepalive") {
        a.send(msg("keepalive-ack", 3), { ppid: PPID_CALCAPP }).catch(() => {});
      }
      return s.kind === "calcapp" && s.message.type === "complete";
    });
    const types = seen.map((s) => s.kind === "calcapp" ? s.message.type : "cookie");
    assert.equal(types[0], "accept");
    assert.equal(types.at(-1), "complete");
    assert.ok(types.includes("keepalive"), types.join());
    // 1,500,000 calculations left at 1,000,000/s: about 1.5 s, not 100 s.
    const took = performance.now() - started;
    assert.ok(took < 10_000, `${took} ms`);
    assert.match(pe.lines.join("\n"), /"from":"cookie"/);

    // Keep-alives we do not answer: the job (of 100 s) is dropped, no COMPLETE comes.
    await a.send(msg("request", 4, 100_000_000), { ppid: PPID_CALCAPP });
    await readUntil(a, (s) => s.kind === "calcapp" && s.message.type === "keepalive");
    await waitFor(
      () => pe.lines.some((l) => l.includes("keep-alive-timeout")),
      "job dropped",
      10_000,
    );
    assert.ok(!pe.lines.some((l) => l.includes('"job":4') && l.includes('"calcapp":"completed"')));
    await a.close();
  } finally {
    await pe.stop();
  }
});

Deno.test("CalcApp session: our PU runs jobs at our PE, one session per job", async () => {
  await using registrar = await startRegistrar("tcp");
  const service = createCalcApp({
    server: { capacity: 2_000_000 },
    client: { jobSize: 100_000, keepAliveInterval: 20 },
  });
  const pe = await startServicePe(registrar, service);
  const pu = startPu(registrar);
  try {
    const session = await pu.connect("CalcAppPool");
    const lines: string[] = [];
    const result = await service.use(session, {
      count: 3,
      interval: 0,
      size: 0,
      print: (l) => lines.push(l),
      openSession: () => pu.connect("CalcAppPool"),
    });
    assert.equal(result.ok, true, result.detail);
    assert.equal(result.completed, 3);
    const jobs = lines.map((l) => JSON.parse(l)).filter((j) => j.completed !== undefined);
    assert.deepEqual(jobs.map((j) => [j.job, j.size, j.completed]), [
      [1, 100_000, 100_000],
      [2, 100_000, 100_000],
      [3, 100_000, 100_000],
    ]);
    await session.close();
  } finally {
    await pu.close();
    await pe.stop();
  }
});

for (const how of ["killed", "stopped"] as const) {
  Deno.test(`CalcApp failover: the PE is ${how} mid-job; the job resumes from its cookie at another PE`, async () => {
    await using registrar = await startRegistrar("tcp");
    const service = createCalcApp({
      // 1.5 s of work, a cookie every 100 ms.
      server: { capacity: 200_000, cookieMaxTime: 100 },
      client: { jobSize: 300_000, keepAliveInterval: 200, keepAliveTimeout: 1000 },
    });
    const a = await startServicePe(registrar, service);
    const b = await startServicePe(registrar, service);
    const pu = startPu(registrar);
    try {
      await using session = await pu.connect("CalcAppPool");
      const failovers: boolean[] = [];
      session.onEvent((e) => e.type === "failover" && failovers.push(e.cookieEchoed));
      const first = session.poolElement!.identifier;
      const [victim, survivor] = first === a.pe.identifier ? [a, b] : [b, a];
      const job = runCalcAppJob(session, 1, {
        jobSize: 300_000,
        keepAliveInterval: 200,
        keepAliveTimeout: 1000,
      });
      // Fail once the PU holds a cookie of 100k done (of 300k): ~0.5 s into the job.
      const done = () =>
        session.cookie === undefined ? 0 : decodeCalcAppCookie(session.cookie)?.completed ?? 0;
      await waitFor(() => done() >= 100_000, "a cookie of 100k calculations done", 10_000);
      const cookieDone = done();
      assert.ok(cookieDone < 300_000, `${cookieDone}`);
      if (how === "killed") await victim.kill();
      else await victim.stop();
      const result = await job;
      assert.equal(result.outcome, "completed", JSON.stringify(result));
      assert.ok(result.outcome === "completed" && result.completed === 300_000);
      assert.deepEqual(failovers, [true]);
      assert.equal(session.poolElement?.identifier, survivor.pe.identifier);
      const resumed = survivor.lines.map((l) => JSON.parse(l)).find((l) => l.from === "cookie");
      assert.ok(resumed !== undefined, survivor.lines.join("\n"));
      assert.equal(resumed.job, 1);
      // At least what was done up to the last cookie before the failure.
      assert.ok(resumed.completed >= cookieDone, `resumed at ${resumed.completed} < ${cookieDone}`);
      assert.ok(!survivor.lines.some((l) => l.includes('"from":"request"')));
    } finally {
      await pu.close();
      await a.stop();
      await b.stop();
    }
  });
}
