/**
 * Child of sctp_udp_api_test.ts, run without `--unstable-net`: connects to the port given,
 * sends 5000 bytes, expects them back reversed, prints what it found as JSON.
 */

import { SctpEndpoint } from "../../transport/sctp/mod.ts";

const endpoint = await SctpEndpoint.open({ hostname: "127.0.0.1" });
const a = await endpoint.connect({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
const data = new Uint8Array(5000).map((_, i) => i & 0xff);
await a.send(data, { ppid: 7 });
const m = await a.receive();
const ok = m !== null && m.data.length === data.length &&
  m.data.every((v, i) => v === data[data.length - 1 - i]);
await a.close();
await endpoint.destroy();
console.log(JSON.stringify({
  listenDatagram: typeof (Deno as unknown as Record<string, unknown>).listenDatagram,
  udpApi: endpoint.udpApi,
  ok,
}));
