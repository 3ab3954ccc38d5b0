// `hatwin serve --lab LAB.yaml`: the web view follows a live lab. It says whether the lab is up,
// lists the lab's live runs (run/live.ts publishes each in out/lab/NAME/live-runs/<runId>.json
// with a growing partial trace), follows every running one as a `live` run of the web view (the
// same SSE stream as a sim run, in wall-clock time), starts and stops live scenarios itself
// (runLive with an AbortSignal, in this process), injects lab faults into them, and probes the
// lab for the health lights (LiveProber and the power supervisors: real probes, `health.probe`
// events in the run's stream).
//
// Order: the lab's events reach this server out of order by up to a second or two (the agents'
// files and the client's access log are read every ~250 ms; a client access is logged when it
// ends). A live run publishes what is at least LIVE_LAG_US old, sorted by time; the rare event
// that comes later still is published at the time of the last published one (data.lateUs says
// by how much). The final trace (run/live.ts, sorted) is the record; the stream is the view.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { checkScenarioAgainstLab, LiveFaultQueue, listLiveRuns, runLive, type LiveRunRecord } from '../../run/live.ts';
import { wallUs } from '../../run/agent.ts';
import { readScenario } from '../../run/sim.ts';
import type { LabFault } from '../../adapters/lab/lab.ts';
import { FAULTS, labFault } from '../../adapters/lab/lab.ts';
import { control } from '../../adapters/lab/control.ts';
import { labServiceCheck } from '../../adapters/lab/check.ts';
import { LabHypervisor } from '../../adapters/lab/hypervisor.ts';
import { powerSocket, statePath } from '../../adapters/lab/names.ts';
import { isAlive, type ProcRef } from '../../adapters/lab/proc.ts';
import { loadLab, type Lab } from '../../adapters/lab/schema.ts';
import { LiveProber } from '../../adapters/probe/prober.ts';
import { ServiceRegistry } from '../../adapters/probe/registry.ts';
import type { ProbeSpec } from '../../engine/ports/probe.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import type { LabInfo, LabRun, LiveRunRef, Topology } from '../shared/api.ts';
import { RunError, fmtTime, type Run, type RunManager, type Source } from './runs.ts';
import { DEFAULT_UNTIL_US, topologyOf } from './scenarios.ts';

/** Events are published once they are this old (wall clock), sorted by time. */
export const LIVE_LAG_US = 2_000_000;
/** How often the lab's state and its live runs are looked at. */
const WATCH_MS = 1_000;
/** How often a followed run's partial trace is read. */
const TAIL_MS = 250;

type LiveEnd = { state: 'done' | 'stopped' | 'error'; summary: string | null; detail: string | null };

/** A live run's events as they come in (from run/live.ts onEvent, a partial trace, the health prober). */
export class LiveSource implements Source {
  readonly kind = 'live';
  readonly events: TraceLine[] = [];
  private pending: TraceLine[] = [];
  private sorted = true;
  private clockUs = 0;
  private lastT = 0;
  private endInfo: (LiveEnd & { atUs: number }) | null = null;
  /** Events that came after later ones had been published (published at that later time). */
  late = 0;

  constructor(public epochUs: number | null = null, private readonly lagUs = LIVE_LAG_US, private readonly wall: () => number = wallUs) {}

  /** The lab run has its epoch: time 0 of its trace. */
  start(epochUs: number): void {
    this.epochUs = epochUs;
  }

  /** Wall-clock time of the run now (µs since its epoch), 0 before it has one. */
  runNowUs(): number {
    return this.epochUs === null ? 0 : Math.max(0, this.wall() - this.epochUs);
  }

  offer(e: TraceLine): void {
    if (this.endInfo && this.pending.length === 0 && this.endInfo.atUs < e.t) this.endInfo.atUs = e.t;
    const last = this.pending[this.pending.length - 1];
    if (last && last.t > e.t) this.sorted = false;
    this.pending.push(e);
  }

  /** The lab run ended: what is pending is published at once, then the run ends. */
  finish(end: LiveEnd): void {
    if (this.endInfo) return;
    const maxPending = this.pending.reduce((m, e) => Math.max(m, e.t), 0);
    this.endInfo = { ...end, atUs: Math.max(this.runNowUs(), maxPending, this.lastT) };
  }

  get finished(): boolean {
    return this.endInfo !== null;
  }

  nowUs(): number {
    return this.clockUs;
  }

  peekUs(): number {
    this.sort();
    return this.pending.length ? this.pending[0].t : Infinity;
  }

