// Realistic ASAP and ENRP messages of every type, for round trips, fuzzing and benchmarks.

import type { AsapMessage } from "../../asap/mod.ts";
import type { EnrpMessage } from "../../enrp/mod.ts";
import type { PoolElementParameter } from "../../wire/mod.ts";

const text = new TextEncoder();

/** A pool handle from text. */
export function handle(name: string): Uint8Array {
  return text.encode(name);
}

/** A PE on SCTP with two addresses, least-used policy and an ASAP transport. */
export function samplePoolElement(identifier: number): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: 0x5eed0001,
    registrationLife: 93_000,
    userTransport: {
      protocol: "sctp",
      port: 7000 + (identifier & 0xff),
      transportUse: "data",
      addresses: [`10.0.${identifier & 0xff}.1`, `192.168.${identifier & 0xff}.1`],
    },
    policy: { name: "least-used", load: 0x40000000 },
    asapTransport: {
      protocol: "sctp",
      port: 49152 + (identifier & 0xff),
      transportUse: "data-control",
      addresses: [`10.0.${identifier & 0xff}.1`],
    },
  };
}

/** A PE on TCP over IPv6 with round robin and no ASAP transport. */
export function tcpPoolElement(identifier: number): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: 0,
    registrationLife: -1,
    userTransport: {
      protocol: "tcp",
      port: 7,
      transportUse: "data-control",
      addresses: ["2001:db8::7"],
    },
    policy: { name: "round-robin" },
  };
}

/** One ASAP message of every type. */
export function asapSamples(): AsapMessage[] {
  const ph = handle("EchoPool1");
  return [
    { type: "registration", poolHandle: ph, poolElement: samplePoolElement(0x1001) },
    { type: "registration", poolHandle: handle("CalcPool"), poolElement: tcpPoolElement(9) },
    {
      type: "registration",
      poolHandle: handle("SecurePool"),
      poolElement: tcpPoolElement(10),
      authentication: new Uint8Array(40).fill(0xa5),
    },
    { type: "deregistration", poolHandle: ph, identifier: 0x1001 },
    { type: "registration-response", rejected: false, poolHandle: ph, identifier: 0x1001 },
    {
      type: "registration-response",
      rejected: true,
      poolHandle: ph,
      identifier: 0x1002,
      // Wireshark reads the information of causes 0x1-0x3, 0x5 and 0x7 as the offending
      // parameter: here the policy that did not match the pool's.
      error: [{ code: 0x5, info: new Uint8Array([0, 8, 0, 12, 0x40, 0, 0, 1, 0, 0, 0, 0]) }],
    },
    { type: "deregistration-response", poolHandle: ph, identifier: 0x1001 },
    { type: "handle-resolution", wantsUpdates: false, poolHandle: ph },
    { type: "handle-resolution", wantsUpdates: true, poolHandle: ph, items: 0xffffffff },
    {
      type: "handle-resolution-response",
      acceptsUpdates: false,
      poolHandle: ph,
      policy: { name: "least-used" as const, load: 0 },
      poolElements: [samplePoolElement(1), samplePoolElement(2), samplePoolElement(3)],
    },
    {
      type: "handle-resolution-response",
      acceptsUpdates: false,
      poolHandle: handle("NoSuchPool"),
      poolElements: [],
      error: [{ code: 0x9, info: new Uint8Array() }],
    },
    { type: "endpoint-keep-alive", home: false, serverId: 0x5eed0001, poolHandle: ph },
    {
      type: "endpoint-keep-alive",
      home: true,
      serverId: 0x5eed0002,
      poolHandle: ph,
      identifier: 0x1001,
    },
    { type: "endpoint-keep-alive-ack", poolHandle: ph, identifier: 0x1001 },
    { type: "endpoint-unreachable", poolHandle: ph, identifier: 0x1002 },
    { type: "server-announce", serverId: 0x5eed0001, transports: [] },
    {
      type: "server-announce",
      serverId: 0x5eed0001,
      transports: [
        { protocol: "sctp", port: 3863, transportUse: "data", addresses: ["127.0.0.1", "::1"] },
        { protocol: "tcp", port: 3863, transportUse: "data", addresses: ["127.0.0.1"] },
      ],
    },
    { type: "cookie", cookie: new Uint8Array([0xa1, 0x61, 0x78, 0x01, 0x99]) },
    { type: "cookie-echo", cookie: new Uint8Array([0xa1, 0x61, 0x78, 0x01, 0x99]) },
    {
      type: "business-card",
      poolHandle: ph,
      poolElements: [tcpPoolElement(5), samplePoolElement(6)],
    },
    {
      type: "error",
      error: [{ code: 0x2, info: new Uint8Array([0x7f, 0x00, 0x00, 0x04]) }],
    },
  ];
}

/** One ENRP message of every type. */
export function enrpSamples(): EnrpMessage[] {
  const ph = handle("EchoPool1");
  const serverInfo = {
    serverId: 0x11223344,
    transport: {
      protocol: "sctp" as const,
      port: 9901,
      transportUse: "data" as const,
      addresses: ["127.0.0.1", "fe80::1"],
    },
  };
  return [
    {
      type: "presence",
      replyRequired: true,
      senderId: 0x11223344,
      receiverId: 0,
      checksum: 0xabcd,
      serverInfo,
    },
    { type: "presence", replyRequired: false, senderId: 1, receiverId: 2, checksum: 0 },
    { type: "handle-table-request", ownChildrenOnly: true, senderId: 1, receiverId: 2 },
    {
      type: "handle-table-response",
      rejected: false,
      more: true,
      senderId: 2,
      receiverId: 1,
      pools: [
        { poolHandle: ph, poolElements: [samplePoolElement(1), samplePoolElement(2)] },
        { poolHandle: handle("CalcPool"), poolElements: [tcpPoolElement(3)] },
      ],
    },
    {
      type: "handle-table-response",
      rejected: true,
      more: false,
      senderId: 2,
      receiverId: 1,
      pools: [],
    },
    {
      type: "handle-update",
      takeoverSuggested: false,
      senderId: 1,
      receiverId: 0,
      action: "add",
      poolHandle: ph,
      poolElement: samplePoolElement(7),
    },
    {
      type: "handle-update",
      takeoverSuggested: false,
      senderId: 1,
      receiverId: 0,
      action: "delete",
      poolHandle: ph,
      poolElement: tcpPoolElement(8),
    },
    { type: "list-request", senderId: 1, receiverId: 2 },
    {
      type: "list-response",
      rejected: false,
      senderId: 2,
      receiverId: 1,
      servers: [serverInfo, { ...serverInfo, serverId: 0x55 }],
    },
    { type: "init-takeover", senderId: 1, receiverId: 0, targetId: 3 },
    { type: "init-takeover-ack", senderId: 2, receiverId: 1, targetId: 3 },
    { type: "takeover-server", senderId: 1, receiverId: 0, targetId: 3 },
    {
      type: "error",
      senderId: 1,
      receiverId: 2,
      error: [{ code: 0x1, info: new Uint8Array([0x40, 0x01, 0x00, 0x05, 0x2a, 0, 0, 0]) }],
    },
  ];
}
