/**
 * The CharGen service, as RSPLIB's: when a PU connects, the PE sends 1024-byte messages,
 * PPID 0, as fast as the association takes them, until the PU goes away. Byte `i` of every
 * message is `30 + i % 98` (the printable ASCII range and a few below it, not RFC 864's
 * lines). The PU sends nothing; it reads `count` messages and closes.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";

/**
 * Size of a CharGen message.
 *
 * @example
 * ```ts
 * import { CHARGEN_MESSAGE_SIZE } from "./chargen.ts";
 * CHARGEN_MESSAGE_SIZE; // 1024
 * ```
 */
export const CHARGEN_MESSAGE_SIZE = 1024;

/**
 * The message RSPLIB's CharGen server sends, again and again.
 *
 * @example
 * ```ts
 * import { chargenMessage } from "./chargen.ts";
 * chargenMessage()[0]; // 30
 * ```
 */
export function chargenMessage(): Uint8Array {
  const data = new Uint8Array(CHARGEN_MESSAGE_SIZE);
  for (let i = 0; i < data.length; i++) data[i] = 30 + (i % (128 - 30));
  return data;
}

/**
 * The CharGen service.
 *
 * @example
 * ```ts
 * import { chargen } from "./chargen.ts";
 * chargen.defaultPool; // "CharGenPool"
 * ```
 */
export const chargen: Service = {
  name: "chargen",
  description: "sends 1024-byte character messages until the PU leaves (as RSPLIB)",
  defaultPool: "CharGenPool",

  async serve(session: PoolElementSession, _context: ServeContext): Promise<void> {
    const data = chargenMessage();
    try {
      while (!session.closed) await session.send(data, { ppid: 0 });
    } catch {
      // The PU went away.
    }
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    const expected = chargenMessage();
    let completed = 0;
    for (let n = 0; n < options.count; n++) {
      const m = await session.receive();
      if (m === null) return { ok: false, completed, detail: "session ended" };
      if (m.data.length !== expected.length || !m.data.every((b, i) => b === expected[i])) {
        return { ok: false, completed, detail: `message ${n} is not the CharGen pattern` };
      }
      completed++;
    }
    options.print(JSON.stringify({ received: completed, bytes: completed * expected.length }));
    return { ok: true, completed, detail: `${completed} messages` };
  },
};
