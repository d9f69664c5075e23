import assert from "node:assert/strict";
import { checkInput, fuzzDecoders } from "./fuzz.ts";

// CI runs a smaller count; `deno task fuzz` runs 100,000 or more (see tests/wire/fuzz_main.ts).
const CASES = Number(Deno.env.get("FUZZ_CASES") ?? 20_000);

Deno.test(`fuzzing ${CASES} mutated messages lets only WireError escape`, () => {
  const report = fuzzDecoders(CASES, 0x5eed);
  assert.deepEqual(report.failures, []);
  assert.ok(report.cases >= CASES);
  // The mutations must reach both outcomes, or the fuzzer is not exercising the decoder.
  assert.ok(report.decoded > CASES / 50, `only ${report.decoded} decoded`);
  assert.ok(report.rejected > CASES / 2, `only ${report.rejected} rejected`);
});

Deno.test("the fuzz oracle tells decoded input from rejected input", () => {
  // Sanity of the oracle itself: a valid message decodes, garbage is rejected.
  assert.equal(checkInput(new Uint8Array([0x0b, 0, 0, 8, 0, 0x0d, 0, 4]), true), "decoded");
  assert.equal(checkInput(new Uint8Array([0x0b, 0, 0, 9]), true), "rejected");
});
