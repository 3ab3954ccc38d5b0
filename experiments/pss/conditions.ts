// The PSS's conditions read off a trace (policies/pss traces pss.transition / .done / .settled) and
// the watts of the real servers at an instant: shared by pss-table4, pss-fig12 and pss-day.
import type { TraceEvent } from '../../trace/event.ts';

export const REAL = ['RS1', 'RS2', 'RS3'];

export type Cond = 'moderate' | 'ps1' | 'ps2';

/** Total watts of the real servers at instant t (from the host.state events). */
export function powerAt(ev: readonly TraceEvent[], t: number): number {
  const w = new Map<string, number>();
  for (const e of ev) {
    if (e.t > t) break;
    if (e.kind === 'host.state' && REAL.includes(e.subject)) w.set(e.subject, Number(e.data?.watts ?? 0));
  }
  return [...w.values()].reduce((a, b) => a + b, 0);
}

const allOf = (c: Record<string, unknown> | undefined): Cond | null => {
  const v = Object.values((c ?? {}) as Record<string, Cond>);
  return v.length > 0 && v.every((x) => x === v[0]) ? v[0] : null;
};

/** The condition changes of a trace: from, to, durations, and when the new condition holds from / until. */
export function transitions(ev: readonly TraceEvent[], endUs: number): Array<{ from: Cond; to: Cond; durationS: number; settledS: number | null; startUs: number; doneUs: number; untilUs: number }> {
  const out: Array<{ from: Cond; to: Cond; durationS: number; settledS: number | null; startUs: number; doneUs: number; untilUs: number }> = [];
  let cur: Cond = 'moderate';
  let start = 0;
  for (const e of ev) {
    if (e.kind === 'pss.transition') start = e.t;
    if (e.kind === 'pss.transition.done') {
      const to = allOf(e.data?.conditions as Record<string, unknown>);
      if (to === null) continue;
      if (out.length) out[out.length - 1].untilUs = start;
      out.push({ from: cur, to, durationS: Number(e.data?.durationS), settledS: null, startUs: start, doneUs: e.t, untilUs: endUs });
      cur = to;
    }
    if (e.kind === 'pss.transition.settled' && out.length) out[out.length - 1].settledS = Number(e.data?.durationS);
  }
  return out;
}
