// Safety and liveness checkers: they read a trace (and what the scenario says about the world and
// the policies) and say valid or invalid, with every violation found. Pure: no clock, no I/O, and
// no import outside trace/ (the scenario is read through the structural `ScenarioLike` below, so
// a parsed scenario fits without this file knowing the scenario module).
//
// The world's state is replayed from the trace lines the world writes (host.state, link.state,
// vm.state, service.state, vip.assign/remove, net.partition/heal, store.write/delete); who acted
// is read from the policies' own lines (trouble.detected, p2p.placement, ... carry `manager`).
// The invariants (docs/safety.md says why each is stated so):
//
//   S1  never two live holders of one VIP. A holder is live when it is up (host on with its link
//       up; a VM running on such a host) and its clients can reach it both ways: a holder cut off
//       from every client of the VIP is in the partition that cannot act and does not count.
//   S2  no backup activated and no target rebooted while the target was up, serving and
//       reachable from the acting manager all along since the last detection of its trouble.
//   S3  the management records (P2P store) agree with the world: group and separation split the
//       servers, claims are on separated servers only; at the end, no healthy server is left
//       separated, a serving backup has its trouble record and a trouble record has its backup.
//   L1  every VIP of a managed target is served at the end, when the end is at least a grace
//       bound after the last fault event (the bound is computed from the policy's parameters and
//       the world's slowest operations) and someone can still serve it.
//   L2  every managed target that was not killed for good is back at the end (host on, daemons
//       up, its VIP answered by it, and for P2P in the group file).
import type { TraceEvent } from './event.ts';

export type ViolationKey = 'S1' | 'S2' | 'S3' | 'L1' | 'L2';

export interface Violation {
  key: ViolationKey;
  /** When it started (µs); for end-of-run properties, the end. */
  t: number;
  /** The VIP, target or record concerned. */
  subject: string;
  detail: string;
}

export interface CheckResult {
  valid: boolean;
  violations: Violation[];
  /** Whether the liveness properties (L1, L2, the end-state part of S3) applied to this run. */
  livenessChecked: boolean;
  /** The last fault event (injection or heal, µs) and the grace bound used after it. */
  lastFaultUs: number;
  graceUs: number;
  endUs: number;
}

// ---------------------------------------------------------------------------------------------
// What the checkers read of a scenario (a parsed scenario fits).

type DistLike = number | { kind: string; value?: number; min?: number; max?: number; mean?: number; sd?: number; mu?: number; sigma?: number; values?: number[]; shape?: number; scale?: number };

export interface ScenarioLike {
  until?: number;
  network?: { latencyS?: number; examS?: number; vipSetS?: number; commandS?: number };
  hosts: ReadonlyArray<{ name: string; services?: ReadonlyArray<{ name: string }>; bootS?: DistLike; restartS?: DistLike; resumeS?: DistLike; suspendS?: DistLike }>;
  vms?: ReadonlyArray<{ name: string; services?: ReadonlyArray<{ name: string }>; resumeS?: DistLike; startS?: DistLike; suspendS?: DistLike; destroyS?: DistLike }>;
  vips?: ReadonlyArray<{ name: string; service: string; holder?: string | null }>;
  clients?: ReadonlyArray<{ name: string; vip: string }>;
  faults?: ReadonlyArray<{ kind: string; target?: string; a?: readonly string[]; b?: readonly string[]; duration?: number }>;
  policies?: ReadonlyArray<{ kind: string } & Record<string, unknown>>;
}

/** One managed target as the checkers see it. */
export interface ManagedTarget {
  policy: string;
  target: string;
  vip: string;
  backupVm: string;
  /** Who may act on it (failover: its manager; P2P: every other group member). */
  managers: string[];
  /** Where its backup may run. */
  backupHosts: string[];
  /** Hosts that peers wake with Wake-on-LAN when they are off (P2P group members). */
  wakeable: boolean;
  /** Grace bound after the last fault event (µs). */
  graceUs: number;
}

