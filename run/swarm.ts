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
import { DEFAULT_STORE_NODE, scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import { POLICIES } from '../policies/registry.ts';
import { checkModel, checkTrace, type CheckResult, type Violation, type ViolationKey } from '../trace/checkers.ts';

export type SwarmKey = ViolationKey | 'crash';
export const SWARM_KEYS: readonly SwarmKey[] = ['S1', 'S2', 'S3', 'S4', 'S5', 'L1', 'L2', 'crash'];

/** The policies the swarm has a system generator for. */
export const SWARM_POLICIES = ['failover', 'p2p', 'pss', 'msbs', 'navigator', 'lbcluster', 'dpm', 'ovirt'] as const;
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
  /** pss, msbs: windows of heavy load inside the VMs (µs; light outside them) and when the clients' accesses stop (µs; absent: never). */
  load?: { heavy: Array<[number, number]>; accessesEndUs?: number };
  /** The scenario places the store (a node "store" of its own): a host whose link is down loses it too. */
  storePlaced?: boolean;
  /** Knobs of the newer systems (lbcluster: advertInt, retry, preempt, ...; navigator: lease). */
  knobs?: Record<string, number | boolean>;
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

/** Names of the generated system of a policy: hosts (with services), VMs, clients, and what each fault kind may hit. */
export interface SystemNames {
  /** The policy keeps records in the store (partitions may then cut it off). */
  usesStore?: boolean;
  hosts: string[];
  serviceHosts: string[];
  vms: string[];
  clients: string[];
  /** Targets of St1/St2 (default: serviceHosts and vms), of host faults (default: hosts), of vm-crash (default: vms). */
  serviceTargets?: string[];
  hostTargets?: string[];
  vmTargets?: string[];
}

/** PSS/MSBS: the experimental system of kitamura-2019 Fig. 11 cut to two service groups (mail, web). */
const PSS_GROUPS = [
  { name: 'Mail', type: 'NETWORK', spare: 'Ms', service: 'postfix', members: [{ vm: 'M1', host: 'RS1', vip: 'VIP1' }, { vm: 'M2', host: 'RS2', vip: 'VIP2' }] },
  { name: 'Web', type: 'CPU_NET', spare: 'Ws', service: 'httpd', members: [{ vm: 'W1', host: 'RS1', vip: 'VIP3' }, { vm: 'W2', host: 'RS3', vip: 'VIP4' }] },
] as const;
const PSS_MEMBERS = PSS_GROUPS.flatMap((g) => g.members.map((m) => ({ ...m, service: g.service })));

export function systemNames(policy: SwarmPolicy, n: number): SystemNames {
  if (policy === 'failover') return { hosts: ['web1', 'mgr', 'vmhost'], serviceHosts: ['web1'], vms: ['web1b'], clients: ['c-web1'] };
  if (policy === 'pss' || policy === 'msbs') {
    const members = PSS_MEMBERS.map((m) => m.vm);
    const spares = PSS_GROUPS.map((g) => g.spare);
    const backups = members.map((m) => `${m}b`);
    const clients = PSS_MEMBERS.map((m) => `c-${m.vip}`);
    // The PSS alone recovers nothing: its faults are the manager's (cut off, paused) and partitions.
    if (policy === 'pss') return { usesStore: true, hosts: ['mgmt', 'RS1', 'RS2', 'RS3'], serviceHosts: [], vms: [...members, ...spares], clients, serviceTargets: [], hostTargets: ['mgmt'], vmTargets: [] };
    return { usesStore: true, hosts: ['mgmt', 'RS1', 'RS2', 'RS3'], serviceHosts: [], vms: [...members, ...spares, ...backups], clients, serviceTargets: members, hostTargets: ['RS1', 'RS2', 'RS3', 'mgmt'], vmTargets: [...members, ...backups] };
  }
  if (policy === 'dpm' || policy === 'ovirt') {
    // The host-power baselines recover nothing (no restart of a VM or a daemon): their faults are
    // the manager's (restart, shutdown, pause, link) and partitions, healed or not.
    return { hosts: ['mgmt', 'RS1', 'RS2', 'RS3'], serviceHosts: [], vms: PSS_MEMBERS.map((m) => m.vm), clients: PSS_MEMBERS.map((m) => `c-${m.vip}`), serviceTargets: [], hostTargets: ['mgmt'], vmTargets: [] };
  }
  if (policy === 'navigator') {
    const hosts = Array.from({ length: Math.max(3, Math.min(4, n)) }, (_, i) => `pc${i + 1}`);
    return { usesStore: true, hosts, serviceHosts: [], vms: ['nav-a', 'nav-b'], clients: ['c-nav'] };
  }
  if (policy === 'lbcluster') {
    const directors = n >= 4 ? ['d1', 'd2', 'd3'] : ['d1', 'd2'];
    const reals = Array.from({ length: n }, (_, i) => `ap${i + 1}`);
    return { hosts: [...directors, ...reals], serviceHosts: [...directors, ...reals], vms: [], clients: ['c-lb'], vmTargets: [] };
  }
  const hosts = Array.from({ length: n }, (_, i) => `S${i + 1}`);
  return { usesStore: true, hosts, serviceHosts: hosts, vms: hosts.map((h) => `${h}b`), clients: hosts.map((h) => `c-${h}`) };
}

const AT_S = [4, 10, 15, 20, 30, 45, 60];
const DURATIONS_US = [1, 1 * S, 4 * S, 8_150_001, 15 * S, 43 * S, 68 * S];

const faultAt = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...AT_S), fc.constantFrom(0, 0, 0, 1, 250_001, 1_500_000)).map(([s, off]) => s * S + off) },
  fc.tuple(fc.constantFrom(10, 20), fc.constantFrom(20, 40)).map(([min, max]) => ({ dist: { kind: 'uniform' as const, min, max } })),
);
const faultHealing = fc.option(fc.constantFrom(...DURATIONS_US), { nil: undefined, freq: 4 });

