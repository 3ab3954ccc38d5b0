// `hatwin conform --repeat N`: N live runs and N sim replications of one scenario, each metric as
// a mean with a 95 % interval on both sides, the error of the sim's mean against the live mean,
// and a fidelity score per scenario (the mean absolute error of its timed metrics). Written as a
// report like the experiments' (JSON, CSV, MD and an SVG with the two intervals side by side).
import { summarize, type ExperimentResult, type ResultRow } from './report.ts';

/** One metric of one run, as run/calibrate.ts (and run/lbconform.ts) compare them. */
export interface ConformRunRow {
  metric: string;
  server: string;
  /** The fault the row belongs to (the load-balancer rows), if any. */
  fault?: string;
  live: number | null;
  sim: number | null;
}

export interface RepeatedRow {
  fault?: string;
  metric: string;
  server: string;
  /** Means over the runs that gave the metric (null: none did). */
  live: number | null;
  sim: number | null;
  /** (sim - live) / live of the means, %. */
  errPct: number | null;
  liveCi95: [number, number] | null;
  simCi95: [number, number] | null;
  liveN: number;
  simN: number;
}

export interface RepeatedConform {
  scenario: string;
  lab: string;
  repeat: number;
  rows: RepeatedRow[];
  fidelity: {
    /** Timed metrics with a mean on both sides. */
    timedMetrics: number;
    /** Mean of |errPct| over them: the scenario's fidelity score (lower is better). */
    meanAbsErrPct: number | null;
    /** How many of them are within 10 %. */
    within10Pct: number;
  };
}

