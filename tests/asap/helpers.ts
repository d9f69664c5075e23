// Helpers of the pool element and pool user tests: a registrar on loopback and waiting.

import { Registrar, type RegistrarOptions } from "../../registrar/registrar.ts";
import type { EndpointAddress } from "../../transport/open.ts";

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A registrar on loopback with short timers and no announcements. */
export function startRegistrar(
  protocol: "tcp" | "sctp",
  options: RegistrarOptions = {},
): Promise<Registrar> {
  return Registrar.start({
    asap: [{ protocol, hostname: "127.0.0.1", port: 0 }],
    announce: false,
    keepAliveInterval: 200,
    keepAliveTimeout: 1000,
    ...options,
  });
}

/** The registrar's ASAP address of one protocol. */
export function asapAddress(registrar: Registrar, protocol: "tcp" | "sctp"): EndpointAddress {
  const a = registrar.addresses.find((x) => x.protocol === protocol);
  if (a === undefined) throw new Error(`Registrar has no ${protocol} address`);
  return a;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds; throws after `timeout` ms. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeout = 5000,
): Promise<void> {
  const end = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Whether the registrar has PE `id` in `pool`. */
export function hasPe(registrar: Registrar, pool: string, id: number): boolean {
  return registrar.handlespace.getPoolElement(text(pool), id) !== undefined;
}

/** Short timers for PEs in tests. */
export const FAST_HUNT = { huntInterval: 100, maxHuntInterval: 400, connectTimeout: 1000 };
