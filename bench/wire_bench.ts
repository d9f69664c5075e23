// deno bench: encode and decode of REGISTRATION, HANDLE_RESOLUTION_RESPONSE with 3 PEs and
// HANDLE_TABLE_RESPONSE with 128 PEs.

import { type AsapMessage, decodeAsapMessage, encodeAsapMessage } from "../asap/mod.ts";
import { decodeEnrpMessage, encodeEnrpMessage, type EnrpMessage } from "../enrp/mod.ts";
import { handle, samplePoolElement } from "../tests/support/messages.ts";

const registration: AsapMessage = {
  type: "registration",
  poolHandle: handle("EchoPool1"),
  poolElement: samplePoolElement(0x1001),
};
const resolution: AsapMessage = {
  type: "handle-resolution-response",
  acceptsUpdates: false,
  poolHandle: handle("EchoPool1"),
  policy: { name: "round-robin" },
  poolElements: [samplePoolElement(1), samplePoolElement(2), samplePoolElement(3)],
};
const table: EnrpMessage = {
  type: "handle-table-response",
  rejected: false,
  more: true,
  senderId: 1,
  receiverId: 2,
  pools: [{
    poolHandle: handle("EchoPool1"),
    poolElements: Array.from({ length: 128 }, (_, i) => samplePoolElement(i + 1)),
  }],
};

const registrationBytes = encodeAsapMessage(registration);
const resolutionBytes = encodeAsapMessage(resolution);
const tableBytes = encodeEnrpMessage(table);

Deno.bench("encode REGISTRATION", { group: "registration", baseline: true }, () => {
  encodeAsapMessage(registration);
});
Deno.bench("decode REGISTRATION", { group: "registration" }, () => {
  decodeAsapMessage(registrationBytes);
});
Deno.bench(
  "encode HANDLE_RESOLUTION_RESPONSE, 3 PEs",
  { group: "resolution", baseline: true },
  () => {
    encodeAsapMessage(resolution);
  },
);
Deno.bench("decode HANDLE_RESOLUTION_RESPONSE, 3 PEs", { group: "resolution" }, () => {
  decodeAsapMessage(resolutionBytes);
});
Deno.bench("encode HANDLE_TABLE_RESPONSE, 128 PEs", { group: "table", baseline: true }, () => {
  encodeEnrpMessage(table);
});
Deno.bench("decode HANDLE_TABLE_RESPONSE, 128 PEs", { group: "table" }, () => {
  decodeEnrpMessage(tableBytes);
});
