// The simulated world: real servers, VMs, services, links, partitions, VIPs, clients and load.
// It changes only inside kernel events and reports every change as a trace event. Operations
// that take time (boot, VM resume, daemon restart) return a SimFuture resolved by a later event.
import type { Kernel } from '../kernel/kernel.ts';
import type { RngStreams } from '../kernel/rng.ts';
import { sample, type Dist } from '../kernel/distributions.ts';
import { MAX_TIME_US, sToUs } from '../kernel/time.ts';
import { CHURN_MIN_PERIOD_S, type ClientSpec, type FaultSpec, type HostSpec, type Scenario, type ServiceSpec, type VmSpec } from '../scenario/schema.ts';
import { traceTransitions } from '../scenario/fta.ts';
import { SimFuture } from './future.ts';
import type { TraceEvent } from '../../trace/event.ts';

export type HostState = 'off' | 'booting' | 'on' | 'restarting' | 'suspended' | 'paused' | 'failed';
export type VmState = 'defined' | 'starting' | 'running' | 'suspending' | 'suspended' | 'resuming' | 'crashed' | 'stopped';
/** up; stopped (a restart brings it back); frozen (hangs: probes time out); failed (refuses, and only a server restart cures it). */
export type ServiceState = 'up' | 'stopped' | 'frozen' | 'failed';

/** What the world traces: the one trace type of hatwin. */
export type WorldEvent = TraceEvent;

/** A row of a monitoring database on a host's disk (Navigator's depots keep it). */
export interface MonitorRow {
  seq: number;
  tUs: number;
  host: string;
  item: string;
  value: number;
}

/** What a monitoring database or a dump of it holds. */
export interface MonitorDbSummary {
  rows: number;
  /** The highest seq (0: empty). */
  lastSeq: number;
}

export class WorldError extends Error {}

interface Host {
  spec: HostSpec;
  state: HostState;
  linkUp: boolean;
  /** Operation in flight that will change the power state (cancelled if the host is cut off). */
  powerToken: number;
  /** The caller waiting for that operation: told when a fault cancels it (else it waited for ever). */
  powerWaiter?: SimFuture<void>;
}

interface Vm {
  spec: VmSpec;
  state: VmState;
  host: string | null;
  /** Aborts the operation in flight (its host died or the VM crashed). */
  abort?: (why: string) => void;
  /** A saved (suspended) image exists on the file server: it can be resumed on any host. */
  hasImage: boolean;
}

interface VmOp {
  vm: string;
  host: string;
  fs: string;
  phase: 'io' | 'cpu';
  /** Work left, in microseconds of exclusive use of the resource. */
  ioLeft: number;
  cpuLeft: number;
  /** Share of the resource the operation gets now (0..1]. */
  rate: number;
  since: number;
  token: number;
  finish: () => void;
}

interface Service {
  spec: ServiceSpec;
  target: string;
  state: ServiceState;
}

interface Vip {
  name: string;
  service: string;
  /** Holders in order of assignment; the last live one answers (the latest gratuitous ARP wins). */
  holders: string[];
  /** Load-balanced: the holder directs each access to a real server of this pool (wrr). */
  pool?: string;
  /** IPVS persistence_timeout (µs; 0: none) and each client's template: its server and last access. */
  persistenceUs?: number;
  templates?: Map<string, { member: string; lastUs: number }>;
}

/** An IPVS service's destinations in kernel order (a new one goes to the front) and its wrr state (ip_vs_wrr.c). */
interface LbTable {
  dests: Array<{ id: string; weight: number }>;
  /** Index of the last pick (-1: the list head), current weight, max weight - (di - 1), gcd step. */
  cl: number;
  cw: number;
  mw: number;
  di: number;
}

interface Client {
  spec: ClientSpec;
  phaseUs: number;
  ok: boolean | null;
  checkToken: number;
  index: number;
}

const CLIENT_TIE_BASE = 1_000_000_000;
/** Pseudo-node of the clients; partitions may name a client. */
export const CLIENT_NODE = 'client';

export class World {
  readonly hosts = new Map<string, Host>();
  readonly vms = new Map<string, Vm>();
  readonly services = new Map<string, Service>();
  readonly vips = new Map<string, Vip>();
  private readonly clients: Client[] = [];
  /** Blocked directed paths "a>b" between nodes (hosts, clients). */
  private readonly blocked = new Map<string, number>();
  /** Per subject, each call back with its number of subscriptions (called once per change). */
  private readonly subs = new Map<string, Map<() => void, number>>();
  private readonly anyChange = new Set<(subject: string) => void>();
  /** Who wants to hear when `load(host)` may read differently (the quiet load sampler). */
  private readonly loadSubs = new Map<string, Set<() => void>>();
  private readonly extraLoad = new Map<string, { cpuPct: number; memMb: number; netBytesPerS: number }>();
  /** Load inside VMs (scenario `vmLoad`), by VM. */
  private readonly vmExtra = new Map<string, { cpuPct: number; memMb: number; netBytesPerS: number }>();
  /**
   * Hosts whose disk cache holds what a VM start reads (kitamura-2019 Table 4: the first VM start
   * on a real server takes longer than the next): warm once a VM has started there since it
   * booted, or at the start when it runs VMs already; cold again when it goes down.
   */
  private readonly warmHosts = new Set<string>();
  /** Starts of each VM so far (a paired replication replays its live run's, `network.vmStartsS`). */
  private readonly vmStarts = new Map<string, number>();
  readonly hostListeners: Array<(host: string, state: HostState, prev: HostState) => void> = [];
  /** When each host last came up (hosts on at the start: time 0, or their `uptimeS` before it). */
  private readonly bootedAt = new Map<string, number>();
  // Indexes (docs/scale.md): each step touches what it changes, not every VM, VIP or client.
  /** Position of each VM in `vms` (scans of a host's VMs keep the map's order). */
  private readonly vmIndex = new Map<string, number>();
  /** The next position in `vms` (VMs defined later go last, as in the map). */
  private nextVmIndex = 0;
  /** The VMs placed on each host. */
  private readonly vmsOn = new Map<string, Set<string>>();
  /** `vmsOnHost`'s answer per host, kept until a VM is placed on it or leaves it. */
  private readonly vmsOnSorted = new Map<string, Array<[string, Vm]>>();
  /**
   * The VMs on each host that count in its load (running, resuming, starting): a host keeps every
   * suspended backup placed on it, and a load sample walks only these.
   */
  private readonly loadVmsOn = new Map<string, Set<string>>();
  /** Each node's services, in `services` order. */
  private readonly servicesOf = new Map<string, Service[]>();
  /** Position of each VIP in `vips`, and the VIPs each node holds. */
  private readonly vipIndex = new Map<string, number>();
  private readonly vipsHeldBy = new Map<string, Set<string>>();
  /** The clients of each VIP. */
  private readonly clientsOf = new Map<string, Client[]>();

  constructor(
    readonly scenario: Scenario,
    readonly kernel: Kernel,
    readonly rng: RngStreams,
    private readonly emitFn: (ev: WorldEvent) => void,
  ) {
    for (const h of scenario.hosts) {
      this.hosts.set(h.name, { spec: h, state: h.state, linkUp: true, powerToken: -1 });
      if (h.state === 'on') this.bootedAt.set(h.name, h.uptimeS === undefined ? 0 : -Math.round(h.uptimeS * 1e6));
      for (const s of h.services) this.addService({ spec: s, target: h.name, state: 'up' });
      this.extraLoad.set(h.name, { cpuPct: 0, memMb: 0, netBytesPerS: 0 });
    }
    for (const v of scenario.vms) {
      if (v.state === 'running' && v.host !== null) this.warmHosts.add(v.host);
      this.vmIndex.set(v.name, this.nextVmIndex++);
      this.vms.set(v.name, { spec: v, state: v.state, host: v.host, hasImage: v.state === 'suspended' });
      if (v.host !== null) this.placeVm(v.name, null, v.host);
      this.loadVmMoved(v.name, null);
      for (const s of v.services) this.addService({ spec: s, target: v.name, state: 'up' });
    }
    for (const vip of scenario.vips) {
      this.vipIndex.set(vip.name, this.vips.size);
      const v: Vip = {
        name: vip.name, service: vip.service, holders: [],
        ...(vip.pool !== undefined ? { pool: vip.pool } : {}),
        ...(vip.persistence ? { persistenceUs: vip.persistence, templates: new Map() } : {}),
      };
      this.vips.set(vip.name, v);
      if (vip.holder) this.setHolders(v, [vip.holder]);
    }
    scenario.clients.forEach((c, index) => {
      const iv = sToUs(c.intervalS);
      const phaseUs = c.phaseS === 'random' ? Math.floor(rng.stream(`client/${c.name}/phase`).next() * iv) : sToUs(c.phaseS) % iv;
      const client: Client = { spec: c, phaseUs, ok: null, checkToken: -1, index };
      this.clients.push(client);
      const of = this.clientsOf.get(c.vip);
      if (of) of.push(client);
      else this.clientsOf.set(c.vip, [client]);
    });
    if (this.clients.length > 0) this.anyChange.add((subject) => this.clientsMaybeChanged(subject));
  }

