// Churn from availability models and traces: Weibull up/down periods (`churn: {kind: renewal}`),
// the Failure Trace Archive's event_trace.tab replayed (`churn: {kind: trace}`), and where
// Navigator puts its secondary (placement rules, expected remaining up time).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSimulation, parseScenario, readScenario } from '../run/sim.ts';
import { scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import { parseFtaTrace, traceTransitions } from '../sim/scenario/fta.ts';
import { RngStreams } from '../sim/kernel/rng.ts';
import { gamma, meanOf, sample, distRange } from '../sim/kernel/distributions.ts';
import { chooseSecondary, meanResidualS } from '../policies/navigator/decisions.ts';
import { findExperiment } from '../experiments/registry.ts';
import { placementCases } from '../experiments/navigator/placement.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { fcParams } from './helpers/fc-params.ts';

const S = 1_000_000;

function world(churn: unknown, until = '2d', hosts = ['a', 'b', 'c']): Scenario {
  return scenarioSchema.parse({ until, hosts: hosts.map((name) => ({ name })), churn }) as Scenario;
}

/** Power changes per host: [t, on] in order. */
function powerOf(s: Scenario, seed = 1): Map<string, Array<[number, boolean]>> {
  const sim = buildSimulation(s, { seed });
  sim.run();
  const out = new Map<string, Array<[number, boolean]>>();
  for (const e of sim.events) {
    if (e.kind !== 'churn.power') continue;
    const xs = out.get(e.subject) ?? [];
    xs.push([e.t, e.data?.on === true]);
    out.set(e.subject, xs);
  }
  return out;
}

describe('Weibull distribution', () => {
  it('samples within its range with the mean scale·Γ(1 + 1/shape)', () => {
    expect(gamma(5)).toBeCloseTo(24, 10);
    expect(gamma(0.5)).toBeCloseTo(Math.sqrt(Math.PI), 10);
    const rng = new RngStreams(3).stream('w');
    for (const d of [{ kind: 'weibull' as const, shape: 0.55, scale: 35.3 }, { kind: 'weibull' as const, shape: 2, scale: 10 }]) {
      const n = 40_000;
      let sum = 0;
      const { lo, hi } = distRange(d);
      for (let i = 0; i < n; i++) {
        const x = sample(d, rng);
        expect(x).toBeGreaterThanOrEqual(lo);
        expect(x).toBeLessThanOrEqual(hi);
        sum += x;
      }
      expect(Math.abs(sum / n - meanOf(d)) / meanOf(d)).toBeLessThan(0.05);
    }
    expect(meanOf({ kind: 'weibull', shape: 1, scale: 7 })).toBeCloseTo(7, 9);
  });

  it('is refused when its values could pass the longest simulated time', () => {
    expect(() => parseScenario('hosts: [{name: a, bootS: {kind: weibull, shape: 0.1, scale: 1000}}]\n')).toThrow(/weibull: values reach scale·40\^\(1\/shape\)/);
    expect(() => parseScenario('hosts: [{name: a, bootS: {kind: weibull, shape: 0, scale: 1}}]\n')).toThrow(/shape/);
  });
});

describe('renewal churn (alternating up and down periods)', () => {
  const s = world({ kind: 'renewal', hosts: ['a', 'b'], up: { kind: 'weibull', shape: 0.6, scale: 3600 }, down: { kind: 'weibull', shape: 0.6, scale: 600 } }, '20d');

  it('alternates off and on for each churned host, only those, deterministically per seed', () => {
    const p = powerOf(s, 4);
    expect([...p.keys()].sort()).toEqual(['a', 'b']);
    for (const xs of p.values()) {
      expect(xs.length).toBeGreaterThan(20);
      // Hosts start on: the first change switches off, then they alternate.
      xs.forEach(([, on], i) => expect(on).toBe(i % 2 === 1));
      for (let i = 1; i < xs.length; i++) expect(xs[i][0] - xs[i - 1][0]).toBeGreaterThanOrEqual(S);
    }
    const traceOf = (seed: number) => {
      const sim = buildSimulation(s, { seed });
      sim.run();
      return toNdjson(sim.events);
    };
    expect(traceOf(4)).toBe(traceOf(4));
    expect(JSON.stringify([...powerOf(s, 5)])).not.toBe(JSON.stringify([...p]));
  });

  it('spends about mean(up) / (mean(up) + mean(down)) of the time on', () => {
    let on = 0;
    let total = 0;
    for (const seed of [1, 2, 3]) {
      const end = 20 * 86_400 * S;
      for (const xs of powerOf(s, seed).values()) {
        let last = 0;
        let isOn = true;
        for (const [t, v] of xs) {
          if (isOn) on += t - last;
          last = t;
          isOn = v;
        }
        if (isOn) on += end - last;
        total += end;
      }
    }
    // Means 3600·Γ(1 + 1/0.6) and 600·Γ(...): the share is 6/7 = 0.857 whatever the shape.
    expect(on / total).toBeGreaterThan(0.8);
    expect(on / total).toBeLessThan(0.91);
  });

  it('a period never lasts less than 1 s, even from a distribution of zeros', () => {
    const p = powerOf(world({ kind: 'renewal', hosts: ['a'], up: 0, down: 0 }, '30s'));
    const xs = p.get('a')!;
    expect(xs.length).toBe(30);
    xs.forEach(([t], i) => expect(t).toBe((i + 1) * S));
  });
});

const TAB = [
  'event_id\tcomponent_id\tnode_id\tplatform_id\tnode_name\tevent_type\tevent_start_time\tevent_stop_time\tevent_end_reason',
  '1\t0\t1\t1\tdesk-b\t0\t1000000100\t1000000400\t',
  '2\t0\t0\t1\tdesk-a\t1\t1000000000\t1000000050\t',
  '# a comment',
  '',
  '3\t0\t0\t1\tdesk-a\t0\t1000000050\t1000000900\tshutdown',
  '4\t0\t0\t1\tdesk-a\t1\t1000000900\t1000002000\t',
].join('\n');

describe('FTA trace churn (event_trace.tab)', () => {
  it('parses rows, skips the header, comments and blank lines', () => {
    const { events, problems } = parseFtaTrace(TAB);
    expect(problems).toEqual([]);
    expect(events).toEqual([
      { node: 'desk-b', available: false, start: 1000000100, stop: 1000000400 },
      { node: 'desk-a', available: true, start: 1000000000, stop: 1000000050 },
      { node: 'desk-a', available: false, start: 1000000050, stop: 1000000900 },
      { node: 'desk-a', available: true, start: 1000000900, stop: 1000002000 },
    ]);
  });

  it('reports every bad row with its line', () => {
    const bad = ['1\t0\t0\t1\tx\t2\t5\t6', '2\t0\t0\t1\tx\t0\t9\t3', 'short\tline', '3\t0\t0\t1\tx\t1\tsoon\t6', '4\t0\t0\t1\tx\t1\t1\t2'].join('\n');
    const { events, problems } = parseFtaTrace(bad);
    expect(problems.map((p) => p.line)).toEqual([1, 2, 3, 4]);
    expect(problems[0].message).toMatch(/event_type must be 0 .* or 1/);
    expect(problems[1].message).toMatch(/before event_start_time/);
    expect(problems[2].message).toMatch(/at least 8 tab-separated columns/);
    expect(problems[3].message).toMatch(/event_start_time must be seconds/);
    expect(events).toHaveLength(1);
  });

  it('maps hosts to nodes in name order, time 0 at the earliest start; the last change at an instant wins', () => {
    const { events } = parseFtaTrace(TAB);
    const t = traceTransitions({ hosts: ['pc1', 'pc2'], events });
    expect(t.get('pc1')).toEqual([{ tUs: 0, on: true }, { tUs: 50 * S, on: false }, { tUs: 900 * S, on: true }, { tUs: 2000 * S, on: false }]);
    expect(t.get('pc2')).toEqual([{ tUs: 100 * S, on: false }, { tUs: 400 * S, on: true }]);
    const swapped = traceTransitions({ hosts: ['pc1', 'pc2'], nodes: ['desk-b', 'desk-a'], origin: 1000000100, events });
    expect(swapped.get('pc1')).toEqual([{ tUs: 0, on: false }, { tUs: 300 * S, on: true }]);
  });

  it('replays a trace file named by a scenario file: PCs switch off and on at the trace\'s times', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-fta-'));
    try {
      writeFileSync(join(dir, 'lab.tab'), TAB);
      writeFileSync(join(dir, 's.yaml'), 'until: 1h\nhosts: [{name: pc1, state: on}, {name: pc2, state: on}]\nchurn: {kind: trace, hosts: [pc1, pc2], file: lab.tab}\n');
      const s = readScenario(join(dir, 's.yaml'));
      const p = powerOf(s);
      expect(p.get('pc1')).toEqual([[50 * S, false], [900 * S, true], [2000 * S, false]]);
      expect(p.get('pc2')).toEqual([[100 * S, false], [400 * S, true]]);

      // Bad rows: file:line errors, nothing runs.
      writeFileSync(join(dir, 'bad.tab'), `${TAB}\n9\t0\t0\t1\tdesk-a\t7\t1\t2\n`);
      writeFileSync(join(dir, 'b.yaml'), 'hosts: [{name: pc1}]\nchurn: {kind: trace, hosts: [pc1], file: bad.tab}\n');
      expect(() => readScenario(join(dir, 'b.yaml'))).toThrow(new RegExp(`${join(dir, 'bad.tab').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:8:1: event_type must be 0`));
      // More hosts than nodes; a missing file.
      writeFileSync(join(dir, 'c.yaml'), 'hosts: [{name: pc1}, {name: pc2}, {name: pc3}]\nchurn: {kind: trace, hosts: [pc1, pc2, pc3], file: lab.tab}\n');
      expect(() => readScenario(join(dir, 'c.yaml'))).toThrow(/has 2 nodes, fewer than the 3 hosts/);
      writeFileSync(join(dir, 'd.yaml'), 'hosts: [{name: pc1}]\nchurn: {kind: trace, hosts: [pc1], file: nope.tab}\n');
      expect(() => readScenario(join(dir, 'd.yaml'))).toThrow(/nope\.tab: cannot read: no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scenario text from elsewhere (an upload) may not name a file; inline events work', () => {
    expect(() => parseScenario('hosts: [{name: pc1}]\nchurn: {kind: trace, hosts: [pc1], file: /etc/passwd}\n')).toThrow(/churn\.file: a trace file is read only for a scenario loaded from a file/);
    const s = parseScenario('until: 10m\nhosts: [{name: pc1}]\nchurn: {kind: trace, hosts: [pc1], events: [{node: n, available: false, start: 60, stop: 120}], origin: 0}\n');
    expect(powerOf(s).get('pc1')).toEqual([[60 * S, false], [120 * S, true]]);
    expect(() => parseScenario('hosts: [{name: pc1}]\nchurn: {kind: trace, hosts: [pc1], nodes: [x], events: [{node: n, available: false, start: 6, stop: 1}]}\n')).toThrow(/churn\.nodes\.0: the trace has no rows for node "x"[\s\S]*stop 1 is before start 6/);
  });

  it('any trace replays without error, each host\'s changes at increasing times (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ node: fc.constantFrom('n1', 'n2', 'n3'), available: fc.boolean(), start: fc.integer({ min: 0, max: 5000 }), len: fc.integer({ min: 0, max: 3000 }) }), { maxLength: 30 }),
      (rows) => {
        // n1 and n2 have a row each at least (a node without rows is a scenario error, tested above).
        const events = [{ node: 'n1', available: true, start: 0, stop: 0 }, { node: 'n2', available: true, start: 0, stop: 0 }, ...rows.map((r) => ({ node: r.node, available: r.available, start: r.start, stop: r.start + r.len }))];
        const t = traceTransitions({ hosts: ['h1', 'h2'], nodes: ['n1', 'n2'], origin: 0, events });
        for (const xs of t.values()) for (let i = 1; i < xs.length; i++) expect(xs[i].tUs).toBeGreaterThan(xs[i - 1].tUs);
        const s = world({ kind: 'trace', hosts: ['a', 'b'], nodes: ['n1', 'n2'], origin: 0, events }, '3h');
        const sim = buildSimulation(s, { seed: 1 });
        sim.run();
        expect(sim.world.now()).toBe(3 * 3600 * S);
      },
    ), fcParams(60));
  });
});

