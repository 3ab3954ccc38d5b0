// Parameter sweeps: a base scenario file, parameter paths with value lists (a grid) or
// distributions (a random sample), replications per point and the metrics to collect.
//
//   name: demo-interval
//   scenario: ../experiments/scenarios/demo.yaml   # relative to the spec file
//   seed: 1                  # replication r of every point uses seed + r
//   runs: 5                  # replications per point
//   mode: grid               # or random: `samples` points drawn from the stream `sampleSeed`
//   parameters:
//     - { path: policies.0.interval, values: [2s, 5s, 10s] }
//     - { path: hosts.web1.bootS, name: boot, values: [30, 60] }   # a name selects a list item
//     # random mode: - { path: vms.web1b.resumeS, dist: { kind: uniform, min: 2, max: 8 } }
//   metrics: [functionRecoveryS, clientDisconnectionS]              # default: all
//
// A sweep is cut into tasks, one simulation each (a point's scenario as YAML text, a seed):
// plain data that runs in this thread, on worker threads (`--jobs`) or on other machines
// (`--queue`, run/worker.ts). Results are gathered by (point, replication) and summarised in that
// order, so where and in which order tasks ran does not change a byte of the output.
import { isAbsolute, join, dirname, relative } from 'node:path';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { parseYamlWith, readTextFile, ScenarioError } from '../sim/scenario/load.ts';
import { RngStreams } from '../sim/kernel/rng.ts';
import { sample as drawDist } from '../sim/kernel/distributions.ts';
import { parseDurationUs } from '../sim/kernel/time.ts';
import { availability, disconnections, energyWh, recoveries } from '../trace/metrics.ts';
import { buildSimulation, parseScenario } from './sim.ts';

// ---------------------------------------------------------------------------------------------
// The spec

/** What a run can be measured by; each gives samples per server (target, VIP, client or all). */
export const METRICS = {
  detectionS: 'fault -> trouble detected, per target',
  functionRecoveryS: 'detection -> function recovered by the backup, per target',
  targetRecoveryS: 'detection -> target back in service, per target',
  faultToFunctionS: 'fault -> function recovered, per target',
  faultToTargetS: 'fault -> target back, per target',
  clientDisconnectionS: 'a client\'s disconnection (first XX to first OK), per VIP',
  availabilityPct: 'share of the run a client is served, per client',
  energyWh: 'energy of all hosts over the run',
} as const;
export type MetricName = keyof typeof METRICS;
const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

const num = z.number().finite();
const distSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('uniform'), min: num, max: num }).strict(),
  z.object({ kind: z.literal('loguniform'), min: num.positive(), max: num.positive() }).strict(),
  z.object({ kind: z.literal('normal'), mean: num, sd: num.nonnegative(), min: num.optional(), max: num.optional() }).strict(),
  z.object({ kind: z.literal('exponential'), mean: num.positive() }).strict(),
  z.object({ kind: z.literal('lognormal'), mu: num, sigma: num.nonnegative() }).strict(),
]).superRefine((d, ctx) => {
  if ((d.kind === 'uniform' || d.kind === 'loguniform') && d.max < d.min) ctx.addIssue({ code: 'custom', message: `${d.kind}: max must be >= min`, path: ['max'] });
});
export type SweepDist = z.infer<typeof distSpec>;

const PATH_RE = /^[A-Za-z0-9_.-]+$/;
const value = z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown()), z.array(z.unknown())]);

const paramSchema = z.object({
  path: z.string().regex(PATH_RE, 'a dot path into the scenario, e.g. policies.0.interval or hosts.web1.bootS'),
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, 'a name: a letter, then letters, digits, "_", "." or "-"').optional(),
  values: z.array(value).min(1).optional(),
  dist: distSpec.optional(),
  /** Random mode: round drawn values to this many decimals. */
  round: z.number().int().min(0).max(12).optional(),
}).strict().superRefine((p, ctx) => {
  if ((p.values === undefined) === (p.dist === undefined)) ctx.addIssue({ code: 'custom', message: 'give either values (a list) or dist (a distribution)' });
});

const specSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, 'a name for the output files: a letter, then letters, digits, "_", "." or "-"'),
  title: z.string().optional(),
  scenario: z.string().min(1),
  seed: z.number().int().default(1),
  runs: z.number().int().min(1).max(100_000).default(1),
  mode: z.enum(['grid', 'random']).default('grid'),
  samples: z.number().int().min(1).max(1_000_000).optional(),
  sampleSeed: z.number().int().optional(),
  parameters: z.array(paramSchema).min(1),
  metrics: z.array(z.enum(METRIC_NAMES as [MetricName, ...MetricName[]])).min(1).optional(),
}).strict().superRefine((s, ctx) => {
  if (s.mode === 'grid') {
    s.parameters.forEach((p, i) => {
      if (p.dist) ctx.addIssue({ code: 'custom', message: 'a grid takes values, not a distribution (mode: random draws from distributions)', path: ['parameters', i, 'dist'] });
    });
    if (s.samples !== undefined) ctx.addIssue({ code: 'custom', message: 'samples is for mode: random', path: ['samples'] });
  } else if (s.samples === undefined) ctx.addIssue({ code: 'custom', message: 'mode: random needs samples (how many points to draw)', path: ['samples'] });
  const names = s.parameters.map((p) => p.name ?? p.path);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', message: `two parameters are called "${n}" (give one a name)`, path: ['parameters', i] });
  });
});

export interface SweepParam {
  path: string;
  name: string;
  values?: unknown[];
  dist?: SweepDist;
  round?: number;
}

export interface SweepSpec {
  name: string;
  title: string;
  /** The base scenario as written in the spec, and resolved. */
  scenario: string;
  scenarioPath: string;
  seed: number;
  runs: number;
  mode: 'grid' | 'random';
  samples?: number;
  sampleSeed?: number;
  parameters: SweepParam[];
  metrics: MetricName[];
  /** The spec file (for messages). */
  file: string;
}

/** Parses a spec's text; `file` names it in messages and anchors the scenario path. */
export function parseSweepSpec(text: string, file: string): SweepSpec {
  const s = parseYamlWith(specSchema, text, file);
  return {
    name: s.name,
    title: s.title ?? `Sweep ${s.name}`,
    scenario: s.scenario,
    scenarioPath: isAbsolute(s.scenario) ? s.scenario : join(dirname(file), s.scenario),
    seed: s.seed,
    runs: s.runs,
    mode: s.mode,
    ...(s.samples !== undefined ? { samples: s.samples } : {}),
    ...(s.mode === 'random' ? { sampleSeed: s.sampleSeed ?? s.seed } : {}),
    parameters: s.parameters.map((p) => ({ path: p.path, name: p.name ?? p.path, ...(p.values ? { values: p.values } : {}), ...(p.dist ? { dist: p.dist } : {}), ...(p.round !== undefined ? { round: p.round } : {}) })),
    metrics: s.metrics ?? METRIC_NAMES,
    file,
  };
}

export function readSweepSpec(path: string): SweepSpec {
  return parseSweepSpec(readTextFile(path), path);
}

// ---------------------------------------------------------------------------------------------
// Points and tasks

export interface SweepPoint {
  index: number;
  /** Parameter name -> value, in the spec's order. */
  params: Record<string, unknown>;
}

/**
 * The points of a sweep: a grid is the cartesian product of the value lists (the first parameter
 * varies slowest); a random sample draws each parameter from its own stream
 * (`sweep/<name>` of sampleSeed), so adding a parameter does not change the others' draws.
 */
export function sweepPoints(spec: SweepSpec): SweepPoint[] {
  const names = spec.parameters.map((p) => p.name);
  if (spec.mode === 'grid') {
    let combos: unknown[][] = [[]];
    for (const p of spec.parameters) combos = combos.flatMap((c) => p.values!.map((v) => [...c, v]));
    if (combos.length > 1_000_000) throw new Error(`${spec.file}: the grid has ${combos.length} points, more than 1000000`);
    return combos.map((c, index) => ({ index, params: Object.fromEntries(c.map((v, i) => [names[i], v])) }));
  }
  const rng = new RngStreams(spec.sampleSeed ?? spec.seed);
  const columns = spec.parameters.map((p) => {
    const s = rng.stream(`sweep/${p.name}`);
    return Array.from({ length: spec.samples! }, () => {
      if (p.values) return p.values[Math.floor(s.next() * p.values.length)];
      const d = p.dist!;
      const x = d.kind === 'loguniform' ? Math.exp(Math.log(d.min) + (Math.log(d.max) - Math.log(d.min)) * s.next()) : drawDist(d, s);
      return p.round === undefined ? x : Number(x.toFixed(p.round));
    });
  });
  return Array.from({ length: spec.samples! }, (_, index) => ({ index, params: Object.fromEntries(names.map((n, i) => [n, columns[i][index]])) }));
}

