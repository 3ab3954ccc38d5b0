// The swarm: random fault schedules (fast-check arbitraries) over the registered policies, each
// run in simulation and checked by trace/checkers.ts. A schedule is plain data (the system, the
// policy's timing and a list of faults) that becomes a scenario; a failing one is shrunk by
// fast-check and written as a scenario file that `hatwin sim` replays.
//
// Generation and shrinking run in the calling thread; the runs of a batch may go to worker
// threads (`jobs` > 1, tinypool): a worker gets the scenario as data and returns its verdict.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildSimulation, parseScenario } from './sim.ts';
import { scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import { POLICIES } from '../policies/registry.ts';
import { checkModel, checkTrace, type CheckResult, type Violation, type ViolationKey } from '../trace/checkers.ts';

export type SwarmKey = ViolationKey | 'crash';
export const SWARM_KEYS: readonly SwarmKey[] = ['S1', 'S2', 'S3', 'L1', 'L2', 'crash'];

/** The policies the swarm has a system generator for. */
export const SWARM_POLICIES = ['failover', 'p2p'] as const;
export type SwarmPolicy = (typeof SWARM_POLICIES)[number];

// ---------------------------------------------------------------------------------------------
// Schedules

type Dist = number | { kind: 'uniform'; min: number; max: number } | { kind: 'normal'; mean: number; sd: number; min: number; max: number } | { kind: 'empirical'; values: number[] } | { kind: 'exponential'; mean: number };

export interface FaultPlan {
  kind: string;
  target?: string;
  service?: string;
  mode?: 'freeze' | 'stop';
  a?: string[];
  b?: string[];
  oneWay?: boolean;
  /** µs, or a uniform draw in seconds. */
  at: number | { dist: { kind: 'uniform'; min: number; max: number } };
  /** µs; absent: permanent. */
  duration?: number;
}

export interface Schedule {
  policy: SwarmPolicy;
  /** The policy's safety option (absent: the manifest's default). */
  safety?: 'paper' | 'hardened';
  seed: number;
  /** P2P: servers S1..Sn in this group order; failover: ignored. */
  group: string[];
  timing: { interval: number; restartWait: number };
  hostTimes: Array<{ bootS: Dist; restartS: Dist }>;
  vmTimes: { resumeS: Dist; suspendS: Dist };
  faults: FaultPlan[];
}

const S = 1_000_000;

const hostDist: fc.Arbitrary<Dist> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(5) },
  fc.constant({ kind: 'uniform' as const, min: 4, max: 7 }),
  fc.constant({ kind: 'normal' as const, mean: 5, sd: 0.5, min: 3, max: 8 }),
  fc.constant<Dist>({ kind: 'empirical', values: [4, 5, 6] }),
  fc.constant({ kind: 'uniform' as const, min: 14, max: 26 }),
);
const resumeDist: fc.Arbitrary<Dist> = fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, fc.constant({ kind: 'normal' as const, mean: 1, sd: 0.3, min: 0.5, max: 2 }));
const suspendDist: fc.Arbitrary<Dist> = fc.oneof({ weight: 3, arbitrary: fc.constant(2) }, fc.constant({ kind: 'exponential' as const, mean: 2 }));

/** Names of the generated system of a policy: hosts (with services), VMs, clients. */
export function systemNames(policy: SwarmPolicy, n: number): { hosts: string[]; serviceHosts: string[]; vms: string[]; clients: string[] } {
  if (policy === 'failover') return { hosts: ['web1', 'mgr', 'vmhost'], serviceHosts: ['web1'], vms: ['web1b'], clients: ['c-web1'] };
  const hosts = Array.from({ length: n }, (_, i) => `S${i + 1}`);
  return { hosts, serviceHosts: hosts, vms: hosts.map((h) => `${h}b`), clients: hosts.map((h) => `c-${h}`) };
}

