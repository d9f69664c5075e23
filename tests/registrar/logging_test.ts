// Logging cannot grow a registrar's memory: with every registration logged (debug) and
// standard error a pipe that nobody reads, registration churn leaves the registrar's memory
// flat (lines are dropped and counted instead of queued) and the registrar answering.

import assert from "node:assert/strict";
import { AsapClient, pe, text } from "../support/asap_client.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The test reads /proc: ignored elsewhere, and says so. */
function ignoredOffLinux(): boolean {
  if (Deno.build.os === "linux") return false;
  console.error("logging memory test ignored: it reads /proc, which only Linux has");
  return true;
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

Deno.test({
  name:
    "logging: registration churn at debug level into an unread pipe keeps the registrar's memory flat",
  ignore: ignoredOffLinux(),
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        `${ROOT}deno.json`,
        `${ROOT}registrar/main.ts`,
        "--asap",
        "tcp:127.0.0.1:0",
        "--announce",
        "off",
        "--enrp",
        "off",
        "--log-level",
        "debug",
        "--registration-rate",
        "1000000/1000000",
      ],
      stdout: "piped",
      stderr: "piped", // never read: the pipe fills and stays full
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let first = "";
    // A registrar that never prints its first line is killed: the read ends, the test fails.
    const readyTimer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    while (!first.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      first += value;
    }
    clearTimeout(readyTimer);
    assert.ok(first.includes("\n"), `the registrar printed no first line in 30 s: ${first}`);
    const ready = JSON.parse(first.split("\n")[0]) as { asap: { port: number }[] };
    const client = await AsapClient.open({
      protocol: "tcp",
      hostname: "127.0.0.1",
      port: ready.asap[0].port,
    });
    try {
      const churn = async (ms: number) => {
        const end = Date.now() + ms;
        let id = 0;
        while (Date.now() < end) {
          id++;
          await client.request({
            type: "registration",
            poolHandle: text("Churn"),
            poolElement: pe(id),
          });
          await client.request({
            type: "deregistration",
            poolHandle: text("Churn"),
            identifier: id,
          });
        }
        return id;
      };
      // The pipe fills and the heap settles; then memory must stay flat, where lines held
      // for the pipe would keep adding up (about 1 KB per registration and deregistration).
      // The heap grows to its working size over the first tens of thousands of registrations,
      // later on a loaded machine: churn (at least 2 s, at most 20 s) until the RSS has grown
      // by less than 1 MB in each of two seconds.
      await churn(2000);
      const warmUpEnd = Date.now() + 18_000;
      let settled = 0;
      let last = rssMb(child.pid);
      while (settled < 2 && Date.now() < warmUpEnd) {
        await churn(1000);
        const now = rssMb(child.pid);
        settled = now - last < 1 ? settled + 1 : 0;
        last = now;
      }
      const before = rssMb(child.pid);
      let count = 0;
      let peak = before;
      for (let i = 0; i < 4; i++) {
        count += await churn(1000);
        peak = Math.max(peak, rssMb(child.pid));
      }
      assert.ok(count > 2000, `churned ${count} registrations`);
      assert.ok(
        peak - before < 32,
        `RSS grew from ${before.toFixed(1)} to ${peak.toFixed(1)} MB over ${count} registrations`,
      );
      // Still answering.
      const r = await client.request({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: text("Churn"),
      });
      assert.equal(r.type, "handle-resolution-response");
    } finally {
      await client.abort();
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
    }
  },
});
