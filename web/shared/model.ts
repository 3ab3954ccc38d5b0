// The page's model of a run: the twin's current state, the timeline and power series, and the
// health lights, all folded from trace events as they arrive. Pure (no DOM): unit-tested in
// test/web-model.test.ts.
//
// Health lights (chen-lo-2015 Fig. 8): every monitored object has two lights; the first turns red
// after one failed probe, the second after three consecutive failed probes; a passing probe turns
// both green. The trace does not list every probe (quiet monitoring is skipped, and a watcher
// stops probing once it has found trouble), so the lights run a virtual prober of their own:
//   - probes happen on the policies' grid k * T (T = the first policy's `interval`, default 10 s),
//     after every event of their instant (like the sim's probes, which run in the kernel's late lane);
//   - a probe of an object fails when the object does not answer by the trace's state (below);
//   - every `trouble.detected` is a real failed probe of the watcher and counts as a miss at its
//     instant (detail network/unreachable: the host's network light; a service detail: that
//     service; refused/timeout without a name: the target's services), never twice at one instant;
//   - objects in standby (suspended host, suspended or defined VM, the services in them) are not
//     probed: both lights dark.
// What answers: Physical - a host is on (off, booting, restarting, paused, failed: no; suspended:
// standby; a host never on so far is a spare: standby). Network - a host is on, its link up and it
// is in no partition; a VIP has a live holder whose service is up. Server - a VM is running on a
// host that answers (crashed: no). Application - the service is up on a node that answers.
//
// Live runs (topology.lights === 'probes') do not guess: their lights come from real probes of the
// lab, the `health.probe` events (web/server/live.ts), with the same rule (red after one failed
// probe, second light after three in a row, a pass turns both green). A light whose probes stopped
// reporting for two intervals is stale (grey, labelled), and so is every light of a live run that
// has ended: never a confident green from a source that went quiet.
import { recoveries, type Recovery, type TraceLine } from '../../trace/metrics.ts';
import { StoreReplica } from '../../trace/store.ts';
import type { Topology } from './api.ts';
import { isStale, lightPair, LightHistory, missesAfter, STALE_INTERVALS, type Level, type LightColor, type LightPair } from './lights.ts';

export { LEVELS, STALE_INTERVALS, type Level, type LightColor, type LightChange } from './lights.ts';

export interface LightObject {
  id: string;
  level: Level;
  label: string;
  /** The object whose history a click shows: a host, VM, "host/service" or VIP name. */
  subject: string;
  misses: number;
  lights: [LightColor, LightColor];
  standby: boolean;
  /** Why a light is stale or dark, or what the last real probe said (live). */
  note: string | null;
}

export interface Segment {
  from: number;
  /** null: still in this state. */
  to: number | null;
  state: string;
  /** Where a VM runs during this segment. */
  host?: string | null;
}

export interface Marker {
  t: number;
  kind: 'fault' | 'detected' | 'function' | 'target' | 'unrecoverable';
  /** The row: a host or VM name. */
  subject: string;
  label: string;
}

interface HostState {
  state: string;
  watts: number;
  linkUp: boolean;
  everOn: boolean;
}
interface VmState {
  state: string;
  host: string | null;
}
interface Probe {
  misses: number;
  /** Instant of the last miss that came from a trouble.detected (not counted again by the grid). */
  troubleUs: number;
}

const DEFAULT_INTERVAL_US = 10_000_000;
const NOISY = /^(store\.|probe\.ok$|health\.probe$)/;

interface ProbeReport {
  t: number;
  ok: boolean;
  standby: boolean;
  misses: number;
  detail: string;
}

export function hostColor(state: string): string {
  switch (state) {
    case 'on': return 'green';
    case 'booting': case 'restarting': return 'amber';
    case 'paused': return 'orange';
    case 'suspended': return 'blue';
    case 'off': case 'failed': return 'red';
    default: return 'grey';
  }
}

export function vmColor(state: string): string {
  switch (state) {
    case 'running': return 'green';
    case 'starting': case 'resuming': case 'suspending': return 'amber';
    case 'suspended': return 'blue';
    case 'crashed': return 'red';
    default: return 'grey';
  }
}

