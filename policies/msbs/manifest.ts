// The MSBS policy's manifest (kitamura-2019 §2.8-3.3): on the management server, a DBSS per
// virtual server, a DSRS per real server and the SIF between them and the PSS (msbs.ts).
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import { definePolicy, siteHas, type Problem } from '../manifest.ts';
import { dbss, dsrs, sif, type DbssConfig } from './msbs.ts';

export const msbsSchema = z.object({
  kind: z.literal('msbs'),
  manager: z.string(),
  /** DBSS data (Table 2): target VM, its backup, the real server that creates it. */
  targets: z.array(z.object({ vm: z.string(), backup: z.string(), realServer: z.string() }).strict()).min(1),
  /** Spares the PSS may start: the SIF starts a DBSS for each when told (Fig. 10(b)). */
  spares: z.array(z.string()).default([]),
  interval: periodUs.default(10_000_000),
  networkTimeout: periodUs.default(2_000_000),
  serviceTimeout: periodUs.default(3_000_000),
  /** A service check that timed out is examined once more before trouble is declared (false: the paper's DBSS). */
  reexamineService: z.boolean().default(false),
  /** DBSS: longest wait for a restarted target. */
  recoveryWait: durationUs.default(120_000_000),
  /** DSRS: longest wait for a restarting real server before Wake-on-LAN. */
  restartWait: durationUs.default(75_000_000),
  /** DSRS: longest wait after the wake-up packet. */
  bootWait: durationUs.default(120_000_000),
  /** paper: kitamura-2019's MSBS; hardened: docs/safety.md. */
  safety: z.enum(['paper', 'hardened']).default('hardened'),
}).strict();
export type MsbsPolicy = z.infer<typeof msbsSchema>;

export const msbsPolicy = definePolicy({
  kind: 'msbs',
  summary: 'kitamura-2019 MSBS: a DBSS per virtual server, a DSRS per real server, and the SIF that edits the PSS files',
  schema: msbsSchema,
  check: (c, site) => {
    const out: Problem[] = [];
    if (!siteHas.host(site, c.manager)) out.push([['manager'], `no host "${c.manager}"`]);
    c.targets.forEach((t, i) => {
      if (!siteHas.vm(site, t.vm)) out.push([['targets', i, 'vm'], `no VM "${t.vm}"`]);
      if (!siteHas.vm(site, t.backup)) out.push([['targets', i, 'backup'], `no VM "${t.backup}"`]);
      const h = site.hosts.find((x) => x.name === t.realServer);
      if (!h) out.push([['targets', i, 'realServer'], `no host "${t.realServer}"`]);
      else if (!h.mac) out.push([['targets', i, 'realServer'], `host "${t.realServer}" has no MAC (Wake-on-LAN)`]);
    });
    c.spares.forEach((s, i) => {
      if (!siteHas.vm(site, s)) out.push([['spares', i], `no VM "${s}"`]);
    });
    return out;
  },
  programs: (c, site) => {
    const services = (vm: string) => site.vms.find((v) => v.name === vm)?.services ?? [];
    const data = (vm: string, realServer: string, backup?: string): DbssConfig => ({
      manager: c.manager, target: vm, services: services(vm), realServer, ...(backup !== undefined ? { backup } : {}),
      intervalUs: c.interval, networkTimeoutUs: c.networkTimeout, serviceTimeoutUs: c.serviceTimeout, recoveryWaitUs: c.recoveryWait, reexamineService: c.reexamineService, safety: c.safety,
    });
    const reals = [...new Set(c.targets.map((t) => t.realServer))];
    return [
      { agent: c.manager, name: 'msbs/sif', body: () => sif(c.manager, (vm, host) => (c.spares.includes(vm) ? dbss(data(vm, host)) : null), c.safety) },
      ...c.targets.map((t) => ({ agent: c.manager, name: `msbs/dbss/${t.vm}`, target: t.vm, body: () => dbss(data(t.vm, t.realServer, t.backup)) })),
      ...reals.map((r) => ({
        agent: c.manager, name: `msbs/dsrs/${r}`, target: r,
        body: () => dsrs({
          manager: c.manager, target: r, mac: site.hosts.find((h) => h.name === r)?.mac ?? '',
          vms: c.targets.filter((t) => t.realServer === r).map((t) => data(t.vm, r, t.backup)),
          intervalUs: c.interval, networkTimeoutUs: c.networkTimeout, restartWaitUs: c.restartWait, bootWaitUs: c.bootWait, safety: c.safety,
        }),
      })),
    ];
  },
});
