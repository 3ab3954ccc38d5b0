// Load-aware choice of the real server that starts a backup virtual server.
// Source: kitamura-2018, §2.5 and Fig. 5 (eq. (1)-(9), non-select values).
//
// The pipeline, all pure:
//   samples of one stage --averageLoad--> A   (Fig. 5(a))
//   A_n, A_{n-1}        --predictedLoad--> L   (eq. (1)-(3), clamped)
//   L of every server   --normalizeLoads--> real server condition rows (eq. (4)-(9))
//   rows + server type  --chooseHost-->    the host with the lowest non-select value (Fig. 5(b))
//
// Units: memory and network in KB, CPU in percent. The paper writes KB for both memory and network;
// only consistency matters (a server's measurements and its capacity in the same unit), because
// every quantity is compared with another of the same kind.
//
// Reading of the paper's measured quantities (§2.5): m_i is the *available* memory, c_i the CPU
// *idle* rate, n_i the bytes sent plus received. So Lm and Lc are headroom (free memory, idle CPU)
// although the paper calls them "predicted load", while Ln is genuine usage; eq. (8) turns Ln into
// headroom as N_rat - Ln. Every normalized value is therefore "0 = the most headroom among the
// servers compared, 100 = the least", and a low non-select value is what we want.

import { lowerBound } from '../../engine/ports/store.ts';

/** Server type of the failed target, recorded in the 6th line of its management data (Fig. 4). */
export type ServerType = 'CPU' | 'NETWORK' | 'CPU_NET';

export const SERVER_TYPES: readonly ServerType[] = ['CPU', 'NETWORK', 'CPU_NET'];

/** One measurement i of a management server (Fig. 5(a)); the paper reads these with `sar`. */
export interface LoadMeasurement {
  /** m_i: available (free) memory, KB. */
  availableMemoryKb: number;
  /** c_i: CPU idle rate, percent, summed over cores (0 .. cores*100, the clamp of eq. (2)). */
  cpuIdlePct: number;
  /** n_i: bytes sent + received by the network, KB (per second, as `sar -n DEV` reports). */
  networkKb: number;
}

/** The averages Am, Ac, An of one measurement stage (Fig. 5(a)). */
export interface StageAverage {
  memoryKb: number;
  cpuPct: number;
  networkKb: number;
}

/** Predicted values Lm_n, Lc_n, Ln_n of one management server, after clamping (eq. (1)-(3)). */
export interface PredictedLoad {
  /** Lm_n: predicted available memory, KB, in [0, physical memory]. */
  memoryKb: number;
  /** Lc_n: predicted CPU idle, percent, in [0, cores*100]. */
  cpuPct: number;
  /** Ln_n: predicted network transfer, KB, in [0, rated transfer speed * 2]. */
  networkKb: number;
}

/** What a management server has; bounds the predictions and enters the normalization. */
export interface ServerCapacity {
  /** Physical memory size, KB (upper clamp of Lm). */
  physicalMemoryKb: number;
  /** C_cor: number of CPU cores (clamp of Lc is cores*100; eq. (6) multiplies Lc by it). */
  cpuCores: number;
  /**
   * Rated transfer speed in one direction, KB per second. The paper's example: a 1000 Mbps link
   * carries 128*10^3 KB per second each way, so N_rat (send + receive) is 256*10^3 KB (§2.5).
   */
  ratedTransferKbPerS: number;
}

/**
 * One row of the real server condition file (Fig. 5(b), Fig. 6): the number of virtual servers
 * running on the management server and its normalized loads, each in [0, 100].
 */
export interface RealServerCondition {
  server: string;
  /** VM: virtual servers currently running on this management server. */
  vms: number;
  /** Nm: normalized memory load, percent. */
  nm: number;
  /** Nc: normalized CPU load, percent. */
  nc: number;
  /** Nn: normalized network load, percent. */
  nn: number;
}

/** The inputs of the normalization for one server: its prediction, its capacity, its VM count. */
export interface ServerLoad {
  server: string;
  vms: number;
  predicted: PredictedLoad;
  capacity: ServerCapacity;
}

/** Two consecutive measurement stages of one server, enough to compute its condition row. */
export interface ServerStages {
  server: string;
  vms: number;
  capacity: ServerCapacity;
  /** Samples of stage n-1. */
  previous: readonly LoadMeasurement[];
  /** Samples of stage n (the latest). */
  current: readonly LoadMeasurement[];
}

