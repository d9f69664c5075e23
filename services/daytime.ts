/**
 * The Daytime service, as RSPLIB's (after RFC 867): when a PU connects, the PE sends one
 * message with its local date and time, PPID 0, in the form
 * `Monday, 05-January-2026 14:03:07.123456\n` (strftime `%A, %d-%B-%Y %H:%M:%S` and the
 * microseconds), then shuts the association down. The PU sends nothing (RSPLIB's PE aborts
 * a session that sends it anything); each further line comes from a new association, which
 * the session opens itself after the PE's shutdown.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { bytesOf, textOf } from "./service.ts";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const two = (n: number) => String(n).padStart(2, "0");

/**
 * The daytime line of RSPLIB's Daytime server for a time in µs since the epoch, in local time.
 *
 * @example
 * ```ts
 * import { daytimeLine } from "./daytime.ts";
 * daytimeLine(0).endsWith(".000000\n"); // true
 * ```
 */
export function daytimeLine(microseconds: number): string {
  const d = new Date(Math.floor(microseconds / 1000));
  const micro = String(Math.floor(microseconds) % 1_000_000).padStart(6, "0");
  return `${DAYS[d.getDay()]}, ${two(d.getDate())}-${MONTHS[d.getMonth()]}-${d.getFullYear()} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${micro}\n`;
}

/** Whether a line looks like {@linkcode daytimeLine}'s. */
const DAYTIME = /^[A-Z][a-z]+day, \d{2}-[A-Z][a-z]+-\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\n$/;

/**
 * The Daytime service.
 *
 * @example
 * ```ts
 * import { daytime } from "./daytime.ts";
 * daytime.defaultPool; // "DaytimePool"
 * ```
 */
export const daytime: Service = {
  name: "daytime",
  description: "sends the date and time when a PU connects, then closes (as RSPLIB)",
  defaultPool: "DaytimePool",

  async serve(session: PoolElementSession, _context: ServeContext): Promise<void> {
    const now = (performance.timeOrigin + performance.now()) * 1000;
    await session.send(bytesOf(daytimeLine(now)), { ppid: 0 });
    await session.close();
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    let completed = 0;
    for (let i = 0; i < Math.max(1, options.count); i++) {
      const m = await session.receive();
      if (m === null) return { ok: false, completed, detail: "session ended" };
      const answer = textOf(m.data);
      if (!DAYTIME.test(answer)) {
        return { ok: false, completed, detail: `not a daytime line: '${answer}'` };
      }
      completed++;
      options.print(JSON.stringify({ daytime: answer.trimEnd(), ppid: m.ppid }));
    }
    return { ok: true, completed, detail: `${completed} answers` };
  },
};
