// The lbcluster policy's manifest: two (or more) directors share a VIP by VRRP and direct each
// access to the real servers of a load-balanced pool (docs/lbcluster.md, "Sim policy").
import { z } from 'zod';
import { durationUs, periodUs } from '../../sim/scenario/units.ts';
import { definePolicy, siteHas, type Problem } from '../manifest.ts';
import { director, poolKeeper } from './program.ts';
import { CHECKER_DEFAULTS } from './checker.ts';

const directorSchema = z.object({
  host: z.string(),
  priority: z.number().int().min(1).max(255),
  /** keepalived's `state`: only the address owner (priority 255, MASTER) starts as master. */
  state: z.enum(['MASTER', 'BACKUP']).default('BACKUP'),
}).strict();

const realServerSchema = z.object({
  host: z.string(),
  weight: z.number().int().min(0).max(65535).default(1),
  inhibitOnFailure: z.boolean().optional(),
}).strict();

const schema = z.object({
  kind: z.literal('lbcluster'),
  /** The VRRP instance's name (the trace subject of vrrp.* lines). */
  instance: z.string().default('VI_1'),
  vip: z.string(),
  /** The world's pool the master keeps: the one the scenario's VIP names (`vips[].pool`); default the VIP's name. */
  pool: z.string().optional(),
  directors: z.array(directorSchema).min(1),
  advertInt: periodUs.default(1_000_000),
  preempt: z.boolean().default(true),
  preemptDelay: durationUs.default(0),
  /** Wait between becoming master and setting the VIP (its gratuitous ARP); the network's vipSetS comes on top. */
  garpDelay: durationUs.default(0),
  /** The directors' keepalived daemon: a stopped one stops gracefully, a hung one halts like SIGKILL. null: not watched. */
  daemon: z.string().nullable().default('keepalived'),
  /** How often a director looks at its own daemon (and how long a hung one takes to notice). */
  daemonWatch: periodUs.default(10_000),
  realServers: z.array(realServerSchema).min(1),
  /** The service each checker examines on the real servers (TCP_CHECK). */
  service: z.string(),
  checker: z.object({
    delayLoop: periodUs.default(CHECKER_DEFAULTS.delayLoopUs),
    connectTimeout: periodUs.default(CHECKER_DEFAULTS.connectTimeoutUs),
    retry: z.number().int().min(0).max(1000).default(CHECKER_DEFAULTS.retry),
    delayBeforeRetry: periodUs.default(CHECKER_DEFAULTS.delayBeforeRetryUs),
    alpha: z.boolean().default(false),
  }).strict().default({
    delayLoop: CHECKER_DEFAULTS.delayLoopUs, connectTimeout: CHECKER_DEFAULTS.connectTimeoutUs, retry: CHECKER_DEFAULTS.retry,
    delayBeforeRetry: CHECKER_DEFAULTS.delayBeforeRetryUs, alpha: false,
  }),
  inhibitOnFailure: z.boolean().default(false),
  quorum: z.number().int().min(1).default(1),
  hysteresis: z.number().int().min(0).default(0),
  sorryServer: z.string().optional(),
  traceAdverts: z.boolean().default(false),
  /** Trace every checker try (lb.try: director, ok, start), for conformance of drop and re-add times. */
  traceChecks: z.boolean().default(false),
  /** paper: the first behaviour; hardened: a master that meets another rewrites the pool, a failed VIP add is retried (docs/safety.md). */
  safety: z.enum(['paper', 'hardened']).default('hardened'),
}).strict();

export type LbClusterConfig = z.output<typeof schema>;

const node = (site: Parameters<typeof siteHas.host>[0], n: string) => siteHas.host(site, n) || siteHas.vm(site, n);
const servicesOf = (site: Parameters<typeof siteHas.host>[0], n: string) =>
  site.hosts.find((h) => h.name === n)?.services ?? site.vms.find((v) => v.name === n)?.services ?? [];

