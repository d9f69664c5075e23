// Byte-level tests of the service messages against RSPLIB's header definitions
// (pingpongpackets.h, calcapppackets.h: packed structs, network byte order) and the payloads of
// its standard services (standardservices.cc).

import assert from "node:assert/strict";
import {
  CALCAPP_TYPES,
  decodeCalcApp,
  decodeCalcAppCookie,
  encodeCalcApp,
  encodeCalcAppCookie,
  PPID_CALCAPP,
} from "../../services/calc_app_messages.ts";
import { chargenMessage } from "../../services/chargen.ts";
import { daytimeLine } from "../../services/daytime.ts";
import {
  decodePingPong,
  decodePingPongCookie,
  encodePingPong,
  encodePingPongCookie,
  PPID_PINGPONG,
} from "../../services/ping_pong.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("PingPong PPIDs are RSPLIB's: 33 for PPP, 34 for CalcApp", () => {
  assert.equal(PPID_PINGPONG, 33);
  assert.equal(PPID_CALCAPP, 34);
});

Deno.test("Ping: type 1, flags, length of the whole message, u64 MessageNo, data", () => {
  const bytes = encodePingPong({ type: "ping", messageNo: 0x0102030405060708n, data: ascii("ab") });
  assert.equal(hex(bytes), "01" + "00" + "000e" + "0102030405060708" + "6162");
  const back = decodePingPong(bytes);
  assert.ok(back?.type === "ping");
  assert.equal(back.messageNo, 0x0102030405060708n);
  assert.deepEqual(back.data, ascii("ab"));
});

Deno.test("Pong: type 2, length, MessageNo, ReplyNo, data", () => {
  const bytes = encodePingPong({
    type: "pong",
    messageNo: 5n,
    replyNo: 0x1_0000_0001n,
    data: ascii("x"),
  });
  assert.equal(
    hex(bytes),
    "02" + "00" + "0015" + "0000000000000005" + "0000000100000001" + "78",
  );
  const back = decodePingPong(bytes);
  assert.ok(back?.type === "pong");
  assert.equal(back.messageNo, 5n);
  assert.equal(back.replyNo, 0x1_0000_0001n);
  assert.deepEqual(back.data, ascii("x"));
});

Deno.test("PingPong decoding refuses what RSPLIB refuses", () => {
  assert.equal(decodePingPong(new Uint8Array([1, 0, 0])), undefined); // shorter than the header
  assert.equal(decodePingPong(Uint8Array.from([3, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 1])), undefined);
  // A ping whose Length is less than its header.
  assert.equal(decodePingPong(Uint8Array.from([1, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 1])), undefined);
  // A pong of ping size.
  assert.equal(decodePingPong(Uint8Array.from([2, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 1])), undefined);
  // The data is what Length says, not what follows it.
  const ping = encodePingPong({ type: "ping", messageNo: 1n, data: ascii("abc") });
  const padded = new Uint8Array([...ping, 0, 0, 0]);
  assert.deepEqual(decodePingPong(padded)?.data, ascii("abc"));
});

Deno.test("PingPong cookie: '<PP-TD1>' then the u64 ReplyNo, 16 bytes", () => {
  const bytes = encodePingPongCookie(0x0a0b0c0dn);
  assert.equal(hex(bytes), hex(ascii("<PP-TD1>")) + "000000000a0b0c0d");
  assert.equal(decodePingPongCookie(bytes), 0x0a0b0c0dn);
  const wrongId = bytes.slice();
  wrongId[7] = 0x3f;
  assert.equal(decodePingPongCookie(wrongId), undefined);
  assert.equal(decodePingPongCookie(new Uint8Array([...bytes, 0])), undefined);
  assert.equal(decodePingPongCookie(bytes.subarray(0, 15)), undefined);
});

Deno.test("CalcApp message: 24 bytes, type, flags, length 24, u32 JobID, u64 JobSize, u64 Completed", () => {
  assert.deepEqual(CALCAPP_TYPES, {
    request: 1,
    accept: 2,
    reject: 3,
    abort: 4,
    complete: 5,
    keepalive: 6,
    "keepalive-ack": 7,
  });
  const request = encodeCalcApp({
    type: "request",
    jobId: 0x01020304,
    jobSize: 5_000_000,
    completed: 0,
  });
  assert.equal(
    hex(request),
    "01" + "00" + "0018" + "01020304" + "00000000004c4b40" + "0000000000000000",
  );
  const complete = encodeCalcApp({
    type: "complete",
    jobId: 7,
    jobSize: 2 ** 40,
    completed: 1234.6, // RSPLIB rounds its doubles with rint()
  });
  assert.equal(
    hex(complete),
    "05" + "00" + "0018" + "00000007" + "0000010000000000" + "00000000000004d3",
  );
  for (const [type, code] of Object.entries(CALCAPP_TYPES)) {
    const bytes = encodeCalcApp({
      type: type as keyof typeof CALCAPP_TYPES,
      jobId: 1,
      jobSize: 0,
      completed: 0,
    });
    assert.equal(bytes.length, 24);
    assert.equal(bytes[0], code);
    assert.equal(decodeCalcApp(bytes)?.type, type);
  }
  assert.deepEqual(decodeCalcApp(complete), {
    type: "complete",
    flags: 0,
    jobId: 7,
    jobSize: 2 ** 40,
    completed: 1235,
  });
});

Deno.test("CalcApp decoding: at least 24 bytes and a known type; Length is not looked at", () => {
  const keepAlive = encodeCalcApp({ type: "keepalive", jobId: 3, jobSize: 0, completed: 0 });
  assert.equal(decodeCalcApp(keepAlive.subarray(0, 23)), undefined);
  const unknown = keepAlive.slice();
  unknown[0] = 8;
  assert.equal(decodeCalcApp(unknown), undefined);
  const oddLength = keepAlive.slice();
  oddLength[3] = 99;
  assert.equal(decodeCalcApp(oddLength)?.type, "keepalive");
});

Deno.test("CalcApp cookie: u32 JobID, u64 JobSize, u64 Completed, 20 bytes", () => {
  const bytes = encodeCalcAppCookie({ jobId: 0xdeadbeef, jobSize: 1000, completed: 250.4 });
  assert.equal(hex(bytes), "deadbeef" + "00000000000003e8" + "00000000000000fa");
  assert.deepEqual(decodeCalcAppCookie(bytes), {
    jobId: 0xdeadbeef,
    jobSize: 1000,
    completed: 250,
  });
  assert.equal(decodeCalcAppCookie(bytes.subarray(0, 19)), undefined);
});

Deno.test("Daytime line: strftime '%A, %d-%B-%Y %H:%M:%S' in local time, microseconds, newline", () => {
  const t = new Date(2026, 0, 5, 4, 3, 7).getTime() * 1000 + 42;
  assert.equal(daytimeLine(t), "Monday, 05-January-2026 04:03:07.000042\n");
  const u = new Date(2024, 11, 31, 23, 59, 59, 999).getTime() * 1000 + 999;
  assert.equal(daytimeLine(u), "Tuesday, 31-December-2024 23:59:59.999999\n");
});

Deno.test("CharGen message: 1024 bytes, byte i = 30 + i % 98", () => {
  const m = chargenMessage();
  assert.equal(m.length, 1024);
  assert.equal(m[0], 30);
  assert.equal(m[97], 127);
  assert.equal(m[98], 30);
  assert.equal(m[1023], 30 + (1023 % 98));
});
