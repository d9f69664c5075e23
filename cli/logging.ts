/**
 * Logging set-up of the command-line programs: LogTape, lines on standard error, as text or
 * as JSON lines for log shippers.
 *
 * The sink never blocks the program and never grows without bound: records wait in a buffer
 * of fixed size and are written in the background; when standard error is slower than the
 * records come (a pipe nobody reads, a slow terminal), the oldest waiting records are dropped
 * and counted ({@linkcode droppedLogRecords}).
 *
 * @module
 */

import {
  configure,
  getJsonLinesFormatter,
  getStreamSink,
  getTextFormatter,
  type LogLevel,
} from "@logtape/logtape";
import { UsageError } from "./options.ts";

/**
 * How log lines look: `text` for people, `json` (one JSON object per line) for log shippers.
 *
 * @example
 * ```ts
 * import type { LogFormat } from "@rserpool/rserpool/registrar";
 * const format: LogFormat = "json";
 * ```
 */
export type LogFormat = "text" | "json";

/**
 * Options of {@linkcode setUpLogging}.
 *
 * @example
 * ```ts
 * import type { LoggingOptions } from "./logging.ts";
 * const options: LoggingOptions = { format: "json", bufferSize: 1000 };
 * ```
 */
export interface LoggingOptions {
  /** Line format (default `text`). */
  format?: LogFormat;
  /** Records that may wait to be written; twice as many before the oldest are dropped (1000). */
  bufferSize?: number;
}

let dropped = 0;

/**
 * Records dropped so far because standard error could not keep up.
 *
 * @example
 * ```ts
 * import { droppedLogRecords } from "./logging.ts";
 * droppedLogRecords(); // 0 unless the sink fell behind
 * ```
 */
export function droppedLogRecords(): number {
  return dropped;
}

/**
 * Sends the `rserpool` loggers' records at `level` and above to standard error.
 *
 * @example
 * ```ts ignore
 * import { setUpLogging } from "./logging.ts";
 * await setUpLogging("info", { format: "json" });
 * ```
 */
export async function setUpLogging(level: LogLevel, options: LoggingOptions = {}): Promise<void> {
  const formatter = options.format === "json" ? getJsonLinesFormatter() : getTextFormatter();
  await configure({
    reset: true,
    sinks: {
      stderr: getStreamSink(Deno.stderr.writable, {
        formatter,
        nonBlocking: {
          bufferSize: options.bufferSize ?? 1000,
          flushInterval: 100,
          onDrop: (event) => {
            dropped += event.count;
          },
        },
      }),
    },
    loggers: [
      { category: ["rserpool"], sinks: ["stderr"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
}

/**
 * Parses `--log-format`.
 *
 * @example
 * ```ts
 * import { parseLogFormat } from "./logging.ts";
 * parseLogFormat("json"); // "json"
 * ```
 */
export function parseLogFormat(text: string): LogFormat {
  if (text === "text" || text === "json") return text;
  throw new UsageError(`--log-format: expected text or json, got '${text}'`);
}
