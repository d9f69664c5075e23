/**
 * The pool user program of the example services:
 * `deno task pu --service calc --pool CalcPool --registrar 127.0.0.1:3863`. `--help` lists the
 * options. It prints one JSON line per step and failover, and a last JSON line with the outcome;
 * it exits 0 when every answer was right.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PoolUser } from "../asap/pool_user.ts";
import { setUpLogging } from "../cli/logging.ts";
import { parseCount, parseDuration, parseLogLevel, UsageError, usageLine } from "../cli/options.ts";
import { ipAddressFamily } from "../wire/address.ts";
import { createCalcApp } from "./calc_app.ts";
import {
  announceOf,
  COMMON_HELP,
  COMMON_OPTIONS,
  registrarsOf,
  serviceOf,
  udpPortsOf,
} from "./cli_common.ts";
import type { Service } from "./service.ts";

const HELP = `Usage: pu --service NAME [options]

A pool user of an example service: resolves the pool, uses one of its PEs and fails over to
another when that one fails.

Options:
${COMMON_HELP}
  --count N                    requests, messages, lines or jobs (default 10)
  --interval TIME              pause between them (default 0)
  --size N                     message size for echo and discard (default 64)
  --request-timeout TIME       a request not answered in time fails the PE over (default 5s)
  --local-addresses ADDRS      this host's addresses for SCTP associations to multi-homed PEs,
                               comma-separated (default: the interfaces' addresses in the PE's
                               scope)

CalcApp (RSPLIB's calcappclient options):
  --job-size N                 calculations per job (default 5000000)
  --keep-alive-interval TIME   from ACCEPT or the last KEEPALIVE_ACK to the next KEEPALIVE
                               (default 5s)
  --keep-alive-timeout TIME    REQUEST or KEEPALIVE unanswered this long fails the PE over
                               (default 5s)
`;

async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        ...COMMON_OPTIONS,
        "count": { type: "string" },
        "interval": { type: "string" },
        "size": { type: "string" },
        "request-timeout": { type: "string" },
        "local-addresses": { type: "string" },
        "job-size": { type: "string" },
        "keep-alive-interval": { type: "string" },
        "keep-alive-timeout": { type: "string" },
      },
    }).values;
    if (values.help) {
      console.log(HELP);
      return 0;
    }
  } catch (e) {
    console.error(usageLine("pu", e));
    return 2;
  }
  let pu: PoolUser;
  let service: Service;
  let count: number;
  let interval: number;
  let size: number;
  try {
    service = serviceOf(values.service);
    if (service.name === "calcapp") {
      const duration = (flag: string, text: string | undefined) =>
        text === undefined ? undefined : parseDuration(`--${flag}`, text);
      service = createCalcApp({
        client: {
          jobSize: values["job-size"] === undefined
            ? undefined
            : parseCount("--job-size", values["job-size"], 1, Number.MAX_SAFE_INTEGER),
          keepAliveInterval: duration("keep-alive-interval", values["keep-alive-interval"]),
          keepAliveTimeout: duration("keep-alive-timeout", values["keep-alive-timeout"]),
        },
      });
    }
    const registrars = registrarsOf(values.registrar);
    const announce = announceOf(values.announce, values["announce-interface"]);
    if (registrars.length === 0 && announce === undefined) {
      throw new UsageError("give --registrar or --announce");
    }
    count = values.count === undefined ? 10 : parseCount("--count", values.count);
    interval = values.interval === undefined ? 0 : parseDuration("--interval", values.interval);
    size = values.size === undefined ? 64 : parseCount("--size", values.size, 1, 1 << 20);
    const requestTimeout = values["request-timeout"] === undefined
      ? 5000
      : parseDuration("--request-timeout", values["request-timeout"]);
    await setUpLogging(parseLogLevel("--log-level", values["log-level"] ?? "warning"));
    const localAddresses = values["local-addresses"]?.split(",").map((a) => a.trim());
    if (localAddresses?.some((a) => ipAddressFamily(a) === undefined)) {
      throw new UsageError("--local-addresses: expected IP addresses separated by commas");
    }
    pu = new PoolUser({
      registrars,
      announce,
      requestTimeout,
      localAddresses,
      ...udpPortsOf(values["sctp-udp-port"], values["sctp-remote-udp-port"]),
    });
  } catch (e) {
    console.error(usageLine("pu", e));
    return 2;
  }
  const print = (line: string) => console.log(line);
  const pool = values.pool ?? service.defaultPool;
  try {
    await using session = await pu.connect(pool);
    print(JSON.stringify({ connected: session.poolElement?.identifier, pool }));
    session.onEvent((e) => {
      if (e.type === "failover") {
        print(JSON.stringify({
          failover: { from: e.from?.identifier, to: e.to.identifier, reason: e.reason },
          resent: e.resent,
          cookieEchoed: e.cookieEchoed,
        }));
      } else if (e.type === "path-changed") {
        print(JSON.stringify({
          pathChanged: { pe: e.poolElement.identifier, from: e.from?.hostname, to: e.to.hostname },
        }));
      }
    });
    const result = await service.use(session, {
      count,
      interval,
      size,
      print,
      openSession: () => pu.connect(pool),
    });
    print(JSON.stringify({
      ...result,
      failovers: session.failovers,
      pathSwitches: session.pathSwitches,
    }));
    return result.ok ? 0 : 1;
  } catch (e) {
    print(JSON.stringify({ ok: false, completed: 0, detail: (e as Error).message }));
    return 1;
  } finally {
    await pu.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