/** A director's address as a number, for VRRP's tie-break between equal priorities (higher wins). */
function addressOf(site: Parameters<typeof siteHas.host>[0], host: string, index: number): number {
  const a = site.hosts.find((h) => h.name === host)?.address;
  const m = a ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a) : null;
  if (m) return ((+m[1] << 24) >>> 0) + (+m[2] << 16) + (+m[3] << 8) + +m[4];
  return index + 1;
}

export const lbclusterPolicy = definePolicy({
  kind: 'lbcluster',
  summary: 'VRRP directors (keepalived) share a VIP and balance it over checked real servers (IPVS wrr)',
  schema,
  check: (c, site) => {
    const out: Problem[] = [];
    if (!siteHas.vip(site, c.vip)) out.push([['vip'], `no VIP "${c.vip}"`]);
    const seen = new Set<string>();
    c.directors.forEach((d, i) => {
      if (!siteHas.host(site, d.host)) out.push([['directors', i, 'host'], `no host "${d.host}"`]);
      // Live, the directors' keepalived is the lab's (it runs VRRP itself, see programs).
      else if (c.daemon !== null && site.world !== 'live' && !servicesOf(site, d.host).includes(c.daemon)) {
        out.push([['directors', i, 'host'], `director "${d.host}" does not run "${c.daemon}" (daemon; its services: ${servicesOf(site, d.host).join(', ') || 'none'})`]);
      }
      if (seen.has(d.host)) out.push([['directors', i, 'host'], `director "${d.host}" is listed twice`]);
      seen.add(d.host);
    });
    const rs = new Set<string>();
    c.realServers.forEach((r, i) => {
      if (!node(site, r.host)) out.push([['realServers', i, 'host'], `no host or VM "${r.host}"`]);
      else if (!servicesOf(site, r.host).includes(c.service)) {
        out.push([['realServers', i, 'host'], `real server "${r.host}" does not run "${c.service}" (its services: ${servicesOf(site, r.host).join(', ') || 'none'})`]);
      }
      if (rs.has(r.host)) out.push([['realServers', i, 'host'], `real server "${r.host}" is listed twice`]);
      rs.add(r.host);
    });
    if (c.sorryServer !== undefined && !node(site, c.sorryServer)) out.push([['sorryServer'], `no host or VM "${c.sorryServer}"`]);
    return out;
  },
  programs: (c, site) => {
    const pool = c.pool ?? c.vip;
    const virtualServer = {
      realServers: c.realServers.map((r) => ({ id: r.host, weight: r.weight, inhibitOnFailure: r.inhibitOnFailure ?? c.inhibitOnFailure })),
      quorum: c.quorum,
      hysteresis: c.hysteresis,
      ...(c.sorryServer !== undefined ? { sorryServer: c.sorryServer } : {}),
    };
    const checker = {
      delayLoopUs: c.checker.delayLoop, connectTimeoutUs: c.checker.connectTimeout, retry: c.checker.retry,
      delayBeforeRetryUs: c.checker.delayBeforeRetry, alpha: c.checker.alpha,
    };
    // Live (the mini-lab): VRRP is the real keepalived's on each director, so the program is the
    // rest of keepalived as hatwin does it there: the checkers and the director's own pool
    // (poolKeeper), with the same checker and pool code as in sim.
    const body = site.world === 'live' ? poolKeeper : director;
    return c.directors.map((d, i) => ({
      agent: d.host,
      name: `lbcluster/${c.instance}/${d.host}`,
      target: c.vip,
      body: () => body({
        instance: c.instance,
        host: d.host,
        router: {
          name: d.host, address: addressOf(site, d.host, i), priority: d.priority, advertIntUs: c.advertInt,
          initialState: d.state, nopreempt: !c.preempt, preemptDelayUs: c.preemptDelay,
        },
        peers: c.directors.filter((x) => x.host !== d.host).map((x) => x.host),
        vip: c.vip,
        garpDelayUs: c.garpDelay,
        daemon: c.daemon,
        daemonWatchUs: c.daemonWatch,
        pool,
        checkService: c.service,
        checker,
        virtualServer,
        traceAdverts: c.traceAdverts,
        traceChecks: c.traceChecks,
        safety: c.safety,
      }),
    }));
  },
});
