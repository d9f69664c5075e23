/**
 * tshark decodes a live capture of our SCTP-over-UDP traffic (a non-default UDP port decoded
 * as SCTP with `-d udp.port==N,sctp`): every chunk type the stack sends, CRC32c checksums
 * verified good, no Malformed packet and no expert error.
 */

import assert from "node:assert/strict";
import { connectSctp, listenSctp } from "../../transport/sctp/mod.ts";
import { acceptWithin, receiveWithin, within } from "../support/deadline.ts";
import { captureLoopback } from "../support/sctp_capture.ts";
import { fieldValues, ignoreWithoutTshark, runTshark, tsharkAvailable } from "../support/tshark.ts";
import { decodePcap } from "../support/tshark.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const ignore = await ignoreWithoutTshark();

Deno.test({
  name: "sctp/tshark: our traffic decodes as SCTP with good CRC32c and nothing malformed",
  ...sanitized,
  ignore,
  async fn() {
    assert.ok(await tsharkAvailable(), "tshark is required (CI=true)");
    await runTshark(["--version"]);
    const dir = await Deno.makeTempDir({ prefix: "sctp_tshark_" });
    try {
      const tuning = { heartbeatInterval: 50, rtoInitial: 100, rtoMin: 50 };
      const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, ...tuning });
      const port = listener.addresses[0].port;
      const capture = await captureLoopback(`udp port ${port}`, `${dir}/sctp.pcapng`);
      let clientPort = 0;
      try {
        // An association with data of every shape, heartbeats and a graceful shutdown.
        const accepted = acceptWithin(listener);
        const client = await within(
          connectSctp({ hostname: "127.0.0.1", port, ...tuning }),
          "association",
        );
        clientPort = client.localAddresses[0].port;
        const server = (await accepted)!;
        const sizes = [1, 100, 1172, 1173, 5000, 65_536];
        for (const [i, size] of sizes.entries()) {
          const data = new Uint8Array(size).fill(i + 1);
          await client.send(data, { ppid: 4242, stream: i % 3, unordered: i === 2 });
          const m = await receiveWithin(server);
          assert.equal(m?.data.length, size);
          await server.send(m!.data, { ppid: 4243, stream: m!.stream });
          assert.equal((await receiveWithin(client))?.data.length, size);
        }
        await new Promise((r) => setTimeout(r, 250)); // heartbeats on the idle association
        await within(client.close(), "shutdown");
        assert.equal(await receiveWithin(server), null);
        // An association ended by ABORT.
        const accepted2 = acceptWithin(listener);
        const client2 = await within(
          connectSctp({ hostname: "127.0.0.1", port, ...tuning }),
          "association",
        );
        const server2 = (await accepted2)!;
        // The listener is told communication-up first (it came before it was registered).
        const lost = new Promise((resolve) =>
          server2.onEvent((e) => {
            if (e.type !== "communication-up") resolve(e);
          })
        );
        client2.abort("test abort");
        assert.deepEqual(await within(lost, "communication-lost"), {
          type: "communication-lost",
          reason: "Peer aborted (cause 12)",
        });
      } finally {
        await capture.stop();
        await listener.close();
      }
      const packets = await decodePcap(`${dir}/sctp.pcapng`, {
        preferences: { "sctp.checksum": "CRC 32c" },
        decodeAs: [`udp.port==${port},sctp`, `udp.port==${clientPort},sctp`],
      });
      assert.ok(packets.length > 20, `only ${packets.length} packets captured`);
      const chunkTypes = new Set<number>();
      const problems: string[] = [];
      for (const p of packets) {
        if (!p.protocols.includes("sctp")) problems.push(`frame ${p.number}: ${p.protocols}`);
        if (p.malformed) problems.push(`frame ${p.number}: malformed\n${p.text.slice(-1500)}`);
        for (const e of p.experts) {
          if (e.severity === "Error" || e.severity === "Warning") {
            problems.push(`frame ${p.number}: ${e.severity}/${e.group}: ${e.message}`);
          }
        }
        const status = fieldValues(p.layers, "sctp.checksum.status");
        if (status.length !== 1 || status[0] !== "1") {
          problems.push(`frame ${p.number}: checksum status ${status}`);
        }
        for (const t of fieldValues(p.layers, "sctp.chunk_type")) chunkTypes.add(Number(t));
      }
      assert.deepEqual(problems, []);
      // DATA, INIT, INIT ACK, SACK, HEARTBEAT, HEARTBEAT ACK, ABORT, SHUTDOWN, SHUTDOWN ACK,
      // COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE.
      assert.deepEqual([...chunkTypes].sort((a, b) => a - b), [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        10,
        11,
        14,
      ]);
      // Fragments: a 65,536-byte message in B, middle and E pieces.
      const ppids = packets.flatMap((p) => fieldValues(p.layers, "sctp.data_payload_proto_id"));
      assert.ok(ppids.includes("4242") && ppids.includes("4243"));
    } finally {
      if (Deno.env.get("KEEP_PCAP") === undefined) await Deno.remove(dir, { recursive: true });
      else console.log(dir);
    }
  },
});
