// Random small scenarios for property tests: 2-5 hosts with services, 0-2 suspended backup VMs
// with random resume times, a VIP and its client, the failover policy when there is a backup VM,
// and 1-4 faults (St1, St2, Nt1, Nt2, pause, link-down, partition) at random instants, on the
// first watch's probe grid, or simultaneous with the previous fault.
//
// Scenarios are plain objects shaped like a scenario file; `simulate` validates them through the
// same YAML path a user's file takes (parseScenario(YAML.stringify(obj))).
import fc from 'fast-check';
import YAML from 'yaml';
import { buildSimulation, parseScenario } from '../../run/sim.ts';
import type { Simulation } from '../../adapters/sim/simulation.ts';
import { toNdjson } from '../../trace/ndjson.ts';
import type { WatchMode } from '../../engine/runtime/runtime.ts';
import type { TraceEvent } from '../../engine/ports/trace.ts';

const S = 1_000_000;

export type ScenarioObject = Record<string, unknown> & {
  hosts: Array<Record<string, unknown>>;
  faults: Array<Record<string, unknown>>;
  policies: Array<Record<string, unknown>>;
};

export interface GenOptions {
  /** Simulated length, seconds. */
  untilS?: { min: number; max: number };
}

/** A distribution in seconds, as a scenario file writes it. */
export const arbDist = (lo: number, hi: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.integer({ min: lo, max: hi }),
    fc.integer({ min: lo, max: hi }).map((value) => ({ kind: 'constant', value })),
    fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 0, max: hi })).map(([min, w]) => ({ kind: 'uniform', min, max: min + w })),
    fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 1, max: 30 })).map(([mean, sd10]) => ({ kind: 'normal', mean, sd: sd10 / 10, min: lo / 2 })),
    fc.integer({ min: Math.max(1, lo), max: hi }).map((mean) => ({ kind: 'exponential', mean })),
  );

const us = (n: number) => `${n}us`;

