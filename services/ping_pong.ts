/**
 * The PingPong service: the PU sends numbered pings, the PE answers each with a pong of the
 * same number and its own counter.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { bytesOf, pause, textOf } from "./service.ts";

/**
 * The PingPong service.
 *
 * @example
 * ```ts
 * import { pingPong } from "./ping_pong.ts";
 * pingPong.defaultPool; // "PingPongPool"
 * ```
 */
export const pingPong: Service = {
  name: "pingpong",
  description: "answers numbered pings with pongs",
  defaultPool: "PingPongPool",

  async serve(session: PoolElementSession, context: ServeContext): Promise<void> {
    let replies = 0;
    for await (const m of session) {
      const ping = /^PING (\d+)$/.exec(textOf(m.data));
      const answer = ping === null
        ? "ERR expected PING n"
        : `PONG ${ping[1]} ${++replies} ${context.identifier.toString(16)}`;
      await session.send(bytesOf(answer));
    }
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    let completed = 0;
    for (let i = 1; i <= options.count; i++) {
      const started = performance.now();
      const answer = textOf(await session.request(bytesOf(`PING ${i}`)));
      const m = /^PONG (\d+) (\d+) ([0-9a-f]+)$/.exec(answer);
      if (m === null || Number(m[1]) !== i) {
        return { ok: false, completed, detail: `ping ${i} answered '${answer}'` };
      }
      completed++;
      options.print(JSON.stringify({
        ping: i,
        reply: Number(m[2]),
        pe: m[3],
        ms: Number((performance.now() - started).toFixed(3)),
      }));
      await pause(options.interval);
    }
    return { ok: true, completed, detail: `${completed} pongs` };
  },
};
