// The PSS policy's manifest (kitamura-2019): one management server samples the load inside the
// service groups' VMs and moves the server system between the moderate condition and the two
// power-saving conditions (pss.ts).
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import { definePolicy, siteHas, type Problem } from '../manifest.ts';
import { SERVER_TYPES } from './decide.ts';
import { pss } from './pss.ts';

const member = z.object({ vm: z.string(), host: z.string(), vip: z.string() }).strict();

export const pssSchema = z.object({
  kind: z.literal('pss'),
  manager: z.string(),
  groups: z.array(z.object({
    name: z.string(),
    type: z.enum(SERVER_TYPES).default('CPU_NET'),
    members: z.array(member).min(1),
    spare: z.string(),
  }).strict()).min(1),
  /** Base servers of PS1 (the paper's RS1, RS2). */
  ps1Base: z.array(z.string()).min(1),
  /** Base server of PS2 (RS1). */
  ps2Base: z.string(),
  /** Examination period and readings per period. */
  interval: periodUs.default(10_000_000),
  samples: z.number().int().min(1).max(1000).default(3),
  /** serial: a reading's VMs one after another (the paper's program); parallel: all at once. */
  sampling: z.enum(['serial', 'parallel']).default('serial'),
  /** Ls thresholds (percent): below `light` is area L, above `moderate` area M (Fig. 6(a)). */
  thresholds: z.object({ light: z.number().min(0).max(100), moderate: z.number().min(0).max(100) }).strict()
    .refine((t) => t.light <= t.moderate, 'light must not be above moderate'),
  /** Light classes in a row before moderate -> PS1 (4 in the paper, Fig. 6(b)). */
  lightCount: z.number().int().min(1).max(1000).default(4),
  /** x: PS1 -> PS2 when client accesses over `accessWindow` are at most this (Fig. 6(c)). */
  accessThreshold: z.number().min(0).default(0),
  /** y. */
  accessWindow: durationUs.default(60_000_000),
  /** k: requests per second of the load balancer's monitoring program (Fig. 6(c)). */
  monitorPerS: z.number().min(0).default(0),
  /** PS2 in use (false: a group in PS1 stays there; accesses are not counted). */
  ps2: z.boolean().default(true),
  /** Agent running the msbs SIF that hears of spares started and stopped. */
  sif: z.string().optional(),
  /** paper: kitamura-2019's PSS; hardened: docs/safety.md. */
  safety: z.enum(['paper', 'hardened']).default('hardened'),
}).strict();
export type PssPolicy = z.infer<typeof pssSchema>;

export const pssPolicy = definePolicy({
  kind: 'pss',
  summary: 'kitamura-2019 PSS: load-driven moderate / PS1 / PS2 configurations, spares, VIP moves and real-server suspension',
  schema: pssSchema,
  check: (c, site) => {
    const out: Problem[] = [];
    if (!siteHas.host(site, c.manager)) out.push([['manager'], `no host "${c.manager}"`]);
    for (const [i, h] of c.ps1Base.entries()) if (!siteHas.host(site, h)) out.push([['ps1Base', i], `no host "${h}"`]);
    if (!siteHas.host(site, c.ps2Base)) out.push([['ps2Base'], `no host "${c.ps2Base}"`]);
    if (!c.ps1Base.includes(c.ps2Base)) out.push([['ps2Base'], `"${c.ps2Base}" is not one of ps1Base`]);
    const vips = new Set<string>();
    c.groups.forEach((g, i) => {
      if (!siteHas.vm(site, g.spare)) out.push([['groups', i, 'spare'], `no VM "${g.spare}"`]);
      g.members.forEach((m, j) => {
        if (!siteHas.vm(site, m.vm)) out.push([['groups', i, 'members', j, 'vm'], `no VM "${m.vm}"`]);
        if (!siteHas.host(site, m.host)) out.push([['groups', i, 'members', j, 'host'], `no host "${m.host}"`]);
        if (!siteHas.vip(site, m.vip)) out.push([['groups', i, 'members', j, 'vip'], `no VIP "${m.vip}"`]);
        if (vips.has(m.vip)) out.push([['groups', i, 'members', j, 'vip'], `VIP "${m.vip}" is used twice`]);
        vips.add(m.vip);
      });
    });
    if (c.sif !== undefined && !siteHas.host(site, c.sif)) out.push([['sif'], `no host "${c.sif}"`]);
    return out;
  },
  programs: (c, site) => {
    const realServers = [...new Set([...c.ps1Base, ...c.groups.flatMap((g) => g.members.map((m) => m.host))])];
    const macs = Object.fromEntries(realServers.map((h) => [h, site.hosts.find((x) => x.name === h)?.mac ?? '']));
    return [{
      agent: c.manager,
      name: 'pss',
      body: () => pss({
        manager: c.manager,
        topology: { groups: c.groups.map((g) => ({ name: g.name, members: g.members, spare: g.spare })), realServers, ps1Base: c.ps1Base, ps2Base: c.ps2Base },
        types: Object.fromEntries(c.groups.map((g) => [g.name, g.type])),
        macs,
        intervalUs: c.interval,
        samples: c.samples,
        ...(c.sampling === 'parallel' ? { sampling: 'parallel' as const } : {}),
        thresholds: c.thresholds,
        rules: { lightCount: c.lightCount, accessThreshold: c.accessThreshold },
        accessWindowUs: c.accessWindow,
        monitorPerS: c.monitorPerS,
        ...(c.ps2 ? {} : { ps2: false }),
        ...(c.sif !== undefined ? { sif: c.sif } : {}),
        safety: c.safety,
      }),
    }];
  },
});
