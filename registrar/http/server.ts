/**
 * A registrar's HTTP server (Deno's own): JSON status, Prometheus metrics, a live page and
 * server-sent events. It reads the registrar and never changes it. It has no authentication:
 * it binds to loopback unless told otherwise, and while on loopback it answers only requests
 * addressed to a loopback name (a guard against DNS rebinding).
 *
 * | Path                    | What                                                      |
 * | ----------------------- | --------------------------------------------------------- |
 * | `/`                     | the live page                                             |
 * | `/api/registrar`        | server ID, endpoints, uptime, limits, associations, peers |
 * | `/api/pools`            | pools and their PEs                                       |
 * | `/api/pools/{handle}`   | one pool (the handle percent-encoded)                     |
 * | `/api/events`           | server-sent events (`event: registrar`, JSON data)         |
 * | `/metrics`              | Prometheus text format                                    |
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Registrar } from "../registrar.ts";
import { EventFeed, type FeedRecord } from "./event_feed.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { PAGE_HTML, PAGE_SCRIPT } from "./page.ts";
import {
  parsePoolSegment,
  poolsStatus,
  poolStatus,
  registrarStatus,
  type StatusOptions,
} from "./status.ts";

const logger = getLogger(["rserpool", "registrar", "http"]);

/**
 * Options of {@linkcode RegistrarHttpServer.start}.
 *
 * @example
 * ```ts
 * import type { RegistrarHttpServerOptions } from "@rserpool/rserpool/registrar";
 * const options: RegistrarHttpServerOptions = { hostname: "127.0.0.1", port: 8080 };
 * ```
 */
export interface RegistrarHttpServerOptions {
  /** Address to listen on (default 127.0.0.1: loopback). */
  hostname?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** The registrar's clock (ms, default `Date.now`). */
  clock?: () => number;
  /** Limits shown by `/api/registrar` when the registrar does not report its own. */
  limits?: Record<string, unknown>;
  /** Most pools, and most PEs per pool, in `/api/pools` (default 1000 each). */
  maxListed?: number;
  /** Recent events kept for the page and for reconnecting clients (default 200). */
  recentEvents?: number;
  /** Interval of comment lines keeping event streams open through proxies (ms, default 15000). */
  eventStreamKeepAlive?: number;
}

/**
 * The address an HTTP server listens on.
 *
 * @example
 * ```ts
 * import type { HttpAddress } from "@rserpool/rserpool/registrar";
 * const a: HttpAddress = { hostname: "127.0.0.1", port: 8080 };
 * ```
 */
export interface HttpAddress {
  /** Host address. */
  hostname: string;
  /** Port. */
  port: number;
}

/** Chunks queued for an event stream client that does not read, before it is dropped. */
const MAX_QUEUED = 1024;

const encoder = new TextEncoder();

/** Whether a host (address or name) is loopback. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host name of a Host header, without the port. */
function hostOf(header: string): string {
  if (header.startsWith("[")) return header.slice(0, header.indexOf("]") + 1);
  const colon = header.indexOf(":");
  return colon < 0 ? header : header.slice(0, colon);
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function problem(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: message }) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/**
 * Serves a registrar over HTTP.
 *
 * @example
 * ```ts ignore
 * import { Registrar } from "@rserpool/rserpool/registrar";
 * import { RegistrarHttpServer } from "@rserpool/rserpool/registrar";
 * await using registrar = await Registrar.start({ announce: false });
 * await using http = await RegistrarHttpServer.start(registrar, { port: 0 });
 * console.log(`http://127.0.0.1:${http.address.port}/`);
 * ```
 */
export class RegistrarHttpServer implements AsyncDisposable {
  /** Event stream clients connected now. */
  get eventStreams(): number {
    return this.#streams.size;
  }

  /** The address listened on, with the port actually bound. */
  readonly address: HttpAddress;
  /** The registrar's events as this server keeps them. */
  readonly feed: EventFeed;
  #registrar: Registrar;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #status: StatusOptions;
  #loopback: boolean;
  #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #streamKeepAlive: number;
  #closed = false;
  #framed: { id: number; bytes: Uint8Array } = { id: 0, bytes: new Uint8Array() };