// ---------------------------------------------------------------------------------------------
// Fig. 5(a): averages and predicted load

/** A = (1/i) * sum of the i samples of a stage, per resource (Fig. 5(a)). */
export function averageLoad(samples: readonly LoadMeasurement[]): StageAverage {
  if (samples.length === 0) {
    throw new RangeError('averageLoad: a measurement stage needs at least one sample, got none');
  }
  let m = 0;
  let c = 0;
  let n = 0;
  for (const [k, s] of samples.entries()) {
    assertFinite(`samples[${k}].availableMemoryKb`, s.availableMemoryKb);
    assertFinite(`samples[${k}].cpuIdlePct`, s.cpuIdlePct);
    assertFinite(`samples[${k}].networkKb`, s.networkKb);
    m += s.availableMemoryKb;
    c += s.cpuIdlePct;
    n += s.networkKb;
  }
  const i = samples.length;
  return { memoryKb: m / i, cpuPct: c / i, networkKb: n / i };
}

/** L_n = 2*A_n - A_{n-1}: linear extrapolation one stage ahead, before clamping (eq. (1)-(3)). */
export function extrapolate(currentAverage: number, previousAverage: number): number {
  return 2 * currentAverage - previousAverage;
}

/** x limited to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** N_rat: rated bytes per second sent plus received, KB (§2.5: rated transfer speed * 2). */
export function ratedTotalKb(capacity: ServerCapacity): number {
  return 2 * capacity.ratedTransferKbPerS;
}

/**
 * Predicted load of one management server, eq. (1)-(3), clamped as §2.5 prescribes: at least 0;
 * at most the physical memory (Lm), cores*100 (Lc), rated transfer speed * 2 (Ln).
 */
export function predictedLoad(
  current: StageAverage,
  previous: StageAverage,
  capacity: ServerCapacity,
): PredictedLoad {
  assertCapacity(capacity);
  return {
    memoryKb: clamp(extrapolate(current.memoryKb, previous.memoryKb), 0, capacity.physicalMemoryKb),
    cpuPct: clamp(extrapolate(current.cpuPct, previous.cpuPct), 0, capacity.cpuCores * 100),
    networkKb: clamp(extrapolate(current.networkKb, previous.networkKb), 0, ratedTotalKb(capacity)),
  };
}

// ---------------------------------------------------------------------------------------------
// eq. (4)-(9): normalization across all management servers

/**
 * The shared shape of eq. (4), (6) and (8): (max - v) / (max - min) * 100, or 100 when
 * max == min (eq. (5), (7), (9)); the result is held in [0, 100] as §2.5 states.
 */
export function normalizedLoad(value: number, max: number, min: number): number {
  if (max === min) return 100;
  const v = ((max - value) / (max - min)) * 100;
  return Number.isNaN(v) ? 100 : clamp(v, 0, 100);
}

/**
 * Real server condition rows from the predicted loads of all management servers, eq. (4)-(9).
 *
 * Per server s, with h_s its headroom of each kind:
 *   memory  h = Lm                 M_max, M_min = max, min of Lm over the servers   (eq. (4), (5))
 *   CPU     h = Lc * C_cor         C_max, C_min = max, min of Lc*C_cor              (eq. (6), (7))
 *   network h = N_rat - Ln         N_max, N_min = max, min of N_rat - Ln            (eq. (8), (9))
 *   N = (max - h) / (max - min) * 100, or 100 when max == min.
 *
 * Readings taken where the paper is loose:
 * - Memory: §2.5 calls M_max "the maximum available memory size among all management servers"
 *   and M_min "the minimum usable memory size". We take both as the extremes of the predicted
 *   available memory Lm over the servers compared (not of their physical sizes): that is the only
 *   reading under which eq. (4) stays within [0, 100] by itself, as the C and N terms do. The
 *   final clamp to [0, 100] is applied anyway.
 * - CPU: Lc is clamped to cores*100, which suggests an idle rate summed over cores, yet eq. (6)
 *   multiplies Lc by C_cor again. We reproduce eq. (6) literally (Lc * C_cor). When all servers
 *   have the same core count (the paper's testbed: six identical Core i7-3770 machines) the
 *   factor cancels and the reading makes no difference.
 * - The extremes are taken over exactly the servers passed in; callers decide whether a failed
 *   server still belongs to "all management servers" (the paper's file lists the live ones).
 * - Values are not rounded; Fig. 5(b) shows whole percents but the paper does not say it rounds.
 */
