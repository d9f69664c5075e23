/**
 * A consumer of the published package: an application outside the repository, with its own
 * deno.json, that sees only the files `deno publish --dry-run` ships, each import rewritten
 * through the package's import map as JSR does when it publishes ("unfurling"). It starts a
 * registrar, a PE and a PU and exchanges a message. It fails when a published file imports
 * something the published set and its import map do not provide (a file left out, a bare
 * specifier the import map lacks), or when an export path does not load.
 *
 * The application has no node_modules: Deno fetches the npm packages the package names
 * (`npm:cbor-x@...`, `npm:@logtape/logtape@...`) from the npm registry into its cache, as for a
 * user of the published package; after the first run they come from the cache. Its
 * package.json only pins cbor-x's optional `cbor-extract` to 2.2.2 (README: "Using the package
 * from Deno"), because 2.2.3 is not served for every platform.
 *
 * @module
 */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;
const deno = Deno.execPath();

interface DenoJson {
  name: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

/** The files `deno publish --dry-run` lists, relative to the repository. */
async function publishedFiles(): Promise<string[]> {
  const out = await new Deno.Command(deno, {
    args: ["publish", "--dry-run", "--allow-dirty", "--no-check"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000), // killed (and the test fails) rather than a hang
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  const files = [...text.matchAll(/file:\/\/(\S+) \([\d.]+K?B\)/g)].map((m) =>
    m[1].slice(root.length)
  );
  assert.ok(files.includes("mod.ts") && files.includes("deno.json"), text);
  return files;
}

/** Rewrites the bare specifiers of the import map into their targets, as JSR does. */
function unfurl(source: string, imports: Record<string, string>): string {
  return source.replace(
    /((?:import|export)[^'"]*?from\s*|import\s*\(\s*|import\s+)(["'])([^"']+)\2/g,
    (whole, head: string, quote: string, specifier: string) => {
      const target = imports[specifier];
      return target === undefined ? whole : `${head}${quote}${target}${quote}`;
    },
  );
}

const APP = `import { PoolElement, PoolUser, Registrar } from "@rserpool/rserpool";
import { WireError } from "@rserpool/rserpool/wire";
import { decodeAsapMessage } from "@rserpool/rserpool/asap";
import { EnrpMessageType } from "@rserpool/rserpool/enrp";
import { Handlespace } from "@rserpool/rserpool/handlespace";
import { selectionPolicy } from "@rserpool/rserpool/policy";
import { formatEndpointAddress } from "@rserpool/rserpool/transport";
import { parseRegistrarArgs } from "@rserpool/rserpool/registrar";

void [WireError, decodeAsapMessage, EnrpMessageType, Handlespace, selectionPolicy];
void [formatEndpointAddress, parseRegistrarArgs];

await using registrar = await Registrar.start({
  asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
  announce: false,
});
const registrars = registrar.addresses;
await using pe = await PoolElement.start({
  poolHandle: "ConsumerEchoPool",
  registrars,
  listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
  onSession: async (session) => {
    for await (const m of session) await session.send(m.data);
  },
});
await using pu = new PoolUser({ registrars });
await using session = await pu.connect("ConsumerEchoPool");
const answer = await session.request(new TextEncoder().encode("hello from a consumer"));
console.log(new TextDecoder().decode(answer));
`;

Deno.test({
  name: "consumer: an application imports the published file set and exchanges a message",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`)) as DenoJson;
    const files = await publishedFiles();
    const dir = await Deno.makeTempDir({ prefix: "rserpool_consumer_" });
    try {
      // The package as JSR would serve it: the published files, imports unfurled.
      const pkg = `${dir}/pkg`;
      for (const file of files) {
        const target = `${pkg}/${file}`;
        await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
        const text = await Deno.readTextFile(`${root}${file}`);
        await Deno.writeTextFile(
          target,
          file.endsWith(".ts") ? unfurl(text, config.imports) : text,
        );
      }
      // Nothing bare is left that only this repository's import map could resolve.
      for (const file of files.filter((f) => f.endsWith(".ts"))) {
        const text = await Deno.readTextFile(`${pkg}/${file}`);
        for (const m of text.matchAll(/^(?:import|export)[^;]*?from\s*"([^"]+)"/gms)) {
          assert.match(m[1], /^(\.|npm:|node:|jsr:|https:)/, `${file} imports ${m[1]}`);
        }
      }
      // The application: its own deno.json maps only the package's export paths, nothing of
      // the package's own dependencies.
      const app = `${dir}/app`;
      await Deno.mkdir(app);
      const imports: Record<string, string> = {};
      for (const [path, file] of Object.entries(config.exports)) {
        imports[`${config.name}${path.slice(1)}`] = `../pkg/${file.slice(2)}`;
      }
      await Deno.writeTextFile(
        `${app}/deno.json`,
        JSON.stringify({ imports, nodeModulesDir: "none", unstable: ["net"] }, null, 2),
      );
      await Deno.writeTextFile(
        `${app}/package.json`,
        JSON.stringify({ private: true, overrides: { "cbor-extract": "2.2.2" } }, null, 2),
      );
      await Deno.writeTextFile(`${app}/main.ts`, APP);

      const out = await new Deno.Command(deno, {
        args: ["run", "--check", "--allow-net", "--allow-env", "--allow-read", "main.ts"],
        cwd: app,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000), // killed (and the test fails) rather than a hang
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(stdout.trim(), "hello from a consumer", stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
