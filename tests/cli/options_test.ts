import assert from "node:assert/strict";
import {
  parseCount,
  parseDuration,
  parseLogLevel,
  parseRate,
  UsageError,
} from "../../cli/options.ts";
import { parseRegistrarArgs } from "../../registrar/main.ts";
import { formatEndpointAddress, parseEndpointAddress } from "../../transport/open.ts";

Deno.test("durations, counts, rates and log levels parse or fail with the flag named", () => {
  assert.equal(parseDuration("--t", "250"), 250);
  assert.equal(parseDuration("--t", "250ms"), 250);
  assert.equal(parseDuration("--t", "1.5s"), 1500);
  assert.equal(parseDuration("--t", "2m"), 120_000);
  assert.throws(
    () => parseDuration("--t", "soon"),
    (e) => e instanceof UsageError && /--t/.test(e.message),
  );
  assert.equal(parseCount("--n", "0x10"), 16);
  assert.throws(() => parseCount("--n", "-1"), UsageError);
  assert.throws(() => parseCount("--n", "3", 5), UsageError);
  assert.deepEqual(parseRate("--r", "100"), { rate: 100, burst: 200 });
  assert.deepEqual(parseRate("--r", "100/5"), { rate: 100, burst: 5 });
  assert.throws(() => parseRate("--r", "0/5"), UsageError);
  assert.equal(parseLogLevel("--l", "WARN"), "warning");
  assert.throws(() => parseLogLevel("--l", "loud"), UsageError);
});

Deno.test("endpoint addresses parse with protocol, IPv6 brackets and default port", () => {
  assert.deepEqual(parseEndpointAddress("127.0.0.1", 3863), {
    protocol: "sctp",
    hostname: "127.0.0.1",
    port: 3863,
  });
  assert.deepEqual(parseEndpointAddress("tcp:[::1]:9", 3863), {
    protocol: "tcp",
    hostname: "::1",
    port: 9,
  });
  assert.deepEqual(parseEndpointAddress("localhost:7", 3863).hostname, "127.0.0.1");
  assert.equal(parseEndpointAddress("::1", 3863).hostname, "::1");
  assert.throws(() => parseEndpointAddress("tcp:example.org:1", 1));
  assert.throws(() => parseEndpointAddress("127.0.0.1:70000", 1));
  assert.equal(
    formatEndpointAddress({ protocol: "sctp", hostname: "::1", port: 3863 }),
    "sctp:[::1]:3863",
  );
});

Deno.test("the registrar command line maps to registrar options", () => {
  const parsed = parseRegistrarArgs([
    "--asap",
    "tcp:127.0.0.1:4000",
    "--asap",
    "127.0.0.1",
    "--server-id",
    "0x1234",
    "--announce",
    "239.1.2.3:4567",
    "--announce-interface",
    "127.0.0.1",
    "--keep-alive-interval",
    "2s",
    "--max-bad-pe-reports",
    "5",
    "--handle-resolution-rate",
    "50/10",
    "--log-level",
    "debug",
  ]);
  assert.notEqual(parsed, "help");
  if (parsed === "help") return;
  assert.deepEqual(parsed.options.asap, [
    { protocol: "tcp", hostname: "127.0.0.1", port: 4000 },
    { protocol: "sctp", hostname: "127.0.0.1", port: 3863 },
  ]);
  assert.equal(parsed.options.serverId, 0x1234);
  assert.deepEqual(parsed.options.announce, {
    group: "239.1.2.3",
    port: 4567,
    interfaceAddress: "127.0.0.1",
  });
  assert.equal(parsed.options.keepAliveInterval, 2000);
  assert.equal(parsed.options.maxBadPeReports, 5);
  assert.deepEqual(parsed.options.handleResolutionRate, { rate: 50, burst: 10 });
  assert.equal(parsed.logLevel, "debug");
  const off = parseRegistrarArgs(["--announce", "off"]);
  assert.ok(off !== "help" && off.options.announce === false);
  // ENRP: on by default at port 9901 of the first ASAP host; peers default to port 9901.
  const enrp = parseRegistrarArgs([
    "--asap",
    "sctp:10.1.2.3:3863",
    "--peer",
    "10.1.2.4",
    "--peer",
    "tcp:10.1.2.5:9911",
    "--max-time-last-heard",
    "2s",
    "--enrp-announce",
    "off",
  ]);
  assert.ok(enrp !== "help");
  assert.deepEqual(enrp.options.enrp, [{ protocol: "sctp", hostname: "10.1.2.3", port: 9901 }]);
  assert.deepEqual(enrp.options.peers, [
    { protocol: "sctp", hostname: "10.1.2.4", port: 9901 },
    { protocol: "tcp", hostname: "10.1.2.5", port: 9911 },
  ]);
  assert.equal(enrp.options.enrpTuning?.maxTimeLastHeard, 2000);
  assert.equal(enrp.options.enrpAnnounce, false);
  const alone = parseRegistrarArgs(["--enrp", "off"]);
  assert.ok(alone !== "help" && alone.options.enrp === undefined);
  assert.throws(() => parseRegistrarArgs(["--enrp", "off", "--peer", "10.0.0.1"]), UsageError);
  assert.equal(parseRegistrarArgs(["-h"]), "help");
  assert.throws(() => parseRegistrarArgs(["--nonsense"]));
  assert.throws(() => parseRegistrarArgs(["--keep-alive-timeout", "later"]), UsageError);
});

Deno.test("the registrar program answers --help and refuses bad flags with exit code 2", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../registrar/main.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000), // killed (and the test fails) rather than a hang
    }).output();
    return {
      code: out.code,
      text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  };
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.text, /--keep-alive-interval/);
  const bad = await run(["--max-pes", "many"]);
  assert.equal(bad.code, 2);
  assert.match(bad.text, /--max-pes/);
  assert.equal(bad.text.trim().split("\n").length, 1, bad.text);
  assert.match(bad.text, /see registrar --help/);
});

Deno.test("registrar --local: loopback defaults that --asap, --announce-interface and --http replace", () => {
  const local = parseRegistrarArgs(["--local"]);
  assert.ok(local !== "help");
  assert.equal(local.options.asap?.length, 2);
  assert.deepEqual(local.http, { hostname: "127.0.0.1", port: 8080 });
  const other = parseRegistrarArgs(["--local", "--asap", "tcp:127.0.0.1:3870", "--http", "off"]);
  assert.ok(other !== "help");
  assert.equal(other.options.asap?.length, 1);
  assert.equal(other.http, undefined);
  const announce = other.options.announce;
  assert.ok(announce !== false && announce?.interfaceAddress === "127.0.0.1");
});
