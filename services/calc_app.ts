/**
 * The CalcApp service, RSPLIB's demonstration of cookie-based failover and load distribution:
 * a PU hands a PE jobs of some size in calculations; PEs have a capacity in calculations per
 * second and register their load (running jobs / max jobs). Messages are in
 * {@linkcode ./calc_app_messages.ts}; the PE side is {@linkcode CalcAppServer}.
 *
 * The PU side runs its jobs one after the other, each in a session of its own (as RSPLIB's
 * `calcappclient` does, so that a job never resumes from another job's cookie):
 * - REQUEST; ACCEPT starts the job, REJECT makes the PU try again on a new session a second
 *   later. COMPLETE ends it.
 * - KEEPALIVE `keepAliveInterval` after ACCEPT or the last KEEPALIVE_ACK; REQUEST and
 *   KEEPALIVE unanswered for `keepAliveTimeout` fail the PE over (reported unreachable).
 *   A KEEPALIVE of the PE is answered with KEEPALIVE_ACK.
 * - Failover: the session echoes the job's last cookie to the new PE, which resumes the job
 *   from it and answers ACCEPT; without a cookie the PU sends REQUEST again.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import { CalcAppServer, type CalcAppServerOptions } from "./calc_app_server.ts";
import {
  type CalcAppType,
  decodeCalcApp,
  encodeCalcApp,
  PPID_CALCAPP,
} from "./calc_app_messages.ts";
import {
  pause,
  type ServeContext,
  type Service,
  type UseOptions,
  type UseResult,
} from "./service.ts";

/**
 * Options of the PU side; times in ms. Defaults are RSPLIB's `calcappclient`'s.
 *
 * @example
 * ```ts
 * import type { CalcAppClientOptions } from "./calc_app.ts";
 * const options: CalcAppClientOptions = { jobSize: 1_000_000, keepAliveInterval: 1000 };
 * ```
 */
export interface CalcAppClientOptions {
  /** Size of each job in calculations (default 5,000,000). */
  jobSize?: number;
  /** Time from ACCEPT or the last KEEPALIVE_ACK to the next KEEPALIVE (default 5000). */
  keepAliveInterval?: number;
  /** Time REQUEST and KEEPALIVE wait for an answer before the PE is failed over (default 5000). */
  keepAliveTimeout?: number;
  /** Pause after a REJECT before the job is asked for again (default 1000). */
  rejectDelay?: number;
  /** REJECTs of one job before the PU gives up (default 30). */
  maxRejects?: number;
}

/**
 * Options of {@linkcode createCalcApp}.
 *
 * @example
 * ```ts
 * import type { CalcAppOptions } from "./calc_app.ts";
 * const options: CalcAppOptions = { server: { maxJobs: 2 }, client: { jobSize: 100_000 } };
 * ```
 */
export interface CalcAppOptions {
  /** PE side. */
  server?: Omit<CalcAppServerOptions, "setLoad" | "print">;
  /** PU side. */
  client?: CalcAppClientOptions;
}

/**
 * How one CalcApp job ended at the PU.
 *
 * @example
 * ```ts
 * import type { CalcAppJobResult } from "./calc_app.ts";
 * const r: CalcAppJobResult = { outcome: "completed", jobSize: 10, completed: 10 };
 * ```
 */
export type CalcAppJobResult =
  | { outcome: "completed"; jobSize: number; completed: number }
  | { outcome: "rejected" }
  | { outcome: "failed"; detail: string };

interface Reader {
  handle: ((data: Uint8Array) => void) | undefined;
}

const readers = new WeakMap<PoolUserSession, Reader>();

/** The one reader of a session's messages, which hands them to the job running on it. */
function readerOf(session: PoolUserSession): Reader {
  let reader = readers.get(session);
  if (reader === undefined) {
    const r: Reader = { handle: undefined };
    readers.set(session, r);
    void (async () => {
      for await (const m of session) r.handle?.(m.data);
    })();
    reader = r;
  }
  return reader;
}

/**
 * Runs one job on a session (PU side): REQUEST until COMPLETE, with keep-alives and failover.
 * The session should be new: it must not hold another job's cookie.
 *
 * @example
 * ```ts ignore
 * import { runCalcAppJob } from "./calc_app.ts";
 * import { PoolUser } from "../asap/pool_user.ts";
 * await using pu = new PoolUser({
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 * });
 * await using session = await pu.connect("CalcAppPool");
 * const result = await runCalcAppJob(session, 1, { jobSize: 1_000_000 });
 * ```
 */
