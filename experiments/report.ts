// Experiment results: one JSON schema, written as .json, .csv, .md and an .svg plot.
// Files are written to a temporary name and renamed, so an interrupted run leaves no half file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
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
}

/** Mean and a 95% confidence interval (Student t) of a sample. */
export function summarize(xs: number[]): { mean: number; ci95: [number, number]; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, ci95: [NaN, NaN], n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: [mean, mean], n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * sd / Math.sqrt(n);
  return { mean, ci95: [mean - half, mean + half], n };
}

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
  if (r.notes?.length) out.push('', ...r.notes.map((n) => `- ${n}`));
  out.push('', `Parameters: \`${JSON.stringify(r.params)}\``, '');
  return out.join('\n');
}

const xmlEsc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars (value with its 95% CI), a diamond at the paper's value, a ring at the analytical one. */
export function toSvg(r: ExperimentResult): string {
  const rows = r.rows;
  const rowH = 22;
  const left = 260;
  const width = 900;
  const plotW = width - left - 40;
  const top = 50;
  const height = top + rows.length * rowH + 50;
  const maxV = Math.max(1e-9, ...rows.flatMap((x) => [x.value, x.ci95[1], x.paper ?? 0, x.analytical ?? 0].filter(Number.isFinite)));
  const sx = (v: number) => left + (plotW * v) / maxV;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${xmlEsc(r.title)}</text>`,
  ];
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const v = (maxV * i) / ticks;
    const x = sx(v);
    parts.push(`<line x1="${x}" y1="${top - 5}" x2="${x}" y2="${height - 40}" stroke="#ddd"/>`, `<text x="${x}" y="${height - 25}" text-anchor="middle">${round(v, 1)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 8}" text-anchor="middle">seconds</text>`);
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const label = `${row.case}${row.server ? ` ${row.server}` : ''} ${row.metric}`;
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${xmlEsc(label)}</text>`);
    if (Number.isFinite(row.value)) parts.push(`<rect x="${left}" y="${y + 4}" width="${Math.max(0, sx(row.value) - left)}" height="${rowH - 8}" fill="#4a7bd0"/>`);
    if (Number.isFinite(row.ci95[0]) && row.ci95[1] > row.ci95[0]) parts.push(`<line x1="${sx(row.ci95[0])}" y1="${y + 11}" x2="${sx(row.ci95[1])}" y2="${y + 11}" stroke="black" stroke-width="1.5"/>`);
    if (row.paper !== null) {
      const x = sx(row.paper);
      parts.push(`<path d="M${x} ${y + 4} L${x + 5} ${y + 11} L${x} ${y + 18} L${x - 5} ${y + 11} Z" fill="#e0662d"/>`);
    }
    if (row.analytical !== null) parts.push(`<circle cx="${sx(row.analytical)}" cy="${y + 11}" r="4" fill="none" stroke="#2a9d3a" stroke-width="2"/>`);
  });
  const ly = 36;
  parts.push(
    `<rect x="${left}" y="${ly - 9}" width="14" height="10" fill="#4a7bd0"/><text x="${left + 18}" y="${ly}">hatwin (mean, 95% CI)</text>`,
    `<path d="M${left + 185} ${ly - 9} l5 5 l-5 5 l-5 -5 Z" fill="#e0662d"/><text x="${left + 195}" y="${ly}">paper (measured)</text>`,
    `<circle cx="${left + 320}" cy="${ly - 4}" r="4" fill="none" stroke="#2a9d3a" stroke-width="2"/><text x="${left + 330}" y="${ly}">analytical</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes DIR/<id>.json, .csv, .md and .svg; returns the paths. */
export function writeReport(r: ExperimentResult, dir: string): string[] {
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
      const s = summarize(e.xs);
      const r = ref(e.case, e.server, e.metric);
      return { case: e.case, ...(e.server ? { server: e.server } : {}), metric: e.metric, value: s.mean, ci95: s.ci95, paper: r.paper ?? null, analytical: r.analytical ?? null, n: s.n };
    });
  }
}

