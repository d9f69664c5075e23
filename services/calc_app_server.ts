/**
 * The PE side of RSPLIB's CalcApp service: a server with a capacity in calculations per second,
 * shared equally by the jobs it runs (at most `maxJobs`), which keeps each PU alive with
 * keep-alives, hands it cookies with the job's progress, and reports its load (jobs / maxJobs)
 * to the registrar.
 *
 * Per job, as RSPLIB's `rspserver -calcapp`:
 * - REQUEST (or a COOKIE_ECHO with a job's cookie, which resumes the job where the cookie says)
 *   is answered with ACCEPT when fewer than `maxJobs` jobs run, else with REJECT.
 * - The job completes when its size is reached at its share of the capacity; the PE sends
 *   COMPLETE with the job size and the calculations done, and forgets the job.
 * - A cookie goes out when `cookieMaxCalculations` were done or `cookieMaxTime` passed since
 *   the last one, whichever comes first.
 * - KEEPALIVE is sent `keepAliveInterval` after the job started or after the last
 *   KEEPALIVE_ACK; without an answer within `keepAliveTimeout` the job is dropped. A KEEPALIVE
 *   from the PU is answered with KEEPALIVE_ACK; one for an unknown job is ignored.
 * - On {@linkcode CalcAppServer.stop} every PU gets a last cookie (RSPLIB's clean shutdown),
 *   so that it resumes its job on another PE.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import {
  type CalcAppType,
  decodeCalcApp,
  decodeCalcAppCookie,
  encodeCalcApp,
  encodeCalcAppCookie,
  PPID_CALCAPP,
} from "./calc_app_messages.ts";
import { rawSessionEvents, sendRawCookie } from "./service.ts";

/**
 * Options of a {@linkcode CalcAppServer}; times in ms. Defaults are RSPLIB's.
 *
 * @example
 * ```ts
 * import type { CalcAppServerOptions } from "./calc_app_server.ts";
 * const options: CalcAppServerOptions = { maxJobs: 4, capacity: 2_000_000 };
 * ```
 */
export interface CalcAppServerOptions {
  /** Jobs run at the same time (default 10). */
  maxJobs?: number;
  /** Calculations per second, shared by the running jobs (default 1,000,000). */
  capacity?: number;
  /** Time from a job's start or its last KEEPALIVE_ACK to the next KEEPALIVE (default 2500). */
  keepAliveInterval?: number;
  /** Time a KEEPALIVE waits for its ACK before the job is dropped (default 2500). */
  keepAliveTimeout?: number;
  /** Longest time between two cookies of a job (default 5000). */
  cookieMaxTime?: number;
  /** Most calculations between two cookies of a job (default 5,000,000). */
  cookieMaxCalculations?: number;
  /** Whether {@linkcode CalcAppServer.stop} sends every PU a last cookie (default true). */
  cookiesOnStop?: boolean;
  /** Called with the load (running jobs / maxJobs) whenever it may have changed. */
  setLoad?: (fraction: number) => void;
  /** Prints a line about each job event. */
  print?: (line: string) => void;
  /** Clock in ms (default `performance.now`). */
  clock?: () => number;
}

interface Job {
  session: PoolElementSession;
  jobId: number;
  jobSize: number;
  completed: number;
  lastUpdateAt: number;
  lastCookieAt: number;
  lastCookieCompleted: number;
  completeAt: number;
  cookieAt: number;
  keepAliveAt: number;
  keepAliveTimeoutAt: number;
}

/**
 * One PE's CalcApp server: serves any number of sessions and shares its capacity among their
 * jobs.
 *
 * @example
 * ```ts ignore
 * import { CalcAppServer } from "./calc_app_server.ts";
 * import { PoolElement } from "../asap/pool_element.ts";
 * const server = new CalcAppServer({ maxJobs: 4 });
 * const pe = await PoolElement.start({
 *   poolHandle: "CalcAppPool",
 *   policy: { name: "least-used", load: 0 },
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 *   listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
 *   onSession: (session) => server.serve(session),
 * });
 * server.setLoadListener((load) => pe.setLoad(load));
 * ```
 */
