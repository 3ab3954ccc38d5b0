// The lbcluster policy's pool in sim: inhibit_on_failure, quorum with a sorry server, alpha, and
// the manifest's checks; and the lb experiments' own checks (lb-vrrp exact against the formula,
// lb-availability's model against the sim policy).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildSimulation, parseScenario, readScenario } from '../run/sim.ts';
import type { FaultSpec, Scenario } from '../sim/scenario/schema.ts';
import type { TraceEvent } from '../trace/event.ts';
import { SCENARIO_DIR } from '../experiments/registry.ts';
import { lbAccesses, poolChanges } from '../experiments/lb/trace.ts';
import { lbVrrp } from '../experiments/lb/vrrp.ts';
import { lbAvailability, approxAvailability, failures, modelAvailability, rng, YEAR_PARAMS } from '../experiments/lb/availability.ts';
import { readFileSync } from 'node:fs';

const S = 1_000_000;
const base = readScenario(join(SCENARIO_DIR, 'lb-demo.yaml'));
const policy = base.policies[0] as Record<string, unknown>;

function run(o: { faults: FaultSpec[]; policy?: Record<string, unknown>; until?: number; extraHosts?: Scenario['hosts'] }): TraceEvent[] {
  const s: Scenario = {
    ...base,
    hosts: [...base.hosts, ...(o.extraHosts ?? [])],
    faults: o.faults,
    until: o.until ?? 120 * S,
    policies: [{ ...policy, ...(o.policy ?? {}) } as unknown as Scenario['policies'][number]],
  };
  const sim = buildSimulation(s, { seed: 1 });
  sim.run();
  return sim.events;
}

describe('lbcluster pool semantics', () => {
  it('inhibit_on_failure keeps a failed server at weight 0: no new connection, not removed', () => {
    const ev = run({ faults: [{ kind: 'St1', target: 'ap2', service: 'plm', at: 20 * S }], policy: { inhibitOnFailure: true } });
    const ch = poolChanges(ev, 'vip-plm').filter((c) => c.member === 'ap2' && c.tUs > 20 * S);
    expect(ch).toHaveLength(1);
    expect(ch[0].weight).toBe(0);
    expect(lbAccesses(ev).filter((a) => a.by === 'ap2' && a.tUs >= ch[0].tUs)).toEqual([]);
  });

  it('below quorum only the sorry server serves; when quorum is back the real servers return and it leaves', () => {
    const sorry = { ...base.hosts.find((h) => h.name === 'ap4')!, name: 'sorry' };
    const ev = run({
      extraHosts: [sorry],
      faults: [
        { kind: 'pause', target: 'ap1', at: 20 * S, duration: 60 * S },
        { kind: 'pause', target: 'ap2', at: 25 * S, duration: 60 * S },
      ],
      policy: { quorum: 4, sorryServer: 'sorry' },
      until: 150 * S,
    });
    const lost = ev.find((e) => e.kind === 'lb.quorum' && e.data?.up === false)!;
    const back = ev.find((e) => e.kind === 'lb.quorum' && e.data?.up === true && e.t > lost.t)!;
    expect(lost.t).toBeGreaterThan(25 * S);
    expect(back.t).toBeGreaterThan(80 * S);
    const during = lbAccesses(ev).filter((a) => a.tUs > lost.t + S && a.tUs < back.t);
    expect(during.length).toBeGreaterThan(30);
    expect(during.every((a) => a.by === 'sorry' && a.ok)).toBe(true);
    const after = lbAccesses(ev).filter((a) => a.tUs > back.t + S);
    expect(after.some((a) => a.by === 'sorry')).toBe(false);
    expect(new Set(after.map((a) => a.by))).toEqual(new Set(['ap1', 'ap2', 'ap3', 'ap4']));
    expect(after.every((a) => a.ok)).toBe(true);
  });

  it('alpha: a server down from the start never enters the pool; without alpha it is in until its checks fail', () => {
    const down: FaultSpec[] = [{ kind: 'St1', target: 'ap3', service: 'plm', at: 0 }];
    const alpha = run({ faults: down, policy: { checker: { ...(policy.checker as object), alpha: true } }, until: 30 * S });
    expect(poolChanges(alpha, 'vip-plm').filter((c) => c.member === 'ap3' && c.weight !== null)).toEqual([]);
    expect(lbAccesses(alpha).some((a) => a.by === 'ap3')).toBe(false);
    const plain = run({ faults: down, until: 30 * S });
    // The checker gave up on ap3 (3 refused tries: 2 s) before the first master wrote the pool.
    const removed = plain.find((e) => e.kind === 'lb.check' && e.subject === 'ap3' && e.data?.up === false)!;
    expect(removed.t).toBeLessThan(3 * S);
    expect(lbAccesses(plain).some((a) => a.by === 'ap3')).toBe(false);
  });

  it('garpDelay: the VIP is set that long after the director becomes master (plus vipSetS)', () => {
    const ev = run({ faults: [], policy: { garpDelay: '1.5s' }, until: 10 * S });
    const master = ev.find((e) => e.kind === 'vrrp.state' && e.data?.to === 'master')!;
    const vip = ev.find((e) => e.kind === 'vip.assign')!;
    expect(vip.t - master.t).toBe(1.5 * S + base.network.vipSetS * S);
  });

  it('preempt: false (nopreempt) leaves the lower-priority master in place when ms1 returns', () => {
    const ev = run({ faults: [{ kind: 'Nt1', target: 'ms1', at: 30 * S }], policy: { preempt: false }, until: 90 * S });
    const back = ev.find((e) => e.kind === 'vrrp.state' && e.data?.router === 'ms1' && e.t > 31 * S)!;
    expect(back.data?.to).toBe('backup');
    expect(ev.filter((e) => e.kind === 'vrrp.state' && e.t > back.t)).toEqual([]);
    expect(ev.filter((e) => e.kind === 'vip.assign').at(-1)?.data?.holder).toBe('ms2');
  });

  it('the manifest names what the site lacks', () => {
    const text = readFileSync(join(SCENARIO_DIR, 'lb-demo.yaml'), 'utf8')
      .replace('- { host: ms2, priority: 100 }', '- { host: ms3, priority: 100 }')
      .replace('- { host: ap4, weight: 1 }', '- { host: ms2, weight: 1 }');
    expect(() => parseScenario(text, 'lb.yaml')).toThrow(/no host "ms3"[\s\S]*real server "ms2" does not run "plm"/);
  });
});