  liveTargetUs(): number {
    if (this.endInfo) return this.endInfo.atUs;
    return Math.max(this.clockUs, this.runNowUs() - this.lagUs);
  }

  liveEnd(): LiveEnd | null {
    return this.endInfo && this.pending.length === 0 ? this.endInfo : null;
  }

  advance(untilUs: number, maxEvents: number): number {
    this.sort();
    let n = 0;
    while (n < maxEvents && n < this.pending.length && this.pending[n].t <= untilUs) {
      let e = this.pending[n];
      if (e.t < this.lastT) {
        if (e.t >= 0) this.late++;
        e = { ...e, t: this.lastT, data: { ...(e.data ?? {}), lateUs: this.lastT - e.t } };
      }
      this.events.push(e);
      this.lastT = e.t;
      n++;
    }
    this.pending.splice(0, n);
    if (n < maxEvents && Number.isFinite(untilUs)) this.clockUs = Math.max(this.clockUs, untilUs, this.lastT);
    else this.clockUs = Math.max(this.clockUs, this.lastT);
    return n;
  }

  private sort(): void {
    if (this.sorted) return;
    this.pending.sort((a, b) => a.t - b.t); // stable: same-time events keep their arrival order
    this.sorted = true;
  }
}

/** New complete lines of a file another process appends to. */
class LineTail {
  private pos = 0;
  private rest = '';
  constructor(private readonly path: string) {}

  lines(): string[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    if (size <= this.pos) return [];
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size - this.pos, 8 * 1024 * 1024));
      const got = readSync(fd, buf, 0, buf.length, this.pos);
      this.pos += got;
      const parts = (this.rest + buf.subarray(0, got).toString('utf8')).split('\n');
      this.rest = parts.pop() ?? '';
      return parts.filter((l) => l.trim() !== '');
    } finally {
      closeSync(fd);
    }
  }
}

// ---------- health probes ----------

interface HealthObject {
  /** The light's id in the page's model (svc:NODE/SVC, net:HOST, vip:VIP, phys:HOST, vm:VM). */
  light: string;
  level: 'Application' | 'Network' | 'Physical' | 'Server';
  subject: string;
  probe: 'power' | 'network' | 'service';
  /** The VM whose standby (not running) makes this object dark. */
  vm?: string;
  spec?: ProbeSpec;
  host?: string;
}

/** The prober of a lab with its VIPs as targets too (a VIP's service answers at the VIP's address). */
export function labProber(lab: Lab): LiveProber {
  const targets = [
    ...lab.hosts.map((h) => ({ name: h.name, address: h.address })),
    ...lab.backupVms.map((v) => ({ name: v.name, address: v.address })),
    ...lab.vips.map((v) => ({ name: v.name, address: v.address })),
  ];
  const hostSvc = (host: string, svc: string) => lab.hosts.find((h) => h.name === host)?.services.find((s) => s.name === svc);
  const services = [
    ...lab.hosts.flatMap((h) => h.services.map((s) => ({ target: h.name, service: s.name, port: s.port, check: labServiceCheck(s) }))),
    ...lab.backupVms.flatMap((v) => v.services.map((s) => ({ target: v.name, service: s.name, port: s.port, check: labServiceCheck(s) }))),
    ...lab.vips.flatMap((v) => {
      const s = hostSvc(v.holder, v.service);
      return s ? [{ target: v.name, service: v.service, port: s.port, check: labServiceCheck(s) }] : [];
    }),
  ];
  return new LiveProber(new ServiceRegistry(targets, services));
}

/**
 * Real probes of a lab on a run's grid (k * interval from its epoch): power from each host's
 * supervisor (the lab's power controller), ping of hosts and running guests, request/reply of
 * every service and VIP. One `health.probe` event per object and round, at the round's start:
 * {light, level, probe, ok, detail, latencyMs} or {standby: true} for a guest that is not running.
 */
export class HealthProber {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private hv: LabHypervisor | null = null;
  private busy = false;
  private readonly prober: LiveProber;
  private readonly objects: HealthObject[];
  rounds = 0;

