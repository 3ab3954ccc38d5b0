// The navigator policy's manifest (wong-2014): a Service Depot on every PC and one Pilot Agent
// program that moves a monitoring container between them (navigator.ts). Defaults are the
// thesis's measurements: a 1.25 GB image, backed up at 96 Mb/s (Table 5-6) and sent to another PC
// at 66 Mb/s (Table 5-5); the database sync (0.1 Mb/s for 11 s, Table 5-5) every minute; the
// primary container checked every 5 s, the secondary every 5 min (§5.1.5).
import { z } from 'zod';
import { distSchema, durationUs, name, periodUs } from '../../sim/scenario/units.ts';
import { definePolicy, siteHas, type Problem } from '../manifest.ts';
import { depot, initialPilot, type NavigatorConfig } from './navigator.ts';
import type { Placement, UpModel } from './decisions.ts';

const rate = z.number().positive().max(1e12);

const schema = z.object({
  kind: z.literal('navigator'),
  /** PCs with a Service Depot; absent: every host of the site. */
  hosts: z.array(name).min(2).optional(),
  /** Where the administrator places the container and starts the first (primary) pilot. */
  start: name,
  /** The two container slots (VM names). */
  containers: z.tuple([name, name]),
  /** The monitoring service inside the container. */
  service: name,
  /** The service IP. */
  vip: name,
  imageBytes: z.number().positive().max(1e13).default(1.25e9),
  backupRateBps: rate.default(96e6),
  transferRateBps: rate.default(66e6),
  /** One database dump: 0.1 Mb/s for 11 s (Table 5-5). */
  syncBytes: z.number().nonnegative().max(1e12).default(137_500),
  syncRateBps: rate.default(1e5),
  syncInterval: periodUs.default(60_000_000),
  primaryCheck: periodUs.default(5_000_000),
  secondaryCheck: periodUs.default(300_000_000),
  /** A failed ping: Windows ping's default wait is 4 s (the thesis's PCs run Windows 7). */
  pingTimeout: periodUs.default(4_000_000),
  uptimeWait: durationUs.default(1_000_000),
  /** Only the holder of the lease record in the store serves the service IP (no split brain). */
  lease: z.boolean().default(false),
  leaseTtl: periodUs.default(15_000_000),
  /**
   * Where the secondary goes: the PC up longest (the thesis), the one up shortest, a
   * pseudo-random one (placementSeed), or the one with the longest expected remaining up time
   * under placementModel (a distribution of up periods in seconds: weibull, exponential, uniform
   * or constant).
   */
  placement: z.enum(['longest-uptime', 'shortest-uptime', 'random', 'expected-remaining']).default('longest-uptime'),
  placementModel: distSchema.optional(),
  placementSeed: z.number().int().nonnegative().max(2 ** 31).default(0),
  /** paper: the thesis's pilots; hardened: the primary keeps its own service and steps down when it cannot (docs/safety.md). */
  safety: z.enum(['paper', 'hardened']).default('hardened'),
}).strict();

const UP_MODELS = ['weibull', 'exponential', 'uniform', 'constant'];

function placementOf(c: NavigatorBlock): Placement {
  switch (c.placement) {
    case 'longest-uptime': return { kind: 'longest-uptime' };
    case 'shortest-uptime': return { kind: 'shortest-uptime' };
    case 'random': return { kind: 'random', seed: c.placementSeed };
    case 'expected-remaining': return { kind: 'expected-remaining', up: c.placementModel as UpModel };
  }
}

export type NavigatorBlock = z.output<typeof schema>;

export function navigatorConfig(c: NavigatorBlock, allHosts: string[]): NavigatorConfig {
  return {
    hosts: c.hosts ?? allHosts,
    containers: c.containers,
    service: c.service,
    vip: c.vip,
    imageBytes: c.imageBytes,
    backupRateBps: c.backupRateBps,
    transferRateBps: c.transferRateBps,
    syncBytes: c.syncBytes,
    syncRateBps: c.syncRateBps,
    syncIntervalUs: c.syncInterval,
    primaryCheckUs: c.primaryCheck,
    secondaryCheckUs: c.secondaryCheck,
    pingTimeoutUs: c.pingTimeout,
    uptimeWaitUs: c.uptimeWait,
    lease: c.lease,
    leaseTtlUs: c.leaseTtl,
    placement: placementOf(c),
    safety: c.safety,
  };
}

export const navigatorPolicy = definePolicy({
  kind: 'navigator',
  summary: 'a monitoring container moves between PCs: primary and secondary pilots, failover to the PC up longest (wong-2014)',
  schema,
  check: (c, site) => {
    const out: Problem[] = [];
    (c.hosts ?? []).forEach((h, i) => {
      if (!siteHas.host(site, h)) out.push([['hosts', i], `no host "${h}"`]);
    });
    if (!siteHas.host(site, c.start)) out.push([['start'], `no host "${c.start}"`]);
    else if (c.hosts && !c.hosts.includes(c.start)) out.push([['start'], `"${c.start}" is not one of hosts`]);
    c.containers.forEach((v, i) => {
      if (!siteHas.vm(site, v)) out.push([['containers', i], `no VM "${v}"`]);
      else if (!site.vms.find((x) => x.name === v)!.services.includes(c.service)) out.push([['service'], `container "${v}" does not run "${c.service}"`]);
    });
    if (c.containers[0] === c.containers[1]) out.push([['containers'], 'the two containers must differ']);
    if (!siteHas.vip(site, c.vip)) out.push([['vip'], `no VIP "${c.vip}"`]);
    if ((c.hosts ?? site.hosts.map((h) => h.name)).length < 2) out.push([['hosts'], 'at least two PCs']);
    if (c.placement === 'expected-remaining' && c.placementModel === undefined) out.push([['placementModel'], 'placement expected-remaining needs placementModel (a distribution of up periods)']);
    if (c.placementModel !== undefined && !UP_MODELS.includes(c.placementModel.kind)) out.push([['placementModel'], `placementModel: expected-remaining understands ${UP_MODELS.join(', ')}, not ${c.placementModel.kind}`]);
    if (c.placementModel !== undefined && c.placement !== 'expected-remaining') out.push([['placementModel'], 'placementModel is used only by placement expected-remaining']);
    return out;
  },
  programs: (c, site) => {
    const cfg = navigatorConfig(c, site.hosts.map((h) => h.name));
    return [
      ...cfg.hosts.map((h) => ({ agent: h, name: `navigator/depot@${h}`, target: h, body: () => depot(cfg, h) })),
      { agent: c.start, name: 'navigator/pilot', once: true, target: c.vip, body: () => initialPilot(cfg, c.start) },
    ];
  },
});