export function normalizeLoads(servers: readonly ServerLoad[]): RealServerCondition[] {
  if (servers.length === 0) {
    throw new RangeError('normalizeLoads: need at least one management server, got none');
  }
  assertUniqueNames(servers.map((s) => s.server), 'normalizeLoads');
  const mem = servers.map((s) => s.predicted.memoryKb);
  const cpu = servers.map((s) => s.predicted.cpuPct * s.capacity.cpuCores);
  const net = servers.map((s) => ratedTotalKb(s.capacity) - s.predicted.networkKb);
  for (const [k, s] of servers.entries()) {
    assertCapacity(s.capacity);
    assertVms(`servers[${k}] (${s.server}).vms`, s.vms);
    assertFinite(`servers[${k}] (${s.server}).predicted.memoryKb`, mem[k]);
    assertFinite(`servers[${k}] (${s.server}).predicted.cpuPct`, cpu[k]);
    assertFinite(`servers[${k}] (${s.server}).predicted.networkKb`, net[k]);
  }
  const [mMax, mMin] = extremes(mem);
  const [cMax, cMin] = extremes(cpu);
  const [nMax, nMin] = extremes(net);
  return servers.map((s, k) => ({
    server: s.server,
    vms: s.vms,
    nm: normalizedLoad(mem[k], mMax, mMin),
    nc: normalizedLoad(cpu[k], cMax, cMin),
    nn: normalizedLoad(net[k], nMax, nMin),
  }));
}

/** The whole Fig. 5(a) pipeline: two stages of samples per server -> condition rows. */
export function realServerConditions(servers: readonly ServerStages[]): RealServerCondition[] {
  return normalizeLoads(
    servers.map((s) => ({
      server: s.server,
      vms: s.vms,
      capacity: s.capacity,
      predicted: predictedLoad(averageLoad(s.current), averageLoad(s.previous), s.capacity),
    })),
  );
}

// ---------------------------------------------------------------------------------------------
// Fig. 5(b): non-select value and the choice of host

/** Weight of one running virtual server in the non-select value (Fig. 5(b)). */
export const VM_WEIGHT = 100;

/**
 * Weights of Nm, Nc, Nn per server type (Fig. 5(b)). Memory counts half for every type; the rest
 * leans to the resource the failed service uses. Each set sums to 1, so the load part of a
 * non-select value is at most 100, and one running VM (weight 100) outweighs any load difference.
 */
export const NON_SELECT_WEIGHTS: Readonly<Record<ServerType, { nm: number; nc: number; nn: number }>> = {
  CPU: { nm: 0.5, nc: 0.4, nn: 0.1 },
  NETWORK: { nm: 0.5, nc: 0.1, nn: 0.4 },
  CPU_NET: { nm: 0.5, nc: 0.25, nn: 0.25 },
};

// The same weights in hundredths, so whole-percent rows give exact results (43, not 43.000001).
const WEIGHTS_HUNDREDTHS = Object.fromEntries(
  SERVER_TYPES.map((t) => {
    const w = NON_SELECT_WEIGHTS[t];
    return [t, { nm: Math.round(w.nm * 100), nc: Math.round(w.nc * 100), nn: Math.round(w.nn * 100) }];
  }),
) as Readonly<Record<ServerType, { nm: number; nc: number; nn: number }>>;

/**
 * Non-select value of one management server for a failed target of the given type (Fig. 5(b)):
 *   CPU:     VM*100 + Nm*0.5 + Nc*0.4  + Nn*0.1
 *   NETWORK: VM*100 + Nm*0.5 + Nc*0.1  + Nn*0.4
 *   CPU_NET: VM*100 + Nm*0.5 + Nc*0.25 + Nn*0.25
 * The larger it is, the less suitable the server is to start the virtual server.
 */
export function nonSelectValue(row: RealServerCondition, serverType: ServerType): number {
  assertRow(row);
  const w = WEIGHTS_HUNDREDTHS[serverType];
  if (w === undefined) {
    throw new RangeError(`nonSelectValue: unknown server type "${String(serverType)}", expected one of ${SERVER_TYPES.join(', ')}`);
  }
  return (row.vms * VM_WEIGHT * 100 + row.nm * w.nm + row.nc * w.nc + row.nn * w.nn) / 100;
}