export interface CheckModel {
  endUs: number;
  hosts: Map<string, string[]>; // name -> services
  vms: Map<string, string[]>;
  vipService: Map<string, string>;
  clientsOf: Map<string, string[]>; // vip -> clients
  /** Longest duration of the faults of each kind+target (for heals), µs. */
  faultDurations: Map<string, number>;
  targets: ManagedTarget[];
  /** P2P group members (to know who is woken when off). */
  groupMembers: Set<string>;
}

const US = 1_000_000;

/** A duration as the scenario language writes it (seconds, or "10s"/"250ms"/...), in µs. */
export function durationOf(v: unknown, fallbackUs: number): number {
  if (v === undefined || v === null) return fallbackUs;
  if (typeof v === 'number') return Math.round(v * US);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|min|h|d)?\s*$/.exec(String(v));
  if (!m) return fallbackUs;
  const unit: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, min: 60e6, h: 3600e6, d: 86400e6 };
  return Math.round(Number(m[1]) * unit[m[2] ?? 's']);
}

/** A bound (µs) a draw of the distribution practically never exceeds. */
export function distUpperUs(d: DistLike | undefined, fallbackS: number): number {
  if (d === undefined) return fallbackS * US;
  if (typeof d === 'number') return d * US;
  switch (d.kind) {
    case 'constant': return (d.value ?? fallbackS) * US;
    case 'uniform': return (d.max ?? fallbackS) * US;
    case 'normal': return Math.max(0, d.max ?? (d.mean ?? fallbackS) + 5 * (d.sd ?? 0)) * US;
    case 'exponential': return 10 * (d.mean ?? fallbackS) * US;
    case 'lognormal': return Math.exp((d.mu ?? 0) + 5 * (d.sigma ?? 0)) * US;
    case 'empirical': return Math.max(...(d.values ?? [fallbackS])) * US;
    case 'weibull': return (d.scale ?? fallbackS) * Math.pow(40, 1 / (d.shape ?? 1)) * US;
    default: return fallbackS * US;
  }
}

