// Pure decisions of two host-power baselines that consolidate VMs by live migration and put the
// emptied hosts in standby, the way their documentation describes them (docs/pss-msbs.md, "Power
// baselines", cites the pages):
//   dpm: VMware DPM. Keeps each powered-on host's utilisation (demand / capacity, the larger of
//     CPU and memory) in target ± tolerance (63 % ± 18 %: 45..81 %). Power-off is judged on the
//     average over the last 40 min: when every powered-on host is below 45 %, a host is evacuated
//     and put in standby, provided the others stay at most 81 % with its VMs. Power-on is judged
//     over the last 5 min: when every powered-on host is above 81 %, a standby host is woken and
//     VMs move to it.
//   ovirt: oVirt's power_saving scheduling policy. Checked once a minute, on host CPU: a host above
//     HighUtilization (75 %) for CpuOverCommitDuration (2 min) sheds one VM per check to the
//     least-loaded host that stays below 75 % (or a standby host is woken when none can take it); a
//     host below LowUtilization (20 %) for 2 min sheds its VMs one per check to hosts that stay below
//     75 %, and is put in standby once empty.
// Both keep the VMs of one redundant group on different hosts (an anti-affinity rule) and never
// commit more VM memory to a host than it has. No time, no randomness, no ports.

export interface VmView {
  name: string;
  /** Redundancy group (VMs of one group never share a host), or '' for none. */
  group: string;
  /** Memory allocated to the VM, MB. */
  memMb: number;
  /** Memory in use inside the VM, MB (its demand). */
  usedMemMb: number;
  /** CPU in use inside the VM, in cores. */
  cpuCores: number;
}

export interface HostView {
  name: string;
  /** Powered on (false: in standby). */
  on: boolean;
  cores: number;
  memMb: number;
  /** Memory the host's own software uses, MB. */
  baseMemMb: number;
  vms: VmView[];
}

export interface Utilisation {
  cpuPct: number;
  memPct: number;
}

export function utilisation(h: HostView, extra: readonly VmView[] = [], without: readonly string[] = []): Utilisation {
  const vms = [...h.vms.filter((v) => !without.includes(v.name)), ...extra];
  const cpu = vms.reduce((a, v) => a + v.cpuCores, 0);
  const mem = h.baseMemMb + vms.reduce((a, v) => a + v.usedMemMb, 0);
  return { cpuPct: h.cores > 0 ? (100 * cpu) / h.cores : 0, memPct: h.memMb > 0 ? (100 * mem) / h.memMb : 0 };
}

/** DPM's utilisation: the larger of CPU and memory. */
export const dpmUtilisation = (h: HostView, extra: readonly VmView[] = [], without: readonly string[] = []): number => {
  const u = utilisation(h, extra, without);
  return Math.max(u.cpuPct, u.memPct);
};

/** Can `vm` join `h` (anti-affinity, allocated memory), given the VMs already moving there? */
export function admits(h: HostView, vm: VmView, incoming: readonly VmView[] = []): boolean {
  const all = [...h.vms, ...incoming];
  if (vm.group !== '' && all.some((v) => v.group === vm.group && v.name !== vm.name)) return false;
  return h.baseMemMb + all.reduce((a, v) => a + v.memMb, 0) + vm.memMb <= h.memMb;
}

export interface Move {
  vm: string;
  to: string;
}

export type Action =
  | { kind: 'none' }
  | { kind: 'migrate'; moves: Move[] }
  | { kind: 'standby'; host: string; moves: Move[] }
  | { kind: 'wake'; host: string };

/**
 * Places every VM of `from` on the other powered-on hosts, largest first, on the host that keeps
 * `load` lowest while at most `limit`; null when one does not fit.
 */
export function evacuate(hosts: readonly HostView[], from: HostView, load: (h: HostView, extra: VmView[]) => number, limit: number): Move[] | null {
  const incoming = new Map<string, VmView[]>(hosts.map((h) => [h.name, []]));
  const moves: Move[] = [];
  for (const vm of [...from.vms].sort((a, b) => b.memMb - a.memMb || a.name.localeCompare(b.name))) {
    let best: { h: HostView; u: number } | null = null;
    for (const h of hosts) {
      if (!h.on || h.name === from.name || !admits(h, vm, incoming.get(h.name))) continue;
      const u = load(h, [...incoming.get(h.name)!, vm]);
      if (u <= limit && (best === null || u < best.u)) best = { h, u };
    }
    if (best === null) return null;
    incoming.get(best.h.name)!.push(vm);
    moves.push({ vm: vm.name, to: best.h.name });
  }
  return moves;
}

export interface DpmRules {
  /** DemandCapacityRatioTarget, percent (63). */
  targetPct: number;
  /** DemandCapacityRatioToleranceHost, percent (18). */
  tolerancePct: number;
}

/**
 * One DPM decision. `offAvg` / `onAvg`: each host's utilisation averaged over the power-off (40 min)
 * and power-on (5 min) windows, null while a window is not yet full. The host put in standby is
 * the least utilised (the last in order on a tie); the host woken, the first in standby.
 */
