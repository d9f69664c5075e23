/**
 * Multi-homing in network namespaces: hosts A and B joined by two veth links
 * (10.211.0.0/24, the primary, and 10.212.0.0/24). A client in A and an echo server in B run
 * as child processes (`ip netns exec`). The primary link is cut in the middle of the transfer:
 * the path goes down, the transfer continues on the other link with nothing lost; once the
 * link is back, heartbeats bring the path up and data returns to the primary.
 */

import assert from "node:assert/strict";
import {
  createTwoHosts,
  ignoreWithoutNetns,
  namespacesNamed,
  netnsAvailable,
} from "../support/netns.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const ignore = await ignoreWithoutNetns();
const PEER = new URL("./sctp_multihoming_peer.ts", import.meta.url).pathname;

/** A child process whose standard output is read as JSON lines. */
class Peer {
  readonly lines: Record<string, unknown>[] = [];
  #child: Deno.ChildProcess;
  #waiters = new Set<() => void>();
  #stderr = "";
  readonly done: Promise<void>;

  constructor(namespace: string, args: string[]) {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", namespace, Deno.execPath(), "run", "-A", PEER, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const out = (async () => {
      let buffer = "";
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffer += text;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            this.lines.push(JSON.parse(line));
          } catch {
            this.lines.push({ text: line });
          }
          for (const w of this.#waiters) w();
        }
      }
    })();
    const err = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += text;
      }
    })();
    this.done = Promise.all([out, err, child.status]).then(() => {
      for (const w of this.#waiters) w();
    });
  }

  /** Waits for a line matching `test`, failing after `timeout` ms. */
  waitFor(what: string, test: (line: Record<string, unknown>) => boolean, timeout = 15_000) {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(test);
        if (found === undefined) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `no ${what} in ${timeout} ms: ${JSON.stringify(this.lines.slice(-5))} ${this.#stderr}`,
          ),
        );
      }, timeout);
      this.#waiters.add(check);
      check();
    });
  }

  async write(text: string): Promise<void> {
    const w = this.#child.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    w.releaseLock();
  }

  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // gone
    }
    try {
      await this.#child.stdin.close();
    } catch {
      // closed
    }
    await this.done;
  }
}

const isEvent = (type: string, hostname?: string) => (l: Record<string, unknown>) => {
  const e = l.event as { type: string; address?: { hostname: string } } | undefined;
  return e?.type === type && (hostname === undefined || e.address?.hostname === hostname);
};

Deno.test({
  name: "sctp/multihoming: the primary link is cut during a transfer and comes back",
  ...sanitized,
  ignore,
  async fn() {
    assert.ok(await netnsAvailable(), "root and iproute2 are required (CI=true)");
    const hosts = await createTwoHosts({ links: 2, base: 211 });
    const peers: Peer[] = [];
    try {
      const [primaryB, secondaryB] = hosts.bAddresses;
      const server = new Peer(hosts.b, ["server", hosts.bAddresses.join(","), "5000"]);
      peers.push(server);
      await server.waitFor("server ready", (l) => l.ready === true, 30_000);
      const client = new Peer(hosts.a, [
        "client",
        hosts.aAddresses.join(","),
        hosts.bAddresses.join(","),
        "5000",
      ]);
      peers.push(client);
      const up = await client.waitFor("client up", (l) => l.up === true, 30_000);
      assert.deepEqual((up.paths as { address: string }[]).map((p) => p.address), hosts.bAddresses);
      const progress = (n: number, current?: string) => (l: Record<string, unknown>) =>
        typeof l.echoed === "number" && l.echoed >= n &&
        (current === undefined || l.current === current);
      const last = () =>
        Math.max(0, ...client.lines.map((l) => typeof l.echoed === "number" ? l.echoed : 0));
      await client.waitFor("progress on the primary", progress(500, primaryB));

      // Cut the primary link in the middle of the transfer.
      await hosts.setLink(0, false);
      await client.waitFor("path-down of the primary", isEvent("path-down", primaryB));
      await client.waitFor("switch to the secondary", isEvent("primary-changed", secondaryB));
      const atCut = last();
      await client.waitFor("progress on the secondary", progress(atCut + 500, secondaryB));

      // Restore it: heartbeats find the path again and data goes back to it.
      await hosts.setLink(0, true);
      await client.waitFor("path-up of the primary", isEvent("path-up", primaryB));
      await client.waitFor(
        "switch back",
        (l) =>
          isEvent("primary-changed", primaryB)(l) &&
          client.lines.indexOf(l) > client.lines.findIndex(isEvent("path-up", primaryB)),
      );
      const atRestore = last();
      await client.waitFor("progress on the primary again", progress(atRestore + 500, primaryB));
      // The server finds its primary again by its own heartbeats (up to rtoMax apart on a
      // path that is down): wait for that before the transfer ends, however fast it ran.
      await server.waitFor("server path-up", isEvent("path-up"));

      await client.write("stop\n");
      const summary = await client.waitFor("client summary", (l) => l.done === true, 30_000);
      assert.equal(summary.errors, 0, "echoes out of order, duplicated or corrupted");
      assert.equal(summary.echoed, summary.sent, "messages lost");
      const paths = summary.paths as { address: string; dataSent: number; active: boolean }[];
      assert.ok(paths.every((p) => p.active && p.dataSent > 0), JSON.stringify(paths));
      console.log("client", JSON.stringify(summary));
      const serverSummary = await server.waitFor("server summary", (l) => l.done === true);
      assert.equal(serverSummary.received, summary.sent);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(peers.map((p) => p.done)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("peers did not exit")), 15_000);
        }),
      ]).finally(() => clearTimeout(timer));
      // The server saw the same failure and recovery.
      assert.ok(server.lines.some(isEvent("path-down")), "server saw a path-down");
      assert.ok(server.lines.some(isEvent("path-up")), "server saw a path-up");
    } finally {
      await Promise.all(peers.map((p) => p.kill()));
      await hosts.destroy();
    }
    assert.deepEqual(await namespacesNamed(hosts.a), []);
  },
});
