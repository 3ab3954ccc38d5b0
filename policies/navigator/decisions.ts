// Navigator's pure decisions (wong-2014): where the secondary container goes, how long a copy
// takes, and the closed-form failover times the experiment compares with the simulation.

export interface UptimeReport {
  host: string;
  /** Seconds since the host last booted. */
  uptimeS: number;
}

/** How the primary picks the host of the secondary container among the PCs that answered. */
export type Placement =
  /** The thesis's rule (§4.3): the PC up longest. */
  | { kind: 'longest-uptime' }
  | { kind: 'shortest-uptime' }
  /** A pseudo-random PC: a hash of the seed, the query's round and the name (no Math.random). */
  | { kind: 'random'; seed: number }
  /** The PC with the longest expected remaining uptime under `up`, a model of up periods. */
  | { kind: 'expected-remaining'; up: UpModel };

/** Up-period models the expected-remaining placement understands (seconds). */
export type UpModel =
  | { kind: 'weibull'; shape: number; scale: number }
  | { kind: 'exponential'; mean: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'constant'; value: number };

export const LONGEST_UPTIME: Placement = { kind: 'longest-uptime' };

/**
 * The host for the secondary container, never one of `exclude` (the primary's host, hosts that
 * just failed): the best by `placement` (default: up longest, the thesis's rule). Ties go to the
 * first name in code-unit order, so the choice does not depend on the order replies arrived.
 * `round` names the query (the random placement hashes it).
 */
export function chooseSecondary(reports: readonly UptimeReport[], exclude: readonly string[] = [], placement: Placement = LONGEST_UPTIME, round = 0): string | null {
  const score = scorer(placement, round);
  let best: { host: string; score: number } | null = null;
  for (const r of reports) {
    if (exclude.includes(r.host) || !Number.isFinite(r.uptimeS)) continue;
    const x = score(r);
    if (best === null || x > best.score || (x === best.score && r.host < best.host)) best = { host: r.host, score: x };
  }
  return best?.host ?? null;
}

/** Higher is better. */
function scorer(p: Placement, round: number): (r: UptimeReport) => number {
  switch (p.kind) {
    case 'longest-uptime': return (r) => r.uptimeS;
    case 'shortest-uptime': return (r) => -r.uptimeS;
    case 'random': return (r) => hash32(`${p.seed}/${round}/${r.host}`);
    case 'expected-remaining': return (r) => meanResidualS(p.up, r.uptimeS);
  }
}

/** FNV-1a, then a murmur3 finaliser: a well-mixed 32-bit hash of a string. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Expected remaining up time (s) of a PC up for `ageS`: E[T - a | T > a] = ∫_a^∞ S(t) dt / S(a)
 * with S the model's survival function. Weibull with shape < 1 (desktop traces) grows with age,
 * so it ranks PCs as the thesis's longest-uptime rule does; shape > 1 and the uniform sessions of
 * a lab shrink with age and rank them the other way; the exponential is memoryless (all equal).
 */
export function meanResidualS(m: UpModel, ageS: number): number {
  const a = Math.max(0, ageS);
  switch (m.kind) {
    case 'constant': return Math.max(0, m.value - a);
    case 'exponential': return m.mean;
    case 'uniform': {
      if (a >= m.max) return 0;
      if (a <= m.min) return (m.min + m.max) / 2 - a;
      return (m.max - a) / 2;
    }
    case 'weibull': return weibullResidualS(m.shape, m.scale, a);
  }
}

/** Composite Simpson's rule over [lo, hi] with n (even) intervals. */
function simpson(f: (x: number) => number, lo: number, hi: number, n = 4000): number {
  const h = (hi - lo) / n;
  let sum = f(lo) + f(hi);
  for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * f(lo + i * h);
  return (sum * h) / 3;
}

function weibullResidualS(k: number, lambda: number, a: number): number {
  const x0 = Math.pow(a / lambda, k);
  if (k <= 1) {
    // u = (t/λ)^k: ∫_a^∞ S dt / S(a) = (λ/k) ∫_{x0}^∞ u^(1/k - 1) e^-(u - x0) du, smooth for k <= 1;
    // the tail beyond x0 + 60 weighs less than e^-60 of it (times a polynomial).
    return (lambda / k) * simpson((u) => Math.pow(u, 1 / k - 1) * Math.exp(-(u - x0)), x0, x0 + 60 + 20 / k);
  }
  // k > 1: S falls faster than an exponential; integrate S(t)/S(a) in t over 12 scale lengths.
  return simpson((t) => Math.exp(x0 - Math.pow(t / lambda, k)), a, a + 12 * lambda);
}

/** Seconds to move `bytes` at `rateBps` bits per second. */
export function transferS(bytes: number, rateBps: number): number {
  if (!(rateBps > 0)) throw new RangeError(`rate must be positive, got ${rateBps}`);
  return (bytes * 8) / rateBps;
}

/** The parameters of the closed-form model (seconds, bytes, bits per second). */
export interface NavigatorTimes {
  imageBytes: number;
  backupRateBps: number;
  transferRateBps: number;
  /** The secondary pilot checks the primary container this often. */
  primaryCheckS: number;
  /** The primary pilot checks the secondary container this often. */
  secondaryCheckS: number;
  /** A failed ping takes this long. */
  pingTimeoutS: number;
  /** Setting the service IP. */
  vipSetS: number;
  /** One remote command (start a daemon, start a VM, ask a depot). */
  commandS: number;
  /** The monitoring daemon's start time inside the container. */
  serviceStartS: number;
  /** Booting the container (VM start). */
  containerStartS: number;
  /** Asking the depots for uptimes (the replies' wait). */
  uptimeQueryS: number;
}

/**
 * Mean times of Table 5-7's three cases for a failure at a uniformly random instant:
 *  - primary failover: half a primary check interval to the first failed check, its ping timeout,
 *    then the service IP and the monitoring daemon on the secondary container;
 *  - secondary failover: half a secondary check interval, the ping timeout, then a new secondary
 *    (uptime query, image transfer, the new pilot's backup, container start);
 *  - fallback: the primary failover, then a new secondary the same way.
 */
export function table57Model(p: NavigatorTimes): { primary_failover: number; secondary_failover: number; fallback: number; newSecondaryS: number } {
  const transfer = transferS(p.imageBytes, p.transferRateBps);
  const backup = transferS(p.imageBytes, p.backupRateBps);
  // Uptime query, transfer (a command starts it), the pilot's start message, the backup (a
  // command), the container start (a command), the daemon stopped (a command: idle).
  const newSecondaryS = p.uptimeQueryS + p.commandS + transfer + backup + p.commandS + p.commandS + p.containerStartS + p.commandS;
  // The last database dump restored (a command), the service IP, the monitoring service started.
  const takeoverS = p.commandS + p.vipSetS + p.commandS + p.serviceStartS;
  const primary = p.primaryCheckS / 2 + p.pingTimeoutS + takeoverS;
  const secondary = p.secondaryCheckS / 2 + p.pingTimeoutS + newSecondaryS;
  return { primary_failover: primary, secondary_failover: secondary, fallback: primary + newSecondaryS, newSecondaryS };
}
