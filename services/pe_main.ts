/**
 * The pool element program of the example services:
 * `deno task pe --service calc --pool CalcPool --registrar 127.0.0.1:3863`. `--help` lists the
 * options. It prints one JSON line when registered, then serves until SIGINT or SIGTERM, when
 * it deregisters.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { getLogger } from "@logtape/logtape";
import { PoolElement } from "../asap/pool_element.ts";
import { setUpLogging } from "../cli/logging.ts";
import { parseCount, parseDuration, parseLogLevel, UsageError, usageLine } from "../cli/options.ts";
import { parseMultiHomedAddress } from "../transport/open.ts";
import { isPolicyName, policyFields } from "../wire/parameters.ts";
import type { PolicySettings } from "../asap/policy_settings.ts";
import { createCalcApp } from "./calc_app.ts";
import {
  announceOf,
  COMMON_HELP,
  COMMON_OPTIONS,
  registrarsOf,
  serviceOf,
  udpPortsOf,
} from "./cli_common.ts";
import { createPingPong } from "./ping_pong.ts";
import type { ServeContext, Service } from "./service.ts";

const HELP = `Usage: pe --service NAME [options]

A pool element of an example service: registers into the pool and serves pool users.

Options:
${COMMON_HELP}
  --listen ADDR                where PUs connect, [sctp:|tcp:]HOST[,HOST...][:PORT]
                               (default tcp:127.0.0.1:0); several hosts make a multi-homed PE
                               that registers all of them, e.g. sctp:10.1.0.2,10.2.0.2:7000
  --policy NAME                pool policy (default round-robin): round-robin, weighted-round-robin,
                               random, weighted-random, priority, least-used, least-used-degradation,
                               priority-least-used, randomized-least-used, and RSPLIB's
  --weight N, --priority N     policy data
  --load F, --load-degradation F
                               policy data as fractions from 0 to 1
  --id ID                      PE identifier, decimal or 0x hex (default random)
  --cookie-secret TEXT         secret shared by the pool's PEs for state cookies
                               (default: environment RSERPOOL_COOKIE_SECRET)
  --registration-secret-file FILE
                               sign registrations with the pool's secret in FILE (for
                               registrars started with --pool-secret)
  --reregistration-interval TIME
                               (default 30s)
  --registration-life TIME     (default 3 x interval + 3s)

PingPong (RSPLIB's -ppp* options):
  --failure-after N            abort a session after N pongs, to test failover (default 0, never)

CalcApp (RSPLIB's -cap* options; with a least-used policy the PE registers its load, running
jobs / max jobs):
  --max-jobs N                 jobs run at the same time, more are rejected (default 10)
  --capacity N                 calculations per second, shared by the jobs (default 1000000)
  --keep-alive-interval TIME   from a job's start or last KEEPALIVE_ACK to the next KEEPALIVE
                               (default 2500ms)
  --keep-alive-timeout TIME    KEEPALIVE unanswered this long drops the job (default 2500ms)
  --cookie-max-time TIME       longest time between a job's cookies (default 5s)
  --cookie-max-calculations N  most calculations between a job's cookies (default 5000000)
`;

function fraction(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  const v = Number(text);
  if (!(v >= 0 && v <= 1)) throw new UsageError(`${flag}: expected a fraction from 0 to 1`);
  return v;
}

function listenOf(text: string) {
  try {
    return parseMultiHomedAddress(text, 0);
  } catch (e) {
    throw new UsageError(`--listen: ${(e as Error).message}`);
  }
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        ...COMMON_OPTIONS,
        "listen": { type: "string" },
        "policy": { type: "string" },
        "weight": { type: "string" },
        "priority": { type: "string" },
        "load": { type: "string" },
        "load-degradation": { type: "string" },
        "id": { type: "string" },
        "cookie-secret": { type: "string" },
        "registration-secret-file": { type: "string" },
        "reregistration-interval": { type: "string" },
        "registration-life": { type: "string" },
        "failure-after": { type: "string" },
        "max-jobs": { type: "string" },
        "capacity": { type: "string" },
        "keep-alive-interval": { type: "string" },
        "keep-alive-timeout": { type: "string" },
        "cookie-max-time": { type: "string" },
        "cookie-max-calculations": { type: "string" },
      },
    }).values;
    if (values.help) {
      console.log(HELP);
      return 0;
    }
  } catch (e) {
    console.error(usageLine("pe", e));
    return 2;
  }
  let start: Parameters<typeof PoolElement.start>[0];
  let service: Service;
  try {
    service = serviceOf(values.service);
    const count = (flag: string, text: string | undefined, min = 0) =>
      text === undefined ? undefined : parseCount(`--${flag}`, text, min);
    const duration = (flag: string, text: string | undefined) =>
      text === undefined ? undefined : parseDuration(`--${flag}`, text);
    if (service.name === "pingpong") {
      service = createPingPong({ failureAfter: count("failure-after", values["failure-after"]) });
    } else if (service.name === "calcapp") {
      service = createCalcApp({
        server: {
          maxJobs: count("max-jobs", values["max-jobs"], 1),
          capacity: count("capacity", values.capacity, 1),
          keepAliveInterval: duration("keep-alive-interval", values["keep-alive-interval"]),
          keepAliveTimeout: duration("keep-alive-timeout", values["keep-alive-timeout"]),
          cookieMaxTime: duration("cookie-max-time", values["cookie-max-time"]),
          cookieMaxCalculations: count(
            "cookie-max-calculations",
            values["cookie-max-calculations"],
            1,
          ),
        },
      });
    }
    const name = values.policy ?? "round-robin";
    if (!isPolicyName(name)) throw new UsageError(`--policy: unknown policy '${name}'`);
    const data: Record<string, number> = {
      weight: values.weight === undefined ? 1 : parseCount("--weight", values.weight),
      priority: values.priority === undefined ? 0 : parseCount("--priority", values.priority),
      load: fraction("--load", values.load),
      loadDegradation: fraction("--load-degradation", values["load-degradation"]),
      weightDpf: 0,
      loadDpf: 0,
      distance: 0,
    };
    const policy: Record<string, unknown> = { name };
    for (const f of policyFields(name)) policy[f] = data[f];
    const registrars = registrarsOf(values.registrar);
    const announce = announceOf(values.announce, values["announce-interface"]);
    if (registrars.length === 0 && announce === undefined) {
      throw new UsageError("give --registrar or --announce");
    }
    const interval = values["reregistration-interval"] === undefined
      ? undefined
      : parseDuration("--reregistration-interval", values["reregistration-interval"]);
    start = {
      poolHandle: values.pool ?? service.defaultPool,
      policy: policy as unknown as PolicySettings,
      registrars,
      announce,
      listen: listenOf(values.listen ?? "tcp:127.0.0.1:0"),
      identifier: values.id === undefined ? undefined : parseCount("--id", values.id, 1),
      cookieSecret: values["cookie-secret"] ?? Deno.env.get("RSERPOOL_COOKIE_SECRET"),
      registrationSecret: values["registration-secret-file"] === undefined
        ? undefined
        : Deno.readTextFileSync(values["registration-secret-file"]).trim(),
      reregistrationInterval: interval,
      registrationLife: values["registration-life"] === undefined
        ? undefined
        : parseDuration("--registration-life", values["registration-life"]),
      ...udpPortsOf(values["sctp-udp-port"], values["sctp-remote-udp-port"]),
    };
    await setUpLogging(parseLogLevel("--log-level", values["log-level"] ?? "warning"));
  } catch (e) {
    console.error(usageLine("pe", e));
    return 2;
  }
  const logger = getLogger(["rserpool", "services", "pe"]);
  const print = (line: string) => console.log(line);
  let pe: PoolElement | undefined;
  // One context for all sessions: services keep their per-PE state by it.
  const context: ServeContext = {
    get identifier(): number {
      return pe?.identifier ?? start.identifier ?? 0;
    },
    print,
    setLoad: (fraction) => {
      if (pe !== undefined && "load" in pe.policy) pe.setLoad(fraction);
    },
  };
  try {
    pe = await PoolElement.start({
      ...start,
      onSession: async (session) => {
        try {
          await service.serve(session, context);
        } catch (e) {
          logger.info("Session ended: {error}", { error: String(e) });
        }
      },
    });
  } catch (e) {
    console.error(`pe: could not register: ${(e as Error).message}`);
    return 1;
  }
  print(JSON.stringify({
    identifier: pe.identifier,
    pool: typeof start.poolHandle === "string" ? start.poolHandle : undefined,
    service: service.name,
    listen: pe.address,
    addresses: pe.addresses,
  }));
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await Promise.race([stopped.promise, pe.closed]);
  await service.stop?.(context);
  await pe.close();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