  /**
   * `isUp`: probes go out only while the lab is up (its bridge routes its subnet): a lab that is
   * down is not probed at all, so its lights go stale rather than sending packets to its subnet
   * through another route.
   */
  constructor(private readonly lab: Lab, private readonly epochUs: number, private readonly intervalUs: number, private readonly emit: (e: TraceLine) => void, private readonly isUp: () => boolean) {
    this.prober = labProber(lab);
    const timeoutUs = Math.max(100_000, Math.min(1_000_000, Math.floor(intervalUs / 2)));
    const o: HealthObject[] = [];
    for (const h of lab.hosts) {
      for (const s of h.services) o.push({ light: `svc:${h.name}/${s.name}`, level: 'Application', subject: `${h.name}/${s.name}`, probe: 'service', spec: { kind: 'service', target: h.name, service: s.name, timeoutUs } });
    }
    for (const v of lab.backupVms) {
      for (const s of v.services) o.push({ light: `svc:${v.name}/${s.name}`, level: 'Application', subject: `${v.name}/${s.name}`, probe: 'service', vm: v.name, spec: { kind: 'service', target: v.name, service: s.name, timeoutUs } });
    }
    for (const h of lab.hosts) o.push({ light: `net:${h.name}`, level: 'Network', subject: h.name, probe: 'network', spec: { kind: 'network', target: h.name, timeoutUs } });
    for (const v of lab.vips) o.push({ light: `vip:${v.name}`, level: 'Network', subject: v.name, probe: 'service', spec: { kind: 'service', target: v.name, service: v.service, timeoutUs } });
    for (const h of lab.hosts) o.push({ light: `phys:${h.name}`, level: 'Physical', subject: h.name, probe: 'power', host: h.name });
    for (const v of lab.backupVms) o.push({ light: `vm:${v.name}`, level: 'Server', subject: v.name, probe: 'network', vm: v.name, spec: { kind: 'network', target: v.name, timeoutUs } });
    this.objects = o;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.hv?.close().catch(() => undefined);
    this.hv = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = wallUs() - this.epochUs;
    const next = (Math.floor(Math.max(0, now) / this.intervalUs) + 1) * this.intervalUs;
    this.timer = setTimeout(() => void this.round(), Math.max(1, Math.ceil((next - now) / 1000)));
  }

  private async vmStates(): Promise<Map<string, string> | null> {
    try {
      this.hv ??= await LabHypervisor.open(this.lab);
      return new Map((await this.hv.list()).map((v) => [v.name, v.state]));
    } catch {
      return null;
    }
  }

