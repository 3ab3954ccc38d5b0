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
//   S4  placements within capacity: the memory of the VMs a host runs (running, starting,
//       resuming, suspending) never exceeds what the host leaves to VMs (memMb - memUsedMb).
//   S5  lbcluster: after convergence (master down + an advert interval), at most one VRRP master
//       among the directors that hear each other; and no new connection goes to a real server
//       whose service has been down (or out of the master's reach) for longer than its checker
//       needs to see it (delay_loop + (retry + 1) x connect_timeout + retry x delay_before_retry).
// Beside the P2P/failover targets, the VIPs of pss, msbs, navigator and lbcluster are L1 goals
// with their own grace bounds, and the PSS operation file is a management record (S3): no VIP in
// it twice, and at the end every VIP in it once, on the VM that answers for it.
import type { TraceEvent } from './event.ts';
import { StoreReplica } from './store.ts';

export type ViolationKey = 'S1' | 'S2' | 'S3' | 'S4' | 'S5' | 'L1' | 'L2';

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
  hosts: ReadonlyArray<{ name: string; services?: ReadonlyArray<{ name: string }>; bootS?: DistLike; restartS?: DistLike; resumeS?: DistLike; suspendS?: DistLike; memMb?: number; memUsedMb?: number }>;
  vms?: ReadonlyArray<{ name: string; services?: ReadonlyArray<{ name: string }>; resumeS?: DistLike; startS?: DistLike; suspendS?: DistLike; destroyS?: DistLike; migrateS?: DistLike; memMb?: number }>;
  vips?: ReadonlyArray<{ name: string; service: string; holder?: string | null; pool?: string }>;
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

/** A VIP that must be served a grace bound after the last fault (pss, msbs, navigator, lbcluster). */
export interface VipGoal {
  policy: string;
  vip: string;
  graceUs: number;
  /** Who acts for it: when none of them is alive at the end, nobody can serve it again. */
  managers: string[];
  /** Nodes that may serve it (one of them, or of their hosts, must be alive). */
  servers: string[];
  /** Navigator: served only while a pilot survives (no container of a pilot, running on a host that is on with its link up, at some instant, ends it). */
  pilots?: string[];
}

/** One lbcluster instance as the checkers see it. */
export interface LbInstance {
  instance: string;
  vip: string;
  directors: string[];
  daemon: string | null;
  service: string;
  realServers: string[];
  /** After this long in touch, two directors agree on one master (master down + an advert interval + margin). */
  convergeUs: number;
  /** A real server down this long is out of the pool (its checker's detection time + margin). */
  detectUs: number;
}

