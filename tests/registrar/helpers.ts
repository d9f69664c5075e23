// Helpers of the registrar tests: a registrar of one protocol on loopback, and waiting.

import { Registrar, type RegistrarOptions } from "../../registrar/registrar.ts";
import type { EndpointAddress } from "../../transport/open.ts";

/** Runs `body` with a registrar listening on loopback (no announcements), then closes it. */
export async function withRegistrar(
  protocol: "tcp" | "sctp",
  options: RegistrarOptions,
  body: (registrar: Registrar, address: EndpointAddress) => Promise<void>,
): Promise<void> {
  const registrar = await Registrar.start({
    asap: [{ protocol, hostname: "127.0.0.1", port: 0 }],
    announce: false,
    ...options,
  });
  try {
    await body(registrar, registrar.addresses[0]);
  } finally {
    await registrar.close();
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 20 ms until it holds; throws after `timeout` ms. */
export async function waitFor(condition: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > end) throw new Error("Condition not met in time");
    await delay(20);
  }
}
