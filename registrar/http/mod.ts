/**
 * Seeing into a registrar over HTTP: JSON status of the registrar, its pools and PEs,
 * Prometheus metrics, and a live page fed by server-sent events. It only reads the registrar.
 * The command line turns it on with `--http HOST:PORT`.
 *
 * @example
 * ```ts ignore
 * import { Registrar } from "@rserpool/rserpool/registrar";
 * import { RegistrarHttpServer } from "@rserpool/rserpool/registrar";
 * const registrar = await Registrar.start({
 *   asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 *   announce: false,
 * });
 * const http = await RegistrarHttpServer.start(registrar, { hostname: "127.0.0.1", port: 8080 });
 * // curl http://127.0.0.1:8080/metrics
 * await http.close();
 * await registrar.close();
 * ```
 *
 * @module
 */

export {
  type HttpAddress,
  RegistrarHttpServer,
  type RegistrarHttpServerOptions,
} from "./server.ts";
export { METRICS_CONTENT_TYPE } from "./metrics.ts";
export {
  EventFeed,
  type EventFeedOptions,
  type FeedCounts,
  type FeedRecord,
} from "./event_feed.ts";
export {
  type EndpointStatus,
  type PeerStatus,
  type PolicyStatus,
  type PoolElementStatus,
  type PoolsStatus,
  type PoolStatus,
  type RegistrarStatus,
  type TransportStatus,
} from "./status.ts";
export { PAGE_HTML, PAGE_SCRIPT } from "./page.ts";
