/**
 * ASAP and ENRP control traffic on a TCP association with `rserpool` framing decodes in tshark
 * from a live loopback capture: one message per segment, each as its message type, with no
 * Malformed marker and no expert error.
 */

import assert from "node:assert/strict";
import { AsapMessageType, encodeAsapMessage } from "../../asap/mod.ts";
import { encodeEnrpMessage, EnrpMessageType } from "../../enrp/mod.ts";
import { type Association, connectTcp, listenTcp } from "../../transport/tcp/mod.ts";
import { decodeCapture, startCapture } from "../support/capture.ts";
import { asapSamples, enrpSamples } from "../support/messages.ts";
import { fieldValues, ignoreWithoutTshark, type TsharkPacket } from "../support/tshark.ts";
import { receiveWithin } from "../support/deadline.ts";

const ignore = await ignoreWithoutTshark();

/** The message to send and its expected type code. */
interface Sent {
  bytes: Uint8Array;
  type: number;
}

/**
 * Captures an rserpool-framed association: the client sends each message, the server echoes
 * it with RSPLIB's padded length, one at a time so that the connection is idle before each.
 * Returns the capture path and the port.
 */
async function captureExchange(
  ppid: number,
  messages: readonly Sent[],
  dir: string,
): Promise<{ path: string; port: number }> {
  await using listener = await listenTcp({
    hostname: "127.0.0.1",
    port: 0,
    framing: "rserpool",
    ppid,
  });
  const port = listener.addresses[0].port;
  const capture = await startCapture({ filter: `tcp port ${port}`, path: `${dir}/tcp.pcapng` });
  try {
    const accepted = listener.accept();
    const client: Association = await connectTcp({
      hostname: "127.0.0.1",
      port,
      framing: "rserpool",
      ppid,
    });
    const server = (await accepted)!;
    for (const { bytes } of messages) {
      await client.send(bytes);
      const request = await receiveWithin(server);
      assert.deepEqual(request?.data, bytes);
      const rsplib = request!.data.slice();
      new DataView(rsplib.buffer).setUint16(2, rsplib.length);
      await server.send(rsplib);
      assert.deepEqual((await receiveWithin(client))?.data, rsplib);
    }
    await client.close();
    await server.close();
    // Both FINs in the file means every segment before them is there too.
    await capture.waitFor("tcp.flags.fin == 1", 2);
  } finally {
    await capture.stop();
  }
  return { path: `${dir}/tcp.pcapng`, port };
}

/** Checks that the packets carrying `protocol` are exactly the messages sent, each echoed. */
function check(packets: TsharkPacket[], protocol: "asap" | "enrp", messages: readonly Sent[]) {
  const carrying = packets.filter((p) => p.protocols.includes(protocol));
  const problems: string[] = [];
  assert.equal(carrying.length, 2 * messages.length, "one segment per message, both ways");
  carrying.forEach((packet, i) => {
    const expected = messages[i >> 1].type;
    const types = fieldValues(packet.layers[protocol], `${protocol}.message_type`);
    if (Number(types[0]) !== expected) {
      problems.push(`frame ${packet.number}: type ${types}, expected ${expected}`);
    }
    if (packet.malformed) problems.push(`frame ${packet.number}: [Malformed Packet]`);
    for (const e of packet.experts) {
      if (e.severity === "Error" || e.group === "Malformed") {
        problems.push(`frame ${packet.number}: expert ${e.severity}/${e.group}: ${e.message}`);
      }
    }
  });
  assert.deepEqual(problems, []);
}

Deno.test({
  name: "tshark decodes every ASAP message of an rserpool-framed TCP association",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const messages = asapSamples().map((m) => ({
        bytes: encodeAsapMessage(m),
        type: AsapMessageType[m.type],
      }));
      const { path, port } = await captureExchange(11, messages, dir);
      const packets = await decodeCapture(path, ["-d", `tcp.port==${port},asap`]);
      check(packets, "asap", messages);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tshark decodes every ENRP message of an rserpool-framed TCP association",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const messages = enrpSamples().map((m) => ({
        bytes: encodeEnrpMessage(m),
        type: EnrpMessageType[m.type],
      }));
      const { path, port } = await captureExchange(12, messages, dir);
      // The shared script puts ENRP on TCP 9901; the same two lines for the port used here.
      const shared = await Deno.readTextFile(
        new URL("../../../shared/tshark/enrp_tcp.lua", import.meta.url),
      ).catch(() =>
        'local enrp = DissectorTable.get("udp.port"):get_dissector(9901)\n' +
        'DissectorTable.get("tcp.port"):add(9901, enrp)\n'
      );
      const script = shared.replace(/:add\(9901,/, `:add(${port},`);
      assert.notEqual(script, shared, "the script registers ENRP on a TCP port");
      await Deno.writeTextFile(`${dir}/enrp_tcp.lua`, script);
      const packets = await decodeCapture(path, ["-X", `lua_script:${dir}/enrp_tcp.lua`]);
      check(packets, "enrp", messages);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
