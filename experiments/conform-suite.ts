// The conformance suite: every live scenario (experiments/scenarios/live-*.yaml) on the lab it
// runs on, `conform --repeat N` each, one report. A scenario belongs to the lab whose hosts
// include every host it names (p2p-mini, lb-mini, and any lab added later with its live-*
// scenarios). The README's fidelity table is written from the suite's report file by
// scripts/fidelity-table.ts (between the markers below), never by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { loadLab, REPO_DIR } from '../adapters/lab/schema.ts';
import { join } from 'node:path';
import { readScenario } from '../run/sim.ts';
import { isTimed, type RepeatedConform } from './conform.ts';

export const SCENARIO_DIR = 'experiments/scenarios';
export const LAB_DIR = 'experiments/labs';
export const TABLE_START = '<!-- fidelity-table:start (scripts/fidelity-table.ts writes this; do not edit) -->';
export const TABLE_END = '<!-- fidelity-table:end -->';

/** One scenario's repeated conformance, as the suite keeps it. */
export interface SuiteEntry extends RepeatedConform {
  /** The scenario file, relative to the repository. */
  file: string;
  /** Wall seconds of its N live runs and N sim replications. */
  wallS: number;
  /** `uptime`'s load averages (1, 5, 15 min) when it ended: live timings depend on them. */
  load: [number, number, number];
}

export interface SuiteReport {
  /** What made it: the command or test and N. */
  source: string;
  entries: SuiteEntry[];
}

/** The live scenario files, sorted (relative to `root`). */
export function liveScenarioFiles(root: string): string[] {
  return readdirSync(join(root, SCENARIO_DIR)).filter((f) => /^live-.*\.ya?ml$/.test(f)).sort().map((f) => `${SCENARIO_DIR}/${f}`);
}

/** Host names of a lab file, or null when the file is not a lab (a settle request, say). */
function labHosts(root: string, labFile: string): string[] | null {
  try {
    return loadLab(join(root, labFile)).hosts.map((h) => h.name);
  } catch {
    return null;
  }
}

