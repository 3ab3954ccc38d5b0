// lb-availability: a year of director and application-server failures and repairs, and the
// availability a client sees, with and without the standby director and with k = 2..8 servers,
// against the Uptime Institute tiers Chen and Lo (2015) quote (I 99.67 %, II 99.75 %,
// III 99.98 %, IV 99.99 %; their cluster aims at tier III).
//
// A simulated year of the full policy (adverts every second on each director) is ~6e7 events
// per run, so the year is computed by a timeline model whose timings are the pure models'
// (vrrp.ts: takeover after a kill at a random advert phase, master down after a start;
// checker.ts: removal of a server that stops answering, readmission after it answers again),
// and the model is checked against the sim policy on a compressed schedule (the same failures
// and repairs, as power cycles, in a 6-hour scenario): the `validation` rows.
//
// Availability is request-weighted: at each instant a request succeeds when a director holds the
// VIP and the wrr pick is a live server, i.e. with probability (live weight in the pool) / (weight
// in the pool): a dead server still in the pool takes its share of requests until the checker
// removes it.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSimulation, readScenario } from '../../run/sim.ts';
import type { FaultSpec, Scenario } from '../../sim/scenario/schema.ts';
import { Progress, Samples, type Experiment } from '../report.ts';
import { killTakeoverUs, masterDownUs, mulberry32 } from '../../policies/lbcluster/vrrp.ts';
import { lbAccesses } from './trace.ts';

const S = 1_000_000;
const H = 3600 * S;
const YEAR_US = 365 * 24 * H;
const SCENARIO = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios', 'lb-demo.yaml');

/** The Uptime Institute tiers as Chen and Lo quote them, percent. */
export const TIERS = [99.67, 99.75, 99.98, 99.99] as const;

export interface AvailabilityParams {
  directorMtbfUs: number;
  directorMttrUs: number;
  serverMtbfUs: number;
  serverMttrUs: number;
  /** Director priorities, master first (one entry: no standby). */
  priorities: number[];
  advertIntUs: number;
  latencyUs: number;
  vipSetUs: number;
  /** Real servers' weights (k = length). */
  weights: number[];
  delayLoopUs: number;
  connectTimeoutUs: number;
  retry: number;
  delayBeforeRetryUs: number;
}

/** Assumed rates (the paper gives none): a director fails 4 times a year, a server once a month; each repair takes 4 h. */
export const YEAR_PARAMS: Omit<AvailabilityParams, 'priorities' | 'weights'> = {
  directorMtbfUs: 2190 * H,
  directorMttrUs: 4 * H,
  serverMtbfUs: 730 * H,
  serverMttrUs: 4 * H,
  advertIntUs: 1 * S,
  latencyUs: 500,
  vipSetUs: 100_000,
  // keepalived's defaults, with Chen and Lo's three failed scans (retry 2).
  delayLoopUs: 60 * S,
  connectTimeoutUs: 5 * S,
  retry: 2,
  delayBeforeRetryUs: 1 * S,
};

/** A deterministic stream of uniforms in [0, 1) (mulberry32, the VRRP model's generator). */
export const rng = mulberry32;

/** Failure times of one component over [0, untilUs): up for Exp(mtbf), down for mttr, again. */
export function failures(u: () => number, mtbfUs: number, mttrUs: number, untilUs: number): number[] {
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += Math.max(1, Math.round(-Math.log(1 - u()) * mtbfUs));
    if (t >= untilUs) return out;
    out.push(t);
    t += mttrUs;
  }
}

/** Merges [from, to) intervals. */
function union(xs: Array<[number, number]>): Array<[number, number]> {
  const s = [...xs].filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of s) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * The directors' outages (no director holds the VIP) over [0, untilUs), given each director's
 * failure times (down for mttr each): the master's death with a backup running costs the kill
 * takeover at a random advert phase plus the VIP change; with none running, the first director
 * back becomes master after its master down. A returning higher priority preempts without a gap.
 */
