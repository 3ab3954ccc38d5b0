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
   * detail is 'ok', 'network', or 'service:<name>:<refused|timeout>'. `round`: a monitoring loop's
   * periodic examination (not a re-examination or a check after a repair); a sim replication
   * paired with a live run replays the durations of live's rounds on it (run/calibrate.ts
   * pairedWithLive). The live prober ignores it.
   */
  | { kind: 'examine'; target: string; services: string[]; networkTimeoutUs: number; serviceTimeoutUs: number; round?: boolean };

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
  /** A VIP's holders as `network.vipHolders` reads them (`awaitHoldersChange`). */
  holders?: HoldersOracle;
  /** The agent's view of store records (`awaitHoldersChange`). */
  store?: StoreOracle;
  /** One simulation's state as every agent sees it (the orphan watchers' shared rounds). */
  shared?: SharedQuietOracle;
}

/**
 * What does not depend on the agent asking, the same object for every agent of one simulation:
 * quiet loops of many agents that look at the same things keep one subscription for all of them.
 */
export interface SharedQuietOracle {
  /** The record of `key` as stored, whatever an agent's reach of the store (null: none). */
  peek(key: string): unknown;
  /** Calls back after every write or delete of `key` (not on changes of an agent's reach). */
  onWrite(key: string, onChange: () => void): () => void;
  /**
   * Calls back whenever a network probe of `host` may change for some agent while that agent's
   * probe of its own host does not: with a subscription to the agent's probe of its own host
   * (`QuietOracle.subscribe`), it covers the agent's network probe of `host`.
   */
  subscribeHost(host: string, onChange: () => void): () => void;
  /**
   * Whether a network probe of `host` passes for every agent whose probe of its own host passes,
   * or null when that depends on the agent (a partition in place, a VIP's name).
   */
  passesForAll(host: string): boolean | null;
}

/**
 * Lets the runtime skip a quiet VIP audit exactly in sim: a VIP's holders now (what
 * `network.vipHolders` returns at its completion), the call's latency, a call back whenever they
 * may change. Live mode has none.
 */
export interface HoldersOracle {
  now(vip: string): string[];
  latencyUs(): number;
  subscribe(vip: string, onChange: () => void): () => void;
}

/**
 * The agent's store, read without time: does the agent reach the store now (a store call would
 * answer at once) and does `holds` accept the record of `key` (null when there is none)? The
 * call back comes on every write or delete of `key` and every change that may move the agent's
 * reach of the store (over-approximate, never missing one).
 */
export interface StoreOracle {
  holds(key: string, holds: (value: unknown) => boolean): boolean;
  /** With `part`, only the writes that may change that part of the record call back (see StorePart). */
  subscribe(key: string, onChange: () => void, part?: StorePart): () => void;
}

/**
 * A named part of a store record: `changed(before, after)` gives (a superset of) the names whose
 * part a write from `before` to `after` changes (values as stored, null: no record). A check that
 * reads only its part is told only of those writes. Subscribers share `changed` by identity (the
 * store calls each distinct function once per write).
 */
export interface StorePart {
  name: string;
  changed: (before: unknown, after: unknown) => Iterable<string>;
}