export class CalcAppServer {
  #maxJobs: number;
  #capacity: number;
  #keepAliveInterval: number;
  #keepAliveTimeout: number;
  #cookieMaxTime: number;
  #cookieMaxCalculations: number;
  #cookiesOnStop: boolean;
  #setLoad: ((fraction: number) => void) | undefined;
  #print: (line: string) => void;
  #clock: () => number;
  #jobs: Job[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** Jobs accepted (from a request or a cookie) so far. */
  accepted = 0;
  /** Jobs rejected so far. */
  rejected = 0;
  /** Jobs completed so far. */
  completed = 0;

  /** Makes a server; it runs no job until a session asks. */
  constructor(options: CalcAppServerOptions = {}) {
    this.#maxJobs = Math.max(1, options.maxJobs ?? 10);
    this.#capacity = Math.max(1, options.capacity ?? 1_000_000);
    this.#keepAliveInterval = options.keepAliveInterval ?? 2500;
    this.#keepAliveTimeout = options.keepAliveTimeout ?? 2500;
    this.#cookieMaxTime = options.cookieMaxTime ?? 5000;
    this.#cookieMaxCalculations = Math.max(1, options.cookieMaxCalculations ?? 5_000_000);
    this.#cookiesOnStop = options.cookiesOnStop ?? true;
    this.#setLoad = options.setLoad;
    this.#print = options.print ?? (() => {});
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Jobs running now. */
  get jobs(): number {
    return this.#jobs.length;
  }

  /** The load: running jobs / maxJobs. */
  get load(): number {
    return this.#jobs.length / this.#maxJobs;
  }

  /** Sets where load changes go (for a PE made after the server). */
  setLoadListener(listener: (fraction: number) => void): void {
    this.#setLoad = listener;
    listener(this.load);
  }

  /** Serves one PU session until it ends; its jobs end with it. */
  async serve(session: PoolElementSession): Promise<void> {
    try {
      for await (const e of rawSessionEvents(session)) {
        if (this.#stopped) break;
        if (e.type === "cookie-echo") {
          const cookie = decodeCalcAppCookie(e.cookie);
          if (cookie === undefined) {
            session.abort("Malformed CalcApp cookie echo");
            break;
          }
          this.#start(session, cookie.jobId, cookie.jobSize, cookie.completed, "cookie");
          continue;
        }
        const m = decodeCalcApp(e.data);
        if (m === undefined) continue;
        const job = this.#find(session, m.jobId);
        const now = this.#clock();
        switch (m.type) {
          case "request":
            this.#start(session, m.jobId, m.jobSize, 0, "request");
            break;
          case "keepalive":
            if (job !== undefined) this.#send(job, "keepalive-ack");
            break;
          case "keepalive-ack":
            if (job !== undefined) {
              job.keepAliveTimeoutAt = Infinity;
              job.keepAliveAt = now + this.#keepAliveInterval;
            }
            break;
          default:
            break;
        }
        this.#arm();
      }
    } finally {
      for (const job of this.#jobs.filter((j) => j.session === session)) this.#remove(job);
    }
  }

  /**
   * Stops the server: brings every job's progress up to date, sends each PU a last cookie
   * (unless `cookiesOnStop` is false) and drops the jobs.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#cookiesOnStop && this.#jobs.length > 0) {
      const now = this.#clock();
      this.#update(now);
      await Promise.allSettled(this.#jobs.map((job) => this.#sendCookie(job, now)));
    }
    for (const job of [...this.#jobs]) this.#remove(job);
  }

  #find(session: PoolElementSession, jobId: number): Job | undefined {
    return this.#jobs.find((j) => j.session === session && j.jobId === jobId);
  }

  #start(
    session: PoolElementSession,
    jobId: number,
    jobSize: number,
    completed: number,
    from: "request" | "cookie",
  ): void {
    if (this.#jobs.length >= this.#maxJobs || this.#stopped) {
      this.rejected++;
      this.#print(JSON.stringify({ calcapp: "rejected", job: jobId, from }));
      session.send(
        encodeCalcApp({ type: "reject", jobId, jobSize: 0, completed: 0 }),
        { ppid: PPID_CALCAPP },
      ).catch(() => {});
      return;
    }
    const now = this.#clock();
    this.#update(now);
    const job: Job = {
      session,
      jobId,
      jobSize,
      completed: Math.min(completed, jobSize),
      lastUpdateAt: now,
      lastCookieAt: now,
      lastCookieCompleted: 0,
      completeAt: Infinity,
      cookieAt: Infinity,
      keepAliveAt: now + this.#keepAliveInterval,
      keepAliveTimeoutAt: Infinity,
    };
    this.#jobs.push(job);
    this.accepted++;
    this.#print(
      JSON.stringify({ calcapp: "accepted", job: jobId, size: jobSize, completed, from }),
    );
    this.#schedule(now);
    this.#send(job, "accept");
    this.#arm();
  }

  #remove(job: Job): void {
    const i = this.#jobs.indexOf(job);
    if (i < 0) return;
    this.#update(this.#clock());
    this.#jobs.splice(i, 1);
    this.#schedule(this.#clock());
    this.#arm();
  }

  /** Brings the progress of every job up to `now`, each at its share of the capacity. */
  #update(now: number): void {
    if (this.#jobs.length === 0) return;
    const perJob = this.#capacity / this.#jobs.length / 1000;
    for (const job of this.#jobs) {
      const elapsed = Math.max(0, now - job.lastUpdateAt);
      job.completed = Math.min(job.jobSize, job.completed + elapsed * perJob);
      job.lastUpdateAt = now;
    }
  }

  /** Sets each job's completion and cookie times from the current share, and the load. */
  #schedule(now: number): void {
    if (this.#jobs.length > 0) {
      const perJob = this.#capacity / this.#jobs.length / 1000;
      for (const job of this.#jobs) {
        job.completeAt = job.lastUpdateAt + Math.ceil((job.jobSize - job.completed) / perJob);
        const byCalculations =
          Math.max(0, this.#cookieMaxCalculations - (job.completed - job.lastCookieCompleted)) /
          perJob;
        const byTime = Math.max(0, this.#cookieMaxTime - (now - job.lastCookieAt));
        job.cookieAt = now + Math.round(Math.min(byCalculations, byTime));
      }
    }
    if (!this.#stopped) this.#setLoad?.(this.load);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    let next = Infinity;
    for (const j of this.#jobs) {
      next = Math.min(next, j.completeAt, j.cookieAt, j.keepAliveAt, j.keepAliveTimeoutAt);
    }
    if (next === Infinity) return;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, next - this.#clock()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    const now = this.#clock();
    for (const job of [...this.#jobs]) {
      if (!this.#jobs.includes(job)) continue;
      if (job.completeAt <= now) {
        this.#update(now);
        job.completed = job.jobSize;
        this.completed++;
        this.#print(JSON.stringify({ calcapp: "completed", job: job.jobId, size: job.jobSize }));
        this.#send(job, "complete");
        this.#remove(job);
        continue;
      }
      if (job.cookieAt <= now) {
        this.#update(now);
        this.#sendCookie(job, now).catch(() => this.#remove(job));
        this.#schedule(now);
      }
      if (job.keepAliveAt <= now) {
        job.keepAliveAt = Infinity;
        job.keepAliveTimeoutAt = now + this.#keepAliveTimeout;
        this.#send(job, "keepalive");
      }
      if (job.keepAliveTimeoutAt <= now) {
        this.#print(JSON.stringify({ calcapp: "keep-alive-timeout", job: job.jobId }));
        this.#remove(job);
      }
    }
    this.#arm();
  }

  #send(job: Job, type: CalcAppType): void {
    const complete = type === "complete";
    job.session.send(
      encodeCalcApp({
        type,
        jobId: job.jobId,
        jobSize: complete ? job.jobSize : 0,
        completed: complete ? job.completed : 0,
      }),
      { ppid: PPID_CALCAPP },
    ).catch(() => this.#remove(job));
  }

  #sendCookie(job: Job, now: number): Promise<void> {
    job.lastCookieAt = now;
    job.lastCookieCompleted = job.completed;
    return sendRawCookie(
      job.session,
      encodeCalcAppCookie({ jobId: job.jobId, jobSize: job.jobSize, completed: job.completed }),
    );
  }
}