/** The model of a scenario the checkers use: world names, managed targets and grace bounds. */
export function checkModel(s: ScenarioLike, endUs?: number): CheckModel {
  const hosts = new Map(s.hosts.map((h) => [h.name, (h.services ?? []).map((x) => x.name)]));
  const vms = new Map((s.vms ?? []).map((v) => [v.name, (v.services ?? []).map((x) => x.name)]));
  const vipService = new Map((s.vips ?? []).map((v) => [v.name, v.service]));
  const clientsOf = new Map<string, string[]>();
  for (const c of s.clients ?? []) clientsOf.set(c.vip, [...(clientsOf.get(c.vip) ?? []), c.name]);
  const faultDurations = new Map<string, number>();
  for (const f of s.faults ?? []) {
    const k = `${f.kind}|${f.target ?? (f.a ?? []).join(',')}`;
    faultDurations.set(k, Math.max(faultDurations.get(k) ?? 0, f.duration ?? 0));
  }
  const net = s.network ?? {};
  const commandUs = (net.commandS ?? 0.05) * US;
  const vipSetUs = (net.vipSetS ?? 0.1) * US;
  const slowHostUs = Math.max(0, ...s.hosts.flatMap((h) => [distUpperUs(h.bootS, 60), distUpperUs(h.restartS, 60), distUpperUs(h.resumeS, 5)]));
  const slowVmUs = Math.max(0, ...(s.vms ?? []).flatMap((v) => [distUpperUs(v.resumeS, 4.67), distUpperUs(v.suspendS, 2)]));
  const targets: ManagedTarget[] = [];
  const groupMembers = new Set<string>();
  const holderOf = (host: string) => (s.vips ?? []).find((v) => v.holder === host)?.name;
  for (const p of s.policies ?? []) {
    if (p.kind === 'failover') {
      const interval = durationOf(p.interval, 10 * US);
      const tsw = durationOf(p.serviceTimeout, 3 * US);
      const tnd = durationOf(p.networkTimeout, 2 * US);
      const wait = durationOf(p.recoveryWait, 300 * US);
      // One recovery: detection, examinations, fencing, activation, reboot, the wait, the
      // fallback; after the last fault at most two of them run (one in progress, one new).
      const cycle = 2 * interval + 2 * tsw + 2 * tnd + 6 * commandUs + 8 * vipSetUs + 3 * slowVmUs + slowHostUs + wait + 2 * US;
      targets.push({
        policy: 'failover', target: String(p.target), vip: String(p.vip), backupVm: String(p.backupVm),
        managers: [String(p.manager)], backupHosts: [String(p.backupHost)], wakeable: false, graceUs: 2 * cycle,
      });
    } else if (p.kind === 'p2p') {
      const group = (p.group as string[]) ?? [];
      for (const g of group) groupMembers.add(g);
      const backups = (p.backups ?? {}) as Record<string, string>;
      const tim = durationOf(p.interval, 10 * US);
      const tnd = durationOf(p.networkTimeout, 2 * US);
      const tsw = durationOf(p.serviceTimeout, 3 * US);
      const trc = durationOf(p.restartWait, 88 * US);
      const decision = durationOf(p.decision, 250_000);
      const reconcile = durationOf(p.reconcile, 60 * US);
      const daemons = Math.max(1, ...group.map((g) => hosts.get(g)?.length ?? 1));
      // Detection (P2 after P1: two grid steps), examination, decision, activation, the
      // background job (Trc, Wake-on-LAN, Trc, boot), re-examination, fallback, and two
      // reconcile periods (the supervisors' re-read; an orphaned claim is taken at the second
      // check); at most two of these after the last fault.
      const cycle = 3 * tim + 3 * tnd + 2 * daemons * tsw + decision + 3 * slowVmUs + 2 * trc + 2 * slowHostUs + 2 * reconcile + 6 * vipSetUs + 6 * commandUs + 2 * US;
      for (const g of group) {
        targets.push({
          policy: 'p2p', target: g, vip: holderOf(g) ?? '', backupVm: backups[g] ?? `${g}b`,
          managers: group.filter((x) => x !== g), backupHosts: group.filter((x) => x !== g), wakeable: true, graceUs: 2 * cycle,
        });
      }
    }
  }
  return { endUs: endUs ?? s.until ?? 0, hosts, vms, vipService, clientsOf, faultDurations, targets, groupMembers };
}

// ---------------------------------------------------------------------------------------------
// The world replayed from the trace.

const CLIENT_NODE = 'client';

class Replay {
  readonly host = new Map<string, { state: string; link: boolean }>();
  readonly vm = new Map<string, { state: string; host: string | null }>();
  readonly svc = new Map<string, string>();
  readonly holders = new Map<string, string[]>();
  readonly blocked = new Map<string, number>();
  readonly partitions: Array<{ a: string[]; b: string[]; oneWay: boolean }> = [];
  readonly store = new Map<string, unknown>();

  constructor(readonly m: CheckModel) {
    for (const h of m.hosts.keys()) this.host.set(h, { state: 'on', link: true });
  }

