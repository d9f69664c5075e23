/**
 * Example services, each with a pool element side and a pool user side: Echo, Discard, Daytime,
 * CharGen, PingPong and CalcApp on the wire as RSPLIB has them (so that RSPLIB's `rspserver`,
 * `pingpongclient` and `calcappclient` work with them), and Calc (our own, whose state survives
 * failover in sealed state cookies).
 *
 * @example
 * ```ts
 * import { services } from "./mod.ts";
 * Object.keys(services); // ["echo", "discard", "daytime", "chargen", "pingpong", "calcapp", "calc"]
 * ```
 *
 * @module
 */

import { calc } from "./calc.ts";
import { calcApp } from "./calc_app.ts";
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
export {
  calcApp,
  type CalcAppClientOptions,
  type CalcAppJobResult,
  type CalcAppOptions,
  createCalcApp,
  runCalcAppJob,
} from "./calc_app.ts";
export {
  CALCAPP_COOKIE_SIZE,
  CALCAPP_MESSAGE_SIZE,
  CALCAPP_TYPES,
  type CalcAppCookie,
  type CalcAppMessage,
  type CalcAppType,
  decodeCalcApp,
  decodeCalcAppCookie,
  encodeCalcApp,
  encodeCalcAppCookie,
  PPID_CALCAPP,
} from "./calc_app_messages.ts";
export { CalcAppServer, type CalcAppServerOptions } from "./calc_app_server.ts";
export { chargen, CHARGEN_MESSAGE_SIZE, chargenMessage } from "./chargen.ts";
export { daytime, daytimeLine } from "./daytime.ts";
export { discard } from "./discard.ts";
export { echo } from "./echo.ts";
export {
  createPingPong,
  decodePingPong,
  decodePingPongCookie,
  encodePingPong,
  encodePingPongCookie,
  pingPong,
  PINGPONG_COOKIE_ID,
  type PingPongMessage,
  type PingPongOptions,
  PPID_PINGPONG,
} from "./ping_pong.ts";
export {
  type RawSessionEvent,
  rawSessionEvents,
  sendRawCookie,
  type ServeContext,
  type Service,
  type UseOptions,
  type UseResult,
} from "./service.ts";

/** Every example service by its command-line name. */
export const services: Readonly<Record<string, Service>> = {
  echo,
  discard,
  daytime,
  chargen,
  pingpong: pingPong,
  calcapp: calcApp,
  calc,
};
