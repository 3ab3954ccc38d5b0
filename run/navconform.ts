// `hatwin conform` for Navigator scenarios (wong-2014): the times of its Table 5-7, live against
// sim, for every PC the scenario shuts down or its churn switches off: failover after a primary failure, fallback, failover
// after a secondary failure (trace/navigator.ts reads both traces), each also from the loss seen
// by a pilot (phase-free: the shutdown's place in the check interval is chance), and the client's outage. Its
// times are the policy's own (check intervals, transfer rates) and the containers' start: the
// scenario runs in sim as written (vms' startS is the lab guest's boot), no calibration file.
import type { Scenario } from '../sim/scenario/schema.ts';
import type { TraceLine } from '../trace/metrics.ts';
import { navigatorFaultTimes, type NavigatorFaultTimes } from '../trace/navigator.ts';
import type { ConformRow } from './calibrate.ts';

/** The navigator policy block's service IP, or null when the scenario has no navigator policy. */
export function navigatorVipOf(s: Scenario): string | null {
  const p = s.policies.find((x) => x.kind === 'navigator');
  return p ? String(p.vip) : null;
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

/** One row per metric of each shut-down PC (matched by order), live against sim. */
export function navConformRows(live: readonly TraceLine[], sim: readonly TraceLine[], s: Scenario): ConformRow[] {
  const vip = navigatorVipOf(s);
  if (vip === null) throw new Error(`scenario ${s.name ?? ''} has no navigator policy`);
  const lf = navigatorFaultTimes(live, vip);
  const sf = navigatorFaultTimes(sim, vip);
  const rows: ConformRow[] = [];
  const row = (metric: string, server: string, l: number | null, si: number | null) =>
    rows.push({ metric, server, live: round(l), sim: round(si), errPct: l === null || si === null || l === 0 ? null : Math.round((1000 * (si - l)) / l) / 10 });
  for (let i = 0; i < Math.max(lf.length, sf.length); i++) {
    const l: Partial<NavigatorFaultTimes> = lf[i] ?? {};
    const m: Partial<NavigatorFaultTimes> = sf[i] ?? {};
    const host = l.host ?? m.host!;
    const role = l.role ?? m.role ?? null;
    const when = Math.round((l.faultUs ?? m.faultUs ?? 0) / 1e6);
    const how = (l.cause ?? m.cause) === 'churn' ? 'switched off' : 'off';
    const at = `${host} ${how} at ${when} s (${role ?? 'no container'}; live ${l.role ?? '—'}, sim ${m.role ?? '—'})`;
    // From the loss seen on: phase-free (where the shutdown fell in the pilot's check is not).
    const fromSeen = (x: Partial<NavigatorFaultTimes>, to: number | null | undefined) => (to == null || x.detectedS == null ? null : to - x.detectedS);
    if (role === 'primary') {
      row('failover after a primary failure s (shutdown -> new primary tracked)', at, l.primaryFailoverS ?? null, m.primaryFailoverS ?? null);
      row('failover after a primary failure: loss seen -> new primary tracked s', at, fromSeen(l, l.primaryFailoverS), fromSeen(m, m.primaryFailoverS));
      row('fallback s (shutdown -> new secondary tracked)', at, l.fallbackS ?? null, m.fallbackS ?? null);
    } else if (role === 'secondary') {
      row('failover after a secondary failure s (shutdown -> new secondary tracked)', at, l.secondaryFailoverS ?? null, m.secondaryFailoverS ?? null);
      row('failover after a secondary failure: loss seen -> new secondary tracked s', at, fromSeen(l, l.secondaryFailoverS), fromSeen(m, m.secondaryFailoverS));
    }
    row('client outage s (after the shutdown)', at, l.downtimeS ?? null, m.downtimeS ?? null);
  }
  return rows;
}
