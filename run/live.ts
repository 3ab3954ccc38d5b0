// `hatwin live LAB.yaml --scenario S.yaml --trace out.ndjson`: one scenario against the mini-lab.
// With the lab up: runs the administrator's set-up programs of the scenario's policies (P2P's
// `initialise` writes the management files) against a fresh etcd prefix, starts one `hatwin agent`
// inside the namespace of every host on which a policy places programs (and again whenever that
// host powers on, as a boot would), injects the scenario's faults at their times
// through the lab's fault mechanism, records what the lab observes (power, guest states, the
// client's access log, VIP holders) and merges it with the agents' traces by time into one NDJSON
// trace in the sim schema (t: µs since the run's epoch, which is time 0 of every agent too).
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, statSync, writeFileSync, readSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { parseNdjson, toNdjson } from '../trace/ndjson.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import type { TraceEvent } from '../engine/ports/index.ts';
import { ADMIN, type Program } from '../policies/manifest.ts';
import { checkPoliciesOn, programsOf } from './policies.ts';
import { siteFromLab } from './site.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { readScenario } from './sim.ts';
import { EtcdStore } from '../adapters/etcd/store.ts';
import { parseAccessLog } from '../adapters/lab/accesslog.ts';
import { runPrefix } from '../adapters/lab/agent-config.ts';
import { LabClockScheduler, wallUs } from './agent.ts';
import { eventsPath } from '../adapters/lab/events.ts';
import { IdempotentGuestVipDriver } from '../adapters/lab/agent-config.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { labFault, labPower, type LabFault } from '../adapters/lab/lab.ts';
import { accessLogPath, hostNs, NS_IF, statePath } from '../adapters/lab/names.ts';
import { endProcesses, isAlive, procRef, type ProcRef } from '../adapters/lab/proc.ts';
import { run } from '../adapters/lab/run.ts';
import { loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Scenario faults the lab can inject (the rest need a model the lab does not have). */
const LIVE_FAULTS: Record<string, LabFault> = { St1: 'St1', St2: 'St2', Nt1: 'Nt1', Nt2: 'Nt2', pause: 'pause', 'link-down': 'link-down' };

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
    if (!(f.kind in LIVE_FAULTS)) throw new Error(`${file}: fault ${f.kind} cannot be injected in the mini-lab (live faults: ${Object.keys(LIVE_FAULTS).join(', ')})`);
    if (!('target' in f) || !lab.hosts.some((h) => h.name === f.target)) throw new Error(`${file}: fault ${f.kind} targets "${'target' in f ? f.target : '?'}", not a host of lab "${lab.name}"`);
    if (typeof f.at !== 'number') throw new Error(`${file}: live faults need a fixed time (at: 20s), not a distribution`);
  }
  for (const c of s.clients) if (!lab.vips.some((v) => v.name === c.vip)) throw new Error(`${file}: client ${c.name} accesses ${c.vip}, which lab "${lab.name}" does not have`);
}

