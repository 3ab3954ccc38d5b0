// Prober: reachability and service examination, each bounded by a timeout.
import type { LoadOracle } from './load.ts';
import type { PortResult } from './result.ts';

export type ProbeSpec =
  /** Network examination: is `target` (host or VM name) reachable from the prober? */
  | { kind: 'network'; target: string; timeoutUs: number }
  /** Service examination: request and reply to `service` on `target`. */
  | { kind: 'service'; target: string; service: string; timeoutUs: number }
  /**
   * A monitoring round as the papers do it: network examination first (ping, `networkTimeoutUs`),
   * then each service in turn (request/reply, `serviceTimeoutUs`). Stops at the first failure;
   * detail is 'ok', 'network', or 'service:<name>:<refused|timeout>'.
   */
  | { kind: 'examine'; target: string; services: string[]; networkTimeoutUs: number; serviceTimeoutUs: number };

export interface ProbeResult {
  ok: boolean;
  /** 'ok' | 'unreachable' | 'timeout' | 'refused' | 'stopped' ... */
  detail: string;
  latencyUs: number;
}

export interface Prober {
  probe(spec: ProbeSpec): PortResult<ProbeResult>;
}

/**
 * Lets the runtime skip quiet monitoring in sim: the world tells whether a probe would pass
 * right now (without time or randomness) and calls back when anything it depends on changes.
 * Live mode has no oracle; `watch` then loops real probes.
 */
export interface QuietOracle {
  wouldPass(spec: ProbeSpec): boolean;
  /** How long the probe takes when it passes (fixed: passing probes draw no randomness). */
  passLatencyUs(spec: ProbeSpec): number;
  subscribe(spec: ProbeSpec, onChange: () => void): () => void;
  /** The load sampler's oracle (`awaitLoadChange`). */
  load?: LoadOracle;
}
