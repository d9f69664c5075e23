// A hostile SCTP-over-UDP peer for attack tests, built from the stack's own chunk codec: it
// completes the handshake (INIT, INIT ACK, COOKIE ECHO, COOKIE ACK) advertising a tiny receive
// window, answers HEARTBEATs so that it looks alive, sends ASAP requests in DATA as fast as the
// registrar's window lets it, and never acknowledges a single DATA chunk of the registrar's.
// What the registrar sends it stays unacknowledged there: the test measures how much of it the
// registrar takes on before it stops reading or cuts the peer off.

import {
  ChunkType,
  DataFlag,
  decodeData,
  decodeInit,
  decodePacket,
  decodeSack,
  encodeInit,
  PacketBuilder,
  type RawChunk,
} from "../../transport/sctp/chunks.ts";

/** Options of {@linkcode NoSackPeer.connect}. */
export interface NoSackPeerOptions {
  /** The registrar's SCTP address; its UDP port is taken to be the SCTP port. */
  hostname: string;
  port: number;
  /** Local address to bind (default 127.0.0.1). */
  localHostname?: string;
  /** The receive window advertised in INIT (default 1500). */
  advertisedWindow?: number;
  /** Handshake timeout in ms (default 5000). */
  timeout?: number;
}

/** What one attacker saw. */
export interface NoSackPeerStats {
  /** Requests sent (first transmissions). */
  requestsSent: number;
  /** Request bytes the registrar acknowledged (took into its receive buffer or answered). */
  bytesAccepted: number;
  /** Distinct DATA bytes the registrar sent (its answers; none of them acknowledged). */
  bytesReceived: number;
  /** DATA chunks the registrar retransmitted to us. */
  retransmissionsSeen: number;
  /** HEARTBEATs answered. */
  heartbeatsAnswered: number;
  /** The registrar's last advertised window. */
  registrarWindow: number;
  /** Whether the registrar aborted the association. */
  aborted: boolean;
  /** When (ms since the epoch) the registrar last acknowledged new request bytes. */
  lastAcceptedAt: number;
}

const PPID_ASAP = 11;
const MTU = 9000;
/** Most new requests per call (every 5 ms and per SACK): the kernel's socket buffers are finite. */
const BURST = 16;

function random32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] || 1;
}

/** A raw SCTP peer that never SACKs (see the file comment). */
export class NoSackPeer {
  readonly stats: NoSackPeerStats = {
    requestsSent: 0,
    bytesAccepted: 0,
    bytesReceived: 0,
    retransmissionsSeen: 0,
    heartbeatsAnswered: 0,
    registrarWindow: 0,
    aborted: false,
    lastAcceptedAt: Date.now(),
  };
  #socket: Deno.DatagramConn;
  #remote: Deno.NetAddr;
  #localPort: number;
  #remotePort: number;
  #localTag = random32();
  #peerTag = 0;
  #nextTsn = random32();
  #cumAcked: number;
  #outstanding = new Map<number, Uint8Array>();
  #outstandingBytes = 0;
  #seen = new Set<number>();
  #builder = new PacketBuilder(MTU);
  #closed = false;
  #reader: Promise<void>;
  #established = Promise.withResolvers<void>();
  #cookie: Uint8Array | undefined;
  #pump: ReturnType<typeof setInterval> | undefined;
  #request: Uint8Array | undefined;
  #maxRequests = 0;

  private constructor(socket: Deno.DatagramConn, options: NoSackPeerOptions) {
    this.#socket = socket;
    this.#remote = { transport: "udp", hostname: options.hostname, port: options.port };
    this.#localPort = (socket.addr as Deno.NetAddr).port;
    this.#remotePort = options.port;
    this.#cumAcked = (this.#nextTsn - 1) >>> 0;
    this.#reader = this.#read();
  }

