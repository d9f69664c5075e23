import assert from "node:assert/strict";
import {
  type DenoDatagramConn,
  DenoUdpSocket,
  type ListenDatagram,
} from "../../transport/sctp/udp_socket.ts";

/**
 * A stand-in for `Deno.listenDatagram` (a stalled runtime receive cannot be made on purpose):
 * the first socket's receive never completes, as seen under overload; later ones deliver
 * `later` datagrams and then wait until closed.
 */
function stallingListen(later: number, busyOnce = false) {
  const binds: number[] = [];
  let busy = busyOnce;
  const listen: ListenDatagram = ({ port }) => {
    if (port !== 0 && busy) {
      // The old socket is let go of a turn of the event loop after its close.
      busy = false;
      throw new Deno.errors.AddrInUse("Address already in use");
    }
    const n = binds.push(port);
    let queued = n === 1 ? 0 : later;
    let fail: ((e: Error) => void) | undefined;
    const conn: DenoDatagramConn = {
      addr: { port: port === 0 ? 40000 : port },
      receive: () =>
        queued-- > 0
          ? Promise.resolve([new Uint8Array([n]), { hostname: "127.0.0.1", port: 9 }])
          : new Promise((_, reject) => fail = reject),
      send: () => Promise.resolve(0),
      close: () => fail?.(new Deno.errors.BadResource("closed")),
    };
    return conn;
  };
  return { listen, binds };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("DenoUdpSocket: a receive stalled while the kernel drops is bound anew on its port", async () => {
  const { listen, binds } = stallingListen(2, true);
  let drops = 100;
  const got: number[] = [];
  const socket = new DenoUdpSocket(listen, "127.0.0.1", 0, (b) => got.push(b[0]), {
    drops: () => drops += 50,
  });
  try {
    await wait(3500);
    assert.equal(socket.rebinds, 1);
    assert.deepEqual(binds, [0, 40000], "the same port again");
    assert.deepEqual(got, [2, 2], "the new socket's datagrams arrive");
  } finally {
    await socket.close();
  }
});

Deno.test("DenoUdpSocket: a quiet socket (no drops) or an unknown count is left alone", async () => {
  for (const count of [() => 7, () => undefined]) {
    const { listen, binds } = stallingListen(0);
    const socket = new DenoUdpSocket(listen, "127.0.0.1", 0, () => {}, {
      drops: () => count(),
    });
    try {
      await wait(3500);
      assert.equal(socket.rebinds, 0);
      assert.equal(binds.length, 1);
    } finally {
      await socket.close();
    }
  }
});