/**
 * Cuts of the store (its node, DEFAULT_STORE_NODE) for a schedule of a policy that uses it: in
 * about one schedule in four, a partition between some hosts and the store, or the store on one
 * side of a partition the schedule has. Drawn after the schedule itself (a chain), so the
 * schedules drawn before the store was a node stay what they were, each with or without a cut.
 */
function withStoreCuts(arb: fc.Arbitrary<Schedule>): fc.Arbitrary<Schedule> {
  return arb.chain((s) => {
    const names = systemNames(s.policy, s.group.length || 4);
    if (!names.usesStore) return fc.constant(s);
    const partitions = s.faults.flatMap((f, i) => (f.kind === 'partition' ? [i] : []));
    const own = fc.record({
      kind: fc.constant('partition'),
      a: fc.subarray(names.hostTargets ?? names.hosts, { minLength: 1 }),
      b: fc.constant<string[]>([DEFAULT_STORE_NODE]),
      oneWay: fc.boolean(),
      at: faultAt,
      duration: faultHealing,
    }, { requiredKeys: ['kind', 'a', 'b', 'oneWay', 'at'] }).map((f): Schedule => ({ ...s, faults: [...s.faults, f] }));
    const joined = partitions.length === 0 ? own : fc.tuple(fc.constantFrom(...partitions), fc.constantFrom('a' as const, 'b' as const)).map(([i, side]): Schedule => ({
      ...s,
      faults: s.faults.map((f, j) => (j === i ? { ...f, [side]: [...(f[side] ?? []), DEFAULT_STORE_NODE] } : f)),
    }));
    const placed = fc.constant<Schedule>({ ...s, storePlaced: true });
    return fc.oneof({ weight: 12, arbitrary: fc.constant(s) }, { weight: 2, arbitrary: own }, { weight: 2, arbitrary: joined }, { weight: 2, arbitrary: placed });
  });
}

