// lb-vrrp: how long a VRRP takeover takes in the sim (the lbcluster policy's directors, lb-demo.yaml)
// against keepalived 2.2.7's formulas (policies/lbcluster/vrrp.ts), over advert_int, the
// backup's priority and preempt_delay:
//   kill (power loss, SIGKILL): master down - phase + latency, phase uniform in [0, advert_int):
//     mean 3 a + skew(p) - a / 2 + latency;
//   graceful stop (SIGTERM): skew(p) + latency (+ the director noticing its stopped daemon);
//   preemption by a returning higher-priority director: master down, or with preempt_delay D
//     master down + D - a/2 on average (the last advert accepted before D runs out sets the
//     timer); and the model's runner (runVrrp) on the same script, exactly.
import { join } from 'node:path';
import { buildSimulation, readScenario } from '../../run/sim.ts';
import type { FaultSpec, Scenario } from '../../sim/scenario/schema.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import { toNdjson } from '../../trace/ndjson.ts';
import { Progress, Samples, type Experiment } from '../report.ts';
import { falseTakeoverRate, killTakeoverRangeUs, killTakeoverUs, gracefulTakeoverUs, masterDownUs, runVrrp, skewUs } from '../../policies/lbcluster/vrrp.ts';
import { advertsOf, nextMaster } from './trace.ts';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const S = 1_000_000;
const SCENARIO = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios', 'lb-demo.yaml');
const INSTANCE = 'VI_PLM';
const MASTER_PRIORITY = 254;
const DAEMON_WATCH_US = 10_000;

/** A deterministic uniform [0, 1) per (seed, run, case): mulberry32. */
function uniform(seed: number, run: number, salt: number): number {
  let a = (seed * 0x9e3779b1 + run * 0x85ebca6b + salt * 0xc2b2ae35) >>> 0;
  a = (a + 0x6d2b79f5) >>> 0;
  let t = Math.imul(a ^ (a >>> 15), 1 | a);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

interface Case {
  id: string;
  kind: 'kill' | 'graceful' | 'preempt' | 'loss';
  advUs: number;
  backupPriority: number;
  preemptDelayUs: number;
  /** loss: each advert lost with this probability. */
  lossProb?: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const adv of [0.5, 1, 2]) for (const p of [50, 100, 200]) out.push({ id: `kill a=${adv}s p=${p}`, kind: 'kill', advUs: adv * S, backupPriority: p, preemptDelayUs: 0 });
  for (const p of [1, 100, 200, 253]) out.push({ id: `graceful p=${p}`, kind: 'graceful', advUs: S, backupPriority: p, preemptDelayUs: 0 });
  for (const d of [0, 2, 5, 10]) out.push({ id: `preempt a=1s delay=${d}s`, kind: 'preempt', advUs: S, backupPriority: 100, preemptDelayUs: d * S });
  // Beyond the paper: adverts lost on the way (a congested or lossy segment): how often does the
  // backup take over from a master that is alive?
  for (const pct of [5, 10, 20, 30]) out.push({ id: `loss a=1s ${pct}%`, kind: 'loss', advUs: S, backupPriority: 100, preemptDelayUs: 0, lossProb: pct / 100 });
  out.push({ id: 'loss a=0.25s 30%', kind: 'loss', advUs: 0.25 * S, backupPriority: 100, preemptDelayUs: 0, lossProb: 0.3 });
  return out;
}

function scenarioFor(base: Scenario, c: Case, faults: FaultSpec[], untilUs: number): Scenario {
  const policy = {
    ...(base.policies[0] as Record<string, unknown>),
    advertInt: c.advUs / S,
    preemptDelay: c.preemptDelayUs / S,
    traceAdverts: true,
    directors: [{ host: 'ms1', priority: MASTER_PRIORITY }, { host: 'ms2', priority: c.backupPriority }],
  };
  return { ...base, faults, until: untilUs, policies: [policy as unknown as Scenario['policies'][number]] };
}

function simulate(s: Scenario, seed: number): TraceLine[] {
  const sim = buildSimulation(s, { seed });
  sim.run();
  return sim.events;
}

