// A raw UDP echo server (node:dgram) for benchmarks: prints {"port": N}, echoes until killed.

import dgram from "node:dgram";

const socket = dgram.createSocket({ type: "udp4" });
socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind({ address: "127.0.0.1", port: 0 }, () => {
  console.log(JSON.stringify({ port: socket.address().port }));
});