export function directorOutages(p: AvailabilityParams, fails: number[][], untilUs: number, u: () => number): Array<[number, number]> {
  const n = p.priorities.length;
  type Ev = { t: number; d: number; up: boolean };
  const evs: Ev[] = [];
  fails.forEach((fs, d) => fs.forEach((f) => evs.push({ t: f, d, up: false }, { t: f + p.directorMttrUs, d, up: true })));
  evs.sort((a, b) => a.t - b.t || Number(a.up) - Number(b.up));
  const up = new Array<boolean>(n).fill(true);
  // At t = 0 every director starts: the highest priority is master after its master down.
  const best = () => {
    let b = -1;
    for (let d = 0; d < n; d++) if (up[d] && (b < 0 || p.priorities[d] > p.priorities[b])) b = d;
    return b;
  };
  let master = 0;
  const out: Array<[number, number]> = [[0, masterDownUs(p.priorities[0], p.advertIntUs) + p.vipSetUs]];
  let downSince: number | null = null;
  for (const e of evs) {
    if (e.t >= untilUs) break;
    up[e.d] = e.up;
    if (!e.up && e.d === master) {
      const b = best();
      if (b >= 0) {
        const phase = Math.floor(u() * p.advertIntUs);
        out.push([e.t, e.t + killTakeoverUs(p.priorities[b], p.advertIntUs, phase, p.latencyUs) + p.vipSetUs]);
        master = b;
      } else {
        master = -1;
        downSince = e.t;
      }
    } else if (e.up && master < 0) {
      out.push([downSince!, e.t + masterDownUs(p.priorities[e.d], p.advertIntUs) + p.vipSetUs]);
      master = e.d;
      downSince = null;
    } else if (e.up && p.priorities[e.d] > p.priorities[master]) {
      master = e.d; // preemption: the new master sets the VIP before the old one removes it
    }
  }
  if (master < 0 && downSince !== null) out.push([downSince, untilUs]);
  return union(out.map(([a, b]) => [a, Math.min(b, untilUs)]));
}

/**
 * The request-weighted availability of the servers over [0, untilUs): each failure (no answer)
 * leaves the server in the pool until the checker's retry + 1 tries time out (first try at a
 * random point of its delay_loop cycle); it comes back at the checker's first try after repair.
 */
export function serverFraction(p: AvailabilityParams, fails: number[][], untilUs: number, u: () => number): Array<{ t: number; frac: number }> {
  type Ev = { t: number; i: number; kind: 'dead' | 'removed' | 'alive' | 'readded' };
  const evs: Ev[] = [];
  const cycleUp = p.delayLoopUs;
  const cycleDown = p.delayLoopUs + p.connectTimeoutUs;
  fails.forEach((fs, i) => fs.forEach((f) => {
    const r = f + p.serverMttrUs;
    const removed = f + Math.floor(u() * cycleUp) + (p.retry + 1) * p.connectTimeoutUs + p.retry * p.delayBeforeRetryUs;
    evs.push({ t: f, i, kind: 'dead' }, { t: Math.min(removed, r), i, kind: 'removed' }, { t: r, i, kind: 'alive' });
    if (removed < r) evs.push({ t: r + Math.floor(u() * cycleDown), i, kind: 'readded' });
  }));
  evs.sort((a, b) => a.t - b.t);
  const alive = p.weights.map(() => true);
  const inPool = p.weights.map(() => true);
  const frac = () => {
    let all = 0;
    let live = 0;
    p.weights.forEach((w, i) => {
      if (!inPool[i]) return;
      all += w;
      if (alive[i]) live += w;
    });
    return all > 0 ? live / all : 0;
  };
  const out = [{ t: 0, frac: 1 }];
  for (const e of evs) {
    if (e.t >= untilUs) break;
    if (e.kind === 'dead') alive[e.i] = false;
    else if (e.kind === 'removed') inPool[e.i] = alive[e.i] ? inPool[e.i] : false;
    else if (e.kind === 'alive') alive[e.i] = true;
    else if (alive[e.i]) inPool[e.i] = true;
    out.push({ t: e.t, frac: frac() });
  }
  return out;
}

/** Availability (0..1) from the directors' outages and the servers' step function. */
export function availabilityOf(outages: Array<[number, number]>, steps: Array<{ t: number; frac: number }>, untilUs: number): number {
  const cuts = new Set<number>([0, untilUs]);
  for (const [a, b] of outages) cuts.add(a).add(b);
  for (const s of steps) cuts.add(s.t);
  const ts = [...cuts].filter((t) => t >= 0 && t <= untilUs).sort((a, b) => a - b);
  let good = 0;
  let k = 0;
  let o = 0;
  for (let j = 0; j + 1 < ts.length; j++) {
    const a = ts[j];
    const b = ts[j + 1];
    while (k + 1 < steps.length && steps[k + 1].t <= a) k++;
    while (o < outages.length && outages[o][1] <= a) o++;
    const dirUp = !(o < outages.length && outages[o][0] <= a && a < outages[o][1]);
    if (dirUp) good += (b - a) * steps[k].frac;
  }
  return good / untilUs;
}

export function modelAvailability(p: AvailabilityParams, dirFails: number[][], srvFails: number[][], untilUs: number, u: () => number): number {
  return availabilityOf(directorOutages(p, dirFails, untilUs, u), serverFraction(p, srvFails, untilUs, u), untilUs);
}

const tierOf = (pct: number) => TIERS.filter((t) => pct >= t).length;