export const lbVrrp: Experiment = {
  id: 'lb-vrrp',
  title: 'lbcluster: VRRP takeover time vs advert_int, priority and preempt_delay (sim vs keepalived formula)',
  defaultRuns: 20,
  run({ seed, runs }) {
    const base = readScenario(SCENARIO);
    const latencyUs = Math.round(base.network.latencyS * S);
    const restartUs = Math.round(((base.hosts.find((h) => h.name === 'ms1')!.restartS as { value?: number }).value ?? 60) * S);
    const samples = new Samples();
    const analytical = new Map<string, number>();
    const all = cases();
    const progress = new Progress('lb-vrrp', runs * all.length);
    let worstKillErrUs = 0;
    let worstPreemptErrUs = 0;
    let firstTrace = '';
    all.forEach((c, k) => {
      for (let i = 0; i < runs; i++) {
        // The fault falls anywhere in the master's advert cycle.
        const faultUs = 20 * S + Math.floor(uniform(seed, i, k) * c.advUs);
        if (c.kind === 'kill') {
          const ev = simulate(scenarioFor(base, c, [{ kind: 'host-fail', target: 'ms1', at: faultUs }], faultUs + 15 * S), seed + i);
          const take = nextMaster(ev, INSTANCE, faultUs);
          // The phase counts from the last advert ms2 received: one still in flight at the kill is lost.
          const last = advertsOf(ev, INSTANCE, 'ms1').filter((a) => a.tUs + latencyUs < faultUs).at(-1);
          if (take && last) {
            samples.add(c.id, 'ms2', 'takeoverS', (take.tUs - faultUs) / S);
            worstKillErrUs = Math.max(worstKillErrUs, Math.abs(take.tUs - faultUs - killTakeoverUs(c.backupPriority, c.advUs, faultUs - last.tUs, latencyUs)));
          }
          const vip = ev.find((e) => e.kind === 'vip.assign' && e.t > faultUs && e.data?.holder === 'ms2');
          if (vip) samples.add(c.id, 'ms2', 'vipMovedS', (vip.t - faultUs) / S);
          analytical.set(`${c.id}/takeoverS`, killTakeoverRangeUs(c.backupPriority, c.advUs, latencyUs).mean / S);
          analytical.set(`${c.id}/vipMovedS`, (killTakeoverRangeUs(c.backupPriority, c.advUs, latencyUs).mean + base.network.vipSetS * S) / S);
          if (i === 0 && k === 0) firstTrace = toNdjson(ev);
        } else if (c.kind === 'loss') {
          // The model's runner (the sim's world has no lossy links): a day with the master alive;
          // every time the backup becomes master is a false takeover (it steps back at the master's next advert).
          const DAY = 86_400 * S;
          const m = runVrrp({
            routers: [
              { name: 'ms1', address: 1, priority: MASTER_PRIORITY, advertIntUs: c.advUs, initialState: 'BACKUP', nopreempt: false, preemptDelayUs: 0 },
              { name: 'ms2', address: 2, priority: c.backupPriority, advertIntUs: c.advUs, initialState: 'BACKUP', nopreempt: false, preemptDelayUs: 0 },
            ],
            latencyUs,
            events: [{ atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' }],
            untilUs: DAY,
            lossProb: c.lossProb,
            lossSeed: (seed * 7919 + i * 104729 + k) >>> 0,
          });
          const settled = masterDownUs(MASTER_PRIORITY, c.advUs) + latencyUs;
          samples.add(c.id, 'ms2', 'falseTakeoversPerDay', m.transitions.filter((x) => x.router === 'ms2' && x.to === 'master' && x.tUs > settled).length);
          analytical.set(`${c.id}/falseTakeoversPerDay`, ((DAY - settled) / c.advUs) * falseTakeoverRate(c.backupPriority, c.advUs, c.lossProb!));
        } else if (c.kind === 'graceful') {
          const ev = simulate(scenarioFor(base, c, [{ kind: 'St1', target: 'ms1', service: 'keepalived', at: faultUs }], faultUs + 10 * S), seed + i);
          const take = nextMaster(ev, INSTANCE, faultUs);
          if (take) samples.add(c.id, 'ms2', 'takeoverS', (take.tUs - faultUs) / S);
          // The director sees its stopped daemon at its next 10 ms watch instant (+ 1 ms examination).
          analytical.set(`${c.id}/takeoverS`, gracefulTakeoverUs(c.backupPriority, latencyUs) / S);
        } else {
          // ms1 is power-cycled: ms2 takes over; ms1 comes back and preempts it.
          const ev = simulate(scenarioFor(base, c, [{ kind: 'Nt1', target: 'ms1', at: faultUs }], faultUs + restartUs + c.preemptDelayUs + 20 * S), seed + i);
          const back = ev.find((e) => e.kind === 'vrrp.state' && e.data?.router === 'ms1' && e.data?.to === 'backup' && e.t > faultUs);
          const take = back ? nextMaster(ev, INSTANCE, back.t) : null;
          if (back && take?.router === 'ms1') {
            samples.add(c.id, 'ms1', 'preemptS', (take.tUs - back.t) / S);
            // The model's runner on the same script: both start at 0, ms1 dies at the fault and starts again.
            const m = runVrrp({
              routers: [
                { name: 'ms1', address: 1, priority: MASTER_PRIORITY, advertIntUs: c.advUs, initialState: 'BACKUP', nopreempt: false, preemptDelayUs: c.preemptDelayUs },
                { name: 'ms2', address: 2, priority: c.backupPriority, advertIntUs: c.advUs, initialState: 'BACKUP', nopreempt: false, preemptDelayUs: c.preemptDelayUs },
              ],
              latencyUs,
              events: [
                { atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' },
                { atUs: faultUs, kind: 'stop', router: 'ms1', how: 'kill' }, { atUs: back.t, kind: 'start', router: 'ms1' },
              ],
              untilUs: back.t + c.preemptDelayUs + 20 * S,
            });
            const mt = m.transitions.find((x) => x.router === 'ms1' && x.to === 'master' && x.tUs > back.t);
            if (mt) {
              samples.add(c.id, 'ms1', 'modelPreemptS', (mt.tUs - back.t) / S);
              worstPreemptErrUs = Math.max(worstPreemptErrUs, Math.abs(mt.tUs - take.tUs));
            }
          }
          // The first lower-priority advert starts the delay; the last one accepted before it runs out
          // (a whole number of advert intervals later, minus one) sets the timer: master down +
          // delay - a + U, U uniform in (0, a]: mean master down + delay - a / 2 (no delay: master down).
          analytical.set(`${c.id}/preemptS`, (masterDownUs(MASTER_PRIORITY, c.advUs) + (c.preemptDelayUs > 0 ? c.preemptDelayUs - c.advUs / 2 : 0)) / S);
        }
        progress.tick();
      }
    });
    return {
      id: 'lb-vrrp',
      title: this.title,
      source: 'keepalived 2.2.7 (RFC 3768 timers) via policies/lbcluster/vrrp.ts; cluster after Chen and Lo (2015), Fig. 3; experiments/scenarios/lb-demo.yaml',
      params: { seed, runs, masterPriority: MASTER_PRIORITY, latencyUs, daemonWatchUs: DAEMON_WATCH_US, vipSetS: base.network.vipSetS, restartS: restartUs / S },
      rows: samples.rows((cs, _server, metric) => ({ analytical: analytical.get(`${cs}/${metric}`) ?? null })),
      notes: [
        `kill: the fault is a power loss of the master at a uniformly drawn phase of its advert cycle; analytical = mean of master down - phase + latency = 3 a + skew(p) - a/2 + latency. Largest |sim - formula at the run's own phase| over all kill runs: ${worstKillErrUs} us.`,
        'graceful: keepalived stopped on the master; analytical = skew(p) + latency. The sim adds the director noticing its stopped daemon (a 10 ms watch, 1 ms examination): 0-11 ms.',
        `preempt: the higher-priority director returns (power cycle) and takes the VIP back; analytical = master down(254) with no delay; with a delay D (a multiple of a) the first lower-priority advert after the return starts it and the last advert accepted before it runs out sets the timer: master down + D - a + U, U uniform in (0, a], mean master down + D - a/2. modelPreemptS is the pure model's runner on the same script; largest |sim - model|: ${worstPreemptErrUs} us.`,
        'loss (beyond the paper): each advert is lost on its way with probability p (the pure model\'s runner, one simulated day with the master alive; the sim\'s world has no lossy links). A false takeover is the backup becoming master while the master runs. analytical = adverts per day x (1 - p) p^k, k = ceil(master down / a) - 1 adverts that must all be lost before the backup\'s timer runs out (k = 3 at a = 1 s, priority 100; k = 5 at a = 0.25 s, where the skew of 0.61 s is more than two advert intervals). At the same 30 % loss, adverts every 0.25 s give fewer false takeovers than adverts every second: the backup\'s skew (0.61 s) spans more than two short intervals, so five adverts must be lost in a row instead of three.',
        `skew(p) for p = 1, 50, 100, 200, 253: ${[1, 50, 100, 200, 253].map((p) => (skewUs(p) / S).toFixed(6)).join(', ')} s.`,
      ],
      traces: { 'lb-vrrp.trace.ndjson': firstTrace },
    };
  },
};
