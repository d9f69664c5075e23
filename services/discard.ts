/**
 * The Discard service, as RSPLIB's: the PE reads and drops every message, whatever its PPID
 * (the PU sends PPID 0).
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { pause } from "./service.ts";

/**
 * The Discard service.
 *
 * @example
 * ```ts
 * import { discard } from "./discard.ts";
 * discard.name; // "discard"
 * ```
 */
export const discard: Service = {
  name: "discard",
  description: "reads and drops every message",
  defaultPool: "DiscardPool",

  async serve(session: PoolElementSession, context: ServeContext): Promise<void> {
    let messages = 0;
    let bytes = 0;
    for await (const m of session) {
      messages++;
      bytes += m.data.length;
    }
    context.print(JSON.stringify({ discarded: messages, bytes }));
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    const data = new Uint8Array(Math.max(1, options.size));
    for (let i = 0; i < options.count; i++) {
      await session.send(data);
      await pause(options.interval);
    }
    options.print(JSON.stringify({ sent: options.count, bytes: options.count * data.length }));
    return { ok: true, completed: options.count, detail: `${options.count} messages sent` };
  },
};
