// Whatever `hatwin check` accepts, `hatwin sim` runs: random scenario documents, built field by
// field from the schema with edge values mixed in (0, tiny, huge, negative, missing, values of
// the wrong type, names nobody declared, faults aimed at the wrong kind of thing, policy blocks
// of both kinds with random periods), go through the YAML loader like a user's file. A document
// the loader rejects must be rejected with a ScenarioError (never another exception); one it
// accepts must run to its `until` without throwing and within a bounded number of kernel events
// per simulated second (a loop that spins at one instant exhausts the budget and fails).
//
// A failure prints fast-check's seed and path; replay it with
//   HATWIN_FC_SEED=<seed> HATWIN_FC_PATH=<path> npx vitest run test/scenario-fuzz.test.ts
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import YAML from 'yaml';
import { buildSimulation, parseScenario } from '../run/sim.ts';
import { ScenarioError } from '../sim/scenario/load.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { fcParams } from './helpers/fc-params.ts';

const S = 1_000_000;
const HOSTS = ['h0', 'h1', 'h2', 'h3'];
const VMS = ['v0', 'v1', 'v2', 'v3'];
const CLIENTS = ['c0', 'c1'];
const VIPS = ['vip0', 'vip1', 'vip2', 'vip3'];
const SERVICES = ['httpd', 'sshd'];
const FAULT_KINDS = ['St1', 'St2', 'Nt1', 'Nt2', 'host-restart', 'host-shutdown', 'host-fail', 'pause', 'link-down', 'vm-crash', 'partition'] as const;
const HEALED = new Set(['pause', 'link-down', 'partition']);

/** Values of the wrong kind or out of range, for any field. */
const WRONG = [-1, -1e-9, 1e300, 'x', true, null, [], {}, '', 1e-300];

/**
 * A field's value: `sane` mostly; with probability `chaos` per mille one of `edges` (valid
 * extremes or plain mistakes) or of WRONG; missing (undefined) with a quarter of that.
 */
function field<T>(chaos: number, sane: fc.Arbitrary<T>, edges: readonly unknown[] = []): fc.Arbitrary<unknown> {
  if (chaos === 0) return sane;
  return fc.tuple(fc.noBias(fc.integer({ min: 0, max: 999 })), sane, fc.constantFrom(...edges, ...WRONG))
    .map(([r, v, e]) => (r < chaos / 4 ? undefined : r < chaos ? e : v));
}

/** `sane`, or one of `edges` (no WRONG values) in `percent` of draws: edges a check must catch. */
const often = <T>(percent: number, sane: fc.Arbitrary<T>, edges: readonly unknown[]): fc.Arbitrary<unknown> =>
  fc.tuple(fc.noBias(fc.integer({ min: 0, max: 99 })), sane, fc.constantFrom(...edges)).map(([r, v, e]) => (r < percent ? e : v));

/** A name: mostly one of `pool`, sometimes a name nobody declared, a name of another kind of thing, or not a name. */
const nameFrom = (chaos: number, pool: readonly string[]) => field(chaos, fc.constantFrom(...pool), ['ghost', 'h0', 'v0', 'c0', 'vip0', 'httpd', '1bad', 'constructor']);

const DURATION_EDGES = [0, '0s', 1e-9, '1us', '1ms', 0.0005, '36525d', 3_155_760_000, '36526d', 1e15, -5, '10 parsecs', '1e300', 'NaN'];
const duration = (chaos: number, maxS: number) =>
  field(chaos, fc.oneof(fc.integer({ min: 0, max: maxS }), fc.integer({ min: 0, max: maxS * 1000 }).map((ms) => `${ms}ms`)), DURATION_EDGES);
/** A loop's period: the schema wants >= 1 ms. Edges here in one field of six, whatever the chaos: a period of 0 is what made sim spin. */
const period = (chaos: number) => field(Math.max(chaos, 160), fc.constantFrom('1ms', '50ms', '1s', '2s', '10s', '90s'), [0, '0s', 1e-9, '1us', '999us', '1ms', 0.001, '36525d']);

