// wong-2014 §5.2: Navigator in a teaching lab of 32 PCs for 12 days. Users switch PCs on and off
// at random; every PC is turned off at 6 pm, so each day starts again from one PC chosen at
// random (the experimenters placed the container and started the primary pilot each day).
// The thesis gives no session statistics: the churn parameters below are assumptions, and the
// result is a prediction to set beside the thesis's day-by-day log (Appendix A).
import { Progress, Samples, type Experiment } from '../report.ts';
import { buildSimulation } from '../../run/sim.ts';
import { scenarioSchema, type Scenario } from '../../sim/scenario/schema.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import * as W from './params.ts';

const SOURCE = 'wong-2014, Navigator (UTAR FYP thesis), §5.2 and Appendix A';
const S = 1_000_000;
/** The lab opens at 8 am (t = 0) and every PC is off at 6 pm. */
const DAY_S = 10 * 3600;

/**
 * Assumed uses of the lab (not in the thesis), bracketing it: users switch PCs off after a
 * session of 45 min to 4 h, or leave them on until 6 pm.
 */
export const LAB_CASES = [
  { case: 'sessions 45m-4h', sessionsPerDay: 2, sessionMinS: 45 * 60, sessionMaxS: 4 * 3600 },
  { case: 'left on until 6pm', sessionsPerDay: 2, sessionMinS: DAY_S, sessionMaxS: DAY_S },
] as const;
type LabCase = (typeof LAB_CASES)[number];

/** Appendix A: 2 primary failovers, none of a secondary, one day the service was lost (both PCs off at about the same time). */
export const LAB_PAPER = { primaryFailovers: 2, secondaryFailovers: 0, daysLost: 1 };

const pc = (i: number) => `pc${String(i + 1).padStart(2, '0')}`;

/**
 * A Navigator scenario of the thesis's set-up on `hosts`: the two container slots, the service IP
 * and a user who checks the monitoring service every second, the thesis's rates and intervals;
 * `policy` overrides the policy block's fields (check intervals, transfer rate, lease, placement).
 */
export function navigatorScenario(o: { name: string; untilS: number; hosts: Array<{ name: string; state: string }>; start: string; churn: unknown; policy?: Record<string, unknown> }): Scenario {
  return scenarioSchema.parse({
    name: o.name,
    until: `${o.untilS}s`,
    hosts: o.hosts,
    vms: [
      { name: 'nav-a', state: 'defined', memMb: 1024, services: [{ name: 'zabbix' }] },
      { name: 'nav-b', state: 'defined', memMb: 1024, services: [{ name: 'zabbix' }] },
    ],
    vips: [{ name: 'vip-rms', service: 'zabbix' }],
    clients: [{ name: 'user', vip: 'vip-rms', intervalS: 1 }],
    churn: o.churn,
    policies: [{
      kind: 'navigator', start: o.start, containers: ['nav-a', 'nav-b'], service: 'zabbix', vip: 'vip-rms',
      imageBytes: W.imageBytes, backupRateBps: W.backupRateBps, transferRateBps: W.transferRateBps,
      syncBytes: W.syncBytes, syncRateBps: W.syncRateBps, syncInterval: W.syncIntervalS,
      primaryCheck: W.primaryCheckS, secondaryCheck: W.secondaryCheckS,
      ...(o.policy ?? {}),
    }],
  }) as Scenario;
}

/** One day of the lab: `W.labPcs` PCs, all off but the one the container starts on. */
export function labDayScenario(startIndex: number, use: LabCase = LAB_CASES[0]): Scenario {
  const hosts = Array.from({ length: W.labPcs }, (_, i) => ({ name: pc(i), state: i === startIndex ? 'on' : 'off' }));
  return navigatorScenario({
    name: 'navigator-lab-day',
    untilS: DAY_S,
    hosts,
    start: pc(startIndex),
    churn: {
      hosts: hosts.map((h) => h.name), days: 1, openAt: 0, closeAt: `${DAY_S}s`,
      sessionsPerDay: use.sessionsPerDay, session: { kind: 'uniform', min: use.sessionMinS, max: use.sessionMaxS },
    },
  });
}