describe('lb experiments', () => {
  it('lb-vrrp: every kill run equals the formula at its phase, every preemption the model', () => {
    const r = lbVrrp.run({ seed: 3, runs: 2, outDir: '/tmp' });
    expect(r.notes?.join('\n')).toMatch(/own phase\| over all kill runs: 0 us/);
    expect(r.notes?.join('\n')).toMatch(/largest \|sim - model\|: 0 us/);
    for (const row of r.rows.filter((x) => x.case.startsWith('graceful'))) {
      expect(row.value - row.analytical!).toBeGreaterThanOrEqual(0);
      expect(row.value - row.analytical!).toBeLessThanOrEqual(0.011);
    }
  }, 60_000);

  it('lb-availability: the timeline model stays within 0.2 points of the sim policy on the compressed schedule', () => {
    const r = lbAvailability.run({ seed: 5, runs: 2, outDir: '/tmp' });
    const gap = Number(/largest gap ([\d.]+)/.exec(r.notes!.join('\n'))![1]);
    expect(gap).toBeLessThan(0.2);
  }, 120_000);

  it('lb-availability: the standby director is worth about two nines; the closed form agrees with the model over many years', () => {
    const p2 = { ...YEAR_PARAMS, priorities: [150, 100], weights: [1, 1, 1, 1] };
    const p1 = { ...p2, priorities: [150] };
    const mean = (p: typeof p2) => {
      let sum = 0;
      for (let i = 0; i < 200; i++) {
        const u = rng(1000 + i);
        const year = 365 * 24 * 3600 * S;
        const d = p.priorities.map(() => failures(u, p.directorMtbfUs, p.directorMttrUs, year));
        const s = p.weights.map(() => failures(u, p.serverMtbfUs, p.serverMttrUs, year));
        sum += modelAvailability(p, d, s, year, u);
      }
      return sum / 200;
    };
    const a1 = mean(p1);
    const a2 = mean(p2);
    expect(100 * a1).toBeLessThan(99.98);
    expect(100 * a2).toBeGreaterThan(99.99);
    expect(Math.abs(a1 - approxAvailability(p1)) / (1 - approxAvailability(p1))).toBeLessThan(0.15);
    expect(Math.abs(a2 - approxAvailability(p2)) / (1 - approxAvailability(p2))).toBeLessThan(0.15);
  }, 60_000);
});
