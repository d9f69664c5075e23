/**
 * The Calc service: a running computation whose state travels in state cookies, so that a
 * session goes on at another PE of the pool when its PE fails, without losing or repeating a
 * step.
 *
 * Protocol (UTF-8 text, one request per message): `SEQ OP ARG`, where SEQ counts from 1 and OP
 * is `add`, `sub` or `mul`; the PE answers `SEQ VALUE`. Arithmetic is modulo 2^31 - 1, so
 * results are exact integers. Before each answer the PE sends a state cookie with the value,
 * the last SEQ applied and the last answers; a PE that receives the cookie by COOKIE_ECHO
 * continues from it. A request whose SEQ was already applied (its answer was lost with the old
 * PE) is answered from the cookie, not applied again; a SEQ that skips one is answered with
 * `SEQ ERR gap`.
 *
 * @module
 */

import type { PoolElementSession } from "../asap/pool_element_session.ts";
import type { PoolUserSession } from "../asap/pool_user_session.ts";
import {
  bytesOf,
  pause,
  type ServeContext,
  type Service,
  textOf,
  type UseOptions,
  type UseResult,
} from "./service.ts";

/** The modulus of Calc arithmetic, 2^31 - 1. */
export const CALC_MODULUS = 2_147_483_647;

/**
 * A Calc session's state, as it travels in cookies.
 *
 * @example
 * ```ts
 * import type { CalcState } from "./calc.ts";
 * const start: CalcState = { value: 0, seq: 0, recent: [] };
 * ```
 */
export interface CalcState {
  /** The running value. */
  value: number;
  /** The last SEQ applied. */
  seq: number;
  /** The last answers, `[seq, value]`, for requests that are asked again. */
  recent: [number, number][];
}

/** Calc operations. */
export type CalcOperation = "add" | "sub" | "mul";

const RECENT = 64;

/**
 * Applies one operation (modulo 2^31 - 1).
 *
 * @example
 * ```ts
 * import { applyCalc } from "./calc.ts";
 * applyCalc(5, "mul", 3); // 15
 * ```
 */
export function applyCalc(value: number, op: CalcOperation, arg: number): number {
  const m = BigInt(CALC_MODULUS);
  const v = BigInt(value);
  const a = BigInt(arg);
  const r = op === "add" ? v + a : op === "sub" ? v - a + m : v * a;
  return Number(((r % m) + m) % m);
}

/** The operation of step `i` of the PU's computation (a fixed, varied sequence). */
export function calcStep(i: number): { op: CalcOperation; arg: number } {
  const ops: CalcOperation[] = ["add", "mul", "sub", "add", "mul"];
  return { op: ops[i % ops.length], arg: (i * 7919) % 1000 + 2 };
}

function isCalcState(x: unknown): x is CalcState {
  if (x === null || typeof x !== "object") return false;
  const s = x as Record<string, unknown>;
  return Number.isInteger(s.value) && Number.isInteger(s.seq) && Array.isArray(s.recent);
}

/** Answers one request line against the state; returns the answer line. */
export function calcAnswer(
  state: CalcState,
  line: string,
): { answer: string; changed: boolean } {
  const m = /^(\d+) (add|sub|mul) (\d+)$/.exec(line.trim());
  if (m === null) return { answer: `0 ERR malformed request`, changed: false };
  const seq = Number(m[1]);
  if (seq <= state.seq) {
    const known = state.recent.find(([s]) => s === seq);
    return { answer: known ? `${seq} ${known[1]}` : `${seq} ERR too old`, changed: false };
  }
  if (seq !== state.seq + 1) return { answer: `${seq} ERR gap`, changed: false };
  state.value = applyCalc(state.value, m[2] as CalcOperation, Number(m[3]));
  state.seq = seq;
  state.recent.push([seq, state.value]);
  if (state.recent.length > RECENT) state.recent.shift();
  return { answer: `${seq} ${state.value}`, changed: true };
}

/**
 * The Calc service.
 *
 * @example
 * ```ts
 * import { calc } from "./calc.ts";
 * calc.name; // "calc"
 * ```
 */
export const calc: Service = {
  name: "calc",
  description: "a running computation whose state travels in state cookies",
  defaultPool: "CalcPool",

  async serve(session: PoolElementSession, context: ServeContext): Promise<void> {
    let state: CalcState = { value: 0, seq: 0, recent: [] };
    let adopted: unknown = undefined;
    for await (const m of session) {
      const restored = session.restoredState;
      if (restored !== adopted && isCalcState(restored)) {
        adopted = restored;
        state = { value: restored.value, seq: restored.seq, recent: [...restored.recent] };
        context.print(`resumed a session at step ${state.seq} (value ${state.value})`);
      }
      const { answer, changed } = calcAnswer(state, textOf(m.data));
      // The cookie goes first: a PU that has the answer has the state that produced it.
      if (changed) await session.sendCookie(state);
      await session.send(bytesOf(answer));
    }
  },

  async use(session: PoolUserSession, options: UseOptions): Promise<UseResult> {
    let expected = 0;
    let completed = 0;
    for (let seq = 1; seq <= options.count; seq++) {
      const { op, arg } = calcStep(seq);
      expected = applyCalc(expected, op, arg);
      const answer = textOf(await session.request(bytesOf(`${seq} ${op} ${arg}`)));
      const got = answer.split(" ");
      if (Number(got[0]) !== seq || Number(got[1]) !== expected) {
        return {
          ok: false,
          completed,
          detail: `step ${seq}: expected ${expected}, got '${answer}'`,
        };
      }
      completed++;
      options.print(
        JSON.stringify({
          step: seq,
          op,
          arg,
          value: expected,
          pe: session.poolElement?.identifier,
        }),
      );
      await pause(options.interval);
    }
    return { ok: true, completed, detail: `${completed} steps, value ${expected}` };
  },
};
