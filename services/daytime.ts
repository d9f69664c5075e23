/**
 * The Daytime service (after RFC 867): the PE sends the date and time when a PU connects.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { bytesOf, textOf } from "./service.ts";

/**
 * The Daytime service. The PU asks with any message (a session only reaches a PE when it
 * sends), and the PE answers each with the time.
 *
 * @example
 * ```ts
 * import { daytime } from "./daytime.ts";
 * daytime.defaultPool; // "DaytimePool"
 * ```
 */
export const daytime: Service = {
  name: "daytime",
  description: "answers with the date and time",
  defaultPool: "DaytimePool",

  async serve(session: PoolElementSession, context: ServeContext): Promise<void> {
    for await (const _ of session) {
      await session.send(
        bytesOf(`${new Date().toUTCString()} (PE ${context.identifier.toString(16)})`),
      );
    }
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    let completed = 0;
    for (let i = 0; i < Math.max(1, options.count); i++) {
      const answer = textOf(await session.request(bytesOf("time?")));
      if (!/\d{2}:\d{2}:\d{2}/.test(answer)) {
        return { ok: false, completed, detail: `not a time: '${answer}'` };
      }
      completed++;
      options.print(JSON.stringify({ daytime: answer }));
    }
    return { ok: true, completed, detail: `${completed} answers` };
  },
};