export function arbScenario(opts: GenOptions = {}): fc.Arbitrary<ScenarioObject> {
  const untilS = opts.untilS ?? { min: 120, max: 480 };
  return fc
    .record({
      nHosts: fc.integer({ min: 2, max: 5 }),
      nVms: fc.integer({ min: 0, max: 2 }),
      untilS: fc.integer(untilS),
      intervalS: fc.constantFrom(1, 2, 5, 10),
      serviceTimeoutS: fc.integer({ min: 1, max: 4 }),
      networkTimeoutS: fc.integer({ min: 1, max: 3 }),
      recoveryWaitS: fc.integer({ min: 10, max: 90 }),
      examMs: fc.integer({ min: 10, max: 2000 }),
      hostDists: fc.array(fc.tuple(arbDist(5, 60), arbDist(5, 60), arbDist(0, 2)), { minLength: 5, maxLength: 5 }),
      vmDists: fc.array(arbDist(1, 10), { minLength: 2, maxLength: 2 }),
    })
    .chain((p) => {
      const hosts = Array.from({ length: p.nHosts }, (_, i) => `h${i}`);
      const vms = Array.from({ length: p.nVms }, (_, i) => `v${i}`);
      const manager = hosts[hosts.length - 1];
      const withPolicy = p.nVms > 0;
      const serviceNodes = ['h0', ...vms, ...(p.nHosts > 2 ? ['h1'] : [])];
      // may exceed the probe interval: the naive loop then skips grid instants
      const examS = p.examMs / 1000;
      const untilUs = p.untilS * S;
      const ivUs = p.intervalS * S;

      const time = fc.oneof(
        fc.integer({ min: 0, max: untilUs - 1 }),
        // exactly on the first watch's probe grid (k * interval)
        fc.integer({ min: 1, max: Math.max(1, Math.floor(untilUs / ivUs) - 1) }).map((k) => k * ivUs),
        // whole seconds: the clients' grid
        fc.integer({ min: 1, max: p.untilS - 1 }).map((s) => s * S),
      );
      const duration = fc.oneof(fc.integer({ min: 1, max: 120 }).map((s) => s * S), fc.integer({ min: 1, max: 60 * S }));
      const subset = fc.subarray(hosts, { minLength: 1 });
      const fault = fc.oneof(
        fc.record({ kind: fc.constantFrom('St1', 'St2'), target: fc.constantFrom(...serviceNodes) }).map((f) => ({ ...f, service: f.target === 'h1' ? 'sshd' : 'httpd' })),
        fc.record({ kind: fc.constantFrom('Nt1', 'Nt2'), target: fc.constantFrom(...hosts) }),
        fc.record({ kind: fc.constantFrom('pause', 'link-down'), target: fc.constantFrom(...hosts), duration }),
        fc.record({ kind: fc.constant('partition'), a: subset, b: subset, oneWay: fc.boolean(), duration })
          .map((f) => ({ ...f, b: f.b.filter((h) => !f.a.includes(h)) }))
          .filter((f) => f.b.length > 0),
      );
      const faults = fc
        .array(fc.record({ f: fault, at: time, simultaneous: fc.boolean() }), { minLength: 1, maxLength: 4 })
        .map((list) => {
          let prev = -1;
          return list.map(({ f, at, simultaneous }) => {
            const t = simultaneous && prev >= 0 ? prev : at;
            prev = t;
            const { duration: d, ...rest } = f as Record<string, unknown> & { duration?: number };
            return { ...rest, at: us(t), ...(d !== undefined ? { duration: us(d) } : {}) };
          });
        });

      return faults.map((fs): ScenarioObject => ({
        name: 'random',
        until: `${p.untilS}s`,
        hosts: hosts.map((h, i) => ({
          name: h,
          mac: `02:00:00:00:00:0${i}`,
          services: h === 'h0' ? [{ name: 'httpd', examS, restartS: p.hostDists[i][2] }] : h === 'h1' ? [{ name: 'sshd' }] : [],
          bootS: p.hostDists[i][0],
          restartS: p.hostDists[i][1],
        })),
        vms: vms.map((v, i) => ({ name: v, services: [{ name: 'httpd', examS }], resumeS: p.vmDists[i] })),
        vips: [{ name: 'vip1', service: 'httpd', holder: 'h0' }],
        clients: [{ name: 'c1', vip: 'vip1' }],
        faults: fs,
        policies: withPolicy
          ? [{
            kind: 'failover',
            manager,
            target: 'h0',
            service: 'httpd',
            vip: 'vip1',
            backupVm: 'v0',
            backupHost: p.nHosts >= 3 ? 'h1' : manager,
            interval: `${p.intervalS}s`,
            serviceTimeout: `${p.serviceTimeoutS}s`,
            networkTimeout: `${p.networkTimeoutS}s`,
            recoveryWait: `${p.recoveryWaitS}s`,
          }]
          : [],
      }));
    });
}

export interface RunOutcome {
  ndjson: string;
  /** The error that ended the run early (a policy process failing with nobody joining it). */
  error: string | null;
  eventCount: number;
  sim: Simulation;
}

/** Validates the object through YAML like a user's file, then runs it to its `until`. */
export function simulate(obj: ScenarioObject, seed: number, watchMode?: WatchMode, filter?: (e: TraceEvent) => boolean): RunOutcome {
  const scenario = parseScenario(YAML.stringify(obj), '<random scenario>');
  const sim = buildSimulation(scenario, { seed, watchMode });
  let error: string | null = null;
  try {
    sim.run();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const events = filter ? sim.events.filter(filter) : sim.events;
  return { ndjson: toNdjson(events), error, eventCount: sim.kernel.eventCount, sim };
}

/** The first line where two NDJSON texts differ, for readable failure messages. */
export function firstDifference(expected: string, actual: string): string | null {
  if (expected === actual) return null;
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return `first difference at line ${i + 1}:\n  expected: ${a[i] ?? '<end of trace>'}\n  actual:   ${b[i] ?? '<end of trace>'}`;
    }
  }
  return 'traces differ only in line endings';
}