export function serviceColor(state: string, nodeAnswers: boolean, standby: boolean): string {
  if (standby) return 'grey';
  if (!nodeAnswers) return 'red';
  switch (state) {
    case 'up': return 'green';
    case 'frozen': return 'orange';
    default: return 'red';
  }
}

export class Twin {
  readonly events: TraceLine[] = [];
  readonly hosts = new Map<string, HostState>();
  /** The store's records, rebuilt from store lines (writes come as changes: trace/store.ts). */
  private readonly store = new StoreReplica(false);
  readonly vms = new Map<string, VmState>();
  /** "node/service" -> state. */
  readonly services = new Map<string, string>();
  readonly nodeServices = new Map<string, string[]>();
  readonly vips = new Map<string, { holders: string[]; service: string | null; address: string | null }>();
  readonly clients = new Map<string, { vip: string; ok: boolean | null }>();
  readonly partitions: Array<{ a: string[]; b: string[]; oneWay: boolean }> = [];
  /** Manager -> its management programs' modes (kitamura-2018 Fig. 7), non-Regular ones. */
  readonly modes = new Map<string, Map<string, string>>();
  /** Timeline rows: host and VM name -> state segments. */
  readonly segments = new Map<string, Segment[]>();
  readonly rowKind = new Map<string, 'host' | 'vm'>();
  readonly markers: Marker[] = [];
  /** Host -> [t, watts] steps. */
  readonly power = new Map<string, Array<[number, number]>>();
  readonly kinds = new Set<string>();
  nowUs = 0;
  untilUs: number;
  readonly intervalUs: number;
  /** Bumped whenever something the topology drawing shows changes. */
  version = 0;
  private readonly probes = new Map<string, Probe>();
  /** Last grid instant the virtual prober has run (exclusive start of the next). */
  private gridDoneUs = -1;
  private recoveriesCache: { n: number; value: Recovery[] } = { n: -1, value: [] };
  /** Live: lights from real probes (health.probe events), by light id. */
  readonly probeMode: boolean;
  private readonly reports = new Map<string, ProbeReport>();
  /** Live: the run has ended (its lights are no longer fed): every light is stale. */
  ended: string | null = null;
  /** A scenario shown before it runs: nothing has been probed. */
  preview = false;
  /** Every change of a light (the paper's per-object and whole-system history). */
  private readonly lightHistory = new LightHistory();
  /** Live: the next instant a report turns stale (the history notes it then). */
  private nextStaleUs = Infinity;

  constructor(readonly topology: Topology | null) {
    this.probeMode = topology?.lights === 'probes';
    this.intervalUs = topology?.probeIntervalUs && topology.probeIntervalUs > 0 ? topology.probeIntervalUs : DEFAULT_INTERVAL_US;
    this.untilUs = topology?.untilUs ?? 0;
    if (topology) {
      for (const h of topology.hosts) {
        this.addHost(h.name, h.state);
        this.nodeServices.set(h.name, [...h.services]);
      }
      for (const v of topology.vms) {
        this.addVm(v.name, 'suspended', v.host);
        this.nodeServices.set(v.name, [...v.services]);
      }
      for (const p of topology.vips) this.vips.set(p.name, { holders: p.holder ? [p.holder] : [], service: p.service, address: p.address });
      for (const c of topology.clients) this.clients.set(c.name, { vip: c.vip, ok: null });
    }
  }

  private addHost(name: string, state = 'on'): HostState {
    let h = this.hosts.get(name);
    if (!h) {
      h = { state, watts: 0, linkUp: true, everOn: state === 'on' };
      this.hosts.set(name, h);
      this.rowKind.set(name, 'host');
      this.segments.set(name, []);
      this.power.set(name, []);
      if (!this.nodeServices.has(name)) this.nodeServices.set(name, []);
      this.version++;
    }
    return h;
  }

