// keepalived's real-server health checking (the checkers child: TCP_CHECK, HTTP_GET, ...) and
// what it does to the IPVS pool, as pure state machines. Source: keepalived 2.2.7,
// keepalived/check/check_tcp.c (tcp_epilog), check_api.c (defaults), ipwrapper.c (pool, quorum,
// sorry server).
//
// One checker per real server:
// - a try connects (or sends its request); a refused connection fails at once, a silent server
//   fails after connect_timeout; success comes back at once (the round trip is not modelled).
// - after a success, or after a failure once `retry` retries were used up, the next try is
//   delay_loop later and the retry count starts again; after any other failure it is
//   delay_before_retry later.
// - the server goes DOWN on the failure that exhausts its retries (retry + 1 failures in a row)
//   and UP again on the first success.
// Defaults: delay_loop 60 s, connect_timeout 5 s, retry 1, delay_before_retry 1 s. A checker
// starts UP (alpha mode: DOWN until its first success).
//
// The pool of one virtual server: alive real servers at their weight; a dead one is removed,
// or kept at weight 0 with inhibit_on_failure. Quorum: the weights of the alive servers add up to
// a sum; the quorum is gained when sum >= quorum + hysteresis and lost when sum < quorum -
// hysteresis (or sum is 0). Without quorum a sorry server, if there is one, replaces the real
// servers; when quorum comes back it leaves and the alive servers return.

export const S = 1_000_000;

export interface CheckerConfig {
  delayLoopUs: number;
  connectTimeoutUs: number;
  retry: number;
  delayBeforeRetryUs: number;
  /** Start DOWN until the first success (keepalived's `alpha`). */
  alpha: boolean;
}

export const CHECKER_DEFAULTS: CheckerConfig = { delayLoopUs: 60 * S, connectTimeoutUs: 5 * S, retry: 1, delayBeforeRetryUs: 1 * S, alpha: false };

export interface CheckerState {
  up: boolean;
  hasRun: boolean;
  /** Retries used since the last success or the last exhausted round. */
  retryIt: number;
  /** When the next try starts. */
  nextTryUs: number;
}

export function checkerStart(c: CheckerConfig, nowUs: number): CheckerState {
  return { up: !c.alpha, hasRun: false, retryIt: 0, nextTryUs: nowUs };
}

/** The outcome of one try: passed, refused (fails at once) or no answer (fails at connect_timeout). */
export type TryOutcome = 'ok' | 'refused' | 'timeout';

/** When a try started at `startUs` with this outcome ends. */
export function tryEndUs(c: CheckerConfig, startUs: number, outcome: TryOutcome): number {
  return outcome === 'timeout' ? startUs + c.connectTimeoutUs : startUs;
}

/**
 * The end of a try (tcp_epilog): the new state, when the next try starts, and the transition of
 * the server if any.
 */
export function checkerResult(c: CheckerConfig, s: CheckerState, ok: boolean, endUs: number): { state: CheckerState; transition: 'up' | 'down' | null } {
  let transition: 'up' | 'down' | null = null;
  let up = s.up;
  let retryIt = s.retryIt;
  let delay: number;
  if (ok || retryIt >= c.retry) {
    delay = c.delayLoopUs;
    retryIt = 0;
    if (ok && (!up || !s.hasRun)) {
      if (!up) transition = 'up';
      up = true;
    } else if (!ok && (up || !s.hasRun)) {
      if (up) transition = 'down';
      up = false;
    }
  } else {
    delay = c.delayBeforeRetryUs;
    retryIt++;
  }
  return { state: { up, hasRun: true, retryIt, nextTryUs: endUs + delay }, transition };
}

/** The server as the checker sees it over time: the outcome of a try that starts at `tUs`. */
export type ServerBehaviour = (tUs: number) => TryOutcome;