export interface CheckModel {
  endUs: number;
  /** The largest grace bound of any target or goal (µs). */
  graceUs: number;
  goals: VipGoal[];
  lbs: LbInstance[];
  /** Memory a host leaves to VMs (MB) and each VM's memory (MB): S4. */
  vmRoom: Map<string, number>;
  vmMem: Map<string, number>;
  /** The VIPs the PSS operation file must carry (S3). */
  pssVips: string[];
  /** Host-power policies (dpm, ovirt): their VMs, each running at the end (L2). */
  vmGoals: Array<{ policy: string; vm: string; graceUs: number; managers: string[] }>;
  /** Hosts a host-power policy puts in standby: none may hold a running VM then (S4). */
  standbyEmpty: Set<string>;
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

/** A manager's examination times (µs): its interval and its network and service timeouts (defaults 10, 2 and 3 s, as the policies have them). */
function examTimes(p: Record<string, unknown>): { interval: number; tnd: number; tsw: number } {
  return { interval: durationOf(p.interval, 10 * US), tnd: durationOf(p.networkTimeout, 2 * US), tsw: durationOf(p.serviceTimeout, 3 * US) };
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
  const slowStartUs = Math.max(0, ...(s.vms ?? []).map((v) => distUpperUs(v.startS, 42.84)));
  const targets: ManagedTarget[] = [];
  const goals: VipGoal[] = [];
  const lbs: LbInstance[] = [];
  const pssVips: string[] = [];
  const groupMembers = new Set<string>();
  const holderOf = (host: string) => (s.vips ?? []).find((v) => v.holder === host)?.name;
  for (const p of s.policies ?? []) {
    if (p.kind === 'failover') {
      const { interval, tnd, tsw } = examTimes(p);
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
      const { interval: tim, tnd, tsw } = examTimes(p);
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
  // The newer policies: their VIPs are L1 goals, each with a grace bound from its parameters.
  const pssBlock = (s.policies ?? []).find((p) => p.kind === 'pss');
  let pssGraceUs = 0;
  if (pssBlock) {
    const interval = durationOf(pssBlock.interval, 10 * US);
    const groups = (pssBlock.groups as Array<{ spare: string; members: Array<{ vm: string; host: string; vip: string }> }>) ?? [];
    const vips = groups.flatMap((g) => g.members.map((m) => m.vip));
    pssVips.push(...vips);
    // Each step of a condition takes `lightCount` periods, PS2 the access window on top; one
    // transition wakes a server, activates a spare and moves every VIP; two after the last change.
    const lightCount = Number(pssBlock.lightCount ?? 4);
    const cycle = (lightCount + 3) * interval + durationOf(pssBlock.accessWindow, 60 * US) + slowHostUs + 2 * slowVmUs + vips.length * (2 * vipSetUs + 2 * commandUs) + 2 * US;
    pssGraceUs = 2 * cycle;
    for (const g of groups) for (const m of g.members) {
      goals.push({ policy: 'pss', vip: m.vip, graceUs: pssGraceUs, managers: [String(pssBlock.manager)], servers: [...new Set([...g.members.map((x) => x.host), ...(pssBlock.ps1Base as string[] ?? [])])] });
    }
  }
  for (const p of s.policies ?? []) {
    if (p.kind === 'msbs') {
      const { interval, tnd, tsw } = examTimes(p);
      const rw = durationOf(p.recoveryWait, 120 * US);
      const restartWait = durationOf(p.restartWait, 75 * US);
      const bootWait = durationOf(p.bootWait, 120 * US);
      const ts = (p.targets as Array<{ vm: string; backup: string; realServer: string }>) ?? [];
      // DBSS: detection, re-examination, backup, VIP moves, the target's restart and wait, the
      // hand back; DSRS: restart wait, Wake-on-LAN, boot wait, every VM started again.
      const cycle = 2 * interval + 2 * tnd + 2 * tsw + 3 * slowVmUs + rw + restartWait + bootWait + slowHostUs + ts.length * (slowStartUs + US + 4 * vipSetUs) + 20 * commandUs + 2 * US;
      const graceUs = 2 * cycle + pssGraceUs;
      for (const g of goals) if (g.policy === 'pss') g.graceUs = Math.max(g.graceUs, graceUs);
    } else if (p.kind === 'navigator') {
      const primaryCheck = durationOf(p.primaryCheck, 5 * US);
      const secondaryCheck = durationOf(p.secondaryCheck, 300 * US);
      const ping = durationOf(p.pingTimeout, 4 * US);
      const image = Number(p.imageBytes ?? 1.25e9) * 8;
      const copyUs = Math.ceil((image / Number(p.transferRateBps ?? 66e6) + image / Number(p.backupRateBps ?? 96e6)) * US);
      const lease = p.lease === true ? 2 * durationOf(p.leaseTtl, 15 * US) : 0;
      // The secondary's detection, the lease, the takeover; a new secondary (uptimes, copies, start).
      const cycle = primaryCheck + secondaryCheck + 2 * ping + durationOf(p.uptimeWait, US) + copyUs + 2 * slowStartUs + lease + 10 * commandUs + 4 * vipSetUs + 2 * US;
      const containers = (p.containers as string[]) ?? [];
      const pcs = (p.hosts as string[] | undefined) ?? s.hosts.map((h) => h.name);
      goals.push({ policy: 'navigator', vip: String(p.vip), graceUs: 2 * cycle, managers: pcs, servers: pcs, pilots: containers });
    } else if (p.kind === 'lbcluster') {
      const advert = durationOf(p.advertInt, US);
      const directors = ((p.directors as Array<{ host: string; priority: number }>) ?? []);
      const minPriority = Math.min(255, ...directors.map((d) => d.priority));
      const masterDown = 3 * advert + Math.floor(((256 - minPriority) * US) / 256);
      const ck = (p.checker ?? {}) as Record<string, unknown>;
      const delayLoop = durationOf(ck.delayLoop, 60 * US);
      const connect = durationOf(ck.connectTimeout, 5 * US);
      const retry = Number(ck.retry ?? 1);
      const dbr = durationOf(ck.delayBeforeRetry, US);
      const convergeUs = masterDown + advert + durationOf(p.garpDelay, 0) + durationOf(p.preemptDelay, 0) + vipSetUs + 2 * commandUs + 100_000;
      const detectUs = delayLoop + (retry + 1) * connect + retry * dbr + 2 * commandUs + 100_000;
      const reals = ((p.realServers as Array<{ host: string }>) ?? []).map((r) => r.host);
      const vip = String(p.vip);
      lbs.push({
        instance: String(p.instance ?? 'VI_1'), vip, directors: directors.map((d) => d.host), daemon: p.daemon === null ? null : String(p.daemon ?? 'keepalived'),
        service: String(p.service), realServers: reals, convergeUs, detectUs,
      });
      // A real server back is checked up within a delay loop; a director back preempts after master down.
      goals.push({ policy: 'lbcluster', vip, graceUs: 2 * (convergeUs + detectUs + delayLoop + slowHostUs + 2 * US), managers: directors.map((d) => d.host), servers: reals });
    }
  }
  // The host-power baselines: their VIPs are L1 goals, their VMs L2 goals (running at the end);
  // a host they put in standby holds no running VM (S4).
  const vmGoals: CheckModel['vmGoals'] = [];
  const standbyEmpty = new Set<string>();
  for (const p of s.policies ?? []) {
    if (p.kind !== 'dpm' && p.kind !== 'ovirt') continue;
    const interval = durationOf(p.interval, 60 * US);
    const window = p.kind === 'dpm' ? Math.max(durationOf(p.powerOnWindow, 300 * US), durationOf(p.powerOffWindow, 2400 * US)) : durationOf(p.duration, 120 * US);
    const managed = (p.vms as Array<{ vm: string; vip?: string }>) ?? [];
    const slowMigrateUs = Math.max(0, ...(s.vms ?? []).map((v) => distUpperUs(v.migrateS, 5)));
    // A decision needs its window of history (restarted after each action), then one action:
    // a wake and every VM migrated; two of them after the last fault.
    const cycle = window + 3 * interval + slowHostUs + managed.length * (slowMigrateUs + 2 * commandUs) + 2 * US;
    const hs = (p.hosts as string[]) ?? [];
    for (const h of hs) standbyEmpty.add(h);
    for (const v of managed) {
      vmGoals.push({ policy: p.kind, vm: v.vm, graceUs: 2 * cycle, managers: [String(p.manager)] });
      if (v.vip) goals.push({ policy: p.kind, vip: v.vip, graceUs: 2 * cycle, managers: [String(p.manager)], servers: hs });
    }
  }
  const vmRoom = new Map(s.hosts.map((h) => [h.name, (h.memMb ?? 8192) - (h.memUsedMb ?? 1024)]));
  const vmMem = new Map((s.vms ?? []).map((v) => [v.name, v.memMb ?? 2048]));
  const graceUs = Math.max(0, ...targets.map((t) => t.graceUs), ...goals.map((g) => g.graceUs), ...vmGoals.map((g) => g.graceUs));
  return { endUs: endUs ?? s.until ?? 0, graceUs, goals, lbs, vmRoom, vmMem, pssVips, vmGoals, standbyEmpty, hosts, vms, vipService, clientsOf, faultDurations, targets, groupMembers };
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
  /** The store's records, rebuilt from its lines (trace/store.ts). */
  readonly store = new StoreReplica(false);
  /** lbcluster: "instance|router" -> VRRP state. */
  readonly vrrp = new Map<string, string>();
  /** Each client's last access: ok, and the real server that answered (load-balanced VIPs). */
  readonly lastAccess = new Map<string, { ok: boolean; by?: string; t: number }>();

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
      case 'store.delete':
        this.store.apply(e);
        return;
      case 'vrrp.state':
        this.vrrp.set(`${e.subject}|${String(d.router)}`, String(d.to));
        return;
      case 'client.access':
        this.lastAccess.set(e.subject, { ok: d.ok === true, ...(typeof d.by === 'string' ? { by: d.by } : {}), t: e.t });
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
  /** Navigator: goals whose containers ran, and those that lost every container at once (no pilot left). */
  const pilotsSeen = new Set<string>();
  const pilotsLost = new Set<string>();
  /** Navigator containers whose pilot said it runs them (a navigator.track line since their last start). */
  const piloted = new Set<string>();
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
    const mm = w.store.value(e.subject) as Membership | undefined;
    if (!mm || !Array.isArray(mm.group)) return;
    const g = new Set(mm.group);
    const sep = new Set(mm.separation);
    const problems: string[] = [];
    for (const s of sep) if (g.has(s)) problems.push(`${s} in both group and separation`);
    for (const s of mm.order) if (!g.has(s) && !sep.has(s)) problems.push(`${s} in neither group nor separation`);
    for (const s of Object.keys(mm.claims ?? {})) if (!sep.has(s)) problems.push(`claim on ${s}, which is not separated`);
    if (problems.length) out.push({ key: 'S3', t: e.t, subject: e.subject, detail: problems.join('; ') });
  };

  const lbVips = new Set(m.lbs.map((l) => l.vip));
  const endOfInstant = (t: number) => {
    for (const [vip] of w.holders) {
      // A load-balanced VIP belongs to the VRRP master: S5 judges the masters.
      if (lbVips.has(vip)) continue;
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
    for (const lb of m.lbs) lbInstant(lb, t);
    for (const g of m.goals) {
      if (!g.pilots) continue;
      const held = g.pilots.filter((v) => {
        const st = w.vm.get(v);
        if (!piloted.has(v)) return false;
        const hs = st?.host ? w.host.get(st.host)?.state : undefined;
        return !!st && st.host !== null && ['running', 'starting', 'resuming'].includes(st.state) && hs === 'on' && w.host.get(st.host)?.link === true;
      }).length;
      if (held > 0) pilotsSeen.add(g.vip);
      else if (pilotsSeen.has(g.vip)) pilotsLost.add(g.vip);
    }
  };

  // S5: VRRP masters in touch, and connections to failed real servers.
  const mastersSince = new Map<string, number>();
  const failedSince = new Map<string, number>();
  const reportedFailed = new Set<string>();
  const daemonUp = (lb: LbInstance, d: string) => lb.daemon === null || w.serviceUp(d, lb.daemon);
  const lbInstant = (lb: LbInstance, t: number) => {
    const masters = lb.directors.filter((d) => w.vrrp.get(`${lb.instance}|${d}`) === 'master' && w.nodeUp(d) && daemonUp(lb, d));
    const inTouch = masters.some((a, i) => masters.slice(i + 1).some((b) => w.both(a, b)));
    const open = mastersSince.get(lb.instance);
    if (inTouch && open === undefined) mastersSince.set(lb.instance, t);
    else if (!inTouch && open !== undefined) {
      if (t - open > lb.convergeUs) out.push({ key: 'S5', t: open, subject: lb.instance, detail: `two VRRP masters that hear each other from ${fmt(open)} for ${((t - open) / US).toFixed(6)}s (convergence bound ${(lb.convergeUs / US).toFixed(3)}s)` });
      mastersSince.delete(lb.instance);
    }
    for (const d of lb.directors) for (const x of lb.realServers) {
      const k = `${d}|${x}`;
      // A director's checkers run while it is up with its keepalived: one (re)started counts
      // from then (without alpha, keepalived takes every server for up until it has checked it).
      if (!w.nodeUp(d) || !daemonUp(lb, d)) {
        failedSince.delete(k);
        reportedFailed.delete(k);
        continue;
      }
      const failed = !w.nodeUp(x) || !w.serviceUp(x, lb.service) || !w.both(d, x);
      if (!failed) {
        failedSince.delete(k);
        reportedFailed.delete(k);
      } else if (!failedSince.has(k)) failedSince.set(k, t);
    }
  };
  const lbAccess = (e: TraceEvent) => {
    const by = e.data?.by;
    const vip = e.data?.vip;
    if (typeof by !== 'string') return;
    const lb = m.lbs.find((l) => l.vip === vip);
    const director = lb ? w.answerer(lb.vip) : null;
    if (!lb || director === null) return;
    // Judged for a director whose keepalived runs (a hung one keeps its kernel table and checks
    // nothing: keepalived's own limit) and that is the only master up: the sim's pool is one per
    // VIP, written by every master, where real directors each have their own IPVS table.
    if (!daemonUp(lb, director)) return;
    if (lb.directors.some((d) => d !== director && w.vrrp.get(`${lb.instance}|${d}`) === 'master' && w.nodeUp(d) && daemonUp(lb, d))) return;
    const k = `${director}|${by}`;
    const since = failedSince.get(k);
    if (since === undefined || e.t - since <= lb.detectUs || reportedFailed.has(k)) return;
    reportedFailed.add(k);
    out.push({ key: 'S5', t: e.t, subject: by, detail: `a new connection of ${e.subject} sent by ${director} to ${by} at ${fmt(e.t)}, failed (host ${w.hostText(by)}, ${lb.service} ${w.svc.get(`${by}/${lb.service}`) ?? 'up'}) since ${fmt(since)} (bound ${(lb.detectUs / US).toFixed(3)}s)` });
  };

  // S4: the VMs on a host fit in its memory.
  const overloaded = new Set<string>();
  const capacityCheck = (e: TraceEvent) => {
    const host = w.vm.get(e.subject)?.host;
    const room = host ? m.vmRoom.get(host) : undefined;
    if (!host || room === undefined) return;
    let used = 0;
    const on: string[] = [];
    for (const [v, st] of w.vm) {
      if (st.host !== host || !['running', 'starting', 'resuming', 'suspending'].includes(st.state)) continue;
      used += m.vmMem.get(v) ?? 0;
      on.push(v);
    }
    if (used <= room) overloaded.delete(host);
    else if (!overloaded.has(host)) {
      overloaded.add(host);
      out.push({ key: 'S4', t: e.t, subject: host, detail: `${on.join('+')} take ${used} MB of the ${room} MB ${host} leaves to VMs` });
    }
  };

  // S4 (host-power policies): a host put in standby holds no running VM (it would be frozen with it).
  const standbyCheck = (e: TraceEvent) => {
    if (e.data?.state !== 'suspended' || !m.standbyEmpty.has(e.subject)) return;
    const on = [...w.vm].filter(([, st]) => st.host === e.subject && ['running', 'starting', 'resuming', 'suspending'].includes(st.state)).map(([v]) => v);
    if (on.length) out.push({ key: 'S4', t: e.t, subject: e.subject, detail: `${e.subject} put in standby with ${on.join('+')} running on it` });
  };

  // S3 (PSS): the operation file never lists a VIP twice.
  const operationCheck = (e: TraceEvent) => {
    const rows = (w.store.value(e.subject) as Array<{ vip: string; host: string }> | undefined) ?? [];
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const r of rows) {
      if (!r.vip) continue;
      if (seen.has(r.vip)) twice.push(`${r.vip} on ${seen.get(r.vip)} and ${r.host}`);
      seen.set(r.vip, r.host);
    }
    if (twice.length) out.push({ key: 'S3', t: e.t, subject: e.subject, detail: `a VIP twice in the operation file: ${twice.join('; ')}` });
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
      if (e.kind === 'client.access') lbAccess(e);
      if (e.kind === 'navigator.track' && typeof d.vm === 'string') piloted.add(d.vm);
      if (e.kind === 'vm.state' && d.state === 'starting') piloted.delete(e.subject);
      w.apply(e);
      if (e.kind === 'store.write' && e.subject === 'p2p/membership') membershipCheck(e);
      if (e.kind === 'store.write' && e.subject === 'pss/operation') operationCheck(e);
      if (e.kind === 'vm.state') capacityCheck(e);
      if (e.kind === 'host.state') standbyCheck(e);
    }
    endOfInstant(t);
  }

  const endUs = Math.max(m.endUs, events.length ? events[events.length - 1].t : 0);
  for (const [vip, open] of s1Open) {
    out.push({ key: 'S1', t: open.t, subject: vip, detail: `two live holders (${open.holders.join('+')}) from ${fmt(open.t)} to the end (${((endUs - open.t) / US).toFixed(6)}s)` });
  }
  for (const lb of m.lbs) {
    const open = mastersSince.get(lb.instance);
    if (open !== undefined && endUs - open > lb.convergeUs) out.push({ key: 'S5', t: open, subject: lb.instance, detail: `two VRRP masters that hear each other from ${fmt(open)} to the end (${((endUs - open) / US).toFixed(6)}s)` });
  }

  const graceUs = m.graceUs;
  const livenessChecked = (m.targets.length > 0 || m.goals.length > 0 || m.vmGoals.length > 0) && endUs >= lastFaultUs + graceUs;
  if (livenessChecked) {
    endChecks(w, m, endUs, out);
    goalChecks(w, m, endUs, pilotsLost, out);
  }
  out.sort((a, b) => a.t - b.t || a.key.localeCompare(b.key) || a.subject.localeCompare(b.subject));
  return { valid: out.length === 0, violations: out, livenessChecked, lastFaultUs, graceUs, endUs };
}

/** The end-state properties: L1, L2, and the records-vs-world part of S3. */
function endChecks(w: Replay, m: CheckModel, endUs: number, out: Violation[]): void {
  const inPartition = new Set(w.partitions.flatMap((p) => [...p.a, ...p.b]));
  const membership = w.store.value('p2p/membership') as Membership | undefined;
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
    const rec = w.store.value(`p2p/trouble/${tg.target}`) as TroubleRecord | undefined;
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

/** A host that can still act at the end: not failed, paused or cut off, and on (or woken by a P2P peer). */
function aliveAtEnd(w: Replay, m: CheckModel, h: string): boolean {
  const s = w.host.get(h);
  if (!s) return false;
  if (s.state === 'failed' || s.state === 'paused' || !s.link) return false;
  if (s.state === 'off') return m.groupMembers.has(h) && [...m.groupMembers].some((o) => o !== h && aliveAtEnd(w, m, o) && w.host.get(o)?.state !== 'off');
  return true;
}

/** L1 for the VIP goals (pss, msbs, navigator, lbcluster) and the end-state part of S3 for the PSS files. */
function goalChecks(w: Replay, m: CheckModel, endUs: number, pilotsLost: ReadonlySet<string>, out: Violation[]): void {
  const inPartition = new Set(w.partitions.flatMap((p) => [...p.a, ...p.b]));
  const alive = (h: string) => aliveAtEnd(w, m, w.physical(h) ?? h);
  const operation = w.store.value('pss/operation') as Array<{ vip: string; host: string }> | undefined;
  for (const g of m.vmGoals) {
    const st = w.vm.get(g.vm);
    if ([g.vm, ...g.managers, ...(st?.host ? [st.host] : [])].some((n) => inPartition.has(n)) || !g.managers.some(alive)) continue;
    if (!st || st.state !== 'running' || st.host === null || w.host.get(st.host)?.state !== 'on') {
      out.push({ key: 'L2', t: endUs, subject: g.vm, detail: `${g.vm} not running at the end: ${w.vmText(g.vm)}${st?.host ? `, host ${w.hostText(st.host)}` : ''}` });
    }
  }
  for (const g of m.goals) {
    const lb = m.lbs.find((l) => l.vip === g.vip);
    const clients = w.clients(g.vip);
    if ([...g.managers, ...g.servers, ...clients, ...(g.pilots ?? [])].some((n) => inPartition.has(n))) continue;
    const managers = g.managers.filter((d) => alive(d) && (!lb || lb.daemon === null || w.serviceUp(d, lb.daemon)));
    const servers = g.servers.filter((x) => alive(x) && (!lb || w.serviceUp(x, lb.service)));
    if (managers.length === 0 || servers.length === 0 || pilotsLost.has(g.vip)) continue;
    if (lb) {
      const bad = clients.filter((c) => {
        const a = w.lastAccess.get(c);
        return !a || !a.ok;
      });
      if (bad.length) {
        const masters = lb.directors.filter((d) => w.vrrp.get(`${lb.instance}|${d}`) === 'master');
        out.push({ key: 'L1', t: endUs, subject: g.vip, detail: `not served at the end (last access of ${bad.join(', ')} failed${bad.map((c) => w.lastAccess.get(c)?.by).filter(Boolean).map((b) => ` by ${b}`).join('')}): masters [${masters.join(',')}], holders [${(w.holders.get(g.vip) ?? []).join(',')}]` });
      }
    } else if (!w.served(g.vip)) {
      out.push({ key: 'L1', t: endUs, subject: g.vip, detail: `not served at the end: holders [${(w.holders.get(g.vip) ?? []).join(',')}], answerer ${w.answerer(g.vip)}` });
    }
    if (g.policy === 'pss' && operation) {
      const rows = operation.filter((r) => r.vip === g.vip);
      if (rows.length !== 1) out.push({ key: 'S3', t: endUs, subject: g.vip, detail: `${rows.length} rows of ${g.vip} in the operation file at the end` });
      else if (w.answerer(g.vip) !== null && rows[0].host !== w.answerer(g.vip)) out.push({ key: 'S3', t: endUs, subject: g.vip, detail: `the operation file says ${rows[0].host} holds ${g.vip}, the network says ${w.answerer(g.vip)}` });
    }
  }
}
