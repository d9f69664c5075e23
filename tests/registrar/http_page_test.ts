// The registrar's live page in headless Chromium: a registrar process serving HTTP, PE
// processes registering; the page, loaded once, shows each PE as it registers and drops the one
// that is killed (SIGKILL: its association ends, it does not answer, it is removed), with the
// removal and its reason in the event list. Ignored without Chromium outside CI.

import assert from "node:assert/strict";
import { Chromium } from "../support/chromium.ts";
import { ignoreWithoutChromium } from "../support/chromium.ts";
import type { Child } from "../support/processes.ts";
import { openPage, peRow, startHttpRegistrar, startPe } from "../support/registrar_page.ts";

const NAME = "registrar page: PEs appear as they register and disappear when killed";

Deno.test({
  name: NAME,
  ignore: await ignoreWithoutChromium(NAME),
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const spawned: Child[] = [];
  let browser: Chromium | undefined;
  try {
    const registrar = await startHttpRegistrar();
    spawned.push(registrar.child);
    browser = await Chromium.launch();
    const page = await openPage(browser, registrar.url);
    assert.equal(await page.evaluate("document.querySelectorAll('[data-pe-id]').length"), 0);

    const first = await startPe(registrar.ready, "PagePool");
    spawned.push(first.child);
    const appeared = await page.waitFor(
      `document.querySelector('${peRow(first.identifier)}')`,
      "the first PE on the page",
      10_000,
    );
    const second = await startPe(registrar.ready, "PagePool");
    spawned.push(second.child);
    await page.waitFor(
      `document.querySelector('${peRow(second.identifier)}')`,
      "the second PE on the page",
      10_000,
    );
    assert.equal(
      await page.evaluate(`document.querySelector('${peRow(first.identifier)}').dataset.pool`),
      "PagePool",
    );
    assert.match(
      await page.evaluate<string>(`document.getElementById("events").textContent`),
      new RegExp(`registered ${first.identifier.toString(16).padStart(8, "0")} in PagePool`),
    );

    // SIGKILL: no deregistration. The registrar sees the association end and removes the PE
    // when it does not come back within the keep-alive timeout (1 s here).
    first.child.process.kill("SIGKILL");
    const gone = await page.waitFor(
      `!document.querySelector('${peRow(first.identifier)}')`,
      "the killed PE to leave the page",
      10_000,
    );
    assert.ok(
      await page.evaluate(`Boolean(document.querySelector('${peRow(second.identifier)}'))`),
      "the other PE stays",
    );
    const removal = await page.evaluate<string>(
      `[...document.querySelectorAll("#events li.removed")].map((li) => li.textContent).join()`,
    );
    assert.match(
      removal,
      new RegExp(
        `removed ${first.identifier.toString(16).padStart(8, "0")} from PagePool: keep-alive`,
      ),
    );
    console.log(
      `appeared after ${Math.round(appeared)} ms; gone ${Math.round(gone)} ms after kill`,
    );
    await page.close();
  } finally {
    await browser?.close();
    for (const c of spawned.reverse()) await c.stop("SIGKILL");
  }
});