const AT_S = [4, 10, 15, 20, 30, 45, 60];
const DURATIONS_US = [1, 1 * S, 4 * S, 8_150_001, 15 * S, 43 * S, 68 * S];

function faultArb(names: ReturnType<typeof systemNames>): fc.Arbitrary<FaultPlan[]> {
  const at = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...AT_S), fc.constantFrom(0, 0, 0, 1, 250_001, 1_500_000)).map(([s, off]) => s * S + off) },
    fc.tuple(fc.constantFrom(10, 20), fc.constantFrom(20, 40)).map(([min, max]) => ({ dist: { kind: 'uniform' as const, min, max } })),
  );
  const healing = fc.option(fc.constantFrom(...DURATIONS_US), { nil: undefined, freq: 4 });
  const host = fc.constantFrom(...names.hosts);
  const nodes = [...names.hosts, ...names.vms, ...names.clients];
  const one: fc.Arbitrary<FaultPlan> = fc.oneof(
    fc.record({ kind: fc.constant('St1'), target: fc.constantFrom(...names.serviceHosts, ...names.vms), at }),
    fc.record({ kind: fc.constant('St2'), target: fc.constantFrom(...names.serviceHosts, ...names.vms), mode: fc.constantFrom('freeze' as const, 'stop' as const), at }),
    fc.record({ kind: fc.constantFrom('Nt1', 'host-restart'), target: host, at }),
    fc.record({ kind: fc.constantFrom('Nt2', 'host-shutdown'), target: host, at }),
    fc.record({ kind: fc.constant('host-fail'), target: host, at }),
    fc.record({ kind: fc.constant('pause'), target: host, at, duration: healing }, { requiredKeys: ['kind', 'target', 'at'] }),
    fc.record({ kind: fc.constant('link-down'), target: host, at, duration: healing }, { requiredKeys: ['kind', 'target', 'at'] }),
    fc.record({ kind: fc.constant('vm-crash'), target: fc.constantFrom(...names.vms), at }),
    fc.record({
      kind: fc.constant('partition'),
      a: fc.subarray(nodes, { minLength: 1, maxLength: 4 }),
      b: fc.subarray(nodes, { minLength: 1, maxLength: 3 }),
      oneWay: fc.boolean(),
      at,
      duration: healing,
    }, { requiredKeys: ['kind', 'a', 'b', 'oneWay', 'at'] }).filter((f) => f.a!.every((x) => !f.b!.includes(x))),
  );
  // Flapping: the same fault again every `period`.
  const flapping = fc.tuple(one, fc.integer({ min: 2, max: 3 }), fc.constantFrom(3 * S, 20 * S, 53_000_251)).map(([f, k, period]) =>
    Array.from({ length: k }, (_, i) => (typeof f.at === 'number' ? { ...f, at: f.at + i * period } : f)),
  );
  return fc.array(fc.oneof({ weight: 4, arbitrary: one.map((f) => [f]) }, flapping), { minLength: 1, maxLength: 3 }).map((xs) => xs.flat());
}

/** Random schedules of one policy's system. */
export function scheduleArb(policy: SwarmPolicy, safety?: 'paper' | 'hardened'): fc.Arbitrary<Schedule> {
  const n = fc.constantFrom(2, 3, 3, 4, 5);
  return n.chain((size) => {
    const names = systemNames(policy, size);
    return fc.record({
      policy: fc.constant(policy),
      seed: fc.integer({ min: 1, max: 100_000 }),
      group: policy === 'p2p' ? fc.shuffledSubarray(names.hosts, { minLength: size, maxLength: size }) : fc.constant([] as string[]),
      timing: fc.record({ interval: fc.constantFrom(2, 5, 10), restartWait: fc.constantFrom(20, 46, 60) }),
      hostTimes: fc.array(fc.record({ bootS: hostDist, restartS: hostDist }), { minLength: names.hosts.length, maxLength: names.hosts.length }),
      vmTimes: fc.record({ resumeS: resumeDist, suspendS: suspendDist }),
      faults: faultArb(names),
    }).map((x): Schedule => (safety ? { ...x, safety } : x));
  });
}