  private constructor(registrar: Registrar, options: RegistrarHttpServerOptions) {
    this.#registrar = registrar;
    const clock = options.clock ?? Date.now;
    this.#status = {
      clock,
      limits: options.limits,
      maxPools: options.maxListed ?? 1000,
      maxPoolElements: options.maxListed ?? 1000,
    };
    this.#streamKeepAlive = options.eventStreamKeepAlive ?? 15_000;
    const hostname = options.hostname ?? "127.0.0.1";
    this.#loopback = isLoopback(hostname);
    this.feed = new EventFeed(registrar, { capacity: options.recentEvents, clock });
    try {
      this.#server = Deno.serve({
        hostname,
        port: options.port ?? 8080,
        onListen: () => {},
        onError: (e) => {
          logger.error("HTTP request failed: {error}", { error: String(e) });
          return problem(500, "Internal error");
        },
      }, (request) => this.#handle(request));
    } catch (e) {
      this.feed.close();
      throw e;
    }
    this.address = { hostname: this.#server.addr.hostname, port: this.#server.addr.port };
  }

  /** Starts serving `registrar` (throws when the address cannot be bound). */
  static start(
    registrar: Registrar,
    options: RegistrarHttpServerOptions = {},
  ): Promise<RegistrarHttpServer> {
    return Promise.resolve(new RegistrarHttpServer(registrar, options));
  }

  /** Stops: ends the event streams and the listener, and stops watching the registrar. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.feed.close();
    for (const c of this.#streams) {
      try {
        c.close();
      } catch {
        // already closed or errored
      }
    }
    this.#streams.clear();
    await this.#server.shutdown();
  }

  /** Same as {@linkcode RegistrarHttpServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #handle(request: Request): Response {
    const url = new URL(request.url);
    if (this.#loopback && !isLoopback(hostOf(request.headers.get("host") ?? ""))) {
      return problem(403, "This server answers only requests to a loopback host name");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return problem(405, "Only GET", { allow: "GET, HEAD" });
    }
    const path = url.pathname;
    const registrar = this.#registrar;
    switch (path) {
      case "/":
        return new Response(PAGE_HTML, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "content-security-policy":
              "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            "x-content-type-options": "nosniff",
          },
        });
      case "/page.js":
        return new Response(PAGE_SCRIPT, {
          headers: {
            "content-type": "text/javascript; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          },
        });
      case "/metrics":
        return new Response(renderMetrics(registrar, { counts: this.feed.counts }), {
          headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
        });
      case "/api/registrar":
        return json(registrarStatus(registrar, this.#status));
      case "/api/pools":
        return json(poolsStatus(registrar, this.#listOptions(url)));
      case "/api/events":
        return request.method === "HEAD"
          ? new Response(null, { headers: { "content-type": "text/event-stream; charset=utf-8" } })
          : this.#eventStream(request);
    }
    if (path.startsWith("/api/pools/")) {
      const handle = parsePoolSegment(path.slice("/api/pools/".length));
      if (handle === undefined) return problem(400, "Malformed pool handle");
      const pool = poolStatus(registrar, handle, this.#listOptions(url));
      return pool === undefined ? problem(404, "No such pool") : json(pool);
    }
    return problem(404, "Not found");
  }

  /** The status options with `?limit=N` (PEs per pool, and pools) applied. */
  #listOptions(url: URL): StatusOptions {
    const limit = Number(url.searchParams.get("limit"));
    if (!Number.isInteger(limit) || limit <= 0) return this.#status;
    return {
      ...this.#status,
      maxPools: Math.min(limit, this.#status.maxPools ?? limit),
      maxPoolElements: Math.min(limit, this.#status.maxPoolElements ?? limit),
    };
  }

  /** A record as a server-sent event, encoded once for all the streams. */
  #frame(record: FeedRecord): Uint8Array {
    if (this.#framed.id !== record.id) this.#framed = { id: record.id, bytes: frame(record) };
    return this.#framed.bytes;
  }

  /**
   * Server-sent events: the recent records (after `Last-Event-ID` for a client that
   * reconnects), then each new one as it happens.
   */
  #eventStream(request: Request): Response {
    const lastId = Number(request.headers.get("last-event-id") ?? 0);
    const after = Number.isInteger(lastId) && lastId > 0 && lastId <= this.feed.lastId ? lastId : 0;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let stop = () => {};
    let timer: ReturnType<typeof setInterval> | undefined;
    const end = () => {
      stop();
      clearInterval(timer);
      this.#streams.delete(controller);
    };
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.#streams.add(c);
        c.enqueue(encoder.encode("retry: 1000\n\n"));
        for (const record of this.feed.recent(after)) c.enqueue(frame(record));
        const send = (chunk: Uint8Array) => {
          if ((c.desiredSize ?? 0) < -MAX_QUEUED) {
            // A client that does not read gets no more of the registrar's memory.
            end();
            c.error(new Error("Event stream client does not read"));
            return;
          }
          c.enqueue(chunk);
        };
        stop = this.feed.subscribe((record) => send(this.#frame(record)));
        timer = setInterval(() => send(encoder.encode(": keep-alive\n\n")), this.#streamKeepAlive);
      },
      cancel: () => end(),
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }
}

function frame(record: FeedRecord): Uint8Array {
  return encoder.encode(`id: ${record.id}\nevent: registrar\ndata: ${JSON.stringify(record)}\n\n`);
}
