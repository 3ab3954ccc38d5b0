// Experiments runnable as `hatwin run <id>`. Each returns an ExperimentResult; the CLI writes it.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readScenario, buildSimulation } from './scenario.ts';
import { recoveries, disconnections, availability, energyWh } from '../sim/trace/metrics.ts';
import { summarize, Progress, type ExperimentResult, type ResultRow } from './report.ts';
import { toNdjson } from '../adapters/sim/simulation.ts';

export interface RunOptions {
  seed: number;
  runs: number;
  /** Where the experiment may write extra files (traces). */
  outDir: string;
}

export interface Experiment {
  id: string;
  title: string;
  defaultRuns: number;
  run(opts: RunOptions): ExperimentResult & { traces?: Record<string, string> };
}

const here = dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = join(here, 'scenarios');

/** Collects metric samples keyed by case/server/metric across runs. */
export class Samples {
  private readonly m = new Map<string, { case: string; server?: string; metric: string; xs: number[] }>();
  add(c: string, server: string | undefined, metric: string, x: number | null | undefined): void {
    if (x === null || x === undefined || !Number.isFinite(x)) return;
    const key = `${c}\u0000${server ?? ''}\u0000${metric}`;
    let e = this.m.get(key);
    if (!e) {
      e = { case: c, server, metric, xs: [] };
      this.m.set(key, e);
    }
    e.xs.push(x);
  }
  rows(ref: (c: string, server: string | undefined, metric: string) => { paper?: number | null; analytical?: number | null } = () => ({})): ResultRow[] {
    return [...this.m.values()].map((e) => {
      const s = summarize(e.xs);
      const r = ref(e.case, e.server, e.metric);
      return { case: e.case, ...(e.server ? { server: e.server } : {}), metric: e.metric, value: s.mean, ci95: s.ci95, paper: r.paper ?? null, analytical: r.analytical ?? null, n: s.n };
    });
  }
}

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

export const EXPERIMENTS: Experiment[] = [demo];

export function findExperiment(id: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.id === id);
}
