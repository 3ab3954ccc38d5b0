// Conformance of the PSS, live (pss-mini lab) against sim: each layout change the sim makes,
// matched with the live one that reaches the same conditions, compared on what the paper's Table 4
// times: the change's duration (pss.transition -> pss.transition.done), its settling (spares
// suspended too), and when the real servers it suspends or wakes get there, from the change's
// start (host.state: sim's world; live, the lab supervisors' power events). Both traces carry the
// same PSS events (the same policy code); only the world differs.
import type { TraceLine } from '../trace/metrics.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import type { ConformRow } from './calibrate.ts';

const S = 1e6;

/** Whether the scenario runs a PSS (then `hatwin conform` compares its layout changes). */
export const hasPss = (s: Scenario): boolean => s.policies.some((p) => (p as { kind?: string }).kind === 'pss');

interface Change {
  t: number;
  conditions: Record<string, string>;
  label: string;
  doneS: number | null;
  settledS: number | null;
  /** Host -> seconds from the change's start to its suspension (or its being on again). */
  suspended: Record<string, number>;
  woken: Record<string, number>;
}

const COND: Record<string, string> = { moderate: 'moderate', ps1: 'PS1', ps2: 'PS2' };
const summary = (c: Record<string, string>) => {
  const vals = [...new Set(Object.values(c))];
  return vals.length === 1 ? COND[vals[0]] ?? vals[0] : Object.entries(c).map(([g, x]) => `${g} ${COND[x] ?? x}`).join(', ');
};

/** The PSS's layout changes in a trace, in order. */
export function pssChanges(ev: readonly TraceLine[]): Change[] {
  const out: Change[] = [];
  let before = 'moderate';
  const starts = ev.filter((e) => e.kind === 'pss.transition');
  starts.forEach((e, i) => {
    const next = starts[i + 1]?.t ?? Infinity;
    const conditions = (e.data?.conditions ?? {}) as Record<string, string>;
    const plan = (e.data?.plan ?? {}) as { resumeHosts?: string[]; suspendHosts?: string[] };
    const within = (x: TraceLine) => x.t >= e.t && x.t < next;
    const done = ev.find((x) => x.kind === 'pss.transition.done' && within(x));
    const settled = ev.find((x) => x.kind === 'pss.transition.settled' && within(x));
    const at = (host: string, state: string) => {
      const h = ev.find((x) => x.kind === 'host.state' && x.subject === host && x.data?.state === state && within(x));
      return h ? (h.t - e.t) / S : null;
    };
    const suspended: Record<string, number> = {};
    for (const h of plan.suspendHosts ?? []) {
      const s = at(h, 'suspended');
      if (s !== null) suspended[h] = s;
    }
    const woken: Record<string, number> = {};
    for (const h of plan.resumeHosts ?? []) {
      const s = at(h, 'on');
      if (s !== null) woken[h] = s;
    }
    const to = summary(conditions);
    out.push({
      t: e.t, conditions, label: `${before} -> ${to}`,
      doneS: typeof done?.data?.durationS === 'number' ? done.data.durationS : null,
      settledS: typeof settled?.data?.durationS === 'number' ? settled.data.durationS : null,
      suspended, woken,
    });
    before = to;
  });
  return out;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Rows for each change of the sim, against the live steps that make it (see below): the change's
 * duration is the last step's.
 */
export function pssConformRows(live: readonly TraceLine[], sim: readonly TraceLine[]): ConformRow[] {
  const rows: ConformRow[] = [];
  const row = (metric: string, server: string, l: number | null | undefined, s: number | null | undefined) => {
    const lv = l ?? null;
    const sv = s ?? null;
    if (lv === null && sv === null) return;
    rows.push({ metric, server, live: lv === null ? null : round(lv), sim: sv === null ? null : round(sv), errPct: lv === null || sv === null || lv === 0 ? null : Math.round((1000 * (sv - lv)) / lv) / 10 });
  };
  const lc = pssChanges(live);
  const sc = pssChanges(sim);
  const same = (a: Change, b: Change) => JSON.stringify(a.conditions) === JSON.stringify(b.conditions);
  let from = 0;
  sc.forEach((s, n) => {
    // The live steps of this change: up to the first that reaches the same conditions; when none
    // does (a group's condition changed a period later with nothing to move, so the PSS made no
    // change for it), up to the one before the step that reaches the next change's conditions.
    // One step, or one per examination period when the groups crossed their thresholds in
    // different periods; a real server's suspension or wake is timed from the step that planned it.
    let end = lc.findIndex((c, k) => k >= from && same(c, s));
    if (end < 0) {
      const next = sc[n + 1];
      const j = next ? lc.findIndex((c, k) => k >= from && same(c, next)) : -1;
      end = (j < 0 ? lc.length : j) - 1;
    }
    const steps = end >= from ? lc.slice(from, end + 1) : [];
    const l = steps.at(-1) ?? null;
    const first = (pick: (c: Change) => Record<string, number>, h: string) => steps.map((c) => pick(c)[h]).find((x) => x !== undefined);
    from = Math.max(from, end + 1);
    row(`${s.label}: change done s`, 'mgmt', l?.doneS, s.doneS);
    row(`${s.label}: spares suspended too s`, 'mgmt', l?.settledS, s.settledS);
    for (const h of Object.keys(s.suspended)) row(`${s.label}: ${h} suspended s`, h, first((c) => c.suspended, h), s.suspended[h]);
    for (const h of Object.keys(s.woken)) row(`${s.label}: ${h} on again s`, h, first((c) => c.woken, h), s.woken[h]);
    if (steps.length > 1) row(`${s.label}: steps live (sim 1)`, 'mgmt', steps.length, 1);
  });
  return rows;
}
