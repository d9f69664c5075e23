// ENRP interoperation (RFC 5353): our registrar and RSPLIB's `rspregistrar` as peers, each in
// its own namespace on the lab's bridge, all SCTP on UDP 9899 (tests/support/rsplib.ts). PEs
// registered at either registrar resolve at both, both registrars announce and hold the same PE
// checksums, and each takes over the PEs of the other when it is SIGKILLed.
//
// RSPLIB facts these tests rest on (its src/rspregistrar-*.c):
// - it takes a PRESENCE into its peer table only when the SCTP Transport of its Server
//   Information names the address *and port* the association comes from
//   (transportAddressBlockFilter with filterPort = true): a peer must send ENRP from its ENRP
//   port;
// - it refuses a PE whose ASAP Transport has Transport Use "data plus control" (poolNode-
//   CheckPoolElementNodeCompatibility: "invalid registrator"), and with it the whole
//   HANDLE_TABLE_RESPONSE or HANDLE_UPDATE;
// - its first PRESENCE goes out after 5 s whatever -mentordiscoverytimeout says (the timer is
//   started before the options are read);
// - it completes a takeover only when the last INIT_TAKEOVER_ACK arrives: with no third
//   registrar to acknowledge, it never takes over. So the test of its takeover runs a second
//   registrar of ours, with a long max-time-last-heard so that it does not race RSPLIB for
//   the takeover (RSPLIB lets the lowest server ID win a race, RFC 5353 and ours the highest).
//
// Pools hold either RSPLIB's PEs or ours, never both.

import assert from "node:assert/strict";
import { peChecksum } from "../../handlespace/checksum.ts";
import {
  ASAP_PORT,
  type DumpedPool,
  ENRP_PORT,
  type HandlespaceDump,
  ignoreWithoutRsplib,
  type InteropLab,
  interopTest,
  type OurRegistrar,
  type RsplibProcess,
} from "../support/rsplib.ts";
import { ignoreWithoutTshark, runTshark } from "../support/tshark.ts";

const ignore = (await ignoreWithoutRsplib()) || (await ignoreWithoutTshark());
const encoder = new TextEncoder();

// What these tests found and what our registrar now does for RSPLIB: ENRP associations leave
// from the ENRP endpoint itself (RSPLIB accepts a PRESENCE only from the address and port its
// Server Information names); a PE's ASAP transport is stored as "data only" (RSPLIB refuses
// "data plus control" there as an invalid registrator, and with it a whole HANDLE_TABLE_RESPONSE);
// one association per peer (a second INIT to a peer looks like a restart to sctplib).

/** Our registrar's ENRP timers: short, so that tests take seconds. */
function ourTimers(maxTimeLastHeard = "2s"): string[] {
  return [
    "--enrp-announce",
    "off",
    "--peer-heartbeat-cycle",
    "500ms",
    "--max-time-last-heard",
    maxTimeLastHeard,
    "--max-time-no-response",
    "1s",
    "--takeover-expiry",
    "2s",
    "--mentor-discovery-timeout",
    "1s",
    "--keep-alive-interval",
    "1s",
    "--keep-alive-timeout",
    "1s",
    "--max-handle-resolution-items",
    "16",
  ];
}

/** RSPLIB's (1 s is the least it takes for its ENRP timers). */
const RSPLIB_TIMERS = [
  "-peerheartbeatcycle=1000",
  "-peermaxtimelastheard=2000",
  "-peermaxtimenoresponse=1000",
  "-mentordiscoverytimeout=1000",
  "-takeoverexpiryinterval=2000",
  "-endpointkeepalivetransmissioninterval=1000",
  "-endpointkeepalivetimeoutinterval=1000",
  "-maxhresitems=16",
  "-loglevel=3",
];

/** Our registrar, ENRP on its default endpoint (SCTP, its address, port 9901), peering `peers`. */
function ourRegistrar(
  lab: InteropLab,
  peers: string[],
  maxTimeLastHeard?: string,
): Promise<OurRegistrar> {
  return lab.ourRegistrar([
    ...peers.flatMap((p) => ["--peer", `sctp:${p}:${ENRP_PORT}`]),
    ...ourTimers(maxTimeLastHeard),
  ]);
}