export interface DayOutcome {
  primaryFailovers: number;
  secondaryFailovers: number;
  /** The service was up once and down at closing time. */
  lost: boolean;
  /** Share of the day, from the first OK to closing, that the client was served. */
  availability: number | null;
}

export function dayOutcome(ev: TraceLine[], closeUs: number): DayOutcome {
  let firstOk: number | null = null;
  let ok = false;
  let since = 0;
  let upUs = 0;
  for (const e of ev) {
    if (e.t >= closeUs) break;
    if (e.kind !== 'client.access') continue;
    const now = e.data?.ok === true;
    if (firstOk === null && now) firstOk = e.t;
    if (ok) upUs += e.t - since;
    ok = now;
    since = e.t;
  }
  if (ok) upUs += closeUs - since;
  return {
    primaryFailovers: ev.filter((e) => e.kind === 'navigator.track' && e.data?.role === 'primary' && e.data?.failover === true && e.t < closeUs).length,
    secondaryFailovers: ev.filter((e) => e.kind === 'navigator.secondary-lost' && e.t < closeUs).length,
    lost: firstOk !== null && !ok,
    availability: firstOk === null ? null : upUs / (closeUs - firstOk),
  };
}

const lab12d: Experiment = {
  id: 'navigator-lab12d',
  title: 'Navigator: 32 lab PCs for 12 days, all off at 6 pm (wong-2014 §5.2, predicted)',
  defaultRuns: 10,
  run({ seed, runs }) {
    const samples = new Samples();
    const progress = new Progress('navigator-lab12d', LAB_CASES.length * runs * W.labDays);
    const closeUs = DAY_S * S;
    for (const use of LAB_CASES) for (let r = 0; r < runs; r++) {
      let pf = 0;
      let sf = 0;
      let lost = 0;
      for (let d = 0; d < W.labDays; d++) {
        const daySeed = seed + r * 1000 + d;
        // The container starts on a PC chosen at random each day.
        const start = Math.abs((daySeed * 2654435761) | 0) % W.labPcs;
        const sim = buildSimulation(labDayScenario(start, use), { seed: daySeed });
        sim.run();
        const o = dayOutcome(sim.events, closeUs);
        pf += o.primaryFailovers;
        sf += o.secondaryFailovers;
        if (o.lost) lost++;
        samples.add(use.case, 'one day', 'availabilityPct', o.availability === null ? null : 100 * o.availability);
        progress.tick();
      }
      samples.add(use.case, '12 days', 'primaryFailovers', pf);
      samples.add(use.case, '12 days', 'secondaryFailovers', sf);
      samples.add(use.case, '12 days', 'daysLost', lost);
    }
    const rows = samples.rows((_c, _s, metric) => ({ paper: (LAB_PAPER as Record<string, number>)[metric] ?? null }));
    return {
      id: 'navigator-lab12d', title: this.title, source: SOURCE,
      params: { seed, runs, pcs: W.labPcs, days: W.labDays, dayS: DAY_S, cases: LAB_CASES },
      rows,
      notes: [
        'Prediction: the thesis gives no statistics of the lab\'s use. Assumed: each PC gets 0-4 sessions a day (uniform, mean 2), each starting at a uniform time between 8 am and 6 pm and lasting 45 min to 4 h (uniform), or lasting until 6 pm (PCs left on); a PC is on while a session covers it. The thesis\'s "very little movement" lies between the two.',
        'Each day starts from one PC (on at 8 am) with the container and the primary pilot, as the experimenters did; every PC goes off at 6 pm, which ends the day.',
        'A day is lost when the service was up once and is down at 6 pm (Appendix A: once, when both PCs were shut down at about the same time). Failovers are counted over the 12 days of one campaign; rows are means over campaigns.',
      ],
    };
  },
};

export const LAB_EXPERIMENTS: Experiment[] = [lab12d];