const DIST_EDGES = [
  0, 1e-9, 3_155_760_000, 3_155_760_001,
  { kind: 'lognormal', mu: 800, sigma: 1 }, { kind: 'lognormal', mu: 2, sigma: 2 }, { kind: 'lognormal', mu: -50, sigma: 0 },
  { kind: 'normal', mean: -5, sd: 1 }, { kind: 'normal', mean: 5, sd: 1, min: 10, max: 3 }, { kind: 'normal', mean: 1e9, sd: 1e9 },
  { kind: 'normal', mean: 0, sd: 0 }, { kind: 'normal', mean: 3, sd: 100, min: 0, max: 0 }, { kind: 'normal', mean: 1e9, sd: 1, max: 2 },
  { kind: 'uniform', min: 5, max: 1 }, { kind: 'uniform', min: 0, max: 3e9 },
  { kind: 'exponential', mean: 0 }, { kind: 'exponential', mean: 1e8 }, { kind: 'exponential', mean: 1e-12 },
  { kind: 'empirical', values: [] }, { kind: 'empirical', values: [0, 0, 1e9] },
  { kind: 'constant' }, { kind: 'gamma', shape: 2 }, { kind: 'constant', value: 1, extra: 2 },
  { kind: 'weibull', shape: 0.01, scale: 1 }, { kind: 'weibull', shape: 0.5, scale: 0 }, { kind: 'weibull', shape: 0.1, scale: 1e6 },
];
/** Distributions whose draws can exceed the simulated time range (or are infinite). */
const OUT_OF_RANGE = [
  { kind: 'lognormal', mu: 800, sigma: 1 }, { kind: 'lognormal', mu: 20, sigma: 1 }, { kind: 'exponential', mean: 1e8 },
  { kind: 'normal', mean: 1e9, sd: 1e9 }, { kind: 'uniform', min: 0, max: 4e9 }, { kind: 'empirical', values: [0, 4e9] },
  { kind: 'weibull', shape: 0.1, scale: 1e6 },
];
const dist = (chaos: number, maxS: number) => field(chaos, fc.oneof(
  fc.integer({ min: 0, max: maxS }),
  fc.integer({ min: 0, max: maxS }).map((value) => ({ kind: 'constant', value })),
  fc.tuple(fc.integer({ min: 0, max: maxS }), fc.integer({ min: 0, max: maxS })).map(([a, b]) => ({ kind: 'uniform', min: Math.min(a, b), max: Math.max(a, b) })),
  fc.tuple(fc.integer({ min: 0, max: maxS }), fc.integer({ min: 0, max: 10 })).map(([mean, sd]) => ({ kind: 'normal', mean, sd, min: 0 })),
  fc.integer({ min: 1, max: Math.max(1, maxS) }).map((mean) => ({ kind: 'exponential', mean })),
  fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 10 })).map(([mu, sd]) => ({ kind: 'lognormal', mu, sigma: sd / 10 })),
  fc.array(fc.integer({ min: 0, max: maxS }), { minLength: 1, maxLength: 4 }).map((values) => ({ kind: 'empirical', values })),
  fc.tuple(fc.integer({ min: 5, max: 30 }), fc.integer({ min: 1, max: Math.max(1, maxS) })).map(([k10, scale]) => ({ kind: 'weibull', shape: k10 / 10, scale })),
), DIST_EDGES);

const num = (chaos: number, lo: number, hi: number, edges: readonly unknown[] = [0, 1e-9, 1e12, 1e13, -1]) => field(chaos, fc.integer({ min: lo, max: hi }), edges);

const service = (chaos: number, name: string) => fc.record({
  name: field(chaos, fc.constant(name), ['httpd', 'sshd', '1bad']),
  examS: field(chaos, fc.constantFrom(0.01, 0.05, 0.5, 2), [0, 1e-9, 3600, 3601, 1e12]),
  restartS: dist(chaos, 3),
});
/** Services of a host or VM: mostly both (so VIPs, faults and policies find them), else fewer. */
const services = (chaos: number) => field(chaos, fc.constantFrom(['httpd', 'sshd'], ['httpd']).chain((names) => fc.tuple(...names.map((n) => service(chaos, n)))), [[]]);

