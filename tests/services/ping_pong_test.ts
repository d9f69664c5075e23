// PingPong end to end over real sockets: the bytes our PE sends, a session of our PU with our
// PE, and failover that keeps the reply numbers going by the cookie.

import assert from "node:assert/strict";
import { decodeAsapMessage, encodeAsapMessage } from "../../asap/codec.ts";
import { ASAP_PPID, connectEndpoint } from "../../asap/connect.ts";
import {
  createPingPong,
  decodePingPongCookie,
  encodePingPong,
  encodePingPongCookie,
  pingPong,
  PPID_PINGPONG,
} from "../../services/ping_pong.ts";
import { startPu, startRegistrar, startServicePe, waitFor } from "./helpers.ts";
import { receiveWithin } from "../support/deadline.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

for (const protocol of ["tcp", "sctp"] as const) {
  Deno.test(`PingPong PE ${protocol}: pong with PPID 33, then a 16-byte cookie with the next reply number`, async () => {
    await using registrar = await startRegistrar(protocol);
    const { pe, stop } = await startServicePe(registrar, pingPong, { protocol });
    try {
      const a = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
      try {
        for (const n of [1n, 2n]) {
          await a.send(encodePingPong({ type: "ping", messageNo: 10n + n, data: ascii("hi") }), {
            ppid: PPID_PINGPONG,
          });
          const pong = await receiveWithin(a);
          assert.equal(pong?.ppid, PPID_PINGPONG);
          assert.deepEqual(
            pong.data,
            encodePingPong({ type: "pong", messageNo: 10n + n, replyNo: n, data: ascii("hi") }),
          );
          const cookie = await receiveWithin(a);
          assert.equal(cookie?.ppid, ASAP_PPID);
          const asap = decodeAsapMessage(cookie.data);
          assert.ok(asap.type === "cookie");
          assert.deepEqual(asap.cookie, encodePingPongCookie(n + 1n));
        }
      } finally {
        await a.close();
      }

      // A COOKIE_ECHO as the first message sets the reply number.
      const b = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
      try {
        await b.send(
          encodeAsapMessage({ type: "cookie-echo", cookie: encodePingPongCookie(41n) }),
          {
            ppid: ASAP_PPID,
          },
        );
        await b.send(encodePingPong({ type: "ping", messageNo: 1n, data: new Uint8Array() }), {
          ppid: PPID_PINGPONG,
        });
        const pong = await receiveWithin(b);
        assert.deepEqual(
          pong?.data,
          encodePingPong({ type: "pong", messageNo: 1n, replyNo: 41n, data: new Uint8Array() }),
        );
      } finally {
        await b.close();
      }
    } finally {
      await stop();
    }
  });
}

Deno.test("PingPong PE aborts on a bad cookie, a late COOKIE_ECHO and a message that is no ping", async () => {
  await using registrar = await startRegistrar("tcp");
  const { pe, stop } = await startServicePe(registrar, pingPong);
  try {
    const cases: [string, [Uint8Array, number][]][] = [
      ["wrong cookie id", [[
        encodeAsapMessage({ type: "cookie-echo", cookie: ascii("<PP-TD2>12345678") }),
        ASAP_PPID,
      ]]],
      ["not a ping", [[ascii("PING 1"), PPID_PINGPONG]]],
      ["late cookie echo", [
        [encodePingPong({ type: "ping", messageNo: 1n, data: new Uint8Array() }), PPID_PINGPONG],
        [encodeAsapMessage({ type: "cookie-echo", cookie: encodePingPongCookie(5n) }), ASAP_PPID],
        [encodePingPong({ type: "ping", messageNo: 2n, data: new Uint8Array() }), PPID_PINGPONG],
      ]],
    ];
    for (const [what, messages] of cases) {
      const a = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
      for (const [data, ppid] of messages) await a.send(data, { ppid }).catch(() => {});
      const seen: number[] = [];
      for (;;) {
        const m = await receiveWithin(a);
        if (m === null) break;
        seen.push(m.ppid);
      }
      // Only the first ping of the last case is answered (pong and cookie), then the abort.
      assert.deepEqual(seen, what === "late cookie echo" ? [PPID_PINGPONG, ASAP_PPID] : [], what);
      a.abort();
    }
  } finally {
    await stop();
  }
});

Deno.test("PingPong session: our PU with our PE, reply numbers from 1, the last cookie kept", async () => {
  await using registrar = await startRegistrar("tcp");
  const { stop } = await startServicePe(registrar, pingPong);
  const pu = startPu(registrar);
  try {
    await using session = await pu.connect("PingPongPool");
    const lines: string[] = [];
    const result = await pingPong.use(session, {
      count: 5,
      interval: 0,
      size: 0,
      print: (l) => lines.push(l),
    });
    assert.equal(result.ok, true, result.detail);
    assert.equal(result.completed, 5);
    assert.deepEqual(lines.map((l) => JSON.parse(l).reply), [1, 2, 3, 4, 5]);
    // The cookie follows the last pong.
    await waitFor(
      () => session.cookie !== undefined && decodePingPongCookie(session.cookie) === 6n,
      "the last cookie",
    );
  } finally {
    await pu.close();
    await stop();
  }
});

Deno.test("PingPong failover: PEs that abort every 3 pongs; the cookie keeps the reply numbers without a gap", async () => {
  await using registrar = await startRegistrar("tcp");
  const failing = createPingPong({ failureAfter: 3 });
  const a = await startServicePe(registrar, failing);
  const b = await startServicePe(registrar, failing);
  const pu = startPu(registrar);
  try {
    await using session = await pu.connect("PingPongPool");
    const lines: string[] = [];
    const result = await failing.use(session, {
      count: 8,
      interval: 0,
      size: 0,
      print: (l) => lines.push(l),
    });
    assert.equal(result.ok, true, result.detail);
    assert.deepEqual(lines.map((l) => JSON.parse(l).reply), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(session.failovers >= 2, `failovers: ${session.failovers}`);
    const pes = new Set(lines.map((l) => JSON.parse(l).pe));
    assert.deepEqual(pes, new Set([a.pe.identifier, b.pe.identifier]));
  } finally {
    await pu.close();
    await a.stop();
    await b.stop();
  }
});
