// The `scale` experiment (bench suite, not `npm start`): N servers under P2P management (one
// ring of the paper's design, kitamura-2018) or under `failover` blocks, over a day, a month and a
// year, with a sparse fault rate and with none. Measures wall time, peak RSS, kernel events and
// events per simulated host-day. `node bin/tsnode.js bench/scale.ts` runs it (docs/scale.md).
import { RngStreams } from '../sim/kernel/rng.ts';
import { scenarioProblems, scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import { buildSimulation } from '../run/sim.ts';
import { checkPolicies } from '../run/policies.ts';

export type ScalePolicy = 'p2p' | 'failover';

export interface ScaleCase {
  policy: ScalePolicy;
  /** Servers (P2P: the ring's members; failover: targets, each managed by the next server). */
  n: number;
  days: number;
  /** Faults per server per simulated year (0: none). */
  faultsPerHostYear: number;
  seed: number;
  /** P2P: whom a rewrite of the operation file is told to (the manifest's `nudge`; default changed). */
  nudge?: 'all' | 'changed';
}

export const DAY_US = 86_400_000_000;

// Faults the policies repair (a stopped daemon, a server restart); a server shut down for good (Nt2
// under failover) is polled each interval until it returns, which is the per-tick cost docs/scale.md lists.
const FAULT_KINDS = ['St1', 'Nt1'] as const;

/** Fault times: a Poisson process per server (exponential gaps), kinds drawn uniformly; in time order. */
function faultsOf(c: ScaleCase, names: readonly string[]): Array<{ kind: string; target: string; at: number }> {
  if (c.faultsPerHostYear <= 0) return [];
  const endUs = c.days * DAY_US;
  const meanUs = (365 * DAY_US) / c.faultsPerHostYear;
  const out: Array<{ kind: string; target: string; at: number }> = [];
  const rng = new RngStreams(c.seed);
  // The start is left quiet (everything settles: an hour, or a tenth of a short run), and faults on
  // one server are that far apart at least.
  const gapUs = Math.min(3_600_000_000, Math.floor(endUs / 10));
  for (const target of names) {
    const r = rng.stream(`scale/fault/${target}`);
    for (let at = gapUs + Math.floor(-Math.log(1 - r.next()) * meanUs); at < endUs; at += gapUs + Math.floor(-Math.log(1 - r.next()) * meanUs)) {
      out.push({ kind: FAULT_KINDS[Math.floor(r.next() * FAULT_KINDS.length)], target, at });
    }
  }
  return out.sort((a, b) => a.at - b.at || (a.target < b.target ? -1 : 1));
}

const mac = (i: number): string => {
  const h = (i + 1).toString(16).padStart(12, '0');
  return h.match(/../g)!.join(':');
};

/** The scenario of a case, as a document (what a scenario file would hold). */
export function scaleDocument(c: ScaleCase): Record<string, unknown> {
  const names = Array.from({ length: c.n }, (_, i) => `s${i}`);
  const hosts = names.map((name, i) => ({
    name, mac: mac(i), serverType: (['CPU', 'NETWORK', 'CPU_NET'] as const)[i % 3], memMb: 8192, memUsedMb: 7168,
    services: [{ name: 'httpd', examS: 0.05 }], bootS: 56.67, restartS: 58.51,
  }));
  const vms = names.map((name, i) => ({
    name: `${name}b`, services: [{ name: 'httpd', examS: 0.05 }], resumeS: 4.67, startS: 42.84,
    ...(c.policy === 'failover' ? { host: names[(i + 2) % c.n] } : {}),
  }));
  const vips = names.map((name) => ({ name: `vip-${name}`, service: 'httpd', holder: name }));
  const clients = names.map((name) => ({ name: `client-${name}`, vip: `vip-${name}`, phaseS: 'random' }));
  const policies = c.policy === 'p2p'
    ? [{ kind: 'p2p', group: names, interval: '10s', networkTimeout: '2s', serviceTimeout: '3s', restartWait: '88s', nudge: c.nudge ?? 'changed' }]
    : names.map((name, i) => ({
      kind: 'failover', manager: names[(i + 1) % c.n], target: name, service: 'httpd', vip: `vip-${name}`,
      backupVm: `${name}b`, backupHost: names[(i + 2) % c.n], interval: '10s', serviceTimeout: '3s', networkTimeout: '2s', recoveryWait: '5m',
    }));
  const faults = faultsOf(c, names).map((f) => ({ ...f, at: f.at / 1e6 }));
  return { name: `scale-${c.policy}-${c.n}-${c.days}d`, seed: c.seed, until: Math.round(c.days * 86_400_000) / 1000, hosts, vms, vips, clients, faults, policies };
}

/** The scenario of a case, validated as the loader validates a file (schema, cross-references, policies). */
export function scaleScenario(c: ScaleCase): Scenario {
  const s = scenarioSchema.parse(scaleDocument(c));
  const problems = [...scenarioProblems(s), ...checkPolicies(s)];
  if (problems.length > 0) throw new Error(`scale scenario: ${problems.slice(0, 5).map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  return s;
}

export interface ScaleResult extends ScaleCase {
  faults: number;
  /** Kernel events fired. */
  events: number;
  /** Trace events emitted (counted, not kept). */
  traceEvents: number;
  setupMs: number;
  runMs: number;
  /** CPU time of this process (all its threads) for the set-up and the run, when a CPU clock is given. */
  cpuSetupMs?: number;
  cpuRunMs?: number;
  events_per_host_day: number;
}

/**
 * Runs one case in this process; the trace is counted, not kept (`each` sees every event, in
 * order). Wall times come from `clock`, CPU times (milliseconds) from `cpuClock` when given.
 */
export function runScale(c: ScaleCase, clock: () => number, cpuClock?: () => number, progress?: { everyDays: number; report: (day: number) => void }, each?: (e: unknown) => void): ScaleResult {
  const t0 = clock();
  const c0 = cpuClock?.() ?? 0;
  const s = scaleScenario(c);
  let traceEvents = 0;
  // Progress: at the first trace line of each new stretch of `everyDays` simulated days (no kernel event of its own).
  let nextUs = progress !== undefined ? progress.everyDays * DAY_US : Infinity;
  const onEvent = (e: { t: number }) => {
    traceEvents++;
    each?.(e);
    if (e.t < nextUs) return;
    const every = progress!.everyDays * DAY_US;
    nextUs = (Math.floor(e.t / every) + 1) * every;
    progress!.report(e.t / DAY_US);
  };
  const sim = buildSimulation(s, { seed: c.seed, keepEvents: false, onEvent });
  const t1 = clock();
  const c1 = cpuClock?.() ?? 0;
  sim.run();
  const t2 = clock();
  const c2 = cpuClock?.() ?? 0;
  const events = sim.kernel.eventCount;
  return {
    ...c, faults: s.faults.length, events, traceEvents, setupMs: t1 - t0, runMs: t2 - t1,
    ...(cpuClock ? { cpuSetupMs: c1 - c0, cpuRunMs: c2 - c1 } : {}),
    events_per_host_day: events / (c.n * c.days),
  };
}

// ---------------------------------------------------------------------------------------------
// The report: a table and a log-log plot of wall time against simulated host-days.

/** A measured case (or one skipped: `skipped` says why, `estS` what it would take). */
export interface ScaleRow extends Partial<ScaleResult> {
  policy: ScalePolicy;
  n: number;
  days: number;
  faultsPerHostYear: number;
  peakRssMB?: number;
  skipped?: string;
  estS?: number;
}

const fmt = (x: number | undefined, digits = 3): string => (x === undefined ? '' : x >= 1000 ? Math.round(x).toLocaleString('en-US') : String(+x.toPrecision(digits)));

export function scaleTable(rows: readonly ScaleRow[]): string {
  const head = ['policy', 'N', 'days', 'faults/host-yr', 'faults', 'kernel events', 'events/host-day', 'us/event', 'set-up s', 'run s', 'wall s', 'peak RSS MB'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const wall = r.setupMs !== undefined && r.runMs !== undefined ? (r.setupMs + r.runMs) / 1000 : undefined;
    const cells = r.skipped !== undefined
      ? [r.policy, fmt(r.n), fmt(r.days), fmt(r.faultsPerHostYear), '', '', '', '', '', '', `not run: ${r.skipped}`, '']
      : [r.policy, fmt(r.n), fmt(r.days), fmt(r.faultsPerHostYear), fmt(r.faults), fmt(r.events), fmt(r.events_per_host_day), fmt(usPerEvent(r)), fmt((r.setupMs ?? 0) / 1000), fmt((r.runMs ?? 0) / 1000), fmt(wall), fmt(r.peakRssMB)];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Run time per kernel event, microseconds. */
export function usPerEvent(r: ScaleRow): number | undefined {
  return r.runMs !== undefined && r.events ? (r.runMs * 1000) / r.events : undefined;
}

/** Wall time (set-up + run) against simulated host-days, both axes logarithmic; one series per policy and fault rate. */
export function scaleSvg(rows: readonly ScaleRow[], goalS = 60): string {
  const pts = rows.filter((r) => r.skipped === undefined && r.runMs !== undefined).map((r) => ({
    series: `${r.policy}, ${r.faultsPerHostYear ? `${r.faultsPerHostYear} faults/host-yr` : 'no faults'}`,
    x: r.n * r.days,
    y: Math.max(1e-3, ((r.setupMs ?? 0) + (r.runMs ?? 0)) / 1000),
    label: `N=${r.n}, ${r.days} d`,
  }));
  const W = 760, H = 480, L = 70, R = 230, T = 40, B = 50;
  const lx = (v: number) => Math.log10(v);
  const xs = pts.map((p) => lx(p.x)), ys = [...pts.map((p) => lx(p.y)), lx(goalS)];
  const x0 = Math.floor(Math.min(...xs, 2)), x1 = Math.ceil(Math.max(...xs, 3));
  const y0 = Math.floor(Math.min(...ys, -1)), y1 = Math.ceil(Math.max(...ys, 2));
  const px = (v: number) => L + ((lx(v) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (v: number) => H - B - ((lx(v) - y0) / (y1 - y0 || 1)) * (H - T - B);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
  const series = [...new Set(pts.map((p) => p.series))];
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<text x="${L}" y="22" font-size="14">scale: wall time (set-up + run) against simulated host-days (log-log)</text>`);
  for (let e = x0; e <= x1; e++) out.push(`<line x1="${px(10 ** e)}" y1="${T}" x2="${px(10 ** e)}" y2="${H - B}" stroke="#ddd"/><text x="${px(10 ** e)}" y="${H - B + 16}" text-anchor="middle">1e${e}</text>`);
  for (let e = y0; e <= y1; e++) out.push(`<line x1="${L}" y1="${py(10 ** e)}" x2="${W - R}" y2="${py(10 ** e)}" stroke="#ddd"/><text x="${L - 6}" y="${py(10 ** e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : `1e${e}`} s</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">servers x simulated days</text>`);
  out.push(`<line x1="${L}" y1="${py(goalS)}" x2="${W - R}" y2="${py(goalS)}" stroke="#000" stroke-dasharray="6 4"/><text x="${W - R - 4}" y="${py(goalS) - 4}" text-anchor="end">goal: ${goalS} s</text>`);
  series.forEach((name, i) => {
    const c = colors[i % colors.length];
    const mine = pts.filter((p) => p.series === name).sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${mine.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of mine) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${c}"><title>${p.series}: ${p.label}, ${fmt(p.y)} s</title></circle>`);
    out.push(`<rect x="${W - R + 14}" y="${T + i * 20}" width="12" height="12" fill="${c}"/><text x="${W - R + 32}" y="${T + i * 20 + 10}">${name}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