const host = (chaos: number, i: number) => fc.record({
  name: field(chaos, fc.constant(HOSTS[i]), ['v0', 'c0', HOSTS[0]]),
  mac: field(chaos, fc.constant(`02:00:00:00:00:0${i}`), ['nonsense']),
  state: field(chaos, fc.constantFrom('on', 'on', 'on', 'on', 'off', 'suspended'), ['paused', 'failed']),
  services: services(chaos),
  cores: num(chaos, 1, 16, [0, 1, 1_000_000, 1.5, 1e7]),
  memMb: num(chaos, 1024, 65536),
  cpuBusyPct: num(chaos, 0, 400),
  netBytesPerS: num(chaos, 0, 1e8),
  linkBps: num(chaos, 1e6, 1e10, [1e-9, 1, 0, 1e12]),
  bootS: dist(chaos, 90),
  restartS: dist(chaos, 90),
  suspendS: dist(chaos, 10),
  resumeS: dist(chaos, 10),
});

const vm = (chaos: number, i: number, hosts: string[]) => fc.record({
  name: field(chaos, fc.constant(VMS[i]), ['h0']),
  host: field(chaos, fc.constantFrom(null, ...hosts), ['ghost', 'v1', 'h3']),
  state: field(chaos, fc.constantFrom('suspended', 'suspended', 'defined', 'running'), ['crashed']),
  services: services(chaos),
  memMb: num(chaos, 512, 8192),
  cpuPct: num(chaos, 0, 200),
  startS: dist(chaos, 60),
  resumeS: dist(chaos, 10),
  suspendS: dist(chaos, 5),
  destroyS: dist(chaos, 5),
}).map((v) => (v.state === 'running' && v.host === null && chaos < 100 ? { ...v, host: hosts[0] } : v));

/** A fault: its kind decides which fields it has, unless chaos adds the others. */
const fault = (chaos: number, untilS: number, hosts: string[], vms: string[], clients: string[]) => {
  const nodes = [...hosts, ...vms, ...clients];
  const side = fc.subarray(nodes, { minLength: 1, maxLength: Math.min(3, nodes.length) });
  return fc.record({
    kind: field(chaos, fc.constantFrom(...FAULT_KINDS), ['St9']),
    host: nameFrom(chaos, hosts),
    vm: nameFrom(chaos, vms.length ? vms : ['v0']),
    node: nameFrom(chaos, [...hosts, ...vms]),
    // One St fault in ten names a service its target may not run.
    service: field(chaos, often(10, fc.option(fc.constant('httpd'), { nil: undefined }), ['smtp', 'sshd'])),
    mode: field(chaos, fc.option(fc.constantFrom('freeze', 'stop'), { nil: undefined })),
    a: field(chaos, side),
    b: field(chaos, side),
    oneWay: field(chaos, fc.boolean()),
    // A fault time's distribution is drawn at the start: one in ten is out of range (lognormal mu 800, ...).
    at: fc.oneof(duration(chaos, untilS), often(10, dist(chaos, untilS), OUT_OF_RANGE).map((d) => ({ dist: d }))),
    duration: field(chaos, duration(chaos, untilS)),
    wrongTarget: fc.noBias(fc.integer({ min: 0, max: 999 })),
    extraFields: fc.noBias(fc.integer({ min: 0, max: 999 })),
  }).map((f) => {
    const o: Record<string, unknown> = { kind: f.kind, at: f.at };
    const extra = f.extraFields < chaos;
    // One fault in ten is aimed at any host or VM, whatever its kind needs (vm-crash at a host, ...).
    const target = f.wrongTarget < 100 ? f.node : undefined;
    if (f.kind === 'partition' || extra) {
      o.a = f.a;
      o.b = f.b;
      if (Array.isArray(f.a) && Array.isArray(f.b) && !extra) {
        // Disjoint sides: what b shares with a goes, and b takes a's last member if it is left empty.
        const a = [...f.a];
        const b = f.b.filter((n) => !a.includes(n));
        if (b.length === 0 && a.length > 1) b.push(a.pop()!);
        o.a = a;
        o.b = b.length ? b : f.b;
      }
      o.oneWay = f.oneWay;
    }
    if (f.kind === 'vm-crash') o.target = target ?? f.vm;
    else if (f.kind === 'St1' || f.kind === 'St2') o.target = target ?? f.node;
    else if (f.kind !== 'partition' || extra) o.target = target ?? f.host;
    if (f.kind === 'St1' || f.kind === 'St2' || extra) o.service = f.service;
    if (f.kind === 'St2' || extra) o.mode = f.mode;
    if (HEALED.has(String(f.kind)) || extra) o.duration = f.duration;
    return o;
  });
};

