// Conformance of the lbcluster policy, live (lb-mini lab) against sim, fault by fault: for a
// fault on a director, the VRRP takeover; for a fault on a real server, its drop from the master
// director's pool and its re-add. Each metric is read the same way from both traces, with the
// keepalived/checker model's own value beside them where the model gives one.
//
// What each world records:
// - a director becoming master: sim `vrrp.state` (to master); live `lab.addr` (keepalived adds the
//   VIP as it enters MASTER, seen by `ip monitor` in the director's namespace);
// - VRRP adverts: sim `vrrp.advert` (traceAdverts, at sending); live `lab.vrrp.advert` as the
//   receiving director's tcpdump timestamps it;
// - checker tries: `lb.try` in both (traceChecks; the same checker code); pool changes:
//   `pool.add`/`pool.remove` in both (live: each director's nftables pool, `by` the director).
//
// The phase-free metrics (from the last advert the backup received; from the first failing try)
// are the ones the model predicts exactly; the ones from the fault depend on where in the advert
// or checker cycle the fault fell, which differs between the two runs by chance.
import type { TraceLine } from '../trace/metrics.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { lbclusterPolicy, type LbClusterConfig } from '../policies/lbcluster/manifest.ts';
import { gracefulTakeoverUs, masterDownUs } from '../policies/lbcluster/vrrp.ts';

export interface LbConformRow {
  /** The fault, as "St2 ms1 keepalived @10s". */
  fault: string;
  metric: string;
  server: string;
  live: number | null;
  sim: number | null;
  /** The model's value (keepalived's formulas), when it gives one. */
  model: number | null;
  /** (sim - live) / live, %. */
  errPct: number | null;
  /** (model - live) / live, %. */
  modelErrPct: number | null;
}

/** The scenario's lbcluster policy block, parsed (defaults filled in); null when it has none. */
export function lbPolicyOf(s: Scenario): LbClusterConfig | null {
  const block = s.policies.find((p) => (p as { kind?: string }).kind === 'lbcluster');
  return block ? (lbclusterPolicy.schema.parse(block) as LbClusterConfig) : null;
}

type World = 'live' | 'sim';
const S = 1e6;
const str = (x: unknown) => (typeof x === 'string' ? x : undefined);

/** When each director became master: [t µs, host]. */
function masterEntries(ev: readonly TraceLine[], world: World, vipAddress: string | undefined): Array<{ t: number; host: string }> {
  if (world === 'sim') return ev.filter((e) => e.kind === 'vrrp.state' && e.data?.to === 'master').map((e) => ({ t: e.t, host: String(e.data!.router) }));
  return ev.filter((e) => e.kind === 'lab.addr' && e.data?.op === 'add' && e.data?.address === vipAddress).map((e) => ({ t: e.t, host: e.subject }));
}

/** Adverts from `from` (live: as `to` received them; sim: as sent): times in µs. */
function advertsFrom(ev: readonly TraceLine[], world: World, from: string, to: string): number[] {
  if (world === 'sim') return ev.filter((e) => e.kind === 'vrrp.advert' && e.data?.router === from).map((e) => e.t);
  return ev.filter((e) => e.kind === 'lab.vrrp.advert' && e.subject === to && e.data?.from === from && e.data?.to === to).map((e) => e.t);
}

interface FaultAt { kind: string; target: string; service?: string; t: number; endT: number | null }

/**
 * The scenario's faults as the trace recorded them (`fault` events, in order), with when each
 * ended: live, at its `fault.end` record; in the sim, `ran`'s duration after it started (`ran`:
 * the scenario the sim ran, a paired replication's with live's durations; default `s`).
 */
function faultsOf(ev: readonly TraceLine[], world: World, s: Scenario, ran: Scenario = s): FaultAt[] {
  const recorded = ev.filter((e) => e.kind === 'fault');
  return s.faults.flatMap((f, i): FaultAt[] => {
    const r = recorded[i];
    if (!r || !('target' in f)) return [];
    let endT: number | null = null;
    if (f.duration !== undefined) {
      if (world === 'live') endT = ev.find((e) => e.kind === 'fault.end' && e.subject === f.target && e.t >= r.t)?.t ?? null;
      else endT = r.t + (ran.faults[i]?.duration ?? f.duration);
    }
    return [{ kind: f.kind, target: f.target, ...('service' in f && f.service ? { service: f.service } : {}), t: r.t, endT }];
  });
}

const secs = (a: number | null | undefined, b: number | null | undefined) => (a === null || a === undefined || b === null || b === undefined ? null : (b - a) / S);

function vrrpMetrics(ev: readonly TraceLine[], world: World, c: LbClusterConfig, f: FaultAt, vipAddress: string | undefined) {
  const entries = masterEntries(ev, world, vipAddress);
  const takeover = entries.find((m) => m.t > f.t && m.host !== f.target) ?? null;
  const lastAdvert = takeover ? advertsFrom(ev, world, f.target, takeover.host).filter((t) => t <= takeover.t).at(-1) ?? null : null;
  const back = f.endT !== null ? entries.find((m) => m.t > f.endT! && m.host === f.target) ?? null : null;
  return { takeover, lastAdvert, back };
}

