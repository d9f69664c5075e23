/**
 * Connecting to a registrar or a PE with a timeout and a cancel signal, over SCTP/UDP or TCP.
 *
 * @module
 */

import { SctpEndpoint } from "../transport/sctp/endpoint.ts";
import type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
import type { Framing } from "../transport/tcp/framing.ts";
import {
  type EndpointAddress,
  formatEndpointAddress,
  hostnamesOf,
  type MultiHomedAddress,
  openAssociation,
} from "../transport/open.ts";
import type { Association } from "../transport/types.ts";
import { TransportError } from "../transport/errors.ts";

/** Payload protocol identifier of ASAP. */
export const ASAP_PPID = 11;

/**
 * Options of {@linkcode connectEndpoint}.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./connect.ts";
 * const asap: ConnectOptions = { framing: "rserpool", ppid: 11, timeout: 7500 };
 * ```
 */
export interface ConnectOptions extends SctpUdpPorts {
  /** TCP framing: `"rserpool"` for ASAP control associations, `"framed"` for data. */
  framing: Framing;
  /** PPID of `"rserpool"` framing. */
  ppid?: number;
  /** Give up after this many ms. */
  timeout: number;
  /** Stops the attempt (the promise rejects with a `TransportError` `closed`). */
  signal?: AbortSignal;
  /** SCTP protocol parameters. */
  sctp?: SctpTuning;
  /**
   * Open SCTP associations from this endpoint (a PE's ASAP endpoint, which also accepts a new
   * home registrar's association) instead of one of their own.
   */
  sctpEndpoint?: SctpEndpoint;
  /**
   * Local addresses of an SCTP association of its own (default: loopback for a loopback peer,
   * else the wildcard address). Several make the association multi-homed at this end too: the
   * INIT lists them, so the peer can reach this end on each.
   */
  localHostname?: string | string[];
}

function loopbackOrWildcard(hostname: string): string {
  if (hostname === "::1") return "::1";
  if (hostname.startsWith("127.")) return "127.0.0.1";
  return hostname.includes(":") ? "::" : "0.0.0.0";
}

/**
 * Opens an association, bounded by `timeout` and cancellable by `signal`. An SCTP attempt runs
 * on an endpoint of its own that is destroyed when the attempt is given up, so no timer or
 * socket outlives it; a TCP attempt uses the TCP connect timeout, and a connection that comes
 * up after a cancel is aborted at once.
 *
 * Several addresses (a multi-homed peer): SCTP makes one association with all of them, the
 * first as primary path and the others as alternate paths; TCP, which has one path, tries them
 * in order, each with what is left of `timeout` shared among the addresses not tried yet, and
 * fails with the last error only when none answered.
 *
 * @example
 * ```ts ignore
 * import { connectEndpoint } from "./connect.ts";
 * const a = await connectEndpoint(
 *   { protocol: "tcp", hostname: "127.0.0.1", port: 3863 },
 *   { framing: "rserpool", ppid: 11, timeout: 5000 },
 * );
 * ```
 */
export async function connectEndpoint(
  address: EndpointAddress | MultiHomedAddress,
  options: ConnectOptions,
): Promise<Association> {
  const { signal } = options;
  if (signal?.aborted) throw new TransportError("closed", "Connect cancelled");
  const hostnames = hostnamesOf(address);
  if (address.protocol === "tcp" && hostnames.length > 1) {
    const end = Date.now() + options.timeout;
    let last: unknown;
    for (let i = 0; i < hostnames.length; i++) {
      const left = Math.max(1, end - Date.now());
      try {
        return await connectEndpoint(
          { protocol: "tcp", hostname: hostnames[i], port: address.port },
          { ...options, timeout: Math.max(1, Math.floor(left / (hostnames.length - i))) },
        );
      } catch (e) {
        last = e;
        if (signal?.aborted) throw e;
        if (e instanceof TransportError && (e.code === "local" || e.code === "invalid")) throw e;
      }
    }
    throw last;
  }
  if (address.protocol === "tcp") {
    const attempt = openAssociation(address, {
      framing: options.framing,
      ppid: options.ppid,
      timeout: options.timeout,
    });
    if (signal === undefined) return await attempt;
    return await new Promise<Association>((resolve, reject) => {
      const onAbort = () => reject(new TransportError("closed", "Connect cancelled"));
      signal.addEventListener("abort", onAbort, { once: true });
      attempt.then((a) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) a.abort("Connect cancelled");
        else resolve(a);
      }, (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      });
    });
  }
  if (options.sctpEndpoint !== undefined) {
    return await connectFrom(options.sctpEndpoint, address, options);
  }
  const endpoint = await SctpEndpoint.open({
    ...options.sctp,
    hostname: options.localHostname ?? loopbackOrWildcard(hostnames[0]),
    port: 0,
    udpPort: options.udpPort,
    sharedUdpPort: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void endpoint.destroy();
  }, options.timeout);
  const onAbort = () => void endpoint.destroy();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const association = await endpoint.connect({
      ...options.sctp,
      hostname: hostnames,
      port: address.port,
      remoteUdpPort: options.remoteUdpPort,
    });
    endpoint.closeWhenIdle();
    return association;
  } catch (e) {
    // Its UDP socket is closed before the caller hears of the failure (and may bind again).
    await endpoint.destroy();
    if (timedOut) {
      throw new TransportError(
        "timeout",
        `No SCTP association to ${formatEndpointAddress(address)} in ${options.timeout} ms`,
      );
    }
    if (signal?.aborted) throw new TransportError("closed", "Connect cancelled");
    throw e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** An SCTP connect from an endpoint that stays open, bounded by the timeout and the signal. */
async function connectFrom(
  endpoint: SctpEndpoint,
  address: EndpointAddress | MultiHomedAddress,
  options: ConnectOptions,
): Promise<Association> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeout);
  const onAbort = () => controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await endpoint.connect({
      ...options.sctp,
      hostname: hostnamesOf(address),
      port: address.port,
      remoteUdpPort: options.remoteUdpPort,
      signal: controller.signal,
    });
  } catch (e) {
    if (timedOut) {
      throw new TransportError(
        "timeout",
        `No SCTP association to ${formatEndpointAddress(address)} in ${options.timeout} ms`,
      );
    }
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
