// The narrowed reconcile nudge (`nudge: changed`, docs/scale.md section 5): after a separation or a
// return the recovering manager tells only the supervisors whose own P1/P2 rows the rewrite of
// the operation file changed. (1) `changedManagers` is exactly the set of managers whose
// `targetsOf` differs, for random rings and random separations/returns; (2) the swarm's random
// P2P schedules (hardened, every fault kind) run with `nudge: changed` show no violation of any
// class; (3) the manifest's default stays the paper's design (every server is told).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { changedManagers, operationRows, sameTargetsOf, targetsOf } from '../policies/p2p/ring.ts';
import { p2pConfig, p2pSchema } from '../policies/p2p/manifest.ts';
import { runRaw, sampleSchedules, scheduleScenario } from '../run/swarm.ts';
import { buildSimulation } from '../run/sim.ts';
import { p2pScenario } from '../experiments/p2p/model.ts';
import { tableServers } from '../experiments/p2p/tables.ts';
import { fcParams } from './helpers/fc-params.ts';

const key = (rows: ReturnType<typeof targetsOf>) => rows.map((r) => `${r.priority}:${r.target}`).join(',');

describe('nudge: changed', () => {
  it('changedManagers(before, after) = the managers whose targetsOf differs (random rings of 0-12 servers, random separations and returns)', () => {
    const caseArb = fc.integer({ min: 0, max: 12 }).chain((n) => {
      const hosts = Array.from({ length: n }, (_, i) => `s${i}`);
      return fc.tuple(fc.subarray(hosts), fc.subarray(hosts)).map(([a, b]) => ({ hosts, a, b }));
    });
    fc.assert(fc.property(caseArb, ({ hosts, a, b }) => {
      const before = operationRows(hosts.filter((h) => !a.includes(h)));
      const after = operationRows(hosts.filter((h) => !b.includes(h)));
      const changed = changedManagers(before, after);
      for (const h of hosts) {
        const same = key(targetsOf(before, h)) === key(targetsOf(after, h));
        expect(changed.has(h), h).toBe(!same);
        expect(sameTargetsOf(before, after, h), h).toBe(same);
      }
      expect([...changed].every((h) => hosts.includes(h))).toBe(true);
    }), fcParams(300));
  });

  it('Fig. 9(a)/10: S2 of S1..S6 separated concerns S1 (P1 -> S3), S2 (no rows) and S3 (P2 -> S1); its return the same three', () => {
    const all = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'];
    const full = operationRows(all);
    const without = operationRows(all.filter((h) => h !== 'S2'));
    expect([...changedManagers(full, without)].sort()).toEqual(['S1', 'S2', 'S3']);
    expect([...changedManagers(without, full)].sort()).toEqual(['S1', 'S2', 'S3']);
    expect(changedManagers(full, operationRows(all)).size).toBe(0);
  });

  it('Fig. 9-10 in sim (six servers, S2 stopped for good, then S4 restarted): the concerned supervisors start and stop the same programs as when every server is told, within 5 ms; the others none', () => {
    const programs = (nudge: 'all' | 'changed') => {
      const base = p2pScenario({ name: 'p2p-nudge', servers: tableServers(6), untilS: 400, faults: [
        { kind: 'St2', target: 'S2', mode: 'stop', at: '100s' },
        { kind: 'Nt1', target: 'S4', at: '200s' },
      ] });
      const scenario = { ...base, policies: base.policies.map((p) => ({ ...p, nudge })) };
      const sim = buildSimulation(scenario, { seed: 1 });
      sim.run();
      return sim.events.filter((e) => e.kind === 'p2p.program' && e.t > 0).map((e) => ({ t: e.t, line: `${e.subject} ${JSON.stringify(e.data)}` }));
    };
    const all = programs('all');
    const changed = programs('changed');
    // S2's separation and S4's restart and return each rewrite the operation file.
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(changed.map((p) => p.line)).toEqual(all.map((p) => p.line));
    for (const [i, p] of changed.entries()) expect(Math.abs(p.t - all[i].t), p.line).toBeLessThan(5_000);
  });

  it('the manifest default is the paper\'s design: every server is told', () => {
    expect(p2pConfig(p2pSchema.parse({ kind: 'p2p', group: ['a', 'b', 'c'] })).nudge).toBe('all');
    expect(p2pConfig(p2pSchema.parse({ kind: 'p2p', group: ['a', 'b', 'c'], nudge: 'changed' })).nudge).toBe('changed');
  });

  it('200 swarm schedules (hardened P2P, every fault kind) with nudge: changed: no violation, no crash', () => {
    const failures: string[] = [];
    for (const [i, s] of sampleSchedules('p2p', 200, 2027, 'hardened').entries()) {
      const raw = scheduleScenario(s) as { policies: Array<Record<string, unknown>> };
      raw.policies = raw.policies.map((p) => (p.kind === 'p2p' ? { ...p, nudge: 'changed' } : p));
      expect(raw.policies.some((p) => p.nudge === 'changed')).toBe(true);
      const v = runRaw(raw);
      if (v.crash || v.violations.length > 0) failures.push(`schedule ${i}: ${v.crash ?? v.violations.slice(0, 3).map((x) => `${x.key} ${x.subject}: ${x.detail}`).join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