/** A point's parameters as one short label: `interval=5s, boot=30`. */
export function pointLabel(p: SweepPoint): string {
  return Object.entries(p.params).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', ');
}

function fmtValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Resolves a dot path against the scenario document: a name segment selects the list item with that name. */
function resolvePath(doc: Document, path: string, where: string): Array<string | number> {
  const out: Array<string | number> = [];
  let node: unknown = doc.contents;
  for (const seg of path.split('.')) {
    if (seg === '') throw new Error(`${where}: empty segment in path "${path}"`);
    if (isSeq(node)) {
      let i: number;
      if (/^\d+$/.test(seg)) {
        i = Number(seg);
        if (i >= node.items.length) throw new Error(`${where}: ${path}: ${out.join('.') || 'the scenario'} has ${node.items.length} items, no item ${i}`);
      } else {
        i = node.items.findIndex((it) => isMap(it) && it.get('name') === seg);
        if (i < 0) {
          const names = node.items.map((it) => (isMap(it) ? it.get('name') : undefined)).filter((x) => typeof x === 'string');
          throw new Error(`${where}: ${path}: no item of ${out.join('.')} is named "${seg}" (names: ${names.join(', ') || 'none'})`);
        }
      }
      out.push(i);
      node = node.items[i];
    } else {
      out.push(seg);
      node = isMap(node) ? node.get(seg, true) : undefined;
    }
  }
  return out;
}

/** The base scenario's text with a point's values set (comments and layout kept). */
export function pointScenario(spec: SweepSpec, baseText: string, point: SweepPoint): string {
  const doc = parseDocument(baseText);
  if (doc.errors.length) throw new ScenarioError([{ file: spec.scenarioPath, line: 1, column: 1, field: '', message: `YAML: ${doc.errors[0].message.split('\n')[0]}` }]);
  for (const p of spec.parameters) doc.setIn(resolvePath(doc, p.path, `${spec.file}: parameter ${p.name}`), point.params[p.name]);
  return doc.toString();
}

/** One simulation of a sweep: plain data (it crosses threads and machines). */
export interface SweepTask {
  point: number;
  rep: number;
  seed: number;
  /** The point's scenario (YAML). */
  scenario: string;
  /** Names it in messages. */
  file: string;
  metrics: MetricName[];
}

/** A task's samples: [metric, server, value], in the order taken (finite values only). */
export interface SweepTaskResult {
  point: number;
  rep: number;
  samples: Array<[MetricName, string, number]>;
}

export interface SweepPlan {
  spec: SweepSpec;
  points: SweepPoint[];
  tasks: SweepTask[];
}

/**
 * Points and tasks of a spec; every point's scenario is parsed here, so that a bad value is
 * reported (file:line of the point's scenario, named by the point) before anything runs.
 */
export function planSweep(spec: SweepSpec, baseText = readTextFile(spec.scenarioPath)): SweepPlan {
  const points = sweepPoints(spec);
  const tasks: SweepTask[] = [];
  const base = relative(process.cwd(), spec.scenarioPath) || spec.scenarioPath;
  for (const point of points) {
    const text = pointScenario(spec, baseText, point);
    const file = `${base} [${spec.name} point ${point.index}: ${pointLabel(point)}]`;
    parseScenario(text, file);
    for (let rep = 0; rep < spec.runs; rep++) tasks.push({ point: point.index, rep, seed: spec.seed + rep, scenario: text, file, metrics: spec.metrics });
  }
  return { spec, points, tasks };
}