  isNode(n: string): boolean {
    return this.m.hosts.has(n) || this.m.vms.has(n);
  }
  physical(n: string): string | null {
    if (this.m.hosts.has(n)) return n;
    return this.vm.get(n)?.host ?? null;
  }
  nodeUp(n: string): boolean {
    const h = this.host.get(n);
    if (h) return h.state === 'on' && h.link;
    const v = this.vm.get(n);
    if (!v || v.state !== 'running' || v.host === null) return false;
    return this.nodeUp(v.host);
  }
  reachable(from: string, to: string): boolean {
    if (this.isNode(from) && !this.nodeUp(from)) return false;
    if (this.isNode(to) && !this.nodeUp(to)) return false;
    if (this.blocked.size === 0) return true;
    const a = this.physical(from) ?? from;
    const b = this.physical(to) ?? to;
    return !this.blocked.has(`${a}>${b}`) && !this.blocked.has(`${from}>${to}`);
  }
  both(a: string, b: string): boolean {
    return this.reachable(a, b) && this.reachable(b, a);
  }
  servicesUp(node: string): boolean {
    const list = this.m.hosts.get(node) ?? this.m.vms.get(node) ?? [];
    return list.every((s) => (this.svc.get(`${node}/${s}`) ?? 'up') === 'up');
  }
  serviceUp(node: string, service: string): boolean {
    return (this.svc.get(`${node}/${service}`) ?? 'up') === 'up';
  }
  clients(vip: string): string[] {
    const c = this.m.clientsOf.get(vip);
    return c && c.length ? c : [CLIENT_NODE];
  }
  /** Holders that are up and reachable (both ways) from at least one client of the VIP. */
  liveHolders(vip: string): string[] {
    return (this.holders.get(vip) ?? []).filter((h) => this.nodeUp(h) && this.clients(vip).some((c) => this.both(c, h)));
  }
  answerer(vip: string): string | null {
    const hs = this.holders.get(vip) ?? [];
    for (let i = hs.length - 1; i >= 0; i--) if (this.nodeUp(hs[i])) return hs[i];
    return null;
  }
  served(vip: string): boolean {
    const who = this.answerer(vip);
    const svc = this.m.vipService.get(vip);
    return who !== null && svc !== undefined && this.serviceUp(who, svc) && this.clients(vip).some((c) => this.both(c, who));
  }
  hostText(h: string): string {
    const s = this.host.get(h);
    return s ? `${s.state}${s.link ? '' : ',link down'}` : '?';
  }
  vmText(v: string): string {
    const s = this.vm.get(v);
    return s ? `${s.state}@${s.host ?? '-'}` : '?';
  }

  apply(e: TraceEvent): void {
    const d = e.data ?? {};
    switch (e.kind) {
      case 'host.state': {
        const h = this.host.get(e.subject) ?? { state: 'on', link: true };
        h.state = String(d.state);
        this.host.set(e.subject, h);
        return;
      }
      case 'link.state': {
        const h = this.host.get(e.subject) ?? { state: 'on', link: true };
        h.link = d.up === true;
        this.host.set(e.subject, h);
        return;
      }
      case 'vm.state':
        this.vm.set(e.subject, { state: String(d.state), host: (d.host as string | null) ?? null });
        return;
      case 'service.state':
        this.svc.set(e.subject, String(d.state));
        return;
      case 'vip.assign': {
        const hs = (this.holders.get(e.subject) ?? []).filter((h) => h !== d.holder);
        hs.push(String(d.holder));
        this.holders.set(e.subject, hs);
        return;
      }
      case 'vip.remove':
        this.holders.set(e.subject, (this.holders.get(e.subject) ?? []).filter((h) => h !== d.holder));
        return;
      case 'net.partition':
      case 'net.heal': {
        const a = (d.a as string[]) ?? [];
        const b = (d.b as string[]) ?? [];
        const oneWay = d.oneWay === true;
        const sign = e.kind === 'net.partition' ? 1 : -1;
        for (const x of a) for (const y of b) {
          this.block(`${x}>${y}`, sign);
          if (!oneWay) this.block(`${y}>${x}`, sign);
        }
        if (sign > 0) this.partitions.push({ a, b, oneWay });
        else {
          const i = this.partitions.findIndex((p) => p.oneWay === oneWay && p.a.join() === a.join() && p.b.join() === b.join());
          if (i >= 0) this.partitions.splice(i, 1);
        }
        return;
      }
      case 'store.write':
        this.store.set(e.subject, d.value);
        return;
      case 'store.delete':
        this.store.delete(e.subject);
        return;
    }
  }

