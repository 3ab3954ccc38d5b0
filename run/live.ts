// `hatwin live LAB.yaml --scenario S.yaml --trace out.ndjson`: one scenario against the mini-lab.
// With the lab up: runs the administrator's set-up programs of the scenario's policies (P2P's
// `initialise` writes the management files) against a fresh etcd prefix, starts one `hatwin agent`
// inside the namespace of every host on which a policy places programs (and again whenever that
// host powers on, as a boot would), injects the scenario's faults at their times
// through the lab's fault mechanism, records what the lab observes (power, guest states, the
// client's access log, VIP holders) and merges it with the agents' traces by time into one NDJSON
// trace in the sim schema (t: µs since the run's epoch, which is time 0 of every agent too).
import { appendFileSync, copyFileSync, rmSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, readSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { ndjsonLine, parseNdjson, toNdjson } from '../trace/ndjson.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import type { TraceEvent } from '../engine/ports/index.ts';
import { ADMIN, type Program } from '../policies/manifest.ts';
import { checkPoliciesOn, programsOf } from './policies.ts';
import { siteFromLab } from './site.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { buildSimulation, readScenario } from './sim.ts';
import { EtcdStore } from '../adapters/etcd/store.ts';
import { parseAccessLog } from '../adapters/lab/accesslog.ts';
import { runPrefix } from '../adapters/lab/agent-config.ts';
import { LabClockScheduler, wallUs } from './agent.ts';
import { eventsPath } from '../adapters/lab/events.ts';
import { IdempotentGuestVipDriver } from '../adapters/lab/agent-config.ts';
import { guestMemUsedMb, setGuestBallast } from '../adapters/lab/guest-vip.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { FAULTS, labFault, labPower, labRestore, type FaultOptions, type LabFault } from '../adapters/lab/lab.ts';
import { accessLogPath, bootRecord, clientPausePath, depotImage, hostNs, NS_IF, powerSocket, statePath } from '../adapters/lab/names.ts';
import { controlOk } from '../adapters/lab/control.ts';
import { endProcesses, isAlive, procRef, type ProcRef } from '../adapters/lab/proc.ts';
import { run } from '../adapters/lab/run.ts';
import { loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Scenario faults the lab can inject (the rest need a model the lab does not have). */
const LIVE_FAULTS: Record<string, LabFault> = {
  St1: 'St1', St2: 'St2', Nt1: 'Nt1', Nt2: 'Nt2', pause: 'pause', 'link-down': 'link-down',
  // The sim restarts and shuts a host down as it does for Nt1 and Nt2: the lab's power button.
  'host-restart': 'Nt1', 'host-shutdown': 'Nt2',
};
/** Faults the run carries out itself: a partition (drop rules on each side) and a guest's crash (libvirt destroy). */
const OTHER_LIVE_FAULTS = ['partition', 'vm-crash'];

/**
 * A partition as drop rules: for a -> b, every host of b drops what comes from each member of a
 * (both ways unless oneWay). Members may be hosts, guests, the client or etcd; rules go into hosts.
 */
function partitionRules(lab: Lab, f: { a: string[]; b: string[]; oneWay: boolean }): Array<{ host: string; peer: string }> {
  const isHost = (n: string) => lab.hosts.some((h) => h.name === n);
  const out: Array<{ host: string; peer: string }> = [];
  for (const x of f.a) for (const y of f.b) {
    if (isHost(y)) out.push({ host: y, peer: x });
    if (!f.oneWay && isHost(x)) out.push({ host: x, peer: y });
  }
  return out;
}

/**
 * The lab fault for a scenario fault. St2 (a hung daemon) on a host *process* (a daemon with no
 * service port, such as a director's keepalived) is a SIGKILL of it and its children: the model's
 * hung keepalived halts like a killed one (no more adverts, the VIP left where it is), and a
 * process has no request/reply check that a freeze would be seen by.
 */
export function liveFaultOf(lab: Lab, f: { kind: string; target?: string; service?: string }): LabFault {
  const h = lab.hosts.find((x) => x.name === f.target);
  if (f.kind === 'St2' && h && f.service !== undefined && h.processes.some((p) => p.name === f.service)) return 'kill';
  return LIVE_FAULTS[f.kind];
}

/** Lifts a scenario fault at the end of its `duration`, as the sim does (pause and link-down; a stopped service stays stopped). */
async function endLiveFault(lab: Lab, fault: LabFault, target: string): Promise<string> {
  if (fault !== 'pause' && fault !== 'link-down' && fault !== 'partition-oneway') throw new Error(`fault ${fault} with a duration cannot be lifted in the mini-lab`);
  return labFault(lab, target, 'heal');
}

export interface LiveOptions {
  labFile: string;
  scenarioFile: string;
  traceFile: string;
  /** Wall time to run (default: the scenario's `until`). */
  untilUs?: number;
  log?: (msg: string) => void;
  /** Where the agents' own traces and logs go (default: beside the trace). */
  workDir?: string;
  /** Ends the run early (Ctrl-C): agents are still ended and the trace written. */
  signal?: AbortSignal;
  /**
   * Every event as it is recorded (the lab's observations, and the agents' trace lines as they
   * are written), in arrival order: times may go back by up to a few seconds (the access log and
   * the agents' files are read every ~250 ms). The final trace is these, sorted by time.
   */
  onEvent?: (e: TraceEvent) => void;
  /** Called once the run has its id and epoch (before the agents start). */
  onStart?: (r: LiveRunRecord) => void;
  /** Faults injected while the run goes (the web view's): recorded as `fault` events like the scenario's. */
  faults?: LiveFaultQueue;
  /** Start every agent with `--metrics-port` (Prometheus metrics on its lab address). */
  agentMetricsPort?: number;
  /**
   * Room for a slow machine: at `until` the run goes on (up to `maxUs` more) while `settled`
   * says the events so far (the run's, in arrival order) have not reached the end the scenario
   * leads to (conform: the sim's; see settledLike). Without it the run ends at `until`.
   */
  overtime?: { maxUs: number; settled: (events: readonly TraceEvent[]) => boolean };
}

/**
 * What `hatwin live` publishes about a run while it goes, in the lab's `live-runs/<runId>.json`
 * (beside its logs, `out/lab/NAME/live-runs/`): the web view lists these and follows a running
 * one through its partial trace, `<trace>.partial.ndjson`, which grows by one line per event in
 * arrival order (see LiveOptions.onEvent); the final trace is written, sorted, at the end.
 */
export interface LiveRunRecord {
  runId: string;
  lab: string;
  labFile: string;
  scenario: string;
  scenarioFile: string;
  traceFile: string;
  partialFile: string;
  epochUs: number;
  untilUs: number;
  /** The `hatwin live` (or `hatwin serve`) process running it. */
  proc: ProcRef;
  startedAt: string;
  state: 'running' | 'done' | 'stopped' | 'error';
  endedAt?: string;
  events?: number;
  error?: string;
}

/** Where a lab's live runs are listed: `<logDir>/../live-runs/` (out/lab/NAME/live-runs). */
export const liveRunsDir = (lab: Pick<Lab, 'logDir'>): string => join(lab.logDir, '..', 'live-runs');

/** `x.ndjson` -> `x.partial.ndjson`. */
export const partialTraceOf = (traceFile: string): string => `${traceFile.replace(/\.ndjson$/, '')}.partial.ndjson`;

/** The lab's live runs, newest first; a `running` one whose process is gone is told as `error`. */
export function listLiveRuns(lab: Pick<Lab, 'logDir'>): LiveRunRecord[] {
  const dir = liveRunsDir(lab);
  if (!existsSync(dir)) return [];
  const out: LiveRunRecord[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as LiveRunRecord;
      if (typeof r.runId !== 'string' || typeof r.epochUs !== 'number') continue;
      if (r.state === 'running' && !isAlive(r.proc)) Object.assign(r, { state: 'error', error: `its process (pid ${r.proc.pid}) is gone` });
      out.push(r);
    } catch {
      // being written, or not ours
    }
  }
  return out.sort((a, b) => b.epochUs - a.epochUs);
}

function writeRecord(lab: Lab, r: LiveRunRecord): void {
  const dir = liveRunsDir(lab);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${r.runId}.json.tmp-${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(tmp, join(dir, `${r.runId}.json`));
}

/** Faults the lab can inject (adapters/lab labFault) while a run goes: St1, St2, Nt1, Nt2, pause, link-down, partition-oneway, heal. */
export const LIVE_FAULT_KINDS: readonly LabFault[] = FAULTS;

interface QueuedFault {
  target: string;
  fault: LabFault;
  opts: FaultOptions;
  resolve: (r: { atUs: number; message: string }) => void;
  reject: (e: Error) => void;
}

/**
 * Faults handed to a running `runLive` (LiveOptions.faults): each is injected by the run's loop
 * at its next turn (within ~0.3 s), recorded as a `fault` event at the time it was injected, and
 * resolves with that time (µs since the run's epoch) and the lab's answer.
 */
export class LiveFaultQueue {
  private readonly queue: QueuedFault[] = [];
  private wake: (() => void) | null = null;
  private closed: string | null = null;

  inject(target: string, fault: LabFault, opts: FaultOptions = {}): Promise<{ atUs: number; message: string }> {
    if (this.closed !== null) return Promise.reject(new Error(this.closed));
    if (!(FAULTS as readonly string[]).includes(fault)) return Promise.reject(new Error(`unknown lab fault "${fault}" (known: ${FAULTS.join(', ')})`));
    return new Promise((resolve, reject) => {
      this.queue.push({ target, fault, opts, resolve, reject });
      this.wake?.();
    });
  }

  /** @internal the run's loop */
  take(): QueuedFault[] {
    return this.queue.splice(0, this.queue.length);
  }

  /** @internal resolves when a fault is queued or after `ms` */
  waitFor(ms: number): Promise<void> {
    if (this.queue.length) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** @internal the run ended: later faults are refused, queued ones rejected */
  close(why: string): void {
    this.closed = why;
    for (const q of this.take()) q.reject(new Error(why));
  }
}

export interface LiveResult {
  events: TraceEvent[];
  epochUs: number;
  runId: string;
  traceFile: string;
}

/** Lines appended to a file since the last read (for logs that other processes write). */
class Tail {
  private pos = 0;
  private rest = '';
  constructor(private readonly path: string, fromEnd: boolean) {
    if (fromEnd && existsSync(path)) this.pos = statSync(path).size;
  }

  lines(): string[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    if (size < this.pos) this.pos = 0; // truncated (a new lab up)
    if (size === this.pos) return [];
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(size - this.pos);
      readSync(fd, buf, 0, buf.length, this.pos);
      this.pos = size;
      const text = this.rest + buf.toString('utf8');
      const parts = text.split('\n');
      this.rest = parts.pop() ?? '';
      return parts.filter(Boolean);
    } finally {
      closeSync(fd);
    }
  }
}

/** The scenario's programs on the lab, checked: every policy block against the lab's site. */
export function livePrograms(lab: Lab, s: Scenario, file: string): Program[] {
  const site = siteFromLab(lab, s);
  const problems = checkPoliciesOn(s.policies, site);
  if (problems.length) throw new Error(`${file} on lab "${lab.name}": ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  if (s.policies.length === 0) throw new Error(`${file}: no policy to run`);
  const programs = programsOf(s.policies, site);
  for (const p of programs) {
    if (p.agent !== ADMIN && !lab.hosts.some((h) => h.name === p.agent)) throw new Error(`${file}: program ${p.name} runs on "${p.agent}", not a host of lab "${lab.name}"`);
  }
  return programs;
}

/** Hosts that run an agent: those on which a policy places programs. */
export const agentHosts = (programs: readonly Program[]): string[] => [...new Set(programs.filter((p) => p.agent !== ADMIN).map((p) => p.agent))];

/** Checks that the scenario names only what the lab has, before anything runs. */
export function checkScenarioAgainstLab(lab: Lab, s: Scenario, file: string): void {
  livePrograms(lab, s, file);
  for (const f of s.faults) {
    if (!(f.kind in LIVE_FAULTS) && !OTHER_LIVE_FAULTS.includes(f.kind)) throw new Error(`${file}: fault ${f.kind} cannot be injected in the mini-lab (live faults: ${[...Object.keys(LIVE_FAULTS), ...OTHER_LIVE_FAULTS].join(', ')})`);
    if (typeof f.at !== 'number') throw new Error(`${file}: live faults need a fixed time (at: 20s), not a distribution`);
    if (f.kind === 'partition') {
      const known = new Set([...lab.hosts.map((h) => h.name), ...lab.backupVms.map((v) => v.name), lab.client.name, lab.etcd.name]);
      for (const n of [...f.a, ...f.b]) if (!known.has(n)) throw new Error(`${file}: partition names "${n}", not a host, guest, the client or etcd of lab "${lab.name}"`);
      if (partitionRules(lab, f).length === 0) throw new Error(`${file}: partition ${f.a.join(',')} | ${f.b.join(',')}: no lab host on a receiving side to put a drop rule in`);
      continue;
    }
    if (f.kind === 'vm-crash') {
      if (!lab.backupVms.some((v) => v.name === f.target)) throw new Error(`${file}: fault vm-crash targets "${f.target}", not a guest of lab "${lab.name}"`);
      continue;
    }
    if (!('target' in f) || !lab.hosts.some((h) => h.name === f.target)) throw new Error(`${file}: fault ${f.kind} targets "${'target' in f ? f.target : '?'}", not a host of lab "${lab.name}"`);
    if (f.duration !== undefined && !['pause', 'link-down'].includes(f.kind)) throw new Error(`${file}: fault ${f.kind} with a duration: only pause, link-down and partition end after one (as in the sim)`);
  }
  for (const h of s.churn?.hosts ?? []) if (!lab.hosts.some((x) => x.name === h)) throw new Error(`${file}: churn switches "${h}", not a host of lab "${lab.name}"`);
  for (const c of s.clients) if (!lab.vips.some((v) => v.name === c.vip)) throw new Error(`${file}: client ${c.name} accesses ${c.vip}, which lab "${lab.name}" does not have`);
}

/** Runs the administrator's set-up programs (ADMIN) against the run's etcd prefix, to the end. */
async function runAdminPrograms(lab: Lab, programs: readonly Program[], runId: string, epochUs: number): Promise<void> {
  const admin = programs.filter((p) => p.agent === ADMIN);
  if (admin.length === 0) return;
  const store = new EtcdStore({ hosts: [`http://${lab.etcd.address}:${lab.etcd.clientPort}`], prefix: runPrefix(lab, runId) });
  const sched = new LabClockScheduler(epochUs);
  try {
    // A failing set-up program is reported below from its result (resultOf), with its error;
    // without this the runtime would throw it from the scheduler's timer, out of any caller.
    const rt = new Runtime({ scheduler: sched, ports: () => ({ store }), watchMode: 'naive', onUnjoinedFailure: () => undefined });
    for (const p of admin) {
      const pid = rt.start(p.name, p.body(), ADMIN);
      const deadline = Date.now() + 15_000;
      while (rt.resultOf(pid) === undefined) {
        if (Date.now() > deadline) throw new Error(`${p.name}: etcd at ${lab.etcd.address}:${lab.etcd.clientPort} did not answer within 15 s`);
        await sleep(20);
      }
      const r = rt.resultOf(pid)!;
      if (r.status !== 'done') throw new Error(`${p.name} failed: ${String((r as { error?: unknown }).error)}`);
    }
  } finally {
    sched.close();
    store.close();
  }
}

/** A lab host's IPv4 addresses on its lab interface, as `ip -o addr show` prints them ('' if it does not answer). */
async function hostAddrText(lab: Lab, host: string, timeoutMs?: number): Promise<string> {
  return (await run(['ip', '-n', hostNs(lab, host), '-4', '-o', 'addr', 'show', 'dev', NS_IF], { allowFail: true, ...(timeoutMs !== undefined ? { timeoutMs } : {}) })).stdout;
}

/** Does `ip -o addr show` text list this address? */
const hasAddress = (text: string, address: string): boolean => text.includes(` ${address}/`);

/** VIP holders as the machines say: host addresses by `ip`, guests through their agent when running. */
export async function observeHolders(lab: Lab, hv: LabHypervisor, drivers: Map<string, IdempotentGuestVipDriver>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = Object.fromEntries(lab.vips.map((v) => [v.name, [] as string[]]));
  await Promise.all(lab.hosts.map(async (h) => {
    const text = await hostAddrText(lab, h.name, 2_000);
    for (const v of lab.vips) if (hasAddress(text, v.address)) out[v.name].push(h.name);
  }));
  const running = (await hv.list()).filter((v) => v.state === 'running');
  await Promise.all(running.map(async (vm) => {
    const have = await drivers.get(vm.name)!.addresses().catch(() => [] as string[]);
    for (const v of lab.vips) if (have.includes(v.address)) out[v.name].push(vm.name);
  }));
  return out;
}

/**
 * The holders of a VIP that a sweep saw on more than one, asked again: those that still hold it.
 * A sweep asks every host and guest at once and their answers come back over a few tenths of a
 * second, so a move under way (off one guest, onto another) can be seen on both: the old holder
 * answered before its removal returned, the new one after its add. Asked again, a move is over and
 * shows one holder; two holders that stay are two holders.
 */
export async function confirmHolders(lab: Lab, drivers: Map<string, IdempotentGuestVipDriver>, vip: string, seen: readonly string[]): Promise<string[]> {
  const address = lab.vips.find((v) => v.name === vip)!.address;
  const still = await Promise.all(seen.map(async (who) => {
    const driver = drivers.get(who);
    if (driver) return (await driver.addresses().catch(() => [] as string[])).includes(address);
    return hasAddress(await hostAddrText(lab, who, 2_000), address);
  }));
  return seen.filter((_, i) => still[i]);
}

/**
 * A host's uptime at the run's epoch (s, to the ms), from its boot record (epoch ms of its last
 * boot, as the lab's power supervisor writes it); null when there is none (the host is off) or it
 * is unreadable. A boot after the epoch counts as 0.
 */
export function uptimeAtEpochS(bootFile: string, epochUs: number): number | null {
  let text: string;
  try {
    text = readFileSync(bootFile, 'utf8');
  } catch {
    return null;
  }
  const at = Number(text.trim());
  if (!Number.isFinite(at) || at <= 0) return null;
  return Math.max(0, Math.round(epochUs / 1000 - at)) / 1000;
}

/**
 * Puts the lab back to its initial state between runs: every host on, running guests without
 * VIPs and suspended (as the papers keep them), each VIP on its holder host and announced.
 */
export async function resetLabWorld(lab: Lab, hv: LabHypervisor, drivers: Map<string, IdempotentGuestVipDriver>, log: (m: string) => void): Promise<void> {
  // Hosts an earlier run left suspended are woken (their guests resume with them).
  const suspended: string[] = [];
  for (const h of lab.hosts) {
    const st = (await controlOk(powerSocket(lab, h.name), { op: 'status' })).status!;
    if (st.power === 'suspended') {
      await labPower(lab, h.name, 'on');
      suspended.push(h.name);
    }
  }
  for (const h of suspended) {
    const by = Date.now() + 30_000;
    while ((await controlOk(powerSocket(lab, h), { op: 'status' })).status!.power !== 'on') {
      if (Date.now() > by) throw new Error(`reset: ${h} did not resume within 30 s`);
      await sleep(200);
    }
    log(`reset: ${h} resumed`);
  }
  // Faults of the last run lifted, stopped daemons started, VRRP VIPs back on their masters.
  await labRestore(lab, log);
  // Guests as the lab starts them: virtual servers (start: running) running with their own VIPs
  // only; spares and backups without VIPs and suspended. VIPs come off first, then go on.
  const own = (vm: string) => lab.vips.filter((v) => v.holder === vm).map((v) => v.address);
  const running: string[] = [];
  for (const vm of await hv.list()) {
    const spec = lab.backupVms.find((v) => v.name === vm.name);
    if (vm.state === 'stopped') {
      // A virtual server an earlier run crashed (and did not bring back): booted again.
      if (spec?.start === 'running' && spec.image !== 'depot') {
        await hv.start(vm.name, spec.on ?? lab.hosts[0].name);
        running.push(vm.name);
        log(`reset: ${vm.name} booted again`);
      }
      continue;
    }
    // A Navigator container of the last run: gone, as its pilot is.
    if (spec?.image === 'depot') {
      await hv.destroy(vm.name);
      log(`reset: container ${vm.name} destroyed`);
      continue;
    }
    const keep = spec?.start === 'running';
    if (vm.state !== 'running') {
      if (!keep) continue;
      await hv.resume(vm.name, spec!.on ?? lab.hosts[0].name);
      log(`reset: ${vm.name} running again`);
    }
    const have = await drivers.get(vm.name)!.addresses().catch(() => [] as string[]);
    for (const v of lab.vips) if (have.includes(v.address) && !(keep && own(vm.name).includes(v.address))) await drivers.get(vm.name)!.remove(v.address);
    if (keep) {
      running.push(vm.name);
      continue;
    }
    await hv.suspend(vm.name);
    log(`reset: ${vm.name} suspended`);
  }
  for (const vm of running) {
    const have = await drivers.get(vm)!.addresses().catch(() => [] as string[]);
    for (const a of own(vm)) {
      if (have.includes(a)) continue;
      // A guest booted just now answers through its agent a few seconds later.
      const by = Date.now() + 60_000;
      for (;;) {
        try {
          await drivers.get(vm)!.add(a);
          break;
        } catch (e) {
          if (Date.now() > by) throw e;
          await sleep(1_000);
        }
      }
      log(`reset: ${lab.vips.find((v) => v.address === a)!.name} back on ${vm}`);
    }
  }
  const poweredOn: string[] = [];
  for (const h of lab.hosts) {
    const r = await run(['ip', '-n', hostNs(lab, h.name), '-o', 'link', 'show', 'dev', NS_IF], { allowFail: true });
    if (!/[<,]UP[,>]/.test(r.stdout)) {
      log(`reset: ${h.name} is off: powering it on`);
      await labPower(lab, h.name, 'on');
      poweredOn.push(h.name);
    }
  }
  // A host powered on here boots (its boot delay) before its address is there: the run's agents
  // listen on it, so the reset ends only once every such host is up.
  for (const name of poweredOn) await hostUp(lab, name, RESET_BOOT_MS, `reset: ${name} did not come up`);
  for (const v of lab.vips) {
    const holder = lab.hosts.find((h) => h.name === v.holder);
    if (!holder || v.managedBy !== 'lab') continue;
    const ns = hostNs(lab, holder.name);
    await hostUp(lab, holder.name, 30_000, `reset: ${holder.name} did not come up`);
    if (!hasAddress(await hostAddrText(lab, holder.name), v.address)) {
      await run(['ip', '-n', ns, 'addr', 'add', `${v.address}/${lab.cidr.prefix}`, 'dev', NS_IF]);
      await run(['ip', 'netns', 'exec', ns, 'arping', '-q', '-U', '-c', '1', '-I', NS_IF, '-s', v.address, v.address], { allowFail: true, timeoutMs: 3_000 });
      log(`reset: ${v.name} back on ${holder.name}`);
    }
  }
}

/** How long a reset waits for a host it powered on (its boot delay on a loaded machine). */
const RESET_BOOT_MS = 60_000;

/** Waits until a host's lab address is on its interface (it has booted); throws `what` after `timeoutMs`. */
async function hostUp(lab: Lab, name: string, timeoutMs: number, what: string): Promise<void> {
  const host = lab.hosts.find((h) => h.name === name)!;
  const by = Date.now() + timeoutMs;
  for (;;) {
    if (hasAddress(await hostAddrText(lab, name), host.address)) return;
    if (Date.now() > by) throw new Error(`${what} within ${timeoutMs / 1000} s (no ${host.address} on ${NS_IF} in ${hostNs(lab, name)})`);
    await sleep(200);
  }
}

/** One user's power change of the scenario's churn. */
export interface ChurnChange { atUs: number; host: string; on: boolean }

/**
 * The scenario's churn (lab sessions, renewal periods or a replayed trace) as the sim schedules
 * it: the sim's run of the scenario, its `churn.power` events in time order. A live run switches
 * the lab's PCs by these, through their power port, so both worlds see the same schedule (and a
 * change the sim skipped, a PC already in that state, is skipped live too).
 */
export function churnSchedule(s: Scenario): ChurnChange[] {
  if (!s.churn) return [];
  if (s.until === undefined) throw new Error(`${s.name ?? 'scenario'}: churn needs \`until\` (how long to run)`);
  const sim = buildSimulation(s, { seed: s.seed ?? 1, watchMode: 'skip' });
  sim.run(s.until);
  return sim.events.filter((e) => e.kind === 'churn.power').map((e) => ({ atUs: e.t, host: e.subject, on: e.data?.on === true }));
}

/**
 * The PCs' Service Depots at the start of a run (Navigator): every depot emptied, and the
 * container image (the lab's guest initramfs) placed on the PC where each navigator policy of the
 * scenario starts, as its administrator would.
 */
export function seedDepots(lab: Lab, s: Scenario): string[] {
  if (!lab.backupVms.some((v) => v.image === 'depot')) return [];
  for (const h of lab.hosts) {
    rmSync(dirname(depotImage(lab, h.name)), { recursive: true, force: true });
    mkdirSync(dirname(depotImage(lab, h.name)), { recursive: true });
  }
  const image = join(REPO_DIR, 'out/guest/initramfs.gz');
  const seeded: string[] = [];
  for (const p of s.policies) {
    if (p.kind !== 'navigator') continue;
    const start = String(p.start);
    if (!existsSync(image)) throw new Error(`no container image ${image}: \`hatwin lab up\` builds it (scripts/guest/build.sh)`);
    copyFileSync(image, depotImage(lab, start));
    seeded.push(start);
  }
  return seeded;
}

/** Memory in use inside a VM at `tUs` by the scenario's `vmLoad` (the sim's sum of the windows that hold then), MB. */
export function vmLoadMemMb(s: Scenario, vm: string, tUs: number): number {
  let mb = 0;
  for (const l of s.vmLoad ?? []) if (l.vm === vm && l.start <= tUs && (l.end === undefined || tUs < l.end)) mb += l.memMb;
  return mb;
}

/** Client requests per second reaching a VM at `tUs` by the scenario's `vmLoad` (the sim's `accesses`), summed over the windows that hold then. */
export function vmLoadAccessesPerS(s: Scenario, vm: string, tUs: number): number {
  let n = 0;
  for (const l of s.vmLoad ?? []) if (l.vm === vm && l.start <= tUs && (l.end === undefined || tUs < l.end)) n += l.accessesPerS;
  return n;
}

/**
 * The balancer VIPs (lab VIPs with `members`) whose client accesses the scenario's `vmLoad`
 * drives: those whose member VIPs' holders (the scenario's, else the lab's) all have an
 * `accessesPerS` somewhere in it. The lab's client accesses such a VIP once per interval, its
 * balancer sending each access to the members in turn (`accessesPerS` = 1 / interval / members
 * for each holder, as the scenario should say), and leaves it alone while every holder's
 * `accessesPerS` is 0 (the sim's VMs then receive no request either).
 */
export function drivenClientVips(lab: Lab, s: Scenario): Array<{ vip: string; holders: string[] }> {
  const stated = new Set((s.vmLoad ?? []).filter((l) => l.accessesPerS > 0).map((l) => l.vm));
  const out: Array<{ vip: string; holders: string[] }> = [];
  for (const v of lab.vips) {
    if (!v.members?.length) continue;
    const holders = v.members.map((m) => s.vips.find((x) => x.name === m)?.holder ?? lab.vips.find((x) => x.name === m)?.holder ?? '');
    if (holders.every((h) => stated.has(h))) out.push({ vip: v.name, holders });
  }
  return out;
}

/** The driven balancer VIPs the client leaves alone at `tUs` (see drivenClientVips). */
export function clientPausedVips(driven: ReadonlyArray<{ vip: string; holders: string[] }>, s: Scenario, tUs: number): string[] {
  return driven.filter((d) => d.holders.every((h) => vmLoadAccessesPerS(s, h, tUs) === 0)).map((d) => d.vip);
}

/**
 * The scenario's client load on the balancer VIPs made real: the lab client's pause file
 * (clientPausePath) lists the driven VIPs no one accesses now; written when that changes, each
 * change a `lab.client` event. Emptied at the start and removed at the end of the run.
 */
class ClientAccessDriver {
  private readonly driven: Array<{ vip: string; holders: string[] }>;
  private last: string | null = null;

  constructor(private readonly lab: Lab, private readonly s: Scenario, private readonly record: (vip: string, data: Record<string, unknown>) => void) {
    this.driven = drivenClientVips(lab, s);
    rmSync(clientPausePath(lab), { force: true });
  }

  drive(tUs: number): void {
    if (this.driven.length === 0) return;
    const paused = clientPausedVips(this.driven, this.s, tUs);
    const key = paused.join('\n');
    if (key === this.last) return;
    writeFileSync(clientPausePath(this.lab), key ? `${key}\n` : '');
    for (const d of this.driven) {
      const was = this.last !== null && this.last.split('\n').includes(d.vip);
      const is = paused.includes(d.vip);
      if (this.last === null || was !== is) this.record(d.vip, { accessed: !is });
    }
    this.last = key;
  }

  close(): void {
    rmSync(clientPausePath(this.lab), { force: true });
  }
}

/**
 * The scenario's `vmLoad` memory made real inside the lab's guests: each guest's own use is
 * measured once, when it first runs in the run (what an earlier run wrote removed), and the difference to the scenario's memory is
 * written into it (setGuestBallast) whenever that changes. A paused guest is done when it runs.
 * CPU and network load are not driven (the guests' own are read).
 */
class GuestLoadDriver {
  private readonly own = new Map<string, number>();
  private readonly written = new Map<string, number>();
  private readonly vms: string[];

  constructor(private readonly lab: Lab, private readonly s: Scenario, private readonly record: (vm: string, data: Record<string, unknown>) => void) {
    this.vms = [...new Set((s.vmLoad ?? []).filter((l) => l.memMb > 0).map((l) => l.vm))].filter((vm) => lab.backupVms.some((g) => g.name === vm));
  }

  async drive(tUs: number, running: ReadonlySet<string>): Promise<void> {
    await Promise.all(this.vms.filter((vm) => running.has(vm)).map(async (vm) => {
      try {
        if (!this.own.has(vm)) {
          // What an earlier run wrote (a guest suspended since) goes first.
          await setGuestBallast(this.lab, vm, 0);
          this.own.set(vm, await guestMemUsedMb(this.lab, vm));
        }
        const target = vmLoadMemMb(this.s, vm, tUs);
        const mb = Math.max(0, Math.round(target - this.own.get(vm)!));
        if (this.written.get(vm) === mb) return;
        await setGuestBallast(this.lab, vm, mb);
        this.written.set(vm, mb);
        this.record(vm, { memMb: target, ownMb: Math.round(this.own.get(vm)! * 10) / 10, writtenMb: mb });
      } catch {
        // paused meanwhile, or its agent slow: the next turn tries again
      }
    }));
  }
}

/** How long agents may take to start on a loaded machine (measured 1.4-4.7 s at load 2-20). */
export const AGENT_READY_MS = 90_000;

/** The last lines of a file (an agent's log), for an error message. */
export function tailOf(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Waits until every agent has written `agent.start` to its trace. An agent that exits first (a
 * port its host's address still has bound, a bad lab file) fails the wait at once, and the error
 * carries the end of its log: a CI log then says why, not only that the time ran out.
 */
export async function agentsReady(hosts: string[], trace: (h: string) => string, logFile: (h: string) => string, proc: (h: string) => ProcRef | undefined, timeoutMs = AGENT_READY_MS): Promise<void> {
  const readyBy = Date.now() + timeoutMs;
  const started = (h: string) => existsSync(trace(h)) && readFileSync(trace(h), 'utf8').includes('"agent.start"');
  for (;;) {
    const waiting = hosts.filter((h) => !started(h));
    if (waiting.length === 0) return;
    const dead = waiting.filter((h) => {
      const ref = proc(h);
      return ref === undefined || !isAlive(ref);
    });
    if (dead.length) throw new Error(`agent${dead.length > 1 ? 's' : ''} ${dead.join(', ')} exited before starting:\n${dead.map((h) => `--- ${logFile(h)}\n${tailOf(logFile(h))}`).join('\n')}`);
    if (Date.now() > readyBy) throw new Error(`agent${waiting.length > 1 ? 's' : ''} ${waiting.join(', ')} not ready within ${timeoutMs / 1000} s:\n${waiting.map((h) => `--- ${logFile(h)}\n${tailOf(logFile(h))}`).join('\n')}`);
    await sleep(100);
  }
}

export async function runLive(o: LiveOptions): Promise<LiveResult> {
  const hooks: { ended?: (state: 'error', extra: Partial<LiveRunRecord>) => void } = {};
  try {
    return await runLiveOnce(o, hooks);
  } catch (e) {
    hooks.ended?.('error', { error: (e as Error)?.message ?? String(e) });
    throw e;
  }
}

async function runLiveOnce(o: LiveOptions, hooks: { ended?: (state: 'error', extra: Partial<LiveRunRecord>) => void }): Promise<LiveResult> {
  const log = o.log ?? (() => undefined);
  const lab = loadLab(o.labFile);
  const scenario = readScenario(o.scenarioFile);
  checkScenarioAgainstLab(lab, scenario, o.scenarioFile);
  if (!existsSync(statePath(lab))) throw new Error(`lab "${lab.name}" is not up (no ${statePath(lab)}): run \`hatwin lab up ${o.labFile}\` first`);
  const programs = livePrograms(lab, scenario, o.scenarioFile);
  const agents = agentHosts(programs);
  const untilUs = o.untilUs ?? scenario.until;
  if (untilUs === undefined) throw new Error(`${o.scenarioFile}: no \`until\`: how long to run`);

  const traceFile = resolve(o.traceFile);
  const workDir = resolve(o.workDir ?? join(dirname(traceFile), `${scenario.name ?? 'live'}.agents`));
  mkdirSync(workDir, { recursive: true });
  const runId = `r${Date.now().toString(36)}`;
  const world: TraceEvent[] = [];
  // Published as recorded: the partial trace (and onEvent). The final trace is written at the end.
  const partialFile = partialTraceOf(traceFile);
  let publishing = false;
  const seen: TraceEvent[] = [];
  const publish = (e: TraceEvent) => {
    if (!publishing) return;
    if (o.overtime) seen.push(e);
    try {
      appendFileSync(partialFile, ndjsonLine(e));
    } catch {
      // the partial trace is a convenience: the run goes on without it
    }
    o.onEvent?.(e);
  };
  const record = (e: TraceEvent) => {
    world.push(e);
    publish(e);
  };
  const agentsRunning = new Map<string, ProcRef>();
  const hv = await LabHypervisor.open(lab);
  const drivers = new Map(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name)]));
  const labEvents = new Tail(eventsPath(lab), true);
  const access = new Tail(accessLogPath(lab), true);

  await resetLabWorld(lab, hv, drivers, log);
  for (const h of seedDepots(lab, scenario)) log(`reset: container image in ${h}'s depot`);
  // PCs the scenario starts switched off (its users switch them on by the churn).
  for (const h of scenario.hosts) {
    if (h.state !== 'off' || !lab.hosts.some((x) => x.name === h.name)) continue;
    await labPower(lab, h.name, 'off');
    log(`reset: ${h.name} off, as the scenario starts it`);
  }
  const churn = churnSchedule(scenario).map((c) => ({ ...c, done: false }));
  if (churn.length) log(`churn: ${churn.length} power changes by the scenario's schedule`);
  const loadDriver = new GuestLoadDriver(lab, scenario, (vm, data) => record({ t: t(), kind: 'lab.load', subject: vm, data }));
  const clientDriver = new ClientAccessDriver(lab, scenario, (vip, data) => record({ t: t(), kind: 'lab.client', subject: vip, data }));
  // The epoch is set before the management files and agents: their start-up is part of the run.
  const epochUs = wallUs();
  const t = () => wallUs() - epochUs;
  const agentTrace = (h: string) => join(workDir, `agent-${h}.ndjson`);
  for (const h of agents) writeFileSync(agentTrace(h), '');
  mkdirSync(dirname(traceFile), { recursive: true });
  writeFileSync(partialFile, '');
  publishing = true;
  const runRecord: LiveRunRecord = {
    runId, lab: lab.name, labFile: resolve(o.labFile), scenario: scenario.name ?? o.scenarioFile, scenarioFile: resolve(o.scenarioFile),
    traceFile, partialFile, epochUs, untilUs, proc: procRef(process.pid, 'hatwin live'), startedAt: new Date().toISOString(), state: 'running',
  };
  writeRecord(lab, runRecord);
  o.onStart?.({ ...runRecord });
  const agentTails = new Map(agents.map((h) => [h, new Tail(agentTrace(h), false)]));
  /** The agents' new trace lines, published as they come (the final trace reads the whole files). */
  /** The VIPs' holders as the agents assigned them (vip.assign / vip.remove), for the guests' power-offs below. */
  const assigned = new Map<string, Set<string>>();
  const noteAssignment = (e: TraceEvent) => {
    if (e.kind !== 'vip.assign' && e.kind !== 'vip.remove') return;
    const set = assigned.get(e.subject) ?? new Set<string>();
    if (e.kind === 'vip.assign') set.add(String(e.data?.holder));
    else set.delete(String(e.data?.holder));
    assigned.set(e.subject, set);
  };
  const tailAgents = () => {
    for (const [h, tail] of agentTails) {
      for (const line of tail.lines()) {
        try {
          for (const e of parseNdjson(line, agentTrace(h))) {
            noteAssignment(e);
            publish(e);
          }
        } catch {
          // a line cut by a crash: the final read reports it
        }
      }
    }
  };
  const ended = (state: LiveRunRecord['state'], extra: Partial<LiveRunRecord>) => {
    publishing = false;
    o.faults?.close(`live run ${runId} has ended`);
    try {
      writeRecord(lab, { ...runRecord, ...extra, state, endedAt: new Date().toISOString() });
    } catch {
      // listing only
    }
  };
  hooks.ended = ended;
  log(`live ${scenario.name ?? o.scenarioFile} on lab ${lab.name}: run ${runId}, ${untilUs / 1e6} s`);
  await runAdminPrograms(lab, programs, runId, epochUs);

  const startAgent = async (host: string, boot: boolean) => {
    const logFd = openSync(join(workDir, `agent-${host}.log`), 'a');
    try {
      const argv = ['ip', 'netns', 'exec', hostNs(lab, host), process.execPath, join(REPO_DIR, 'bin/hatwin.js'), 'agent',
        '--lab', resolve(o.labFile), '--host', host, '--scenario', resolve(o.scenarioFile), '--run', runId, '--epoch-us', String(epochUs), '--trace', agentTrace(host), ...(boot ? ['--boot'] : []),
        ...(o.agentMetricsPort !== undefined ? ['--metrics-port', String(o.agentMetricsPort)] : [])];
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', logFd, logFd], detached: true });
      await new Promise<void>((res, rej) => {
        child.once('error', rej);
        child.once('spawn', () => res());
      });
      child.unref();
      agentsRunning.set(host, procRef(child.pid!, `agent ${host}`));
      record({ t: t(), kind: 'agent.spawn', subject: host, data: { pid: child.pid } });
    } finally {
      closeSync(logFd);
    }
  };
  // A PC the scenario starts switched off runs its agent when it is switched on (as a boot would).
  const offAtStart = new Set(scenario.hosts.filter((h) => h.state === 'off').map((h) => h.name));
  const atStart = agents.filter((h) => !offAtStart.has(h));
  try {
    await Promise.all(atStart.map((h) => startAgent(h, false)));
    await agentsReady(atStart, (h) => agentTrace(h), (h) => join(workDir, `agent-${h}.log`), (h) => agentsRunning.get(h));
  } catch (e) {
    // Nothing of this run is left running for the next one (an agent holds its host's ports).
    await endProcesses([...agentsRunning.values()], 'SIGTERM', 3_000).catch(() => undefined);
    await hv.close().catch(() => undefined);
    throw e;
  }
  tailAgents();
  log(`agents ready at ${(t() / 1e6).toFixed(2)} s`);

  // Initial world state, as the sim's first events.
  for (const h of lab.hosts) record({ t: t(), kind: 'host.state', subject: h.name, data: { state: offAtStart.has(h.name) ? 'off' : 'on' } });
  // How long each PC on at the start had been up at the epoch (its boot record, which its Service
  // Depot's `uptime?` reads): the lab's PCs carry the uptime of the lab session's earlier runs, and
  // the paired sim starts each host that long after its boot (`hosts[].uptimeS`).
  for (const h of lab.hosts) {
    if (offAtStart.has(h.name)) continue;
    const uptimeS = uptimeAtEpochS(bootRecord(lab, h.name), epochUs);
    if (uptimeS !== null) record({ t: t(), kind: 'host.uptime', subject: h.name, data: { uptimeS } });
  }
  const vmStates = new Map<string, string>();
  const holders = new Map<string, string>();
  const clientOf = new Map(scenario.clients.map((c) => [c.vip, c.name]));
  const clientOk = new Map<string, string>();

  const pending = scenario.faults.map((f) => ({ f, atUs: f.at as number, done: false }));
  const lifts: Array<{ atUs: number; fault: LabFault; target: string; service?: string; done: boolean }> = [];
  const deadlineUs = untilUs;
  let overtimeSaid = false;
  let observing = false;
  let lastHoldersUs = -Infinity;
  const observe = async () => {
    if (observing) return;
    observing = true;
    try {
      const now = t();
      const vms = await hv.list();
      await loadDriver.drive(now, new Set(vms.filter((v) => v.state === 'running').map((v) => v.name)));
      for (const vm of vms) {
        if (vmStates.get(vm.name) !== vm.state) {
          vmStates.set(vm.name, vm.state);
          record({ t: now, kind: 'vm.state', subject: vm.name, data: { state: vm.state } });
        }
      }
      // Each running guest is asked through its agent (several virsh calls each): with many
      // running at most once a second, and with more than six (pss-mini's virtual servers with
      // spares or backups) every 2.5 s, not to starve the agents' own calls to the guests (load
      // samples, VIP moves, the MSBS's examinations) on a 2-core machine.
      const runningGuests = vms.filter((v) => v.state === 'running').length;
      const everyUs = runningGuests > 6 ? 2_500_000 : runningGuests > 2 ? 1_000_000 : 0;
      if (now - lastHoldersUs < everyUs) return;
      lastHoldersUs = now;
      const hs = await observeHolders(lab, hv, drivers);
      for (const [vip, seen] of Object.entries(hs)) {
        const list = seen.length > 1 ? await confirmHolders(lab, drivers, vip, seen) : seen;
        const key = [...list].sort().join(',');
        if (holders.get(vip) !== key) {
          holders.set(vip, key);
          record({ t: t(), kind: 'vip.holders', subject: vip, data: { holders: list } });
        }
      }
    } finally {
      observing = false;
    }
  };

  try {
    for (;;) {
      const now = t();
      clientDriver.drive(now);
      for (const x of pending) {
        if (x.done || now < x.atUs) continue;
        x.done = true;
        if (x.f.kind === 'partition') {
          const pf = x.f;
          // As the sim records it: the fault, then the network's partition.
          record({ t: t(), kind: 'fault', subject: pf.a.join(','), data: { fault: 'partition' } });
          record({ t: t(), kind: 'net.partition', subject: pf.a.join(','), data: { a: pf.a, b: pf.b, oneWay: pf.oneWay } });
          log(`${(t() / 1e6).toFixed(2)} s: partition ${pf.a.join(',')} ${pf.oneWay ? '->' : '<->'} ${pf.b.join(',')}`);
          const rules = partitionRules(lab, pf);
          for (const r of rules) await labFault(lab, r.host, 'partition-oneway', { peer: r.peer });
          if (pf.duration !== undefined) for (const host of new Set(rules.map((r) => r.host))) lifts.push({ atUs: x.atUs + pf.duration, fault: 'partition-oneway', target: host, done: false });
          continue;
        }
        if (x.f.kind === 'vm-crash') {
          record({ t: t(), kind: 'fault', subject: x.f.target, data: { fault: 'vm-crash' } });
          log(`${(t() / 1e6).toFixed(2)} s: fault vm-crash on ${x.f.target}`);
          await hv.destroy(x.f.target);
          continue;
        }
        const f = x.f as Extract<Scenario['faults'][number], { target: string }>;
        record({ t: t(), kind: 'fault', subject: f.target, data: { fault: f.kind, ...('service' in f && f.service ? { service: f.service } : {}) } });
        log(`${(t() / 1e6).toFixed(2)} s: fault ${f.kind} on ${f.target}`);
        const lf = liveFaultOf(lab, f);
        const service = 'service' in f && f.service ? f.service : undefined;
        await labFault(lab, f.target, lf, service ? { service } : {});
        if (f.duration !== undefined) lifts.push({ atUs: x.atUs + f.duration, fault: lf, target: f.target, ...(service ? { service } : {}), done: false });
      }
      for (const c of churn) {
        if (c.done || now < c.atUs) continue;
        c.done = true;
        // As the sim records it: the user's switch, then the lab's power event.
        record({ t: t(), kind: 'churn.power', subject: c.host, data: { on: c.on, scheduledUs: c.atUs } });
        log(`${(t() / 1e6).toFixed(2)} s: churn: ${c.host} switched ${c.on ? 'on' : 'off'}`);
        await labPower(lab, c.host, c.on ? 'on' : 'off');
      }
      for (const l of lifts) {
        if (l.done || now < l.atUs) continue;
        l.done = true;
        record({ t: t(), kind: 'fault.end', subject: l.target, data: { fault: l.fault, ...(l.service ? { service: l.service } : {}) } });
        log(`${(t() / 1e6).toFixed(2)} s: fault ${l.fault} on ${l.target} ends`);
        await endLiveFault(lab, l.fault, l.target);
      }
      for (const q of o.faults?.take() ?? []) {
        const atUs = t();
        record({ t: atUs, kind: 'fault', subject: q.target, data: { fault: q.fault, ...q.opts, injected: true } });
        log(`${(atUs / 1e6).toFixed(2)} s: fault ${q.fault} on ${q.target} (injected)`);
        try {
          q.resolve({ atUs, message: await labFault(lab, q.target, q.fault, q.opts) });
        } catch (e) {
          record({ t: t(), kind: 'fault.failed', subject: q.target, data: { fault: q.fault, error: (e as Error).message } });
          q.reject(e as Error);
        }
      }
      for (const e of parseNdjson(labEvents.lines().join('\n'), eventsPath(lab))) {
        const te = e.t - epochUs;
        if (e.kind === 'lab.power') {
          const power = String(e.data?.power);
          record({ t: te, kind: 'host.state', subject: e.subject, data: { state: power } });
          // A host that powers on boots its agent (the supervisor's boot of a real host's agent).
          if (power === 'on' && agents.includes(e.subject)) {
            const ref = agentsRunning.get(e.subject);
            if (!ref || !isAlive(ref)) await startAgent(e.subject, true);
          }
        } else if (e.kind.startsWith('lab.') && te >= 0) {
          record({ t: te, kind: e.kind, subject: e.subject, data: e.data });
          // A guest destroyed by its PC's power-off loses its VIPs with it: recorded as the sim's
          // world records a holder's power loss (vip.remove with the reason).
          if (e.kind === 'lab.guest' && e.data?.state === 'destroyed') {
            tailAgents();
            const vm = String(e.data.vm);
            for (const [vip, set] of assigned) {
              if (!set.has(vm)) continue;
              const rm: TraceEvent = { t: te, kind: 'vip.remove', subject: vip, data: { holder: vm, reason: 'power-off' } };
              noteAssignment(rm);
              record(rm);
            }
          }
        }
      }
      for (const a of parseAccessLog(access.lines().join('\n'))) {
        const te = Math.round(a.tMs * 1000) - epochUs;
        const client = clientOf.get(a.vip);
        if (!client || te < 0) continue;
        // Like the sim's client: a line per change of OK/XX, and here also of who served.
        const key = `${a.ok ? 'OK' : 'XX'} ${a.servedBy ?? ''}`;
        if (clientOk.get(client) === key) continue;
        clientOk.set(client, key);
        record({ t: te, kind: 'client.access', subject: client, data: { vip: a.vip, ok: a.ok, log: a.ok ? 'OK' : 'XX', ...(a.servedBy ? { by: a.servedBy } : {}), ...(a.detail ? { detail: a.detail } : {}) } });
      }
      tailAgents();
      if (o.signal?.aborted) break;
      if (now >= deadlineUs) {
        if (!o.overtime || now >= deadlineUs + o.overtime.maxUs) break;
        if (o.overtime.settled(seen)) break;
        if (!overtimeSaid) log(`${(now / 1e6).toFixed(2)} s: not settled at until: running on (at most ${o.overtime.maxUs / 1e6} s more)`);
        overtimeSaid = true;
      }
      await observe();
      if (o.faults) await o.faults.waitFor(250);
      else await sleep(250);
    }
  } finally {
    clientDriver.close();
    await endProcesses([...agentsRunning.values()], 'SIGTERM', 3_000).catch(() => undefined);
    await hv.close().catch(() => undefined);
    tailAgents();
  }

  const events: TraceEvent[] = [...world];
  for (const h of agents) {
    events.push(...parseNdjson(readFileSync(agentTrace(h), 'utf8'), agentTrace(h)));
  }
  events.sort((a, b) => a.t - b.t);
  mkdirSync(dirname(traceFile), { recursive: true });
  writeFileSync(traceFile, toNdjson(events));
  log(`trace: ${events.length} events -> ${traceFile}`);
  ended(o.signal?.aborted ? 'stopped' : 'done', { events: events.length });
  return { events, epochUs, runId, traceFile };
}
