// wong-2014 experiments: Table 5-7 (failover and fallback times of Navigator).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSimulation, readScenario } from '../../run/sim.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import { navigatorFaultTimes } from '../../trace/navigator.ts';
import { toNdjson } from '../../trace/ndjson.ts';
import { table57Model, transferS } from '../../policies/navigator/decisions.ts';
import type { Scenario, FaultSpec } from '../../sim/scenario/schema.ts';
import { Progress, Samples, type Experiment } from '../report.ts';
import * as W from './params.ts';
import { LAB_EXPERIMENTS } from './lab12d.ts';
import { placement } from './placement.ts';

const SOURCE = 'wong-2014, Navigator (UTAR FYP thesis), §5.1.3-5.1.5, Tables 5-5, 5-6, 5-7';
const S = 1_000_000;
/** The controlled test's scenario: four PCs, the container starts on pc1, pc2 rebooted at 1 s. */
export const TABLE57_SCENARIO = 'navigator-table57.yaml';

/** Failures fall uniformly in this window, after the high-availability set-up (~450 s) is done. */
const FAIL_FROM_S = 700;
const FAIL_TO_S = 1000;

type Case = 'primary' | 'secondary';

/** The base scenario with the thesis's parameters and one failure: the primary's or the secondary's PC shut down at a uniformly drawn time. */
export function table57Scenario(base: Scenario, which: Case): Scenario {
  const policies = base.policies.map((p) => (p.kind !== 'navigator' ? p : {
    ...p,
    imageBytes: W.imageBytes, backupRateBps: W.backupRateBps, transferRateBps: W.transferRateBps,
    // A policy block is parsed when the simulation is built: durations in seconds.
    syncBytes: W.syncBytes, syncRateBps: W.syncRateBps, syncInterval: W.syncIntervalS,
    primaryCheck: W.primaryCheckS, secondaryCheck: W.secondaryCheckS, pingTimeout: W.assumed.pingTimeoutS,
    lease: false,
  }));
  const reboot = base.faults.filter((f) => f.kind === 'host-restart');
  // pc1 holds the primary; pc3 gets the secondary (pc2 was rebooted at 1 s, pc3 and pc4 tie: first name).
  const target = which === 'primary' ? 'pc1' : 'pc3';
  const fail = { kind: 'host-shutdown', target, at: { dist: { kind: 'uniform', min: FAIL_FROM_S, max: FAIL_TO_S } } } as FaultSpec;
  return { ...base, name: `navigator-table57-${which}`, until: (FAIL_TO_S + 900) * S, faults: [...reboot, fail], policies };
}

/** Table 5-7's times of one run, seconds from the failure (trace/navigator.ts, which `hatwin conform` reads live runs with too). */
export function table57Times(ev: TraceLine[], which: Case): Record<string, number | null> {
  const r = navigatorFaultTimes(ev, 'vip-rms')[0];
  if (!r) return {};
  if (which === 'secondary') return { secondary_failover: r.secondaryFailoverS };
  return { primary_failover: r.primaryFailoverS, fallback: r.fallbackS, primary_downtime: r.downtimeS };
}

/** The closed-form means of the model (decisions.ts table57Model) with the thesis's and the assumed parameters (`over` replaces some). */
export function table57Analytical(over: Partial<typeof W.assumed> = {}) {
  return table57Model({
    imageBytes: W.imageBytes, backupRateBps: W.backupRateBps, transferRateBps: W.transferRateBps,
    primaryCheckS: W.primaryCheckS, secondaryCheckS: W.secondaryCheckS, ...W.assumed, ...over,
  });
}

/**
 * What the thesis's own numbers say of Table 5-7 beyond the model's means: the container start its
 * tracking page implies (its one measured set-up less the query, transfer and backup it times),
 * the model with that start, and the shortest secondary failover the described sequence allows (a
 * check right after the failure: the ping timeout, then a new secondary).
 */
export function table57Bounds() {
  const trackedStartS = W.trackedSetupS - W.assumed.uptimeQueryS - W.transferPrintedS - W.backupPrintedS;
  const tracked = table57Analytical({ containerStartS: trackedStartS });
  return {
    trackedStartS,
    tracked,
    shortestSecondaryFailoverS: W.assumed.pingTimeoutS + tracked.newSecondaryS,
    timedSetupS: W.transferPrintedS + W.backupPrintedS,
  };
}

