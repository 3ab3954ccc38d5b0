// The split brain wong-2014 admits (§6.1.4): a network failure between the primary's PC and the
// secondary's PC makes the secondary start a second primary. experiments/scenarios/
// navigator-split-brain.yaml shows it; with `lease: true` only the lease holder serves the
// service IP. The property: with the lease, the service IP never has two live holders, whatever
// PCs shut down, restart, lose their link or are cut off from each other.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { SCENARIO_DIR } from '../experiments/registry.ts';
import type { Scenario, FaultSpec } from '../sim/scenario/schema.ts';
import { scenarioSchema } from '../sim/scenario/schema.ts';
import type { Simulation } from '../adapters/sim/simulation.ts';
import { fcParams } from './helpers/fc-params.ts';

const S = 1_000_000;
const VIP = 'vip-rms';

/** Runs to the end, checking after every kernel event; the largest number of live holders seen, and when. */
function maxLiveHolders(sim: Simulation): { max: number; atS: number; holders: string[] } {
  const until = sim.scenario.until!;
  let best = { max: 0, atS: 0, holders: [] as string[] };
  sim.start();
  let steps = 0;
  while (sim.kernel.peekUs() <= until && sim.kernel.step()) {
    if (++steps > 2_000_000) throw new Error('runaway model');
    const live = sim.world.liveVipHolders(VIP);
    if (live.length > best.max) best = { max: live.length, atS: sim.kernel.nowUs() / S, holders: live };
  }
  return best;
}

const withLease = (s: Scenario, lease: boolean): Scenario => ({ ...s, policies: s.policies.map((p) => (p.kind === 'navigator' ? { ...p, lease } : p)) });

describe('navigator split brain', () => {
  const scenario = readScenario(join(SCENARIO_DIR, 'navigator-split-brain.yaml'));

  it('without the lease, the cut-off secondary starts a second primary', () => {
    const sim = buildSimulation(withLease(scenario, false), { seed: 1 });
    const r = maxLiveHolders(sim);
    expect(r.max).toBe(2);
    expect(r.holders.sort()).toEqual(['nav-a', 'nav-b']);
    // Within one primary check (5 s) and a ping timeout (4 s) of the partition at 15 min.
    expect(r.atS).toBeGreaterThan(900);
    expect(r.atS).toBeLessThan(900 + 5 + 4 + 1);
    const primaries = sim.events.filter((e) => e.kind === 'navigator.track' && e.data?.role === 'primary').map((e) => e.data?.host);
    expect(primaries).toEqual(['pc1', 'pc3']);
  });

  it('with the lease, the secondary is refused and stays secondary; one primary serves throughout', () => {
    const sim = buildSimulation(withLease(scenario, true), { seed: 1 });
    const r = maxLiveHolders(sim);
    expect(r.max).toBe(1);
    expect(sim.events.some((e) => e.kind === 'navigator.lease-denied' && e.subject === 'pc3')).toBe(true);
    const primaries = sim.events.filter((e) => e.kind === 'navigator.track' && e.data?.role === 'primary').map((e) => e.data?.host);
    expect(primaries).toEqual(['pc1']);
    // The clients are never cut off (the partition is between the PCs only).
    const xx = sim.events.filter((e) => e.kind === 'client.access' && e.data?.log === 'XX' && e.t > 200 * S);
    expect(xx).toEqual([]);
  });

  it('with the lease, a primary that really dies is still replaced (after the lease runs out)', () => {
    const s = withLease(scenario, true);
    const dies: Scenario = { ...s, faults: [s.faults[0], { kind: 'host-shutdown', target: 'pc1', at: 900 * S } as FaultSpec] };
    const sim = buildSimulation(dies, { seed: 1 });
    sim.run();
    const took = sim.events.find((e) => e.kind === 'navigator.track' && e.data?.role === 'primary' && e.data?.failover === true);
    expect(took?.subject).toBe('pc3');
    // Detection (<= 5 s + 4 s) and at most the lease's 15 s, plus retries on the 5 s check grid.
    expect(took!.t / S - 900).toBeLessThan(5 + 4 + 15 + 5 + 1);
  });

  it('with the lease, a takeover slower than a renewal period keeps its lease (renewals timed from the lease\'s last write; live the takeover took 4 s)', () => {
    const s = withLease(scenario, true);
    const slow: Scenario = {
      ...s,
      network: { ...s.network, vipSetS: 4 },
      policies: s.policies.map((p) => (p.kind === 'navigator' ? { ...p, leaseTtl: '6s' } : p)),
      faults: [s.faults[0], { kind: 'host-shutdown', target: 'pc1', at: 900 * S } as FaultSpec],
    } as Scenario;
    const sim = buildSimulation(slow, { seed: 1 });
    sim.run();
    expect(sim.events.filter((e) => e.kind === 'navigator.lease-lost')).toEqual([]);
    const primaries = sim.events.filter((e) => e.kind === 'navigator.track' && e.data?.role === 'primary').map((e) => [e.subject, e.data?.failover]);
    expect(primaries).toEqual([['pc1', false], ['pc3', true]]);
    expect(sim.events.filter((e) => e.kind === 'client.access').at(-1)?.data?.log).toBe('OK');
  });

  // ---- the property ----

  const PCS = ['pc1', 'pc2', 'pc3', 'pc4', 'pc5'];
  const faultArb = (n: number) => {
    const pc = fc.constantFrom(...PCS.slice(0, n));
    const at = fc.integer({ min: 100, max: 2400 });
    const dur = fc.integer({ min: 1, max: 900 });
    return fc.oneof(
      fc.record({ kind: fc.constant('host-shutdown' as const), target: pc, at }),
      fc.record({ kind: fc.constant('host-restart' as const), target: pc, at }),
      fc.record({ kind: fc.constant('link-down' as const), target: pc, at, duration: dur }),
      fc.record({ kind: fc.constant('partition' as const), a: fc.subarray(PCS.slice(0, n), { minLength: 1 }), at, duration: dur }).map((p) => ({
        ...p, b: PCS.slice(0, n).filter((x) => !p.a.includes(x)),
      })).filter((p) => p.b.length > 0),
    );
  };
  const caseArb = fc.integer({ min: 3, max: 5 }).chain((n) => fc.record({ n: fc.constant(n), faults: fc.array(faultArb(n), { minLength: 1, maxLength: 4 }) }));

  function caseScenario(c: { n: number; faults: Array<Record<string, unknown>> }): Scenario {
    return scenarioSchema.parse({
      name: 'navigator-lease-property',
      until: 3600,
      hosts: PCS.slice(0, c.n).map((name) => ({ name })),
      vms: [
        { name: 'nav-a', state: 'defined', services: [{ name: 'zabbix' }] },
        { name: 'nav-b', state: 'defined', services: [{ name: 'zabbix' }] },
      ],
      vips: [{ name: VIP, service: 'zabbix' }],
      faults: c.faults.map((f) => ({ ...f, at: `${f.at}s`, ...(f.duration !== undefined ? { duration: `${f.duration}s` } : {}) })),
      policies: [{ kind: 'navigator', start: 'pc1', containers: ['nav-a', 'nav-b'], service: 'zabbix', vip: VIP, lease: true }],
    }) as Scenario;
  }

  it('property: with the lease, at most one primary serves the service IP', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const sim = buildSimulation(caseScenario(c), { seed: 7 });
        const r = maxLiveHolders(sim);
        if (r.max > 1) throw new Error(`two live holders at ${r.atS} s: ${r.holders.join(', ')}; faults ${JSON.stringify(c.faults)}`);
      }),
      fcParams(40),
    );
  });
});