/**
 * A closed-form approximation (rare, independent failures): the directors' share of downtime
 * (single: each failure lasts its repair + master down + VIP change; standby: the master's
 * failures cost the mean kill takeover + VIP change, both down costs the overlap), plus the
 * servers' (each failure costs its weight share over the mean detection window; all k down at
 * once costs everything).
 */
export function approxAvailability(p: AvailabilityParams): number {
  const rd = 1 / (p.directorMtbfUs + p.directorMttrUs);
  const qd = p.directorMttrUs * rd;
  const md = masterDownUs(p.priorities[0], p.advertIntUs);
  let ud: number;
  if (p.priorities.length === 1) ud = rd * (p.directorMttrUs + md + p.vipSetUs);
  else {
    const take = masterDownUs(p.priorities[1], p.advertIntUs) - p.advertIntUs / 2 + p.latencyUs;
    ud = rd * (take + p.vipSetUs) + qd ** p.priorities.length / 2;
  }
  const rs = 1 / (p.serverMtbfUs + p.serverMttrUs);
  const qs = p.serverMttrUs * rs;
  const detect = p.delayLoopUs / 2 + (p.retry + 1) * p.connectTimeoutUs + p.retry * p.delayBeforeRetryUs;
  const total = p.weights.reduce((a, w) => a + w, 0);
  const us = p.weights.reduce((a, w) => a + rs * detect * (w / total), 0) + qs ** p.weights.length;
  return 1 - ud - us;
}

// ---------- the compressed check against the sim policy ----------

const CHECK_PARAMS: Omit<AvailabilityParams, 'priorities' | 'weights'> = {
  directorMtbfUs: 1 * H,
  directorMttrUs: 300 * S,
  serverMtbfUs: 1 * H,
  serverMttrUs: 300 * S,
  advertIntUs: 1 * S,
  latencyUs: 500,
  vipSetUs: 100_000,
  delayLoopUs: 10 * S,
  connectTimeoutUs: 2 * S,
  retry: 2,
  delayBeforeRetryUs: 1 * S,
};
const CHECK_HOURS = 6;

function checkScenario(base: Scenario, p: AvailabilityParams, dirFails: number[][], srvFails: number[][]): Scenario {
  const dirs = p.priorities.map((_, d) => `ms${d + 1}`);
  const servers = p.weights.map((_, i) => `ap${i + 1}`);
  const host = (name: string, service: string, mttrUs: number) => ({
    ...base.hosts.find((h) => h.name === (service === 'keepalived' ? 'ms1' : 'ap1'))!,
    name,
    restartS: { kind: 'constant' as const, value: mttrUs / S },
  });
  const faults: FaultSpec[] = [
    ...dirFails.flatMap((fs, d) => fs.map((f): FaultSpec => ({ kind: 'Nt1', target: dirs[d], at: f }))),
    ...srvFails.flatMap((fs, i) => fs.map((f): FaultSpec => ({ kind: 'Nt1', target: servers[i], at: f }))),
  ];
  const policy = {
    ...(base.policies[0] as Record<string, unknown>),
    directors: dirs.map((h, d) => ({ host: h, priority: p.priorities[d] })),
    realServers: servers.map((h, i) => ({ host: h, weight: p.weights[i] })),
    advertInt: p.advertIntUs / S,
    checker: { delayLoop: p.delayLoopUs / S, connectTimeout: p.connectTimeoutUs / S, retry: p.retry, delayBeforeRetry: p.delayBeforeRetryUs / S },
  };
  return {
    ...base,
    until: CHECK_HOURS * H,
    hosts: [...dirs.map((h) => host(h, 'keepalived', p.directorMttrUs)), ...servers.map((h) => host(h, 'plm', p.serverMttrUs))],
    faults,
    clients: [{ name: 'user1', vip: 'vip-plm', intervalS: 1, phaseS: 0.25 }],
    policies: [policy as unknown as Scenario['policies'][number]],
  };
}

