/**
 * Example services, each with a pool element side and a pool user side: Echo, Discard, Daytime,
 * CharGen, PingPong and Calc (whose state survives failover in state cookies).
 *
 * @example
 * ```ts
 * import { services } from "./mod.ts";
 * Object.keys(services); // ["echo", "discard", "daytime", "chargen", "pingpong", "calc"]
 * ```
 *
 * @module
 */

import { calc } from "./calc.ts";
import { chargen } from "./chargen.ts";
import { daytime } from "./daytime.ts";
import { discard } from "./discard.ts";
import { echo } from "./echo.ts";
import { pingPong } from "./ping_pong.ts";
import type { Service } from "./service.ts";

export {
  applyCalc,
  calc,
  CALC_MODULUS,
  calcAnswer,
  type CalcOperation,
  type CalcState,
  calcStep,
} from "./calc.ts";
export { chargen, chargenLine } from "./chargen.ts";
export { daytime } from "./daytime.ts";
export { discard } from "./discard.ts";
export { echo } from "./echo.ts";
export { pingPong } from "./ping_pong.ts";
export type { ServeContext, Service, UseOptions, UseResult } from "./service.ts";

/** Every example service by its command-line name. */
export const services: Readonly<Record<string, Service>> = {
  echo,
  discard,
  daytime,
  chargen,
  pingpong: pingPong,
  calc,
};