const failover = (chaos: number, hosts: string[], vms: string[], vips: string[]) => fc.record({
  kind: fc.constant('failover'),
  manager: nameFrom(chaos, hosts),
  target: nameFrom(chaos, hosts),
  service: nameFrom(chaos, ['httpd']),
  vip: nameFrom(chaos, vips.length ? vips : VIPS),
  backupVm: nameFrom(chaos, vms.length ? vms : VMS),
  backupHost: nameFrom(chaos, hosts),
  interval: period(chaos),
  serviceTimeout: period(chaos),
  networkTimeout: period(chaos),
  recoveryWait: duration(chaos, 300),
});

/** A P2P block: its group, with each member mapped to a backup VM (most of the time). */
const p2p = (chaos: number, hosts: string[], vms: string[]) => {
  const n = Math.min(hosts.length, vms.length);
  const group = n >= 2 ? fc.integer({ min: 2, max: n }).map((k) => hosts.slice(0, k)) : fc.constant(hosts.slice(0, 2));
  return fc.record({
    kind: fc.constant('p2p'),
    group: field(chaos, group, [['h0'], ['h0', 'h0'], ['h0', 'ghost']]),
    backupsOk: fc.noBias(fc.integer({ min: 0, max: 999 })),
    backups: field(chaos, fc.constant({}), [{ ghost: 'v0' }, { h0: 'ghost' }, { constructor: 'v0' }]),
    interval: period(chaos),
    networkTimeout: period(chaos),
    serviceTimeout: period(chaos),
    restartWait: duration(chaos, 120),
    waitPoll: period(chaos),
    decision: duration(chaos, 1),
    examRetry: period(chaos),
    loadInterval: period(chaos),
    reconcile: period(chaos),
  }).map(({ backupsOk, backups, ...b }) => {
    const g = Array.isArray(b.group) ? (b.group as unknown[]) : [];
    const mapped = Object.fromEntries(g.map((h, i) => [String(h), vms[i] ?? 'v0']));
    return { ...b, backups: backupsOk < chaos * 3 ? backups : mapped };
  });
};

/** Simulated lengths in seconds; long ones only without P2P (whose load loop ticks every loadInterval). */
const UNTIL_SHORT = [0, 1e-6, 1, 45, 180];
const UNTIL_LONG = [3600, 30 * 86_400, 36_525 * 86_400];

const dropUndefined = (x: unknown): unknown => {
  if (Array.isArray(x)) return x.map(dropUndefined);
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined).map(([k, v]) => [k, dropUndefined(v)]));
  return x;
};

/** Chaos levels (per mille of fields that get an edge value). */
const CHAOS = [0, 5, 10, 20, 20, 60, 200];