/** Runs one task (worker-thread and queue-worker entry). */
export function runSweepTask(t: SweepTask): SweepTaskResult {
  const sim = buildSimulation(parseScenario(t.scenario, t.file), { seed: t.seed });
  sim.run();
  const ev = sim.events;
  const end = sim.kernel.nowUs();
  const want = new Set(t.metrics);
  const out: Array<[MetricName, string, number]> = [];
  const add = (m: MetricName, server: string, x: number | null | undefined) => {
    if (want.has(m) && x !== null && x !== undefined && Number.isFinite(x)) out.push([m, server, x]);
  };
  for (const r of recoveries(ev)) {
    add('detectionS', r.target, r.faultUs === null ? null : (r.detectedUs - r.faultUs) / 1e6);
    add('functionRecoveryS', r.target, r.functionRecoveryS);
    add('targetRecoveryS', r.target, r.targetRecoveryS);
    add('faultToFunctionS', r.target, r.faultToFunctionS);
    add('faultToTargetS', r.target, r.faultToTargetS);
  }
  for (const d of disconnections(ev)) add('clientDisconnectionS', d.vip, d.durationS);
  if (want.has('availabilityPct')) for (const [client, a] of Object.entries(availability(ev, end))) add('availabilityPct', client, 100 * a);
  if (want.has('energyWh')) add('energyWh', 'all', energyWh(ev, end).total);
  return { point: t.point, rep: t.rep, samples: out };
}

// ---------------------------------------------------------------------------------------------
// Results

export interface SweepRow {
  point: number;
  params: Record<string, unknown>;
  metric: MetricName;
  server: string;
  value: number;
  ci95: [number, number];
  n: number;
  min: number;
  max: number;
}

export interface SweepResult {
  name: string;
  title: string;
  spec: {
    scenario: string;
    seed: number;
    runs: number;
    mode: 'grid' | 'random';
    samples?: number;
    sampleSeed?: number;
    parameters: Array<{ name: string; path: string; values?: unknown[]; dist?: SweepDist; round?: number }>;
    metrics: MetricName[];
  };
  points: SweepPoint[];
  rows: SweepRow[];
}

/** Mean and a 95 % confidence interval (Student t), as experiments/report.ts computes them. */
export function summarize(xs: number[]): { mean: number; ci95: [number, number]; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, ci95: [NaN, NaN], n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: [mean, mean], n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { mean, ci95: [mean - half, mean + half], n };
}

function tQuantile975(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086];
  if (df <= table.length) return table[df - 1];
  if (df <= 30) return 2.05;
  if (df <= 60) return 2.01;
  return 1.96;
}

