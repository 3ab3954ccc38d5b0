import type { PortResult } from './result.ts';

/** One load sample of a real server (the paper's `sar` reading). */
export interface LoadSample {
  /** Available memory, KB. */
  memFreeKb: number;
  /** Total memory, KB. */
  memTotalKb: number;
  /** CPU idle, percent of all cores (0..100 * cores). */
  cpuIdlePct: number;
  cores: number;
  /** Bytes sent + received per second. */
  netBytesPerS: number;
  /** Rated transfer rate, send + receive, bytes per second. */
  netRatedBytesPerS: number;
}

export interface LoadSampler {
  sample(host: string): PortResult<LoadSample>;
}

/** Counting requests (the Ports' `load` is a LoadSampler and an AccessCounter). */
export interface AccessCounter {
  /** Requests `node` received over the last `windowUs` (the paper's `tcpdump` count, kitamura-2019 Fig. 6(c)). */
  accesses(node: string, windowUs: number): PortResult<number>;
}

/**
 * Lets the runtime skip a quiet load sampler exactly in sim (`awaitLoadChange`): the world's load
 * of a host now (what `sample` returns at its completion, for the agent's own host), the sample's
 * latency, and a call back whenever that load may change. Live mode has none.
 */
export interface LoadOracle {
  now(host: string): LoadSample;
  latencyUs(host: string): number;
  subscribe(host: string, onChange: () => void): () => void;
}
