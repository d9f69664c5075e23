/**
 * The pool user of the multi-homing scenario (`multihoming_test.ts`), run inside a network
 * namespace. Prints JSON lines.
 *
 * - `resolve REGISTRAR POOL`: one line with the pool's PEs (`id` and `addresses`), then exits.
 * - `run REGISTRAR POOL`: a Calc session that keeps `WINDOW` requests in flight (one new every
 *   `--interval` ms), checks every answer against its own model (a step lost, repeated or
 *   answered out of order shows as an error), and prints its events (`connected`,
 *   `pathChanged`, `failover`, `cookie`) and its progress every 20 answers. On SIGTERM it stops
 *   sending, waits for what is in flight and prints a summary with `done: true`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PoolUser } from "../../asap/pool_user.ts";
import { parseEndpointAddress } from "../../transport/open.ts";
import { applyCalc, calcStep } from "../../services/calc.ts";
import { setUpLogging } from "../../cli/logging.ts";

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    window: { type: "string", default: "4" },
    interval: { type: "string", default: "5" },
    "request-timeout": { type: "string", default: "5000" },
  },
});
const [mode, registrar, pool] = positionals;
// SCENARIO_VERBOSE=1 shows the session's path switches and failovers on standard error.
if (Deno.env.get("SCENARIO_VERBOSE")) await setUpLogging("debug");
const print = (value: unknown) => console.log(JSON.stringify(value));
const pu = new PoolUser({
  registrars: [parseEndpointAddress(registrar, 3863)],
  requestTimeout: Number(values["request-timeout"]),
  cacheLifetime: 1000,
});

if (mode === "resolve") {
  const pes = await pu.resolve(pool);
  print(pes.map((p) => ({ id: p.identifier, addresses: p.userTransport.addresses })));
  await pu.close();
  Deno.exit(0);
}

const session = await pu.connect(pool);
print({ connected: session.poolElement?.identifier, path: session.path?.hostname });
session.onEvent((e) => {
  if (e.type === "path-changed") {
    print({
      pathChanged: { pe: e.poolElement.identifier, from: e.from?.hostname, to: e.to.hostname },
    });
  } else if (e.type === "failover") {
    print({
      failover: { from: e.from?.identifier, to: e.to.identifier, reason: e.reason },
      resent: e.resent,
      cookieEchoed: e.cookieEchoed,
    });
  }
});

const windowSize = Number(values.window);
const interval = Number(values.interval);
let stop = false;
let sent = 0;
let answered = 0;
let errors = 0;
let lost = 0;
const detail: string[] = [];
const expected: number[] = [0];
const answeredBy = new Map<number, number>();
const stopped = Promise.withResolvers<void>();
Deno.addSignalListener("SIGTERM", () => {
  stop = true;
  stopped.resolve();
});

const inFlight = new Set<Promise<void>>();
const decoder = new TextDecoder();
while (!stop) {
  if (inFlight.size >= windowSize) {
    await Promise.race([...inFlight, stopped.promise]);
    continue;
  }
  const seq = ++sent;
  const { op, arg } = calcStep(seq);
  expected[seq] = applyCalc(expected[seq - 1], op, arg);
  const p = session.request(new TextEncoder().encode(`${seq} ${op} ${arg}`)).then(
    (reply) => {
      const [s, v] = decoder.decode(reply).split(" ");
      if (Number(s) !== seq || Number(v) !== expected[seq]) {
        errors++;
        if (detail.length < 5) detail.push(`step ${seq}: got '${decoder.decode(reply)}'`);
      }
      answered++;
      const pe = session.poolElement?.identifier ?? 0;
      answeredBy.set(pe, (answeredBy.get(pe) ?? 0) + 1);
      if (answered % 20 === 0) {
        print({ answered, pe, path: session.path?.hostname });
      }
    },
    (e) => {
      lost++;
      if (detail.length < 5) detail.push(`step ${seq}: ${(e as Error).message}`);
    },
  ).finally(() => inFlight.delete(p));
  inFlight.add(p);
  if (interval > 0) await new Promise((r) => setTimeout(r, interval));
}
await Promise.allSettled([...inFlight]);
print({
  done: true,
  sent,
  answered,
  errors,
  lost,
  detail,
  failovers: session.failovers,
  pathSwitches: session.pathSwitches,
  stats: pu.stats,
  answeredBy: Object.fromEntries(answeredBy),
});
await pu.close();
Deno.exit(0);
