// Seeded mutation fuzzing of the ASAP and ENRP decoders. Only WireError may escape decoding, and
// whatever decodes must encode again and decode to the same message.

import { isDeepStrictEqual } from "node:util";
import { decodeAsapMessage, encodeAsapMessage } from "../../asap/mod.ts";
import { decodeEnrpMessage, encodeEnrpMessage } from "../../enrp/mod.ts";
import { WireError } from "../../wire/mod.ts";
import { asapSamples, enrpSamples } from "../support/messages.ts";
import { SeededRandom } from "../support/random.ts";

/** What a fuzz run found. */
export interface FuzzReport {
  cases: number;
  decoded: number;
  rejected: number;
  failures: string[];
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const INTERESTING_16 = [0, 1, 3, 4, 5, 7, 8, 0x7fff, 0x8000, 0xfffc, 0xffff];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff];

/** One mutation of `input`, drawing on `corpus` for splices. */
export function mutate(input: Uint8Array, corpus: Uint8Array[], rnd: SeededRandom): Uint8Array {
  let b = input.slice();
  const rounds = 1 + rnd.int(3);
  for (let r = 0; r < rounds; r++) {
    if (b.length === 0) b = new Uint8Array(4);
    switch (rnd.int(8)) {
      case 0: { // bit flips
        const flips = 1 + rnd.int(4);
        for (let i = 0; i < flips; i++) b[rnd.int(b.length)] ^= 1 << rnd.int(8);
        break;
      }
      case 1: // truncation
        b = b.slice(0, rnd.int(b.length + 1));
        break;
      case 2: { // a 16-bit field at an even offset set to an interesting or nearby value
        if (b.length < 2) break;
        const at = rnd.int(b.length >> 1) * 2;
        const old = (b[at] << 8) | (b[at + 1] ?? 0);
        const v = rnd.int(2) === 0 ? rnd.pick(INTERESTING_16) : (old + rnd.int(17) - 8) & 0xffff;
        b[at] = v >> 8;
        if (at + 1 < b.length) b[at + 1] = v & 0xff;
        break;
      }
      case 3: { // splice with another message
        const other = rnd.pick(corpus);
        const cut = rnd.int(b.length + 1);
        const from = rnd.int(other.length + 1);
        b = new Uint8Array([...b.subarray(0, cut), ...other.subarray(from)]);
        break;
      }
      case 4: // an interesting byte
        b[rnd.int(b.length)] = rnd.pick(INTERESTING_8);
        break;
      case 5: { // insert random bytes
        const at = rnd.int(b.length + 1);
        const n = 1 + rnd.int(8);
        const ins = new Uint8Array(n).map(() => rnd.int(256));
        b = new Uint8Array([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 6: { // delete a run of bytes
        const at = rnd.int(b.length);
        const n = 1 + rnd.int(8);
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      default: { // duplicate a 4-aligned run (repeats parameters)
        const at = rnd.int((b.length >> 2) + 1) * 4;
        const n = 4 * (1 + rnd.int(6));
        const run = b.subarray(at, at + n);
        b = new Uint8Array([...b.subarray(0, at), ...run, ...b.subarray(at)]);
      }
    }
  }
  // Often keep the message length consistent so that the body is what gets exercised.
  if (b.length >= 4 && rnd.int(2) === 0) {
    b[2] = b.length >> 8;
    b[3] = b.length & 0xff;
  }
  return b;
}

function stripExtras<T extends { unrecognized?: unknown }>(m: T): T {
  const copy = { ...m };
  delete copy.unrecognized;
  return copy;
}

/** Checks one input against both decoders; returns a failure text or undefined. */
export function checkInput(bytes: Uint8Array, asap: boolean): "decoded" | "rejected" | string {
  try {
    if (asap) {
      const m = decodeAsapMessage(bytes);
      const again = decodeAsapMessage(encodeAsapMessage(m));
      if (!isDeepStrictEqual(stripExtras(again), stripExtras(m))) {
        return `ASAP ${m.type} did not survive re-encoding: ${hex(bytes)}`;
      }
    } else {
      const m = decodeEnrpMessage(bytes);
      const again = decodeEnrpMessage(encodeEnrpMessage(m));
      if (!isDeepStrictEqual(stripExtras(again), stripExtras(m))) {
        return `ENRP ${m.type} did not survive re-encoding: ${hex(bytes)}`;
      }
    }
    return "decoded";
  } catch (e) {
    if (e instanceof WireError) {
      if (e.offset > bytes.length) return `offset ${e.offset} beyond input: ${hex(bytes)}`;
      return "rejected";
    }
    return `${asap ? "ASAP" : "ENRP"} threw ${String(e)} on ${hex(bytes)}`;
  }
}

/** Runs `cases` seeded mutations of the sample messages through both decoders. */
export function fuzzDecoders(cases: number, seed: number): FuzzReport {
  const rnd = new SeededRandom(seed);
  const asapCorpus = asapSamples().map(encodeAsapMessage);
  const enrpCorpus = enrpSamples().map(encodeEnrpMessage);
  const all = [...asapCorpus, ...enrpCorpus];
  const report: FuzzReport = { cases: 0, decoded: 0, rejected: 0, failures: [] };
  for (let i = 0; i < cases; i++) {
    const asap = rnd.int(2) === 0;
    const input = mutate(rnd.pick(asap ? asapCorpus : enrpCorpus), all, rnd);
    // Each input goes to the decoder it came from and, one time in four, to the other one.
    for (const which of rnd.int(4) === 0 ? [asap, !asap] : [asap]) {
      const result = checkInput(input, which);
      report.cases++;
      if (result === "decoded") report.decoded++;
      else if (result === "rejected") report.rejected++;
      else if (report.failures.length < 20) report.failures.push(`case ${i}: ${result}`);
    }
  }
  return report;
}