  private addService(s: Service): void {
    this.services.set(`${s.target}/${s.spec.name}`, s);
    const of = this.servicesOf.get(s.target);
    if (of) of.push(s);
    else this.servicesOf.set(s.target, [s]);
  }

  private placeVm(vm: string, from: string | null, to: string | null): void {
    if (from === to) return;
    if (from !== null) {
      this.vmsOn.get(from)?.delete(vm);
      this.vmsOnSorted.delete(from);
    }
    if (to === null) return;
    this.vmsOnSorted.delete(to);
    const on = this.vmsOn.get(to);
    if (on) on.add(vm);
    else this.vmsOn.set(to, new Set([vm]));
  }

  /** The VMs placed on a host, in `vms` order (kept: never change the array handed out). */
  private vmsOnHost(host: string): ReadonlyArray<readonly [string, Vm]> {
    let out = this.vmsOnSorted.get(host);
    if (out === undefined) {
      out = this.inVmsOrder(this.vmsOn.get(host));
      this.vmsOnSorted.set(host, out);
    }
    return out;
  }

  /** The VMs on a host that count in its load (running, resuming, starting), in `vms` order. */
  private loadVmsOnHost(host: string): Array<[string, Vm]> {
    return this.inVmsOrder(this.loadVmsOn.get(host));
  }

  private inVmsOrder(on: ReadonlySet<string> | undefined): Array<[string, Vm]> {
    if (!on || on.size === 0) return [];
    const names = [...on];
    if (names.length > 1) names.sort((a, b) => this.vmIndex.get(a)! - this.vmIndex.get(b)!);
    return names.map((n) => [n, this.vms.get(n)!]);
  }

  /** VM `name`'s state or host changed (it was on `from`): its place in `loadVmsOn`. */
  private loadVmMoved(name: string, from: string | null): void {
    if (from !== null) {
      const on = this.loadVmsOn.get(from);
      on?.delete(name);
      if (on?.size === 0) this.loadVmsOn.delete(from);
    }
    const v = this.vms.get(name);
    if (v === undefined || v.host === null || !(v.state === 'running' || v.state === 'resuming' || v.state === 'starting')) return;
    const on = this.loadVmsOn.get(v.host);
    if (on) on.add(name);
    else this.loadVmsOn.set(v.host, new Set([name]));
  }

  /** Sets a VIP's holders, keeping the holder index. */
  private setHolders(v: Vip, holders: string[]): void {
    for (const h of v.holders) if (!holders.includes(h)) this.vipsHeldBy.get(h)?.delete(v.name);
    for (const h of holders) {
      const held = this.vipsHeldBy.get(h);
      if (held) held.add(v.name);
      else this.vipsHeldBy.set(h, new Set([v.name]));
    }
    v.holders = holders;
  }

  /** Emits the initial state and schedules faults, load and client checks. */
  start(): void {
    for (const [name, h] of this.hosts) this.emit('host.state', name, { state: h.state, watts: this.watts(name) });
    for (const [name, v] of this.vms) this.emit('vm.state', name, { state: v.state, host: v.host });
    for (const vip of this.vips.values()) if (vip.holders.length) this.emit('vip.assign', vip.name, { holder: vip.holders[0] });
    this.scenario.faults.forEach((f, i) => {
      const at = typeof f.at === 'number' ? f.at : sToUs(sample(f.at.dist as Dist, this.rng.stream(`fault/${i}`)));
      this.kernel.at(at, () => this.injectFault(f));
    });
    for (const l of this.scenario.vmLoad ?? []) {
      this.kernel.at(l.start, () => this.addVmLoad(l.vm, l.cpuPct, l.memMb, l.netBytesPerS, 1));
      if (l.end !== undefined) this.kernel.at(l.end, () => this.addVmLoad(l.vm, l.cpuPct, l.memMb, l.netBytesPerS, -1));
    }
    for (const l of this.scenario.load) {
      this.kernel.at(l.start, () => this.addLoad(l.host, l.cpuPct, l.memMb, l.netBytesPerS, 1));
      if (l.end !== undefined) this.kernel.at(l.end, () => this.addLoad(l.host, l.cpuPct, l.memMb, l.netBytesPerS, -1));
    }
    for (const c of this.clients) this.scheduleClientCheck(c);
    if (this.scenario.churn) this.scheduleChurn(this.scenario.churn);
  }

  // ---------- users switching PCs on and off (scenario `churn`) ----------

  private scheduleChurn(c: NonNullable<Scenario['churn']>): void {
    if (c.kind === 'renewal') {
      this.scheduleRenewalChurn(c);
      return;
    }
    if (c.kind === 'trace') {
      // Changes past the end of the run are never reached: not scheduled.
      const end = this.scenario.until ?? MAX_TIME_US;
      for (const [name, changes] of traceTransitions(c)) {
        for (const { tUs, on } of changes) if (tUs <= end) this.kernel.at(tUs, () => this.userPower(name, on));
      }
      return;
    }
    const DAY = 86_400_000_000;
    for (const name of c.hosts) {
      const rng = this.rng.stream(`churn/${name}`);
      for (let d = 0; d < c.days; d++) {
        const spans: Array<[number, number]> = [];
        if (d === 0 && this.host(name).state === 'on') spans.push([c.openAt, c.openAt + sToUs(sample(c.session as Dist, rng))]);
        const n = Math.floor(rng.next() * (2 * c.sessionsPerDay + 1));
        for (let i = 0; i < n; i++) {
          const from = c.openAt + Math.floor(rng.next() * (c.closeAt - c.openAt));
          spans.push([from, from + sToUs(sample(c.session as Dist, rng))]);
        }
        // The PC is on while any session covers it, and off at closing time.
        spans.sort((a, b) => a[0] - b[0]);
        const merged: Array<[number, number]> = [];
        for (const [a, b] of spans) {
          const last = merged[merged.length - 1];
          if (last && a <= last[1]) last[1] = Math.max(last[1], b);
          else merged.push([a, b]);
        }
        const base = d * DAY;
        for (const [a, b] of merged) {
          const end = Math.min(b, c.closeAt);
          if (end <= a) continue;
          this.kernel.at(base + a, () => this.userPower(name, true));
          if (end < c.closeAt) this.kernel.at(base + end, () => this.userPower(name, false));
        }
        this.kernel.at(base + c.closeAt, () => this.userPower(name, false));
      }
    }
  }

  /**
   * Up and down periods drawn one at a time (at least CHURN_MIN_PERIOD_S each) from the RNG
   * stream `churn/<host>`: the next change is scheduled when the current one happens.
   */
  private scheduleRenewalChurn(c: Extract<NonNullable<Scenario['churn']>, { kind: 'renewal' }>): void {
    const minUs = sToUs(CHURN_MIN_PERIOD_S);
    for (const name of c.hosts) {
      const rng = this.rng.stream(`churn/${name}`);
      const periodEnds = (up: boolean): void => {
        const d = Math.max(minUs, sToUs(sample((up ? c.up : c.down) as Dist, rng)));
        this.kernel.at(this.kernel.nowUs() + d, () => {
          this.userPower(name, !up);
          periodEnds(!up);
        });
      };
      periodEnds(this.host(name).state !== 'off' && this.host(name).state !== 'failed');
    }
  }

