// Experiments runnable as `hatwin run <id>`. Each returns an ExperimentResult; the CLI writes it.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readScenario, buildSimulation } from '../run/sim.ts';
import { recoveries, disconnections, availability, energyWh } from '../trace/metrics.ts';
import { Samples, replicated, type Experiment, type Sample } from './report.ts';
import { P2P_EXPERIMENTS } from './p2p/experiments.ts';
import { TABLE_EXPERIMENTS } from './p2p/tables.ts';
import { LB_EXPERIMENTS } from './lb/experiments.ts';
import { NAVIGATOR_EXPERIMENTS } from './navigator/experiments.ts';
import { PSS_EXPERIMENTS } from './pss/table4.ts';
import { toNdjson } from '../trace/ndjson.ts';
import type { Scenario } from '../sim/scenario/schema.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = join(here, 'scenarios');

/** One replication of the demo: its metric samples in the order they were taken, and its trace (the first only). */
interface DemoRun {
  samples: Sample[];
  trace?: string;
}

const DEMO_TITLE = 'Demo: failover of a web service to a suspended backup VM';
let demoScenario: Scenario | undefined;

const demo: Experiment = replicated<DemoRun>({
  id: 'demo',
  title: DEMO_TITLE,
  defaultRuns: 20,
  units: ({ runs }) => runs,
  unit({ seed }, i) {
    demoScenario ??= readScenario(join(SCENARIO_DIR, 'demo.yaml'));
    const sim = buildSimulation(demoScenario, { seed: seed + i });
    sim.run();
    const ev = sim.events;
    const end = sim.kernel.nowUs();
    const samples: Sample[] = [];
    for (const r of recoveries(ev)) {
      const c = r.fault ?? 'unknown';
      samples.push([c, r.target, 'functionRecoveryS', r.functionRecoveryS]);
      samples.push([c, r.target, 'targetRecoveryS', r.targetRecoveryS]);
      samples.push([c, r.target, 'faultToFunctionS', r.faultToFunctionS]);
    }
    // Outages by cause: each is the fault's that precedes it (the last one at or before its start),
    // never by its number (a 1 s blip at the fail-back of one run is not the next fault's outage
    // of another). A fault's clients lose per run the sum of its outages (0 when none), and count them.
    const faults = ev.filter((e) => e.kind === 'fault').map((e) => ({ t: e.t, name: String(e.data?.fault ?? e.kind) }));
    const perCause = new Map<string, { vip: string; s: number; count: number }>();
    for (const f of faults) for (const v of demoScenario.vips) perCause.set(`${f.name}\u0000${v.name}`, { vip: v.name, s: 0, count: 0 });
    for (const d of disconnections(ev)) {
      const cause = faults.filter((f) => f.t <= d.fromUs).at(-1)?.name ?? 'no fault';
      const key = `${cause}\u0000${d.vip}`;
      const c = perCause.get(key) ?? { vip: d.vip, s: 0, count: 0 };
      c.s += d.durationS ?? (end - d.fromUs) / 1e6;
      c.count++;
      perCause.set(key, c);
    }
    for (const [key, c] of perCause) {
      const cause = key.split('\u0000')[0];
      samples.push([cause, c.vip, 'clientDisconnectionS', c.s]);
      samples.push([cause, c.vip, 'clientOutages', c.count]);
    }
    for (const [client, a] of Object.entries(availability(ev, end))) samples.push(['all', client, 'availabilityPct', 100 * a]);
    samples.push(['all', undefined, 'energyWh', energyWh(ev, end).total]);
    return i === 0 ? { samples, trace: toNdjson(ev) } : { samples };
  },
  combine({ seed, runs }, values) {
    const samples = new Samples();
    for (const v of values) samples.addAll(v.samples);
    return {
      id: 'demo',
      title: DEMO_TITLE,
      source: 'experiments/scenarios/demo.yaml (no paper: a smoke test of the whole spine)',
      params: { seed, runs },
      rows: samples.rows(),
      notes: [
        'Client disconnections are grouped by cause: an outage belongs to the fault that precedes it (the last fault at or before its start); clientDisconnectionS is the seconds a fault\'s outages last in all, per run (0 when it caused none), clientOutages how many there were (a quick fail-back after St2 adds a 1 s one in some runs).',
      ],
      traces: { 'demo.trace.ndjson': values[0]?.trace ?? '' },
    };
  },
});

export const EXPERIMENTS: Experiment[] = [demo, ...P2P_EXPERIMENTS, ...TABLE_EXPERIMENTS, ...PSS_EXPERIMENTS, ...NAVIGATOR_EXPERIMENTS, ...LB_EXPERIMENTS];

export function findExperiment(id: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.id === id);
}
