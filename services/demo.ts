/**
 * `deno task demo`: a registrar, three Calc pool elements and a pool user, each its own
 * process on loopback. Mid-computation the demo kills (SIGKILL) the PE the PU is using; the PU
 * fails over to another PE, echoes its last state cookie, and the computation goes on from where
 * it was. At the end the PU checks every value against its own computation.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Child } from "../cli/child.ts";
import { parseCount, parseDuration, UsageError, usageLine } from "../cli/options.ts";

const HELP = `Usage: demo [options]

A registrar, three Calc pool elements and a pool user, each its own process on loopback; the
PE the PU uses is killed mid-computation and the session fails over with its state cookie.

Options:
  --steps N          calculation steps of the PU (default 40)
  --kill-at N        step at which the PU's PE is killed (default 15)
  --interval TIME    pause between steps (default 100ms)
  --protocol P       tcp or sctp (SCTP over UDP) (default tcp)
  -h, --help         this text
`;

function parseDemoArgs(
  args: string[],
): { steps: number; killAt: number; interval: string; protocol: string } {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      "steps": { type: "string", default: "40" },
      "kill-at": { type: "string", default: "15" },
      "interval": { type: "string", default: "100ms" },
      "protocol": { type: "string", default: "tcp" },
      "help": { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const steps = parseCount("--steps", values.steps, 1);
  const killAt = parseCount("--kill-at", values["kill-at"], 1);
  parseDuration("--interval", values.interval);
  if (values.protocol !== "tcp" && values.protocol !== "sctp") {
    throw new UsageError(`--protocol: expected tcp or sctp, got '${values.protocol}'`);
  }
  return { steps, killAt, interval: values.interval, protocol: values.protocol };
}

let parsed: { steps: number; killAt: number; interval: string; protocol: string };
try {
  parsed = parseDemoArgs(Deno.args);
} catch (e) {
  console.error(usageLine("demo", e));
  Deno.exit(2);
}
const { steps, killAt, interval } = parsed;
const protocol = parsed.protocol === "sctp" ? "sctp" : "tcp";

const say = (line: string) => console.log(line);
const children: Child[] = [];

async function main(): Promise<number> {
  say("Starting a registrar on 127.0.0.1 (SCTP/UDP and TCP, no multicast) ...");
  const registrar = Child.spawn("registrar", "registrar/main.ts", [
    "--asap",
    "sctp:127.0.0.1:0",
    "--asap",
    "tcp:127.0.0.1:0",
    "--announce",
    "off",
    "--enrp",
    "off",
    "--keep-alive-interval",
    "1s",
    "--keep-alive-timeout",
    "1s",
    "--log-level",
    "warning",
  ]);
  children.push(registrar);
  const ready = JSON.parse(await registrar.line()) as {
    serverId: number;
    asap: { protocol: string; hostname: string; port: number }[];
  };
  const asap = ready.asap.find((a) => a.protocol === protocol)!;
  const registrarArg = `${asap.protocol}:${asap.hostname}:${asap.port}`;
  say(`  registrar ${ready.serverId.toString(16)} at ${registrarArg}`);

  const pes = new Map<number, Child>();
  for (let i = 1; i <= 3; i++) {
    const pe = Child.spawn(`pe${i}`, "services/pe_main.ts", [
      "--service",
      "calc",
      "--registrar",
      registrarArg,
      "--listen",
      `${protocol}:127.0.0.1:0`,
      "--cookie-secret",
      "calc demo secret",
    ]);
    children.push(pe);
    const info = JSON.parse(await pe.line()) as { identifier: number; listen: { port: number } };
    pes.set(info.identifier, pe);
    say(`Calc PE ${i}: id ${info.identifier.toString(16)}, ${protocol} port ${info.listen.port}`);
  }

  say(`\nA PU runs ${steps} Calc steps; the demo kills the PE it uses after step ${killAt}.\n`);
  const pu = Child.spawn("pu", "services/pu_main.ts", [
    "--service",
    "calc",
    "--registrar",
    registrarArg,
    "--count",
    String(steps),
    "--interval",
    interval,
    "--request-timeout",
    "2s",
  ]);
  children.push(pu);
  let killedAt = 0;
  for (;;) {
    const event = JSON.parse(await pu.line(60_000)) as Record<string, unknown>;
    if (event.connected !== undefined) {
      say(`PU connected to PE ${(event.connected as number).toString(16)}`);
    } else if (event.step !== undefined) {
      const pe = (event.pe as number).toString(16);
      say(`  step ${event.step}: ${event.op} ${event.arg} -> ${event.value}   (PE ${pe})`);
      if (event.step === killAt) {
        const victim = pes.get(event.pe as number);
        say(`\n*** killing PE ${pe} with SIGKILL ***\n`);
        killedAt = performance.now();
        await victim?.stop("SIGKILL");
      }
    } else if (event.failover !== undefined) {
      const f = event.failover as { from: number; to: number; reason: string };
      const ms = killedAt > 0
        ? ` ${Math.round(performance.now() - killedAt)} ms after the kill`
        : "";
      say(
        `PU failed over from PE ${f.from?.toString(16)} to PE ${f.to.toString(16)}${ms} ` +
          `(${f.reason}); cookie echoed: ${event.cookieEchoed}, requests re-sent: ${event.resent}`,
      );
    } else if (event.ok !== undefined) {
      say(`\nPU finished: ${event.detail}; failovers: ${event.failovers}`);
      say(
        event.ok
          ? "Every value matched the PU's own computation: the session survived the failure."
          : "A value did not match.",
      );
      return event.ok ? 0 : 1;
    }
  }
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`demo failed: ${(e as Error).message}`);
} finally {
  for (const c of children.reverse()) await c.stop();
}
Deno.exit(code);
