// Echo, Discard, Daytime and CharGen as RSPLIB has them, over real sockets: what our PE sends
// (PPIDs, payloads, when it closes) and sessions of our PU with our PE.

import assert from "node:assert/strict";
import { connectEndpoint } from "../../asap/connect.ts";
import { chargen, chargenMessage } from "../../services/chargen.ts";
import { daytime } from "../../services/daytime.ts";
import { discard } from "../../services/discard.ts";
import { echo } from "../../services/echo.ts";
import { startPu, startRegistrar, startServicePe, waitFor } from "./helpers.ts";
import { receiveWithin } from "../support/deadline.ts";

const DAYTIME = /^[A-Z][a-z]+day, \d{2}-[A-Z][a-z]+-\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\n$/;

Deno.test("Echo PE: every message back with its PPID and stream; our PU's echoes come back whole", async () => {
  await using registrar = await startRegistrar("sctp");
  const pe = await startServicePe(registrar, echo, { protocol: "sctp" });
  const pu = startPu(registrar, "sctp");
  try {
    const a = await connectEndpoint(pe.pe.address, { framing: "framed", timeout: 2000 });
    await a.send(new Uint8Array([1, 2, 3]), { ppid: 0x12345678, stream: 1 });
    const m = await receiveWithin(a);
    assert.deepEqual([...m!.data], [1, 2, 3]);
    assert.equal(m!.ppid, 0x12345678);
    assert.equal(m!.stream, 1);
    await a.close();

    await using session = await pu.connect("EchoPool");
    const result = await echo.use(session, { count: 3, interval: 0, size: 100, print: () => {} });
    assert.equal(result.ok, true, result.detail);
    assert.equal(result.completed, 3);
  } finally {
    await pu.close();
    await pe.stop();
  }
});

Deno.test("Discard PE: reads everything, sends nothing", async () => {
  await using registrar = await startRegistrar("tcp");
  const pe = await startServicePe(registrar, discard);
  const pu = startPu(registrar);
  try {
    const session = await pu.connect("DiscardPool");
    const result = await discard.use(session, { count: 4, interval: 0, size: 10, print: () => {} });
    assert.equal(result.ok, true);
    await session.close();
    await waitFor(() => pe.lines.length > 0, "the PE's summary");
    assert.deepEqual(JSON.parse(pe.lines[0]), { discarded: 4, bytes: 40 });
  } finally {
    await pu.close();
    await pe.stop();
  }
});

Deno.test("Daytime PE: one line with PPID 0 as soon as a PU connects, then it closes", async () => {
  await using registrar = await startRegistrar("tcp");
  const pe = await startServicePe(registrar, daytime);
  const pu = startPu(registrar);
  try {
    const a = await connectEndpoint(pe.pe.address, { framing: "framed", timeout: 2000 });
    const m = await receiveWithin(a);
    assert.equal(m?.ppid, 0);
    assert.match(new TextDecoder().decode(m.data), DAYTIME);
    assert.equal(await receiveWithin(a), null);

    const session = await pu.connect("DaytimePool");
    const lines: string[] = [];
    const result = await daytime.use(session, {
      count: 2,
      interval: 0,
      size: 0,
      print: (l) => lines.push(l),
    });
    assert.equal(result.ok, true, result.detail);
    assert.equal(lines.length, 2);
    await session.close();
  } finally {
    await pu.close();
    await pe.stop();
  }
});

Deno.test("CharGen PE: 1024-byte pattern messages with PPID 0 until the PU leaves", async () => {
  await using registrar = await startRegistrar("tcp");
  const pe = await startServicePe(registrar, chargen);
  const pu = startPu(registrar);
  try {
    const a = await connectEndpoint(pe.pe.address, { framing: "framed", timeout: 2000 });
    for (let i = 0; i < 5; i++) {
      const m = await receiveWithin(a);
      assert.equal(m?.ppid, 0);
      assert.deepEqual(m.data, chargenMessage());
    }
    a.abort();

    const session = await pu.connect("CharGenPool");
    const result = await chargen.use(session, { count: 50, interval: 0, size: 0, print: () => {} });
    assert.equal(result.ok, true, result.detail);
    assert.equal(result.completed, 50);
    await session.close();
  } finally {
    await pu.close();
    await pe.stop();
  }
});