  /** A user switches a PC on (it boots) or off. */
  private userPower(name: string, on: boolean): void {
    const h = this.host(name);
    if (on) {
      if (h.state !== 'off') return;
      this.emit('churn.power', name, { on });
      this.setHostState(name, 'booting');
      h.powerToken = this.later(this.draw(h.spec.bootS as Dist, `host/${name}/boot`), () => this.setHostState(name, 'on'));
      return;
    }
    if (h.state === 'off' || h.state === 'failed') return;
    this.emit('churn.power', name, { on });
    this.shutdownHost(name);
  }

  // ---------- queries (no time, no randomness) ----------

  now(): number {
    return this.kernel.nowUs();
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new WorldError(`no host "${name}"`);
    return h;
  }

  vm(name: string): Vm {
    const v = this.vms.get(name);
    if (!v) throw new WorldError(`no VM "${name}"`);
    return v;
  }

  isNode(name: string): boolean {
    return this.hosts.has(name) || this.vms.has(name);
  }

  /** The real server a node lives on (a VM's host, a host itself). */
  physical(node: string): string | null {
    if (this.hosts.has(node)) return node;
    const v = this.vms.get(node);
    return v ? v.host : null;
  }

  /** A node is up when it can answer: a host that is on with its link up, a running VM on such a host. */
  nodeUp(node: string): boolean {
    const h = this.hosts.get(node);
    if (h) return h.state === 'on' && h.linkUp;
    const v = this.vms.get(node);
    if (!v || v.state !== 'running' || v.host === null) return false;
    return this.nodeUp(v.host);
  }

  /** Can a packet go from node `from` to node `to` (both up, no partition)? */
  reachable(from: string, to: string): boolean {
    // Names that are not hosts or VMs are clients: always up, outside the servers' LAN.
    if (this.isNode(from) && !this.nodeUp(from)) return false;
    if (this.isNode(to) && !this.nodeUp(to)) return false;
    return !this.partitioned(from, to);
  }

  /** Is any partition in place (else `reachable` depends on the two nodes' states only)? */
  hasPartition(): boolean {
    return this.blocked.size > 0;
  }

  /** Does a partition block packets from node `from` to node `to` (whatever their state)? */
  partitioned(from: string, to: string): boolean {
    if (this.blocked.size === 0) return false;
    const a = this.physical(from) ?? from;
    const b = this.physical(to) ?? to;
    return this.blocked.has(`${a}>${b}`) || this.blocked.has(`${from}>${to}`);
  }

  serviceState(target: string, service: string): ServiceState | null {
    return this.services.get(`${target}/${service}`)?.state ?? null;
  }

  /** Outcome of a service examination from `from`, without its duration. */
  serviceAnswer(from: string, target: string, service: string): 'ok' | 'unreachable' | 'refused' | 'timeout' {
    if (!this.reachable(from, target) || !this.reachable(target, from)) return 'unreachable';
    const st = this.serviceState(target, service);
    if (st === null || st === 'stopped' || st === 'failed') return 'refused';
    if (st === 'frozen') return 'timeout';
    return 'ok';
  }

  /** The node that answers a VIP, or null. */
  vipAnswerer(vip: string): string | null {
    const v = this.vips.get(vip);
    if (!v) return null;
    for (let i = v.holders.length - 1; i >= 0; i--) if (this.nodeUp(v.holders[i])) return v.holders[i];
    return null;
  }

  /** Live holders of a VIP (a safety checker wants at most one). */
  liveVipHolders(vip: string): string[] {
    return (this.vips.get(vip)?.holders ?? []).filter((h) => this.nodeUp(h));
  }

  vipHolders(vip: string): string[] {
    return [...(this.vips.get(vip)?.holders ?? [])];
  }

  /** Microseconds since the host last booted, or null when it is not on. */
  hostUptimeUs(host: string): number | null {
    const h = this.host(host);
    if (h.state !== 'on') return null;
    return this.kernel.nowUs() - (this.bootedAt.get(host) ?? 0);
  }

  watts(host: string): number {
    const h = this.host(host);
    return h.spec.watts[h.state];
  }

  /** Load of a host as the paper's `sar` would read it; of a VM, as read inside the guest. */
  load(hostName: string) {
    if (!this.hosts.has(hostName) && this.vms.has(hostName)) return this.vmLoad(hostName);
    const h = this.host(hostName);
    const extra = this.extraLoad.get(hostName)!;
    let memUsed = h.spec.memUsedMb + extra.memMb;
    let cpuBusy = h.spec.cpuBusyPct + extra.cpuPct;
    for (const [, v] of this.loadVmsOnHost(hostName)) {
      if (v.state === 'running' || v.state === 'resuming' || v.state === 'starting') {
        memUsed += v.spec.memMb;
        cpuBusy += v.spec.cpuPct;
      }
    }
    const cores = h.spec.cores;
    return {
      memFreeKb: Math.max(0, (h.spec.memMb - memUsed) * 1024),
      memTotalKb: h.spec.memMb * 1024,
      cpuIdlePct: Math.max(0, 100 * cores - cpuBusy),
      cores,
      netBytesPerS: h.spec.netBytesPerS + extra.netBytesPerS,
      netRatedBytesPerS: (2 * h.spec.linkBps) / 8,
    };
  }

  /** Inside a VM: its scenario `vmLoad` over its memory size and vCPUs; rated transfer of its host's link. */
  private vmLoad(name: string) {
    const v = this.vm(name);
    const x = this.vmExtra.get(name) ?? { cpuPct: 0, memMb: 0, netBytesPerS: 0 };
    const cores = v.spec.cores ?? 1;
    const linkBps = v.host !== null ? this.host(v.host).spec.linkBps : 1e9;
    return {
      memFreeKb: Math.max(0, (v.spec.memMb - x.memMb) * 1024),
      memTotalKb: v.spec.memMb * 1024,
      cpuIdlePct: Math.max(0, 100 * cores - x.cpuPct),
      cores,
      netBytesPerS: x.netBytesPerS,
      netRatedBytesPerS: (2 * linkBps) / 8,
    };
  }

  /**
   * Requests a node received over the last `windowUs` (what `tcpdump` counts): the clients'
   * `vmLoad.accessesPerS` integrated over the window, plus the load balancer's monitoring program
   * (`lbMonitorPerS`) if the node holds a live VIP now.
   */
  accesses(node: string, windowUs: number): number {
    const now = this.kernel.nowUs();
    const from = Math.max(0, now - windowUs);
    let n = 0;
    for (const l of this.scenario.vmLoad ?? []) {
      if (l.vm !== node || l.accessesPerS === 0) continue;
      const a = Math.max(from, l.start);
      const b = Math.min(now, l.end ?? now);
      if (b > a) n += (l.accessesPerS * (b - a)) / 1e6;
    }
    const k = this.scenario.lbMonitorPerS ?? 0;
    if (k > 0 && [...this.vips.keys()].some((vip) => this.vipAnswerer(vip) === node)) n += (k * (now - from)) / 1e6;
    return Math.floor(n + 1e-9);
  }

  // ---------- subscriptions ----------

