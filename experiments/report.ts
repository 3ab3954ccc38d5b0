// Experiment results: one JSON schema, written as .json, .csv, .md and an .svg plot.
// Files are written to a temporary name and renamed, so an interrupted run leaves no half file.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ResultRow {
  case: string;
  server?: string;
  metric: string;
  value: number;
  ci95: [number, number];
  paper: number | null;
  analytical: number | null;
  n?: number;
}

export interface ExperimentResult {
  id: string;
  title: string;
  source: string;
  params: Record<string, unknown>;
  rows: ResultRow[];
  notes?: string[];
  /** The plot's legend, where the defaults (hatwin, paper, analytical) would mislead. */
  legend?: { value?: string; paper?: string; analytical?: string };
}

/** Bounds a metric's values cannot leave (durations, energy and availability are never negative). */
export interface Bounds {
  min?: number;
  max?: number;
}

/**
 * Mean and a 95% confidence interval (Student t) of a sample. With `bounds` (the metric cannot
 * leave them) and every sample inside them, the interval is clamped to them: a duration's interval
 * never reaches below 0 s, an availability's never above 100 %.
 */
export function summarize(xs: number[], bounds: Bounds = {}): { mean: number; ci95: [number, number]; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, ci95: [NaN, NaN], n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: [mean, mean], n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * sd / Math.sqrt(n);
  let lo = mean - half;
  let hi = mean + half;
  if (bounds.min !== undefined && xs.every((x) => x >= bounds.min!)) lo = Math.max(lo, bounds.min);
  if (bounds.max !== undefined && xs.every((x) => x <= bounds.max!)) hi = Math.min(hi, bounds.max);
  return { mean, ci95: [lo, hi], n };
}

/** The unit of a metric, from its name's suffix; a metric of no known unit is its own unit (its own axis). */
export function metricUnit(metric: string): string {
  if (/[a-z]S$/.test(metric)) return 's';
  if (/Pct$/.test(metric)) return '%';
  if (/Wh$/.test(metric)) return 'Wh';
  if (/[a-z]W$/.test(metric)) return 'W';
  if (/HoursPerYear$/.test(metric)) return 'h/year';
  if (/^days|Days$/.test(metric)) return 'days';
  if (/(Outages|Failovers)$/.test(metric)) return 'count';
  return metric;
}

const UNIT_LABEL: Record<string, string> = { s: 'seconds', '%': 'percent', Wh: 'energy, Wh', W: 'power, W', 'h/year': 'hours per year', days: 'days', count: 'count' };

/** What a metric cannot be below or above, by its unit: durations, energy, power are >= 0; a percentage (availability, a share of runs) is 0..100 %. */
export function metricBounds(metric: string): Bounds {
  if (/Pct$/.test(metric)) return { min: 0, max: 100 };
  return ['s', 'Wh', 'W', 'h/year', 'days', 'count'].includes(metricUnit(metric)) ? { min: 0 } : {};
}

/** A report's notes ending with CI_NOTE (once). */
const withCiNote = (notes: readonly string[] = []): string[] => [...notes.filter((n) => n !== CI_NOTE), CI_NOTE];

/** The report note that says how the intervals are computed. */
export const CI_NOTE = '95% CI: Student t on the mean of the replications; for a metric that cannot be negative (seconds, Wh, W, hours, days, outage and failover counts) it is clamped at 0, and an availability at 100 %, when every sample respects the bound (a t interval is symmetric and knows no bounds).';

function tQuantile975(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086];
  if (df <= table.length) return table[df - 1];
  if (df <= 30) return 2.05;
  if (df <= 60) return 2.01;
  return 1.96;
}

const round = (x: number, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export function toCsv(r: ExperimentResult): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['case,server,metric,value,ci95_lo,ci95_hi,paper,analytical,n'];
  for (const row of r.rows) {
    lines.push([esc(row.case), esc(row.server ?? ''), row.metric, round(row.value), round(row.ci95[0]), round(row.ci95[1]), row.paper ?? '', row.analytical ?? '', row.n ?? ''].join(','));
  }
  return lines.join('\n') + '\n';
}

export function toMarkdown(r: ExperimentResult): string {
  const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? '—' : round(x, 2).toFixed(2));
  const out = [`# ${r.title}`, '', `Source: ${r.source}`, '', '| case | server | metric | value | 95% CI | paper | analytical | err vs paper |', '|---|---|---|---:|---|---:|---:|---:|'];
  for (const row of r.rows) {
    const err = row.paper !== null && row.paper !== 0 ? `${round((100 * (row.value - row.paper)) / row.paper, 1)}%` : '—';
    out.push(`| ${row.case} | ${row.server ?? ''} | ${row.metric} | ${fmt(row.value)} | ${fmt(row.ci95[0])}–${fmt(row.ci95[1])} | ${fmt(row.paper)} | ${fmt(row.analytical)} | ${err} |`);
  }
  out.push('', ...withCiNote(r.notes).map((n) => `- ${n}`));
  out.push('', `Parameters: \`${JSON.stringify(r.params)}\``, '');
  return out.join('\n');
}

