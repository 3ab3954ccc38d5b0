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