function rsMetrics(ev: readonly TraceLine[], world: World, c: LbClusterConfig, f: FaultAt, director: string) {
  const pool = c.pool ?? c.vip;
  const mine = (e: TraceLine) => world === 'sim' || e.data?.by === director;
  const tries = ev.filter((e) => e.kind === 'lb.try' && e.subject === f.target && e.data?.director === director);
  const firstFail = tries.find((e) => e.t >= f.t && e.data?.ok === false) ?? null;
  const drop = ev.find((e) => e.kind === 'pool.remove' && e.subject === pool && e.data?.member === f.target && e.t >= f.t && mine(e)) ?? null;
  const firstPass = f.endT !== null ? tries.find((e) => e.t >= f.endT! && e.data?.ok === true) ?? null : null;
  const readd = f.endT !== null ? ev.find((e) => e.kind === 'pool.add' && e.subject === pool && e.data?.member === f.target && e.t >= f.endT! && mine(e)) ?? null : null;
  return {
    firstFailStart: firstFail ? Number(firstFail.data!.startUs) : null,
    failDetail: str(firstFail?.data?.detail) ?? null,
    drop: drop?.t ?? null,
    firstPassStart: firstPass ? Number(firstPass.data!.startUs) : null,
    readd: readd?.t ?? null,
  };
}

const round = (x: number | null, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
const pct = (x: number | null, ref: number | null) => (x === null || ref === null || ref === 0 ? null : Math.round((1000 * (x - ref)) / ref) / 10);

/** Every fault of the scenario, live against sim (and the model). */
export function lbConformRows(live: readonly TraceLine[], sim: readonly TraceLine[], s: Scenario, simRan: Scenario = s): LbConformRow[] {
  const c = lbPolicyOf(s);
  if (!c) throw new Error(`scenario ${s.name ?? ''} has no lbcluster policy`);
  const vipAddress = s.vips.find((v) => v.name === c.vip)?.address;
  const directors = [...c.directors].sort((a, b) => b.priority - a.priority);
  const prio = new Map(c.directors.map((d) => [d.host, d.priority]));
  const lf = faultsOf(live, 'live', s);
  const sf = faultsOf(sim, 'sim', s, simRan);
  const rows: LbConformRow[] = [];
  const row = (fault: string, metric: string, server: string, l: number | null, si: number | null, model: number | null) =>
    rows.push({ fault, metric, server, live: round(l), sim: round(si), model: round(model), errPct: pct(si, l), modelErrPct: pct(model, l) });
  lf.forEach((f, i) => {
    const g = sf[i];
    if (!g) return;
    const name = `${f.kind} ${f.target}${f.service ? ` ${f.service}` : ''} @${Math.round(s.faults[i].at as number / S)}s`;
    if (prio.has(f.target)) {
      const l = vrrpMetrics(live, 'live', c, f, vipAddress);
      const m = vrrpMetrics(sim, 'sim', c, g, vipAddress);
      const backup = l.takeover?.host ?? m.takeover?.host ?? directors.find((d) => d.host !== f.target)!.host;
      const bp = prio.get(backup)!;
      const graceful = f.kind === 'St1';
      row(name, `new master (${backup}): fault -> takeover s`, f.target, secs(f.t, l.takeover?.t), secs(g.t, m.takeover?.t), graceful ? gracefulTakeoverUs(bp) / S : null);
      row(name, `new master: last advert from ${f.target} -> takeover s`, f.target, secs(l.lastAdvert, l.takeover?.t), secs(m.lastAdvert, m.takeover?.t),
        (graceful ? gracefulTakeoverUs(bp) : masterDownUs(bp, c.advertInt)) / S);
      if (f.endT !== null || g.endT !== null) {
        row(name, `${f.target} back (preempt): fault end -> master s`, f.target, secs(f.endT, l.back?.t), secs(g.endT, m.back?.t), masterDownUs(prio.get(f.target)!, c.advertInt) / S);
      }
    } else {
      const director = directors[0].host;
      const l = rsMetrics(live, 'live', c, f, director);
      const m = rsMetrics(sim, 'sim', c, g, director);
      const ck = c.checker;
      const timeout = (l.failDetail ?? m.failDetail) !== 'refused';
      const dropModel = ck.retry * ck.delayBeforeRetry + (timeout ? (ck.retry + 1) * ck.connectTimeout : 0);
      row(name, `drop from ${director}'s pool: fault -> removed s`, f.target, secs(f.t, l.drop), secs(g.t, m.drop), null);
      row(name, `drop: first failing try -> removed s (${timeout ? 'no answer' : 'refused'})`, f.target, secs(l.firstFailStart, l.drop), secs(m.firstFailStart, m.drop), dropModel / S);
      if (f.endT !== null || g.endT !== null) {
        row(name, `re-add to ${director}'s pool: fault end -> added s`, f.target, secs(f.endT, l.readd), secs(g.endT, m.readd), null);
        row(name, 're-add: first passing try -> added s', f.target, secs(l.firstPassStart, l.readd), secs(m.firstPassStart, m.readd), 0);
      }
    }
  });
  return rows;
}

export function lbConformMarkdown(scenario: string, rows: readonly LbConformRow[]): string {
  const f = (x: number | null) => (x === null ? '—' : String(x));
  return [
    `### conform ${scenario}`,
    '',
    '| fault | metric | live | sim | model | sim vs live % | model vs live % |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.fault} | ${r.metric} | ${f(r.live)} | ${f(r.sim)} | ${f(r.model)} | ${f(r.errPct)} | ${f(r.modelErrPct)} |`),
    '',
  ].join('\n');
}
