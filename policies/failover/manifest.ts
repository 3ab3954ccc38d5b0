// The failover policy's manifest: one manager watches one target's service and fails it over to
// a suspended backup VM (failover.ts).
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import { definePolicy, siteHas, type Problem } from '../manifest.ts';
import { failover } from './failover.ts';

const schema = z.object({
  kind: z.literal('failover'),
  manager: z.string(),
  target: z.string(),
  service: z.string(),
  vip: z.string(),
  backupVm: z.string(),
  backupHost: z.string(),
  // Loops wait on these each round: each is at least 1 ms (units.ts periodUs).
  interval: periodUs.default(10_000_000),
  serviceTimeout: periodUs.default(3_000_000),
  networkTimeout: periodUs.default(2_000_000),
  recoveryWait: durationUs.default(300_000_000),
  /** paper: the behaviour before the swarm fixes; hardened: docs/safety.md. */
  safety: z.enum(['paper', 'hardened']).default('hardened'),
}).strict();

export const failoverPolicy = definePolicy({
  kind: 'failover',
  summary: 'one manager fails a target service over to a suspended backup VM and falls back',
  schema,
  check: (c, site) => {
    const out: Problem[] = [];
    for (const f of ['manager', 'target', 'backupHost'] as const) if (!siteHas.host(site, c[f])) out.push([[f], `no host "${c[f]}"`]);
    if (!siteHas.vm(site, c.backupVm)) out.push([['backupVm'], `no VM "${c.backupVm}"`]);
    if (!siteHas.vip(site, c.vip)) out.push([['vip'], `no VIP "${c.vip}"`]);
    const target = site.hosts.find((h) => h.name === c.target);
    if (target && !target.services.includes(c.service)) {
      out.push([['service'], `target "${c.target}" does not run "${c.service}" (its services: ${target.services.join(', ') || 'none'})`]);
    }
    return out;
  },
  programs: (c) => [{
    agent: c.manager,
    name: `failover/${c.target}`,
    target: c.target,
    body: () => failover({
      manager: c.manager, target: c.target, service: c.service, vip: c.vip, backupVm: c.backupVm, backupHost: c.backupHost,
      intervalUs: c.interval, serviceTimeoutUs: c.serviceTimeout, networkTimeoutUs: c.networkTimeout, recoveryWaitUs: c.recoveryWait, safety: c.safety,
    }),
  }],
});