/** A candidate host with its non-select value. */
export interface RankedHost {
  server: string;
  value: number;
}

/**
 * Every eligible host, best first: ascending non-select value; equal values are ordered by server
 * name (plain code-unit order, not locale order, so the result is the same on every machine).
 * The paper does not say how ties are broken; any fixed rule will do, and this one is easy to
 * predict when reading a trace.
 */
export function rankHosts(
  rows: readonly RealServerCondition[],
  serverType: ServerType,
  exclude: Iterable<string> = [],
): RankedHost[] {
  assertUniqueNames(rows.map((r) => r.server), 'rankHosts');
  const skip = new Set(exclude);
  return rows
    .filter((r) => !skip.has(r.server))
    .map((r) => ({ server: r.server, value: nonSelectValue(r, serverType) }))
    .sort((a, b) => a.value - b.value || compareNames(a.server, b.server));
}

/**
 * The management server that should start the virtual server of a failed target of type
 * `serverType`: the lowest non-select value among `rows` minus `exclude` (e.g. the failed
 * servers), ties broken by name as in `rankHosts`. Undefined when no candidate is left.
 */
export function chooseHost(
  rows: readonly RealServerCondition[],
  serverType: ServerType,
  exclude: Iterable<string> = [],
): string | undefined {
  return rankHosts(rows, serverType, exclude)[0]?.server;
}

// ---------------------------------------------------------------------------------------------
// The best host of many servers without ranking them all

/**
 * The headroom h of one server that eq. (4)-(9) normalize (memory Lm, CPU Lc * C_cor, network
 * N_rat - Ln), from its two stages of samples: what `realServerConditions` computes for it before
 * the normalization, checked the same way. It depends on the server's record only, so a caller
 * may keep it with the record (`headroomOf`).
 */
export interface Headroom {
  mem: number;
  cpu: number;
  net: number;
}
export function headroom(s: Pick<ServerStages, 'server' | 'capacity' | 'previous' | 'current'>): Headroom {
  const p = predictedLoad(averageLoad(s.current), averageLoad(s.previous), s.capacity);
  const h = { mem: p.memoryKb, cpu: p.cpuPct * s.capacity.cpuCores, net: ratedTotalKb(s.capacity) - p.networkKb };
  assertFinite(`${s.server}: predicted.memoryKb`, h.mem);
  assertFinite(`${s.server}: predicted.cpuPct`, h.cpu);
  assertFinite(`${s.server}: predicted.networkKb`, h.net);
  return h;
}

/** One candidate of `bestHost`: its name, its running virtual servers and its `headroom`. */
export interface Candidate {
  server: string;
  vms: number;
  headroom: Headroom;
}

/**
 * `rankHosts(realServerConditions(...), serverType)[0]` for servers whose headrooms are known:
 * the same normalization (extremes over all the candidates), the same non-select values (the same
 * arithmetic, so the same numbers) and the same tie rule (by name), in two passes and without a
 * row per server or a sort. The names must be unique (the caller's records are keyed by server).
 */
export function bestHost(cands: readonly Candidate[], serverType: ServerType): RankedHost | undefined {
  if (cands.length === 0) return undefined;
  let mMax = -Infinity, mMin = Infinity, cMax = -Infinity, cMin = Infinity, nMax = -Infinity, nMin = Infinity;
  for (const c of cands) {
    assertVms(`${c.server}.vms`, c.vms);
    const h = c.headroom;
    if (h.mem > mMax) mMax = h.mem;
    if (h.mem < mMin) mMin = h.mem;
    if (h.cpu > cMax) cMax = h.cpu;
    if (h.cpu < cMin) cMin = h.cpu;
    if (h.net > nMax) nMax = h.net;
    if (h.net < nMin) nMin = h.net;
  }
  let best: RankedHost | undefined;
  for (const c of cands) {
    const h = c.headroom;
    const row = { server: c.server, vms: c.vms, nm: normalizedLoad(h.mem, mMax, mMin), nc: normalizedLoad(h.cpu, cMax, cMin), nn: normalizedLoad(h.net, nMax, nMin) };
    const value = nonSelectValue(row, serverType);
    if (best === undefined || value < best.value || (value === best.value && compareNames(c.server, best.server) < 0)) best = { server: c.server, value };
  }
  return best;
}

