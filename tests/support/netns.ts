/**
 * Two hosts in network namespaces joined by several veth links, for multi-homing tests.
 * Needs root and `ip` (iproute2). Tests use {@linkcode ignoreWithoutNetns}: ignored without
 * them on a developer's machine, but run (and fail) when `CI` is `true`.
 *
 * Link `i` (from 0) is the subnet `10.{base + i}.0.0/24`, host A has `.1` and host B `.2`;
 * the veth ends are `a{i}` in A and `b{i}` in B. The namespaces' names carry the process id
 * and a random suffix, so that concurrent runs do not collide; `destroy()` deletes them and
 * everything inside (the veth pairs go with them).
 *
 * @module
 */

/** Runs `ip ARGS...`; throws with its error output when it fails. */
export async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Tells whether the test can create namespaces: running as root with `ip` installed. */
export async function netnsAvailable(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  if (Deno.uid() !== 0) return false;
  try {
    const out = await new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** The `ignore` value for a test that needs namespaces: never ignored under `CI=true`. */
export async function ignoreWithoutNetns(): Promise<boolean> {
  if (await netnsAvailable()) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.error(
    "network namespace tests ignored: they need root and ip (iproute2); under CI=true they " +
      "fail instead",
  );
  return true;
}

/** Two namespaces joined by veth links. */
export interface TwoHosts extends AsyncDisposable {
  /** Namespace of host A. */
  readonly a: string;
  /** Namespace of host B. */
  readonly b: string;
  /** Host A's address on each link. */
  readonly aAddresses: readonly string[];
  /** Host B's address on each link. */
  readonly bAddresses: readonly string[];
  /** Takes link `i` down (at host A's end, so B sees no carrier) or up again. */
  setLink(i: number, up: boolean): Promise<void>;
  /** Deletes both namespaces. */
  destroy(): Promise<void>;
}

/**
 * Creates hosts A and B joined by `links` veth links.
 *
 * @example
 * ```ts ignore
 * await using hosts = await createTwoHosts({ links: 2, base: 211 });
 * // run a child process with ["ip", "netns", "exec", hosts.b, ...]
 * ```
 */
export async function createTwoHosts(options: { links: number; base: number }): Promise<TwoHosts> {
  const tag = `${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
  const a = `rsp-a-${tag}`;
  const b = `rsp-b-${tag}`;
  const aAddresses: string[] = [];
  const bAddresses: string[] = [];
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of [a, b]) {
      try {
        await ip("netns", "delete", ns);
      } catch {
        // not created
      }
    }
  };
  try {
    await ip("netns", "add", a);
    await ip("netns", "add", b);
    await ip("-n", a, "link", "set", "lo", "up");
    await ip("-n", b, "link", "set", "lo", "up");
    for (let i = 0; i < options.links; i++) {
      const net = `10.${options.base + i}.0`;
      await ip(
        "link",
        "add",
        `a${i}`,
        "netns",
        a,
        "type",
        "veth",
        "peer",
        "name",
        `b${i}`,
        "netns",
        b,
      );
      await ip("-n", a, "addr", "add", `${net}.1/24`, "dev", `a${i}`);
      await ip("-n", b, "addr", "add", `${net}.2/24`, "dev", `b${i}`);
      await ip("-n", a, "link", "set", `a${i}`, "up");
      await ip("-n", b, "link", "set", `b${i}`, "up");
      aAddresses.push(`${net}.1`);
      bAddresses.push(`${net}.2`);
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    a,
    b,
    aAddresses,
    bAddresses,
    setLink: (i, up) => ip("-n", a, "link", "set", `a${i}`, up ? "up" : "down"),
    destroy,
    [Symbol.asyncDispose]: destroy,
  };
}

/** Lists the namespaces whose names start with `prefix` (to check that a test cleaned up). */
export async function namespacesNamed(prefix: string): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split(" ")[0]).filter((
    n,
  ) => n.startsWith(prefix));
}
