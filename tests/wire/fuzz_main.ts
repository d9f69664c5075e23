// `deno task fuzz [--cases N] [--seed S]`: a long seeded fuzz run of the ASAP and ENRP decoders.

import { parseArgs } from "node:util";
import { fuzzDecoders } from "./fuzz.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { cases: { type: "string", default: "100000" }, seed: { type: "string", default: "1" } },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const started = performance.now();
const report = fuzzDecoders(cases, seed);
const seconds = (performance.now() - started) / 1000;
for (const f of report.failures) console.error(f);
console.log(JSON.stringify({ ...report, failures: report.failures.length, seed, seconds }));
if (report.failures.length > 0) Deno.exit(1);