  private addVm(name: string, state: string, host: string | null): VmState {
    let v = this.vms.get(name);
    if (!v) {
      v = { state, host };
      this.vms.set(name, v);
      this.rowKind.set(name, 'vm');
      this.segments.set(name, []);
      if (!this.nodeServices.has(name)) this.nodeServices.set(name, []);
      this.version++;
    }
    return v;
  }

  private addService(node: string, service: string): void {
    const list = this.nodeServices.get(node) ?? [];
    if (!list.includes(service)) {
      list.push(service);
      this.nodeServices.set(node, list);
      this.version++;
    }
  }

  private vip(name: string) {
    let v = this.vips.get(name);
    if (!v) {
      v = { holders: [], service: null, address: null };
      this.vips.set(name, v);
      this.version++;
    }
    return v;
  }

  private setSegment(row: string, t: number, state: string, host?: string | null): void {
    const segs = this.segments.get(row)!;
    const last = segs[segs.length - 1];
    if (last && last.to === null) {
      if (last.state === state && last.host === host) return;
      last.to = t;
      if (last.to === last.from) segs.pop();
    }
    segs.push({ from: t, to: null, state, host });
  }

  // ---------- what answers ----------

  hostAnswers(name: string): boolean {
    return this.hosts.get(name)?.state === 'on';
  }

  private inPartition(name: string): boolean {
    return this.partitions.some((p) => p.a.includes(name) || p.b.includes(name));
  }

  /** A host or VM answers a ping (from the management LAN). */
  nodeAnswers(name: string): boolean {
    const h = this.hosts.get(name);
    if (h) return h.state === 'on' && h.linkUp && !this.inPartition(name);
    const v = this.vms.get(name);
    if (!v || v.state !== 'running' || v.host === null) return false;
    return this.nodeAnswers(v.host) && !this.inPartition(name);
  }

  /** A node whose lights are dark: a suspended or never-started host, a VM that is not running. */
  nodeStandby(name: string): boolean {
    const h = this.hosts.get(name);
    if (h) return h.state === 'suspended' || (!h.everOn && h.state === 'off');
    const v = this.vms.get(name);
    return !v || (v.state !== 'running' && v.state !== 'crashed');
  }

  serviceState(node: string, service: string): string {
    return this.services.get(`${node}/${service}`) ?? 'up';
  }

  /** The holder that answers a VIP (the last live one, as the latest gratuitous ARP wins), or null. */
  vipAnswerer(name: string): string | null {
    const v = this.vips.get(name);
    if (!v) return null;
    for (let i = v.holders.length - 1; i >= 0; i--) if (this.nodeAnswers(v.holders[i])) return v.holders[i];
    return null;
  }

  /** The holder an arrow points at: the answering one, else the last assigned. */
  vipHolder(name: string): string | null {
    const v = this.vips.get(name);
    if (!v || v.holders.length === 0) return null;
    return this.vipAnswerer(name) ?? v.holders[v.holders.length - 1];
  }

  vipServing(name: string): boolean {
    const who = this.vipAnswerer(name);
    const svc = this.vips.get(name)?.service;
    return who !== null && (svc == null || this.serviceState(who, svc) === 'up');
  }

  // ---------- health lights ----------

  /** The monitored objects, by level, with their probe predicate. */
  private lightObjects(): Array<{ id: string; level: Level; label: string; subject: string; standby: boolean; answers: boolean }> {
    const out: Array<{ id: string; level: Level; label: string; subject: string; standby: boolean; answers: boolean }> = [];
    for (const [node, services] of this.nodeServices) {
      const standby = this.nodeStandby(node);
      const answers = this.nodeAnswers(node);
      for (const s of services) {
        out.push({ id: `svc:${node}/${s}`, level: 'Application', label: `${node}/${s}`, subject: `${node}/${s}`, standby, answers: answers && this.serviceState(node, s) === 'up' });
      }
    }
    for (const [name] of this.hosts) {
      out.push({ id: `net:${name}`, level: 'Network', label: `${name} link`, subject: name, standby: this.nodeStandby(name), answers: this.nodeAnswers(name) });
    }
    for (const [name] of this.vips) {
      out.push({ id: `vip:${name}`, level: 'Network', label: name, subject: name, standby: false, answers: this.vipServing(name) });
    }
    for (const [name, h] of this.hosts) {
      out.push({ id: `phys:${name}`, level: 'Physical', label: name, subject: name, standby: this.nodeStandby(name), answers: h.state === 'on' });
    }
    for (const [name] of this.vms) {
      out.push({ id: `vm:${name}`, level: 'Server', label: name, subject: name, standby: this.nodeStandby(name), answers: this.nodeAnswers(name) });
    }
    return out;
  }