/** The lab files in LAB_DIR (files that load as labs), sorted. */
export function labFiles(root: string): string[] {
  return readdirSync(join(root, LAB_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `${LAB_DIR}/${f}`).filter((f) => labHosts(root, f) !== null);
}

/** The lab a live scenario runs on: the one whose hosts include all of the scenario's. */
export function labOfScenario(root: string, scenarioFile: string, labs = labFiles(root)): string {
  const hosts = readScenario(join(root, scenarioFile)).hosts.map((h) => h.name);
  const fits = labs.filter((l) => {
    const have = new Set(labHosts(root, l) ?? []);
    return hosts.every((h) => have.has(h));
  });
  if (fits.length !== 1) throw new Error(`${scenarioFile}: ${fits.length === 0 ? 'no lab' : `${fits.length} labs (${fits.join(', ')})`} in ${LAB_DIR} has every host it names (${hosts.join(', ')}); a live scenario runs on exactly one`);
  return fits[0];
}

/** Live scenarios by lab: { lab file: scenario files }. */
export function suitePlan(root: string): Map<string, string[]> {
  const labs = labFiles(root);
  const plan = new Map<string, string[]>();
  for (const s of liveScenarioFiles(root)) {
    const l = labOfScenario(root, s, labs);
    plan.set(l, [...(plan.get(l) ?? []), s]);
  }
  return plan;
}

/** The scenario name of a live scenario file (as conform names its outputs). */
export const scenarioNameOf = (file: string): string => file.replace(/^.*\//, '').replace(/\.ya?ml$/, '');

const fmt = (x: number | null, d = 3) => (x === null ? '—' : String(Math.round(x * 10 ** d) / 10 ** d));

/**
 * The README's fidelity table from a suite report: one line per scenario (score, metrics within
 * 10 %, its largest gap), then each timed metric's live and sim means with their error; live
 * scenarios the report lacks are listed as not run (so a new lab's scenarios show up at once).
 */
export function fidelityTable(r: SuiteReport, scenarioFiles: string[]): string {
  const byFile = new Map(r.entries.map((e) => [e.file, e]));
  const lines = [
    `Made by ${r.source}; per scenario: N live runs and N sim replications (calibrated), load average (1 min) when it ended.`,
    '',
    '| scenario | lab | N | load | timed metrics | fidelity score (mean \\|err\\| %) | within 10 % | largest gap |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const f of scenarioFiles) {
    const e = byFile.get(f);
    const name = scenarioNameOf(f);
    if (!e) {
      lines.push(`| ${name} | — | 0 | — | — | not run by the suite yet | — | — |`);
      continue;
    }
    const timed = e.rows.filter((x) => isTimed(x.metric) && x.errPct !== null);
    const worst = [...timed].sort((a, b) => Math.abs(b.errPct!) - Math.abs(a.errPct!))[0];
    lines.push(`| ${name} | ${e.lab} | ${e.repeat} | ${e.load[0]} | ${e.fidelity.timedMetrics} | ${fmt(e.fidelity.meanAbsErrPct, 1)} | ${e.fidelity.within10Pct} | ${worst ? `${worst.fault ? `${worst.fault}: ` : ''}${worst.metric} (${worst.server}) ${worst.errPct} %` : '—'} |`);
  }
  lines.push('', '| scenario | metric | server | live mean | live 95 % CI | sim mean | err % |', '|---|---|---|---:|---|---:|---:|');
  for (const f of scenarioFiles) {
    const e = byFile.get(f);
    if (!e) continue;
    for (const x of e.rows.filter((y) => isTimed(y.metric))) {
      const ci = x.liveCi95 ? `${fmt(x.liveCi95[0])}–${fmt(x.liveCi95[1])}` : '—';
      lines.push(`| ${scenarioNameOf(f)} | ${x.fault ? `${x.fault}: ` : ''}${x.metric} | ${x.server} | ${fmt(x.live)} | ${ci} | ${fmt(x.sim)} | ${fmt(x.errPct, 1)} |`);
    }
  }
  return lines.join('\n');
}

/** `text` with what lies between the table's markers replaced by `table` (both markers must be there, once). */
export function replaceTable(text: string, table: string): string {
  const a = text.indexOf(TABLE_START);
  const b = text.indexOf(TABLE_END);
  if (a < 0 || b < 0 || b < a || text.indexOf(TABLE_START, a + 1) >= 0 || text.indexOf(TABLE_END, b + 1) >= 0) throw new Error(`the fidelity table's markers (${TABLE_START} ... ${TABLE_END}) must each be there once, in that order`);
  return `${text.slice(0, a + TABLE_START.length)}\n${table}\n${text.slice(b)}`;
}

/** The table as it stands between the markers. */
export function tableIn(text: string): string {
  const a = text.indexOf(TABLE_START);
  const b = text.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error('no fidelity table markers');
  return text.slice(a + TABLE_START.length, b).replace(/^\n/, '').replace(/\n$/, '');
}

/** The suite's report the README's table is made from (committed). */
export const REPORT_FILE = join(REPO_DIR, 'docs/conform-suite.json');

/** The suite's results in `dir` as one report (entries in scenario-file order). */
export function collectSuite(dir: string): SuiteReport {
  const parts = readdirSync(dir).filter((f) => /^suite-.*\.json$/.test(f)).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { source: string; entry: SuiteEntry });
  if (parts.length === 0) throw new Error(`no suite results (suite-*.json) in ${dir}: run the live lab tests first`);
  const entries = parts.map((p) => p.entry).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { source: [...new Set(parts.map((p) => p.source))].join('; '), entries };
}

/** README.md's text with the table made from `report`. */
export function readmeWithTable(readme: string, report: SuiteReport): string {
  return replaceTable(readme, fidelityTable(report, liveScenarioFiles(REPO_DIR)));
}