export function dpmDecide(hosts: readonly HostView[], offAvg: ReadonlyMap<string, number | null>, onAvg: ReadonlyMap<string, number | null>, r: DpmRules): Action {
  const on = hosts.filter((h) => h.on);
  const high = r.targetPct + r.tolerancePct;
  const low = r.targetPct - r.tolerancePct;
  const standby = hosts.filter((h) => !h.on);
  if (on.length > 0 && standby.length > 0 && on.every((h) => (onAvg.get(h.name) ?? -Infinity) > high)) return { kind: 'wake', host: standby[0].name };
  if (on.length > 1 && on.every((h) => { const a = offAvg.get(h.name); return a !== null && a !== undefined && a < low; })) {
    const order = [...on].sort((a, b) => (offAvg.get(a.name)! - offAvg.get(b.name)!) || hosts.indexOf(b) - hosts.indexOf(a));
    for (const h of order) {
      const moves = evacuate(hosts, h, (x, extra) => dpmUtilisation(x, extra), high);
      if (moves !== null) return { kind: 'standby', host: h.name, moves };
    }
  }
  return { kind: 'none' };
}

/** After waking a host: VMs of over-target hosts move to it, one at a time, while they bring the source down. */
export function dpmRebalance(hosts: readonly HostView[], woken: string, r: DpmRules): Move[] {
  const dst = hosts.find((h) => h.name === woken && h.on);
  if (!dst) return [];
  const high = r.targetPct + r.tolerancePct;
  const moves: Move[] = [];
  const incoming: VmView[] = [];
  for (const h of hosts) {
    if (!h.on || h.name === woken) continue;
    const leaving: string[] = [];
    for (const vm of h.vms) {
      if (dpmUtilisation(h, [], leaving) <= high) break;
      if (!admits(dst, vm, incoming)) continue;
      incoming.push(vm);
      leaving.push(vm.name);
      moves.push({ vm: vm.name, to: woken });
    }
  }
  return moves;
}

export interface OvirtRules {
  /** HighUtilization, CPU percent (75). */
  highPct: number;
  /** LowUtilization, CPU percent (20). */
  lowPct: number;
}

/**
 * One oVirt power_saving check. `overFor` / `underFor`: hosts whose CPU has been above high /
 * below low for the whole CpuOverCommitDuration. One VM moves per check.
 */
export function ovirtDecide(hosts: readonly HostView[], overFor: ReadonlySet<string>, underFor: ReadonlySet<string>, r: OvirtRules): Action {
  const cpu = (h: HostView, extra: readonly VmView[] = []) => utilisation(h, extra).cpuPct;
  const on = hosts.filter((h) => h.on);
  const target = (vm: VmView, from: HostView, pick: (a: HostView, b: HostView) => number): HostView | null =>
    on.filter((h) => h.name !== from.name && admits(h, vm) && cpu(h, [vm]) < r.highPct).sort(pick)[0] ?? null;
  // Over-utilised: its smallest VM to the least-loaded host that stays below high; else wake one.
  for (const h of on) {
    if (!overFor.has(h.name) || h.vms.length === 0) continue;
    const vm = [...h.vms].sort((a, b) => a.cpuCores - b.cpuCores || a.name.localeCompare(b.name))[0];
    const to = target(vm, h, (a, b) => cpu(a) - cpu(b));
    if (to) return { kind: 'migrate', moves: [{ vm: vm.name, to: to.name }] };
    const standby = hosts.find((x) => !x.on);
    if (standby) return { kind: 'wake', host: standby.name };
  }
  // Under-utilised: an empty one goes to standby (one host stays on); else one VM moves off, to
  // the busiest host that stays below high (packing), when every VM of it can go.
  const under = on.filter((h) => underFor.has(h.name)).sort((a, b) => a.vms.length - b.vms.length || hosts.indexOf(b) - hosts.indexOf(a));
  for (const h of under) {
    if (h.vms.length === 0) {
      if (on.length > 1) return { kind: 'standby', host: h.name, moves: [] };
      continue;
    }
    if (evacuate(hosts, h, (x, extra) => cpu(x, extra), r.highPct - 1e-9) === null) continue;
    const vm = [...h.vms].sort((a, b) => a.name.localeCompare(b.name))[0];
    const to = target(vm, h, (a, b) => cpu(b) - cpu(a) || hosts.indexOf(a) - hosts.indexOf(b));
    if (to) return { kind: 'migrate', moves: [{ vm: vm.name, to: to.name }] };
  }
  return { kind: 'none' };
}

/** The mean of the samples not older than `windowUs` before `nowUs`; null until the window is covered. */
export function windowMean(samples: ReadonlyArray<{ t: number; v: number }>, nowUs: number, windowUs: number): number | null {
  if (samples.length === 0 || samples[0].t > nowUs - windowUs) return null;
  const xs = samples.filter((s) => s.t > nowUs - windowUs);
  return xs.length === 0 ? null : xs.reduce((a, s) => a + s.v, 0) / xs.length;
}

/** True when every sample in the last `windowUs` satisfies `p` and the window is covered. */
export function heldFor(samples: ReadonlyArray<{ t: number; v: number }>, nowUs: number, windowUs: number, p: (v: number) => boolean): boolean {
  if (samples.length === 0 || samples[0].t > nowUs - windowUs) return false;
  const xs = samples.filter((s) => s.t > nowUs - windowUs);
  return xs.length > 0 && xs.every((s) => p(s.v));
}