function faultArb(names: SystemNames): fc.Arbitrary<FaultPlan[]> {
  const at = faultAt;
  const healing = faultHealing;
  const host = fc.constantFrom(...(names.hostTargets ?? names.hosts));
  const nodes = [...names.hosts, ...names.vms, ...names.clients];
  const serviceTargets = names.serviceTargets ?? [...names.serviceHosts, ...names.vms];
  const vmTargets = names.vmTargets ?? names.vms;
  const one: fc.Arbitrary<FaultPlan> = fc.oneof(
    ...(serviceTargets.length ? [
      fc.record({ kind: fc.constant('St1'), target: fc.constantFrom(...serviceTargets), at }),
      fc.record({ kind: fc.constant('St2'), target: fc.constantFrom(...serviceTargets), mode: fc.constantFrom('freeze' as const, 'stop' as const), at }),
    ] : []),
    fc.record({ kind: fc.constantFrom('Nt1', 'host-restart'), target: host, at }),
    fc.record({ kind: fc.constantFrom('Nt2', 'host-shutdown'), target: host, at }),
    fc.record({ kind: fc.constant('host-fail'), target: host, at }),
    fc.record({ kind: fc.constant('pause'), target: host, at, duration: healing }, { requiredKeys: ['kind', 'target', 'at'] }),
    fc.record({ kind: fc.constant('link-down'), target: host, at, duration: healing }, { requiredKeys: ['kind', 'target', 'at'] }),
    ...(vmTargets.length ? [fc.record({ kind: fc.constant('vm-crash'), target: fc.constantFrom(...vmTargets), at })] : []),
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
  return withStoreCuts(drawSchedule(policy, safety));
}

function drawSchedule(policy: SwarmPolicy, safety?: 'paper' | 'hardened'): fc.Arbitrary<Schedule> {
  if (policy !== 'failover' && policy !== 'p2p') return newerScheduleArb(policy, safety);
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

/** Heavy-load windows (µs) and the end of the clients' accesses: the PSS's conditions change under the faults. */
const loadArb = fc.record({
  heavy: fc.array(fc.tuple(fc.constantFrom(0, 10, 25, 45, 70), fc.constantFrom(8, 20, 40)).map(([a, d]): [number, number] => [a * S, (a + d) * S]), { maxLength: 3 }),
  accessesEndUs: fc.option(fc.constantFrom(30 * S, 60 * S, 90 * S), { nil: undefined }),
}, { requiredKeys: ['heavy'] });

/** Random schedules of the systems added after failover and P2P (their own record, so those two keep their streams). */
function newerScheduleArb(policy: Exclude<SwarmPolicy, 'failover' | 'p2p'>, safety?: 'paper' | 'hardened'): fc.Arbitrary<Schedule> {
  const n = policy === 'navigator' ? fc.constantFrom(3, 4) : policy === 'lbcluster' ? fc.constantFrom(2, 3, 4, 5) : fc.constant(4);
  return n.chain((size) => {
    const names = systemNames(policy, size);
    const knobs: fc.Arbitrary<Record<string, number | boolean>> = policy === 'lbcluster'
      ? fc.record({ advertInt: fc.constantFrom(0.5, 1, 2), preempt: fc.boolean(), delayLoop: fc.constantFrom(1, 2, 3), retry: fc.constantFrom(0, 1, 2), delayBeforeRetry: fc.constantFrom(0.5, 1), garpDelay: fc.constantFrom(0, 0.5) })
      : fc.constant({});
    return fc.record({
      policy: fc.constant(policy),
      seed: fc.integer({ min: 1, max: 100_000 }),
      group: fc.constant<string[]>(policy === 'navigator' || policy === 'lbcluster' ? names.hosts : []),
      timing: fc.record({ interval: fc.constantFrom(2, 5, 10), restartWait: fc.constantFrom(20, 46) }),
      hostTimes: fc.array(fc.record({ bootS: hostDist, restartS: hostDist }), { minLength: names.hosts.length, maxLength: names.hosts.length }),
      vmTimes: fc.record({ resumeS: resumeDist, suspendS: suspendDist }),
      faults: faultArb(names),
      load: policy === 'pss' || policy === 'msbs' || policy === 'dpm' || policy === 'ovirt' ? loadArb : fc.constant(undefined),
      knobs,
    }).map((x): Schedule => {
      const o: Schedule = { ...x };
      if (o.load === undefined) delete o.load;
      if (safety) o.safety = safety;
      return o;
    });
  });
}

/** The faults of a schedule as a scenario holds them. */
function faultsOf(s: Schedule): Array<Record<string, unknown>> {
  return s.faults.map((f) => {
    const o: Record<string, unknown> = { kind: f.kind };
    if (f.target !== undefined) o.target = f.target;
    if (f.mode !== undefined) o.mode = f.mode;
    if (f.a !== undefined) Object.assign(o, { a: f.a, b: f.b, oneWay: f.oneWay });
    o.at = typeof f.at === 'number' ? `${f.at}us` : f.at;
    if (f.duration !== undefined) o.duration = `${f.duration}us`;
    return o;
  });
}

/** Policies whose manifest takes `safety: paper | hardened`. */
const HAS_SAFETY: ReadonlySet<string> = new Set(['failover', 'p2p', 'navigator', 'pss', 'msbs', 'lbcluster']);
function safetyOf(s: Schedule, block: Record<string, unknown>): void {
  if (s.safety && HAS_SAFETY.has(String(block.kind))) block.safety = s.safety;
}

const NETWORK = { latencyS: 0.0005, examS: 0.01, vipSetS: 0.1, commandS: 0.05 };
const mac = (i: number) => `02:00:00:00:00:${String(i + 1).padStart(2, '0')}`;

/** The system and policy block of failover and P2P (the first two generators). */
function classicSystem(s: Schedule): Record<string, unknown> {
  const size = s.policy === 'p2p' ? s.group.length : 3;
  const names = systemNames(s.policy, size);
  const svcOf = (h: string) => (s.policy === 'failover' ? 'svc0' : `svc${Number(h.slice(1)) - 1}`);
  const svc = (h: string) => [{ name: svcOf(h), examS: 0.01, restartS: 0 }];
  const hosts = names.hosts.map((h, i) => ({
    name: h,
    mac: mac(i),
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
  const policy = s.policy === 'failover'
    ? { kind: 'failover', manager: 'mgr', target: 'web1', service: 'svc0', vip: 'vip-web1', backupVm: 'web1b', backupHost: 'vmhost', interval: s.timing.interval, serviceTimeout: 1, networkTimeout: 1, recoveryWait: s.timing.restartWait }
    : { kind: 'p2p', group: s.group, interval: s.timing.interval, networkTimeout: 1, serviceTimeout: 1, restartWait: s.timing.restartWait, waitPoll: 1, decision: 0.25, examRetry: 0.1, loadInterval: s.timing.interval, reconcile: 30 };
  if (s.safety) Object.assign(policy, { safety: s.safety });
  return { hosts, vms, vips, clients, policies: [policy] };
}

/** PSS alone, or PSS and MSBS together (kitamura-2019 §3), on the two-group system. */
function pssSystem(s: Schedule): Record<string, unknown> {
  const names = systemNames(s.policy, 4);
  const hosts = names.hosts.map((h, i) => ({
    name: h, mac: mac(i), cores: 4, memMb: h === 'mgmt' ? 16384 : 8192, memUsedMb: 1024,
    bootS: s.hostTimes[i].bootS, restartS: s.hostTimes[i].restartS, suspendS: 1, resumeS: 2,
  }));
  const vm = (name: string, service: string, extra: Record<string, unknown>) => ({
    name, services: [{ name: service, examS: 0.01 }], memMb: 2048, fileServer: 'mgmt', startS: 3, startCachedS: 2, ...extra,
  });
  const vms: Array<Record<string, unknown>> = [
    ...PSS_MEMBERS.map((m) => vm(m.vm, m.service, { host: m.host, state: 'running' })),
    ...PSS_GROUPS.map((g) => vm(g.spare, g.service, { state: 'suspended', resumeS: s.vmTimes.resumeS, suspendS: s.vmTimes.suspendS })),
  ];
  if (s.policy === 'msbs') vms.push(...PSS_MEMBERS.map((m) => vm(`${m.vm}b`, m.service, { host: 'mgmt', state: 'suspended', resumeS: s.vmTimes.resumeS, suspendS: s.vmTimes.suspendS })));
  const vips = PSS_MEMBERS.map((m) => ({ name: m.vip, service: m.service, holder: m.vm }));
  const clients = PSS_MEMBERS.map((m) => ({ name: `c-${m.vip}`, vip: m.vip, intervalS: 1 }));
  const load = s.load ?? { heavy: [] };
  const serving = [...PSS_MEMBERS.map((m) => m.vm), ...PSS_GROUPS.map((g) => g.spare)];
  const vmLoad = serving.flatMap((v) => [
    { vm: v, memMb: 256, cpuPct: 5, netBytesPerS: 100000 },
    ...load.heavy.map(([a, b]) => ({ vm: v, start: `${a}us`, end: `${b}us`, memMb: 1024, cpuPct: 40, netBytesPerS: 2000000 })),
    { vm: v, start: '0s', ...(load.accessesEndUs !== undefined ? { end: `${load.accessesEndUs}us` } : {}), accessesPerS: 5 },
  ]);
  const interval = Math.min(s.timing.interval, 5);
  const pss: Record<string, unknown> = {
    kind: 'pss', manager: 'mgmt',
    groups: PSS_GROUPS.map((g) => ({ name: g.name, type: g.type, spare: g.spare, members: g.members.map((m) => ({ ...m })) })),
    ps1Base: ['RS1', 'RS2'], ps2Base: 'RS1', interval, samples: 2, thresholds: { light: 20, moderate: 30 }, lightCount: 2,
    accessThreshold: 0, accessWindow: 2 * interval, monitorPerS: 1,
  };
  const policies: Array<Record<string, unknown>> = [pss];
  if (s.policy === 'msbs') {
    pss.sif = 'mgmt';
    const msbs: Record<string, unknown> = {
      kind: 'msbs', manager: 'mgmt', targets: PSS_MEMBERS.map((m) => ({ vm: m.vm, backup: `${m.vm}b`, realServer: m.host })),
      spares: PSS_GROUPS.map((g) => g.spare), interval: s.timing.interval, networkTimeout: 1, serviceTimeout: 1,
      recoveryWait: s.timing.restartWait, restartWait: s.timing.restartWait, bootWait: s.timing.restartWait,
    };
    safetyOf(s, msbs);
    policies.push(msbs);
  }
  safetyOf(s, pss);
  return { lbMonitorPerS: 1, hosts, vms, vips, clients, vmLoad, policies };
}

/**
 * The host-power baselines (dpm, ovirt) on the PSS's two groups without spares or backups: M1 W1
 * on RS1, M2 on RS2, W2 on RS3, live migration, and their windows cut to a few intervals so that
 * consolidations (idle) and wakes (the heavy windows) happen within a run.
 */
function hostPowerSystem(s: Schedule): Record<string, unknown> {
  const hosts = ['mgmt', 'RS1', 'RS2', 'RS3'].map((h, i) => ({
    name: h, mac: mac(i), cores: 2, memMb: h === 'mgmt' ? 16384 : 8192, memUsedMb: 1024,
    bootS: s.hostTimes[i].bootS, restartS: s.hostTimes[i].restartS, suspendS: 1, resumeS: 2,
  }));
  const vms = PSS_MEMBERS.map((m) => ({ name: m.vm, host: m.host, state: 'running', memMb: 2048, services: [{ name: m.service, examS: 0.01 }], migrateS: 2 }));
  const vips = PSS_MEMBERS.map((m) => ({ name: m.vip, service: m.service, holder: m.vm }));
  const clients = PSS_MEMBERS.map((m) => ({ name: `c-${m.vip}`, vip: m.vip, intervalS: 1 }));
  const load = s.load ?? { heavy: [] };
  const vmLoad = PSS_MEMBERS.flatMap((m) => [
    { vm: m.vm, memMb: 256, cpuPct: 5, netBytesPerS: 100000 },
    ...load.heavy.map(([a, b]) => ({ vm: m.vm, start: `${a}us`, end: `${b}us`, memMb: 1280, cpuPct: 90, netBytesPerS: 2000000 })),
  ]);
  const iv = s.timing.interval;
  const policy: Record<string, unknown> = {
    kind: s.policy, manager: 'mgmt', hosts: ['RS1', 'RS2', 'RS3'],
    vms: PSS_GROUPS.flatMap((g) => g.members.map((m) => ({ vm: m.vm, group: g.name, vip: m.vip }))), interval: iv,
    ...(s.policy === 'dpm' ? { powerOnWindow: 3 * iv, powerOffWindow: 6 * iv } : { duration: 2 * iv }),
  };
  return { hosts, vms, vips, clients, vmLoad, policies: [policy] };
}

/** Navigator (wong-2014) on 3 or 4 PCs with a small container image (short copies). */
function navigatorSystem(s: Schedule): Record<string, unknown> {
  const hosts = s.group.map((h, i) => ({ name: h, mac: mac(i), bootS: s.hostTimes[i].bootS, restartS: s.hostTimes[i].restartS }));
  const vms = ['nav-a', 'nav-b'].map((name) => ({ name, state: 'defined', memMb: 1024, startS: 2, services: [{ name: 'mon', examS: 0.01 }] }));
  const iv = s.timing.interval;
  const nav: Record<string, unknown> = {
    kind: 'navigator', start: 'pc1', containers: ['nav-a', 'nav-b'], service: 'mon', vip: 'vip-nav',
    imageBytes: 1e6, syncBytes: 1000, syncInterval: 2 * iv, primaryCheck: iv, secondaryCheck: 2 * iv, pingTimeout: 1, uptimeWait: 1,
    lease: true, leaseTtl: 3 * iv,
  };
  safetyOf(s, nav);
  return { hosts, vms, vips: [{ name: 'vip-nav', service: 'mon' }], clients: [{ name: 'c-nav', vip: 'vip-nav' }], policies: [nav] };
}

/** lbcluster: two or three VRRP directors and 2-5 checked real servers behind one VIP. */
function lbSystem(s: Schedule): Record<string, unknown> {
  const k = s.knobs ?? {};
  const directors = s.group.filter((h) => h.startsWith('d'));
  const reals = s.group.filter((h) => h.startsWith('ap'));
  const hosts = s.group.map((h, i) => ({
    name: h, mac: mac(i), bootS: s.hostTimes[i].bootS, restartS: s.hostTimes[i].restartS,
    services: [h.startsWith('d') ? { name: 'keepalived', examS: 0.001 } : { name: 'plm', examS: 0.002 }],
  }));
  const lb: Record<string, unknown> = {
    kind: 'lbcluster', instance: 'VI_1', vip: 'vip-lb',
    directors: directors.map((h, i) => ({ host: h, priority: 150 - 50 * i })),
    advertInt: k.advertInt ?? 1, preempt: k.preempt ?? true, garpDelay: k.garpDelay ?? 0,
    realServers: reals.map((h, i) => ({ host: h, weight: 1 + (i % 3) })), service: 'plm',
    checker: { delayLoop: k.delayLoop ?? 3, connectTimeout: 1, retry: k.retry ?? 1, delayBeforeRetry: k.delayBeforeRetry ?? 1 },
  };
  safetyOf(s, lb);
  return {
    hosts, vms: [], vips: [{ name: 'vip-lb', service: 'plm', pool: 'vip-lb' }],
    clients: [{ name: 'c-lb', vip: 'vip-lb', intervalS: 1, phaseS: 0.25 }], policies: [lb],
  };
}

/** The scenario of a schedule (raw, as a YAML file would hold it). */
export function scheduleScenario(s: Schedule): Record<string, unknown> {
  const system = s.policy === 'failover' || s.policy === 'p2p' ? classicSystem(s)
    : s.policy === 'pss' || s.policy === 'msbs' ? pssSystem(s)
    : s.policy === 'navigator' ? navigatorSystem(s)
    : s.policy === 'dpm' || s.policy === 'ovirt' ? hostPowerSystem(s)
    : lbSystem(s);
  const { policies, ...world } = system;
  const raw: Record<string, unknown> = {
    name: `swarm-${s.policy}`,
    until: '100000s',
    network: NETWORK,
    contention: { ioFraction: 0 },
    ...world,
    ...(s.storePlaced ? { store: { node: DEFAULT_STORE_NODE } } : {}),
    faults: faultsOf(s),
    policies,
    seed: s.seed,
  };
  // Run until every fault has happened and healed, plus the checkers' grace bound and a margin.
  const parsed = scenarioSchema.parse(raw);
  const lastUs = Math.max(0, ...s.faults.map((f) => (typeof f.at === 'number' ? f.at : f.at.dist.max * S) + (f.duration ?? 0)), ...(s.load?.heavy.map(([, b]) => b) ?? []), s.load?.accessesEndUs ?? 0);
  raw.until = `${Math.ceil((lastUs + checkModel(parsed).graceUs) / S) + 20}s`;
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

/**
 * Runs a schedule (as data: what a worker gets). The scenario schema parses it directly: the YAML
 * round trip and the loader's checks (20 ms a run, most of a failover run's cost) give the same
 * scenario for generated data; `validScenario` checks that on demand (the CI test does).
 */
export function runRaw(raw: Record<string, unknown>): RunVerdict {
  const { result: _r, ...v } = runAndCheck(scenarioSchema.parse(raw));
  void _r;
  return v;
}

/** The scenario of a raw schedule as `hatwin sim` loads its file (YAML, every loader check). */
export function validScenario(raw: Record<string, unknown>): Scenario {
  return parseScenario(stringify(raw), `swarm-${String(raw.name)}`);
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

const emptyKeys = (): Record<SwarmKey, number> => ({ S1: 0, S2: 0, S3: 0, S4: 0, S5: 0, L1: 0, L2: 0, crash: 0 });

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
