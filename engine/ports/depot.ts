import type { PortResult } from './result.ts';

/** One row of the monitoring service's data (its database lives on the primary's PC). */
export interface MonitorSample {
  /** Numbers the rows across primaries: a new primary goes on from the restored database's last. */
  seq: number;
  /** When it was taken (µs of the run's clock). */
  tUs: number;
  /** The PC whose pilot wrote it. */
  host: string;
  item: string;
  value: number;
}

/** What a database dump or restore held. */
export interface DatabaseSummary {
  rows: number;
  /** The highest `seq` in it (0: empty). */
  lastSeq: number;
}

/**
 * A host's Service Depot (wong-2014's Navigator): it reports how long its host has been up and
 * executes bulk operations on the host's disk, such as copying a container image, and keeps the
 * monitoring service's database (wong-2014 §4.7: the primary dumps it and ships the dump to the
 * secondary every minute; a secondary that takes over restores the last dump it received).
 */
export interface Depot {
  /**
   * Copies `bytes` from host `from` to host `to` at `rateBps` bits per second (from === to: a
   * local backup copy). Resolves when the copy is complete; rejects when either end goes away.
   */
  copyImage(from: string, to: string, bytes: number, rateBps: number): PortResult<void>;
  /** Seconds since `host` last booted. */
  uptime(host: string): PortResult<number>;
  /** Appends a row to the monitoring database on `host`'s disk (created if missing). */
  recordSample(host: string, sample: MonitorSample): PortResult<void>;
  /**
   * Dumps the monitoring database on `from` and ships the dump to `to`'s depot at `rateBps` (the
   * dump's real size sets the time live; `bytes` bounds it). Resolves with what the dump holds,
   * once the whole dump is on `to`; a dump shipped earlier stays until then.
   */
  syncDatabase(from: string, to: string, bytes: number, rateBps: number): PortResult<DatabaseSummary>;
  /** Replaces `host`'s monitoring database with the last dump it received (none: an empty database). */
  restoreDatabase(host: string): PortResult<DatabaseSummary>;
}
