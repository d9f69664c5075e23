/**
 * Parsing of command-line values shared by the registrar and the example services: durations,
 * rates, numbers and log levels, each failing with a clear message.
 *
 * @module
 */

import type { LogLevel } from "@logtape/logtape";

/**
 * A command-line value that does not parse.
 *
 * @example
 * ```ts
 * import { UsageError } from "./options.ts";
 * const e = new UsageError("--keep-alive-interval: invalid duration 'x'");
 * e.name; // "UsageError"
 * ```
 */
export class UsageError extends Error {
  /** Creates an error with a message naming the flag. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses a duration in milliseconds: `500`, `500ms`, `5s`, `1.5s`, `2m`.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./options.ts";
 * parseDuration("--timeout", "5s"); // 5000
 * ```
 */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${flag}: invalid duration '${text}' (e.g. 500ms, 5s)`);
  const value = Number(m[1]);
  const unit = m[2] ?? "ms";
  return Math.round(value * (unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000));
}

/**
 * Parses a non-negative integer within bounds.
 *
 * @example
 * ```ts
 * import { parseCount } from "./options.ts";
 * parseCount("--max-bad-pe-reports", "3"); // 3
 * ```
 */
export function parseCount(flag: string, text: string, min = 0, max = 2 ** 32 - 1): number {
  const value = /^(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

/**
 * Parses a rate limit `RATE[/BURST]` (events per second, bucket size; burst defaults to twice
 * the rate).
 *
 * @example
 * ```ts
 * import { parseRate } from "./options.ts";
 * parseRate("--handle-resolution-rate", "100/50"); // { rate: 100, burst: 50 }
 * ```
 */
export function parseRate(flag: string, text: string): { rate: number; burst: number } {
  const [r, b] = text.split("/");
  const rate = parseCount(flag, r, 1);
  const burst = b === undefined ? 2 * rate : parseCount(flag, b, 1);
  return { rate, burst };
}

const LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warning", "error", "fatal"];

/**
 * The levels `--log-level` takes, as the help text and the error message list them.
 *
 * @example
 * ```ts
 * import { LOG_LEVELS_TEXT } from "./options.ts";
 * console.log(`--log-level LEVEL  ${LOG_LEVELS_TEXT}`);
 * ```
 */
export const LOG_LEVELS_TEXT: string = LEVELS.join(", ");

/**
 * The one line a program prints for a usage error: the program, the error, and where to look.
 *
 * @example
 * ```ts
 * import { usageLine } from "./options.ts";
 * usageLine("pe", new Error("--service is required"));
 * // "pe: --service is required (see pe --help)"
 * ```
 */
export function usageLine(program: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `${program}: ${message.split("\n")[0]} (see ${program} --help)`;
}

/**
 * Parses a log level name.
 *
 * @example
 * ```ts
 * import { parseLogLevel } from "./options.ts";
 * parseLogLevel("--log-level", "debug"); // "debug"
 * ```
 */
export function parseLogLevel(flag: string, text: string): LogLevel {
  const level = text.trim().toLowerCase() === "warn" ? "warning" : text.trim().toLowerCase();
  if (!LEVELS.includes(level as LogLevel)) {
    throw new UsageError(`${flag}: expected one of ${LOG_LEVELS_TEXT}, got '${text}'`);
  }
  return level as LogLevel;
}
