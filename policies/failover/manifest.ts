// The failover policy's manifest: one manager watches one target's service and fails it over to
// a suspended backup VM (failover.ts).
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import type { Site } from '../../engine/ports/site.ts';
import { definePolicy, type Problem } from '../manifest.ts';
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

/**
 * The site's names, indexed once per site (a scenario of N failover blocks checks each block
 * against the same site: N lookups, not N scans of N hosts).
 */
const indexes = new WeakMap<Site, { hosts: Map<string, Site['hosts'][number]>; vms: Set<string>; vips: Set<string> }>();
function indexOf(site: Site) {
  let ix = indexes.get(site);
  if (!ix) {
    ix = { hosts: new Map(site.hosts.map((h) => [h.name, h])), vms: new Set(site.vms.map((v) => v.name)), vips: new Set(site.vips.map((v) => v.name)) };
    indexes.set(site, ix);
  }
  return ix;
}

export const failoverPolicy = definePolicy({
  kind: 'failover',
  summary: 'one manager fails a target service over to a suspended backup VM and falls back',
  schema,
  check: (c, site) => {
    const out: Problem[] = [];
    const ix = indexOf(site);
    for (const f of ['manager', 'target', 'backupHost'] as const) if (!ix.hosts.has(c[f])) out.push([[f], `no host "${c[f]}"`]);
    if (!ix.vms.has(c.backupVm)) out.push([['backupVm'], `no VM "${c.backupVm}"`]);
    if (!ix.vips.has(c.vip)) out.push([['vip'], `no VIP "${c.vip}"`]);
    const target = ix.hosts.get(c.target);
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
