// Navigator's (wong-2014) times as its Table 5-7 measures them, read from a trace (sim or live):
// for every PC shut down (fault host-shutdown, or a user switching it off: churn.power off), whether it held the primary or the secondary
// container (from the tracking records, `navigator.track`, before the fault), and the seconds from
// the shutdown to the tracking record of the new role: the failover after a primary failure (the
// secondary's pilot takes the primary role), the fallback (a new secondary runs again), the
// failover after a secondary failure (a new secondary runs), and the client's outage.
import { disconnections, type TraceLine } from './metrics.ts';

const S = 1_000_000;

export interface NavigatorFaultTimes {
  /** The PC shut down, and when (µs), and how: a fault, or a user's switch (churn). */
  host: string;
  faultUs: number;
  cause: 'fault' | 'churn';
  /** What it held at the time (null: neither container). */
  role: 'primary' | 'secondary' | null;
  /** Primary lost: shutdown -> the new primary's record (failover: true). */
  primaryFailoverS: number | null;
  /** Primary lost: shutdown -> the first secondary record after that failover. */
  fallbackS: number | null;
  /** Secondary lost: shutdown -> the next secondary record. */
  secondaryFailoverS: number | null;
  /**
   * The loss seen: shutdown -> the first record of a pilot finding the lost container's PC
   * (`navigator.primary-lost` by the secondary's pilot, `navigator.secondary-lost` by the
   * primary's), null when none came before the next shutdown. Where in the pilot's check
   * interval the shutdown fell is chance; the time from this record on is not.
   */
  detectedS: number | null;
  /** The client's outage of the service IP that began after the shutdown, before the next one (seconds), if any. */
  downtimeS: number | null;
}

interface Track { t: number; role: string; host: string; failover: boolean }

/** One row per PC shut down (`fault` host-shutdown, `churn.power` off), in time order. */
export function navigatorFaultTimes(ev: readonly TraceLine[], vip?: string): NavigatorFaultTimes[] {
  const tracks: Track[] = ev.filter((e) => e.kind === 'navigator.track').map((e) => ({ t: e.t, role: String(e.data?.role), host: String(e.data?.host), failover: e.data?.failover === true }));
  const outs = disconnections([...ev]);
  const isShutdown = (e: TraceLine) => (e.kind === 'fault' && e.data?.fault === 'host-shutdown') || (e.kind === 'churn.power' && e.data?.on === false);
  const downs = ev.filter(isShutdown);
  return downs.map((f, i) => {
    // The outage this shutdown caused begins before the next one.
    const untilUs = downs[i + 1]?.t ?? Infinity;
    let primary: string | null = null;
    let secondary: string | null = null;
    for (const x of tracks) {
      if (x.t > f.t) break;
      if (x.role === 'primary') {
        primary = x.host;
        if (secondary === x.host) secondary = null;
      } else if (x.role === 'secondary') secondary = x.host;
    }
    const role = f.subject === primary ? 'primary' : f.subject === secondary ? 'secondary' : null;
    const after = tracks.filter((x) => x.t >= f.t);
    const since = (t: number | undefined) => (t === undefined ? null : (t - f.t) / S);
    const took = role === 'primary' ? after.find((x) => x.role === 'primary' && x.failover) : undefined;
    const fallback = took ? after.find((x) => x.role === 'secondary' && x.t >= took.t) : undefined;
    const out = outs.find((d) => d.fromUs >= f.t && d.fromUs < untilUs && (vip === undefined || d.vip === vip));
    const lost = role === null ? undefined : ev.find((e) => e.t >= f.t && e.t < untilUs
      && (role === 'primary' ? e.kind === 'navigator.primary-lost' && e.data?.primaryHost === f.subject : e.kind === 'navigator.secondary-lost' && e.data?.secondaryHost === f.subject));
    return {
      host: f.subject,
      faultUs: f.t,
      cause: f.kind === 'fault' ? 'fault' as const : 'churn' as const,
      role,
      primaryFailoverS: since(took?.t),
      fallbackS: since(fallback?.t),
      secondaryFailoverS: role === 'secondary' ? since(after.find((x) => x.role === 'secondary')?.t) : null,
      detectedS: since(lost?.t),
      downtimeS: out?.durationS ?? null,
    };
  });
}