export function runCalcAppJob(
  session: PoolUserSession,
  jobId: number,
  options: CalcAppClientOptions = {},
): Promise<CalcAppJobResult> {
  const jobSize = options.jobSize ?? 5_000_000;
  const keepAliveInterval = options.keepAliveInterval ?? 5000;
  const keepAliveTimeout = options.keepAliveTimeout ?? 5000;
  const { promise, resolve } = Promise.withResolvers<CalcAppJobResult>();
  let done = false;
  let outstanding = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const encode = (type: CalcAppType) =>
    encodeCalcApp({ type, jobId, jobSize: type === "request" ? jobSize : 0, completed: 0 });
  const finish = (result: CalcAppJobResult) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    off();
    const reader = readerOf(session);
    if (reader.handle === handle) reader.handle = undefined;
    resolve(result);
  };
  const send = (type: CalcAppType) => {
    session.send(encode(type), { ppid: PPID_CALCAPP }).catch((e) => {
      finish({ outcome: "failed", detail: `Could not send ${type}: ${(e as Error).message}` });
    });
  };
  // A message that needs an answer goes as a request, so that its timeout fails the PE over;
  // any message of the PE answers it. With one waiting already, it goes untracked.
  const ask = (type: CalcAppType) => {
    if (done) return;
    if (outstanding) return send(type);
    outstanding = true;
    session.request(encode(type), { ppid: PPID_CALCAPP, timeout: keepAliveTimeout }).then(
      (data) => {
        outstanding = false;
        handle(data);
      },
      (e) => {
        outstanding = false;
        finish({ outcome: "failed", detail: (e as Error).message });
      },
    );
  };
  const keepAliveLater = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ask("keepalive"), keepAliveInterval);
  };
  const handle = (data: Uint8Array) => {
    if (done) return;
    const m = decodeCalcApp(data);
    if (m === undefined) return;
    if (m.jobId !== jobId) {
      finish({ outcome: "failed", detail: `CalcApp ${m.type} for job ${m.jobId}, not ${jobId}` });
      return;
    }
    switch (m.type) {
      case "accept":
      case "keepalive-ack":
        keepAliveLater();
        break;
      case "reject":
        finish({ outcome: "rejected" });
        break;
      case "keepalive":
        send("keepalive-ack");
        break;
      case "complete":
        finish({ outcome: "completed", jobSize: m.jobSize, completed: m.completed });
        break;
      default:
        break;
    }
  };
  const off = session.onEvent((e) => {
    if (e.type === "failover" && !e.cookieEchoed) {
      // No cookie: the new PE knows nothing of the job; ask again. With a cookie, the PE
      // answers the COOKIE_ECHO with ACCEPT.
      clearTimeout(timer);
      ask("request");
    } else if (e.type === "closed") {
      finish({ outcome: "failed", detail: e.error?.message ?? "Session closed" });
    }
  });
  readerOf(session).handle = handle;
  ask("request");
  return promise;
}

/**
 * Makes a CalcApp service with options for its PE and PU sides.
 *
 * @example
 * ```ts
 * import { createCalcApp } from "./calc_app.ts";
 * createCalcApp({ server: { capacity: 100_000 } }).defaultPool; // "CalcAppPool"
 * ```
 */
export function createCalcApp(options: CalcAppOptions = {}): Service {
  const servers = new WeakMap<ServeContext, CalcAppServer>();
  const serverOf = (context: ServeContext): CalcAppServer => {
    let server = servers.get(context);
    if (server === undefined) {
      server = new CalcAppServer({
        ...options.server,
        setLoad: context.setLoad,
        print: context.print,
      });
      servers.set(context, server);
    }
    return server;
  };
  const client = options.client ?? {};
  return {
    name: "calcapp",
    description: "RSPLIB's CalcApp (PPID 34): jobs shared by PE capacity, cookies, keep-alives",
    defaultPool: "CalcAppPool",

    serve(session: PoolElementSession, context: ServeContext): Promise<void> {
      return serverOf(context).serve(session);
    },

    async stop(context: ServeContext): Promise<void> {
      await servers.get(context)?.stop();
    },

    async use(first: PoolUserSession, o: UseOptions): Promise<UseResult> {
      let session = first;
      let completed = 0;
      let failovers = 0;
      const fresh = async (): Promise<PoolUserSession> => {
        if (o.openSession === undefined) return session;
        failovers += session.failovers;
        await session.close();
        const s = await o.openSession();
        s.onEvent((e) => {
          if (e.type === "failover") {
            o.print(JSON.stringify({
              failover: { from: e.from?.identifier, to: e.to.identifier, reason: e.reason },
              cookieEchoed: e.cookieEchoed,
            }));
          }
        });
        return s;
      };
      try {
        for (let jobId = 1; jobId <= o.count; jobId++) {
          if (jobId > 1) session = await fresh();
          const started = performance.now();
          let rejects = 0;
          for (;;) {
            const result = await runCalcAppJob(session, jobId, client);
            if (result.outcome === "completed") {
              completed++;
              o.print(JSON.stringify({
                job: jobId,
                size: result.jobSize,
                completed: result.completed,
                pe: session.poolElement?.identifier,
                failovers: session.failovers,
                s: Number(((performance.now() - started) / 1000).toFixed(3)),
              }));
              break;
            }
            if (result.outcome === "failed") {
              return { ok: false, completed, detail: `job ${jobId}: ${result.detail}` };
            }
            if (++rejects >= (client.maxRejects ?? 30)) {
              return { ok: false, completed, detail: `job ${jobId} rejected ${rejects} times` };
            }
            o.print(JSON.stringify({ job: jobId, rejected: session.poolElement?.identifier }));
            await pause(client.rejectDelay ?? 1000);
            session = await fresh();
          }
          await pause(o.interval);
        }
      } finally {
        failovers += session.failovers;
        if (session !== first) await session.close();
      }
      return { ok: true, completed, detail: `${completed} jobs completed, ${failovers} failovers` };
    },
  };
}

/**
 * The CalcApp service with RSPLIB's defaults.
 *
 * @example
 * ```ts
 * import { calcApp } from "./calc_app.ts";
 * calcApp.name; // "calcapp"
 * ```
 */
export const calcApp: Service = createCalcApp();
