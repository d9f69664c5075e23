/**
 * One destination transport address of an association (RFC 9260, 7.2 and 8.2): its RTO, its
 * congestion control (cwnd, ssthresh, partial_bytes_acked, the bytes in flight) and its error
 * counter, with the rules that change them.
 *
 * @module
 */

import { RtoEstimator } from "./rto.ts";
import type { SctpTimer } from "./timer.ts";

/** What a path needs of the association's configuration. */
export interface PathConfig {
  /** The path MTU: the largest SCTP packet. */
  mtu: number;
  /** RTO.Initial. */
  rtoInitial: number;
  /** RTO.Min. */
  rtoMin: number;
  /** RTO.Max. */
  rtoMax: number;
  /** The initial ssthresh: the peer's advertised receiver window, or our own buffer. */
  receiveBufferSize: number;
  /** Path.Max.Retrans: errors after which the path is inactive. */
  pathMaxRetransmits: number;
}

/**
 * The initial congestion window (RFC 9260, 7.2.1): min(4 MTU, max(2 MTU, 4380)).
 *
 * @example
 * ```ts
 * import { initialCwnd } from "./path.ts";
 * initialCwnd(1200); // 4380
 * ```
 */
export function initialCwnd(mtu: number): number {
  return Math.min(4 * mtu, Math.max(2 * mtu, 4380));
}

/**
 * A destination and its state.
 *
 * @example Slow start, then a loss
 * ```ts
 * import { SctpPath } from "./path.ts";
 * const config = {
 *   mtu: 1200, rtoInitial: 1000, rtoMin: 100, rtoMax: 5000,
 *   receiveBufferSize: 65536, pathMaxRetransmits: 5,
 * };
 * const path = new SctpPath("10.0.0.2", 9899, config);
 * path.flight = path.cwnd; // the window is full
 * path.beginSack();
 * path.flight -= 1200;
 * path.bytesAcked = 1200;
 * path.growCwnd(); // slow start: + min(acked, MTU)
 * path.reduceOnLoss(); // fast retransmit: ssthresh = max(cwnd / 2, 4 MTU)
 * ```
 */
export class SctpPath {
  /** The peer's address. */
  readonly address: string;
  /** The peer's UDP encapsulation port on it (the port it last sent from). */
  udpPort: number;
  /** Active (reachable) or inactive (RFC 9260, 8.2). */
  active = true;
  /** Confirmed: a HEARTBEAT ACK or the handshake proved the peer owns it (5.4). */
  confirmed: boolean;
  /** The error counter (8.2). */
  errors = 0;
  /** Its RTO. */
  readonly rto: RtoEstimator;
  /** Congestion window (bytes). */
  cwnd: number;
  /** Slow start threshold (bytes). */
  ssthresh: number;
  /** partial_bytes_acked of congestion avoidance (7.2.2). */
  partialBytesAcked = 0;
  /** Bytes of DATA outstanding on it. */
  flight = 0;
  /** T3-rtx, set by the association. */
  t3!: SctpTimer;
  /** The HEARTBEAT timer, set by the association. */
  heartbeat!: SctpTimer;
  /** A HEARTBEAT is waiting for its ACK. */
  heartbeatPending = false;
  /** The nonce of that HEARTBEAT. */
  heartbeatNonce = 0;
  /** When DATA sent on it was last acknowledged (ms): it needs no HEARTBEAT for a while. */
  lastAcked = 0;
  /** DATA chunks sent on it. */
  dataSent = 0;
  /** The chunk whose round trip is being timed (one at a time, 6.3.1 C4). */
  rttChunk: object | undefined;
  /** Flight before the SACK being processed. */
  flightBeforeSack = 0;
  /** Bytes the SACK being processed newly acknowledged on it. */
  bytesAcked = 0;
  /** The SACK being processed found a loss on it (a fast retransmit). */
  lossThisSack = false;
  #config: PathConfig;

  /** A path with the initial cwnd and RTO. */
  constructor(address: string, udpPort: number, config: PathConfig, confirmed = false) {
    this.address = address;
    this.udpPort = udpPort;
    this.confirmed = confirmed;
    this.#config = config;
    this.rto = new RtoEstimator(config);
    this.cwnd = initialCwnd(config.mtu);
    this.ssthresh = config.receiveBufferSize;
  }

  /** Whether new data may go on it: less than cwnd in flight (7.2.1 rule B). */
  get canSend(): boolean {
    return this.flight < this.cwnd;
  }

  /** Before a SACK is processed: remembers the flight and zeroes the bytes acknowledged. */
  beginSack(): void {
    this.flightBeforeSack = this.flight;
    this.bytesAcked = 0;
  }

  /**
   * Grows cwnd by the bytes this SACK acknowledged on the path, when the cumulative ack
   * advanced outside Fast Recovery: slow start (7.2.1) by at most one MTU, congestion
   * avoidance (7.2.2) by one MTU per cwnd acknowledged, either only when the window was in use.
   */
  growCwnd(): void {
    const acked = this.bytesAcked;
    if (acked === 0) return;
    const mtu = this.#config.mtu;
    const fullyUsed = this.flightBeforeSack >= this.cwnd - mtu;
    if (this.cwnd <= this.ssthresh) {
      if (fullyUsed) this.cwnd += Math.min(acked, mtu);
    } else {
      this.partialBytesAcked += acked;
      if (this.partialBytesAcked >= this.cwnd && fullyUsed) {
        this.partialBytesAcked -= this.cwnd;
        this.cwnd += mtu;
      }
    }
  }

  /** A loss found by fast retransmit (7.2.3, 7.2.4): halves cwnd, at least 4 MTU. */
  reduceOnLoss(): void {
    this.ssthresh = Math.max(this.cwnd / 2, 4 * this.#config.mtu);
    this.cwnd = this.ssthresh;
    this.partialBytesAcked = 0;
  }

  /** T3-rtx expired (7.2.3, 6.3.3): ssthresh halves, cwnd is one MTU, the RTO backs off. */
  reduceOnTimeout(): void {
    this.ssthresh = Math.max(this.cwnd / 2, 4 * this.#config.mtu);
    this.cwnd = this.#config.mtu;
    this.partialBytesAcked = 0;
    this.rto.backoff();
  }

  /** Data moves here from a failed path: at least the initial cwnd. */
  openForSwitch(): void {
    this.cwnd = Math.max(this.cwnd, initialCwnd(this.#config.mtu));
  }

  /**
   * Counts an unanswered transmission or HEARTBEAT (8.2); returns true when it made the path
   * inactive (more than Path.Max.Retrans errors).
   */
  countError(): boolean {
    this.errors++;
    if (this.active && this.errors > this.#config.pathMaxRetransmits) {
      this.active = false;
      return true;
    }
    return false;
  }
}