/** The scenario of a schedule (raw, as a YAML file would hold it). */
export function scheduleScenario(s: Schedule): Record<string, unknown> {
  const size = s.policy === 'p2p' ? s.group.length : 3;
  const names = systemNames(s.policy, size);
  const svcOf = (h: string) => (s.policy === 'failover' ? 'svc0' : `svc${Number(h.slice(1)) - 1}`);
  const svc = (h: string) => [{ name: svcOf(h), examS: 0.01, restartS: 0 }];
  const hosts = names.hosts.map((h, i) => ({
    name: h,
    mac: `02:00:00:00:00:${String(i + 1).padStart(2, '0')}`,
    serverType: (['CPU', 'NETWORK', 'CPU_NET'] as const)[i % 3],
    memMb: 32768,
    memUsedMb: 7168,
    services: names.serviceHosts.includes(h) ? svc(h) : [],
    bootS: s.hostTimes[i].bootS,
    restartS: s.hostTimes[i].restartS,
  }));
  const backed = s.policy === 'failover' ? ['web1'] : names.hosts;
  const vms = backed.map((h) => ({ name: `${h}b`, services: svc(h), resumeS: s.vmTimes.resumeS, suspendS: s.vmTimes.suspendS }));
  const vips = backed.map((h) => ({ name: `vip-${h}`, service: svcOf(h), holder: h }));
  const clients = backed.map((h) => ({ name: `c-${h}`, vip: `vip-${h}`, phaseS: 0 }));
  const faults = s.faults.map((f) => {
    const o: Record<string, unknown> = { kind: f.kind };
    if (f.target !== undefined) o.target = f.target;
    if (f.mode !== undefined) o.mode = f.mode;
    if (f.a !== undefined) Object.assign(o, { a: f.a, b: f.b, oneWay: f.oneWay });
    o.at = typeof f.at === 'number' ? `${f.at}us` : f.at;
    if (f.duration !== undefined) o.duration = `${f.duration}us`;
    return o;
  });
  const policy = s.policy === 'failover'
    ? { kind: 'failover', manager: 'mgr', target: 'web1', service: 'svc0', vip: 'vip-web1', backupVm: 'web1b', backupHost: 'vmhost', interval: s.timing.interval, serviceTimeout: 1, networkTimeout: 1, recoveryWait: s.timing.restartWait }
    : { kind: 'p2p', group: s.group, interval: s.timing.interval, networkTimeout: 1, serviceTimeout: 1, restartWait: s.timing.restartWait, waitPoll: 1, decision: 0.25, examRetry: 0.1, loadInterval: s.timing.interval, reconcile: 30 };
  if (s.safety) Object.assign(policy, { safety: s.safety });
  const raw: Record<string, unknown> = {
    name: `swarm-${s.policy}`,
    until: '100000s',
    network: { latencyS: 0.0005, examS: 0.01, vipSetS: 0.1, commandS: 0.05 },
    contention: { ioFraction: 0 },
    hosts, vms, vips, clients, faults,
    policies: [policy],
    seed: s.seed,
  };
  // Run until every fault has happened and healed, plus the checkers' grace bound and a margin.
  const parsed = scenarioSchema.parse(raw);
  const lastUs = Math.max(0, ...s.faults.map((f) => (typeof f.at === 'number' ? f.at : f.at.dist.max * S) + (f.duration ?? 0)));
  const graceUs = Math.max(0, ...checkModel(parsed).targets.map((t) => t.graceUs));
  raw.until = `${Math.ceil((lastUs + graceUs) / S) + 20}s`;
  return raw;
}

// ---------------------------------------------------------------------------------------------
// One run

