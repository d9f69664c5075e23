/**
 * The two UDP APIs under an SCTP endpoint: `Deno.listenDatagram` (with `--unstable-net`, one
 * reused receive buffer) and `node:dgram` (the fallback without it). Both carry small and
 * fragmented messages intact in both directions, between each other too, and a process
 * started without `--unstable-net` falls back to `node:dgram` and still works.
 */

import assert from "node:assert/strict";
import { SctpEndpoint } from "../../transport/sctp/mod.ts";
import type { Association } from "../../transport/types.ts";
import { acceptWithin, receiveWithin, within } from "../support/deadline.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

function pattern(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seed * 131 + i * 7) & 0xff;
  return data;
}

/** Sends messages of several sizes one way and checks every byte on the other side. */
async function exchange(from: Association, to: Association, seed: number): Promise<void> {
  const sizes = [1, 100, 1172, 1173, 5000, 70_000, 300_000];
  for (let round = 0; round < 20; round++) sizes.push(1 + ((round * 7919) % 3000));
  const receiving = (async () => {
    const got: Uint8Array[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const m = await to.receive();
      assert.ok(m !== null, `association ended after ${i} messages`);
      got.push(m.data);
    }
    return got;
  })();
  for (let i = 0; i < sizes.length; i++) await from.send(pattern(sizes[i], seed + i), { ppid: 9 });
  const got = await receiving;
  for (let i = 0; i < sizes.length; i++) {
    assert.deepEqual(got[i], pattern(sizes[i], seed + i), `message ${i} of ${sizes[i]} bytes`);
  }
  // Messages handed to the application do not share the receive buffer.
  assert.ok(new Set(got.map((d) => d.buffer)).size === got.length);
}

for (
  const [serverApi, clientApi] of [["deno", "deno"], ["node", "node"], ["deno", "node"]] as const
) {
  Deno.test({
    name: `sctp: ${serverApi} server and ${clientApi} client carry messages both ways`,
    ...sanitized,
    async fn() {
      assert.equal(typeof Deno.listenDatagram, "function", "tests run with --unstable-net");
      const server = await SctpEndpoint.open({ hostname: "127.0.0.1", udpApi: serverApi });
      server.listen();
      const client = await SctpEndpoint.open({ hostname: "127.0.0.1", udpApi: clientApi });
      assert.equal(server.udpApi, serverApi);
      assert.equal(client.udpApi, clientApi);
      try {
        const accepted = acceptWithin(server);
        const a = await within(
          client.connect({ hostname: "127.0.0.1", port: server.addresses[0].port }),
          "association",
        );
        const b = (await accepted)!;
        await within(exchange(a, b, 1), "exchange");
        await within(exchange(b, a, 2), "exchange");
        await within(a.close(), "shutdown");
        assert.equal(await receiveWithin(b), null);
      } finally {
        await client.destroy();
        await server.destroy();
      }
    },
  });
}

Deno.test({
  name: "sctp: without --unstable-net an endpoint falls back to node:dgram",
  ...sanitized,
  async fn() {
    const server = await SctpEndpoint.open({ hostname: "127.0.0.1" });
    server.listen();
    const script = new URL("./sctp_udp_api_peer.ts", import.meta.url).pathname;
    // --no-config: deno.json's "unstable": ["net"] does not apply.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", script, String(server.addresses[0].port)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    try {
      const b = (await acceptWithin(server, 30_000))!;
      const m = await receiveWithin(b);
      assert.ok(m !== null);
      await b.send(m.data.slice().reverse(), { ppid: m.ppid });
      const { code, stdout, stderr } = await within(output, "end of the child", 30_000);
      const text = new TextDecoder().decode(stdout);
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      assert.deepEqual(JSON.parse(text), { listenDatagram: "undefined", udpApi: "node", ok: true });
    } finally {
      // A child that did not end in time is killed, and awaited either way.
      try {
        child.kill("SIGKILL");
      } catch {
        // ended already
      }
      await output.catch(() => {});
      await server.destroy();
    }
  },
});
