// Manifests of the host-power baselines (hostpower.ts): `dpm` (VMware DPM's documented rule and
// defaults) and `ovirt` (oVirt's power_saving scheduling policy and its defaults). Sources and the
// modelling choices: docs/pss-msbs.md, "Power baselines".
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import { definePolicy, siteHas, type Problem } from '../manifest.ts';
import type { Site } from '../../engine/ports/site.ts';
import { hostPower, type HostPowerConfig } from './hostpower.ts';

const common = {
  manager: z.string(),
  /** Real servers whose power the policy manages, in order. */
  hosts: z.array(z.string()).min(1),
  /** VMs it may move, with their redundancy group (anti-affinity) and VIP (for the MSBS's files). */
  vms: z.array(z.object({ vm: z.string(), group: z.string().default(''), vip: z.string().default('') }).strict()).min(1),
  /** How often the load is sampled and the rule applied (oVirt: once a minute). */
  interval: periodUs.default(60_000_000),
};

export const dpmSchema = z.object({
  kind: z.literal('dpm'),
  ...common,
  /** DemandCapacityRatioTarget, percent. */
  targetPct: z.number().min(0).max(100).default(63),
  /** DemandCapacityRatioToleranceHost, percent. */
  tolerancePct: z.number().min(0).max(100).default(18),
  /** Demand history judged for a power-on (5 min). */
  powerOnWindow: durationUs.default(300_000_000),
  /** Demand history judged for a power-off (40 min). */
  powerOffWindow: durationUs.default(2_400_000_000),
}).strict().refine((c) => c.targetPct - c.tolerancePct >= 0 && c.targetPct + c.tolerancePct <= 100, 'target ± tolerance must stay within 0..100 %');
export type DpmPolicy = z.infer<typeof dpmSchema>;

export const ovirtSchema = z.object({
  kind: z.literal('ovirt'),
  ...common,
  /** HighUtilization, CPU percent. */
  highPct: z.number().min(0).max(100).default(75),
  /** LowUtilization, CPU percent. */
  lowPct: z.number().min(0).max(100).default(20),
  /** CpuOverCommitDurationMinutes (2 min). */
  duration: durationUs.default(120_000_000),
}).strict().refine((c) => c.lowPct <= c.highPct, 'lowPct must not be above highPct');
export type OvirtPolicy = z.infer<typeof ovirtSchema>;

type Common = { manager: string; hosts: string[]; vms: Array<{ vm: string; group: string; vip: string }>; interval: number };

function checkCommon(c: Common, site: Site): Problem[] {
  const out: Problem[] = [];
  if (!siteHas.host(site, c.manager)) out.push([['manager'], `no host "${c.manager}"`]);
  c.hosts.forEach((h, i) => {
    const x = site.hosts.find((y) => y.name === h);
    if (!x) out.push([['hosts', i], `no host "${h}"`]);
  });
  c.vms.forEach((v, i) => {
    if (!siteHas.vm(site, v.vm)) out.push([['vms', i, 'vm'], `no VM "${v.vm}"`]);
    if (v.vip !== '' && !siteHas.vip(site, v.vip)) out.push([['vms', i, 'vip'], `no VIP "${v.vip}"`]);
  });
  return out;
}

function config(c: Common, site: Site, rule: HostPowerConfig['rule']): HostPowerConfig {
  return {
    manager: c.manager,
    hosts: c.hosts,
    macs: Object.fromEntries(c.hosts.map((h) => [h, site.hosts.find((x) => x.name === h)?.mac ?? ''])),
    vms: c.vms.map((v) => ({ name: v.vm, group: v.group, vip: v.vip })),
    intervalUs: c.interval,
    rule,
  };
}

export const dpmPolicy = definePolicy({
  kind: 'dpm',
  summary: 'VMware DPM-style baseline: hosts kept in 63 % ± 18 % utilisation by live migration and standby (power-on over 5 min, power-off over 40 min)',
  schema: dpmSchema,
  check: checkCommon,
  programs: (c, site) => [{
    agent: c.manager,
    name: 'dpm',
    body: () => hostPower(config(c, site, { kind: 'dpm', rules: { targetPct: c.targetPct, tolerancePct: c.tolerancePct }, powerOnWindowUs: c.powerOnWindow, powerOffWindowUs: c.powerOffWindow })),
  }],
});

export const ovirtPolicy = definePolicy({
  kind: 'ovirt',
  summary: 'oVirt power_saving-style baseline: CPU high 75 % / low 20 % held 2 min, one migration per check, emptied hosts in standby',
  schema: ovirtSchema,
  check: checkCommon,
  programs: (c, site) => [{
    agent: c.manager,
    name: 'ovirt',
    body: () => hostPower(config(c, site, { kind: 'ovirt', rules: { highPct: c.highPct, lowPct: c.lowPct }, durationUs: c.duration })),
  }],
});
