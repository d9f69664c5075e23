/**
 * A simulated network for SCTP over UDP: endpoints and associations run unchanged over
 * in-memory links with delay, bandwidth, seeded loss, duplication and reordering, on a virtual
 * clock that jumps from event to event.
 *
 * @example
 * ```ts ignore
 * import { SimNetwork } from "./mod.ts";
 * import { connectSctp, listenSctp } from "../endpoint.ts";
 * const net = new SimNetwork({ seed: 1 });
 * net.link("10.0.0.1", "10.0.0.2", { delay: 20, loss: 0.01, bandwidth: 100e6 });
 * const listener = await listenSctp({ hostname: "10.0.0.2", port: 9, stack: net.stack() });
 * const a = await net.settle(connectSctp({
 *   hostname: "10.0.0.2", port: 9, localHostname: "10.0.0.1", stack: net.stack(),
 * }));
 * ```
 *
 * @module
 */

export {
  SimLink,
  type SimLinkOptions,
  type SimLinkStats,
  SimNetwork,
  type SimNetworkOptions,
  type SimPacket,
  type SimPacketFilter,
} from "./network.ts";
export { VirtualClock } from "./virtual_clock.ts";