  private block(k: string, sign: number): void {
    const n = (this.blocked.get(k) ?? 0) + sign;
    if (n <= 0) this.blocked.delete(k);
    else this.blocked.set(k, n);
  }
}

interface Membership {
  group: string[];
  separation: string[];
  order: string[];
  claims?: Record<string, string>;
}
interface TroubleRecord {
  vm: string;
  target: string;
  host: string;
}

const fmt = (us: number) => `${(us / US).toFixed(6)}s`;

/** The policies' lines that name who acts on a target. */
function actorOf(e: TraceEvent, targets: Set<string>): { target: string; manager: string } | null {
  const d = e.data ?? {};
  if (typeof d.manager === 'string' && targets.has(e.subject)) return { target: e.subject, manager: d.manager };
  if (e.kind === 'p2p.mode' && typeof d.target === 'string' && targets.has(d.target)) return { target: d.target, manager: e.subject };
  return null;
}

/** Checks a trace against S1, S2, S3, L1 and L2. */
export function checkTrace(events: readonly TraceEvent[], m: CheckModel): CheckResult {
  const w = new Replay(m);
  const out: Violation[] = [];
  const targetNames = new Set(m.targets.map((t) => t.target));
  const byTarget = new Map(m.targets.map((t) => [t.target, t]));
  const backupOf = new Map(m.targets.map((t) => [t.backupVm, t]));
  const lastDetect = new Map<string, number>();
  const lastActor = new Map<string, string>();
  /** Since when target T has been healthy and reachable from manager A ("T|A"), undefined when not. */
  const fineSince = new Map<string, number>();
  const s1Open = new Map<string, { t: number; holders: string[] }>();
  let lastFaultUs = 0;
  let i = 0;
  /** Subjects of the fault lines of the current instant (a restart they cause is no policy's act). */
  const faultedNow = new Set<string>();

  const healthyFrom = (t: string, a: string) => w.nodeUp(t) && w.servicesUp(t) && w.both(a, t);

  const s2 = (e: TraceEvent, target: string, action: string) => {
    const tg = byTarget.get(target);
    const actor = lastActor.get(target) ?? tg?.managers[0];
    if (!tg || !actor) return;
    if (!healthyFrom(target, actor)) return;
    const since = fineSince.get(`${target}|${actor}`);
    const detected = lastDetect.get(target);
    if (since === undefined || (detected !== undefined && since > detected)) return;
    out.push({
      key: 'S2', t: e.t, subject: target,
      detail: `${action} by ${actor} at ${fmt(e.t)} although ${target} was up, serving and reachable from ${actor} since ${fmt(since)} (${detected === undefined ? 'no detection' : `last detection ${fmt(detected)}`})`,
    });
  };

  const membershipCheck = (e: TraceEvent) => {
    const mm = e.data?.value as Membership | undefined;
    if (!mm || !Array.isArray(mm.group)) return;
    const g = new Set(mm.group);
    const sep = new Set(mm.separation);
    const problems: string[] = [];
    for (const s of sep) if (g.has(s)) problems.push(`${s} in both group and separation`);
    for (const s of mm.order) if (!g.has(s) && !sep.has(s)) problems.push(`${s} in neither group nor separation`);
    for (const s of Object.keys(mm.claims ?? {})) if (!sep.has(s)) problems.push(`claim on ${s}, which is not separated`);
    if (problems.length) out.push({ key: 'S3', t: e.t, subject: e.subject, detail: problems.join('; ') });
  };

  const endOfInstant = (t: number) => {
    for (const [vip] of w.holders) {
      const live = w.liveHolders(vip);
      const open = s1Open.get(vip);
      if (live.length >= 2 && !open) s1Open.set(vip, { t, holders: live });
      else if (live.length < 2 && open) {
        out.push({ key: 'S1', t: open.t, subject: vip, detail: `two live holders (${open.holders.join('+')}) from ${fmt(open.t)} for ${((t - open.t) / US).toFixed(6)}s` });
        s1Open.delete(vip);
      }
    }
    for (const tg of m.targets) {
      for (const a of tg.managers) {
        const k = `${tg.target}|${a}`;
        if (healthyFrom(tg.target, a)) {
          if (!fineSince.has(k)) fineSince.set(k, t);
        } else fineSince.delete(k);
      }
    }
  };

  while (i < events.length) {
    const t = events[i].t;
    faultedNow.clear();
    for (; i < events.length && events[i].t === t; i++) {
      const e = events[i];
      const d = e.data ?? {};
      if (e.kind === 'fault') {
        const dur = m.faultDurations.get(`${String(d.fault)}|${e.subject}`) ?? 0;
        lastFaultUs = Math.max(lastFaultUs, e.t + dur);
      }
      if (e.kind === 'trouble.detected') lastDetect.set(e.subject, e.t);
      const act = actorOf(e, targetNames);
      if (act) lastActor.set(act.target, act.manager);
      // Actions, judged on the state just before them.
      if (e.kind === 'vm.state' && (d.state === 'resuming' || d.state === 'starting')) {
        const tg = backupOf.get(e.subject);
        if (tg) s2(e, tg.target, `${e.subject} activated on ${String(d.host)}`);
      }
      if (e.kind === 'fault') faultedNow.add(e.subject);
      if (e.kind === 'host.state' && d.state === 'restarting' && targetNames.has(e.subject) && !faultedNow.has(e.subject)) {
        s2(e, e.subject, `${e.subject} rebooted`);
      }
      w.apply(e);
      if (e.kind === 'store.write' && e.subject === 'p2p/membership') membershipCheck(e);
    }
    endOfInstant(t);
  }

  const endUs = Math.max(m.endUs, events.length ? events[events.length - 1].t : 0);
  for (const [vip, open] of s1Open) {
    out.push({ key: 'S1', t: open.t, subject: vip, detail: `two live holders (${open.holders.join('+')}) from ${fmt(open.t)} to the end (${((endUs - open.t) / US).toFixed(6)}s)` });
  }

  const graceUs = Math.max(0, ...m.targets.map((t) => t.graceUs));
  const livenessChecked = m.targets.length > 0 && endUs >= lastFaultUs + graceUs;
  if (livenessChecked) endChecks(w, m, endUs, out);
  out.sort((a, b) => a.t - b.t || a.key.localeCompare(b.key) || a.subject.localeCompare(b.subject));
  return { valid: out.length === 0, violations: out, livenessChecked, lastFaultUs, graceUs, endUs };
}