/** RSPLIB's registrar, with `peers` as static peers. */
function rsplibRegistrar(
  lab: InteropLab,
  peers: string[],
): Promise<{ process: RsplibProcess; serverId: number }> {
  return lab.rsplibRegistrar([...peers.map((p) => `-peer=${p}:${ENRP_PORT}`), ...RSPLIB_TIMERS]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(
  check: () => Promise<boolean>,
  what: string | (() => string),
  timeout: number,
) {
  const end = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const text = typeof what === "string" ? what : what();
      throw new Error(`Not in time (${timeout} ms): ${text}${last ? `\n${last}` : ""}`);
    }
    await sleep(500);
  }
}

/** The PE IDs a registrar (`ADDR:3863`) resolves `pool` to, by one `hrestest` resolution. */
async function resolved(lab: InteropLab, registrar: string, pool: string): Promise<number[]> {
  const r = await lab.hrestest({ pool, registrar, runs: 1, items: 16, timeout: 15_000 });
  return [...r.identifiers.keys()].sort((a, b) => a - b);
}

/** Waits until every registrar resolves each pool to exactly its PEs. */
async function converge(
  lab: InteropLab,
  registrars: string[],
  pools: Record<string, number[]>,
  what: string,
  timeout = 30_000,
): Promise<void> {
  let seen = "";
  await eventually(
    async () => {
      for (const registrar of registrars) {
        for (const [pool, ids] of Object.entries(pools)) {
          const got = await resolved(lab, registrar, pool);
          if (JSON.stringify(got) !== JSON.stringify([...ids].sort((a, b) => a - b))) {
            seen = `${registrar} resolves ${pool} to [${got.map((id) => id.toString(16))}]`;
            return false;
          }
        }
      }
      return true;
    },
    () => `${what} (last: ${seen})`,
    timeout,
  );
}

/** `[pool, PE ID, home]` of every PE of a dump, sorted. */
function entries(dump: HandlespaceDump): [string, number, number][] {
  return dump.pools.flatMap((p: DumpedPool) =>
    p.elements.map((e) => [p.handle, e.identifier, e.home] as [string, number, number])
  ).sort();
}

/** The PE checksum of `[pool, PE ID]` pairs. */
function checksumOf(pes: [string, number, ...unknown[]][]): number {
  return peChecksum(pes.map(([pool, identifier]) => ({
    poolHandle: encoder.encode(pool),
    identifier,
  })));
}

/**
 * Rows of tshark fields of the capture's packets that match `filter` (SCTP on UDP 9899); a
 * field that occurs more than once in a packet (bundled messages) has its values joined by
 * commas.
 */