  private probe(id: string): Probe {
    let p = this.probes.get(id);
    if (!p) {
      p = { misses: 0, troubleUs: -1 };
      this.probes.set(id, p);
    }
    return p;
  }

  /** Runs the virtual prober's grid instants up to and including `untilUs` on the current state. */
  private runGrid(untilUs: number): void {
    const T = this.intervalUs;
    const first = Math.floor(this.gridDoneUs / T) + 1; // first grid index after gridDoneUs
    const last = Math.floor(untilUs / T);
    // Live runs' lights come from real probes (health.probe) only.
    if (last < first || this.probeMode) {
      this.gridDoneUs = Math.max(this.gridDoneUs, untilUs);
      return;
    }
    const count = last - first + 1;
    const firstUs = first * T;
    for (const o of this.lightObjects()) {
      const p = this.probe(o.id);
      if (o.standby || o.answers) {
        p.misses = missesAfter(p.misses, { ok: o.answers, standby: o.standby });
        this.noteLight(firstUs, o.id, p.misses, o.standby, o.standby ? 'standby: not probed' : null);
        continue;
      }
      // One failed scan per instant; a trouble.detected at the first of them already counted
      // that one. The lights change at most at the first three instants: note those, add the rest.
      let k = p.troubleUs === firstUs ? 1 : 0;
      for (; k < count && p.misses < 3; k++) {
        p.misses = missesAfter(p.misses, { ok: false });
        this.noteLight((first + k) * T, o.id, p.misses, false, 'no answer');
      }
      p.misses += count - k;
    }
    this.gridDoneUs = untilUs;
  }

  private troubleMiss(id: string, t: number): void {
    const p = this.probe(id);
    if (p.troubleUs === t || this.probeMode) return;
    p.misses = missesAfter(p.misses, { ok: false });
    p.troubleUs = t;
    this.noteLight(t, id, p.misses, false, 'trouble detected');
  }

  /** Records a light change in the history (the object's level and label from its id). */
  private noteLight(t: number, id: string, misses: number, standby: boolean, note: string | null, lights: LightPair = lightPair(misses, standby)): void {
    if (this.preview) return;
    const o = this.reportObject(id)[0];
    if (!o) return;
    this.lightHistory.note({ t, id, level: o.level, label: o.label, lights, misses, note });
  }

  /** Live: lights whose source went quiet for STALE_INTERVALS intervals turn stale in the history when the clock passes that point. */
  private noteStale(): void {
    if (!this.probeMode || this.nowUs < this.nextStaleUs) return;
    const staleUs = STALE_INTERVALS * this.intervalUs;
    let next = Infinity;
    for (const [id, r] of this.reports) {
      const at = r.t + staleUs + 1;
      if (at <= this.nowUs) this.noteLight(at, id, r.misses, r.standby, `stale: no report for more than ${fmtS(staleUs)}`, ['stale', 'stale']);
      else next = Math.min(next, at);
    }
    this.nextStaleUs = next;
  }

  /** The run has ended (a live run's probes no longer report): every light is stale from now on. */
  markEnded(reason: string): void {
    if (this.ended !== null) return;
    this.ended = reason;
    for (const o of this.lights()) this.noteLight(this.nowUs, o.id, o.misses, false, `stale: ${reason}`, ['stale', 'stale']);
  }

  /** Light changes of one object (by light id), or of the whole system, oldest first. */
  lightChanges(id?: string) {
    this.noteStale();
    return id === undefined ? this.lightHistory.all() : this.lightHistory.of(id);
  }