const table57: Experiment = {
  id: 'navigator-table57',
  title: 'Navigator: failover and fallback times (wong-2014 Table 5-7)',
  defaultRuns: 30,
  run({ seed, runs }) {
    const base = readScenario(join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios', TABLE57_SCENARIO));
    const samples = new Samples();
    const progress = new Progress('navigator-table57', runs * 2);
    const traces: Record<string, string> = {};
    for (const which of ['primary', 'secondary'] as const) {
      const scenario = table57Scenario(base, which);
      for (let i = 0; i < runs; i++) {
        const sim = buildSimulation(scenario, { seed: seed + i });
        sim.run();
        if (i === 0) traces[`navigator-table57-${which}.trace.ndjson`] = toNdjson(sim.events);
        const t = table57Times(sim.events, which);
        if (which === 'primary') {
          samples.add('primary_failover', undefined, 'timeS', t.primary_failover);
          samples.add('fallback', undefined, 'timeS', t.fallback);
          samples.add('primary_failover', undefined, 'downtimeS', t.primary_downtime);
        } else samples.add('secondary_failover', undefined, 'timeS', t.secondary_failover);
        progress.tick();
      }
    }
    const a = table57Analytical();
    const b = table57Bounds();
    const pct = (model: number, paper: number) => `${model >= paper ? '+' : ''}${(((model - paper) / paper) * 100).toFixed(0)} %`;
    const order = ['primary_failover/timeS', 'secondary_failover/timeS', 'fallback/timeS', 'primary_failover/downtimeS'];
    const rows = samples.rows((c, _s, metric) => {
      if (metric === 'downtimeS') return { paper: W.primaryDowntimeS, analytical: W.primaryCheckS / 2 + W.assumed.pingTimeoutS + W.assumed.commandS + W.assumed.vipSetS + W.assumed.commandS + W.assumed.serviceStartS };
      const k = c as keyof typeof W.table57;
      return { paper: W.table57[k], analytical: a[k] };
    }).sort((x, y) => order.indexOf(`${x.case}/${x.metric}`) - order.indexOf(`${y.case}/${y.metric}`));
    const transfer = transferS(W.imageBytes, W.transferRateBps);
    const backup = transferS(W.imageBytes, W.backupRateBps);
    return {
      id: 'navigator-table57', title: this.title, source: SOURCE,
      params: {
        seed, runs, imageBytes: W.imageBytes, backupRateBps: W.backupRateBps, transferRateBps: W.transferRateBps, syncBytes: W.syncBytes, syncRateBps: W.syncRateBps,
        syncIntervalS: W.syncIntervalS, primaryCheckS: W.primaryCheckS, secondaryCheckS: W.secondaryCheckS, assumed: W.assumed, failureWindowS: [FAIL_FROM_S, FAIL_TO_S],
      },
      rows,
      notes: [
        'Reading: the thesis writes times as m:ss and twice with a dot; "1.43" (Table 5-6) must be 1:43, since 1.25 GB at the measured 96 Mb/s takes 104 s, so "3.45" is read as 3:45 = 225 s.',
        `Phases from the thesis\'s rates: image transfer 1.25 GB at 66 Mb/s = ${transfer.toFixed(1)} s (printed 2:34 = 154 s); backup at 96 Mb/s = ${backup.toFixed(1)} s (printed 1:43); database sync 11 s every minute. A new secondary = uptime query + transfer + the new pilot\'s backup + container start = ${a.newSecondaryS.toFixed(1)} s.`,
        'Each run shuts the primary\'s (or the secondary\'s) PC down at a time drawn uniformly in [700 s, 1000 s], after the set-up; times are from the shutdown to the tracking record of the new role (navigator.track). fallback = until the new secondary runs (high availability back), as §5.1.5 treats the secondary\'s failover and fallback as one process.',
        'primary_failover: the model gives half a 5 s check + a 4 s ping timeout + the takeover (about 7 s), the thesis\'s own "about 10 sec downtime" (§6.1.4), not the 1:09 of Table 5-7. The 62 s gap is a step of the thesis\'s failover that it does not describe or time (the Zabbix server\'s start inside the container is the likely one); nothing in the given parameters produces it, so it is not added.',
        `fallback: the thesis\'s 5:26 minus its 1:09 is 257 s, exactly transfer + backup (154 + 103 s): the model has the same phases. The model is short by the 62 s of the primary failover, partly offset by the container start (${W.assumed.containerStartS} s) that the thesis\'s figure seems not to include.`,
        `Container start from the thesis's own data: its tracking page records one set-up of a secondary in ${W.trackedSetupS} s; less the query, transfer and backup that leaves ${b.trackedStartS} s for the start (the model uses ${W.assumed.containerStartS} s, from outside the thesis). With ${b.trackedStartS} s a new secondary takes ${b.tracked.newSecondaryS.toFixed(1)} s and the fallback ${b.tracked.fallback.toFixed(1)} s (${pct(b.tracked.fallback, W.table57.fallback)} vs 5:26): the fallback is within 10 % only with the start from outside the thesis.`,
        `secondary_failover: the thesis\'s 225 s is shorter than transfer + backup alone (257 s), so under the sequence it describes (copy, then the new pilot backs up, then starts the container) no detection delay reaches it; the model adds the 5 min check (150 s on average for a failure at a random time) and gives about ${a.secondary_failover.toFixed(0)} s. The thesis's own figures fit another pattern: 3:45 - 1:09 = 156 s, about one transfer (154 s), as if its secondary failover were its primary failover's 69 s plus a transfer and no backup on the new PC; that is not the process the thesis describes, so the model does not follow it. The miss, step by step: 3:45 is ${b.timedSetupS - W.table57.secondary_failover} s short of the transfer and backup alone (${b.timedSetupS} s, both timed by the thesis), and the shortest whole sequence (a check right after the failure, the ping timeout, the query, transfer, backup and the ${b.trackedStartS} s start: ${b.shortestSecondaryFailoverS.toFixed(0)} s) is ${(b.shortestSecondaryFailoverS - W.table57.secondary_failover).toFixed(0)} s longer (${pct(b.shortestSecondaryFailoverS, W.table57.secondary_failover)}).`,
      ],
      traces,
    };
  },
};

export const NAVIGATOR_EXPERIMENTS: Experiment[] = [table57, ...LAB_EXPERIMENTS, placement];
