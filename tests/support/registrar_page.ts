// The registrar's live page with real processes: a registrar process serving HTTP, PE
// processes registering with it, headless Chromium showing the page. Used by
// tests/registrar/http_page_test.ts; run as a program it makes the README's screenshot:
//
//   deno run -A tests/support/registrar_page.ts [docs/registrar_page.png]
//
// (two registrars joined by ENRP, PEs in three pools at either, one PE killed, one reported
// unreachable; the page of the first registrar).

import { Child, type RegistrarReady, startRegistrar } from "./processes.ts";
import { Chromium, type ChromiumPage } from "./chromium.ts";
import { AsapClient, text } from "./asap_client.ts";

/** What the registrar prints first when it serves HTTP. */
export interface HttpRegistrarReady extends RegistrarReady {
  http: { hostname: string; port: number };
}

/** A PE process and its identifier. */
export interface PeProcess {
  child: Child;
  identifier: number;
}

/** Starts a registrar process serving HTTP on a free loopback port, with fast keep-alives. */
export async function startHttpRegistrar(
  args: string[] = [],
  name = "registrar",
): Promise<{ child: Child; ready: HttpRegistrarReady; url: string }> {
  const { child, ready } = await startRegistrar([
    "--http",
    "127.0.0.1:0",
    "--keep-alive-interval",
    "500ms",
    // A second to answer: a PE process on a loaded machine may take some hundred ms.
    "--keep-alive-timeout",
    "1s",
    "--log-level",
    "warning",
    ...args,
  ], name);
  const http = (ready as Partial<HttpRegistrarReady>).http;
  if (http === undefined) {
    await child.stop();
    throw new Error(`The registrar printed no HTTP address: ${JSON.stringify(ready)}`);
  }
  return {
    child,
    ready: ready as HttpRegistrarReady,
    url: `http://127.0.0.1:${http.port}/`,
  };
}

/** Starts a PE process of `service` in `pool` at the registrar's TCP endpoint. */
export async function startPe(
  ready: RegistrarReady,
  pool: string,
  options: { service?: string; args?: string[] } = {},
): Promise<PeProcess> {
  const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
  const child = Child.spawn("pe", "services/pe_main.ts", [
    "--service",
    options.service ?? "echo",
    "--pool",
    pool,
    "--registrar",
    `tcp:${tcp.hostname}:${tcp.port}`,
    "--listen",
    "tcp:127.0.0.1:0",
    ...(options.args ?? []),
  ]);
  const info = await child.json<{ identifier: number }>();
  return { child, identifier: info.identifier };
}

/** The selector of a PE's row on the page. */
export function peRow(identifier: number): string {
  return `[data-pe-id="${identifier.toString(16).padStart(8, "0")}"]`;
}

/** A page of Chromium on `url`, with the live connection up. */
export async function openPage(browser: Chromium, url: string): Promise<ChromiumPage> {
  const page = await browser.newPage();
  await page.navigate(url);
  await page.waitFor(`document.getElementById("live")?.className === "on"`, "the event stream");
  return page;
}

/** Makes the README's screenshot. */
async function screenshot(path: string): Promise<void> {
  const spawned: Child[] = [];
  let browser: Chromium | undefined;
  try {
    const a = await startHttpRegistrar(["--enrp", "tcp:127.0.0.1:0"], "registrar-a");
    spawned.push(a.child);
    const b = await startRegistrar([
      "--enrp",
      "tcp:127.0.0.1:0",
      "--peer",
      `tcp:127.0.0.1:${a.ready.enrp[0].port}`,
      "--log-level",
      "warning",
    ], "registrar-b");
    spawned.push(b.child);
    const pes: PeProcess[] = [];
    const pe = async (ready: RegistrarReady, pool: string, service: string, args: string[]) => {
      const p = await startPe(ready, pool, { service, args });
      spawned.push(p.child);
      pes.push(p);
      return p;
    };
    for (let i = 0; i < 3; i++) await pe(a.ready, "EchoPool", "echo", []);
    await pe(b.ready, "EchoPool", "echo", []);
    await pe(a.ready, "CalcPool", "calc", ["--policy", "least-used", "--load", "0.25"]);
    await pe(a.ready, "CalcPool", "calc", ["--policy", "least-used", "--load", "0.6"]);
    await pe(b.ready, "CalcPool", "calc", ["--policy", "least-used", "--load", "0.1"]);
    await pe(a.ready, "DaytimePool", "daytime", ["--policy", "priority", "--priority", "2"]);
    browser = await Chromium.launch({ width: 1280, height: 720 });
    const page = await openPage(browser, a.url);
    for (const p of pes) {
      await page.waitFor(`document.querySelector('${peRow(p.identifier)}')`, "PEs");
    }
    // One PE dies; a PU reports another unreachable.
    pes[0].child.process.kill("SIGKILL");
    await page.waitFor(`!document.querySelector('${peRow(pes[0].identifier)}')`, "the removal");
    const tcp = a.ready.asap.find((x) => x.protocol === "tcp")!;
    const client = await AsapClient.open(tcp);
    await client.send({
      type: "endpoint-unreachable",
      poolHandle: text("EchoPool"),
      identifier: pes[1].identifier,
    });
    await page.waitFor(`document.querySelector("#events li.unreachable-reported")`, "the report");
    await new Promise((r) => setTimeout(r, 1200));
    await Deno.writeFile(path, await page.screenshot());
    await client.close();
    await page.close();
    console.log(`Wrote ${path}`);
  } finally {
    await browser?.close();
    for (const c of spawned.reverse()) await c.stop("SIGKILL");
  }
}

if (import.meta.main) {
  await screenshot(Deno.args[0] ?? "docs/registrar_page.png");
  Deno.exit(0); // whatever a child's stream left open
}
