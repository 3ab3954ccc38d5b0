// The P2P policy's manifest (kitamura-2018): the servers of a group manage each other in a ring;
// the administrator writes the management files once (initialise), and every group member runs
// its executer program (program.ts).
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import type { Site } from '../../engine/ports/site.ts';
import { ADMIN, definePolicy, type Problem } from '../manifest.ts';
import type { ManagementData } from './files.ts';
import { executer, initialise, type P2pConfig } from './program.ts';

export const p2pSchema = z.object({
  kind: z.literal('p2p'),
  /** The group file: management servers in ring order (server i manages i+1 with P1, i-1 with P2). */
  group: z.array(z.string()).min(2),
  /** Backup VM of each target (default: the VM the site says backs it, else the VM named <host>b). */
  backups: z.record(z.string(), z.string()).default({}),
  // Loops wait on the periods (at least 1 ms each, units.ts periodUs); restartWait and decision
  // are waited once per recovery.
  interval: periodUs.default(10_000_000),
  networkTimeout: periodUs.default(2_000_000),
  serviceTimeout: periodUs.default(3_000_000),
  restartWait: durationUs.default(88_000_000),
  waitPoll: periodUs.default(1_000_000),
  decision: durationUs.default(250_000),
  examRetry: periodUs.default(100_000),
  loadInterval: periodUs.default(10_000_000),
  reconcile: periodUs.default(60_000_000),
  /** paper: kitamura-2018's behaviour (the experiments reproduce it); hardened: docs/safety.md. */
  safety: z.enum(['paper', 'hardened']).default('hardened'),
  /** Whom a manager tells to re-read the operation file after a separation or return. all (the
   *  paper's design): every server of the group and separation files, one message after the other;
   *  changed: only the servers whose own P1/P2 rows the rewrite changed (docs/scale.md, section 5). */
  nudge: z.enum(['all', 'changed']).default('all'),
}).strict();
export type P2pPolicy = z.infer<typeof p2pSchema>;

/** The engine's P2P timing from a policy block. */
export function p2pConfig(c: P2pPolicy): P2pConfig {
  return {
    timing: {
      timUs: c.interval, tndUs: c.networkTimeout, tswUs: c.serviceTimeout, trcUs: c.restartWait,
      waitPollUs: c.waitPoll, decisionUs: c.decision, examRetryUs: c.examRetry, loadIntervalUs: c.loadInterval, reconcileUs: c.reconcile,
    },
    safety: c.safety,
    nudge: c.nudge,
  };
}

/** The site's names, indexed once per site (a ring of N servers: N lookups, not N scans). */
interface SiteIndex {
  hosts: Map<string, Site['hosts'][number]>;
  vms: Set<string>;
  /** The first VM that backs each host, and the first VIP each node holds (the site's order). */
  backs: Map<string, string>;
  vipOf: Map<string, string>;
}
const indexes = new WeakMap<Site, SiteIndex>();
function indexOf(site: Site): SiteIndex {
  let ix = indexes.get(site);
  if (!ix) {
    ix = { hosts: new Map(), vms: new Set(), backs: new Map(), vipOf: new Map() };
    for (const h of site.hosts) if (!ix.hosts.has(h.name)) ix.hosts.set(h.name, h);
    for (const v of site.vms) {
      ix.vms.add(v.name);
      if (v.backs !== undefined && !ix.backs.has(v.backs)) ix.backs.set(v.backs, v.name);
    }
    for (const v of site.vips) if (v.holder !== null && !ix.vipOf.has(v.holder)) ix.vipOf.set(v.holder, v.name);
    indexes.set(site, ix);
  }
  return ix;
}

const backupOf = (c: P2pPolicy, site: Site, host: string): string =>
  (Object.hasOwn(c.backups, host) ? c.backups[host] : undefined) ?? indexOf(site).backs.get(host) ?? `${host}b`;

/** The management data of each group member (the paper's Fig. 4 record), from the site. */
export function p2pData(c: P2pPolicy, site: Site): ManagementData[] {
  const ix = indexOf(site);
  return c.group.map((host) => {
    const h = ix.hosts.get(host)!;
    const vm = backupOf(c, site, host);
    return {
      vip: ix.vipOf.get(host) ?? '',
      host,
      ip: host,
      mac: h.mac,
      daemons: h.services,
      serverType: h.serverType ?? 'CPU_NET',
      vm,
      vmIp: vm,
    };
  });
}

export const p2pPolicy = definePolicy({
  kind: 'p2p',
  summary: 'P2P server management (kitamura-2018): each server manages its ring neighbours',
  schema: p2pSchema,
  check: (c, site) => {
    const out: Problem[] = [];
    const ix = indexOf(site);
    c.group.forEach((host, i) => {
      const h = ix.hosts.get(host);
      if (!h) return out.push([['group', i], `no host "${host}"`]);
      const vm = backupOf(c, site, host);
      if (!ix.vms.has(vm)) out.push([['group', i], `no backup VM "${vm}" for ${host} (name it ${host}b or map it in backups)`]);
      if (!h.mac) out.push([['group', i], `host "${host}" needs a mac (background job 1 wakes it by Wake-on-LAN)`]);
      if (!ix.vipOf.has(host)) out.push([['group', i], `no VIP held by "${host}"`]);
    });
    if (new Set(c.group).size !== c.group.length) out.push([['group'], 'a server appears twice in the group file']);
    const members = new Set(c.group);
    for (const host of Object.keys(c.backups)) {
      if (!members.has(host)) out.push([['backups', host], `"${host}" is not in the group (group: ${c.group.join(', ')})`]);
    }
    return out;
  },
  programs: (c, site) => {
    const cfg = p2pConfig(c);
    const data = p2pData(c, site);
    return [
      { agent: ADMIN, name: 'p2p/initialise', body: () => initialise(c.group, data), once: true },
      ...c.group.map((host) => ({ agent: host, name: `p2p/${host}/executer`, body: () => executer(host, cfg) })),
    ];
  },
});