  lights(): LightObject[] {
    if (this.preview) {
      return this.lightObjects().map((o) => ({ id: o.id, level: o.level, label: o.label, subject: o.subject, misses: 0, lights: ['stale', 'stale'], standby: false, note: 'not running: press Start' }));
    }
    if (this.probeMode) return this.probeLights();
    return this.lightObjects().map((o) => {
      const misses = o.standby ? 0 : this.probe(o.id).misses;
      return { id: o.id, level: o.level, label: o.label, subject: o.subject, misses, lights: lightPair(misses, o.standby), standby: o.standby, note: o.standby ? 'standby: not probed' : null };
    });
  }

  /** Live lights: the last real probe of each object, stale after STALE_INTERVALS intervals of silence. */
  private probeLights(): LightObject[] {
    const objects: Array<{ id: string; level: Level; label: string; subject: string }> = this.lightObjects();
    const ids = new Set(objects.map((o) => o.id));
    // Objects the probes know and the trace does not name yet (a VIP of the lab, ...).
    for (const [id] of this.reports) if (!ids.has(id)) objects.push(...this.reportObject(id));
    const stale: LightPair = ['stale', 'stale'];
    return objects.map((o) => {
      const r = this.reports.get(o.id);
      const base = { id: o.id, level: o.level, label: o.label, subject: o.subject };
      if (this.ended !== null) return { ...base, misses: r?.misses ?? 0, lights: stale, standby: false, note: `stale: ${this.ended}` };
      if (!r) return { ...base, misses: 0, lights: stale, standby: false, note: 'stale: no probe has reported yet' };
      if (isStale({ misses: r.misses, standby: r.standby, lastUs: r.t }, this.nowUs, this.intervalUs)) {
        return { ...base, misses: r.misses, lights: stale, standby: r.standby, note: `stale: no report for ${fmtS(this.nowUs - r.t)} (probes every ${fmtS(this.intervalUs)})` };
      }
      if (r.standby) return { ...base, misses: 0, lights: lightPair(0, true), standby: true, note: `standby: ${r.detail}` };
      return { ...base, misses: r.misses, lights: lightPair(r.misses), standby: false, note: `last probe at ${fmtS(r.t)}: ${r.ok ? 'ok' : r.detail}` };
    });
  }

  private reportObject(id: string): Array<{ id: string; level: Level; label: string; subject: string }> {
    const m = /^(svc|net|vip|phys|vm):(.+)$/.exec(id);
    if (!m) return [];
    const level: Level = m[1] === 'svc' ? 'Application' : m[1] === 'phys' ? 'Physical' : m[1] === 'vm' ? 'Server' : 'Network';
    return [{ id, level, label: m[1] === 'net' ? `${m[2]} link` : m[2], subject: m[2] }];
  }

  // ---------- folding events ----------

  /** Moves the clock (a status message): grid probes up to `nowUs` run. */
  advance(nowUs: number): void {
    if (nowUs < this.nowUs) return;
    this.nowUs = nowUs;
    this.runGrid(nowUs);
    this.noteStale();
  }