const xmlEsc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" tick step (1, 2 or 5 times a power of ten) for about `n` ticks over `range`. */
function tickStep(range: number, n = 5): number {
  const raw = range / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/**
 * Horizontal bars (value with its 95% CI), a diamond at the paper's value, a ring at the analytical
 * one: one panel per unit (seconds, %, Wh, ...), each with its own axis from 0 (or below, for a
 * negative value) to past the largest value, interval or reference, so nothing leaves its axis.
 */
export function toSvg(r: ExperimentResult): string {
  const rowH = 22;
  const label = (row: ResultRow) => `${row.case}${row.server ? ` ${row.server}` : ''} ${row.metric}`;
  // Labels are right-aligned before the axis: room for the longest (about 6.7 px a character at 12 px).
  const left = Math.max(200, Math.ceil(Math.max(0, ...r.rows.map((row) => label(row).length)) * 6.7) + 16);
  const plotW = 600;
  const width = Math.max(left + plotW + 40, Math.ceil(r.title.length * 8.6) + 40);
  const panelGap = 48;
  const units: string[] = [];
  const byUnit = new Map<string, ResultRow[]>();
  for (const row of r.rows) {
    const u = metricUnit(row.metric);
    if (!byUnit.has(u)) {
      byUnit.set(u, []);
      units.push(u);
    }
    byUnit.get(u)!.push(row);
  }
  const top0 = 50;
  const height = top0 + units.reduce((h, u) => h + 22 + byUnit.get(u)!.length * rowH + panelGap, 0) + 4;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${xmlEsc(r.title)}</text>`,
  ];
  let y0 = top0;
  for (const u of units) {
    const rows = byUnit.get(u)!;
    const vals = rows.flatMap((x) => [x.value, x.ci95[0], x.ci95[1], x.paper ?? NaN, x.analytical ?? NaN]).filter(Number.isFinite);
    const lo0 = Math.min(0, ...vals);
    const hi0 = Math.max(0, ...vals);
    const step = tickStep(hi0 - lo0 || 1);
    const lo = Math.floor(lo0 / step) * step;
    const hi = Math.max(Math.ceil(hi0 / step) * step, lo + step);
    const sx = (v: number) => round(left + (plotW * (v - lo)) / (hi - lo), 2);
    const title = UNIT_LABEL[u] ?? u;
    parts.push(`<text x="${left}" y="${y0 + 12}" font-weight="bold">${xmlEsc(title)}</text>`);
    const top = y0 + 22;
    const bottom = top + rows.length * rowH;
    const digits = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
    for (let v = lo; v <= hi + step / 2; v += step) {
      const x = sx(v);
      parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="${Math.abs(v) < step / 2 ? '#888' : '#ddd'}"/>`, `<text x="${x}" y="${bottom + 14}" text-anchor="middle">${(Math.abs(v) < step / 2 ? 0 : v).toFixed(digits)}</text>`);
    }
    rows.forEach((row, i) => {
      const y = top + i * rowH;
      parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${xmlEsc(label(row))}</text>`);
      if (Number.isFinite(row.value)) {
        const a = sx(Math.min(0, row.value));
        const b = sx(Math.max(0, row.value));
        parts.push(`<rect x="${a}" y="${y + 4}" width="${round(b - a, 2)}" height="${rowH - 8}" fill="#4a7bd0"/>`);
      }
      if (Number.isFinite(row.ci95[0]) && row.ci95[1] > row.ci95[0]) {
        const [a, b] = [sx(row.ci95[0]), sx(row.ci95[1])];
        parts.push(`<path d="M${a} ${y + 7} V${y + 15} M${a} ${y + 11} H${b} M${b} ${y + 7} V${y + 15}" stroke="black" stroke-width="1.5" fill="none"/>`);
      }
      if (row.paper !== null && Number.isFinite(row.paper)) {
        const x = sx(row.paper);
        parts.push(`<path d="M${x} ${y + 4} L${x + 5} ${y + 11} L${x} ${y + 18} L${x - 5} ${y + 11} Z" fill="#e0662d"/>`);
      }
      if (row.analytical !== null && Number.isFinite(row.analytical)) parts.push(`<circle cx="${sx(row.analytical)}" cy="${y + 11}" r="4" fill="none" stroke="#2a9d3a" stroke-width="2"/>`);
    });
    y0 = bottom + panelGap;
  }
  const ly = 38;
  parts.push(
    `<rect x="${left}" y="${ly - 9}" width="14" height="10" fill="#4a7bd0"/><text x="${left + 18}" y="${ly}">${xmlEsc(r.legend?.value ?? 'hatwin (mean, 95% CI)')}</text>`,
    `<path d="M${left + 185} ${ly - 9} l5 5 l-5 5 l-5 -5 Z" fill="#e0662d"/><text x="${left + 195}" y="${ly}">${xmlEsc(r.legend?.paper ?? 'paper (measured)')}</text>`,
    `<circle cx="${left + 320}" cy="${ly - 4}" r="4" fill="none" stroke="#2a9d3a" stroke-width="2"/><text x="${left + 330}" y="${ly}">${xmlEsc(r.legend?.analytical ?? 'analytical')}</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes DIR/<id>.json, .csv, .md and .svg; returns the paths. */
export function writeReport(result: ExperimentResult, dir: string): string[] {
  const r = { ...result, notes: withCiNote(result.notes) };
  mkdirSync(dir, { recursive: true });
  const base = join(dir, r.id);
  const files: Array<[string, string]> = [
    [`${base}.json`, JSON.stringify(r, null, 2) + '\n'],
    [`${base}.csv`, toCsv(r)],
    [`${base}.md`, toMarkdown(r)],
    [`${base}.svg`, toSvg(r)],
  ];
  for (const [p, t] of files) writeAtomic(p, t);
  return files.map(([p]) => p);
}

let progressShown = true;

/**
 * Turns the experiments' own progress output off in this thread (worker threads of
 * `hatwin run --jobs`: the main thread shows the progress of the whole run instead).
 */
export function hideProgress(): void {
  progressShown = false;
}

/** A progress bar on stderr (only when it is a terminal, or when forced). */
export class Progress {
  private done = 0;
  constructor(private readonly label: string, private readonly total: number, private readonly tty = process.stderr.isTTY === true) {}
  tick(): void {
    this.done++;
    if (this.total <= 1 || !progressShown) return;
    if (!this.tty) {
      // Not a terminal (CI logs): one line per tenth.
      const step = Math.max(1, Math.floor(this.total / 10));
      if (this.done % step === 0 || this.done === this.total) process.stderr.write(`${this.label}: ${this.done}/${this.total}\n`);
      return;
    }
    const w = 30;
    const filled = Math.round((w * this.done) / this.total);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(w - filled)}] ${this.done}/${this.total}`);
    if (this.done === this.total) process.stderr.write('\n');
  }
}

export interface RunOptions {
  seed: number;
  runs: number;
  /** Where the experiment may write extra files (traces). */
  outDir: string;
}

export type ExperimentOutput = ExperimentResult & { traces?: Record<string, string> };

export interface Experiment {
  id: string;
  title: string;
  defaultRuns: number;
  run(opts: RunOptions): ExperimentOutput;
  /** Set when the work splits into independent units that may run on other threads (`replicated`). */
  parallel?: ParallelParts<unknown>;
}

/**
 * An experiment cut into independent units (typically one replication each): `unit(opts, i)` for
 * i < units(opts) may run in any order, on any thread (its value must survive structured
 * cloning), and `combine` builds the result from the values in unit order. `hatwin run --jobs N`
 * spreads the units over N worker threads; the result is the same as in one thread.
 */
export interface ParallelParts<U> {
  units(opts: RunOptions): number;
  unit(opts: RunOptions, index: number): U;
  combine(opts: RunOptions, values: U[]): ExperimentOutput;
}

/**
 * An experiment from its parallel parts; its `run` (one thread) runs the units in order, ticking a
 * progress bar, and combines them: the same code as the parallel path.
 */
export function replicated<U>(e: { id: string; title: string; defaultRuns: number } & ParallelParts<U>): Experiment {
  const parts: ParallelParts<U> = { units: e.units, unit: e.unit, combine: e.combine };
  return {
    id: e.id,
    title: e.title,
    defaultRuns: e.defaultRuns,
    run(opts) {
      const n = parts.units(opts);
      const progress = new Progress(e.id, n);
      const values: U[] = [];
      for (let i = 0; i < n; i++) {
        values.push(parts.unit(opts, i));
        progress.tick();
      }
      return parts.combine(opts, values);
    },
    parallel: parts as ParallelParts<unknown>,
  };
}

/** One metric sample of a unit, for `Samples.addAll` in the combining thread. */
export type Sample = [caseName: string, server: string | undefined, metric: string, value: number | null | undefined];

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
  /** Adds samples recorded elsewhere (a unit's), in their order. */
  addAll(samples: readonly Sample[]): void {
    for (const [c, server, metric, x] of samples) this.add(c, server, metric, x);
  }
  rows(ref: (c: string, server: string | undefined, metric: string) => { paper?: number | null; analytical?: number | null } = () => ({})): ResultRow[] {
    return [...this.m.values()].map((e) => {
      const s = summarize(e.xs, metricBounds(e.metric));
      const r = ref(e.case, e.server, e.metric);
      return { case: e.case, ...(e.server ? { server: e.server } : {}), metric: e.metric, value: s.mean, ci95: s.ci95, paper: r.paper ?? null, analytical: r.analytical ?? null, n: s.n };
    });
  }
}