describe('Navigator placement', () => {
  const reports = [{ host: 'pc1', uptimeS: 100 }, { host: 'pc2', uptimeS: 5000 }, { host: 'pc3', uptimeS: 30 }, { host: 'pc4', uptimeS: 5000 }];

  it('longest (the thesis), shortest, expected remaining under a model, random (deterministic per round)', () => {
    expect(chooseSecondary(reports)).toBe('pc2');
    expect(chooseSecondary(reports, ['pc2'])).toBe('pc4');
    expect(chooseSecondary(reports, [], { kind: 'shortest-uptime' })).toBe('pc3');
    // Weibull shape < 1: older is better; uniform sessions: younger is better.
    expect(chooseSecondary(reports, [], { kind: 'expected-remaining', up: { kind: 'weibull', shape: 0.5, scale: 3600 } })).toBe('pc2');
    expect(chooseSecondary(reports, [], { kind: 'expected-remaining', up: { kind: 'uniform', min: 2700, max: 14_400 } })).toBe('pc3');
    const picks = new Set<string>();
    for (let round = 0; round < 40; round++) {
      const a = chooseSecondary(reports, [], { kind: 'random', seed: 1 }, round);
      expect(chooseSecondary([...reports].reverse(), [], { kind: 'random', seed: 1 }, round)).toBe(a);
      picks.add(a!);
    }
    expect(picks.size).toBe(4);
  });

  it('expected remaining up time against closed forms', () => {
    // Exponential: memoryless.
    expect(meanResidualS({ kind: 'exponential', mean: 50 }, 1e4)).toBe(50);
    // Weibull shape 1 is the exponential; shape 0.5: 2λ(1 + sqrt(a/λ)); shape 2 at age 0: λ·Γ(1.5).
    expect(meanResidualS({ kind: 'weibull', shape: 1, scale: 100 }, 70)).toBeCloseTo(100, 4);
    for (const a of [0, 100, 3600, 40_000]) expect(meanResidualS({ kind: 'weibull', shape: 0.5, scale: 3600 }, a)).toBeCloseTo(2 * 3600 * (1 + Math.sqrt(a / 3600)), 2);
    expect(meanResidualS({ kind: 'weibull', shape: 2, scale: 100 }, 0)).toBeCloseTo(100 * gamma(1.5), 4);
    expect(meanResidualS({ kind: 'uniform', min: 10, max: 30 }, 0)).toBe(20);
    expect(meanResidualS({ kind: 'uniform', min: 10, max: 30 }, 20)).toBe(5);
    expect(meanResidualS({ kind: 'constant', value: 10 }, 25)).toBe(0);
  });

  it('the policy checks its placement options', () => {
    const base = 'hosts: [{name: pc1}, {name: pc2}]\nvms: [{name: a, state: defined, services: [{name: z}]}, {name: b, state: defined, services: [{name: z}]}]\nvips: [{name: v, service: z}]\n';
    const nav = (extra: string) => `${base}policies: [{kind: navigator, start: pc1, containers: [a, b], service: z, vip: v${extra}}]\n`;
    expect(() => parseScenario(nav(', placement: expected-remaining'))).toThrow(/needs placementModel/);
    expect(() => parseScenario(nav(', placement: expected-remaining, placementModel: {kind: lognormal, mu: 1, sigma: 1}'))).toThrow(/understands weibull, exponential, uniform, constant, not lognormal/);
    expect(() => parseScenario(nav(', placementModel: 5'))).toThrow(/used only by placement expected-remaining/);
    expect(() => parseScenario(nav(', placement: nearest'))).toThrow(/placement/);
    expect(parseScenario(nav(', placement: random, placementSeed: 3')).policies).toHaveLength(1);
  });

  it('navigator-placement runs every case and reports availability, failovers and lost runs', () => {
    const r = findExperiment('navigator-placement')!.run({ seed: 2, runs: 1, outDir: '/nonexistent' });
    const cases = placementCases();
    expect(new Set(r.rows.map((x) => x.case))).toEqual(new Set(cases.map((c) => c.name)));
    for (const row of r.rows) {
      if (row.metric === 'availabilityPct') {
        expect(row.value).toBeGreaterThan(0);
        expect(row.value).toBeLessThanOrEqual(100);
      }
      if (row.metric === 'failoversPerDay') expect(row.value).toBeGreaterThanOrEqual(0);
    }
    // The Weibull fits have shape < 1: expected-remaining ranks PCs as longest-uptime does, so
    // with common random numbers the two runs are the same; the lab's sessions rank the other way.
    const v = (c: string, m: string) => r.rows.find((x) => x.case === c && x.metric === m)?.value;
    expect(v('notre_dame07 / expected-remaining', 'failoversPerDay')).toBe(v('notre_dame07 / longest-uptime', 'failoversPerDay'));
    expect(v('lab / expected-remaining', 'failoversPerDay')).toBe(v('lab / shortest-uptime', 'failoversPerDay'));
  }, 300_000);
});