  apply(e: TraceLine): void {
    // Grid probes strictly before this instant see the state before this event; probes at this
    // instant run after all its events (they will run when time moves on).
    if (e.t - 1 > this.gridDoneUs) this.runGrid(e.t - 1);
    if (e.t > this.nowUs) this.nowUs = e.t;
    if (e.t > this.untilUs) this.untilUs = e.t;
    if (this.nowUs >= this.nextStaleUs) this.noteStale();
    this.events.push(e);
    this.kinds.add(e.kind);
    const d = e.data ?? {};
    switch (e.kind) {
      case 'host.state': {
        const h = this.addHost(e.subject);
        h.state = String(d.state);
        h.watts = Number(d.watts ?? 0);
        if (h.state === 'on') h.everOn = true;
        this.setSegment(e.subject, e.t, h.state);
        const pw = this.power.get(e.subject)!;
        if (pw.length && pw[pw.length - 1][0] === e.t) pw[pw.length - 1][1] = h.watts;
        else pw.push([e.t, h.watts]);
        this.version++;
        break;
      }
      case 'vm.state': {
        // A live lab's libvirt says a guest's state, not where it runs: the host stays as known.
        const hasHost = 'host' in d;
        const v = this.addVm(e.subject, String(d.state), hasHost ? (d.host as string | null) ?? null : null);
        v.state = String(d.state);
        if (hasHost) v.host = (d.host as string | null) ?? null;
        this.setSegment(e.subject, e.t, v.state, v.host);
        this.version++;
        break;
      }
      case 'vm.undefine': {
        // VM control deleted it (chen-lo-2015 Fig. 13): its row ends here, its lights go.
        const last = this.segments.get(e.subject)?.at(-1);
        if (last && last.to === null) last.to = e.t;
        this.vms.delete(e.subject);
        this.nodeServices.delete(e.subject);
        this.version++;
        break;
      }
      case 'service.state': {
        const i = e.subject.indexOf('/');
        if (i > 0) this.addService(e.subject.slice(0, i), e.subject.slice(i + 1));
        this.services.set(e.subject, String(d.state));
        this.version++;
        break;
      }
      case 'vip.assign': {
        const v = this.vip(e.subject);
        const holder = String(d.holder);
        v.holders = v.holders.filter((x) => x !== holder);
        v.holders.push(holder);
        this.version++;
        break;
      }
      case 'vip.remove': {
        const v = this.vip(e.subject);
        v.holders = v.holders.filter((x) => x !== String(d.holder));
        this.version++;
        break;
      }
      case 'client.access': {
        const c = this.clients.get(e.subject) ?? { vip: String(d.vip ?? ''), ok: null };
        c.ok = d.ok === true;
        if (!c.vip && d.vip) c.vip = String(d.vip);
        this.clients.set(e.subject, c);
        if (c.vip) this.vip(c.vip);
        this.version++;
        break;
      }
      case 'link.state': {
        this.addHost(e.subject).linkUp = d.up === true;
        this.version++;
        break;
      }
      case 'net.partition': {
        this.partitions.push({ a: (d.a as string[]) ?? [], b: (d.b as string[]) ?? [], oneWay: d.oneWay === true });
        this.version++;
        break;
      }
      case 'net.heal': {
        const key = JSON.stringify([d.a, d.b, d.oneWay === true]);
        const i = this.partitions.findIndex((p) => JSON.stringify([p.a, p.b, p.oneWay]) === key);
        if (i >= 0) this.partitions.splice(i, 1);
        this.version++;
        break;
      }
      case 'store.delete':
        this.store.apply(e);
        break;
      case 'store.write': {
        // P2P management data files name each server's daemons (kitamura-2018 §3.2).
        const m = /^p2p\/data\/(.+)$/.exec(e.subject);
        // Its backup VM runs the same daemons (the VM is the server's copy).
        const value = this.store.apply(e) as { daemons?: unknown; vm?: unknown } | undefined;
        if (m && Array.isArray(value?.daemons)) {
          for (const s of value.daemons) {
            this.addService(m[1], String(s));
            if (typeof value.vm === 'string' && this.vms.has(value.vm)) this.addService(value.vm, String(s));
          }
        }
        break;
      }
      case 'p2p.mode': {
        const target = String(d.target ?? '');
        const modes = this.modes.get(e.subject) ?? new Map<string, string>();
        if (d.mode === 'Regular') modes.delete(target);
        else modes.set(target, `${String(d.priority ?? '')} ${target}: ${String(d.mode)}`);
        this.modes.set(e.subject, modes);
        this.version++;
        break;
      }
      case 'fault':
        this.markers.push({ t: e.t, kind: 'fault', subject: e.subject, label: `${String(d.fault ?? 'fault')}${d.service ? ` ${String(d.service)}` : ''}` });
        break;
      case 'trouble.detected': {
        this.markers.push({ t: e.t, kind: 'detected', subject: e.subject, label: `detected by ${String(d.manager ?? '?')}` });
        const detail = String(d.detail ?? '');
        const svc = /^service:([^:]+)/.exec(detail);
        if (detail === 'network' || detail === 'unreachable') this.troubleMiss(`net:${e.subject}`, e.t);
        else if (svc) this.troubleMiss(`svc:${e.subject}/${svc[1]}`, e.t);
        else for (const s of this.nodeServices.get(e.subject) ?? []) this.troubleMiss(`svc:${e.subject}/${s}`, e.t);
        break;
      }
      case 'health.probe': {
        const id = String(d.light ?? '');
        if (!id) break;
        const prev = this.reports.get(id);
        const standby = d.standby === true;
        const ok = d.ok === true;
        const misses = missesAfter(prev && !prev.standby ? prev.misses : 0, { ok, standby });
        const detail = String(d.detail ?? '');
        this.reports.set(id, { t: e.t, ok, standby, misses, detail });
        this.nextStaleUs = Math.min(this.nextStaleUs, e.t + STALE_INTERVALS * this.intervalUs + 1);
        this.noteLight(e.t, id, misses, standby, ok ? 'ok' : detail);
        break;
      }
      case 'function.recovered':
        // Where the backup VM came up (a live trace's vm.state does not say).
        if (typeof d.vm === 'string' && typeof d.host === 'string') {
          const v = this.vms.get(d.vm);
          if (v && v.host !== d.host) {
            v.host = d.host;
            this.version++;
          }
        }
        this.markers.push({ t: e.t, kind: 'function', subject: e.subject, label: `function recovered${d.vm ?? d.holder ? ` on ${String(d.vm ?? d.holder)}` : ''}` });
        break;
      case 'target.recovered':
        this.markers.push({ t: e.t, kind: 'target', subject: e.subject, label: `target recovered (${String(d.how ?? '')})` });
        break;
      case 'function.unrecoverable':
        this.markers.push({ t: e.t, kind: 'unrecoverable', subject: e.subject, label: `function unrecoverable: ${String(d.reason ?? '')}` });
        break;
    }
  }

