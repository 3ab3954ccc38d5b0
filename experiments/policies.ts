// The policies a scenario can name, with their config schemas and how they are installed on a
// simulation. New policies (p2p, pss, msbs, ...) register here.
import { z } from 'zod';
import { failover } from '../engine/policies/failover/failover.ts';
import type { Process } from '../engine/runtime/effects.ts';
import { durationUs } from '../sim/scenario/schema.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import type { Simulation } from '../adapters/sim/simulation.ts';

export interface PolicyDef<C> {
  schema: z.ZodType<C>;
  /** Cross-checks against the scenario; returns problems as [path, message]. */
  check?: (cfg: C, scenario: Scenario) => Array<[(string | number)[], string]>;
  /** The processes to run: [agent host, name, body factory]. */
  programs: (cfg: C, scenario: Scenario) => Array<{ agent: string; name: string; body: () => Process<unknown> }>;
}

const failoverSchema = z.object({
  kind: z.literal('failover'),
  manager: z.string(),
  target: z.string(),
  service: z.string(),
  vip: z.string(),
  backupVm: z.string(),
  backupHost: z.string(),
  interval: durationUs.default(10_000_000),
  serviceTimeout: durationUs.default(3_000_000),
  networkTimeout: durationUs.default(2_000_000),
  recoveryWait: durationUs.default(300_000_000),
}).strict();

const failoverDef: PolicyDef<z.infer<typeof failoverSchema>> = {
  schema: failoverSchema,
  check: (c, s) => {
    const out: Array<[(string | number)[], string]> = [];
    const hosts = new Set(s.hosts.map((h) => h.name));
    for (const f of ['manager', 'target', 'backupHost'] as const) if (!hosts.has(c[f])) out.push([[f], `no host "${c[f]}"`]);
    if (!s.vms.some((v) => v.name === c.backupVm)) out.push([['backupVm'], `no VM "${c.backupVm}"`]);
    if (!s.vips.some((v) => v.name === c.vip)) out.push([['vip'], `no VIP "${c.vip}"`]);
    return out;
  },
  programs: (c) => [{
    agent: c.manager,
    name: `failover/${c.target}`,
    body: () => failover({
      manager: c.manager, target: c.target, service: c.service, vip: c.vip, backupVm: c.backupVm, backupHost: c.backupHost,
      intervalUs: c.interval, serviceTimeoutUs: c.serviceTimeout, networkTimeoutUs: c.networkTimeout, recoveryWaitUs: c.recoveryWait,
    }),
  }],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const POLICIES: Record<string, PolicyDef<any>> = {
  failover: failoverDef,
};

/** Validates each policy block; returns problems with paths inside the scenario. */
export function checkPolicies(s: Scenario): Array<{ path: (string | number)[]; message: string }> {
  const out: Array<{ path: (string | number)[]; message: string }> = [];
  s.policies.forEach((p, i) => {
    const def = POLICIES[p.kind];
    if (!def) {
      out.push({ path: ['policies', i, 'kind'], message: `unknown policy "${p.kind}" (known: ${Object.keys(POLICIES).join(', ')})` });
      return;
    }
    const r = def.schema.safeParse(p);
    if (!r.success) {
      for (const issue of r.error.issues) out.push({ path: ['policies', i, ...(issue.path as (string | number)[])], message: issue.message });
      return;
    }
    for (const [path, message] of def.check?.(r.data, s) ?? []) out.push({ path: ['policies', i, ...path], message });
  });
  return out;
}

/** Starts every policy's programs on its agent, and again each time that agent's host boots. */
export function installPolicies(sim: Simulation): void {
  const programs = sim.scenario.policies.flatMap((p) => {
    const def = POLICIES[p.kind];
    return def.programs(def.schema.parse(p), sim.scenario);
  });
  const startOn = (host: string) => {
    for (const prog of programs) if (prog.agent === host) sim.runtime.start(prog.name, prog.body(), prog.agent);
  };
  sim.onStart(() => {
    for (const h of sim.scenario.hosts) if (h.state === 'on') startOn(h.name);
  });
  sim.onHostUp(startOn);
}
