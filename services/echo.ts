/**
 * The Echo service, as RSPLIB's: the PE sends every message back unchanged, with the PPID and
 * stream it came with. The PU sends PPID 0 (as RSPLIB's `rspterminal` writes).
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";
import { pause } from "./service.ts";

/**
 * The Echo service.
 *
 * @example
 * ```ts
 * import { echo } from "./echo.ts";
 * echo.defaultPool; // "EchoPool"
 * ```
 */
export const echo: Service = {
  name: "echo",
  description: "sends every message back",
  defaultPool: "EchoPool",

  async serve(session: PoolElementSession, _context: ServeContext): Promise<void> {
    for await (const m of session) await session.send(m.data, { ppid: m.ppid, stream: m.stream });
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    let completed = 0;
    for (let i = 0; i < options.count; i++) {
      const data = new Uint8Array(Math.max(8, options.size));
      new DataView(data.buffer).setUint32(0, i);
      for (let k = 4; k < data.length; k++) data[k] = (i + k) & 0xff;
      const reply = await session.request(data);
      if (reply.length !== data.length || !reply.every((b, k) => b === data[k])) {
        return { ok: false, completed, detail: `echo ${i} came back altered` };
      }
      completed++;
      options.print(
        JSON.stringify({ echo: i, bytes: reply.length, pe: session.poolElement?.identifier }),
      );
      await pause(options.interval);
    }
    return { ok: true, completed, detail: `${completed} echoes` };
  },
};
