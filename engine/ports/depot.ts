import type { PortResult } from './result.ts';

/**
 * A host's Service Depot (wong-2014's Navigator): it reports how long its host has been up and
 * executes bulk operations on the host's disk, such as copying a container image.
 */
export interface Depot {
  /**
   * Copies `bytes` from host `from` to host `to` at `rateBps` bits per second (from === to: a
   * local backup copy). Resolves when the copy is complete; rejects when either end goes away.
   */
  copyImage(from: string, to: string, bytes: number, rateBps: number): PortResult<void>;
  /** Seconds since `host` last booted. */
  uptime(host: string): PortResult<number>;
}