  /** The measured recoveries (sim/trace/metrics.ts), recomputed when events arrived. */
  recoveries(): Recovery[] {
    if (this.recoveriesCache.n !== this.events.length) this.recoveriesCache = { n: this.events.length, value: recoveries(this.events) };
    return this.recoveriesCache.value;
  }

  /** Events about an object: its own, its services', and those naming it as holder, VM or target. */
  history(subject: string): TraceLine[] {
    const slash = subject.indexOf('/');
    const node = slash > 0 ? subject.slice(0, slash) : null;
    return this.events.filter((e) => {
      if (NOISY.test(e.kind)) return false;
      if (e.subject === subject || e.subject.startsWith(`${subject}/`)) return true;
      const d = e.data ?? {};
      if (d.holder === subject || d.vm === subject || d.target === subject) return true;
      if (node !== null && e.subject === node && (e.kind === 'fault' || e.kind === 'trouble.detected' || e.kind === 'host.state' || e.kind === 'vm.state' || e.kind.endsWith('.recovered'))) return true;
      return false;
    });
  }
}

export function isNoisy(kind: string): boolean {
  return NOISY.test(kind);
}

/** Energy (Wh) per host and in total over [fromUs, toUs] from the power steps. */
export function energyWhIn(power: Map<string, Array<[number, number]>>, fromUs: number, toUs: number): { perHost: Map<string, number>; total: number } {
  const perHost = new Map<string, number>();
  let total = 0;
  for (const [host, steps] of power) {
    let wUs = 0;
    for (let i = 0; i < steps.length; i++) {
      const [t, w] = steps[i];
      const end = i + 1 < steps.length ? steps[i + 1][0] : Infinity;
      const a = Math.max(t, fromUs);
      const b = Math.min(end, toUs);
      if (b > a) wUs += w * (b - a);
    }
    const wh = wUs / 1e6 / 3600;
    perHost.set(host, wh);
    total += wh;
  }
  return { perHost, total };
}

export function fmtS(us: number): string {
  const s = us / 1e6;
  if (s >= 3600 * 24) return `${(s / 86400).toFixed(2)} d`;
  if (s >= 3600) return `${(s / 3600).toFixed(2)} h`;
  if (s >= 100) return `${s.toFixed(1)} s`;
  return `${s.toFixed(2)} s`;
}
