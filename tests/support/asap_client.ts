// A raw ASAP client for tests: sends messages on an association and hands back what arrives.

import { type AsapMessage, decodeAsapMessage, encodeAsapMessage } from "../../asap/mod.ts";
import type { PoolElementParameter } from "../../wire/mod.ts";
import { type EndpointAddress, openAssociation } from "../../transport/open.ts";
import type { Association } from "../../transport/types.ts";

export const ASAP = 11;

export class AsapClient {
  readonly association: Association;
  #queue: AsapMessage[] = [];
  #waiters: ((m: AsapMessage | null) => void)[] = [];
  #done: Promise<void>;
  /** Answer ENDPOINT_KEEP_ALIVE automatically. */
  answerKeepAlives = true;
  keepAlives = 0;

  private constructor(association: Association) {
    this.association = association;
    this.#done = this.#read();
  }

  /** A client over an association opened elsewhere. */
  static over(association: Association): AsapClient {
    return new AsapClient(association);
  }

  static async open(address: EndpointAddress): Promise<AsapClient> {
    const association = await openAssociation(
      address,
      address.protocol === "tcp" ? { framing: "rserpool", ppid: ASAP } : {},
    );
    return new AsapClient(association);
  }

  async #read(): Promise<void> {
    for await (const m of this.association) {
      if (m.ppid !== ASAP) continue;
      const message = decodeAsapMessage(m.data);
      if (message.type === "endpoint-keep-alive") {
        this.keepAlives++;
        if (this.answerKeepAlives && message.identifier !== undefined) {
          await this.send({
            type: "endpoint-keep-alive-ack",
            poolHandle: message.poolHandle,
            identifier: message.identifier,
          }).catch(() => {});
        }
        continue;
      }
      const w = this.#waiters.shift();
      if (w) w(message);
      else this.#queue.push(message);
    }
    for (const w of this.#waiters.splice(0)) w(null);
  }

  send(message: AsapMessage): Promise<void> {
    return this.association.send(encodeAsapMessage(message), { ppid: ASAP });
  }

  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.association.send(bytes, { ppid: ASAP });
  }

  /** The next message (other than keep-alives), or null when the association ends. */
  next(timeout = 5000): Promise<AsapMessage | null> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error("No ASAP message in time"));
      }, timeout);
      const done = (x: AsapMessage | null) => {
        clearTimeout(timer);
        resolve(x);
      };
      this.#waiters.push(done);
    });
  }

  async request(message: AsapMessage): Promise<AsapMessage> {
    await this.send(message);
    const answer = await this.next();
    if (answer === null) throw new Error("Association ended");
    return answer;
  }

  async close(): Promise<void> {
    await this.association.close();
    await this.#done;
  }

  abort(): Promise<void> {
    this.association.abort();
    return this.#done;
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export function pe(
  identifier: number,
  overrides: Partial<PoolElementParameter> = {},
): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: 0,
    registrationLife: 30_000,
    userTransport: { protocol: "tcp", port: 7000, transportUse: "data", addresses: ["127.0.0.1"] },
    policy: { name: "round-robin" },
    ...overrides,
  };
}

/**
 * A PE of a benchmark's load: registered for an hour (longer than any run), each on a port of
 * its own so that the handlespace keeps them apart.
 */
export function loadPe(identifier: number): PoolElementParameter {
  return pe(identifier, {
    registrationLife: 3_600_000,
    userTransport: {
      protocol: "tcp",
      port: 10000 + (identifier % 50000),
      transportUse: "data",
      addresses: ["127.0.0.1"],
    },
  });
}