/** The end-state properties: L1, L2, and the records-vs-world part of S3. */
function endChecks(w: Replay, m: CheckModel, endUs: number, out: Violation[]): void {
  const inPartition = new Set(w.partitions.flatMap((p) => [...p.a, ...p.b]));
  const membership = w.store.get('p2p/membership') as Membership | undefined;
  // A host that cannot come back: failed, paused or cut off for good, or off with nobody to wake it.
  const alive = (h: string): boolean => {
    const s = w.host.get(h);
    if (!s) return false;
    if (s.state === 'failed' || s.state === 'paused' || !s.link) return false;
    if (s.state === 'off') return m.groupMembers.has(h) && [...m.groupMembers].some((o) => o !== h && aliveOn(o));
    return true;
  };
  const aliveOn = (h: string): boolean => {
    const s = w.host.get(h);
    return !!s && s.link && s.state !== 'failed' && s.state !== 'paused' && s.state !== 'off';
  };
  for (const tg of m.targets) {
    // Liveness under a partition that never heals is not defined: skip what it touches.
    const touched = [tg.target, tg.backupVm, ...tg.managers, ...tg.backupHosts, ...w.clients(tg.vip)].some((n) => inPartition.has(n));
    if (touched) continue;
    const managers = tg.managers.filter(alive);
    if (managers.length === 0) continue;
    const targetAlive = alive(tg.target);
    // A backup running on a host cut off or paused for good cannot be stopped or moved (no
    // out-of-band fencing in the model): the VIP cannot be served by it elsewhere.
    const vm = w.vm.get(tg.backupVm);
    const stuck = !!vm && vm.host !== null && ['running', 'resuming', 'starting', 'suspending'].includes(vm.state) && !alive(vm.host) && w.host.get(vm.host)?.state !== 'off';
    // A daemon of the backup VM that hangs or cannot restart (St2) is cured only by a server
    // restart, which a VM does not get in the model: such a backup cannot serve.
    const svcState = w.svc.get(`${tg.backupVm}/${m.vipService.get(tg.vip) ?? ''}`);
    const backupBroken = svcState === 'frozen' || svcState === 'failed';
    const backupPossible = !stuck && !backupBroken && tg.backupHosts.some(alive);
    const world = `host ${tg.target} ${w.hostText(tg.target)}, services ${w.servicesUp(tg.target) ? 'up' : 'down'}, holders [${(w.holders.get(tg.vip) ?? []).join(',')}], answerer ${w.answerer(tg.vip)}, ${tg.backupVm} ${w.vmText(tg.backupVm)}`;
    if (tg.vip && (targetAlive || backupPossible) && !w.served(tg.vip)) {
      out.push({ key: 'L1', t: endUs, subject: tg.vip, detail: `not served at the end: ${world}` });
    }
    if (!targetAlive) continue;
    const why: string[] = [];
    if (!w.nodeUp(tg.target)) why.push(`host ${w.hostText(tg.target)}`);
    else if (!w.servicesUp(tg.target)) why.push('a daemon is down');
    if (tg.vip && w.answerer(tg.vip) !== tg.target) why.push(`VIP answered by ${w.answerer(tg.vip)}`);
    if (tg.policy === 'p2p' && membership && !membership.group.includes(tg.target)) why.push('not in the group file');
    if (why.length) out.push({ key: 'L2', t: endUs, subject: tg.target, detail: `not back at the end (${why.join('; ')}): ${world}` });
  }
  // Records against the world (P2P).
  if (!membership) return;
  const p2pTargets = m.targets.filter((t) => t.policy === 'p2p');
  const skip = (tg: ManagedTarget) => [tg.target, tg.backupVm, ...tg.managers, ...w.clients(tg.vip)].some((n) => inPartition.has(n));
  for (const tg of p2pTargets) {
    // Records nobody is left to correct are not judged.
    if (skip(tg) || !tg.managers.some(alive)) continue;
    const rec = w.store.get(`p2p/trouble/${tg.target}`) as TroubleRecord | undefined;
    const vm = w.vm.get(tg.backupVm);
    const serving = w.nodeUp(tg.backupVm) && (w.holders.get(tg.vip) ?? []).includes(tg.backupVm);
    if (serving && (!rec || rec.host !== vm!.host)) {
      out.push({ key: 'S3', t: endUs, subject: tg.target, detail: `${tg.backupVm} serves ${tg.vip} on ${vm!.host} but the trouble record says ${rec ? rec.host : 'nothing'}` });
    }
    if (rec && vm?.state !== 'running' && vm?.state !== 'resuming') {
      out.push({ key: 'S3', t: endUs, subject: tg.target, detail: `trouble record left at the end (${rec.vm} on ${rec.host}) while ${tg.backupVm} is ${w.vmText(tg.backupVm)}` });
    }
    if (membership.separation.includes(tg.target) && w.nodeUp(tg.target) && w.servicesUp(tg.target) && tg.managers.some((a) => w.both(a, tg.target))) {
      out.push({ key: 'S3', t: endUs, subject: tg.target, detail: `healthy but left in the separation file (claims ${JSON.stringify(membership.claims ?? {})})` });
    }
  }
}
