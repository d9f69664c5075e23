// Helpers of the ENRP tests: a registrar with ENRP on loopback, the PoolElementParameter a test
// peer announces, and a registrar played by the test over a raw SCTP association.

import type { EnrpAuthenticator } from "../../enrp/auth.ts";
import { decodeEnrpMessage, encodeEnrpMessage } from "../../enrp/codec.ts";
import type { EnrpMessage } from "../../enrp/messages.ts";
import { ENRP_PPID } from "../../enrp/server.ts";
import { PoolElement } from "../../asap/pool_element.ts";
import { Registrar, type RegistrarOptions } from "../../registrar/registrar.ts";
import { connectSctp } from "../../transport/sctp/endpoint.ts";
import type { Association } from "../../transport/types.ts";
import type { PoolElementParameter, TransportUse } from "../../wire/types.ts";
import { FAST_HUNT, waitFor } from "../asap/helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);

/**
 * Starts a registrar with ASAP (TCP) and ENRP (SCTP) on loopback, without announcements, and
 * waits until its ENRP start-up is over (alone: no peer is configured unless `options` has
 * some).
 *
 * `tuning` is the test file's own base (keep-alive, ENRP timers and the like); `options`, one
 * test's changes, go over it. `enrpTuning` is merged: `options.enrpTuning` over
 * `tuning.enrpTuning`.
 */
export async function startEnrpRegistrar(
  tuning: Partial<RegistrarOptions>,
  options: Partial<RegistrarOptions> = {},
): Promise<Registrar> {
  const registrar = await Registrar.start({
    asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
    enrp: [{ protocol: "sctp", hostname: "127.0.0.1", port: 0 }],
    announce: false,
    enrpAnnounce: false,
    ...tuning,
    ...options,
    enrpTuning: { ...tuning.enrpTuning, ...options.enrpTuning },
  });
  await waitFor(() => registrar.enrp?.ready === true, "ENRP start-up");
  return registrar;
}

/**
 * Starts a PE of `poolHandle` listening on TCP loopback and registered at the first ASAP
 * address of `registrar`, hunting for it quickly ({@linkcode FAST_HUNT}).
 */
export function startLocalPe(poolHandle: string, registrar: Registrar): Promise<PoolElement> {
  return PoolElement.start({
    poolHandle,
    registrars: [registrar.addresses[0]],
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
  });
}

/**
 * A PE as a test peer announces it in HANDLE_UPDATEs: home registrar `home`, user transport TCP
 * port 7000 (used for `userTransportUse`) and ASAP transport SCTP port 9000, both at `address`.
 */
export function peerPe(
  identifier: number,
  home: number,
  address = "10.9.0.1",
  userTransportUse: TransportUse = "data",
): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: home,
    registrationLife: 60_000,
    userTransport: {
      protocol: "tcp",
      port: 7000,
      transportUse: userTransportUse,
      addresses: [address],
    },
    policy: { name: "round-robin" },
    asapTransport: { protocol: "sctp", port: 9000, transportUse: "data", addresses: [address] },
  };
}

/**
 * A registrar played by the test, over one SCTP association to the registrar's ENRP port. It
 * keeps every ENRP message it receives in {@linkcode TestPeer.received}; with `auth` it signs
 * the messages it sends.
 */
export class TestPeer {
  /** The ENRP messages received and not yet taken by {@linkcode TestPeer.next}. */
  received: EnrpMessage[] = [];
  #waiters: (() => void)[] = [];

  private constructor(
    readonly serverId: number,
    readonly association: Association,
    readonly auth?: EnrpAuthenticator,
  ) {
    (async () => {
      for await (const m of association) {
        if (m.ppid !== ENRP_PPID) continue;
        this.received.push(decodeEnrpMessage(m.data));
        for (const w of this.#waiters.splice(0)) w();
      }
    })().catch(() => {});
  }

  /** Connects to the first ENRP address of `registrar` as server `serverId`. */
  static async connect(
    registrar: Registrar,
    serverId: number,
    auth?: EnrpAuthenticator,
  ): Promise<TestPeer> {
    const e = registrar.enrpAddresses[0];
    const association = await connectSctp({ hostname: e.hostname, port: e.port });
    return new TestPeer(serverId, association, auth);
  }

  /** Encodes (and signs, with `auth`) a message; returns the bytes sent. */
  async send(message: EnrpMessage): Promise<Uint8Array> {
    const encoded = encodeEnrpMessage(message);
    const bytes = this.auth === undefined ? encoded : this.auth.sign(encoded);
    await this.sendBytes(bytes);
    return bytes;
  }

  /** Sends `bytes` as they are (neither encoded nor signed) with the ENRP PPID. */
  sendBytes(bytes: Uint8Array): Promise<void> {
    return this.association.send(bytes, { ppid: ENRP_PPID });
  }

  /**
   * Sends a PRESENCE (by default from this peer's server ID, checksum 0xffff, no reply
   * required); returns the bytes sent.
   */
  presence(
    { senderId = this.serverId, checksum = 0xffff, replyRequired = false }: {
      senderId?: number;
      checksum?: number;
      replyRequired?: boolean;
    } = {},
  ): Promise<Uint8Array> {
    return this.send({
      type: "presence",
      senderId,
      receiverId: 0,
      replyRequired,
      checksum,
      serverInfo: {
        serverId: senderId,
        transport: { protocol: "sctp", port: 1, transportUse: "data", addresses: ["127.0.0.1"] },
      },
    });
  }

  /** Sends a HANDLE_UPDATE (by default from this peer's server ID); returns the bytes sent. */
  update(
    action: "add" | "delete",
    pool: string,
    poolElement: PoolElementParameter,
    senderId = this.serverId,
  ): Promise<Uint8Array> {
    return this.send({
      type: "handle-update",
      senderId,
      receiverId: 0,
      takeoverSuggested: false,
      action,
      poolHandle: text(pool),
      poolElement,
    });
  }

  /**
   * Takes the first received message that `match` accepts, waiting for one up to `ms`; rejects
   * when none comes in time.
   */
  async next<T extends EnrpMessage>(
    match: (m: EnrpMessage) => m is T,
    ms = 3000,
  ): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.received.findIndex(match);
      if (i >= 0) return this.received.splice(i, 1)[0] as T;
      if (Date.now() > end) throw new Error("No such ENRP message in time");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Aborts the association. */
  close(): void {
    this.association.abort("Test over");
  }
}