/** Runs the administrator's set-up programs (ADMIN) against the run's etcd prefix, to the end. */
async function runAdminPrograms(lab: Lab, programs: readonly Program[], runId: string, epochUs: number): Promise<void> {
  const admin = programs.filter((p) => p.agent === ADMIN);
  if (admin.length === 0) return;
  const store = new EtcdStore({ hosts: [`http://${lab.etcd.address}:${lab.etcd.clientPort}`], prefix: runPrefix(lab, runId) });
  const sched = new LabClockScheduler(epochUs);
  try {
    const rt = new Runtime({ scheduler: sched, ports: () => ({ store }), watchMode: 'naive' });
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

/** VIP holders as the machines say: host addresses by `ip`, guests through their agent when running. */
async function observeHolders(lab: Lab, hv: LabHypervisor, drivers: Map<string, IdempotentGuestVipDriver>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = Object.fromEntries(lab.vips.map((v) => [v.name, [] as string[]]));
  await Promise.all(lab.hosts.map(async (h) => {
    const r = await run(['ip', '-n', hostNs(lab, h.name), '-4', '-o', 'addr', 'show', 'dev', NS_IF], { allowFail: true, timeoutMs: 2_000 });
    for (const v of lab.vips) if (r.stdout.includes(` ${v.address}/`)) out[v.name].push(h.name);
  }));
  const running = (await hv.list()).filter((v) => v.state === 'running');
  await Promise.all(running.map(async (vm) => {
    const have = await drivers.get(vm.name)!.addresses().catch(() => [] as string[]);
    for (const v of lab.vips) if (have.includes(v.address)) out[v.name].push(vm.name);
  }));
  return out;
}

/**
 * Puts the lab back to its initial state between runs: every host on, running guests without
 * VIPs and suspended (as the papers keep them), each VIP on its holder host and announced.
 */
export async function resetLabWorld(lab: Lab, hv: LabHypervisor, drivers: Map<string, IdempotentGuestVipDriver>, log: (m: string) => void): Promise<void> {
  for (const vm of await hv.list()) {
    if (vm.state !== 'running') continue;
    const have = await drivers.get(vm.name)!.addresses().catch(() => [] as string[]);
    for (const v of lab.vips) if (have.includes(v.address)) await drivers.get(vm.name)!.remove(v.address);
    await hv.suspend(vm.name);
    log(`reset: ${vm.name} suspended`);
  }
  for (const h of lab.hosts) {
    const r = await run(['ip', '-n', hostNs(lab, h.name), '-o', 'link', 'show', 'dev', NS_IF], { allowFail: true });
    if (!/[<,]UP[,>]/.test(r.stdout)) {
      log(`reset: ${h.name} is off: powering it on`);
      await labPower(lab, h.name, 'on');
    }
  }
  const byDeadline = Date.now() + 30_000;
  for (const v of lab.vips) {
    const holder = lab.hosts.find((h) => h.name === v.holder);
    if (!holder) continue;
    const ns = hostNs(lab, holder.name);
    for (;;) {
      const r = await run(['ip', '-n', ns, '-4', '-o', 'addr', 'show', 'dev', NS_IF], { allowFail: true });
      if (r.stdout.includes(` ${holder.address}/`)) {
        if (!r.stdout.includes(` ${v.address}/`)) {
          await run(['ip', '-n', ns, 'addr', 'add', `${v.address}/${lab.cidr.prefix}`, 'dev', NS_IF]);
          await run(['ip', 'netns', 'exec', ns, 'arping', '-q', '-U', '-c', '1', '-I', NS_IF, '-s', v.address, v.address], { allowFail: true, timeoutMs: 3_000 });
          log(`reset: ${v.name} back on ${holder.name}`);
        }
        break;
      }
      if (Date.now() > byDeadline) throw new Error(`reset: ${holder.name} did not come up within 30 s`);
      await sleep(200);
    }
  }
}

export async function runLive(o: LiveOptions): Promise<LiveResult> {
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
  const agentsRunning = new Map<string, ProcRef>();
  const hv = await LabHypervisor.open(lab);
  const drivers = new Map(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name)]));
  const labEvents = new Tail(eventsPath(lab), true);
  const access = new Tail(accessLogPath(lab), true);

  await resetLabWorld(lab, hv, drivers, log);
  // The epoch is set before the management files and agents: their start-up is part of the run.
  const epochUs = wallUs();
  const t = () => wallUs() - epochUs;
  const agentTrace = (h: string) => join(workDir, `agent-${h}.ndjson`);
  for (const h of agents) writeFileSync(agentTrace(h), '');
  log(`live ${scenario.name ?? o.scenarioFile} on lab ${lab.name}: run ${runId}, ${untilUs / 1e6} s`);
  await runAdminPrograms(lab, programs, runId, epochUs);

  const startAgent = async (host: string, boot: boolean) => {
    const logFd = openSync(join(workDir, `agent-${host}.log`), 'a');
    try {
      const argv = ['ip', 'netns', 'exec', hostNs(lab, host), process.execPath, join(REPO_DIR, 'bin/hatwin.js'), 'agent',
        '--lab', resolve(o.labFile), '--host', host, '--scenario', resolve(o.scenarioFile), '--run', runId, '--epoch-us', String(epochUs), '--trace', agentTrace(host), ...(boot ? ['--boot'] : [])];
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', logFd, logFd], detached: true });
      await new Promise<void>((res, rej) => {
        child.once('error', rej);
        child.once('spawn', () => res());
      });
      child.unref();
      agentsRunning.set(host, procRef(child.pid!, `agent ${host}`));
      world.push({ t: t(), kind: 'agent.spawn', subject: host, data: { pid: child.pid } });
    } finally {
      closeSync(logFd);
    }
  };
  await Promise.all(agents.map((h) => startAgent(h, false)));
  // Agents are ready when they say so in their traces.
  const readyBy = Date.now() + 30_000;
  while (!agents.every((h) => readFileSync(agentTrace(h), 'utf8').includes('"agent.start"'))) {
    if (Date.now() > readyBy) throw new Error(`agents not ready within 30 s: see ${workDir}/agent-*.log`);
    await sleep(100);
  }
  log(`agents ready at ${(t() / 1e6).toFixed(2)} s`);

  // Initial world state, as the sim's first events.
  for (const h of lab.hosts) world.push({ t: t(), kind: 'host.state', subject: h.name, data: { state: 'on' } });
  const vmStates = new Map<string, string>();
  const holders = new Map<string, string>();
  const clientOf = new Map(scenario.clients.map((c) => [c.vip, c.name]));
  const clientOk = new Map<string, string>();

  const pending = scenario.faults.map((f) => ({ f, atUs: f.at as number, done: false }));
  const deadlineUs = untilUs;
  let observing = false;
  const observe = async () => {
    if (observing) return;
    observing = true;
    try {
      const now = t();
      for (const vm of await hv.list()) {
        if (vmStates.get(vm.name) !== vm.state) {
          vmStates.set(vm.name, vm.state);
          world.push({ t: now, kind: 'vm.state', subject: vm.name, data: { state: vm.state } });
        }
      }
      const hs = await observeHolders(lab, hv, drivers);
      for (const [vip, list] of Object.entries(hs)) {
        const key = [...list].sort().join(',');
        if (holders.get(vip) !== key) {
          holders.set(vip, key);
          world.push({ t: t(), kind: 'vip.holders', subject: vip, data: { holders: list } });
        }
      }
    } finally {
      observing = false;
    }
  };

  try {
    for (;;) {
      const now = t();
      for (const x of pending) {
        if (x.done || now < x.atUs) continue;
        x.done = true;
        const f = x.f as Extract<Scenario['faults'][number], { target: string }>;
        world.push({ t: t(), kind: 'fault', subject: f.target, data: { fault: f.kind, ...('service' in f && f.service ? { service: f.service } : {}) } });
        log(`${(t() / 1e6).toFixed(2)} s: fault ${f.kind} on ${f.target}`);
        await labFault(lab, f.target, LIVE_FAULTS[f.kind], 'service' in f && f.service ? { service: f.service } : {});
      }
      for (const e of parseNdjson(labEvents.lines().join('\n'), eventsPath(lab))) {
        const te = e.t - epochUs;
        if (e.kind === 'lab.power') {
          const power = String(e.data?.power);
          world.push({ t: te, kind: 'host.state', subject: e.subject, data: { state: power } });
          // A host that powers on boots its agent (the supervisor's boot of a real host's agent).
          if (power === 'on' && agents.includes(e.subject)) {
            const ref = agentsRunning.get(e.subject);
            if (!ref || !isAlive(ref)) await startAgent(e.subject, true);
          }
        } else if (e.kind.startsWith('lab.')) {
          world.push({ t: te, kind: e.kind, subject: e.subject, data: e.data });
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
        world.push({ t: te, kind: 'client.access', subject: client, data: { vip: a.vip, ok: a.ok, log: a.ok ? 'OK' : 'XX', ...(a.servedBy ? { by: a.servedBy } : {}), ...(a.detail ? { detail: a.detail } : {}) } });
      }
      if (now >= deadlineUs || o.signal?.aborted) break;
      await observe();
      await sleep(250);
    }
  } finally {
    await endProcesses([...agentsRunning.values()], 'SIGTERM', 3_000).catch(() => undefined);
    await hv.close().catch(() => undefined);
  }

  const events: TraceEvent[] = [...world];
  for (const h of agents) {
    events.push(...parseNdjson(readFileSync(agentTrace(h), 'utf8'), agentTrace(h)));
  }
  events.sort((a, b) => a.t - b.t);
  mkdirSync(dirname(traceFile), { recursive: true });
  writeFileSync(traceFile, toNdjson(events));
  log(`trace: ${events.length} events -> ${traceFile}`);
  return { events, epochUs, runId, traceFile };
}
