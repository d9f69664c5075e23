/**
 * The Character Generator service (after RFC 864): the PE sends lines of the rotating printable
 * ASCII pattern, as many as the PU asks for.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { bytesOf, textOf } from "./service.ts";

/**
 * Line `n` of the RFC 864 pattern: 72 characters from the 95 printable ones, starting one
 * further each line.
 *
 * @example
 * ```ts
 * import { chargenLine } from "./chargen.ts";
 * chargenLine(0).slice(0, 5); // "!\"#$%"
 * ```
 */
export function chargenLine(n: number): string {
  let line = "";
  for (let k = 0; k < 72; k++) line += String.fromCharCode(33 + ((n + k) % 94));
  return line;
}

/**
 * The CharGen service: the PU sends `N` and receives lines `N` (each a message) as the answer
 * to each request, so that lines are neither lost nor repeated across a failover.
 *
 * @example
 * ```ts
 * import { chargen } from "./chargen.ts";
 * chargen.name; // "chargen"
 * ```
 */
export const chargen: Service = {
  name: "chargen",
  description: "sends lines of the RFC 864 character pattern",
  defaultPool: "CharGenPool",

  async serve(session: PoolElementSession, _context: ServeContext): Promise<void> {
    for await (const m of session) {
      const n = Number(textOf(m.data));
      await session.send(bytesOf(Number.isInteger(n) && n >= 0 ? chargenLine(n) : "ERR"));
    }
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    let completed = 0;
    for (let n = 0; n < options.count; n++) {
      const line = textOf(await session.request(bytesOf(String(n))));
      if (line !== chargenLine(n)) return { ok: false, completed, detail: `line ${n} differs` };
      completed++;
      options.print(line);
    }
    return { ok: true, completed, detail: `${completed} lines` };
  },
};
