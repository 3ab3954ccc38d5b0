// Pure decisions of the power-saving server system (PSS) of kitamura-2019 (JISSJ, "Development
// and Operation Experiment of a Power-saving, High-availability Server System ..."): the predicted
// load of each virtual server (§2.5, eq. (1)-(3)), the load of a service group (eq. (4)-(6)), its
// weighting by server type (eq. (7)-(9)), the two-threshold classification with its hysteresis
// area (Fig. 6(a)), the condition of a group (moderate, PS1, PS2; Fig. 6(b), 6(c)) and the count
// of client accesses net of the load balancer's monitoring program (Fig. 6(c)).
// No time, no randomness, no ports: the processes (pss.ts) feed these with samples.

/** One reading inside a virtual server: `free` and `sar` (§2.5). */
export interface VmReading {
  /** Memory in use, KB. */
  memUsedKb: number;
  /** CPU utilization, percent of the VM's cores (0..100). */
  cpuPct: number;
  /** Bytes sent plus received over the sampling period, KB. */
  netKb: number;
}

/** What bounds a virtual server's predicted load (§2.5). */
export interface VmCapacity {
  /** The memory size set for the VM, KB (upper bound of eq. (1)). */
  memKb: number;
  /** CPU cores of the VM (C_cor of eq. (5)). */
  cores: number;
  /** N_rat: rated transfer, sent plus received, KB (twice the link's rate; upper bound of eq. (3)). */
  netRatedKb: number;
}

export interface Predicted {
  memKb: number;
  cpuPct: number;
  netKb: number;
}

export const SERVER_TYPES = ['CPU', 'NETWORK', 'CPU_NET'] as const;
export type ServerType = (typeof SERVER_TYPES)[number];

/** Weights of Lm, Lc, Ln by server type, eq. (7)-(9); each row sums to 1. */
export const TYPE_WEIGHTS: Readonly<Record<ServerType, { m: number; c: number; n: number }>> = {
  CPU: { m: 0.5, c: 0.4, n: 0.1 },
  NETWORK: { m: 0.5, c: 0.1, n: 0.4 },
  CPU_NET: { m: 0.5, c: 0.25, n: 0.25 },
};

const finite = (what: string, x: number) => {
  if (!Number.isFinite(x)) throw new RangeError(`${what} must be a finite number, got ${x}`);
};

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** The average of one measurement period's readings (Am, Ac, An of §2.5). */
export function averageReading(rs: readonly VmReading[]): VmReading {
  if (rs.length === 0) throw new RangeError('averageReading: a measurement period needs at least one reading');
  let m = 0;
  let c = 0;
  let n = 0;
  for (const r of rs) {
    finite('memUsedKb', r.memUsedKb);
    finite('cpuPct', r.cpuPct);
    finite('netKb', r.netKb);
    m += r.memUsedKb;
    c += r.cpuPct;
    n += r.netKb;
  }
  return { memUsedKb: m / rs.length, cpuPct: c / rs.length, netKb: n / rs.length };
}

/**
 * Eq. (1)-(3): 2*A_n - A_(n-1) per resource, clamped (§2.5) to [0, the VM's memory size],
 * [0, 100 %] and [0, rated transfer * 2]. With no previous period the current average stands.
 */
export function predictVm(current: VmReading, previous: VmReading | null, cap: VmCapacity): Predicted {
  const p = previous ?? current;
  return {
    memKb: clamp(2 * current.memUsedKb - p.memUsedKb, 0, cap.memKb),
    cpuPct: clamp(2 * current.cpuPct - p.cpuPct, 0, 100),
    netKb: clamp(2 * current.netKb - p.netKb, 0, cap.netRatedKb),
  };
}

export interface GroupLoad {
  /** Eq. (4), percent. */
  lm: number;
  /** Eq. (5), percent. */
  lc: number;
  /** Eq. (6), percent. */
  ln: number;
}