/**
 * Servers grouped by equal headroom (each group's names sorted), for `bestHost` over many servers
 * of which most read alike: within a group, the servers without a virtual server have the same
 * non-select value, so only the first of them by name (the one the tie rule picks) can be the best
 * host. `best` hands `bestHost` that one per group and every server running virtual servers: the
 * same extremes (every group with a candidate has one there), the same best host, in time
 * proportional to the groups, not the servers (plus the ineligible servers it steps over).
 */
export class HeadroomIndex {
  private readonly groups = new Map<string, { h: Headroom; names: string[] }>();
  private readonly of = new Map<string, string>();

  /** Sets `server`'s headroom (null: not a candidate any more). */
  set(server: string, h: Headroom | null): void {
    const was = this.of.get(server);
    const key = h === null ? undefined : `${h.mem}|${h.cpu}|${h.net}`;
    if (was === key) return;
    if (was !== undefined) {
      const g = this.groups.get(was)!;
      g.names.splice(sortedAt(g.names, server), 1);
      if (g.names.length === 0) this.groups.delete(was);
      this.of.delete(server);
    }
    if (key !== undefined) {
      let g = this.groups.get(key);
      if (g === undefined) this.groups.set(key, (g = { h: h!, names: [] }));
      g.names.splice(sortedAt(g.names, server), 0, server);
      this.of.set(server, key);
    }
  }

  /** `bestHost` over the indexed servers `eligible` accepts, with `vms` virtual servers each (absent: 0). */
  best(eligible: (server: string) => boolean, vms: ReadonlyMap<string, number>, serverType: ServerType): RankedHost | undefined {
    const cands: Candidate[] = [];
    for (const g of this.groups.values()) {
      for (const s of g.names) {
        if ((vms.get(s) ?? 0) > 0 || !eligible(s)) continue;
        cands.push({ server: s, vms: 0, headroom: g.h });
        break;
      }
    }
    for (const [s, n] of vms) {
      const key = this.of.get(s);
      if (n > 0 && key !== undefined && eligible(s)) cands.push({ server: s, vms: n, headroom: this.groups.get(key)!.h });
    }
    return bestHost(cands, serverType);
  }
}

/** Where `name` is, or goes, in the sorted `names` (code-unit order, as `compareNames`). */
function sortedAt(names: readonly string[], name: string): number {
  return lowerBound(names.length, (i) => names[i] < name);
}

// ---------------------------------------------------------------------------------------------
// helpers

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function extremes(xs: readonly number[]): [max: number, min: number] {
  let max = -Infinity;
  let min = Infinity;
  for (const x of xs) {
    if (x > max) max = x;
    if (x < min) min = x;
  }
  return [max, min];
}

function assertFinite(field: string, x: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`${field} must be a finite number, got ${x}`);
}

function assertVms(field: string, vms: number): void {
  if (!Number.isSafeInteger(vms) || vms < 0) {
    throw new RangeError(`${field} must be a whole number of virtual servers >= 0, got ${vms}`);
  }
}

function assertCapacity(c: ServerCapacity): void {
  if (!(Number.isFinite(c.physicalMemoryKb) && c.physicalMemoryKb > 0)) {
    throw new RangeError(`capacity.physicalMemoryKb must be > 0, got ${c.physicalMemoryKb}`);
  }
  if (!(Number.isSafeInteger(c.cpuCores) && c.cpuCores > 0)) {
    throw new RangeError(`capacity.cpuCores must be a whole number > 0, got ${c.cpuCores}`);
  }
  if (!(Number.isFinite(c.ratedTransferKbPerS) && c.ratedTransferKbPerS > 0)) {
    throw new RangeError(`capacity.ratedTransferKbPerS must be > 0, got ${c.ratedTransferKbPerS}`);
  }
}

function assertRow(r: RealServerCondition): void {
  assertVms(`real server condition "${r.server}": vms`, r.vms);
  for (const f of ['nm', 'nc', 'nn'] as const) {
    if (!(Number.isFinite(r[f]) && r[f] >= 0 && r[f] <= 100)) {
      throw new RangeError(`real server condition "${r.server}": ${f} must be a percentage in [0, 100], got ${r[f]}`);
    }
  }
}

function assertUniqueNames(names: readonly string[], where: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new RangeError(`${where}: server "${n}" appears twice; each management server needs exactly one row`);
    seen.add(n);
  }
}
