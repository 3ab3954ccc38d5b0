// Reading an lbcluster trace: VRRP states, takeovers, the pool and the clients' `by` log.
import type { TraceLine } from '../../trace/metrics.ts';

/**
 * Each router's VRRP state at `tUs` from the trace: its last vrrp.state, unless its host left
 * 'on' after it (the process died with the host: a kill, no trace line of its own) — then 'dead'.
 */
export function vrrpStatesAt(events: readonly TraceLine[], instance: string, tUs: number): Record<string, string> {
  const state: Record<string, string> = {};
  const hostOf = new Set<string>();
  for (const e of events) {
    if (e.t > tUs) break;
    if (e.kind === 'vrrp.state' && e.subject === instance) {
      const r = String(e.data?.router);
      state[r] = String(e.data?.to);
      hostOf.add(r);
    } else if (e.kind === 'host.state' && hostOf.has(e.subject) && e.data?.state !== 'on' && e.data?.state !== 'paused') {
      state[e.subject] = 'dead';
    }
  }
  return state;
}

export function mastersAt(events: readonly TraceLine[], instance: string, tUs: number): string[] {
  return Object.entries(vrrpStatesAt(events, instance, tUs)).filter(([, s]) => s === 'master').map(([r]) => r).sort();
}

/** The first router (other than `not`) to become master after `afterUs`, and when. */
export function nextMaster(events: readonly TraceLine[], instance: string, afterUs: number, not?: string): { router: string; tUs: number } | null {
  for (const e of events) {
    if (e.t <= afterUs || e.kind !== 'vrrp.state' || e.subject !== instance || e.data?.to !== 'master') continue;
    const router = String(e.data?.router);
    if (router !== not) return { router, tUs: e.t };
  }
  return null;
}

/** The adverts a router sent (needs traceAdverts), in time order. */
export function advertsOf(events: readonly TraceLine[], instance: string, router: string): Array<{ tUs: number; priority: number }> {
  return events
    .filter((e) => e.kind === 'vrrp.advert' && e.subject === instance && e.data?.router === router)
    .map((e) => ({ tUs: e.t, priority: Number(e.data?.priority) }));
}

/** Client accesses of a load-balanced VIP: time, result, and the real server picked. */
export function lbAccesses(events: readonly TraceLine[], client?: string): Array<{ tUs: number; ok: boolean; by: string | null }> {
  return events
    .filter((e) => e.kind === 'client.access' && (client === undefined || e.subject === client))
    .map((e) => ({ tUs: e.t, ok: e.data?.ok === true, by: typeof e.data?.by === 'string' ? e.data.by : null }));
}

/** pool.add / pool.remove lines of a pool. */
export function poolChanges(events: readonly TraceLine[], pool: string): Array<{ tUs: number; member: string; weight: number | null }> {
  return events
    .filter((e) => (e.kind === 'pool.add' || e.kind === 'pool.remove') && e.subject === pool)
    .map((e) => ({ tUs: e.t, member: String(e.data?.member), weight: e.kind === 'pool.add' ? Number(e.data?.weight) : null }));
}
