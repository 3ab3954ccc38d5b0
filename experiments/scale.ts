// The `scale` experiment (bench suite, not `npm start`): N servers under P2P management (one
// ring of the paper's design, kitamura-2018) or under `failover` blocks, over a day, a month and a
// year, with a sparse fault rate and with none. Measures wall time, peak RSS, kernel events and
// events per simulated host-day. `node bin/tsnode.js bench/scale.ts` runs it (docs/scale.md).
import { RngStreams } from '../sim/kernel/rng.ts';
import { scenarioProblems, scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import { buildSimulation } from '../run/sim.ts';
import { checkPolicies } from '../run/policies.ts';

export type ScalePolicy = 'p2p' | 'failover';

export interface ScaleCase {
  policy: ScalePolicy;
  /** Servers (P2P: the ring's members; failover: targets, each managed by the next server). */
  n: number;
  days: number;
  /** Faults per server per simulated year (0: none). */
  faultsPerHostYear: number;
  seed: number;
}

export const DAY_US = 86_400_000_000;

// Faults the policies repair (a stopped daemon, a server restart); a server shut down for good (Nt2
// under failover) is polled each interval until it returns, which is the per-tick cost docs/scale.md lists.
const FAULT_KINDS = ['St1', 'Nt1'] as const;

/** Fault times: a Poisson process per server (exponential gaps), kinds drawn uniformly; in time order. */
function faultsOf(c: ScaleCase, names: readonly string[]): Array<{ kind: string; target: string; at: number }> {
  if (c.faultsPerHostYear <= 0) return [];
  const endUs = c.days * DAY_US;
  const meanUs = (365 * DAY_US) / c.faultsPerHostYear;
  const out: Array<{ kind: string; target: string; at: number }> = [];
  const rng = new RngStreams(c.seed);
  for (const target of names) {
    const r = rng.stream(`scale/fault/${target}`);
    // The first hour is left quiet (everything settles), and faults on one server are an hour apart at least.
    for (let at = 3_600_000_000 + Math.floor(-Math.log(1 - r.next()) * meanUs); at < endUs; at += 3_600_000_000 + Math.floor(-Math.log(1 - r.next()) * meanUs)) {
      out.push({ kind: FAULT_KINDS[Math.floor(r.next() * FAULT_KINDS.length)], target, at });
    }
  }
  return out.sort((a, b) => a.at - b.at || (a.target < b.target ? -1 : 1));
}

const mac = (i: number): string => {
  const h = (i + 1).toString(16).padStart(12, '0');
  return h.match(/../g)!.join(':');
};

/** The scenario of a case, as a document (what a scenario file would hold). */
export function scaleDocument(c: ScaleCase): Record<string, unknown> {
  const names = Array.from({ length: c.n }, (_, i) => `s${i}`);
  const hosts = names.map((name, i) => ({
    name, mac: mac(i), serverType: (['CPU', 'NETWORK', 'CPU_NET'] as const)[i % 3], memMb: 8192, memUsedMb: 7168,
    services: [{ name: 'httpd', examS: 0.05 }], bootS: 56.67, restartS: 58.51,
  }));
  const vms = names.map((name, i) => ({
    name: `${name}b`, services: [{ name: 'httpd', examS: 0.05 }], resumeS: 4.67, startS: 42.84,
    ...(c.policy === 'failover' ? { host: names[(i + 2) % c.n] } : {}),
  }));
  const vips = names.map((name) => ({ name: `vip-${name}`, service: 'httpd', holder: name }));
  const clients = names.map((name) => ({ name: `client-${name}`, vip: `vip-${name}`, phaseS: 'random' }));
  const policies = c.policy === 'p2p'
    ? [{ kind: 'p2p', group: names, interval: '10s', networkTimeout: '2s', serviceTimeout: '3s', restartWait: '88s' }]
    : names.map((name, i) => ({
      kind: 'failover', manager: names[(i + 1) % c.n], target: name, service: 'httpd', vip: `vip-${name}`,
      backupVm: `${name}b`, backupHost: names[(i + 2) % c.n], interval: '10s', serviceTimeout: '3s', networkTimeout: '2s', recoveryWait: '5m',
    }));
  const faults = faultsOf(c, names).map((f) => ({ ...f, at: f.at / 1e6 }));
  return { name: `scale-${c.policy}-${c.n}-${c.days}d`, seed: c.seed, until: c.days * 86_400, hosts, vms, vips, clients, faults, policies };
}

/** The scenario of a case, validated as the loader validates a file (schema, cross-references, policies). */
export function scaleScenario(c: ScaleCase): Scenario {
  const s = scenarioSchema.parse(scaleDocument(c));
  const problems = [...scenarioProblems(s), ...checkPolicies(s)];
  if (problems.length > 0) throw new Error(`scale scenario: ${problems.slice(0, 5).map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  return s;
}

export interface ScaleResult extends ScaleCase {
  faults: number;
  /** Kernel events fired. */
  events: number;
  /** Trace events emitted (counted, not kept). */
  traceEvents: number;
  setupMs: number;
  runMs: number;
  events_per_host_day: number;
}

/** Runs one case in this process; the trace is counted, not kept. Wall times come from `clock`. */
export function runScale(c: ScaleCase, clock: () => number): ScaleResult {
  const t0 = clock();
  const s = scaleScenario(c);
  let traceEvents = 0;
  const sim = buildSimulation(s, { seed: c.seed, keepEvents: false, onEvent: () => void traceEvents++ });
  const t1 = clock();
  sim.run();
  const t2 = clock();
  const events = sim.kernel.eventCount;
  return {
    ...c, faults: s.faults.length, events, traceEvents, setupMs: t1 - t0, runMs: t2 - t1,
    events_per_host_day: events / (c.n * c.days),
  };
}