export const lbAvailability: Experiment = {
  id: 'lb-availability',
  title: 'lbcluster: a year of director and server failures; availability with/without the standby director, k = 2..8 servers',
  defaultRuns: 20,
  run({ seed, runs }) {
    const samples = new Samples();
    const analytical = new Map<string, number>();
    const progress = new Progress('lb-availability', runs * 14 + Math.min(runs, 5) * 2);
    for (const standby of [true, false]) {
      for (let k = 2; k <= 8; k++) {
        const p: AvailabilityParams = { ...YEAR_PARAMS, priorities: standby ? [150, 100] : [150], weights: new Array<number>(k).fill(1) };
        const c = `${standby ? 'standby' : 'single'} k=${k}`;
        analytical.set(c, approxAvailability(p));
        for (let i = 0; i < runs; i++) {
          const u = rng(seed * 7919 + i * 104729 + k * 31 + (standby ? 1 : 0));
          const dirFails = p.priorities.map(() => failures(u, p.directorMtbfUs, p.directorMttrUs, YEAR_US));
          const srvFails = p.weights.map(() => failures(u, p.serverMtbfUs, p.serverMttrUs, YEAR_US));
          const a = modelAvailability(p, dirFails, srvFails, YEAR_US, u);
          samples.add(c, undefined, 'availabilityPct', 100 * a);
          samples.add(c, undefined, 'downtimeHoursPerYear', (1 - a) * YEAR_US / H);
          samples.add(c, undefined, 'tierReached', tierOf(100 * a));
          samples.add(c, undefined, 'nines', -Math.log10(Math.max(1e-12, 1 - a)));
          progress.tick();
        }
      }
    }
    // The model against the sim policy: the same failures, compressed into 6 hours.
    const base = readScenario(SCENARIO);
    const checkRuns = Math.min(runs, 5);
    let worstGapPct = 0;
    for (const standby of [true, false]) {
      const p: AvailabilityParams = { ...CHECK_PARAMS, priorities: standby ? [150, 100] : [150], weights: [3, 2, 1, 1] };
      const c = `validation ${standby ? 'standby' : 'single'} k=4 (6 h, MTBF 1 h, MTTR 5 min)`;
      for (let i = 0; i < checkRuns; i++) {
        const u = rng(seed * 13 + i * 7 + (standby ? 1 : 0));
        const until = CHECK_HOURS * H;
        const dirFails = p.priorities.map(() => failures(u, p.directorMtbfUs, p.directorMttrUs, until));
        const srvFails = p.weights.map(() => failures(u, p.serverMtbfUs, p.serverMttrUs, until));
        const sim = buildSimulation(checkScenario(base, p, dirFails, srvFails), { seed: seed + i });
        sim.run();
        const acc = lbAccesses(sim.events);
        const simPct = (100 * acc.filter((a) => a.ok).length) / acc.length;
        const modelPct = 100 * modelAvailability(p, dirFails, srvFails, until, u);
        samples.add(c, 'sim', 'availabilityPct', simPct);
        samples.add(c, 'model', 'availabilityPct', modelPct);
        worstGapPct = Math.max(worstGapPct, Math.abs(simPct - modelPct));
        progress.tick();
      }
    }
    return {
      id: 'lb-availability',
      title: this.title,
      source: 'Chen and Lo (2015) §1 (Uptime Institute tiers 99.67/99.75/99.98/99.99 %; the cluster aims at tier III); rates assumed (see params)',
      params: {
        seed, runs, years: 1,
        directorMtbfH: YEAR_PARAMS.directorMtbfUs / H, directorMttrH: YEAR_PARAMS.directorMttrUs / H,
        serverMtbfH: YEAR_PARAMS.serverMtbfUs / H, serverMttrH: YEAR_PARAMS.serverMttrUs / H,
        priorities: [150, 100], advertIntS: 1, checker: { delayLoopS: 60, connectTimeoutS: 5, retry: 2, delayBeforeRetryS: 1 },
        tiers: TIERS,
      },
      rows: samples.rows((cs, _s, metric) => {
        const a = analytical.get(cs);
        const paper = metric === 'availabilityPct' && !cs.startsWith('validation') ? 99.98 : null;
        if (a === undefined) return { paper };
        if (metric === 'availabilityPct') return { paper, analytical: 100 * a };
        if (metric === 'downtimeHoursPerYear') return { analytical: ((1 - a) * YEAR_US) / H };
        if (metric === 'nines') return { analytical: -Math.log10(1 - a) };
        return {};
      }),
      notes: [
        'analytical: a closed form for rare independent failures (approxAvailability). nines = -log10(1 - availability). paper = 99.98 %: tier III, the grade Chen and Lo say their cluster reaches (they write it as 99.8 %); tiers I-IV: 99.67, 99.75, 99.98, 99.99 %. tierReached counts the tiers met (0-4).',
        'Rates are assumptions, not the paper\'s: a director fails every 2190 h (4 a year), a server every 730 h (monthly), each is repaired in 4 h (power cycle: down, then up with its services).',
        'single: one director; its failures last the repair plus its master down (3.41 s) and the VIP change. standby: a second director (priority 100) takes over 2.6-3.6 s after the master dies.',
        'A dead server takes its weight share of requests until keepalived removes it: a random part of delay_loop (60 s) + 3 tries x connect_timeout (5 s) + 2 x delay_before_retry (1 s).',
        `validation: the sim policy (lb-demo's shape, Nt1 power cycles at the model's failure times, one client access a second) against the model on the same schedule; largest gap ${worstGapPct.toFixed(4)} percentage points.`,
      ],
    };
  },
};
