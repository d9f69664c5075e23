/**
 * Interoperability with usrsctp over UDP encapsulation on 127.0.0.1: our client against
 * usrsctp's `echo_server`, and usrsctp's `client` against our echo server. usrsctp lists every
 * address of the host in its INIT and INIT ACK; the association must keep to loopback.
 */

import assert from "node:assert/strict";
import { connectSctp, listenSctp, TransportError } from "../../transport/sctp/mod.ts";
import {
  freeUdpPort,
  ignoreWithoutUsrsctp,
  startUsrsctp,
  usrsctpAvailable,
} from "../support/usrsctp.ts";
import { acceptWithin, receiveWithin, within } from "../support/deadline.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const ignore = await ignoreWithoutUsrsctp();

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + seed * 13 + (i >> 8)) & 0xff;
  return out;
}

Deno.test({
  name: "sctp/usrsctp: our client against usrsctp's echo_server, 1 B to 64 KiB",
  ...sanitized,
  ignore,
  async fn() {
    assert.ok(await usrsctpAvailable(), "libusrsctp-examples is required (CI=true)");
    const ourUdp = await freeUdpPort();
    const theirUdp = await freeUdpPort();
    await using server = startUsrsctp("echo_server", [String(theirUdp), String(ourUdp)]);
    // echo_server binds its UDP port before it listens, and answers an INIT with ABORT in
    // between: an ABORT while it starts means "try again".
    const connect = () =>
      connectSctp({
        hostname: "127.0.0.1",
        port: 7,
        udpPort: ourUdp,
        remoteUdpPort: theirUdp,
        rtoInitial: 200,
        maxInitRetransmits: 10,
      });
    let client = await connect().catch((e) => e as Error);
    for (let i = 0; i < 20 && client instanceof TransportError && client.code === "refused"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      client = await connect().catch((e) => e as Error);
    }
    if (client instanceof Error) throw client;
    try {
      // usrsctp listed all its addresses; only loopback is in scope.
      assert.deepEqual(client.remoteAddresses.map((a) => a.hostname), ["127.0.0.1"]);
      const sizes = [1, 2, 3, 100, 1000, 1171, 1172, 1173, 1200, 4096, 10_000, 10_240];
      const large = [10_241, 20_000, 32_768, 65_535, 65_536];
      let n = 0;
      for (const size of [...sizes, ...large]) {
        const stream = n % 10;
        const data = pattern(size, n++);
        await client.send(data, { ppid: 4000 + size, stream });
        const echoed = await receiveWithin(client);
        assert.ok(echoed !== null, `no echo of ${size} bytes`);
        assert.equal(echoed.ppid, 4000 + size);
        assert.equal(echoed.stream, stream);
        // echo_server reads 10,240 bytes at a time and echoes only the read ending a message.
        const tail = size % 10_240 === 0 ? 10_240 : size % 10_240;
        assert.deepEqual(echoed.data, data.subarray(size - Math.min(size, tail)), `${size} bytes`);
      }
      // Its log shows each large message arrived whole: pieces adding up to the size.
      await server.waitFor(/length 4096 received[^\n]*complete 1/);
      const pieces = [...server.output().matchAll(/Msg of length (\d+) .* complete (\d)/g)];
      const totals: number[] = [];
      let sum = 0;
      for (const [, length, complete] of pieces) {
        sum += Number(length);
        if (complete === "1") {
          totals.push(sum);
          sum = 0;
        }
      }
      assert.deepEqual(totals, [...sizes, ...large]);
      // Unordered messages go through too.
      await client.send(pattern(500, 99), { unordered: true, ppid: 7 });
      const u = await receiveWithin(client);
      assert.equal(u?.unordered, true);
      assert.deepEqual(u?.data, pattern(500, 99));
      const events: string[] = [];
      client.onEvent((e) => events.push(e.type));
      await within(client.close(), "shutdown");
      assert.deepEqual(events, ["communication-up", "shutdown"]);
    } finally {
      client.abort();
    }
  },
});

Deno.test({
  name: "sctp/usrsctp: usrsctp's client against our echo server",
  ...sanitized,
  ignore,
  async fn() {
    assert.ok(await usrsctpAvailable(), "libusrsctp-examples is required (CI=true)");
    const ourUdp = await freeUdpPort();
    const theirUdp = await freeUdpPort();
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 7007, udpPort: ourUdp });
    const received: number[] = [];
    const events: string[] = [];
    const serving = (async () => {
      const association = await acceptWithin(listener);
      assert.ok(association !== null);
      association.onEvent((e) => events.push(e.type));
      assert.deepEqual(association.remoteAddresses.map((a) => a.hostname), ["127.0.0.1"]);
      for await (const m of association) {
        received.push(m.data.length);
        await association.send(m.data, { ppid: m.ppid, stream: m.stream });
      }
    })();
    try {
      // Lines of 1 to 79 bytes plus newline, then a 64 KiB line (sent as 79-byte messages).
      let input = "";
      for (let i = 0; i < 79; i++) {
        input += "abcdefghijklmnopqrstuvwxyz".repeat(4).slice(0, i) + "\n";
      }
      for (let i = 0; i < 65_536; i++) input += String.fromCharCode(33 + ((i * 7) % 90));
      input += "\n";
      const bytes = new TextEncoder().encode(input);
      await using client = startUsrsctp("client", [
        "127.0.0.1",
        "7007",
        "0",
        String(theirUdp),
        String(ourUdp),
      ], { lineBuffered: false });
      await client.finishInput(bytes);
      const status = await client.exit(20_000);
      assert.equal(status.success, true, `client failed: ${client.output()}`);
      await within(serving, "end of the echo server");
      const out = client.output();
      // The echoed data comes first (written unbuffered), then the notifications.
      assert.ok(out.startsWith(input), `echo differs: ${out.length} bytes for ${input.length}`);
      assert.match(out.slice(input.length), /SCTP_COMM_UP/);
      assert.match(out, /Peer addresses: 127\.0\.0\.1\.\n/);
      assert.match(out, /SCTP_SHUTDOWN_COMP/);
      assert.equal(received.reduce((a, b) => a + b, 0), bytes.length);
      assert.equal(Math.max(...received), 79);
      assert.deepEqual(events, ["communication-up", "shutdown"]);
    } finally {
      await listener.close();
    }
  },
});
