import assert from "node:assert/strict";
import { dropsInProcNetUdp, udpReceiveDrops } from "../../transport/sctp/udp_drops.ts";

const HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt" +
  "   uid  timeout inode ref pointer drops\n";
const line = (sl: number, local: string, drops: number) =>
  `  ${sl}: ${local} 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 ` +
  `${1000 + sl} 2 0000000000000000 ${drops}\n`;

Deno.test("dropsInProcNetUdp sums the drops of the sockets on the given ports", () => {
  const text = HEADER + line(1, "0100007F:2654", 17) + line(2, "00000000:0035", 5) +
    line(3, "0100007F:2654", 3);
  assert.equal(dropsInProcNetUdp(text, new Set([0x2654])), 20);
  assert.equal(dropsInProcNetUdp(text, new Set([0x35, 0x2654])), 25);
  assert.equal(dropsInProcNetUdp(text, new Set([9])), 0);
  // udp6: the address is longer, the port still follows the last colon.
  const v6 = HEADER + line(1, "00000000000000000000000001000000:2654", 4);
  assert.equal(dropsInProcNetUdp(v6, new Set([0x2654])), 4);
  assert.equal(dropsInProcNetUdp("garbage\n\n", new Set([0x2654])), 0);
});

Deno.test("udpReceiveDrops: unknown where the files cannot be read", async () => {
  const missing = () => Promise.reject(new Deno.errors.NotFound("no /proc"));
  assert.equal(await udpReceiveDrops([9899], missing), undefined);
});

Deno.test({
  name: "udpReceiveDrops counts what a socket that is not read drops (Linux)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const quiet = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      const port = (quiet.addr as Deno.NetAddr).port;
      assert.equal(await udpReceiveDrops([port]), 0);
      // Far more than its receive buffer holds, never read.
      const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
      const datagram = new Uint8Array(1000);
      for (let i = 0; i < 2000; i++) await sender.send(datagram, to);
      const drops = await udpReceiveDrops([port]);
      assert.ok(drops !== undefined && drops > 0, `drops: ${drops}`);
      assert.ok(drops < 2000);
    } finally {
      quiet.close();
      sender.close();
    }
  },
});
