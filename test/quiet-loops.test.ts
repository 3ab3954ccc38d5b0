// Exact quiescence of the P2P loops (issue 17): the load subprogram (`awaitLoadChange`), the VIP
// audit (`awaitHoldersChange`), the orphan watcher (`awaitClaimRounds`) and the supervisor's
// periodic reconcile (`awaitReconcile`) skipped in sim must give the trace of naive ticking
// (`watchMode: 'naive'` ticks them, as it ticks `watch`) minus the `probe.ok` lines of `watch`,
// on random P2P scenarios with faults of every kind (the swarm's generator: service and host
// faults, pauses, partitions, store cuts, link cuts, VM crashes) and load changes placed on, just
// before and just after the naive loops' instants (inside a sample's or a VIP poll's latency, at
// its reading, at its call, at a reconcile timeout). Replay a failing case with its printed seed
// and path (helpers/fc-params.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildSimulation } from '../run/sim.ts';
import { scenarioSchema } from '../sim/scenario/schema.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { scheduleArb, scheduleScenario } from '../run/swarm.ts';
import { Runtime, type WatchMode } from '../engine/runtime/runtime.ts';
import { Kernel } from '../sim/kernel/kernel.ts';
import { QuietLoop } from '../engine/runtime/quiet-loop.ts';
import { awaitClaimRounds, awaitHoldersChange, awaitReconcile, now, type Process } from '../engine/runtime/effects.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { firstDifference } from './helpers/random-scenario.ts';
import { fcParams } from './helpers/fc-params.ts';

const S = 1_000_000;
const LATENCY_US = 500; // the swarm scenarios' network.latencyS
const EXAM_US = 10_000; // their network.examS: a passing ping (the orphan watcher's probes follow each other by this)

