import type { PortResult } from './result.ts';

export interface Versioned<T> {
  value: T;
  /** Changes on every write; 0 means "absent". */
  version: number;
}

/** Management records with atomic compare-and-set (etcd live, a map in sim). */
export interface Store {
  get<T = unknown>(key: string): PortResult<Versioned<T> | null>;
  /** Writes `value` if the record's version is still `expectVersion` (0: must be absent). */
  cas<T = unknown>(key: string, expectVersion: number, value: T): PortResult<{ ok: boolean; version: number }>;
  /** Deletes if the version matches. */
  del(key: string, expectVersion: number): PortResult<boolean>;
  list<T = unknown>(prefix: string): PortResult<Array<{ key: string } & Versioned<T>>>;
}

const deepFrozen = new WeakSet<object>();

/**
 * Marks `v` as plain data nobody can change (frozen arrays and plain objects down to the
 * primitives), as the writer of a record promises: a store that keeps its own copy of each written
 * value keeps such a value as it is, without walking it. The caller answers for the promise (a
 * test walks what it marks); `v` itself must already be frozen.
 */
export function markDeepFrozen<T extends object>(v: T): T {
  if (!Object.isFrozen(v)) throw new TypeError('markDeepFrozen: the value is not frozen');
  deepFrozen.add(v);
  return v;
}

/** Was `v` marked (or found, and then marked, by a store) deep-frozen? */
export function isMarkedDeepFrozen(v: object): boolean {
  return deepFrozen.has(v);
}

/**
 * The first index i in [0, n) for which `before(i)` is false, where `before` is true for a prefix
 * of the indexes and false after it (a binary search over a sorted list: `before(i)` = item i
 * sorts before the one sought); n when it is true for all.
 */
export function lowerBound(n: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