/** A metric in seconds (its name says " s"), not a count. */
export const isTimed = (metric: string): boolean => /(^|\s)s(\s|$|\()/.test(metric) && !/count/.test(metric);

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Combines the rows of N live runs and N sim replications (run i: live rows and sim rows). */
export function repeatConform(scenario: string, lab: string, live: ConformRunRow[][], sim: ConformRunRow[][]): RepeatedConform {
  const key = (r: ConformRunRow) => `${r.fault ?? ''}\u0000${r.metric}\u0000${r.server}`;
  const acc = new Map<string, { fault?: string; metric: string; server: string; live: number[]; sim: number[] }>();
  const slot = (r: ConformRunRow) => {
    let e = acc.get(key(r));
    if (!e) {
      e = { ...(r.fault !== undefined ? { fault: r.fault } : {}), metric: r.metric, server: r.server, live: [], sim: [] };
      acc.set(key(r), e);
    }
    return e;
  };
  for (const run of live) for (const r of run) if (r.live !== null && Number.isFinite(r.live)) slot(r).live.push(r.live);
  for (const run of sim) for (const r of run) if (r.sim !== null && Number.isFinite(r.sim)) slot(r).sim.push(r.sim);
  const rows: RepeatedRow[] = [...acc.values()].map((e) => {
    const bounds = isTimed(e.metric) || /count/.test(e.metric) ? { min: 0 } : {};
    const l = e.live.length > 0 ? summarize(e.live, bounds) : null;
    const s = e.sim.length > 0 ? summarize(e.sim, bounds) : null;
    return {
      ...(e.fault !== undefined ? { fault: e.fault } : {}),
      metric: e.metric,
      server: e.server,
      live: l ? round(l.mean) : null,
      sim: s ? round(s.mean) : null,
      errPct: l && s && l.mean !== 0 ? round((100 * (s.mean - l.mean)) / l.mean, 1) : null,
      liveCi95: l ? [round(l.ci95[0]), round(l.ci95[1])] : null,
      simCi95: s ? [round(s.ci95[0]), round(s.ci95[1])] : null,
      liveN: e.live.length,
      simN: e.sim.length,
    };
  });
  const timed = rows.filter((r) => isTimed(r.metric) && r.errPct !== null);
  return {
    scenario,
    lab,
    repeat: Math.max(live.length, sim.length),
    rows,
    fidelity: {
      timedMetrics: timed.length,
      meanAbsErrPct: timed.length === 0 ? null : round(timed.reduce((a, r) => a + Math.abs(r.errPct!), 0) / timed.length, 1),
      within10Pct: timed.filter((r) => Math.abs(r.errPct!) <= 10).length,
    },
  };
}

/** The repeated conformance as an experiment report: per metric a live row and a sim row (mean, 95 % CI). */
export function conformReport(r: RepeatedConform): ExperimentResult {
  const rows: ResultRow[] = [];
  for (const x of r.rows) {
    const c = `${x.fault ? `${x.fault} ` : ''}${x.server}`;
    if (x.live !== null) rows.push({ case: c, server: 'live', metric: unitName(x.metric), value: x.live, ci95: x.liveCi95!, paper: null, analytical: null, n: x.liveN });
    if (x.sim !== null) rows.push({ case: c, server: 'sim', metric: unitName(x.metric), value: x.sim, ci95: x.simCi95!, paper: x.live, analytical: null, n: x.simN });
  }
  const f = r.fidelity;
  return {
    id: `conform-${r.scenario}`,
    title: `conform ${r.scenario} on ${r.lab}: ${r.repeat} live runs, ${r.repeat} sim replications`,
    source: `hatwin conform --repeat ${r.repeat}`,
    params: { scenario: r.scenario, lab: r.lab, repeat: r.repeat, fidelity: f },
    rows,
    legend: { value: 'mean, 95% CI', paper: 'live mean' },
    notes: [
      `Fidelity score (mean |sim - live| / live of the timed metrics' means): ${f.meanAbsErrPct === null ? 'none (no timed metric on both sides)' : `${f.meanAbsErrPct} % over ${f.timedMetrics} metrics, ${f.within10Pct} within 10 %`}.`,
      'Each metric has a live row and a sim row; the sim row\'s "paper" column is the live mean, so its error column is the sim\'s error against live.',
    ],
  };
}

/** The repeated conformance as a table: each metric's live and sim mean with its interval. */
export function repeatMarkdown(r: RepeatedConform): string {
  const ci = (x: [number, number] | null) => (x === null ? '—' : `${x[0]}–${x[1]}`);
  const f = (x: number | null) => (x === null ? '—' : String(x));
  const lb = r.rows.some((x) => x.fault !== undefined);
  const score = r.fidelity.meanAbsErrPct === null ? 'no timed metric on both sides' : `${r.fidelity.meanAbsErrPct} % over ${r.fidelity.timedMetrics} timed metrics (${r.fidelity.within10Pct} within 10 %)`;
  return [
    `### conform ${r.scenario} on ${r.lab}, ${r.repeat} runs each`,
    '',
    `Fidelity score (mean |sim - live| / live): ${score}.`,
    '',
    `| ${lb ? 'fault | ' : ''}metric | server | live mean | live 95 % CI | sim mean | sim 95 % CI | err % |`,
    `|${lb ? '---|' : ''}---|---|---:|---|---:|---|---:|`,
    ...r.rows.map((x) => `| ${lb ? `${x.fault ?? ''} | ` : ''}${x.metric} | ${x.server} | ${f(x.live)} | ${ci(x.liveCi95)} | ${f(x.sim)} | ${ci(x.simCi95)} | ${f(x.errPct)} |`),
    '',
  ].join('\n');
}

/** A metric name the report's unit rules read: seconds end in "S", counts in "Outages". */
function unitName(metric: string): string {
  const words = metric.replace(/\(.*?\)/g, ' ').replace(/->/g, ' to ').split(/[^A-Za-z0-9]+/).filter(Boolean);
  const base = words.filter((w) => w !== 's' && w !== 'count').map((w, i) => (i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase())).join('');
  if (isTimed(metric)) return `${base}S`;
  if (/count/.test(metric)) return `${base}Outages`;
  return base;
}