const arbDoc: fc.Arbitrary<Record<string, unknown>> = fc.constantFrom(...CHAOS).chain((chaos) =>
  fc.record({
    nHosts: fc.constantFrom(1, 2, 2, 3, 4),
    nVms: fc.constantFrom(0, 1, 2, 2, 3, 4),
    nClients: fc.integer({ min: 0, max: 2 }),
    policyKinds: fc.array(fc.constantFrom('failover', 'p2p'), { maxLength: 2 }),
    long: fc.boolean(),
  }).map((p) => ({
    ...p,
    // Sane policies need their parts: a backup VM for failover, two hosts with a VM each for P2P.
    policyKinds: chaos >= 60 ? p.policyKinds : p.policyKinds.filter((k) => (k === 'p2p' ? p.nHosts >= 2 && p.nVms >= 2 : p.nVms >= 1)),
  })).chain(({ nHosts, nVms, nClients, policyKinds, long }) => {
    const withP2p = policyKinds.includes('p2p');
    const hosts = HOSTS.slice(0, nHosts);
    const vms = VMS.slice(0, nVms);
    const vips = VIPS.slice(0, nHosts);
    const clients = CLIENTS.slice(0, nClients);
    const untilPool = withP2p || !long ? UNTIL_SHORT : [...UNTIL_SHORT, ...UNTIL_LONG];
    return fc.constantFrom(...untilPool).chain((untilS) => fc.record({
      name: field(chaos, fc.constant('fuzz'), ['1bad']),
      seed: field(chaos, fc.integer({ min: 0, max: 1000 }), [1.5, -3]),
      until: field(chaos, fc.constant(untilS), ['36526d', '9'.repeat(300), 1e300, -1, 'forever', 0, '1us']),
      network: field(chaos, fc.record({
        latencyS: field(chaos, fc.constantFrom(0, 0.0005, 0.01), [0, 3600, 3601]),
        examS: field(chaos, fc.constantFrom(0.01, 0.1), [1e-9, 0, 3600]),
        vipSetS: field(chaos, fc.constantFrom(0, 0.1), [0, 3600]),
        commandS: field(chaos, fc.constantFrom(0, 0.05), [0, 3600]),
      })),
      contention: field(chaos, fc.record({ ioFraction: field(chaos, fc.constantFrom(0, 0.3, 1), [1.5, -0.1]) })),
      hosts: fc.tuple(...hosts.map((_, i) => host(chaos, i))),
      vms: fc.tuple(...vms.map((_, i) => vm(chaos, i, hosts))),
      // One VIP per host, held by it, for httpd (P2P wants each member to hold one).
      vips: fc.tuple(...vips.map((v, i) => fc.record({
        name: nameFrom(chaos, [v]),
        service: nameFrom(chaos, ['httpd']),
        holder: field(chaos, fc.constant(hosts[i]), [null, 'ghost', ...vms]),
      }))),
      clients: fc.tuple(...clients.map((c, i) => fc.record({
        name: nameFrom(chaos, [c]),
        vip: nameFrom(chaos, [vips[i % vips.length]]),
        intervalS: num(chaos, 1, 5, [0.001, 0.0009, 0, 1e-9, 3_155_760_000, 1e12]),
        phaseS: field(chaos, fc.constantFrom(0, 0.5, 'random'), [1e12, 3_155_760_000]),
      }))),
      load: fc.array(fc.record({
        host: nameFrom(chaos, hosts),
        start: field(chaos, fc.integer({ min: 0, max: Math.floor(untilS) }), DURATION_EDGES),
        end: field(chaos, fc.option(fc.integer({ min: 0, max: Math.floor(untilS) }), { nil: undefined }), DURATION_EDGES),
        cpuPct: num(chaos, 0, 400, [1e12, 0]),
        memMb: num(chaos, 0, 4096),
        netBytesPerS: num(chaos, 0, 1e9, [1e12]),
        swap: fc.noBias(fc.integer({ min: 0, max: 9 })),
      }).map(({ swap, ...l }) => {
        // end >= start, but one load in ten the other way round.
        if (typeof l.start !== 'number' || typeof l.end !== 'number') return l;
        const [lo, hi] = [Math.min(l.start, l.end), Math.max(l.start, l.end)];
        return swap === 0 ? { ...l, start: hi, end: lo } : { ...l, start: lo, end: hi };
      }), { maxLength: 2 }),
      faults: fc.array(fault(chaos, Math.floor(untilS), hosts, vms, clients), { maxLength: 5 }),
      // Users switching PCs on and off: lab sessions, a renewal process, or a replayed trace.
      churn: fc.oneof(
        { weight: 9, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.record({ hosts: fc.subarray(hosts, { minLength: 1 }), days: num(chaos, 1, 3), sessionsPerDay: num(chaos, 0, 4), session: dist(chaos, Math.floor(untilS)) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('renewal'), hosts: fc.subarray(hosts, { minLength: 1 }), up: dist(chaos, Math.floor(untilS)), down: dist(chaos, Math.floor(untilS)) }) },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('trace'), hosts: fc.subarray(hosts, { minLength: 1, maxLength: Math.min(2, hosts.length) }), origin: fc.constant(0),
            events: fc.array(fc.record({ node: fc.constantFrom('n1', 'n2'), available: fc.boolean(), start: fc.integer({ min: 0, max: Math.floor(untilS) }), len: fc.integer({ min: 0, max: Math.floor(untilS) }) }), { maxLength: 6 })
              .map((xs) => [{ node: 'n1', available: true, start: 0, stop: 1 }, { node: 'n2', available: false, start: 0, stop: 1 }, ...xs.map(({ len, ...e }) => ({ ...e, stop: e.start + len }))]),
          }),
        },
      ),
      policies: fc.tuple(...policyKinds.map((k) => (k === 'p2p' ? p2p(chaos, hosts, vms) : failover(chaos, hosts, vms, vips)))),
    }));
  }).map((d) => dropUndefined(d) as Record<string, unknown>));