/** Summarises the tasks' results; `results` may come in any order (they are sorted by point and replication). */
export function aggregateSweep(plan: SweepPlan, results: readonly SweepTaskResult[]): SweepResult {
  const { spec, points } = plan;
  if (results.length !== plan.tasks.length) throw new Error(`sweep ${spec.name}: ${results.length} results for ${plan.tasks.length} tasks`);
  const sorted = [...results].sort((a, b) => a.point - b.point || a.rep - b.rep);
  const rows: SweepRow[] = [];
  let k = 0;
  for (const point of points) {
    // (metric, server) in the order of first appearance over the replications.
    const groups = new Map<string, { metric: MetricName; server: string; xs: number[] }>();
    for (; k < sorted.length && sorted[k].point === point.index; k++) {
      for (const [metric, server, x] of sorted[k].samples) {
        const key = `${metric}\u0000${server}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { metric, server, xs: [] }));
        g.xs.push(x);
      }
    }
    // Rows of a point: by the spec's metric order, then first appearance.
    for (const m of spec.metrics) {
      for (const g of groups.values()) {
        if (g.metric !== m) continue;
        const s = summarize(g.xs);
        let min = Infinity;
        let max = -Infinity;
        for (const x of g.xs) {
          if (x < min) min = x;
          if (x > max) max = x;
        }
        rows.push({ point: point.index, params: point.params, metric: m, server: g.server, value: s.mean, ci95: s.ci95, n: s.n, min, max });
      }
    }
  }
  return {
    name: spec.name,
    title: spec.title,
    spec: {
      scenario: spec.scenario,
      seed: spec.seed,
      runs: spec.runs,
      mode: spec.mode,
      ...(spec.samples !== undefined ? { samples: spec.samples } : {}),
      ...(spec.sampleSeed !== undefined ? { sampleSeed: spec.sampleSeed } : {}),
      parameters: spec.parameters.map((p) => ({ name: p.name, path: p.path, ...(p.values ? { values: p.values } : {}), ...(p.dist ? { dist: p.dist } : {}), ...(p.round !== undefined ? { round: p.round } : {}) })),
      metrics: spec.metrics,
    },
    points,
    rows,
  };
}

const round = (x: number, d = 4) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export function sweepCsv(r: SweepResult): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const names = r.spec.parameters.map((p) => p.name);
  const lines = [['point', ...names, 'metric', 'server', 'value', 'ci95_lo', 'ci95_hi', 'n', 'min', 'max'].map(esc).join(',')];
  for (const row of r.rows) {
    lines.push([String(row.point), ...names.map((n) => esc(fmtValue(row.params[n]))), row.metric, esc(row.server), round(row.value), round(row.ci95[0]), round(row.ci95[1]), row.n, round(row.min), round(row.max)].join(','));
  }
  return lines.join('\n') + '\n';
}

export function sweepMarkdown(r: SweepResult): string {
  const names = r.spec.parameters.map((p) => p.name);
  const f = (x: number) => (Number.isFinite(x) ? round(x, 3).toFixed(3) : '—');
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const what = r.spec.mode === 'grid'
    ? `grid of ${r.points.length} points`
    : `${r.points.length} points drawn at random (sample seed ${r.spec.sampleSeed})`;
  const out = [
    `# ${r.title}`,
    '',
    `Scenario \`${r.spec.scenario}\`, ${what}, ${r.spec.runs} run(s) per point (seeds ${r.spec.seed}..${r.spec.seed + r.spec.runs - 1}).`,
    '',
    `| point | ${names.map(cell).join(' | ')} | metric | server | mean | 95% CI | n | min | max |`,
    `|---:|${names.map(() => '---').join('|')}|---|---|---:|---|---:|---:|---:|`,
  ];
  for (const row of r.rows) {
    out.push(`| ${row.point} | ${names.map((n) => cell(fmtValue(row.params[n]))).join(' | ')} | ${row.metric} | ${cell(row.server)} | ${f(row.value)} | ${f(row.ci95[0])}–${f(row.ci95[1])} | ${row.n} | ${f(row.min)} | ${f(row.max)} |`);
  }
  out.push('', `Parameters: ${r.spec.parameters.map((p) => `\`${p.name}\` = ${p.path}`).join('; ')}.`, '');
  return out.join('\n');
}

const xmlEsc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#4a7bd0', '#e0662d', '#2a9d3a', '#9b4dca', '#c9a227', '#d04a7b', '#3aa6a6', '#777777'];

/** A number for the x axis: numbers, and durations like "10s" (seconds); otherwise null. */
function xNumber(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    try {
      return parseDurationUs(v) / 1e6;
    } catch {
      return null;
    }
  }
  return null;
}

/** About five round tick values over [lo, hi]. */
function niceTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * One panel per metric: the mean (95 % CI bars) against the first parameter (a numeric axis when
 * its values are numbers or durations, else one slot per value); one series per server and
 * combination of the other parameters, joined by lines in a grid, dots in a random sample.
 */
export function sweepSvg(r: SweepResult): string {
  const xName = r.spec.parameters[0].name;
  // Series: per server and value of the other listed parameters (drawn ones only vary the x).
  const others = r.spec.parameters.slice(1).filter((p) => p.values !== undefined).map((p) => p.name);
  const metrics = r.spec.metrics.filter((m) => r.rows.some((row) => row.metric === m));
  const xs = r.points.map((p) => xNumber(p.params[xName]));
  const numeric = xs.every((x) => x !== null);
  const cats = [...new Set(r.points.map((p) => fmtValue(p.params[xName])))];
  const xOf = (p: Record<string, unknown>) => (numeric ? xNumber(p[xName])! : cats.indexOf(fmtValue(p[xName])));
  const xMin = numeric ? Math.min(...(xs as number[])) : 0;
  const xMax = numeric ? Math.max(...(xs as number[])) : Math.max(1, cats.length - 1);
  const width = 900;
  const panelH = 240;
  const left = 80;
  const plotW = 560;
  const legendX = left + plotW + 20;
  const height = 40 + metrics.length * (panelH + 30) + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${xmlEsc(r.title)}</text>`,
  ];
  metrics.forEach((m, mi) => {
    const top = 50 + mi * (panelH + 30);
    const plotH = panelH - 60;
    const rows = r.rows.filter((row) => row.metric === m);
    const lo = Math.min(0, ...rows.map((row) => (Number.isFinite(row.ci95[0]) ? row.ci95[0] : row.value)));
    const top0 = Math.max(1e-9, ...rows.map((row) => (Number.isFinite(row.ci95[1]) ? row.ci95[1] : row.value)));
    let yTicks = niceTicks(lo, top0);
    const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : top0 - lo;
    if (yTicks[yTicks.length - 1] < top0) yTicks = [...yTicks, Number((yTicks[yTicks.length - 1] + yStep).toPrecision(12))];
    const hi = yTicks[yTicks.length - 1];
    const sx = (x: number) => left + (xMax === xMin ? plotW / 2 : (plotW * (x - xMin)) / (xMax - xMin));
    const sy = (y: number) => top + plotH - (plotH * (y - lo)) / (hi - lo);
    parts.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${xmlEsc(m)}</text>`);
    parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#999"/>`, `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>`);
    for (const y of yTicks) {
      parts.push(`<line x1="${left}" y1="${sy(y)}" x2="${left + plotW}" y2="${sy(y)}" stroke="#eee"/>`, `<text x="${left - 6}" y="${sy(y) + 4}" text-anchor="end">${round(y, 2)}</text>`);
    }
    const distinct = numeric ? [...new Set(xs as number[])].sort((a, b) => a - b) : cats.map((_, i) => i);
    const shown = numeric && distinct.length > 8 ? niceTicks(xMin, xMax) : distinct.length > 12 ? distinct.filter((_, i) => i % Math.ceil(distinct.length / 12) === 0) : distinct;
    for (const t of shown) parts.push(`<text x="${sx(t)}" y="${top + plotH + 16}" text-anchor="middle">${xmlEsc(numeric ? String(round(t, 3)) : cats[t])}</text>`);
    parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle">${xmlEsc(xName)}${numeric && r.points.some((p) => typeof p.params[xName] === 'string') ? ' (s)' : ''}</text>`);
    const series = new Map<string, SweepRow[]>();
    for (const row of rows) {
      const key = [row.server, ...others.map((n) => `${n}=${fmtValue(row.params[n])}`)].join(', ');
      const list = series.get(key) ?? [];
      list.push(row);
      series.set(key, list);
    }
    [...series.entries()].slice(0, 16).forEach(([key, list], si) => {
      const color = COLORS[si % COLORS.length];
      const pts = list.map((row) => ({ x: sx(xOf(row.params)), row })).sort((a, b) => a.x - b.x);
      if (r.spec.mode === 'grid' && pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map((p) => `${p.x.toFixed(1)},${sy(p.row.value).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) {
        if (Number.isFinite(p.row.ci95[0]) && p.row.ci95[1] > p.row.ci95[0]) parts.push(`<line x1="${p.x.toFixed(1)}" y1="${sy(p.row.ci95[0]).toFixed(1)}" x2="${p.x.toFixed(1)}" y2="${sy(p.row.ci95[1]).toFixed(1)}" stroke="${color}"/>`);
        parts.push(`<circle cx="${p.x.toFixed(1)}" cy="${sy(p.row.value).toFixed(1)}" r="3" fill="${color}"/>`);
      }
      parts.push(`<rect x="${legendX}" y="${top + si * 16}" width="10" height="10" fill="${color}"/><text x="${legendX + 14}" y="${top + si * 16 + 9}">${xmlEsc(key.length > 34 ? `${key.slice(0, 33)}…` : key)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Writes DIR/<name>.json, .csv, .md and .svg (each through a temporary file); returns the paths. */
export function writeSweep(r: SweepResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, r.name);
  const files: Array<[string, string]> = [
    [`${base}.json`, JSON.stringify(r, null, 2) + '\n'],
    [`${base}.csv`, sweepCsv(r)],
    [`${base}.md`, sweepMarkdown(r)],
    [`${base}.svg`, sweepSvg(r)],
  ];
  for (const [p, t] of files) {
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, t);
    renameSync(tmp, p);
  }
  return files.map(([p]) => p);
}