/** Runs one checker from `startUs` to `untilUs` against a server; returns its UP/DOWN transitions and tries. */
export function runChecker(c: CheckerConfig, server: ServerBehaviour, startUs: number, untilUs: number): {
  transitions: Array<{ tUs: number; to: 'up' | 'down' }>;
  tries: Array<{ startUs: number; endUs: number; outcome: TryOutcome }>;
  state: CheckerState;
} {
  let s = checkerStart(c, startUs);
  const transitions: Array<{ tUs: number; to: 'up' | 'down' }> = [];
  const tries: Array<{ startUs: number; endUs: number; outcome: TryOutcome }> = [];
  while (s.nextTryUs <= untilUs) {
    const start = s.nextTryUs;
    const outcome = server(start);
    const end = tryEndUs(c, start, outcome);
    if (end > untilUs) break;
    tries.push({ startUs: start, endUs: end, outcome });
    const r = checkerResult(c, s, outcome === 'ok', end);
    s = r.state;
    if (r.transition) transitions.push({ tUs: end, to: r.transition });
  }
  return { transitions, tries, state: s };
}

/**
 * The latest a server that starts failing at f (and was passing before) is out of the pool:
 * f + delay_loop + retry * delay_before_retry, plus connect_timeout for each of the retry + 1
 * tries when it fails by not answering.
 */
export function removalBoundUs(c: CheckerConfig, outcome: Exclude<TryOutcome, 'ok'>): number {
  return c.delayLoopUs + c.retry * c.delayBeforeRetryUs + (outcome === 'timeout' ? (c.retry + 1) * c.connectTimeoutUs : 0);
}

/**
 * The latest a server that passes again from g is back in the pool: a try in flight at g may
 * still time out, then the next try comes at most max(delay_loop, delay_before_retry) later.
 */
export function readmissionBoundUs(c: CheckerConfig): number {
  return c.connectTimeoutUs + Math.max(c.delayLoopUs, c.delayBeforeRetryUs);
}

// ---------- the pool of one virtual server ----------

export interface RealServerConfig {
  id: string;
  weight: number;
  /** Keep it in the pool at weight 0 when it fails, instead of removing it. */
  inhibitOnFailure: boolean;
}

export interface VirtualServerConfig {
  realServers: RealServerConfig[];
  /** Default 1. */
  quorum: number;
  /** Default 0. */
  hysteresis: number;
  /** The sorry server's id, if any (weight 1). */
  sorryServer?: string;
}

export interface PoolState {
  alive: Record<string, boolean>;
  quorumUp: boolean;
}

export function liveWeight(vs: VirtualServerConfig, alive: Record<string, boolean>): number {
  return vs.realServers.reduce((a, r) => a + (alive[r.id] ? r.weight : 0), 0);
}

/** The pool at start: every server alive unless listed in `down` (alpha mode). */
export function poolStart(vs: VirtualServerConfig, down: readonly string[] = []): PoolState {
  const alive = Object.fromEntries(vs.realServers.map((r) => [r.id, !down.includes(r.id)]));
  return { alive, quorumUp: liveWeight(vs, alive) >= vs.quorum + vs.hysteresis };
}

/** A real server's checker went up or down: the new pool state (quorum with hysteresis). */
export function poolSetAlive(vs: VirtualServerConfig, s: PoolState, id: string, alive: boolean): PoolState {
  const next = { ...s.alive, [id]: alive };
  const sum = liveWeight(vs, next);
  let quorumUp = s.quorumUp;
  if (!quorumUp && sum >= vs.quorum + vs.hysteresis) quorumUp = true;
  else if (quorumUp && (sum === 0 || sum < vs.quorum - vs.hysteresis)) quorumUp = false;
  return { alive: next, quorumUp };
}

/**
 * What IPVS holds for the virtual server: destinations and weights. Without quorum and with a
 * sorry server, only the sorry server takes connections (inhibited real servers stay at weight 0).
 */
export function poolMembers(vs: VirtualServerConfig, s: PoolState): Array<{ id: string; weight: number }> {
  const sorry = !s.quorumUp && vs.sorryServer !== undefined;
  const out: Array<{ id: string; weight: number }> = [];
  for (const r of vs.realServers) {
    const alive = s.alive[r.id];
    if (alive && !sorry) out.push({ id: r.id, weight: r.weight });
    else if (r.inhibitOnFailure) out.push({ id: r.id, weight: 0 });
  }
  if (sorry) out.push({ id: vs.sorryServer!, weight: 1 });
  return out;
}

/** The servers that get new connections (weight > 0). */
export function servingMembers(vs: VirtualServerConfig, s: PoolState): string[] {
  return poolMembers(vs, s).filter((m) => m.weight > 0).map((m) => m.id);
}