/**
 * Kernel events per simulated second a run may take: 3,000 for each host, VM, client and
 * program (every loop waits >= 1 ms per round, and an agent runs a few loops). A loop that
 * spins at one instant exceeds any such rate.
 */
function eventRate(s: Scenario): number {
  return 3_000 * (1 + s.hosts.length + s.vms.length + s.clients.length + s.policies.length * (1 + s.hosts.length));
}
/** Events per window, the events a window may take beyond the rate, and a cap per run (CI time). */
const WINDOW = 50_000;
const SLACK = 10_000;
const CAP = 200_000;

describe('scenario fuzz: what check accepts, sim runs', () => {
  it('every random document is rejected with a ScenarioError, or runs to its until within a bounded number of events per simulated second', () => {
    let accepted = 0;
    let rejected = 0;
    let reached = 0;
    fc.assert(
      fc.property(arbDoc, fc.integer({ min: 1, max: 1_000_000 }), (doc, seed) => {
        const text = YAML.stringify(doc);
        let scenario: Scenario;
        try {
          scenario = parseScenario(text, '<fuzz>');
        } catch (e) {
          if (!(e instanceof ScenarioError)) throw e;
          expect(e.problems.length).toBeGreaterThan(0);
          for (const p of e.problems) expect(p.line).toBeGreaterThanOrEqual(1);
          rejected++;
          return;
        }
        accepted++;
        const untilUs = scenario.until ?? 60 * S;
        const rate = eventRate(scenario);
        const sim = buildSimulation(scenario, { seed });
        const k = sim.kernel;
        // Run in windows of WINDOW events: each window must move simulated time on by at least
        // (WINDOW - SLACK) / rate seconds. A run that needs more than CAP events (a long `until`
        // with busy loops: bounded per second, but long) is checked up to there.
        for (;;) {
          const t0 = k.nowUs();
          const e0 = k.eventCount;
          sim.run(untilUs, WINDOW);
          const used = k.eventCount - e0;
          if (used < WINDOW) break;
          expect(used, `${used} events in ${(k.nowUs() - t0) / S} simulated s from t=${t0 / S} s (rate ${rate}/s)`).toBeLessThanOrEqual(SLACK + ((k.nowUs() - t0) / S) * rate);
          if (k.eventCount >= CAP) return;
        }
        // Reached `until`: nothing left at or before it, and the clock stands at it.
        expect(k.peekUs()).toBeGreaterThan(untilUs);
        expect(k.nowUs()).toBe(untilUs);
        reached++;
      }),
      fcParams(250),
    );
    // The generator must reach both sides of the loader, and most accepted runs their end. About
    // one document in five is accepted (40-62 of 250 over seeds 1-8): the bound leaves room for an
    // unlucky seed (40 accepted failed a CI run when it was 40) and still fails a generator that
    // stopped producing valid documents.
    expect(accepted).toBeGreaterThan(20);
    expect(rejected).toBeGreaterThan(40);
    expect(reached).toBeGreaterThan(accepted * 0.8);
  }, 120_000);
});
