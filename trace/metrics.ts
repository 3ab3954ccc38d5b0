// Metric extractors: they read a trace (sim or live, same schema) and nothing else.
// Policies log what they do (trouble.detected, function.recovered, target.recovered, like the
// papers' system log); the world logs faults, states and the clients' access log.

import type { TraceEvent } from './event.ts';

/** A trace line as the extractors read it (the one trace type). */
export type TraceLine = TraceEvent;

const US = 1_000_000;

export interface Recovery {
  target: string;
  /** The fault that preceded detection (kind), if the trace has one. */
  fault: string | null;
  faultUs: number | null;
  detectedUs: number;
  /** Detection -> function recovered by the backup (the papers' "recovery time of server function"). */
  functionRecoveryS: number | null;
  /** Detection -> target server back in service. */
  targetRecoveryS: number | null;
  /** Fault -> function recovered (what a user waits). */
  faultToFunctionS: number | null;
  faultToTargetS: number | null;
}

/** One row per `trouble.detected`: the times to function and to target recovery. */
export function recoveries(events: TraceLine[]): Recovery[] {
  const out: Recovery[] = [];
  const lastFault = new Map<string, TraceLine>();
  const open = new Map<string, Recovery>();
  for (const e of events) {
    if (e.kind === 'fault') lastFault.set(e.subject, e);
    else if (e.kind === 'trouble.detected') {
      if (open.has(e.subject)) continue; // a second manager (P2) detecting the same trouble
      const f = lastFault.get(e.subject) ?? null;
      const r: Recovery = {
        target: e.subject,
        fault: f ? String(f.data?.fault ?? '') : null,
        faultUs: f ? f.t : null,
        detectedUs: e.t,
        functionRecoveryS: null,
        targetRecoveryS: null,
        faultToFunctionS: null,
        faultToTargetS: null,
      };
      open.set(e.subject, r);
      out.push(r);
    } else if (e.kind === 'function.recovered') {
      const r = open.get(e.subject);
      if (r && r.functionRecoveryS === null) {
        r.functionRecoveryS = (e.t - r.detectedUs) / US;
        if (r.faultUs !== null) r.faultToFunctionS = (e.t - r.faultUs) / US;
      }
    } else if (e.kind === 'target.recovered') {
      const r = open.get(e.subject);
      if (r) {
        r.targetRecoveryS = (e.t - r.detectedUs) / US;
        if (r.faultUs !== null) r.faultToTargetS = (e.t - r.faultUs) / US;
        open.delete(e.subject);
        lastFault.delete(e.subject);
      }
    } else if (e.kind === 'target.down') {
      open.delete(e.subject);
    }
  }
  return out;
}

export interface Disconnection {
  client: string;
  vip: string;
  fromUs: number;
  /** null while still disconnected at the end of the trace. */
  toUs: number | null;
  durationS: number | null;
}

/** XX stretches of each client's access log (first XX -> first OK after it). */
export function disconnections(events: TraceLine[]): Disconnection[] {
  const out: Disconnection[] = [];
  const open = new Map<string, Disconnection>();
  for (const e of events) {
    if (e.kind !== 'client.access') continue;
    const ok = e.data?.ok === true;
    const cur = open.get(e.subject);
    if (!ok && !cur) {
      const d: Disconnection = { client: e.subject, vip: String(e.data?.vip ?? ''), fromUs: e.t, toUs: null, durationS: null };
      open.set(e.subject, d);
      out.push(d);
    } else if (ok && cur) {
      cur.toUs = e.t;
      cur.durationS = (e.t - cur.fromUs) / US;
      open.delete(e.subject);
    }
  }
  return out;
}

/** Fraction of [startUs, endUs] each client found its VIP serving. */
export function availability(events: TraceLine[], endUs: number, startUs = 0): Record<string, number> {
  const state = new Map<string, { ok: boolean; since: number; upUs: number }>();
  for (const e of events) {
    if (e.kind !== 'client.access' || e.t > endUs) continue;
    const s = state.get(e.subject) ?? { ok: false, since: startUs, upUs: 0 };
    const t = Math.max(e.t, startUs);
    if (s.ok) s.upUs += t - s.since;
    s.ok = e.data?.ok === true;
    s.since = t;
    state.set(e.subject, s);
  }
  const out: Record<string, number> = {};
  const span = endUs - startUs;
  for (const [client, s] of state) out[client] = span > 0 ? (s.upUs + (s.ok ? endUs - s.since : 0)) / span : 1;
  return out;
}

/** Energy per host and in total, in watt-hours, from host.state events (watts per state). */
export function energyWh(events: TraceLine[], endUs: number, startUs = 0): { perHost: Record<string, number>; total: number } {
  const cur = new Map<string, { watts: number; since: number; wUs: number }>();
  for (const e of events) {
    if (e.kind !== 'host.state' || e.t > endUs) continue;
    const c = cur.get(e.subject) ?? { watts: 0, since: startUs, wUs: 0 };
    const t = Math.max(e.t, startUs);
    c.wUs += c.watts * (t - c.since);
    c.watts = Number(e.data?.watts ?? 0);
    c.since = t;
    cur.set(e.subject, c);
  }
  const perHost: Record<string, number> = {};
  let total = 0;
  for (const [h, c] of cur) {
    const wh = (c.wUs + c.watts * (endUs - c.since)) / US / 3600;
    perHost[h] = wh;
    total += wh;
  }
  return { perHost, total };
}

/** Safety: the largest number of simultaneously assigned holders any VIP had (live or not). */
export function maxVipHolders(events: TraceLine[]): Record<string, number> {
  const holders = new Map<string, Set<string>>();
  const max: Record<string, number> = {};
  for (const e of events) {
    if (e.kind !== 'vip.assign' && e.kind !== 'vip.remove') continue;
    const set = holders.get(e.subject) ?? new Set<string>();
    if (e.kind === 'vip.assign') set.add(String(e.data?.holder));
    else set.delete(String(e.data?.holder));
    holders.set(e.subject, set);
    max[e.subject] = Math.max(max[e.subject] ?? 0, set.size);
  }
  return max;
}

export { parseNdjson } from './ndjson.ts';
