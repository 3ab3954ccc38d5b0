// IPVS schedulers as the Linux kernel runs them (net/netfilter/ipvs/ip_vs_wrr.c, ip_vs_rr.c,
// ip_vs_lc.c), as pure functions over an explicit destination list and scheduler state.
//
// The destination list is the service's list in kernel order: a destination added to a service
// goes to the FRONT of the list (the kernel inserts right after the list head), so `addDest`
// inserts at index 0. Index -1 stands for the list head.
//
// wrr: di = gcd of the positive weights (1 when none), mw = max weight - (di - 1), cw starts at mw.
// Each schedule call walks on from the last pick and returns the first destination with
// weight >= cw; reaching the end of the list lowers cw by di and starts again from the front;
// cw <= 0 wraps to mw. So the passes ask for weights >= mw, mw - di, ..., down to 1, and in one
// full cycle (sum of weights / di picks) every destination of weight w is picked exactly w / di
// times. A change of any destination (add, delete, new weight) recomputes di and mw, puts the
// walk back at the head and keeps cw in range (cw > mw or 0: mw; else rounded to the pass
// grid: (cw / di) * di + 1).
// rr: the next destination after the last pick with weight > 0.
// lc: the destination with the least overhead = active * 256 + inactive, weight > 0; ties go to
// the first in the list.
// Weight 0 quiesces a destination: it keeps its connections but gets no new one.

