/**
 * TLS associations: server certificate checks (CA, name), client certificates required through
 * the node:tls listener, both framings, large messages, close and abort.
 */

import assert from "node:assert/strict";
import { encodeAsapMessage } from "../../asap/mod.ts";
import {
  type Association,
  type AssociationListener,
  connectTcp,
  listenTcp,
  type TcpAssociationOptions,
  type TlsConnectOptions,
  type TlsListenOptions,
  TransportError,
} from "../../transport/tcp/mod.ts";
import { asapSamples } from "../support/messages.ts";
import { ending, receiveWithin } from "../support/deadline.ts";

const certs = new URL("../support/certs/", import.meta.url);
const pem = (name: string): string => Deno.readTextFileSync(new URL(name, certs));
const CA = pem("ca.crt");
const OTHER_CA = pem("other_ca.crt");
const SERVER = { cert: pem("server.crt"), key: pem("server.key") };
const CLIENT = { cert: pem("client.crt"), key: pem("client.key") };
const OTHER_CLIENT = { cert: pem("other_ca.crt"), key: pem("other_ca.key") };

interface Setup {
  listen?: Partial<TlsListenOptions>;
  connect?: TlsConnectOptions;
  options?: TcpAssociationOptions;
  hostname?: string;
}

async function tlsPair(setup: Setup = {}): Promise<{
  listener: AssociationListener;
  client: Association;
  server: Association;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const hostname = setup.hostname ?? "127.0.0.1";
  const listener = await listenTcp({
    hostname,
    port: 0,
    tls: { ...SERVER, ...setup.listen },
    ...setup.options,
  });
  try {
    const accepted = listener.accept();
    const client = await connectTcp({
      hostname,
      port: listener.addresses[0].port,
      tls: setup.connect ?? { caCerts: [CA] },
      ...setup.options,
    });
    const server = (await accepted)!;
    return {
      listener,
      client,
      server,
      async [Symbol.asyncDispose]() {
        client.abort();
        server.abort();
        await listener.close();
      },
    };
  } catch (error) {
    await listener.close();
    throw error;
  }
}

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Echoes on `server` and checks messages of several sizes, up to 1 MiB, on `client`. */
async function checkEcho(client: Association, server: Association): Promise<void> {
  const echo = (async () => {
    for await (const m of server) await server.send(m.data, { ppid: m.ppid, stream: m.stream });
  })();
  for (const [i, size] of [1, 17, 16384, 16385, 100_000, 1 << 20].entries()) {
    const data = pattern(size, i);
    await client.send(data, { ppid: 11 + (i % 2), stream: i });
    const back = await receiveWithin(client);
    assert.ok(back);
    assert.deepEqual(back.data, data);
    assert.deepEqual([back.ppid, back.stream], [11 + (i % 2), i]);
  }
  const [clientEnd, serverEnd] = [ending(client), ending(server)];
  await client.close();
  await echo;
  assert.deepEqual(await clientEnd, { type: "shutdown" });
  assert.deepEqual(await serverEnd, { type: "shutdown" });
}

function isTransportError(error: unknown): boolean {
  assert.ok(error instanceof TransportError, `not a TransportError: ${error}`);
  return true;
}

Deno.test("tls: an association checked against the CA works, by IP address", async () => {
  await using p = await tlsPair();
  assert.equal(p.client.protocol, "tls");
  assert.equal(p.server.protocol, "tls");
  await checkEcho(p.client, p.server);
});

Deno.test("tls: the server name can differ from the address connected to", async () => {
  await using p = await tlsPair({ connect: { caCerts: [CA], hostname: "localhost" } });
  await checkEcho(p.client, p.server);
});

Deno.test("tls: IPv6 loopback", async () => {
  await using p = await tlsPair({ hostname: "::1" });
  await checkEcho(p.client, p.server);
});

Deno.test("tls: rserpool framing carries ASAP messages", async () => {
  await using p = await tlsPair({ options: { framing: "rserpool", ppid: 11 } });
  const messages = asapSamples().map((m) => encodeAsapMessage(m));
  await Promise.all(messages.map((bytes) => p.client.send(bytes)));
  for (const bytes of messages) assert.deepEqual((await receiveWithin(p.server))?.data, bytes);
});

