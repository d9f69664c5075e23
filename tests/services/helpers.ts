// Helpers of the service tests: a PE of a service wired as services/pe_main.ts wires it, a PU,
// and a raw association to a PE to look at the bytes it sends.

import { PoolElement } from "../../asap/pool_element.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import type { ServeContext, Service } from "../../services/service.ts";
import type { Policy } from "../../wire/types.ts";
import type { Registrar } from "../../registrar/registrar.ts";
import { asapAddress, FAST_HUNT } from "../asap/helpers.ts";

export { asapAddress, sleep, startRegistrar, waitFor } from "../asap/helpers.ts";

/** A PE of a service and what it printed and reported. */
export interface ServicePe {
  pe: PoolElement;
  context: ServeContext;
  lines: string[];
  loads: number[];
  /** Stops the service (as on SIGTERM), then closes the PE. */
  stop(): Promise<void>;
  /** Ends the PE at once, as a killed process: no last cookies, no deregistration. */
  kill(): Promise<void>;
}

/** Starts a PE of `service` into `pool`, registered at `registrar`. */
export async function startServicePe(
  registrar: Registrar,
  service: Service,
  options: { protocol?: "tcp" | "sctp"; pool?: string; policy?: Policy; identifier?: number } = {},
): Promise<ServicePe> {
  const protocol = options.protocol ?? "tcp";
  const lines: string[] = [];
  const loads: number[] = [];
  const holder: { pe?: PoolElement } = {};
  const context: ServeContext = {
    get identifier(): number {
      return holder.pe?.identifier ?? 0;
    },
    print: (line) => lines.push(line),
    setLoad: (fraction) => {
      loads.push(fraction);
      const pe = holder.pe;
      if (pe !== undefined && "load" in pe.policy) pe.setLoad(fraction);
    },
  };
  const started = await PoolElement.start({
    poolHandle: options.pool ?? service.defaultPool,
    policy: options.policy,
    identifier: options.identifier,
    registrars: [asapAddress(registrar, protocol)],
    listen: { protocol, hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    onSession: (session) => service.serve(session, context),
  });
  holder.pe = started;
  return {
    pe: started,
    context,
    lines,
    loads,
    async stop() {
      await service.stop?.(context);
      await started.close();
    },
    async kill() {
      await started.abort();
    },
  };
}

/** A PU resolving at `registrar`. */
export function startPu(registrar: Registrar, protocol: "tcp" | "sctp" = "tcp"): PoolUser {
  return new PoolUser({
    registrars: [asapAddress(registrar, protocol)],
    requestTimeout: 3000,
    failoverDelay: 100,
  });
}