/** Eq. (4)-(6) over the group's measured VMs. An empty group has no load. */
export function groupLoad(vms: ReadonlyArray<{ predicted: Predicted; capacity: VmCapacity }>): GroupLoad {
  let mUse = 0;
  let mMax = 0;
  let cW = 0;
  let cores = 0;
  let nUse = 0;
  let nRat = 0;
  for (const v of vms) {
    mUse += v.predicted.memKb;
    mMax += v.capacity.memKb;
    cW += v.predicted.cpuPct * v.capacity.cores;
    cores += v.capacity.cores;
    nUse += v.predicted.netKb;
    nRat += v.capacity.netRatedKb;
  }
  return {
    lm: mMax > 0 ? (100 * mUse) / mMax : 0,
    lc: cores > 0 ? cW / cores : 0,
    ln: nRat > 0 ? (100 * nUse) / nRat : 0,
  };
}

/** Ls, eq. (7)-(9): at most 100 when each of Lm, Lc, Ln is at most 100. */
export function weightedLoad(l: GroupLoad, type: ServerType): number {
  const w = TYPE_WEIGHTS[type];
  return l.lm * w.m + l.lc * w.c + l.ln * w.n;
}

export type LoadClass = 'light' | 'moderate';

export interface Thresholds {
  /** Below it: area L. */
  light: number;
  /** Above it: area M. Between the two (inclusive): area ML, where the class stays what it was. */
  moderate: number;
}

export function checkThresholds(t: Thresholds): void {
  finite('light threshold', t.light);
  finite('moderate threshold', t.moderate);
  if (t.light > t.moderate) throw new RangeError(`the light threshold (${t.light}) is above the moderate one (${t.moderate})`);
}

/** Fig. 6(a): M -> moderate, L -> light, ML -> the previous class (hysteresis). */
export function classify(ls: number, previous: LoadClass, t: Thresholds): LoadClass {
  if (ls > t.moderate) return 'moderate';
  if (ls < t.light) return 'light';
  return previous;
}

export type Condition = 'moderate' | 'ps1' | 'ps2';

export interface GroupState {
  condition: Condition;
  /** The load class of the last examination. */
  cls: LoadClass;
  /** Light classifications in a row while moderate (Fig. 6(b)). */
  lightRun: number;
}

export const INITIAL_GROUP_STATE: GroupState = { condition: 'moderate', cls: 'moderate', lightRun: 0 };

export interface ConditionRules {
  /** Light classifications in a row before moderate -> PS1 (4 in the paper). */
  lightCount: number;
  /** x: PS1 -> PS2 when the client accesses over the window are at most this (Fig. 6(c)). */
  accessThreshold: number;
}

/**
 * One examination of a group: its class from Ls, then its condition. moderate -> PS1 after
 * `lightCount` light classes in a row; PS1 -> PS2 when the clients' accesses are at most x;
 * PS2 -> PS1 when they exceed x again; any moderate class -> moderate at once. `accesses` null:
 * not counted this time (PS1 and PS2 stay as they are).
 */
export function stepGroup(s: GroupState, ls: number, accesses: number | null, t: Thresholds, r: ConditionRules): GroupState {
  const cls = classify(ls, s.cls, t);
  if (cls === 'moderate') return { condition: 'moderate', cls, lightRun: 0 };
  if (s.condition === 'moderate') {
    const lightRun = s.lightRun + 1;
    return lightRun >= r.lightCount ? { condition: 'ps1', cls, lightRun: 0 } : { condition: 'moderate', cls, lightRun };
  }
  if (accesses === null) return { ...s, cls };
  if (s.condition === 'ps1') return { condition: accesses <= r.accessThreshold ? 'ps2' : 'ps1', cls, lightRun: 0 };
  return { condition: accesses > r.accessThreshold ? 'ps1' : 'ps2', cls, lightRun: 0 };
}

/** Fig. 6(c): client accesses over y seconds = total z minus the monitoring program's k*y (never below 0). */
export function clientAccesses(total: number, monitorPerS: number, windowS: number): number {
  return Math.max(0, total - monitorPerS * windowS);
}
