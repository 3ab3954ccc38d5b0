// The health-lights rule (chen-lo-2015 §3.3, Fig. 8), one pure module for the page and the
// server's lights API, sim runs and live runs alike:
//   - every monitored object has two lights; the first turns red after one failed scan, the
//     second after three consecutive failed scans; a passing scan turns both green;
//   - an object in standby (suspended, not started: not probed) has both lights dark;
//   - a light whose last scan is older than STALE_INTERVALS probe intervals (or that has never
//     been scanned, or whose source has ended) is stale: never a confident green or red.
// Plus the history the paper's Monitor and History pages show: each object's light changes, and
// all of them in one system-wide list.

export type Level = 'Application' | 'Network' | 'Physical' | 'Server';
export const LEVELS: Level[] = ['Application', 'Network', 'Physical', 'Server'];
export type LightColor = 'green' | 'red' | 'dark' | 'stale';
export type LightPair = [LightColor, LightColor];

/** A light is stale when its last scan is older than this many probe intervals. */
export const STALE_INTERVALS = 2;
/** Failed scans in a row that turn the first and the second light red. */
export const FIRST_RED_MISSES = 1;
export const SECOND_RED_MISSES = 3;

/** One scan of an object: it answered (ok), it did not, or it is in standby (not probed). */
export interface Scan {
  ok: boolean;
  standby?: boolean;
}

/** Consecutive failed scans after one more scan. */
export function missesAfter(misses: number, scan: Scan): number {
  return scan.standby || scan.ok ? 0 : misses + 1;
}

/** The two lights for a count of consecutive failed scans (standby: dark). */
export function lightPair(misses: number, standby = false): LightPair {
  if (standby) return ['dark', 'dark'];
  return [misses >= FIRST_RED_MISSES ? 'red' : 'green', misses >= SECOND_RED_MISSES ? 'red' : 'green'];
}

/** What is known of one light: its count, whether its last scan said standby, when that scan was (null: never). */
export interface LightReading {
  misses: number;
  standby: boolean;
  lastUs: number | null;
}

/** True when the reading cannot be trusted at `nowUs`: never scanned, or silent for more than STALE_INTERVALS intervals. */
export function isStale(r: LightReading, nowUs: number, intervalUs: number): boolean {
  return r.lastUs === null || nowUs - r.lastUs > STALE_INTERVALS * intervalUs;
}

/** The whole rule: the two lights of a reading at `nowUs` (stale ones grey, never green). */
export function judge(r: LightReading, nowUs: number, intervalUs: number): LightPair {
  if (isStale(r, nowUs, intervalUs)) return ['stale', 'stale'];
  return lightPair(r.misses, r.standby);
}

/** Folds a time-ordered sequence of scans of one light into its reading. */
export function foldScans(scans: ReadonlyArray<Scan & { t: number }>): LightReading {
  let r: LightReading = { misses: 0, standby: false, lastUs: null };
  for (const s of scans) r = { misses: missesAfter(r.misses, s), standby: s.standby === true, lastUs: s.t };
  return r;
}

/** One change of an object's lights. */
export interface LightChange {
  t: number;
  id: string;
  level: Level;
  label: string;
  lights: LightPair;
  misses: number;
  /** Why: the scan's detail, "standby", "stale: ...". */
  note: string | null;
}

/**
 * The lights' history: a change is kept when an object's pair of colours differs from the last
 * one kept for it. Per object (the paper's link next to a light) and for the whole system (its
 * History page). At most `limit` changes are kept in all (the oldest go first).
 */
export class LightHistory {
  private readonly last = new Map<string, LightPair>();
  private readonly changes: LightChange[] = [];
  private dropped = 0;

  constructor(readonly limit = 100_000) {}

  /** Records `c` if the object's lights changed; returns whether it did. */
  note(c: LightChange): boolean {
    const prev = this.last.get(c.id);
    if (prev && prev[0] === c.lights[0] && prev[1] === c.lights[1]) return false;
    this.last.set(c.id, c.lights);
    this.changes.push(c);
    if (this.changes.length > this.limit) {
      const cut = this.changes.length - this.limit;
      this.changes.splice(0, cut);
      this.dropped += cut;
    }
    return true;
  }

  /** The last pair recorded for an object, if any. */
  current(id: string): LightPair | undefined {
    return this.last.get(id);
  }

  /** Every change, oldest first (the whole-system history). */
  all(): LightChange[] {
    return [...this.changes];
  }

  /** The changes of one object, oldest first. */
  of(id: string): LightChange[] {
    return this.changes.filter((c) => c.id === id);
  }

  /** Changes dropped because the history passed its limit. */
  get droppedCount(): number {
    return this.dropped;
  }
}