function run(scenario: Scenario, mode: WatchMode): { ndjson: string; events: number; notices: number; error: string | null } {
  const sim = buildSimulation(scenario, { seed: scenario.seed ?? 1, watchMode: mode });
  let error: string | null = null;
  try {
    sim.run();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  return { ndjson: toNdjson(sim.events.filter((e) => e.kind !== 'probe.ok')), events: sim.kernel.eventCount, notices: sim.runtime.notices, error };
}

/** A load change near the k-th sample of a loop started at 0 with interval I: at its call, inside its latency, at its reading, or just after. */
const loadArb = (hosts: string[], intervalS: number) => fc.record({
  host: fc.constantFrom(...hosts),
  k: fc.integer({ min: 1, max: 40 }),
  offset: fc.constantFrom(0, 1, LATENCY_US - 1, LATENCY_US, LATENCY_US + 1, 250_000),
  durationK: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
  cpuPct: fc.constantFrom(0, 5, 30),
  memMb: fc.constantFrom(0, 100, 512),
}).map((l) => {
  const stride = intervalS * S + LATENCY_US;
  const start = l.k * stride + l.offset;
  return { host: l.host, start, ...(l.durationK !== undefined ? { end: start + l.durationK * stride + l.offset } : {}), cpuPct: l.cpuPct, memMb: l.memMb, netBytesPerS: 0 };
});

const caseArb = scheduleArb('p2p', 'hardened').chain((s) =>
  fc.array(loadArb(s.group, s.timing.interval), { maxLength: 6 }).map((loads) => {
    const scenario = scenarioSchema.parse(scheduleScenario(s)) as Scenario;
    // Loads in microseconds, set after parsing (the file format has seconds).
    scenario.load = [...scenario.load, ...loads];
    return scenario;
  }));

/**
 * The swarm's faults (every kind), moved onto the naive loops' instants: the VIP audit's polls
 * (started at 0, first reading at I + L, then every I + L: wake-ups at j (I + L) + I, readings L
 * later), the reconcile period R of the supervisor and the orphan watcher (timeouts at j R),
 * 1 us before, at, 1 us after, and around the poll's reading, and the orphan watcher's probes
 * while a claim is held (j R + m P for a ping's pass time P: the rounds drift by (n + 1) P per
 * round with n claims), 1 us before, at and 1 us after.
 */
const gridArb = (nudge: 'all' | 'changed') => scheduleArb('p2p', 'hardened').chain((s) => {
  const raw = scheduleScenario(s) as { policies: Array<{ reconcile: number }> };
  const iUs = s.timing.interval * S;
  const rUs = raw.policies[0].reconcile * S;
  const at = fc.record({
    grid: fc.constantFrom('audit', 'reconcile', 'orphan'),
    j: fc.integer({ min: 1, max: 30 }),
    m: fc.integer({ min: 0, max: 8 }),
    offset: fc.constantFrom(-1, 0, 1, LATENCY_US - 1, LATENCY_US, LATENCY_US + 1),
  }).map((g) => Math.max(1, (g.grid === 'audit' ? g.j * (iUs + LATENCY_US) + iUs : g.grid === 'reconcile' ? g.j * rUs : g.j * rUs + g.m * EXAM_US) + (g.grid === 'orphan' ? Math.sign(g.offset) * Math.min(1, Math.abs(g.offset)) : g.offset)));
  return fc.array(at, { minLength: s.faults.length, maxLength: s.faults.length }).map((times) => {
    const doc = scheduleScenario(s) as { policies: Array<Record<string, unknown>> };
    if (nudge === 'changed') doc.policies = doc.policies.map((p) => ({ ...p, nudge }));
    const scenario = scenarioSchema.parse(doc) as Scenario;
    // Times in microseconds, set after parsing (the file format has seconds).
    scenario.faults = scenario.faults.map((f, i) => ({ ...f, at: times[i] }) as Scenario['faults'][number]);
    return scenario;
  });
});

function expectSame(scenario: Scenario): { naive: number; skip: number } {
  const naive = run(scenario, 'naive');
  const skip = run(scenario, 'skip');
  expect(skip.error).toBe(naive.error);
  const diff = firstDifference(naive.ndjson, skip.ndjson);
  expect(diff, diff ?? '').toBeNull();
  // Skipping never costs more than ticking, give or take a wake-up per host, besides the events
  // it pays for listening (see below).
  expect(skip.events - skip.notices).toBeLessThanOrEqual(naive.events + scenario.hosts.length);
  return { naive: naive.events, skip: skip.events };
}

describe('quiet P2P loops: skipping is exact', () => {
  it('random P2P scenarios with every fault on a VIP poll or reconcile instant (or 1 us off, or inside the poll): skip trace = naive trace minus probe.ok', () => {
    fc.assert(fc.property(gridArb('all'), (scenario) => {
      expectSame(scenario);
    }), fcParams(60));
  }, 600_000);

  it('the same with nudge: changed (only the supervisors whose own rows a rewrite changes are told; the others wake only if their rows change): skip trace = naive trace minus probe.ok', () => {
    fc.assert(fc.property(gridArb('changed'), (scenario) => {
      expect((scenario.policies[0] as { nudge?: string }).nudge).toBe('changed');
      expectSame(scenario);
    }), fcParams(40));
  }, 600_000);

  it('a quiet ring: the VIP audits, the supervisors and the orphan watchers cost no event while nothing changes', () => {
    const s = fc.sample(scheduleArb('p2p', 'hardened'), { seed: 5, numRuns: 1 })[0];
    const scenario = scenarioSchema.parse(scheduleScenario({ ...s, faults: [] })) as Scenario;
    scenario.until = 6 * 3600 * S;
    const { naive, skip } = expectSame(scenario);
    // Naive: each host's audit polls (2 events per I + L), its reconcile timeouts (1 + 2 isDone
    // sleeps per 30 s) and its orphan watcher (1 per 30 s); skipped: the set-up only.
    const polls = (6 * 3600 * S) / (s.timing.interval * S + LATENCY_US);
    expect(naive).toBeGreaterThan(s.group.length * 2 * polls);
    expect(skip).toBeLessThan(50 * s.group.length);
  });

  it('random P2P scenarios (faults of every kind, load changes at the sample instants): skip trace = naive trace minus probe.ok', () => {
    fc.assert(fc.property(caseArb, (scenario) => {
      const naive = run(scenario, 'naive');
      const skip = run(scenario, 'skip');
      expect(skip.error).toBe(naive.error);
      const diff = firstDifference(naive.ndjson, skip.ndjson);
      expect(diff, diff ?? '').toBeNull();
      // Skipping never costs more than ticking, give or take a wake-up per host: a skipping loop
      // can hold one wake-up that the naive loop's death took with it (seed -1886499096: both
      // servers of a ring failed at 4 s, 15 kernel events against 14). Besides, the skipping
      // loops pay an event for each notification and hand-over (Runtime.notices): in a short run
      // with faults every few seconds they can outnumber the ticks saved (seeds -1481900974 and
      // 161610998: 1,079 events against 1,078, 65 against 61). What skipping saves is asserted on
      // quiet rings above and below; here it must schedule nothing else.
      expect(skip.events - skip.notices).toBeLessThanOrEqual(naive.events + scenario.hosts.length);
    }), fcParams(40));
  }, 600_000);

  it('a quiet ring costs events per load change, not per sample; a load change is written at the naive instant', () => {
    const s = fc.sample(scheduleArb('p2p', 'hardened'), { seed: 5, numRuns: 1 })[0];
    const scenario = scenarioSchema.parse(scheduleScenario({ ...s, faults: [] })) as Scenario;
    const stride = s.timing.interval * S + LATENCY_US;
    scenario.until = 2 * 3600 * S;
    scenario.load = [{ host: s.group[0], start: 30 * stride + LATENCY_US, end: 200 * stride, cpuPct: 40, memMb: 256, netBytesPerS: 0 }];
    const naive = run(scenario, 'naive');
    const skip = run(scenario, 'skip');
    expect(firstDifference(naive.ndjson, skip.ndjson)).toBeNull();
    // Two condition writes per change (the new reading, then previous = current), at the same instants.
    const writes = skip.ndjson.split('\n').filter((l) => l.includes('"store.write"') && l.includes(`condition/${s.group[0]}`));
    expect(writes.length).toBe(2 + 2 + 2);
    // Each host's sampler: naive 2 kernel events per sample over 2 h; skipped: a few per change.
    const samples = (2 * 3600 * S) / stride;
    expect(naive.events - skip.events).toBeGreaterThan(s.group.length * samples);
  });

  it('a pause that starts at, just before or just after a naive call or reading, with the load changing during the pause or inside the latency', () => {
    const s = fc.sample(scheduleArb('p2p', 'hardened'), { seed: 11, numRuns: 1 })[0];
    const stride = s.timing.interval * S + LATENCY_US;
    const host = s.group[1];
    let checked = 0;
    for (const pauseOffset of [-1, 0, 1, LATENCY_US - 1, LATENCY_US, LATENCY_US + 1]) {
      for (const changeAfter of [-LATENCY_US + 1, 0, 1, S, 3 * S + LATENCY_US]) {
        const scenario = scenarioSchema.parse(scheduleScenario({ ...s, faults: [] })) as Scenario;
        const pauseAt = 12 * stride + pauseOffset;
        scenario.until = 200 * S;
        scenario.faults = [{ kind: 'pause', target: host, at: pauseAt, duration: 3 * S } as Scenario['faults'][number]];
        scenario.load = [{ host, start: pauseAt + changeAfter, end: pauseAt + changeAfter + 7 * stride, cpuPct: 20, memMb: 300, netBytesPerS: 0 }];
        const naive = run(scenario, 'naive');
        const skip = run(scenario, 'skip');
        expect(skip.error).toBe(naive.error);
        const diff = firstDifference(naive.ndjson, skip.ndjson);
        expect(diff, `pause at +${pauseOffset} us, change at pause + ${changeAfter} us: ${diff}`).toBeNull();
        expect(naive.ndjson).toContain(`"subject":"p2p/condition/${host}"`);
        checked++;
      }
    }
    expect(checked).toBe(30);
  });
});

describe('the orphan watcher\'s rounds while a claim is held', () => {
  // A server that fails for good (host-fail) is separated and claimed by its manager, which holds the
  // claim; every other server's watcher probes itself and the claimant each R (30 s in the swarm
  // scenarios), the rounds drifting by (n + 1) P (P = 10 ms, a passing ping) per round with n claims.
  // A link cut or a pause of another server placed on those probes' instants, 1 us before and 1 us
  // after, must be seen at the same step skipped as ticked.
  it('a cut, pause or partition of the other servers on, just before or just after a probe of a claim round: skip trace = naive trace minus probe.ok, and skipping costs fewer events', () => {
    const s = fc.sample(scheduleArb('p2p', 'hardened'), { seed: 5, numRuns: 1 })[0];
    const R = 30 * S;
    const rest = s.group.slice(1);
    type Fault = Scenario['faults'][number];
    const second: Array<(at: number) => Fault> = [
      ...rest.map((target) => (at: number) => ({ kind: 'link-down', target, at, duration: 45 * S }) as Fault),
      ...rest.map((target) => (at: number) => ({ kind: 'pause', target, at, duration: 45 * S }) as Fault),
      // A watcher cut off from the claimant only (the claimant's own managers still reach it).
      ...rest.flatMap((a, i) => rest.slice(i + 1).map((b) => (at: number) => ({ kind: 'partition', a: [a], b: [b], oneWay: false, at, duration: 70 * S }) as Fault)),
    ];
    let checked = 0;
    let saved = 0;
    const takeovers = new Set<string>();
    for (const fault of second) {
      for (const j of [2, 3]) {
        for (let m = 0; m <= 6; m++) {
          for (const d of [-1, 0, 1]) {
            const scenario = scenarioSchema.parse(scheduleScenario({ ...s, faults: [] })) as Scenario;
            scenario.until = 200 * S;
            const at = j * R + m * EXAM_US + d;
            scenario.faults = [{ kind: 'host-fail', target: s.group[0], at: S } as Fault, fault(at)];
            const naive = run(scenario, 'naive');
            const skip = run(scenario, 'skip');
            expect(skip.error).toBe(naive.error);
            const diff = firstDifference(naive.ndjson, skip.ndjson);
            expect(diff, `${JSON.stringify(scenario.faults[1])}: ${diff}`).toBeNull();
            expect(skip.events).toBeLessThanOrEqual(naive.events);
            saved += naive.events - skip.events;
            for (const line of naive.ndjson.split('\n')) if (line.includes('"p2p.takeover"')) takeovers.add(line);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(second.length * 2 * 7 * 3);
    expect(saved).toBeGreaterThan(0);
    // The watchers' takeovers (a claimant found gone at two rounds) fall at instants that depend on the round the cut is first seen in.
    expect(takeovers.size).toBeGreaterThan(10);
  }, 600_000);
});

describe('quiet P2P loops without an oracle (live mode): the plain loop', () => {
  it('awaitHoldersChange and awaitClaimRounds sleep once and return null; awaitReconcile is receive(box, R)', () => {
    const kernel = new Kernel();
    const rt = new Runtime({ scheduler: kernel, ports: () => ({}) });
    const guard = { ok: () => true, subscribe: () => () => undefined };
    const seen: Array<[string, number, unknown]> = [];
    rt.start('audit', (function* (): Process<void> {
      const r = yield* awaitHoldersChange('vip', 10 * S, ['S1'], guard, []);
      seen.push(['holders', yield* now(), r]);
      const t = yield* awaitReconcile('box', 30 * S, [], guard);
      seen.push(['timeout', yield* now(), t]);
      const m = yield* awaitReconcile('box', 30 * S, [], guard);
      seen.push(['message', yield* now(), m]);
      const c = yield* awaitClaimRounds({ intervalUs: 5 * S, key: 'k', claimsOf: () => [], self: 'S1', probeOf: (target) => ({ kind: 'network', target, timeoutUs: S }) });
      seen.push(['rounds', yield* now(), c]);
    })());
    kernel.at(60 * S, () => rt.deliver('box', { hello: 1 }));
    kernel.run();
    expect(seen).toEqual([
      ['holders', 10 * S, null],
      ['timeout', 40 * S, null],
      ['message', 60 * S, { message: { hello: 1 } }],
      ['rounds', 65 * S, null],
    ]);
  });
});

describe('QuietLoop: the state the skipping loops share', () => {
  it('posts of a quiet stretch arrive while it lasts; a pause in it hands over at the naive step; close drops the mailbox', () => {
    const kernel = new Kernel();
    const rt = new Runtime({ scheduler: kernel, ports: () => ({}) });
    const got: Array<[number, unknown]> = [];
    let stops = 0;
    let unsubscribed = 0;
    let loop!: QuietLoop<string>;
    rt.start('loop', (function* (): Process<void> {
      loop = new QuietLoop<string>(rt, 'A', '#test/1', 1, (nowUs) => ({ at: nowUs + 5 * S, message: () => `handed over at ${nowUs}` }), () => void stops++);
      // A stretch: a post arrives; a post bound to an ended stretch does not.
      let post = loop.begin();
      loop.listen(() => void unsubscribed++);
      post('first');
      let m: unknown = yield { kind: 'receive', mailbox: loop.box };
      got.push([yield* now(), m]);
      loop.stop();
      expect(loop.quiet).toBe(false);
      post('stale');
      // A new stretch, paused at 1 s (below): the hand-over's message comes at 6 s, after the resume at 3 s.
      post = loop.begin();
      m = yield { kind: 'receive', mailbox: loop.box };
      got.push([yield* now(), m]);
      // Not quiet (the pause ended the stretch): a second pause hands nothing over.
      expect(loop.quiet).toBe(false);
      loop.close();
      post('after close');
    })(), 'A');
    kernel.at(1 * S, () => rt.pauseAgent('A'));
    kernel.at(3 * S, () => rt.resumeAgent('A'));
    kernel.at(7 * S, () => rt.pauseAgent('A'));
    kernel.run();
    expect(got).toEqual([[0, 'first'], [6 * S, `handed over at ${1 * S}`]]);
    expect(unsubscribed).toBe(1);
    // stop after 'first', stop by the pause, close.
    expect(stops).toBe(3);
    expect(rt.queued('#test/1')).toBe(0);
  });
});