export interface RunVerdict {
  violations: Violation[];
  /** A run that threw (a policy or the world crashed). */
  crash?: string;
  livenessChecked: boolean;
  keys: SwarmKey[];
}

/** Runs a parsed scenario with its seed and checks the trace. */
export function runAndCheck(scenario: Scenario, seed?: number): RunVerdict & { result?: CheckResult } {
  const sim = buildSimulation(scenario, { seed: seed ?? scenario.seed ?? 1 });
  try {
    sim.run();
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    return { violations: [], crash: msg, livenessChecked: false, keys: ['crash'] };
  }
  const result = checkTrace(sim.events, checkModel(scenario, scenario.until));
  const keys = [...new Set(result.violations.map((v) => v.key))].sort() as SwarmKey[];
  return { violations: result.violations, livenessChecked: result.livenessChecked, keys, result };
}

/** Runs a schedule (as data: what a worker gets). */
export function runRaw(raw: Record<string, unknown>): RunVerdict {
  const { result: _r, ...v } = runAndCheck(parseScenario(stringify(raw), `swarm-${String(raw.name)}`));
  void _r;
  return v;
}

/** Worker entry (tinypool): a raw scenario in, its verdict out. */
export default function work(raw: Record<string, unknown>): RunVerdict {
  return runRaw(raw);
}

// ---------------------------------------------------------------------------------------------
// A swarm

export interface SwarmOptions {
  policies: string[];
  schedules: number;
  seed: number;
  jobs: number;
  /** Write shrunk failing schedules here (none when undefined). */
  outDir?: string;
  /** Shrink the first failing schedule of each key (default true when outDir is given). */
  shrink?: boolean;
  /** Run the policies with this safety option (default: the manifests' default, hardened). */
  safety?: 'paper' | 'hardened';
  progress?: (msg: string) => void;
}

export interface PolicySummary {
  policy: string;
  schedules: number;
  failing: number;
  /** Schedules showing each key. */
  byKey: Record<SwarmKey, number>;
  /** Index of the first schedule showing each key. */
  firstIndex: Partial<Record<SwarmKey, number>>;
  /** Files written for shrunk failures. */
  written: string[];
  skipped?: string;
}

const emptyKeys = (): Record<SwarmKey, number> => ({ S1: 0, S2: 0, S3: 0, L1: 0, L2: 0, crash: 0 });

/** The swarm seed of one policy (each policy gets its own stream of schedules). */
export const policySeed = (seed: number, policy: string): number => {
  let h = seed | 0;
  for (const c of policy) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
};

/** The schedules of a policy, in order (the same ones fast-check replays by index). */
export function sampleSchedules(policy: SwarmPolicy, n: number, seed: number, safety?: 'paper' | 'hardened'): Schedule[] {
  return fc.sample(scheduleArb(policy, safety), { seed: policySeed(seed, policy), numRuns: n });
}

interface Pool {
  run(task: unknown): Promise<RunVerdict>;
  destroy(): Promise<void>;
}