  private async round(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    // A round that overran the interval is not doubled: the lights go stale instead.
    if (this.busy || !this.isUp()) return this.schedule();
    this.busy = true;
    const t = Math.max(0, wallUs() - this.epochUs);
    try {
      const states = await this.vmStates();
      const timeoutMs = Math.max(100, Math.min(1_000, Math.floor(this.intervalUs / 2000)));
      const results = await Promise.all(this.objects.map(async (o) => {
        const base = { light: o.light, level: o.level, probe: o.probe };
        if (o.vm !== undefined) {
          const st = states?.get(o.vm) ?? null;
          if (st !== 'running') return { subject: o.subject, data: { ...base, standby: true, ok: false, detail: st === null ? 'libvirt did not answer' : `guest ${st}` } };
        }
        const t0 = performance.now();
        try {
          if (o.probe === 'power') {
            const r = await control(powerSocket(this.lab, o.host!), { op: 'status' }, timeoutMs);
            const power = r.ok ? r.status?.power ?? 'unknown' : null;
            return { subject: o.subject, data: { ...base, ok: power === 'on', detail: power === null ? `supervisor: ${(r as { error?: string }).error ?? 'error'}` : `power ${power}`, latencyMs: round3(performance.now() - t0) } };
          }
          const r = await this.prober.probe(o.spec!);
          return { subject: o.subject, data: { ...base, ok: r.ok, detail: r.detail, latencyMs: round3(r.latencyUs / 1000) } };
        } catch (e) {
          return { subject: o.subject, data: { ...base, ok: false, detail: `no answer: ${(e as Error).message}`, latencyMs: round3(performance.now() - t0) } };
        }
      }));
      if (this.stopped) return;
      this.rounds++;
      for (const r of results) this.emit({ t, kind: 'health.probe', subject: r.subject, data: r.data });
    } finally {
      this.busy = false;
      this.schedule();
    }
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------- the lab ----------

/** Is the lab up: its state file, and every process it started (supervisors, etcd, client, ...) alive. */
export function labUpNow(lab: Lab, file: string): { up: boolean; detail: string } {
  const path = statePath(lab);
  if (!existsSync(path)) return { up: false, detail: `down: not built (no ${path}); \`hatwin lab up ${file}\`` };
  let st: { startedAt?: string; procs?: ProcRef[] };
  try {
    st = JSON.parse(readFileSync(path, 'utf8')) as typeof st;
  } catch (e) {
    return { up: false, detail: `down: its state file ${path} does not read (${(e as Error).message})` };
  }
  const procs = st.procs ?? [];
  const gone = procs.filter((p) => !isAlive(p));
  if (gone.length) return { up: false, detail: `down: ${gone.length} of ${procs.length} lab processes are gone (${gone.slice(0, 4).map((p) => `${p.what} pid ${p.pid}`).join(', ')}${gone.length > 4 ? ', ...' : ''})` };
  return { up: true, detail: `up since ${st.startedAt ?? '?'} (${procs.length} lab processes)` };
}

interface Followed {
  record: LiveRunRecord | null;
  run: Run;
  source: LiveSource;
  tail: LineTail | null;
  prober: HealthProber | null;
  /** Runs started by this server. */
  own: { abort: AbortController; faults: LiveFaultQueue; done: Promise<void> | null } | null;
  scenario: string;
}

export interface LabWatchOptions {
  labFile: string;
  outDir: string;
  runs: RunManager;
  /** A scenario id of the catalog to its file and scenario. */
  scenarioFile: (id: string) => string;
  log?: (line: string) => void;
  /** Agents of runs started here serve Prometheus metrics on this port (their lab addresses). */
  agentMetricsPort?: number;
}

/** The lab a `hatwin serve --lab` follows. */
export class LabWatch {
  readonly lab: Lab;
  readonly file: string;
  private upState: { up: boolean; detail: string; checkedAt: string };
  private readonly followed = new Map<string, Followed>();
  private watchTimer: ReturnType<typeof setInterval> | null = null;
  private tailTimer: ReturnType<typeof setInterval> | null = null;
  private starting: Followed | null = null;
  private readonly log: (line: string) => void;

  constructor(private readonly o: LabWatchOptions) {
    this.file = resolve(o.labFile);
    this.lab = loadLab(this.file);
    this.log = o.log ?? (() => undefined);
    this.upState = { ...labUpNow(this.lab, o.labFile), checkedAt: new Date().toISOString() };
  }

  start(): void {
    this.log(`lab ${this.lab.name} (${this.o.labFile}): ${this.upState.detail}`);
    this.watch();
    this.watchTimer = setInterval(() => this.watch(), WATCH_MS);
    this.tailTimer = setInterval(() => this.tail(), TAIL_MS);
    this.watchTimer.unref();
    this.tailTimer.unref();
  }

  get up(): boolean {
    return this.upState.up;
  }

  info(): LabInfo {
    const records = listLiveRuns(this.lab);
    const runs: LabRun[] = records.map((r) => {
      const f = this.followed.get(r.runId);
      return {
        runId: r.runId, scenario: r.scenario, state: r.state, startedAt: r.startedAt, endedAt: r.endedAt ?? null, error: r.error ?? null,
        traceFile: r.traceFile, webRun: f?.run.id ?? null, startedBy: f?.own || r.proc.pid === process.pid ? 'page' : 'cli',
      };
    });
    return {
      name: this.lab.name, file: this.o.labFile, up: this.upState.up, detail: this.upState.detail, checkedAt: this.upState.checkedAt,
      hosts: this.lab.hosts.map((h) => h.name), vms: this.lab.backupVms.map((v) => v.name), faults: [...FAULTS], runs,
    };
  }

  /** Looks at the lab and its runs: follows every running one not followed yet, ends those that ended. */
  private watch(): void {
    const was = this.upState.up;
    this.upState = { ...labUpNow(this.lab, this.o.labFile), checkedAt: new Date().toISOString() };
    if (was !== this.upState.up) this.log(`lab ${this.lab.name}: ${this.upState.detail}`);
    let records: LiveRunRecord[];
    try {
      records = listLiveRuns(this.lab);
    } catch {
      return;
    }
    for (const r of records) {
      const f = this.followed.get(r.runId);
      if (!f) {
        if (r.state === 'running' && r.proc.pid !== process.pid) this.followCli(r);
        continue;
      }
      f.record = r;
      if (f.own) continue; // its end comes from runLive itself
      if (r.state !== 'running') {
        this.tailOne(f);
        f.prober?.stop();
        f.source.finish(r.state === 'error'
          ? { state: 'error', summary: `the live run failed: ${firstLine(r.error ?? 'unknown error')}`, detail: r.error ?? null }
          : { state: r.state, summary: r.state === 'stopped' ? 'stopped before its end (hatwin live was interrupted)' : null, detail: null });
        f.run.poke();
      }
    }
  }

  private tail(): void {
    for (const f of this.followed.values()) if (!f.source.finished) this.tailOne(f);
  }

  private tailOne(f: Followed): void {
    if (!f.tail) return;
    let lines: string[];
    try {
      lines = f.tail.lines();
    } catch {
      return;
    }
    for (const line of lines) {
      try {
        const e = JSON.parse(line) as TraceLine;
        if (typeof e.t === 'number' && typeof e.kind === 'string' && typeof e.subject === 'string') f.source.offer(e);
      } catch {
        // a line being written: the final trace has it
      }
    }
  }

  private topologyFor(scenarioFile: string, untilUs: number): Topology {
    const s = readScenario(scenarioFile);
    const t = topologyOf(s, untilUs);
    // The lab's addresses, the scenario's names (checked to be the lab's).
    for (const v of t.vips) v.address = this.lab.vips.find((x) => x.name === v.name)?.address ?? v.address;
    return { ...t, lights: 'probes' };
  }

  private liveRef(r: LiveRunRecord, startedBy: 'page' | 'cli'): LiveRunRef {
    return { runId: r.runId, lab: r.lab, epochUs: r.epochUs, startedBy, pid: r.proc.pid, traceFile: r.traceFile };
  }

  /** Follows a run that `hatwin live` started (another process): through its partial trace. */
  private followCli(r: LiveRunRecord): void {
    let topology: Topology | null = null;
    try {
      topology = this.topologyFor(r.scenarioFile, r.untilUs);
    } catch (e) {
      this.log(`live run ${r.runId}: scenario ${r.scenarioFile} does not read (${(e as Error).message}); following it without a topology`);
    }
    const source = new LiveSource(r.epochUs);
    let run: Run;
    try {
      run = this.o.runs.startLive(source, {
        scenario: r.scenario, seed: null, speed: 1, untilUs: r.untilUs, topology, live: this.liveRef(r, 'cli'),
        onDone: (x) => this.pointAtTrace(x, r.traceFile),
      });
    } catch (e) {
      this.log(`live run ${r.runId}: not followed: ${(e as Error).message}`);
      return;
    }
    const f: Followed = { record: r, run, source, tail: new LineTail(r.partialFile), prober: null, own: null, scenario: r.scenario };
    this.followed.set(r.runId, f);
    this.startProber(f, r.epochUs, topology);
    this.log(`following live run ${r.runId} (${r.scenario}, hatwin live pid ${r.proc.pid}) as web run ${run.id}`);
  }

  private startProber(f: Followed, epochUs: number, topology: Topology | null): void {
    const prober = new HealthProber(this.lab, epochUs, topology?.probeIntervalUs ?? 2_000_000, (e) => f.source.offer(e), () => this.upState.up);
    f.prober = prober;
    prober.start();
  }

  private pointAtTrace(run: Run, traceFile: string): void {
    if (!existsSync(traceFile)) return;
    const rel = relative(resolve(this.o.outDir), traceFile);
    run.traceFile = !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : traceFile;
  }

  /** The running live run of this lab, if any (one at a time: runs reset the lab's world). */
  private active(): string | null {
    if (this.starting && !this.starting.source.finished) return this.starting.run.id;
    for (const r of listLiveRuns(this.lab)) if (r.state === 'running') return r.runId;
    return null;
  }

  /** Starts a live run of a scenario of the catalog on the lab (runLive in this process). */
  startRun(scenarioId: string): Run {
    if (!this.upState.up) {
      this.upState = { ...labUpNow(this.lab, this.o.labFile), checkedAt: new Date().toISOString() };
      if (!this.upState.up) throw new RunError(409, `lab ${this.lab.name} is ${this.upState.detail}`);
    }
    const busy = this.active();
    if (busy) throw new RunError(409, `lab ${this.lab.name} already runs live run ${busy}: stop it first (one live run at a time: a run resets the lab's world)`);
    const scenarioFile = this.o.scenarioFile(scenarioId);
    const scenario = readScenario(scenarioFile);
    try {
      checkScenarioAgainstLab(this.lab, scenario, scenarioFile);
    } catch (e) {
      throw new RunError(400, `scenario "${scenarioId}" cannot run live on lab ${this.lab.name}: ${(e as Error).message}`);
    }
    const untilUs = scenario.until ?? DEFAULT_UNTIL_US;
    const topology = this.topologyFor(scenarioFile, untilUs);
    const source = new LiveSource(null);
    const abort = new AbortController();
    const faults = new LiveFaultQueue();
    const dir = join(this.o.outDir, 'web-live');
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const traceFile = join(dir, `${scenarioId.replace(/[^A-Za-z0-9_.-]+/g, '-')}-${stamp}.ndjson`);
    const run = this.o.runs.startLive(source, {
      scenario: scenarioId, seed: null, speed: 1, untilUs, topology,
      live: { runId: '(starting)', lab: this.lab.name, epochUs: 0, startedBy: 'page', pid: process.pid, traceFile },
      onDone: (x) => this.pointAtTrace(x, traceFile),
    });
    const f: Followed = { record: null, run, source, tail: null, prober: null, own: { abort, faults, done: null }, scenario: scenarioId };
    this.starting = f;
    this.log(`live run of ${scenarioId} on lab ${this.lab.name} (web run ${run.id}): resetting the lab`);
    f.own!.done = runLive({
      labFile: this.file, scenarioFile, traceFile, signal: abort.signal, faults, agentMetricsPort: this.o.agentMetricsPort,
      log: (m) => this.log(`[live ${run.id}] ${m}`),
      onEvent: (e) => source.offer(e),
      onStart: (r) => {
        f.record = r;
        source.start(r.epochUs);
        run.opts.live = this.liveRef(r, 'page');
        this.followed.set(r.runId, f);
        this.startProber(f, r.epochUs, topology);
      },
    }).then(() => {
      source.finish(abort.signal.aborted ? { state: 'stopped', summary: 'stopped from the page before its end', detail: null } : { state: 'done', summary: null, detail: null });
    }, (e: unknown) => {
      const msg = (e as Error)?.message ?? String(e);
      this.log(`[live ${run.id}] failed: ${msg}`);
      source.finish({ state: 'error', summary: `the live run failed at ${fmtTime(source.runNowUs())}: ${firstLine(msg)}`, detail: msg });
    }).finally(() => {
      f.prober?.stop();
      if (this.starting === f) this.starting = null;
      run.poke();
    });
    return run;
  }

  private followedBy(run: Run): Followed | undefined {
    for (const f of this.followed.values()) if (f.run === run) return f;
    return this.starting?.run === run ? this.starting : undefined;
  }

  /** Stops a live run started from the page (runLive's AbortSignal: agents ended, trace written). */
  stopRun(run: Run): void {
    const f = this.followedBy(run);
    if (!f) throw new RunError(409, `run ${run.id} is not a live run of lab ${this.lab.name}`);
    if (f.source.finished) throw new RunError(409, `run ${run.id} has ended`);
    if (!f.own) throw new RunError(409, `run ${run.id} was started by \`hatwin live\` (pid ${f.record?.proc.pid ?? '?'}): stop it there (Ctrl-C)`);
    f.own.abort.abort();
  }

  /** Injects a lab fault into a live run: through the run's own loop (started here), else directly. */
  async injectFault(run: Run, target: string, fault: LabFault, opts: { service?: string; peer?: string }): Promise<{ atUs: number; message: string }> {
    const f = this.followedBy(run);
    if (!f) throw new RunError(409, `run ${run.id} is not a live run of lab ${this.lab.name}`);
    if (f.source.finished || f.source.epochUs === null) throw new RunError(409, `run ${run.id} ${f.source.finished ? 'has ended' : 'is still starting (the lab is being reset)'}: no fault now`);
    if (f.own) {
      const r = await f.own.faults.inject(target, fault, opts);
      run.poke();
      return r;
    }
    const atUs = f.source.runNowUs();
    f.source.offer({ t: atUs, kind: 'fault', subject: target, data: { fault, ...opts, injected: true } });
    const message = await labFault(this.lab, target, fault, opts);
    return { atUs, message };
  }

  /** Stops watching; live runs started here are stopped (their agents ended, their traces written), waited for up to `waitMs`. */
  async close(waitMs = 30_000): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    if (this.tailTimer) clearInterval(this.tailTimer);
    const waits: Array<Promise<void>> = [];
    for (const f of new Set([...this.followed.values(), ...(this.starting ? [this.starting] : [])])) {
      f.prober?.stop();
      if (f.own) {
        f.own.abort.abort();
        if (f.own.done) waits.push(f.own.done);
      }
    }
    if (waits.length) await Promise.race([Promise.allSettled(waits), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }
}

function firstLine(s: string): string {
  const l = s.split('\n')[0];
  return l.length > 160 ? `${l.slice(0, 157)}...` : l;
}
