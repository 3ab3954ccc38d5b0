// Experiments runnable as `hatwin run <id>`. Each returns an ExperimentResult; the CLI writes it.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readScenario, buildSimulation } from '../run/sim.ts';
import { recoveries, disconnections, availability, energyWh } from '../trace/metrics.ts';
import { Progress, Samples, type Experiment } from './report.ts';
import { P2P_EXPERIMENTS } from './p2p/experiments.ts';
import { TABLE_EXPERIMENTS } from './p2p/tables.ts';
import { LB_EXPERIMENTS } from './lb/experiments.ts';
import { NAVIGATOR_EXPERIMENTS } from './navigator/experiments.ts';
import { PSS_EXPERIMENTS } from './pss/table4.ts';
import { toNdjson } from '../trace/ndjson.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = join(here, 'scenarios');

const demo: Experiment = {
  id: 'demo',
  title: 'Demo: failover of a web service to a suspended backup VM',
  defaultRuns: 20,
  run({ seed, runs }) {
    const scenario = readScenario(join(SCENARIO_DIR, 'demo.yaml'));
    const samples = new Samples();
    const progress = new Progress('demo', runs);
    let firstTrace = '';
    for (let i = 0; i < runs; i++) {
      const sim = buildSimulation(scenario, { seed: seed + i });
      sim.run();
      const ev = sim.events;
      if (i === 0) firstTrace = toNdjson(ev);
      for (const r of recoveries(ev)) {
        const c = r.fault ?? 'unknown';
        samples.add(c, r.target, 'functionRecoveryS', r.functionRecoveryS);
        samples.add(c, r.target, 'targetRecoveryS', r.targetRecoveryS);
        samples.add(c, r.target, 'faultToFunctionS', r.faultToFunctionS);
      }
      disconnections(ev).forEach((d, k) => samples.add(`outage${k + 1}`, d.vip, 'clientDisconnectionS', d.durationS));
      const end = sim.kernel.nowUs();
      for (const [client, a] of Object.entries(availability(ev, end))) samples.add('all', client, 'availabilityPct', 100 * a);
      samples.add('all', undefined, 'energyWh', energyWh(ev, end).total);
      progress.tick();
    }
    return {
      id: 'demo',
      title: this.title,
      source: 'experiments/scenarios/demo.yaml (no paper: a smoke test of the whole spine)',
      params: { seed, runs },
      rows: samples.rows(),
      traces: { 'demo.trace.ndjson': firstTrace },
    };
  },
};

export const EXPERIMENTS: Experiment[] = [demo, ...P2P_EXPERIMENTS, ...TABLE_EXPERIMENTS, ...PSS_EXPERIMENTS, ...NAVIGATOR_EXPERIMENTS, ...LB_EXPERIMENTS];

export function findExperiment(id: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.id === id);
}