async function rows(path: string, filter: string, fields: string[]): Promise<string[][]> {
  const text = await runTshark([
    "-n",
    "-r",
    path,
    "-d",
    "udp.port==9899,sctp",
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "separator=\t",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => l.split("\t"));
}

/** PE IDs that got an ENDPOINT_KEEP_ALIVE with the H flag from `from`, and answered it. */
async function adoptedBy(path: string, from: string, serverId: number): Promise<number[]> {
  const keepAlives = await rows(
    path,
    `asap.message_type == 7 && asap.h_bit == 1 && ip.src == ${from} && ` +
      `asap.server_identifier == ${serverId}`,
    ["ip.dst", "asap.pe_identifier"],
  );
  const acks = await rows(path, `asap.message_type == 8 && ip.dst == ${from}`, [
    "asap.pe_identifier",
  ]);
  const acked = new Set(acks.flatMap(([ids]) => ids.split(",").map(Number)));
  return [...new Set(keepAlives.flatMap(([, ids]) => ids.split(",").map(Number)))]
    .filter((id) => acked.has(id)).sort((a, b) => a - b);
}

interopTest(
  "interop ENRP: PEs registered at our registrar or RSPLIB's resolve at both, hsdump shows the same handlespace at both, PE checksums agree",
  { subnet: 241, timeout: 150_000, ignore },
  async (lab) => {
    const capture = await lab.capture("udp port 9899", "br0");
    const ours = await ourRegistrar(lab, [lab.rsplibAddress]);
    const theirs = await rsplibRegistrar(lab, [ours.address]);
    const atTheirs = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const atOurs = `${ours.address}:${ASAP_PORT}`;
    const pools: Record<string, number[]> = {
      RspAtRsp: [0x7101, 0x7102],
      RspAtOurs: [0x7201],
      OursAtOurs: [0x7301, 0x7302],
    };
    for (const identifier of pools.RspAtRsp) {
      await lab.rsplibServer("echo", { pool: "RspAtRsp", registrar: atTheirs, identifier });
    }
    await lab.rsplibServer("echo", { pool: "RspAtOurs", registrar: atOurs, identifier: 0x7201 });
    for (const identifier of pools.OursAtOurs) {
      await lab.ourPoolElement("echo", { pool: "OursAtOurs", registrar: atOurs, identifier });
    }
    await converge(lab, [atTheirs, atOurs], pools, "every PE resolvable at both registrars");

    // A quiet window: both registrars announce, and neither audits the other (an audit is a
    // HANDLE_TABLE_REQUEST: the checksum a peer announces differs from the one held for it).
    await sleep(1500);
    const from = Date.now() / 1000;
    await sleep(3000);
    const to = Date.now() / 1000;

    // hsdump speaks ENRP to each registrar: the same PEs with the same homes at both.
    const homes: [string, number, number][] = Object.entries(pools).flatMap(([pool, ids]) =>
      ids.map((id) =>
        [pool, id, pool === "RspAtRsp" ? theirs.serverId : ours.serverId] as [
          string,
          number,
          number,
        ]
      )
    ).sort();
    const theirDump = await lab.hsdump(`${lab.rsplibAddress}:${ENRP_PORT}`);
    assert.deepEqual(entries(theirDump), homes, theirDump.text);
    const ourDump = await lab.hsdump(`${ours.address}:${ENRP_PORT}`);
    assert.deepEqual(entries(ourDump), homes, ourDump.text);
    assert.equal(ourDump.checksum, theirDump.checksum, "hsdump's handlespace checksums");
    await sleep(1000);
    const path = await capture.stop();

    const window = `frame.time_epoch >= ${from} && frame.time_epoch <= ${to}`;
    const owned = (id: number) => homes.filter(([, , home]) => home === id);
    for (const [name, r] of [["RSPLIB's", theirs], ["our", ours]] as const) {
      const presences = await rows(
        path,
        `${window} && enrp.message_type == 1 && enrp.sender_servers_id == ${r.serverId}`,
        ["enrp.pe_checksum"],
      );
      assert.ok(presences.length >= 2, `${name} registrar sent ${presences.length} PRESENCEs`);
      for (const sum of presences.flatMap(([sums]) => sums.split(","))) {
        assert.equal(Number(sum), checksumOf(owned(r.serverId)), `${name} PRESENCE checksum`);
      }
    }
    // What our registrar holds for RSPLIB's is what RSPLIB's announces, and the other way.
    const ourHeld = entries(ourDump).filter(([, , home]) => home === theirs.serverId);
    const theirHeld = entries(theirDump).filter(([, , home]) => home === ours.serverId);
    assert.equal(checksumOf(ourHeld), checksumOf(owned(theirs.serverId)));
    assert.equal(checksumOf(theirHeld), checksumOf(owned(ours.serverId)));
    const audits = await rows(
      path,
      `${window} && enrp.message_type == 2 && ` +
        `(enrp.sender_servers_id == ${ours.serverId} || ` +
        `enrp.sender_servers_id == ${theirs.serverId})`,
      ["enrp.sender_servers_id"],
    );
    assert.deepEqual(audits, [], "HANDLE_TABLE_REQUESTs between agreeing registrars");
    const malformed = await rows(path, "enrp && _ws.malformed", ["frame.number"]);
    assert.deepEqual(malformed, [], "ENRP frames tshark marks Malformed");
  },
);

interopTest(
  "interop ENRP: our registrar takes over the PEs of RSPLIB's SIGKILLed registrar and makes itself their home",
  { subnet: 242, timeout: 150_000, ignore },
  async (lab) => {
    const ours = await ourRegistrar(lab, [lab.rsplibAddress]);
    const theirs = await rsplibRegistrar(lab, [ours.address]);
    const atTheirs = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const atOurs = `${ours.address}:${ASAP_PORT}`;
    // Re-registration every 2 s: a registration life of 6 s, so the PEs would be gone soon
    // after their registrar unless the new home keeps them.
    const ids = [0x7401, 0x7402];
    for (const identifier of ids) {
      await lab.rsplibServer("echo", {
        pool: "RspTakeover",
        registrar: atTheirs,
        identifier,
        extra: ["-rereginterval=2000"],
      });
    }
    await converge(lab, [atOurs], { RspTakeover: ids }, "RSPLIB's PEs resolvable at ours");

    const capture = await lab.capture("udp port 9899", "any");
    await theirs.process.stop("SIGKILL");
    // max-time-last-heard 2 s + max-time-no-response 1 s, and no peer to wait for. Long past
    // their registration life, the PEs are still there: ours keeps them alive.
    await sleep(10_000);
    assert.deepEqual(await resolved(lab, atOurs, "RspTakeover"), ids);
    await sleep(1000);
    const path = await capture.stop();
    // Their home, in our registrar's last answer to hrestest: ours.
    const answers = await rows(path, `asap.message_type == 6 && ip.src == ${ours.address}`, [
      "asap.pool_element_home_enrp_server_identifier",
    ]);
    const homes = answers.at(-1)?.[0].split(",").map(Number);
    assert.deepEqual(homes, ids.map(() => ours.serverId), "homes in the last resolution");
    assert.deepEqual(
      await adoptedBy(path, ours.address, ours.serverId),
      ids,
      "PEs that answered our keep-alive with the H flag",
    );
  },
);

interopTest(
  "interop ENRP: RSPLIB's registrar takes over the PEs of our SIGKILLed registrar (a second one of ours acknowledges)",
  { subnet: 243, timeout: 150_000, ignore },
  async (lab) => {
    const victim = await ourRegistrar(lab, [lab.rsplibAddress]);
    // It only acknowledges: it does not notice the victim's death itself within the test.
    const witness = await ourRegistrar(lab, [lab.rsplibAddress, victim.address], "120s");
    const theirs = await rsplibRegistrar(lab, [victim.address, witness.address]);
    const atTheirs = `${lab.rsplibAddress}:${ASAP_PORT}`;
    const atVictim = `${victim.address}:${ASAP_PORT}`;
    const atWitness = `${witness.address}:${ASAP_PORT}`;
    const ourPe = await lab.ourPoolElement("echo", {
      pool: "OursTakeover",
      registrar: atVictim,
      identifier: 0x7501,
      extra: ["--reregistration-interval", "1s"],
    });
    await lab.rsplibServer("echo", {
      pool: "RspTakeover",
      registrar: atVictim,
      identifier: 0x7601,
      extra: ["-rereginterval=2000"],
    });
    const pools = { OursTakeover: [0x7501], RspTakeover: [0x7601] };
    await converge(lab, [atTheirs, atWitness], pools, "the victim's PEs at RSPLIB's and ours");

    const capture = await lab.capture("udp port 9899", "any");
    const killed = Date.now();
    await victim.child.stop("SIGKILL");
    await sleep(4000);
    await eventually(
      async () => {
        const dump = await lab.hsdump(`${lab.rsplibAddress}:${ENRP_PORT}`);
        return JSON.stringify(entries(dump)) === JSON.stringify([
          ["OursTakeover", 0x7501, theirs.serverId],
          ["RspTakeover", 0x7601, theirs.serverId],
        ]);
      },
      "the victim's PEs owned by RSPLIB's registrar",
      15_000,
    );
    await sleep(Math.max(0, killed + 12_000 - Date.now()));
    await converge(lab, [atTheirs, atWitness], pools, "the PEs still there, long after", 5000);
    const path = await capture.stop();
    assert.deepEqual(
      await adoptedBy(path, lab.rsplibAddress, theirs.serverId),
      [ourPe.identifier, 0x7601].sort((a, b) => a - b),
      "PEs that answered RSPLIB's keep-alive with the H flag",
    );
    // The witness agrees about the new home.
    const dump = await lab.hsdump(`${witness.address}:${ENRP_PORT}`);
    for (const [, , home] of entries(dump)) assert.equal(home, theirs.serverId, dump.text);
  },
);