export interface Dest {
  id: string;
  weight: number;
  /** Over its upper connection threshold (IP_VS_DEST_F_OVERLOAD): skipped. */
  overloaded?: boolean;
  /** Active (established) and inactive connections, for lc. */
  active?: number;
  inactive?: number;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

// ---------- wrr ----------

export interface WrrState {
  /** Index of the last pick (-1: the list head). */
  cl: number;
  /** Current weight. */
  cw: number;
  /** Max weight - (di - 1). */
  mw: number;
  /** Step: gcd of the positive weights. */
  di: number;
}

function gcdWeight(dests: readonly Dest[]): number {
  let g = 0;
  for (const d of dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g || 1;
}

function maxWeight(dests: readonly Dest[]): number {
  let m = 0;
  for (const d of dests) if (d.weight > m) m = d.weight;
  return m;
}

export function wrrInit(dests: readonly Dest[]): WrrState {
  const di = gcdWeight(dests);
  const mw = maxWeight(dests) - (di - 1);
  return { cl: -1, cw: mw, mw, di };
}

/** The state after any destination was added, deleted or changed weight (ip_vs_wrr_dest_changed). */
export function wrrDestChanged(s: WrrState, dests: readonly Dest[]): WrrState {
  const di = gcdWeight(dests);
  const mw = maxWeight(dests) - (di - 1);
  let cw = s.cw;
  if (cw > mw || cw === 0) cw = mw;
  else if (di > 1) cw = Math.floor(cw / di) * di + 1;
  return { cl: -1, cw, mw, di };
}

/** One scheduling decision: the index picked (null: no destination available) and the new state. */
export function wrrSchedule(s0: WrrState, dests: readonly Dest[]): { pick: number | null; state: WrrState } {
  const s = { ...s0 };
  if (s.mw === 0) return { pick: null, state: s };
  const n = dests.length;
  const last = s.cl < n ? s.cl : -1;
  let i = last;
  let stop: number | null = null;
  let lastPass = false;
  let restarted = false;
  for (;;) {
    for (i = i + 1; i < n; i++) {
      const d = dests[i];
      if (!d.overloaded && d.weight >= s.cw) {
        s.cl = i;
        return { pick: i, state: s };
      }
      if (i === stop) {
        s.cl = i;
        return { pick: null, state: s };
      }
    }
    i = -1;
    s.cw -= s.di;
    if (s.cw <= 0) {
      s.cw = s.mw;
      // Every destination has been asked for weight >= 1 already.
      if (lastPass || last === -1) {
        s.cl = -1;
        return { pick: null, state: s };
      }
      restarted = true;
    }
    lastPass = s.cw <= s.di;
    // The first walk asked for >= 1 only after `last`: now the ones up to `last`.
    if (lastPass && restarted && last !== -1) stop = last;
  }
}

// ---------- rr ----------

export interface RrState {
  /** Index of the last pick (-1: the list head). */
  cl: number;
}

export const rrInit = (): RrState => ({ cl: -1 });

export function rrSchedule(s: RrState, dests: readonly Dest[]): { pick: number | null; state: RrState } {
  const n = dests.length;
  const start = s.cl < n ? s.cl : -1;
  let i = start;
  for (let pass = 0; pass < 2; pass++) {
    for (i = i + 1; i < n; i++) {
      if (!dests[i].overloaded && dests[i].weight > 0) return { pick: i, state: { cl: i } };
      if (i === start) return { pick: null, state: s };
    }
    i = -1;
    if (start === -1) break;
  }
  return { pick: null, state: s };
}

// ---------- lc ----------

export const overhead = (d: Dest): number => (d.active ?? 0) * 256 + (d.inactive ?? 0);

export function lcSchedule(dests: readonly Dest[]): number | null {
  let least: number | null = null;
  let loh = 0;
  for (let i = 0; i < dests.length; i++) {
    const d = dests[i];
    if (d.overloaded || d.weight === 0) continue;
    const doh = overhead(d);
    if (least === null || doh < loh) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

// ---------- a service with a changing destination list ----------

export type Algo = 'wrr' | 'rr' | 'lc';

/**
 * One IPVS virtual service: its destination list in kernel order and its scheduler's state.
 * Immutable updates; `schedule` returns the id picked.
 */
export interface Service {
  algo: Algo;
  dests: Dest[];
  wrr: WrrState;
  rr: RrState;
}

export function service(algo: Algo, dests: readonly Dest[] = []): Service {
  // Built by adding one at a time, as ipvsadm/keepalived do: the list ends up reversed.
  let s: Service = { algo, dests: [], wrr: wrrInit([]), rr: rrInit() };
  for (const d of dests) s = addDest(s, d);
  return s;
}

export function addDest(s: Service, d: Dest): Service {
  if (s.dests.some((x) => x.id === d.id)) throw new Error(`destination ${d.id} is already in the service`);
  const dests = [{ ...d }, ...s.dests];
  // rr keeps pointing at the same destination (one further along the array).
  return { ...s, dests, wrr: wrrDestChanged(s.wrr, dests), rr: { cl: s.rr.cl === -1 ? -1 : s.rr.cl + 1 } };
}

export function delDest(s: Service, id: string): Service {
  const k = s.dests.findIndex((x) => x.id === id);
  if (k < 0) return s;
  const dests = s.dests.filter((_, i) => i !== k);
  // rr: pointing at the deleted one moves back to its predecessor (ip_vs_rr_del_dest).
  const cl = s.rr.cl === k ? k - 1 : s.rr.cl > k ? s.rr.cl - 1 : s.rr.cl;
  return { ...s, dests, wrr: wrrDestChanged(s.wrr, dests), rr: { cl } };
}

export function setWeight(s: Service, id: string, weight: number): Service {
  const dests = s.dests.map((x) => (x.id === id ? { ...x, weight } : x));
  return { ...s, dests, wrr: wrrDestChanged(s.wrr, dests) };
}

/** Sets the connection counts of a destination (lc). */
export function setConns(s: Service, id: string, active: number, inactive = 0): Service {
  return { ...s, dests: s.dests.map((x) => (x.id === id ? { ...x, active, inactive } : x)) };
}

export function schedule(s: Service): { id: string | null; service: Service } {
  if (s.algo === 'wrr') {
    const { pick, state } = wrrSchedule(s.wrr, s.dests);
    return { id: pick === null ? null : s.dests[pick].id, service: { ...s, wrr: state } };
  }
  if (s.algo === 'rr') {
    const { pick, state } = rrSchedule(s.rr, s.dests);
    return { id: pick === null ? null : s.dests[pick].id, service: { ...s, rr: state } };
  }
  const pick = lcSchedule(s.dests);
  return { id: pick === null ? null : s.dests[pick].id, service: s };
}

/** The picks of `count` schedule calls in a row. */
export function scheduleMany(s0: Service, count: number): { ids: Array<string | null>; service: Service } {
  let s = s0;
  const ids: Array<string | null> = [];
  for (let k = 0; k < count; k++) {
    const r = schedule(s);
    ids.push(r.id);
    s = r.service;
  }
  return { ids, service: s };
}

/** wrr's cycle length: the sum of the weights over their gcd (0 when no weight is positive). */
export function wrrCycle(dests: readonly Dest[]): number {
  const di = gcdWeight(dests);
  return dests.reduce((a, d) => a + (d.overloaded ? 0 : Math.max(0, d.weight)), 0) / di;
}

/** One wrr cycle as IPVS schedules it from a fresh table: the ids picked, in order (the live nftables pool's slots). */
export function wrrCycleOrder(members: ReadonlyArray<{ id: string; weight: number }>): string[] {
  const dests: Dest[] = members.filter((m) => m.weight > 0).map((m) => ({ id: m.id, weight: m.weight }));
  const n = wrrCycle(dests);
  const out: string[] = [];
  let s = wrrInit(dests);
  for (let k = 0; k < n; k++) {
    const r = wrrSchedule(s, dests);
    s = r.state;
    if (r.pick === null) break;
    out.push(dests[r.pick].id);
  }
  return out;
}