describe('Navigator after a churn burst (property)', () => {
  /**
   * Five PCs; the primary starts on pc1, which stays on. For the first two hours the others are
   * switched off and on at random (a trace churn), then one of them stays on for good. Within two
   * secondary checks (the PC that just failed is skipped by the placement right after its loss)
   * and one placement (uptime query, transfer, backup, container start) of the burst's end, the
   * service is served from pc1 and a secondary container runs on another PC that is on: high
   * availability comes back whenever a PC stays on long enough. (Found with one check: pc4 off
   * 55 s before the burst's end, seed 797.)
   */
  it('a secondary runs again and the service is served after any burst, if one PC stays on', () => {
    const BURST_S = 7200;
    fc.assert(fc.property(
      fc.array(fc.record({ pc: fc.constantFrom('pc2', 'pc3', 'pc4', 'pc5'), on: fc.boolean(), atS: fc.integer({ min: 1, max: BURST_S }), lenS: fc.integer({ min: 1, max: 3600 }) }), { maxLength: 25 }),
      fc.constantFrom('pc2', 'pc3', 'pc4', 'pc5'),
      fc.integer({ min: 1, max: 1000 }),
      (rows, stays, seed) => {
        const pcs = ['pc2', 'pc3', 'pc4', 'pc5'];
        // Each PC's rows; a row past the burst ends at its end. The one that stays is on after it.
        const events = [
          ...pcs.map((pc) => ({ node: pc, available: true, start: 0, stop: 0 })),
          ...rows.map((r) => ({ node: r.pc, available: r.on, start: r.atS, stop: Math.min(BURST_S, r.atS + r.lenS) })),
          { node: stays, available: true, start: BURST_S, stop: BURST_S },
          ...pcs.filter((pc) => pc !== stays).map((pc) => ({ node: pc, available: false, start: BURST_S, stop: BURST_S })),
        ];
        // A secondary lost at the end of the burst is seen within a secondary check (300 s) and a
        // ping timeout; the PC that just failed is skipped by that placement (the thesis's
        // exclusion), so the next try comes a check later; then one placement (uptime query,
        // transfer, backup, container start) and a minute of room.
        const bound = 2 * (300 + 4 + 1) + 1.25e9 * 8 / 66e6 + 1.25e9 * 8 / 96e6 + 42.84 + 60;
        const s = scenarioSchema.parse({
          until: `${BURST_S + bound}s`,
          hosts: [{ name: 'pc1' }, ...pcs.map((name) => ({ name }))],
          vms: [{ name: 'nav-a', state: 'defined', memMb: 1024, services: [{ name: 'zabbix' }] }, { name: 'nav-b', state: 'defined', memMb: 1024, services: [{ name: 'zabbix' }] }],
          vips: [{ name: 'vip-rms', service: 'zabbix' }],
          clients: [{ name: 'user', vip: 'vip-rms', intervalS: 1 }],
          churn: { kind: 'trace', hosts: pcs, nodes: pcs, origin: 0, events },
          policies: [{ kind: 'navigator', start: 'pc1', containers: ['nav-a', 'nav-b'], service: 'zabbix', vip: 'vip-rms' }],
        }) as Scenario;
        const sim = buildSimulation(s, { seed });
        sim.run();
        const label = JSON.stringify({ rows, stays, seed });
        expect(sim.world.host(stays).state, label).toBe('on');
        const vms = ['nav-a', 'nav-b'].map((v) => sim.world.vm(v));
        const running = vms.filter((v) => v.state === 'running');
        expect(running.map((v) => v.host).sort(), label).toEqual(['pc1', stays].sort());
        const last = sim.events.filter((e) => e.kind === 'client.access').at(-1);
        expect(last?.data?.ok, label).toBe(true);
      },
    ), fcParams(25));
  }, 300_000);
});
