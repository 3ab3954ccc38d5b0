// The policies a scenario can name, with their config schemas and how they are installed on a
// simulation. New policies (p2p, pss, msbs, ...) register here.
import { z } from 'zod';
import { failover } from '../policies/failover/failover.ts';
import { executer, initialise, type P2pConfig } from '../policies/p2p/program.ts';
import type { ManagementData } from '../policies/p2p/files.ts';
import type { Process } from '../engine/runtime/effects.ts';
import { durationUs } from '../sim/scenario/schema.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import type { Simulation } from '../adapters/sim/simulation.ts';

export interface PolicyDef<C> {
  schema: z.ZodType<C>;
  /** Cross-checks against the scenario; returns problems as [path, message]. */
  check?: (cfg: C, scenario: Scenario) => Array<[(string | number)[], string]>;
  /** The processes to run: [agent host, name, body factory]. */
  /** The processes to run: on `agent` at start and each time that host boots (`once`: at start only). */
  programs: (cfg: C, scenario: Scenario) => Array<{ agent: string; name: string; body: () => Process<unknown>; once?: boolean }>;
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

export const p2pSchema = z.object({
  kind: z.literal('p2p'),
  /** The group file: management servers in ring order (server i manages i+1 with P1, i-1 with P2). */
  group: z.array(z.string()).min(2),
  /** Backup VM of each target (default: the VM named <host>b). */
  backups: z.record(z.string(), z.string()).default({}),
  interval: durationUs.default(10_000_000),
  networkTimeout: durationUs.default(2_000_000),
  serviceTimeout: durationUs.default(3_000_000),
  restartWait: durationUs.default(88_000_000),
  waitPoll: durationUs.default(1_000_000),
  decision: durationUs.default(250_000),
  examRetry: durationUs.default(100_000),
  loadInterval: durationUs.default(10_000_000),
  reconcile: durationUs.default(60_000_000),
}).strict();
export type P2pPolicy = z.infer<typeof p2pSchema>;

/** The engine's P2P timing from a policy block (sim and live use the same mapping). */
export function p2pConfig(c: P2pPolicy): P2pConfig {
  return {
    timing: {
      timUs: c.interval, tndUs: c.networkTimeout, tswUs: c.serviceTimeout, trcUs: c.restartWait,
      waitPollUs: c.waitPoll, decisionUs: c.decision, examRetryUs: c.examRetry, loadIntervalUs: c.loadInterval, reconcileUs: c.reconcile,
    },
  };
}

export function p2pData(c: P2pPolicy, s: Scenario): ManagementData[] {
  return c.group.map((host) => {
    const h = s.hosts.find((x) => x.name === host)!;
    const vm = c.backups[host] ?? `${host}b`;
    const vip = s.vips.find((v) => v.holder === host);
    return {
      vip: vip?.name ?? '',
      host,
      ip: host,
      mac: h.mac ?? '',
      daemons: h.services.map((x) => x.name),
      serverType: h.serverType ?? 'CPU_NET',
      vm,
      vmIp: vm,
    };
  });
}

const p2pDef: PolicyDef<P2pPolicy> = {
  schema: p2pSchema,
  check: (c, s) => {
    const out: Array<[(string | number)[], string]> = [];
    c.group.forEach((host, i) => {
      const h = s.hosts.find((x) => x.name === host);
      if (!h) return out.push([['group', i], `no host "${host}"`]);
      const vm = c.backups[host] ?? `${host}b`;
      if (!s.vms.some((v) => v.name === vm)) out.push([['group', i], `no backup VM "${vm}" for ${host} (name it ${host}b or map it in backups)`]);
      if (!h.mac) out.push([['group', i], `host "${host}" needs a mac (background job 1 wakes it by Wake-on-LAN)`]);
      if (!s.vips.some((v) => v.holder === host)) out.push([['group', i], `no VIP held by "${host}"`]);
    });
    if (new Set(c.group).size !== c.group.length) out.push([['group'], 'a server appears twice in the group file']);
    return out;
  },
  programs: (c, s) => {
    const cfg = p2pConfig(c);
    const data = p2pData(c, s);
    return [
      { agent: 'admin', name: 'p2p/initialise', body: () => initialise(c.group, data), once: true },
      ...c.group.map((host) => ({ agent: host, name: `p2p/${host}/executer`, body: () => executer(host, cfg) })),
    ];
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const POLICIES: Record<string, PolicyDef<any>> = {
  failover: failoverDef,
  p2p: p2pDef,
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
  const hostOn = new Map(sim.scenario.hosts.map((h) => [h.name, h.state === 'on']));
  sim.onStart(() => {
    for (const prog of programs) {
      if (hostOn.get(prog.agent) === false) continue;
      sim.runtime.start(prog.name, prog.body(), prog.agent);
    }
  });
  sim.onHostUp((host) => {
    for (const prog of programs) if (prog.agent === host && !prog.once) sim.runtime.start(prog.name, prog.body(), prog.agent);
  });
}
