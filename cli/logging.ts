/**
 * Logging set-up of the command-line programs: LogTape, text lines on standard error.
 *
 * @module
 */

import { configure, getStreamSink, getTextFormatter, type LogLevel } from "@logtape/logtape";

/**
 * Sends the `rserpool` loggers' records at `level` and above to standard error.
 *
 * @example
 * ```ts ignore
 * import { setUpLogging } from "./logging.ts";
 * await setUpLogging("info");
 * ```
 */
export async function setUpLogging(level: LogLevel): Promise<void> {
  await configure({
    reset: true,
    sinks: {
      stderr: getStreamSink(Deno.stderr.writable, { formatter: getTextFormatter() }),
    },
    loggers: [
      { category: ["rserpool"], sinks: ["stderr"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
}