export async function runSwarm(o: SwarmOptions): Promise<PolicySummary[]> {
  const say = o.progress ?? (() => undefined);
  const out: PolicySummary[] = [];
  let pool: Pool | null = null;
  if (o.jobs > 1) {
    const { Tinypool } = await import('tinypool');
    // A worker registers the TypeScript loader (tsx) first, then loads this module: the
    // entry is a small module given inline, so nothing but this file is needed.
    const entry = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); ` +
      `const m = await import(${JSON.stringify(import.meta.url)}); export default m.default;`;
    pool = new Tinypool({
      filename: `data:text/javascript,${encodeURIComponent(entry)}`,
      minThreads: o.jobs,
      maxThreads: o.jobs,
    }) as unknown as Pool;
  }
  try {
    for (const policy of o.policies) {
      if (!POLICIES[policy]) throw new Error(`no policy "${policy}" (registered: ${Object.keys(POLICIES).join(', ')})`);
      if (!(SWARM_POLICIES as readonly string[]).includes(policy)) {
        out.push({ policy, schedules: 0, failing: 0, byKey: emptyKeys(), firstIndex: {}, written: [], skipped: 'no system generator for this policy yet' });
        continue;
      }
      const p = policy as SwarmPolicy;
      const schedules = sampleSchedules(p, o.schedules, o.seed, o.safety);
      const sum: PolicySummary = { policy, schedules: schedules.length, failing: 0, byKey: emptyKeys(), firstIndex: {}, written: [] };
      const raws = schedules.map(scheduleScenario);
      const started = Date.now();
      let done = 0;
      const tick = (v: RunVerdict) => {
        done++;
        if (v.keys.length) sum.failing++;
        if (done % 50 === 0 || done === raws.length) say(`${policy}: ${done}/${raws.length} schedules, ${sum.failing} failing (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      };
      const verdicts: RunVerdict[] = pool
        ? await Promise.all(raws.map((r) => pool!.run(r).then((v: RunVerdict) => (tick(v), v))))
        : raws.map((r) => { const v = runRaw(r); tick(v); return v; });
      verdicts.forEach((v, i) => {
        for (const k of v.keys) {
          sum.byKey[k]++;
          if (sum.firstIndex[k] === undefined) sum.firstIndex[k] = i;
        }
      });
      if (o.outDir && o.shrink !== false) {
        for (const k of SWARM_KEYS) {
          const idx = sum.firstIndex[k];
          if (idx === undefined) continue;
          say(`${policy}: shrinking the first ${k} failure (schedule ${idx})`);
          const file = shrinkAndWrite(p, o.seed, idx, k, o.outDir, o.safety);
          if (file) sum.written.push(file);
        }
      }
      out.push(sum);
    }
  } finally {
    await pool?.destroy();
  }
  return out;
}

/** Shrinks schedule `index` of a policy's stream while it still shows `key`; writes it; returns the path. */
export function shrinkAndWrite(policy: SwarmPolicy, seed: number, index: number, key: SwarmKey, outDir: string, safety?: 'paper' | 'hardened'): string | null {
  const shows = (s: Schedule) => runRaw(scheduleScenario(s)).keys.includes(key);
  // Replaying from the start finds schedule `index` again (it is the first showing `key`) and
  // shrinks it (a replay by path would not shrink).
  const r = fc.check(fc.property(scheduleArb(policy, safety), (s) => !shows(s)), { seed: policySeed(seed, policy), numRuns: index + 1 });
  if (!r.failed || !r.counterexample) return null;
  const s = r.counterexample[0];
  const raw = scheduleScenario(s);
  const v = runRaw(raw);
  const name = `${policy}-${key}-seed${seed}-i${index}`;
  const header = [
    `# swarm: ${policy}, swarm seed ${seed}, schedule ${index}, shrunk by fast-check (${r.numShrinks} shrinks); key ${key}`,
    `# replay: npx hatwin sim ${outDir}/${name}.yaml --seed ${s.seed}`,
    ...v.violations.map((x) => `#   ${x.key} ${(x.t / S).toFixed(6)}s ${x.subject}: ${x.detail}`),
    ...(v.crash ? [`#   crash: ${v.crash}`] : []),
  ].join('\n');
  return writeFile(`${outDir}/${name}.yaml`, `${header}\n${stringify(raw)}`);
}

function writeFile(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** The summary as a markdown table. */
export function summaryTable(rows: readonly PolicySummary[]): string {
  const head = ['policy', 'schedules', 'failing', ...SWARM_KEYS];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    lines.push(`| ${[r.policy, r.skipped ? `— (${r.skipped})` : String(r.schedules), String(r.failing), ...SWARM_KEYS.map((k) => String(r.byKey[k]))].join(' | ')} |`);
  }
  return lines.join('\n');
}
