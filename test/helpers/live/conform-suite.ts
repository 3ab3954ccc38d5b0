// The conformance suite inside a lab test: each live scenario of the lab (experiments/
// conform-suite.ts's rule) through `conform --repeat N` once, its first live trace handed to the
// test that asserts on it, and every scenario of the lab no test asked for run at the end
// (rest()), so a new live scenario joins the suite by its file alone. Each scenario's result is
// written to out/conform-suite/suite-<name>.json (scripts/fidelity-table.ts collects them) and
// as a report (repeat-<name>.{json,csv,md,svg}).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../../../adapters/lab/schema.ts';
import { conform, type ConformRow } from '../../../run/calibrate.ts';
import { conformReport, repeatConform, type RepeatedConform } from '../../../experiments/conform.ts';
import { scenarioNameOf, suitePlan, type SuiteEntry } from '../../../experiments/conform-suite.ts';
import { writeReport } from '../../../experiments/report.ts';
import type { TraceLine } from '../../../trace/metrics.ts';

export const SUITE_DIR = join(REPO_DIR, 'out/conform-suite');
/** N of the suite: 2 in CI (HATWIN_CONFORM_REPEAT=N for more). */
export const SUITE_REPEAT = Number(process.env.HATWIN_CONFORM_REPEAT ?? 2);

export interface SuiteResult {
  /** The first live run's trace. */
  live: TraceLine[];
  /** The first run's rows (live and sim). */
  rows: ConformRow[];
  rep: RepeatedConform;
  entry: SuiteEntry;
}

const loadavg = (): [number, number, number] => readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).slice(0, 3).map(Number) as [number, number, number];

export class ConformSuite {
  private readonly results = new Map<string, Promise<SuiteResult>>();
  readonly files: string[];

  /**
   * `labFile`: the lab to run on (a test's copy); `planLab`: the lab file in experiments/labs
   * whose live scenarios are the suite's (the rule reads the repository's labs); `repeat`: N for
   * this lab when it is not SUITE_REPEAT (a lab whose runs take minutes each).
   */
  constructor(private readonly o: { labFile: string; planLab: string; outDir: string; paramsFile?: string; source: string; log?: (m: string) => void; repeat?: number }) {
    this.files = suitePlan(REPO_DIR).get(o.planLab) ?? [];
    if (this.files.length === 0) throw new Error(`no live scenario runs on ${o.planLab}`);
  }

  /** The scenario `name` (live-p2p-nt2), conformed once per suite. */
  run(name: string): Promise<SuiteResult> {
    const file = this.files.find((f) => scenarioNameOf(f) === name);
    if (!file) throw new Error(`${name} is not a live scenario of ${this.o.planLab} (its scenarios: ${this.files.map(scenarioNameOf).join(', ')})`);
    let r = this.results.get(file);
    if (!r) {
      r = this.conformOne(file);
      this.results.set(file, r);
    }
    return r;
  }

  /** Every scenario of the lab not run yet, then all of them. */
  async rest(): Promise<SuiteResult[]> {
    const out: SuiteResult[] = [];
    for (const f of this.files) out.push(await this.run(scenarioNameOf(f)));
    return out;
  }

  private async conformOne(file: string): Promise<SuiteResult> {
    const t0 = performance.now();
    const r = await conform({ scenarioFile: join(REPO_DIR, file), labFile: this.o.labFile, outDir: this.o.outDir, paramsFile: this.o.paramsFile, repeat: this.o.repeat ?? SUITE_REPEAT, log: this.o.log });
    const rep = repeatConform(r.runs.name, r.runs.lab, r.runs.live, r.runs.sim);
    const entry: SuiteEntry = { ...rep, lab: scenarioNameOf(this.o.planLab), file, wallS: Math.round((performance.now() - t0) / 100) / 10, load: loadavg() };
    mkdirSync(SUITE_DIR, { recursive: true });
    writeFileSync(join(SUITE_DIR, `suite-${rep.scenario}.json`), `${JSON.stringify({ source: this.o.source, entry }, null, 2)}\n`);
    writeReport({ ...conformReport(rep), id: `repeat-${rep.scenario}` }, SUITE_DIR);
    this.o.log?.(`suite: ${rep.scenario} fidelity ${JSON.stringify(rep.fidelity)} in ${entry.wallS} s at load ${entry.load.join(' ')}`);
    return { live: r.live, rows: r.rows, rep, entry };
  }
}