Deno.test("tls: a client trusting another CA fails with a TransportError", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0, tls: SERVER });
  const port = listener.addresses[0].port;
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port, tls: { caCerts: [OTHER_CA] } }),
    (error) => isTransportError(error) && /certificate|UnknownIssuer/i.test(String(error)),
  );
  // Without any CA of ours, the built-in roots do not know the test CA either.
  await assert.rejects(connectTcp({ hostname: "127.0.0.1", port, tls: {} }), isTransportError);
  // The listener accepted nothing from them, and still works.
  const accepted = listener.accept();
  const good = await connectTcp({ hostname: "127.0.0.1", port, tls: { caCerts: [CA] } });
  const server = (await accepted)!;
  assert.deepEqual(server.remoteAddresses, good.localAddresses);
  await Promise.all([good.close(), server.close()]);
});

Deno.test("tls: a server name the certificate is not valid for fails", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0, tls: SERVER });
  const port = listener.addresses[0].port;
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port, tls: { caCerts: [CA], hostname: "example.com" } }),
    (error) => isTransportError(error) && /not valid for name/.test(String(error)),
  );
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port, tls: { caCerts: [CA], hostname: "127.0.0.2" } }),
    isTransportError,
  );
});

Deno.test("tls: a plain TCP client cannot talk to a TLS listener", async () => {
  await using listener = await listenTcp({
    hostname: "127.0.0.1",
    port: 0,
    tls: SERVER,
    handshakeTimeout: 200,
  });
  const client = await connectTcp({ hostname: "127.0.0.1", port: listener.addresses[0].port });
  const end = ending(client);
  await client.send(new Uint8Array(100));
  assert.equal((await end).type, "communication-lost");
});

Deno.test("mtls: a client certificate from the CA is required and accepted", async () => {
  await using p = await tlsPair({
    listen: { caCerts: [CA], requireClientCertificate: true },
    connect: { caCerts: [CA], ...CLIENT },
  });
  assert.equal(p.server.protocol, "tls");
  assert.deepEqual(p.server.remoteAddresses, p.client.localAddresses);
  await checkEcho(p.client, p.server);
});

Deno.test("mtls: server-side close and abort work on the node:tls path", async () => {
  {
    await using p = await tlsPair({
      listen: { caCerts: [CA] },
      connect: { caCerts: [CA], ...CLIENT },
    });
    const clientEnd = ending(p.client);
    await p.server.send(new Uint8Array([1]));
    await p.server.close();
    assert.deepEqual((await receiveWithin(p.client))?.data, new Uint8Array([1]));
    assert.deepEqual(await clientEnd, { type: "shutdown" });
  }
  {
    await using p = await tlsPair({
      listen: { caCerts: [CA] },
      connect: { caCerts: [CA], ...CLIENT },
    });
    const clientEnd = ending(p.client);
    p.server.abort("Bye");
    assert.deepEqual(await clientEnd, { type: "communication-lost", reason: "Peer aborted: Bye" });
  }
});

/**
 * With TLS 1.3 the client may finish its handshake before the server rejects its certificate;
 * either connectTcp fails or the association is lost at once. The server must accept nothing.
 */
async function assertRefusedClient(listener: AssociationListener, tls: TlsConnectOptions) {
  const port = listener.addresses[0].port;
  try {
    const client = await connectTcp({ hostname: "127.0.0.1", port, tls });
    const end = ending(client);
    await client.send(new Uint8Array([1])).catch(() => {});
    assert.equal((await end).type, "communication-lost");
    assert.equal(await receiveWithin(client), null);
  } catch (error) {
    isTransportError(error);
  }
}

Deno.test("mtls: clients without a certificate, or with one from another CA, are refused", async () => {
  await using listener = await listenTcp({
    hostname: "127.0.0.1",
    port: 0,
    tls: { ...SERVER, caCerts: [CA] },
  });
  await assertRefusedClient(listener, { caCerts: [CA] });
  await assertRefusedClient(listener, { caCerts: [CA], ...OTHER_CLIENT });
  // The first association accepted is the good client's.
  const accepted = listener.accept();
  const good = await connectTcp({
    hostname: "127.0.0.1",
    port: listener.addresses[0].port,
    tls: { caCerts: [CA], ...CLIENT },
  });
  const server = (await accepted)!;
  assert.deepEqual(server.remoteAddresses, good.localAddresses);
  await Promise.all([good.close(), server.close()]);
});

Deno.test("tls: inconsistent TLS options are refused as invalid", async () => {
  const invalid = { name: "TransportError", code: "invalid" };
  await assert.rejects(
    listenTcp({ port: 0, tls: { ...SERVER, requireClientCertificate: true } }),
    invalid,
  );
  await assert.rejects(
    listenTcp({ port: 0, tls: { ...SERVER, caCerts: [CA], requireClientCertificate: false } }),
    invalid,
  );
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port: 1, tls: { cert: CLIENT.cert } }),
    invalid,
  );
});
