/**
 * Multicast UDP sockets for SERVER_ANNOUNCE (ASAP) and PRESENCE (ENRP): a sender bound to one
 * interface, and a receiver that joins a group on one interface.
 *
 * @module
 */

import dgram from "node:dgram";
import { ipAddressFamily } from "../wire/address.ts";
import { TransportError } from "./errors.ts";

/**
 * A multicast group, its port and the interface to use (an address of that interface).
 *
 * @example
 * ```ts
 * import type { MulticastOptions } from "@rserpool/rserpool/transport";
 * const loopbackOnly: MulticastOptions = {
 *   group: "239.0.0.50",
 *   port: 3863,
 *   interfaceAddress: "127.0.0.1",
 * };
 * ```
 */
export interface MulticastOptions {
  /** Multicast group address. */
  group: string;
  /** UDP port. */
  port: number;
  /** Address of the interface to send on or join on (default: the system's choice). */
  interfaceAddress?: string;
  /** Time to live of sent datagrams (default 30, as RSPLIB). */
  ttl?: number;
}

/**
 * Sends datagrams to a multicast group.
 *
 * @example
 * ```ts ignore
 * import { MulticastSender } from "@rserpool/rserpool/transport";
 * const sender = await MulticastSender.open({ group: "239.0.0.50", port: 3863, interfaceAddress: "127.0.0.1" });
 * sender.send(new Uint8Array([0x0a, 0, 0, 8, 0, 0, 0, 1]));
 * sender.close();
 * ```
 */
export class MulticastSender {
  #socket: dgram.Socket;
  #options: MulticastOptions;

  private constructor(socket: dgram.Socket, options: MulticastOptions) {
    this.#socket = socket;
    this.#options = options;
  }

  /** Opens the sending socket. */
  static async open(options: MulticastOptions): Promise<MulticastSender> {
    const family = ipAddressFamily(options.group);
    if (family === undefined) {
      throw new TransportError("invalid", `Invalid multicast group '${options.group}'`);
    }
    const socket = dgram.createSocket({ type: family === "ipv6" ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port: 0, address: options.interfaceAddress }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.on("error", () => {});
    try {
      if (options.interfaceAddress !== undefined) {
        socket.setMulticastInterface(options.interfaceAddress);
      }
      socket.setMulticastTTL(options.ttl ?? 30);
      socket.setMulticastLoopback(true);
    } catch (e) {
      socket.close();
      throw new TransportError("io", `Could not set up multicast: ${String(e)}`, { cause: e });
    }
    return new MulticastSender(socket, options);
  }

  /** Sends one datagram to the group. */
  send(data: Uint8Array): void {
    try {
      this.#socket.send(data, this.#options.port, this.#options.group);
    } catch {
      // A lost announcement is repeated at the next interval.
    }
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Receives datagrams sent to a multicast group, with their source address.
 *
 * @example
 * ```ts ignore
 * import { MulticastReceiver } from "@rserpool/rserpool/transport";
 * const r = await MulticastReceiver.open(
 *   { group: "239.0.0.50", port: 3863, interfaceAddress: "127.0.0.1" },
 *   (data, from) => console.log(data.length, from),
 * );
 * r.close();
 * ```
 */
export class MulticastReceiver {
  #socket: dgram.Socket;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
  }

  /** Binds the group's port and joins the group. */
  static async open(
    options: MulticastOptions,
    onMessage: (data: Uint8Array, from: string) => void,
  ): Promise<MulticastReceiver> {
    const family = ipAddressFamily(options.group);
    if (family === undefined) {
      throw new TransportError("invalid", `Invalid multicast group '${options.group}'`);
    }
    // Bound to the group's own address, the socket takes that group's datagrams only and shares
    // its port with unicast sockets of the process (a registrar's ENRP endpoint uses UDP 9901
    // on 127.0.0.1 as PRESENCE does on 239.0.0.51): a wildcard bind would collide with them.
    // Where a system cannot bind a group address, the wildcard is tried.
    let socket: dgram.Socket | undefined;
    let failure: unknown;
    for (const address of [options.group, family === "ipv6" ? "::" : "0.0.0.0"]) {
      const candidate = dgram.createSocket({
        type: family === "ipv6" ? "udp6" : "udp4",
        reuseAddr: true,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          candidate.once("error", reject);
          candidate.bind({ port: options.port, address }, () => {
            candidate.off("error", reject);
            resolve();
          });
        });
        socket = candidate;
        break;
      } catch (e) {
        failure ??= e;
        candidate.close();
      }
    }
    if (socket === undefined) throw failure;
    socket.on("error", () => {});
    try {
      socket.addMembership(options.group, options.interfaceAddress);
    } catch (e) {
      socket.close();
      throw new TransportError("io", `Could not join ${options.group}: ${String(e)}`, {
        cause: e,
      });
    }
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      onMessage(msg, rinfo.address);
    });
    return new MulticastReceiver(socket);
  }

  /** Leaves the group and closes the socket. */
  close(): void {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}
