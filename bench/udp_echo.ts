// Raw UDP echo servers for benchmarks: node:dgram and (when the runtime has it)
// Deno.listenDatagram. Prints {"port": N, "denoPort": M}, echoes until killed.

import dgram from "node:dgram";
import { denoUdpEcho } from "./udp_pingpong.ts";

const socket = dgram.createSocket({ type: "udp4" });
socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind({ address: "127.0.0.1", port: 0 }, () => {
  console.log(JSON.stringify({ port: socket.address().port, denoPort: denoUdpEcho().port }));
});