  /** Opens a UDP socket and completes the SCTP handshake. */
  static async connect(options: NoSackPeerOptions): Promise<NoSackPeer> {
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: options.localHostname ?? "127.0.0.1",
      port: 0,
    });
    const peer = new NoSackPeer(socket, options);
    const init = encodeInit({
      initiateTag: peer.#localTag,
      advertisedWindow: options.advertisedWindow ?? 1500,
      outboundStreams: 16,
      inboundStreams: 16,
      initialTsn: peer.#nextTsn,
      addresses: [],
      unrecognized: [],
      stop: false,
    });
    const timeout = options.timeout ?? 5000;
    const deadline = Date.now() + timeout;
    // INIT, then COOKIE ECHO, each repeated every 500 ms until answered or the deadline.
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        peer.#established.promise,
        (async () => {
          while (Date.now() < deadline) {
            if (peer.#cookie === undefined) {
              await peer.#control(ChunkType.Init, init, 0);
            } else {
              await peer.#control(ChunkType.CookieEcho, peer.#cookie);
            }
            await new Promise((r) => timer = setTimeout(r, 500));
          }
          throw new Error("Handshake timed out");
        })(),
      ]);
    } catch (e) {
      peer.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return peer;
  }

  /**
   * Sends copies of `request` (an encoded ASAP message) as fast as the registrar's window
   * allows, up to `max` of them, bundled into packets of up to 9,000 bytes.
   */
  flood(request: Uint8Array, max: number): void {
    this.#request = request;
    this.#maxRequests = max;
    this.#pump ??= setInterval(() => this.#send(), 5);
    this.#send();
  }

  /** Stops sending (the association stays, still never acknowledged). */
  stop(): void {
    clearInterval(this.#pump);
    this.#pump = undefined;
  }

  /** Aborts the association and closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.stop();
    if (this.#peerTag !== 0 && !this.stats.aborted) {
      this.#control(ChunkType.Abort, new Uint8Array()).catch(() => {});
    }
    this.#closed = true;
    try {
      this.#socket.close();
    } catch {
      // closed already
    }
  }

  /** Resolves once the socket's reader has stopped. */
  get done(): Promise<void> {
    return this.#reader;
  }

  async #control(type: number, value: Uint8Array, tag = this.#peerTag): Promise<void> {
    if (this.#closed) return;
    const b = this.#builder;
    b.start(this.#localPort, this.#remotePort, tag);
    b.chunk(type, 0, value);
    await this.#socket.send(b.finish(), this.#remote).catch(() => {});
  }

  #send(): void {
    const request = this.#request;
    if (request === undefined || this.#closed || this.stats.aborted || this.#peerTag === 0) return;
    // Within the registrar's window as its last SACK gave it, counting what it holds per message
    // generously (it charges each held message more than its bytes).
    const cost = request.length * 1.5;
    const now = Date.now();
    if (this.#outstanding.size > 0 && now - this.stats.lastAcceptedAt > 300) {
      // Nothing taken for a while: chunks were dropped (a full socket buffer); go back to the
      // oldest and send them again, a packet's worth per tick.
      const again: [number, Uint8Array][] = [];
      let bytes = 12;
      for (const [tsn, payload] of this.#outstanding) {
        bytes += (16 + payload.length + 3) & ~3;
        if (bytes > MTU) break;
        again.push([tsn, payload]);
      }
      this.#packet(again);
      this.stats.lastAcceptedAt = now - 250;
      return;
    }
    let batch: [number, Uint8Array][] = [];
    let size = 12;
    let budget = BURST;
    while (
      budget-- > 0 && this.stats.requestsSent < this.#maxRequests &&
      (this.#outstandingBytes + request.length) * 1.5 + cost <= this.stats.registrarWindow
    ) {
      const tsn = this.#nextTsn;
      this.#nextTsn = (tsn + 1) >>> 0;
      this.#outstanding.set(tsn, request);
      this.#outstandingBytes += request.length;
      this.stats.requestsSent++;
      const need = (16 + request.length + 3) & ~3;
      if (size + need > MTU && batch.length > 0) {
        this.#packet(batch);
        batch = [];
        size = 12;
      }
      batch.push([tsn, request]);
      size += need;
    }
    if (batch.length > 0) this.#packet(batch);
  }

  #packet(chunks: [number, Uint8Array][]): void {
    const b = this.#builder;
    b.start(this.#localPort, this.#remotePort, this.#peerTag);
    for (const [tsn, payload] of chunks) {
      // Unordered: a retransmission needs no stream sequence number kept for it.
      b.data(DataFlag.Begin | DataFlag.End | DataFlag.Unordered, tsn, 0, 0, PPID_ASAP, payload);
    }
    this.#socket.send(b.finish(), this.#remote).catch(() => {});
  }

  async #read(): Promise<void> {
    while (!this.#closed) {
      let datagram: [Uint8Array, Deno.Addr];
      try {
        datagram = await this.#socket.receive();
      } catch {
        break;
      }
      const packet = decodePacket(datagram[0]);
      if (packet === undefined) continue;
      for (const c of packet.chunks) this.#onChunk(c);
    }
  }

  #onChunk(c: RawChunk): void {
    switch (c.type) {
      case ChunkType.InitAck: {
        const init = decodeInit(c.value);
        if (init === undefined || init.cookie === undefined || this.#cookie !== undefined) return;
        this.#peerTag = init.initiateTag;
        this.stats.registrarWindow = init.advertisedWindow;
        this.#cookie = init.cookie;
        this.#control(ChunkType.CookieEcho, init.cookie);
        return;
      }
      case ChunkType.CookieAck:
        this.#established.resolve();
        return;
      case ChunkType.Heartbeat:
        this.stats.heartbeatsAnswered++;
        this.#control(ChunkType.HeartbeatAck, c.value);
        return;
      case ChunkType.Data: {
        const d = decodeData(c);
        if (d === undefined) return;
        if (this.#seen.has(d.tsn)) {
          this.stats.retransmissionsSeen++;
        } else {
          this.#seen.add(d.tsn);
          this.stats.bytesReceived += d.payload.length;
        }
        return; // and never a SACK
      }
      case ChunkType.Sack: {
        const sack = decodeSack(c.value);
        if (sack === undefined) return;
        this.stats.registrarWindow = sack.advertisedWindow;
        while (this.#cumAcked !== sack.cumulativeTsn) {
          const tsn = (this.#cumAcked + 1) >>> 0;
          const payload = this.#outstanding.get(tsn);
          if (payload === undefined) break;
          this.#outstanding.delete(tsn);
          this.#outstandingBytes -= payload.length;
          this.stats.bytesAccepted += payload.length;
          this.stats.lastAcceptedAt = Date.now();
          this.#cumAcked = tsn;
        }
        this.#send();
        return;
      }
      case ChunkType.Abort:
        this.stats.aborted = true;
        this.stop();
        return;
      default:
        return;
    }
  }
}
