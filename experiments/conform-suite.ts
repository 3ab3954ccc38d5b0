// The conformance suite: every live scenario (experiments/scenarios/live-*.yaml) on the lab it
// runs on, `conform --repeat N` each, one report. A scenario belongs to the lab whose hosts
// include every host it names (p2p-mini, lb-mini, and any lab added later with its live-*
// scenarios). The README's fidelity table is written from the suite's report file by
// scripts/fidelity-table.ts (between the markers below), never by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadLab, REPO_DIR } from '../adapters/lab/schema.ts';
import { join } from 'node:path';
import { readScenario } from '../run/sim.ts';
import { isTimed, type RepeatedConform, type RepeatedRow } from './conform.ts';

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

/** A metric's label as the table shows it: the fault it belongs to (the load balancer's rows) first. */
export const rowLabel = (x: Pick<RepeatedRow, 'fault' | 'metric'>): string => `${x.fault ? `${x.fault}: ` : ''}${x.metric}`;

/**
 * A timed row of the suite's report outside 10 %, and what was measured about it
 * (experiments/fidelity-gaps.yaml): the issue's bar is every timed metric within 10 %, or the gap
 * explained by something measured. `cause` says what was measured (with its numbers); `see`,
 * where it is written up.
 */
export const gapSchema = z.object({
  scenario: z.string().regex(/^live-[\w-]+$/),
  row: z.string().min(1),
  server: z.string().min(1),
  cause: z.string().min(40).refine((c) => /\d/.test(c), 'a cause says what was measured: its numbers').refine((c) => !c.includes('|'), 'no "|" (the README\'s table cell)'),
  see: z.string().regex(/^docs\/[\w.-]+\.md\b/, 'where the measurement is written up: docs/FILE.md ...').refine((c) => !c.includes('|'), 'no "|" (the README\'s table cell)'),
}).strict();
export type Gap = z.infer<typeof gapSchema>;

/** The explained gaps file (committed beside the suite's plan). */
export const GAPS_FILE = join(REPO_DIR, 'experiments/fidelity-gaps.yaml');

/** The gaps of a YAML text: a list of gapSchema entries, each (scenario, row, server) once. */
export function parseGaps(text: string, file = GAPS_FILE): Gap[] {
  const r = z.array(gapSchema).safeParse(parseYaml(text) ?? []);
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${typeof i.path[0] === 'number' ? `entry ${i.path[0] + 1}` : 'the list'}${i.path.length > 1 ? ` ${i.path.slice(1).join('.')}` : ''}: ${i.message}`).join('; ')}`);
  const seen = new Set<string>();
  for (const g of r.data) {
    const k = `${g.scenario} | ${g.row} | ${g.server}`;
    if (seen.has(k)) throw new Error(`${file}: ${k} is there twice`);
    seen.add(k);
  }
  return r.data;
}

export interface OutsideRow {
  scenario: string;
  row: string;
  server: string;
  errPct: number;
  gap: Gap | null;
}

/**
 * The report's timed rows outside 10 % (as `within10Pct` counts them), each with its explanation
 * when `gaps` has one; and the gaps that name no such row (stale: the row is back within 10 %,
 * or gone).
 */
export function gapsOf(r: SuiteReport, gaps: readonly Gap[]): { outside: OutsideRow[]; stale: Gap[] } {
  const key = (scenario: string, row: string, server: string) => `${scenario} | ${row} | ${server}`;
  const byKey = new Map(gaps.map((g) => [key(g.scenario, g.row, g.server), g]));
  const outside: OutsideRow[] = [];
  for (const e of r.entries) {
    const scenario = scenarioNameOf(e.file);
    for (const x of e.rows) {
      if (!isTimed(x.metric) || x.errPct === null || Math.abs(x.errPct) <= 10) continue;
      outside.push({ scenario, row: rowLabel(x), server: x.server, errPct: x.errPct, gap: byKey.get(key(scenario, rowLabel(x), x.server)) ?? null });
    }
  }
  const used = new Set(outside.filter((o) => o.gap).map((o) => key(o.scenario, o.row, o.server)));
  return { outside, stale: gaps.filter((g) => !used.has(key(g.scenario, g.row, g.server))) };
}

/**
 * The README's fidelity table from a suite report: one line per scenario (score, metrics within
 * 10 %, its largest gap), then each timed metric's live and sim means with their error; live
 * scenarios the report lacks are listed as not run (so a new lab's scenarios show up at once).
 */
export function fidelityTable(r: SuiteReport, scenarioFiles: string[], gaps: readonly Gap[] = []): string {
  const byFile = new Map(r.entries.map((e) => [e.file, e]));
  const { outside } = gapsOf(r, gaps);
  const explained = (name: string) => outside.filter((o) => o.scenario === name && o.gap !== null).length;
  const lines = [
    `Made by ${r.source}; per scenario: N live runs and N sim replications (calibrated), load average (1 min) when it ended.`,
    '',
    '| scenario | lab | N | load | timed metrics | fidelity score (mean \\|err\\| %) | within 10 % | outside, explained | largest gap |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const f of scenarioFiles) {
    const e = byFile.get(f);
    const name = scenarioNameOf(f);
    if (!e) {
      lines.push(`| ${name} | — | 0 | — | — | not run by the suite yet | — | — | — |`);
      continue;
    }
    const timed = e.rows.filter((x) => isTimed(x.metric) && x.errPct !== null);
    const worst = [...timed].sort((a, b) => Math.abs(b.errPct!) - Math.abs(a.errPct!))[0];
    const out = e.fidelity.timedMetrics - e.fidelity.within10Pct;
    lines.push(`| ${name} | ${e.lab} | ${e.repeat} | ${e.load[0]} | ${e.fidelity.timedMetrics} | ${fmt(e.fidelity.meanAbsErrPct, 1)} | ${e.fidelity.within10Pct} | ${out === 0 ? '—' : `${explained(name)} of ${out}`} | ${worst ? `${rowLabel(worst)} (${worst.server}) ${worst.errPct} %` : '—'} |`);
  }
  lines.push('', '| scenario | metric | server | live mean | live 95 % CI | sim mean | err % |', '|---|---|---|---:|---|---:|---:|');
  for (const f of scenarioFiles) {
    const e = byFile.get(f);
    if (!e) continue;
    for (const x of e.rows.filter((y) => isTimed(y.metric))) {
      const ci = x.liveCi95 ? `${fmt(x.liveCi95[0])}–${fmt(x.liveCi95[1])}` : '—';
      lines.push(`| ${scenarioNameOf(f)} | ${rowLabel(x)} | ${x.server} | ${fmt(x.live)} | ${ci} | ${fmt(x.sim)} | ${fmt(x.errPct, 1)} |`);
    }
  }
  if (outside.length > 0) {
    lines.push('', 'The rows outside 10 %, and what was measured about each (experiments/fidelity-gaps.yaml):', '', '| scenario | metric | server | err % | measured |', '|---|---|---|---:|---|');
    for (const o of outside) lines.push(`| ${o.scenario} | ${o.row} | ${o.server} | ${fmt(o.errPct, 1)} | ${o.gap ? `${o.gap.cause} (${o.gap.see})` : 'not explained yet'} |`);
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
export function readmeWithTable(readme: string, report: SuiteReport, gaps: readonly Gap[] = parseGaps(readFileSync(GAPS_FILE, 'utf8'))): string {
  return replaceTable(readme, fidelityTable(report, liveScenarioFiles(REPO_DIR), gaps));
}