  /**
   * Calls `cb` whenever `subject` changes ("host:X", "vm:X", "svc:T/S", "vip:V", "net"). A call
   * back subscribed several times to a subject is called once per change, until every one of
   * its subscriptions is undone (each returned function undoes its own, once).
   */
  subscribe(subject: string, cb: () => void): () => void {
    let m = this.subs.get(subject);
    if (!m) {
      m = new Map();
      this.subs.set(subject, m);
    }
    m.set(cb, (m.get(cb) ?? 0) + 1);
    const held = m;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = held.get(cb);
      if (n === undefined) return;
      if (n > 1) held.set(cb, n - 1);
      else held.delete(cb);
    };
  }

  /** The subjects whose change can change `reachable(from, to)` or a service answer. */
  subjectsFor(from: string, target: string, service?: string): string[] {
    const out = ['net', `node:${target}`];
    if (from !== target && from !== CLIENT_NODE) out.push(`node:${from}`);
    if (service) out.push(`svc:${target}/${service}`);
    return out;
  }

  private changed(...subjects: string[]): void {
    for (const s of subjects) {
      const set = this.subs.get(s);
      if (set) for (const cb of [...set.keys()]) cb();
      for (const cb of this.anyChange) cb(s);
    }
  }

  /** A host's reachability changed: so did that of every VM on it. */
  private touchHost(name: string): void {
    this.changed(`node:${name}`);
    for (const [vmName] of this.vmsOnHost(name)) this.changed(`node:${vmName}`);
  }

  private emit(kind: string, subject: string, data?: Record<string, unknown>): void {
    this.emitFn({ t: this.kernel.nowUs(), kind, subject, data });
  }

  // ---------- state changes ----------

  private setHostState(name: string, state: HostState): void {
    const h = this.host(name);
    const prev = h.state;
    if (prev === state) return;
    h.state = state;
    if (state === 'on' && (prev === 'booting' || prev === 'restarting')) this.bootedAt.set(name, this.kernel.nowUs());
    this.emit('host.state', name, { state, watts: h.spec.watts[state] });
    if (state === 'on' && (prev === 'booting' || prev === 'restarting')) {
      // A fresh boot starts every daemon again (St2's frozen daemon is cured by a restart).
      for (const s of this.servicesOf.get(name) ?? []) if (s.state !== 'up') this.setServiceState(s, 'up');
    }
    if (state !== 'on' && state !== 'paused') {
      for (const [vmName, v] of this.vmsOnHost(name)) {
        // Suspend-to-RAM freezes running guests with the host: they answer again when it resumes.
        if (state === 'suspended' && v.host === name && v.state === 'running') continue;
        if (v.host === name && v.state !== 'suspended' && v.state !== 'defined' && v.state !== 'crashed') {
          this.abortVmOp(v, `host ${name} went ${state}`);
          v.state = 'crashed';
          this.loadVmMoved(vmName, v.host);
          this.vmRowChanged(vmName);
          this.loadTouched(name);
          this.emit('vm.state', vmName, { state: 'crashed', host: v.host });
          this.dropVips(vmName, 'crashed');
          this.changed(`node:${vmName}`);
        }
      }
    }
    // Addresses set at run time (`ip addr add`) do not survive a power loss or reboot; a
    // suspended host keeps its memory, hence its addresses.
    if (state === 'off' || state === 'restarting' || state === 'failed') this.dropVips(name, state);
    if (state === 'off' || state === 'restarting' || state === 'failed' || state === 'booting') this.warmHosts.delete(name);
    this.touchHost(name);
    for (const l of this.hostListeners) l(name, state, prev);
  }

  private dropVips(holder: string, why: string): void {
    const held = this.vipsHeldBy.get(holder);
    if (!held || held.size === 0) return;
    const vips = [...held].sort((a, b) => this.vipIndex.get(a)! - this.vipIndex.get(b)!);
    for (const name of vips) {
      const v = this.vips.get(name)!;
      this.setHolders(v, v.holders.filter((h) => h !== holder));
      this.emit('vip.remove', v.name, { holder, reason: why });
      this.changed(`vip:${v.name}`);
    }
  }

  private setServiceState(s: Service, state: ServiceState): void {
    if (s.state === state) return;
    s.state = state;
    this.emit('service.state', `${s.target}/${s.spec.name}`, { state });
    this.changed(`svc:${s.target}/${s.spec.name}`);
  }

  /**
   * Every VM's name, host and state, in the order of `vms` (frozen: rows and array). Kept between
   * calls: a VM's change replaces its row in a copy (the other rows shared), a VM defined or
   * undefined drops the list. So listing N VMs of which none changed costs nothing, and one that
   * changed a copy of N references, not N new rows.
   */
  vmRows(): ReadonlyArray<Readonly<{ name: string; host: string | null; state: VmState }>> {
    const snap = this.vmSnap;
    if (snap === null) {
      const at = new Map<string, number>();
      const list: Array<Readonly<{ name: string; host: string | null; state: VmState }>> = [];
      for (const [name, v] of this.vms) {
        at.set(name, list.length);
        list.push(Object.freeze({ name, host: v.host, state: v.state }));
      }
      this.vmSnap = { list: Object.freeze(list), at, changed: new Set() };
      return this.vmSnap.list;
    }
    if (snap.changed.size > 0) {
      // The VMs changed since the last call: one copy for all of them.
      const copy = [...snap.list]; // a spread: `slice` of a frozen array is V8's slow path
      for (const name of snap.changed) {
        const v = this.vms.get(name)!;
        copy[snap.at.get(name)!] = Object.freeze({ name, host: v.host, state: v.state });
      }
      snap.changed.clear();
      snap.list = Object.freeze(copy);
    }
    return snap.list;
  }
  /** VM `name`'s row as `vmRows` gives it (undefined when there is no such VM). */
  vmRow(name: string): Readonly<{ name: string; host: string | null; state: VmState }> | undefined {
    const v = this.vms.get(name);
    return v === undefined ? undefined : Object.freeze({ name, host: v.host, state: v.state });
  }
  private vmSnap: { list: ReadonlyArray<Readonly<{ name: string; host: string | null; state: VmState }>>; at: Map<string, number>; changed: Set<string> } | null = null;
  /** `vmRows` after VM `name`'s state or host changed (its row is made again at the next call). */
  private vmRowChanged(name: string): void {
    const snap = this.vmSnap;
    if (snap === null) return;
    if (!snap.at.has(name) || !this.vms.has(name)) this.vmSnap = null;
    else snap.changed.add(name);
  }

  private setVmState(name: string, state: VmState, host: string | null): void {
    const v = this.vm(name);
    const from = v.host;
    v.state = state;
    this.placeVm(name, v.host, host);
    v.host = host;
    this.loadVmMoved(name, from);
    this.vmRowChanged(name);
    this.emit('vm.state', name, { state, host });
    this.changed(`node:${name}`);
    if (from !== null) this.loadTouched(from);
    if (host !== null && host !== from) this.loadTouched(host);
  }

  /**
   * Calls `cb` whenever `load(host)` may read differently: the host's own load, or a VM placed
   * on it, leaving it or changing state. Over-approximate (a call may change nothing); never
   * misses a change. Separate from `subscribe`, whose subjects other listeners see.
   */
  subscribeLoad(host: string, cb: () => void): () => void {
    let set = this.loadSubs.get(host);
    if (!set) {
      set = new Set();
      this.loadSubs.set(host, set);
    }
    set.add(cb);
    return () => set!.delete(cb);
  }

  private loadTouched(host: string): void {
    const set = this.loadSubs.get(host);
    if (set !== undefined && set.size > 0) for (const cb of [...set]) cb();
  }

  private draw(d: Dist, stream: string): number {
    return sToUs(sample(d, this.rng.stream(stream)));
  }

  /** Runs `done` after `us`; returns the kernel token. */
  private later(us: number, done: () => void): number {
    return this.kernel.after(us, done);
  }

  // ---------- power ----------

  /** Wake-on-LAN: an off (or failed-then-repaired) host boots. Other states ignore the packet. */
  wake(mac: string): void {
    for (const [name, h] of this.hosts) {
      if (h.spec.mac?.toLowerCase() !== mac.toLowerCase()) continue;
      this.emit('power.wol', name, { mac });
      if (h.state !== 'off') return;
      this.setHostState(name, 'booting');
      h.powerToken = this.later(this.draw(h.spec.bootS as Dist, `host/${name}/boot`), () => this.setHostState(name, 'on'));
      return;
    }
    this.emit('power.wol', mac, { matched: false });
  }

  /** Power-cycles a host (Nt1): restarting for its restart time, then on. */
  restartHost(name: string): SimFuture<void> {
    const h = this.host(name);
    if (h.state === 'off' || h.state === 'failed') return SimFuture.rejected(new WorldError(`host ${name} is ${h.state}`));
    this.cancelPower(h, name, 'restarting');
    this.setHostState(name, 'restarting');
    const f = new SimFuture<void>();
    h.powerWaiter = f;
    h.powerToken = this.later(this.draw(h.spec.restartS as Dist, `host/${name}/restart`), () => {
      this.setHostState(name, 'on');
      f.resolve();
    });
    return f;
  }

  /** Turns a host off (Nt2). */
  shutdownHost(name: string): void {
    const h = this.host(name);
    this.cancelPower(h, name, 'off');
    this.setHostState(name, 'off');
  }

  failHost(name: string): void {
    const h = this.host(name);
    this.cancelPower(h, name, 'failed');
    this.setHostState(name, 'failed');
  }

  /** Cancels the power operation in flight; its caller learns that the host went `to`. */
  private cancelPower(h: Host, name: string, to: string): void {
    this.kernel.cancel(h.powerToken);
    const w = h.powerWaiter;
    h.powerWaiter = undefined;
    w?.reject(new WorldError(`host ${name} went ${to} during a power operation`));
  }

  suspendHost(name: string): SimFuture<void> {
    const h = this.host(name);
    if (h.state !== 'on') return SimFuture.rejected(new WorldError(`host ${name} is ${h.state}, not on`));
    const f = new SimFuture<void>();
    h.powerWaiter = f;
    h.powerToken = this.later(this.draw(h.spec.suspendS as Dist, `host/${name}/suspend`), () => {
      this.setHostState(name, 'suspended');
      f.resolve();
    });
    return f;
  }

  resumeHost(name: string): SimFuture<void> {
    const h = this.host(name);
    if (h.state !== 'suspended') return SimFuture.rejected(new WorldError(`host ${name} is ${h.state}, not suspended`));
    const f = new SimFuture<void>();
    h.powerWaiter = f;
    h.powerToken = this.later(this.draw(h.spec.resumeS as Dist, `host/${name}/resume`), () => {
      this.setHostState(name, 'on');
      f.resolve();
    });
    return f;
  }

  pauseHost(name: string): void {
    if (this.host(name).state === 'on') this.setHostState(name, 'paused');
  }

  unpauseHost(name: string): void {
    if (this.host(name).state === 'paused') this.setHostState(name, 'on');
  }

  setLink(name: string, up: boolean): void {
    const h = this.host(name);
    if (h.linkUp === up) return;
    h.linkUp = up;
    this.emit('link.state', name, { up });
    this.touchHost(name);
  }

  /** Blocks a -> b for every pair (and b -> a unless oneWay). Returns a function that heals it. */
  partition(a: string[], b: string[], oneWay: boolean): () => void {
    const keys: string[] = [];
    for (const x of a) for (const y of b) {
      keys.push(`${x}>${y}`);
      if (!oneWay) keys.push(`${y}>${x}`);
    }
    for (const k of keys) this.blocked.set(k, (this.blocked.get(k) ?? 0) + 1);
    this.emit('net.partition', a.join(','), { a, b, oneWay });
    this.changed('net');
    return () => {
      for (const k of keys) {
        const n = (this.blocked.get(k) ?? 1) - 1;
        if (n <= 0) this.blocked.delete(k);
        else this.blocked.set(k, n);
      }
      this.emit('net.heal', a.join(','), { a, b, oneWay });
      this.changed('net');
    };
  }

  // ---------- services ----------

  private service(target: string, service: string): Service {
    const s = this.services.get(`${target}/${service}`);
    if (!s) throw new WorldError(`no service "${service}" on "${target}"`);
    return s;
  }

  stopService(target: string, service: string): void {
    this.setServiceState(this.service(target, service), 'stopped');
  }

  freezeService(target: string, service: string): void {
    this.setServiceState(this.service(target, service), 'frozen');
  }

  /** The daemon is down and cannot be restarted until its server restarts. */
  breakService(target: string, service: string): void {
    this.setServiceState(this.service(target, service), 'failed');
  }

  /** Restarts a daemon: a stopped one comes up; a frozen one stays hung (St2 needs a server restart). */
  restartService(target: string, service: string): SimFuture<void> {
    const s = this.service(target, service);
    if (!this.nodeUp(target)) return SimFuture.rejected(new WorldError(`${target} is not up`));
    const f = new SimFuture<void>();
    this.emit('service.restart', `${target}/${service}`, {});
    this.later(this.draw(s.spec.restartS as Dist, `svc/${target}/${service}/restart`), () => {
      if (s.state === 'stopped' && this.nodeUp(target)) this.setServiceState(s, 'up');
      f.resolve();
    });
    return f;
  }

  // ---------- VMs ----------

  // A VM operation does two kinds of work: reading (or writing) the VM image on its file server,
  // then CPU work on its host. Each is shared fairly among the operations that need it at the
  // moment (processor sharing): k operations reading from one file server each get 1/k of its
  // bandwidth, less what client traffic on the host's link takes; an operation's CPU work gets
  // cores / (runnable threads) of a core when the host is overloaded. Rates change whenever an
  // operation starts, finishes or changes phase, or the load changes, and every completion is
  // rescheduled then (see README, Contention).
  private readonly ops: VmOp[] = [];

  private reflow(): void {
    const now = this.kernel.nowUs();
    for (const op of this.ops) {
      const done = op.rate * (now - op.since);
      if (op.phase === 'io') op.ioLeft -= done;
      else op.cpuLeft -= done;
      op.since = now;
    }
    const ioReaders = new Map<string, number>();
    const cpuOps = new Map<string, number>();
    for (const op of this.ops) {
      if (op.phase === 'io') ioReaders.set(op.fs, (ioReaders.get(op.fs) ?? 0) + 1);
      else cpuOps.set(op.host, (cpuOps.get(op.host) ?? 0) + 1);
    }
    for (const op of this.ops) {
      const h = this.host(op.host);
      if (op.phase === 'io') {
        const linkBytesPerS = h.spec.linkBps / 8;
        const clientShare = Math.min(0.95, (h.spec.netBytesPerS + this.extraLoad.get(op.host)!.netBytesPerS) / linkBytesPerS);
        op.rate = (1 - clientShare) / ioReaders.get(op.fs)!;
      } else {
        op.rate = cpuRate(h.spec, this.busyThreads(op.host) + cpuOps.get(op.host)!);
      }
      this.kernel.cancel(op.token);
      const left = Math.max(0, op.phase === 'io' ? op.ioLeft : op.cpuLeft);
      // A huge load can make the rate tiny: an operation never takes longer than the longest
      // simulated time (the clamp keeps the kernel's time an exact integer; NaN counts as huge).
      const us = Math.ceil(left / op.rate);
      op.token = this.kernel.at(now + (us <= MAX_TIME_US ? us : MAX_TIME_US), this.opPhaseEnd, this.ops.indexOf(op));
    }
  }

  /** CPU-bound threads on a host besides VM operations: its own load, client load, running VMs. */
  private busyThreads(host: string): number {
    let pct = this.host(host).spec.cpuBusyPct + this.extraLoad.get(host)!.cpuPct;
    for (const [, v] of this.loadVmsOnHost(host)) if (v.state === 'running') pct += v.spec.cpuPct;
    return pct / 100;
  }

  private readonly opPhaseEnd = (index: number): void => {
    const op = this.ops[index];
    const now = this.kernel.nowUs();
    op.token = -1;
    if (op.phase === 'io') {
      op.ioLeft = 0;
      op.phase = 'cpu';
      op.rate = 1;
      op.since = now;
      this.reflow();
      return;
    }
    this.ops.splice(index, 1);
    this.reflow();
    op.finish();
  };

  private vmOp(name: string, host: string, from: VmState[], during: VmState, after: VmState, base: Dist, op: string): SimFuture<void> {
    const v = this.vm(name);
    if (!from.includes(v.state)) return SimFuture.rejected(new WorldError(`VM ${name} is ${v.state}; ${op} needs ${from.join(' or ')}`));
    if (this.host(host).state !== 'on') return SimFuture.rejected(new WorldError(`host ${host} is ${this.host(host).state}; cannot ${op} ${name}`));
    const baseUs = this.draw(base, `vm/${name}/${op}`);
    const ioUs = baseUs * this.scenario.contention.ioFraction;
    this.setVmState(name, during, host);
    const f = new SimFuture<void>();
    const entry: VmOp = {
      vm: name, host, fs: v.spec.fileServer, phase: ioUs > 0 ? 'io' : 'cpu', ioLeft: ioUs, cpuLeft: baseUs - ioUs,
      rate: 1, since: this.kernel.nowUs(), token: -1,
      finish: () => {
        v.abort = undefined;
        if (after === 'suspended') v.hasImage = true;
        this.setVmState(name, after, after === 'suspended' || after === 'stopped' ? v.host : host);
        f.resolve();
      },
    };
    v.abort = (why) => {
      v.abort = undefined;
      const i = this.ops.indexOf(entry);
      if (i >= 0) {
        this.kernel.cancel(entry.token);
        this.ops.splice(i, 1);
        this.reflow();
      }
      // Reject in an event of its own: the caller must not run in the middle of a world update.
      this.kernel.at(this.kernel.nowUs(), () => f.reject(new WorldError(`${op} of ${name} failed: ${why}`)));
    };
    this.ops.push(entry);
    this.reflow();
    return f;
  }

  private abortVmOp(v: Vm, why: string): void {
    const abort = v.abort;
    v.abort = undefined;
    abort?.(why);
  }

  startVm(name: string, host: string): SimFuture<void> {
    const v = this.vm(name);
    const from: VmState[] = ['defined', 'stopped', 'crashed'];
    // A paired replication replays its live run's starts of this VM in order (`vmStartsS`), then draws.
    const replay = this.scenario.network.vmStartsS?.[name];
    let replayed: Dist | undefined;
    if (replay && from.includes(v.state) && this.host(host).state === 'on') {
      const k = this.vmStarts.get(name) ?? 0;
      this.vmStarts.set(name, k + 1);
      if (k < replay.length) replayed = { kind: 'constant', value: replay[k] };
    }
    if (v.spec.startCachedS === undefined) return this.vmOp(name, host, from, 'starting', 'running', replayed ?? v.spec.startS as Dist, 'start');
    // kitamura-2019 Table 4: a start on a host whose disk cache is warm is quicker; a started
    // guest boots its daemons afresh.
    const f = this.vmOp(name, host, from, 'starting', 'running', replayed ?? (this.warmHosts.has(host) ? v.spec.startCachedS : v.spec.startS) as Dist, 'start');
    f.then(() => {
      this.warmHosts.add(host);
      this.daemonsAfresh(name);
    }, () => {});
    return f;
  }

  /** Live migration (VmSpec.migrateS): the VM keeps running and moves to `toHost` when done. */
  migrateVm(name: string, toHost: string): SimFuture<void> {
    const v = this.vm(name);
    if (v.spec.migrateS === undefined) return SimFuture.rejected(new WorldError(`VM ${name} has no live-migration model (migrateS)`));
    if (v.state !== 'running' || v.host === null) return SimFuture.rejected(new WorldError(`VM ${name} is ${v.state}; migrate needs running`));
    if (this.host(toHost).state !== 'on') return SimFuture.rejected(new WorldError(`host ${toHost} is ${this.host(toHost).state}; cannot migrate ${name}`));
    const f = new SimFuture<void>();
    const from = v.host;
    this.later(this.draw(v.spec.migrateS as Dist, `vm/${name}/migrate`), () => {
      if (v.state !== 'running' || v.host !== from || this.host(toHost).state !== 'on') {
        f.reject(new WorldError(`migration of ${name} to ${toHost} failed: the VM or a host changed`));
        return;
      }
      this.setVmState(name, 'running', toHost);
      f.resolve();
    });
    return f;
  }

  /** Activates a suspended VM on `host` (its image is on the shared file server). */
  resumeVm(name: string, host: string): SimFuture<void> {
    const v = this.vm(name);
    const from: VmState[] = v.hasImage ? ['suspended', 'crashed'] : ['suspended'];
    return this.vmOp(name, host, from, 'resuming', 'running', v.spec.resumeS as Dist, 'resume');
  }

  suspendVm(name: string): SimFuture<void> {
    const v = this.vm(name);
    if (v.host === null) return SimFuture.rejected(new WorldError(`VM ${name} is not placed`));
    return this.vmOp(name, v.host, ['running'], 'suspending', 'suspended', v.spec.suspendS as Dist, 'suspend');
  }

  destroyVm(name: string): SimFuture<void> {
    const v = this.vm(name);
    if (v.host === null || v.state !== 'running') return SimFuture.rejected(new WorldError(`VM ${name} is ${v.state}`));
    return this.vmOp(name, v.host, ['running'], 'running', 'stopped', v.spec.destroyS as Dist, 'destroy');
  }

  crashVm(name: string): void {
    const v = this.vm(name);
    if (v.state === 'running' || v.state === 'resuming' || v.state === 'starting' || v.state === 'suspending') {
      this.abortVmOp(v, 'VM crashed');
      this.dropVips(name, 'crashed');
      this.setVmState(name, 'crashed', v.host);
    }
  }

  /**
   * A guest reboot: a running VM goes down (its VIPs, set at run time, do not survive) and boots
   * again on its host in its restartS (absent: startCachedS, else startS), its daemons afresh.
   * A VM that is not running is left alone.
   */
  rebootVm(name: string): void {
    const v = this.vm(name);
    if (v.state !== 'running' || v.host === null) return;
    this.dropVips(name, 'rebooting');
    const f = this.vmOp(name, v.host, ['running'], 'starting', 'running', (v.spec.restartS ?? v.spec.startCachedS ?? v.spec.startS) as Dist, 'reboot');
    f.then(() => this.daemonsAfresh(name), () => {});
  }

  /** A guest that booted runs its daemons afresh. */
  private daemonsAfresh(vm: string): void {
    for (const sv of this.servicesOf.get(vm) ?? []) if (sv.state !== 'up') this.setServiceState(sv, 'up');
  }

  // ---------- VM control (an operator's create, delete, modify; adapters/sim/vm-control.ts) ----------

  /** Defines a new VM (state defined, on `spec.host`), with its services up once it runs. */
  defineVm(spec: VmSpec): void {
    if (this.vms.has(spec.name) || this.hosts.has(spec.name)) throw new WorldError(`a host or VM "${spec.name}" exists already`);
    if (spec.host !== null) this.host(spec.host);
    this.vmIndex.set(spec.name, this.nextVmIndex++);
    this.vms.set(spec.name, { spec: { ...spec, state: 'defined' }, state: 'defined', host: spec.host, hasImage: false });
    this.vmSnap = null;
    if (spec.host !== null) this.placeVm(spec.name, null, spec.host);
    this.emit('vm.state', spec.name, { state: 'defined', host: spec.host });
    // Its daemons, so that a trace reader (the page's lights) knows them before they first change.
    for (const sv of spec.services) {
      this.addService({ spec: sv, target: spec.name, state: 'up' });
      this.emit('service.state', `${spec.name}/${sv.name}`, { state: 'up' });
    }
    this.changed(`node:${spec.name}`);
  }

  /** Forgets a VM that does not run (defined, stopped or crashed) and its services. */
  undefineVm(name: string): void {
    const v = this.vm(name);
    if (v.state !== 'defined' && v.state !== 'stopped' && v.state !== 'crashed') throw new WorldError(`VM ${name} is ${v.state}; undefine needs defined, stopped or crashed`);
    this.dropVips(name, 'undefined');
    this.placeVm(name, v.host, null);
    this.vms.delete(name);
    this.loadVmMoved(name, v.host);
    this.vmSnap = null;
    this.vmIndex.delete(name);
    for (const sv of this.servicesOf.get(name) ?? []) this.services.delete(`${name}/${sv.spec.name}`);
    this.servicesOf.delete(name);
    this.vmExtra.delete(name);
    this.emit('vm.undefine', name, { host: v.host });
    this.changed(`node:${name}`);
  }

  /** Sets a VM's vCPUs and memory (takes effect at its next start). */
  setVmResources(name: string, cores: number, memMb: number): void {
    const v = this.vm(name);
    v.spec = { ...v.spec, cores, memMb };
    this.emit('vm.modify', name, { cpus: cores, memoryMb: memMb });
  }

  // ---------- image copies ----------

  /**
   * Copies `bytes` from host `from` to host `to` at `rateBps` bits per second (from === to: a
   * local copy). Fails when either host is not on, at the start or at any moment before the end,
   * or when the path between them is cut.
   */
  copyImage(from: string, to: string, bytes: number, rateBps: number): SimFuture<void> {
    const ok = () => this.host(from).state === 'on' && this.host(to).state === 'on' && (from === to || (this.reachable(from, to) && this.reachable(to, from)));
    if (!(bytes >= 0) || !(rateBps > 0)) return SimFuture.rejected(new WorldError(`copy ${from} -> ${to}: bad size or rate`));
    if (!ok()) return SimFuture.rejected(new WorldError(`copy ${from} -> ${to}: ${this.host(from).state === 'on' ? to : from} is not reachable`));
    const us = Math.min(MAX_TIME_US, Math.ceil((bytes * 8 * 1e6) / rateBps));
    this.emit('image.copy', `${from}>${to}`, { from, to, bytes, rateBps });
    const f = new SimFuture<void>();
    const subjects = from === to ? [`node:${from}`] : [`node:${from}`, `node:${to}`, 'net'];
    let offs: Array<() => void> = [];
    const token = this.later(us, () => {
      offs.forEach((off) => off());
      this.emit('image.copied', `${from}>${to}`, { from, to, bytes });
      f.resolve();
    });
    const check = () => {
      if (ok()) return;
      offs.forEach((off) => off());
      offs = [];
      this.kernel.cancel(token);
      this.emit('image.copy-failed', `${from}>${to}`, { from, to, bytes });
      this.kernel.at(this.kernel.nowUs(), () => f.reject(new WorldError(`copy ${from} -> ${to} failed: an end went away`)));
    };
    offs = subjects.map((s) => this.subscribe(s, check));
    return f;
  }

  // ---------- the monitoring database (Navigator's depots) ----------

  /**
   * Each host's monitoring database on disk, and the last dump its depot received. A database
   * only grows until a restore replaces it, so a dump is a prefix of its rows (no copy per sync:
   * a week of syncs every minute would copy the rows ten thousand times).
   */
  private readonly databases = new Map<string, { rows: MonitorRow[]; lastSeq: number }>();
  private readonly dumps = new Map<string, { rows: MonitorRow[]; n: number; lastSeq: number }>();

  /** Appends a row to `host`'s monitoring database; the host must be on. */
  recordSample(host: string, row: MonitorRow): void {
    if (this.host(host).state !== 'on') throw new WorldError(`record on ${host}: it is not on`);
    let db = this.databases.get(host);
    if (!db) this.databases.set(host, (db = { rows: [], lastSeq: 0 }));
    db.rows.push({ ...row });
    db.lastSeq = Math.max(db.lastSeq, row.seq);
  }

  /** The rows of `host`'s monitoring database (a copy). */
  databaseRows(host: string): MonitorRow[] {
    return (this.databases.get(host)?.rows ?? []).map((r) => ({ ...r }));
  }

  /**
   * Dumps `from`'s monitoring database and copies the dump to `to` (as `copyImage`: fails when an
   * end goes away); the dump replaces `to`'s last one once it is whole. Resolves with what it holds.
   */
  shipDatabase(from: string, to: string, bytes: number, rateBps: number): SimFuture<MonitorDbSummary> {
    const db = this.databases.get(from);
    const dump = { rows: db?.rows ?? [], n: db?.rows.length ?? 0, lastSeq: db?.lastSeq ?? 0 };
    const f = new SimFuture<MonitorDbSummary>();
    this.copyImage(from, to, bytes, rateBps).then(() => {
      this.dumps.set(to, dump);
      f.resolve({ rows: dump.n, lastSeq: dump.lastSeq });
    }, (e) => f.reject(e));
    return f;
  }

  /** Replaces `host`'s monitoring database with the last dump it received (none: empty). */
  restoreDatabase(host: string): MonitorDbSummary {
    if (this.host(host).state !== 'on') throw new WorldError(`restore on ${host}: it is not on`);
    const dump = this.dumps.get(host);
    const db = { rows: dump ? dump.rows.slice(0, dump.n) : [], lastSeq: dump?.lastSeq ?? 0 };
    this.databases.set(host, db);
    return { rows: db.rows.length, lastSeq: db.lastSeq };
  }

  // ---------- VIPs ----------

  assignVip(vip: string, holder: string): void {
    const v = this.vips.get(vip);
    if (!v) throw new WorldError(`no VIP "${vip}"`);
    if (!this.isNode(holder)) throw new WorldError(`no host or VM "${holder}"`);
    if (!this.nodeUp(holder)) throw new WorldError(`cannot set VIP ${vip} on ${holder}: it is not up`);
    this.setHolders(v, [...v.holders.filter((h) => h !== holder), holder]);
    this.emit('vip.assign', vip, { holder });
    this.changed(`vip:${vip}`);
  }

  removeVip(vip: string, holder: string): void {
    const v = this.vips.get(vip);
    if (!v) throw new WorldError(`no VIP "${vip}"`);
    if (!v.holders.includes(holder)) return;
    this.setHolders(v, v.holders.filter((h) => h !== holder));
    this.emit('vip.remove', vip, { holder });
    this.changed(`vip:${vip}`);
  }

  // ---------- load-balancer pools ----------

  readonly pools = new Map<string, Map<string, number>>();

  poolSet(pool: string, member: string, weight: number | null): void {
    let p = this.pools.get(pool);
    if (!p) {
      p = new Map();
      this.pools.set(pool, p);
    }
    if (weight === null) {
      if (!p.delete(member)) return;
      this.emit('pool.remove', pool, { member });
    } else {
      p.set(member, weight);
      this.emit('pool.add', pool, { member, weight });
    }
    this.lbDestChanged(pool, member, weight);
    this.changed(`pool:${pool}`);
  }

  private readonly lbTables = new Map<string, LbTable>();

  /** The pool's IPVS table after a destination was added, removed or reweighted (ip_vs_wrr_dest_changed). */
  private lbDestChanged(pool: string, member: string, weight: number | null): void {
    let t = this.lbTables.get(pool);
    if (!t) {
      t = { dests: [], cl: -1, cw: 0, mw: 0, di: 1 };
      this.lbTables.set(pool, t);
    }
    const k = t.dests.findIndex((d) => d.id === member);
    if (weight === null) {
      if (k >= 0) t.dests.splice(k, 1);
    } else if (k >= 0) t.dests[k].weight = weight;
    else t.dests.unshift({ id: member, weight });
    let g = 0;
    let max = 0;
    for (const d of t.dests) {
      if (d.weight > 0) for (let a = d.weight, b = g; ; ) {
        if (b === 0) {
          g = a;
          break;
        }
        [a, b] = [b, a % b];
      }
      if (d.weight > max) max = d.weight;
    }
    t.di = g || 1;
    t.mw = max - (t.di - 1);
    if (t.cw > t.mw || t.cw === 0) t.cw = t.mw;
    else if (t.di > 1) t.cw = Math.floor(t.cw / t.di) * t.di + 1;
    t.cl = -1;
  }

  /** One IPVS wrr decision for a new connection to the pool: the member picked, or null. */
  lbSchedule(pool: string): string | null {
    const t = this.lbTables.get(pool);
    if (!t || t.mw === 0) return null;
    const n = t.dests.length;
    const last = t.cl < n ? t.cl : -1;
    let i = last;
    let stop: number | null = null;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (i = i + 1; i < n; i++) {
        if (t.dests[i].weight >= t.cw) {
          t.cl = i;
          return t.dests[i].id;
        }
        if (i === stop) {
          t.cl = i;
          return null;
        }
      }
      i = -1;
      t.cw -= t.di;
      if (t.cw <= 0) {
        t.cw = t.mw;
        if (lastPass || last === -1) {
          t.cl = -1;
          return null;
        }
        restarted = true;
      }
      lastPass = t.cw <= t.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }

  /**
   * The real server for a client's access: with persistence, the one of its template while the
   * template is fresh (an access within persistenceUs of the last) and the server is still in the
   * pool's table (at any weight: IPVS keeps persistent clients on a quiesced server); else a wrr
   * decision, which becomes the template.
   */
  private lbPick(v: Vip, client: string): string | null {
    if (v.templates === undefined) return this.lbSchedule(v.pool!);
    const now = this.now();
    const t = v.templates.get(client);
    if (t !== undefined && now - t.lastUs <= v.persistenceUs! && this.lbTables.get(v.pool!)?.dests.some((d) => d.id === t.member)) {
      t.lastUs = now;
      return t.member;
    }
    const by = this.lbSchedule(v.pool!);
    if (by === null) v.templates.delete(client);
    else v.templates.set(client, { member: by, lastUs: now });
    return by;
  }

  /**
   * An access to a load-balanced VIP: its live holder (the director) must be reachable from the
   * client; the director picks a real server of the pool (wrr), which must be reachable from the
   * director and answer the client directly (LVS direct routing) with its service up.
   */
  private lbAccess(v: Vip, client: string): { ok: boolean; by: string | null } {
    const director = this.vipAnswerer(v.name);
    if (director === null || !this.reachable(client, director)) return { ok: false, by: null };
    const by = this.lbPick(v, client);
    if (by === null) return { ok: false, by: null };
    const ok = this.reachable(director, by) && this.reachable(by, client) && this.reachable(client, by) && this.serviceState(by, v.service) === 'up';
    return { ok, by };
  }

  // ---------- load ----------

  addLoad(host: string, cpuPct: number, memMb: number, netBytesPerS: number, sign: 1 | -1): void {
    const l = this.extraLoad.get(host)!;
    l.cpuPct += sign * cpuPct;
    l.memMb += sign * memMb;
    l.netBytesPerS += sign * netBytesPerS;
    this.emit('load.change', host, { cpuPct: l.cpuPct, memMb: l.memMb, netBytesPerS: l.netBytesPerS });
    this.loadTouched(host);
    if (this.ops.length > 0) this.reflow();
  }

  addVmLoad(vm: string, cpuPct: number, memMb: number, netBytesPerS: number, sign: 1 | -1): void {
    const l = this.vmExtra.get(vm) ?? { cpuPct: 0, memMb: 0, netBytesPerS: 0 };
    l.cpuPct += sign * cpuPct;
    l.memMb += sign * memMb;
    l.netBytesPerS += sign * netBytesPerS;
    this.vmExtra.set(vm, l);
    this.emit('load.change', vm, { cpuPct: l.cpuPct, memMb: l.memMb, netBytesPerS: l.netBytesPerS });
  }

  // ---------- clients (the access log) ----------

  /** Is the VIP's service answering `client` right now (request and reply)? */
  vipServing(vip: string, client: string = CLIENT_NODE): boolean {
    const v = this.vips.get(vip);
    if (!v) return false;
    const who = this.vipAnswerer(vip);
    return who !== null && this.reachable(client, who) && this.reachable(who, client) && this.serviceState(who, v.service) === 'up';
  }

  /**
   * A change can alter what a client sees only through its VIP: the VIP's holders (`vip:V`), a
   * holder's state or reachability (`node:X`, which a host also emits for its VMs) or its service
   * (`svc:X/S`). Those clients are checked; any other change (`net`, pools) checks them all. A
   * check of a client whose VIP cannot have changed would log nothing (it logs changes only).
   */
  private clientsMaybeChanged(subject: string): void {
    const colon = subject.indexOf(':');
    const kind = subject.slice(0, colon);
    const name = subject.slice(colon + 1);
    if (kind === 'vip') return this.checkClients(this.clientsOf.get(name));
    if (kind === 'node' || kind === 'svc') {
      const node = kind === 'svc' ? name.slice(0, name.indexOf('/')) : name;
      for (const vip of this.vipsHeldBy.get(node) ?? []) this.checkClients(this.clientsOf.get(vip));
      return;
    }
    this.checkClients(this.clients);
  }

  private checkClients(clients: readonly Client[] | undefined): void {
    if (clients) for (const c of clients) if (c.checkToken < 0) this.scheduleClientCheck(c);
  }

  /**
   * A client accesses its VIP every intervalS on a fixed grid and logs only changes OK <-> XX
   * (the access log's lines between changes carry no information). An access at instant t sees
   * every change made at t, so the log equals a client that accesses every second.
   */
  private scheduleClientCheck(c: Client): void {
    const iv = sToUs(c.spec.intervalS);
    const now = this.kernel.nowUs();
    const lb = this.vips.get(c.spec.vip);
    if (lb?.pool !== undefined) {
      // A load-balanced VIP: every access is a new connection that the director schedules, so
      // every access is logged, with the real server that answered (`by`).
      const rel = now - c.phaseUs;
      const at = c.ok === null && rel <= 0 ? c.phaseUs : c.phaseUs + (Math.floor(rel / iv) + (c.ok === null && rel % iv === 0 ? 0 : 1)) * iv;
      c.checkToken = this.kernel.at(at, () => {
        const a = this.lbAccess(lb, c.spec.name);
        this.emit('client.access', c.spec.name, { vip: c.spec.vip, ok: a.ok, log: a.ok ? 'OK' : 'XX', ...(a.by !== null ? { by: a.by } : {}) });
        c.ok = a.ok;
        this.scheduleClientCheck(c);
      }, 0, CLIENT_TIE_BASE + c.index);
      return;
    }
    // First access grid instant at or after now (the first check of all is at once).
    const rel = now - c.phaseUs;
    const at = c.ok === null ? now : c.phaseUs + (Math.floor(rel / iv) + (rel % iv === 0 ? 0 : 1)) * iv;
    c.checkToken = this.kernel.at(at, () => {
      c.checkToken = -1;
      const ok = this.vipServing(c.spec.vip, c.spec.name);
      if (ok !== c.ok) {
        this.emit('client.access', c.spec.name, { vip: c.spec.vip, ok, log: ok ? 'OK' : 'XX' });
        c.ok = ok;
      }
    }, 0, CLIENT_TIE_BASE + c.index);
  }

  // ---------- faults ----------

  injectFault(f: FaultSpec): void {
    const target = 'target' in f ? f.target : f.a.join(',');
    this.emit('fault', target, { fault: f.kind, ...(('service' in f && f.service) ? { service: f.service } : {}) });
    const firstService = (t: string) => {
      const s = this.servicesOf.get(t)?.[0];
      if (!s) throw new WorldError(`fault ${f.kind}: "${t}" runs no service`);
      return s.spec.name;
    };
    const until = (undo: () => void) => {
      if (f.duration !== undefined) this.later(f.duration, undo);
    };
    switch (f.kind) {
      case 'St1':
        this.stopService(f.target, f.service ?? firstService(f.target));
        return;
      case 'St2':
        if (f.mode === 'stop') this.breakService(f.target, f.service ?? firstService(f.target));
        else this.freezeService(f.target, f.service ?? firstService(f.target));
        return;
      case 'Nt1':
      case 'host-restart':
        if (this.hosts.has(f.target)) void this.restartHost(f.target);
        return;
      case 'Nt2':
      case 'host-shutdown':
        this.shutdownHost(f.target);
        return;
      case 'host-fail':
        this.failHost(f.target);
        return;
      case 'pause':
        this.pauseHost(f.target);
        until(() => this.unpauseHost(f.target));
        return;
      case 'link-down':
        this.setLink(f.target, false);
        until(() => this.setLink(f.target, true));
        return;
      case 'vm-crash':
        this.crashVm(f.target);
        return;
      case 'vm-reboot':
        this.rebootVm(f.target);
        return;
      case 'partition': {
        const heal = this.partition(f.a, f.b, f.oneWay);
        until(heal);
        return;
      }
    }
  }
}

/**
 * Speed of one CPU-bound thread among `threads` runnable ones on a host, as a fraction of a thread
 * alone on an idle core. The scheduler shares the host's logical CPUs (cores x threadsPerCore)
 * fairly; a core whose hardware threads are all busy delivers 1 + smtGain threads' worth of work
 * in all, so with T runnable threads the host's throughput is cores + min(T - cores, cores x
 * (threadsPerCore - 1)) x smtGain / (threadsPerCore - 1), shared by the T threads.
 */
export function cpuRate(spec: { cores: number; threadsPerCore: number; smtGain: number }, threads: number): number {
  const { cores, threadsPerCore, smtGain } = spec;
  if (threads <= cores) return 1;
  const extraSlots = cores * (threadsPerCore - 1);
  const gainPerSlot = threadsPerCore > 1 ? smtGain / (threadsPerCore - 1) : 0;
  const throughput = cores + Math.min(threads - cores, extraSlots) * gainPerSlot;
  return Math.min(1, throughput / threads);
}
