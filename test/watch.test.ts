// "Quiet monitoring is skipped exactly": the `watch` effect in sim (skipWatch, woken by the
// world's QuietOracle) must produce the trace of naive ticking minus its `probe.ok` lines, and
// must cost events per change, not per probe. Replay a failing property case with its printed
// seed and path: fc.assert(prop, { seed, path }) or HATWIN_FC_SEED / HATWIN_FC_PATH
// (see helpers/fc-params.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { Kernel } from '../sim/kernel/kernel.ts';
import { Runtime, type WatchMode } from '../engine/runtime/runtime.ts';
import { E, S, cancel, firstOf, now, sleep, spawn, watch, type Process, type RaceResult } from '../engine/runtime/effects.ts';
import type { ProbeResult, ProbeSpec } from '../engine/ports/probe.ts';
import type { TraceEvent } from '../engine/ports/trace.ts';
import { arbScenario, firstDifference, simulate, type ScenarioObject } from './helpers/random-scenario.ts';
import { FakeTargets } from './helpers/fake-targets.ts';
import { fcParams } from './helpers/fc-params.ts';

const MODES: WatchMode[] = ['naive', 'skip'];
const notProbeOk = (e: TraceEvent) => e.kind !== 'probe.ok';
const DEMO = new URL('../experiments/scenarios/demo.yaml', import.meta.url);
const demo = (): ScenarioObject => YAML.parse(readFileSync(DEMO, 'utf8')) as ScenarioObject;

/** Runtime over the DES kernel with fake targets; `flips` are [timeUs, target, up]. */
function rig(mode: WatchMode, flips: Array<[number, string, boolean]> = []) {
  const kernel = new Kernel();
  const targets = new FakeTargets(() => kernel.nowUs());
  const events: TraceEvent[] = [];
  const rt = new Runtime({ scheduler: kernel, ports: () => targets.ports(), watchMode: mode, trace: { emit: (e) => events.push(e) } });
  for (const [t, target, up] of flips) kernel.at(t, () => targets.set(target, up));
  return { kernel, targets, rt, events };
}

const web: ProbeSpec = { kind: 'network', target: 'web', timeoutUs: 2 * S };

describe('watch effect (runtime level, both modes)', () => {
  for (const mode of MODES) {
    describe(`${mode} mode`, () => {
      it('probes on the grid start + k * interval and returns the first failing probe', () => {
        const { kernel, rt, targets } = rig(mode, [[42 * S, 'web', false]]);
        let got: [number, ProbeResult] | null = null;
        rt.start('mon', (function* () {
          yield* sleep(5 * S);
          const r = yield* watch(web, 10 * S);
          got = [yield* now(), r];
        })());
        kernel.run();
        expect(got).toEqual([45 * S, { ok: false, detail: 'unreachable', latencyUs: 0 }]);
        const times = targets.probes.map((p) => p.t / S);
        expect(times).toEqual(mode === 'naive' ? [15, 25, 35, 45] : [45]);
      });

      it('with phaseUs, probes on phase + k * interval, including the start instant when it is on that grid', () => {
        for (const [startS, expectFirst] of [[5, 13], [13, 13], [14, 23]] as const) {
          const { kernel, rt, targets } = rig(mode, [[0, 'web', false]]);
          let at = -1;
          rt.start('mon', (function* () {
            yield* sleep(startS * S);
            yield* watch(web, 10 * S, 3 * S);
            at = yield* now();
          })());
          kernel.run();
          expect(at, `watch started at ${startS} s`).toBe(expectFirst * S);
          expect(targets.probes.map((p) => p.t)).toEqual([expectFirst * S]);
        }
        // Quiet phased monitoring: the failure at 40 s is seen at 43 s.
        const { kernel, rt, targets } = rig(mode, [[40 * S, 'web', false]]);
        let at = -1;
        rt.start('mon', (function* () {
          yield* watch(web, 10 * S, 3 * S);
          at = yield* now();
        })());
        kernel.run();
        expect(at).toBe(43 * S);
        expect(targets.probes.map((p) => p.t / S)).toEqual(mode === 'naive' ? [3, 13, 23, 33, 43] : [43]);
      });

      it('a target that fails exactly at a probe instant is seen by the probe at that instant', () => {
        const cases: Array<{ name: string; setup: (k: Kernel, t: FakeTargets) => void; detectS: number }> = [
          { name: 'down at 30 s', setup: (k, t) => k.at(30 * S, () => t.set('web', false)), detectS: 30 },
          // a change made by an event that an event of the same instant scheduled
          { name: 'down at 30 s, scheduled at 30 s', setup: (k, t) => k.at(30 * S, () => k.at(30 * S, () => t.set('web', false))), detectS: 30 },
          { name: 'down at 30 s + 1 us', setup: (k, t) => k.at(30 * S + 1, () => t.set('web', false)), detectS: 40 },
          { name: 'down at 30 s - 1 us', setup: (k, t) => k.at(30 * S - 1, () => t.set('web', false)), detectS: 30 },
          // down and up again within the instant: the probe sees the end state of the instant
          {
            name: 'down and back up at 30 s, down at 45 s',
            setup: (k, t) => {
              k.at(30 * S, () => t.set('web', false));
              k.at(30 * S, () => t.set('web', true));
              k.at(45 * S, () => t.set('web', false));
            },
            detectS: 50,
          },
          // a blip between two probe instants is never seen
          {
            name: 'down 31-35 s, down at 61 s',
            setup: (k, t) => {
              k.at(31 * S, () => t.set('web', false));
              k.at(35 * S, () => t.set('web', true));
              k.at(61 * S, () => t.set('web', false));
            },
            detectS: 70,
          },
        ];
        for (const c of cases) {
          const { kernel, rt, targets } = rig(mode);
          c.setup(kernel, targets);
          let at = -1;
          rt.start('mon', (function* () {
            const r = yield* watch(web, 10 * S);
            expect(r.ok).toBe(false);
            at = yield* now();
          })());
          kernel.run();
          expect(at, c.name).toBe(c.detectS * S);
        }
      });

      it('a watch raced against a timeout by firstOf is withdrawn: no probe, timer or subscription is left', () => {
        const { kernel, rt, targets } = rig(mode, [[50 * S, 'web', false]]);
        let r: RaceResult | null = null;
        rt.start('mon', (function* () {
          r = yield* firstOf(E.watch(web, 10 * S), E.sleep(35 * S));
          expect(targets.subscriptions).toBe(0);
        })());
        kernel.run();
        expect(r).toEqual({ index: 1, value: undefined });
        expect(targets.probes.every((p) => p.t <= 35 * S)).toBe(true);
        expect(targets.probes.map((p) => p.t / S)).toEqual(mode === 'naive' ? [10, 20, 30] : []);
        expect(targets.subscriptions).toBe(0);
        expect(kernel.pending).toBe(0);
        expect(rt.liveProcessCount).toBe(0);
        expect(kernel.nowUs()).toBe(50 * S); // only the flip remained
      });

      it('a watch that fails first wins the race and the timeout is withdrawn', () => {
        const { kernel, rt, targets } = rig(mode, [[42 * S, 'web', false]]);
        let r: RaceResult | null = null;
        rt.start('mon', (function* () {
          r = yield* firstOf(E.watch(web, 10 * S), E.sleep(100 * S));
        })());
        kernel.run();
        expect(r).toEqual({ index: 0, value: { ok: false, detail: 'unreachable', latencyUs: 0 } });
        expect(kernel.nowUs()).toBe(50 * S);
        expect(kernel.pending).toBe(0);
        expect(targets.subscriptions).toBe(0);
      });

      it('cancelling the process that watches ends its watch', () => {
        const { kernel, rt, targets } = rig(mode, [[100 * S, 'web', false]]);
        rt.start('boss', (function* () {
          const pid = yield* spawn('mon', (function* () {
            yield* watch(web, 10 * S);
            throw new Error('not reached: the watch was cancelled');
          })());
          yield* sleep(25 * S);
          yield* cancel(pid);
        })());
        kernel.run();
        expect(targets.probes.map((p) => p.t / S)).toEqual(mode === 'naive' ? [10, 20] : []);
        expect(targets.subscriptions).toBe(0);
        expect(rt.liveProcessCount).toBe(0);
      });

      it('a watch cancelled at the instant its target changes leaves no mailbox with that change behind', () => {
        const { kernel, rt } = rig(mode, [[25 * S, 'web', false]]);
        let mon = -1;
        rt.start('boss', (function* () {
          mon = yield* spawn('mon', (function* () {
            yield* watch(web, 10 * S);
          })());
          yield* sleep(25 * S);
          yield* cancel(mon);
        })());
        kernel.run();
        expect(rt.liveProcessCount).toBe(0);
        // The change was posted before the cancel and delivered after it: dropped, not kept in a mailbox made again.
        expect([...(rt as unknown as { boxes: Map<string, unknown> }).boxes.keys()]).toEqual([]);
      });
    });
  }

  it('simultaneous watches of one instant probe in process order, the same in both modes', () => {
    const order = (mode: WatchMode) => {
      const { kernel, rt, targets } = rig(mode, [[20 * S, 'a', false], [20 * S, 'b', false], [20 * S, 'c', false]]);
      const done: string[] = [];
      for (const name of ['c', 'a', 'b']) {
        rt.start(`mon-${name}`, (function* (): Process<void> {
          yield* watch({ kind: 'network', target: name, timeoutUs: S }, 10 * S);
          done.push(`${name}@${(yield* now()) / S}`);
        })());
      }
      kernel.run();
      return { done, failing: targets.probes.filter((p) => !p.ok).map((p) => p.target) };
    };
    const naive = order('naive');
    expect(naive).toEqual({ done: ['c@20', 'a@20', 'b@20'], failing: ['c', 'a', 'b'] });
    expect(order('skip')).toEqual(naive);
  });

  // Regression (quiet-loops property, seed 721084938): a watcher's agent paused across its next
  // probe instant, the target failing during the pause. The naive loop wakes at that instant,
  // held, and probes as the agent resumes, inside the resume's event: before the events of that
  // instant scheduled after the resume was. The skipping watch, woken by the change's
  // notification instead, probed in the late lane of the resume instant: after them.
  it('a watch held by a pause across its probe instant probes in the resume, in the naive place, in both modes', () => {
    const order = (mode: WatchMode) => {
      // mgr paused from 5 s to 15 s (the resume scheduled first); web down at 7 s.
      const { kernel, rt } = rig(mode, [[7 * S, 'web', false]]);
      kernel.at(15 * S, () => rt.resumeAgent('mgr'));
      kernel.at(5 * S, () => rt.pauseAgent('mgr'));
      const log: string[] = [];
      rt.start('mon', (function* (): Process<void> {
        yield* watch(web, 10 * S);
        log.push(`mgr detects@${(yield* now()) / S}`);
      })(), 'mgr');
      rt.start('tick', (function* (): Process<void> {
        for (let i = 0; i < 20; i++) {
          yield* sleep(S);
          log.push(`tick@${(yield* now()) / S}`);
        }
      })(), 'other');
      kernel.run();
      return log.filter((l) => l.endsWith('@14') || l.endsWith('@15') || l.endsWith('@16'));
    };
    const naive = order('naive');
    expect(naive).toEqual(['tick@14', 'mgr detects@15', 'tick@15', 'tick@16']);
    expect(order('skip')).toEqual(naive);
  });

  it('skip mode costs events per change: 1 day of 1 s monitoring with 3 changes', () => {
    const count = (mode: WatchMode) => {
      const { kernel, rt, targets } = rig(mode, [[30_000 * S + 7, 'web', false], [30_001 * S, 'web', true], [86_000 * S, 'web', false]]);
      let at = -1;
      rt.start('mon', (function* () {
        yield* watch(web, S);
        at = yield* now();
      })());
      kernel.run();
      return { at, events: kernel.eventCount, probes: targets.probes.length };
    };
    const naive = count('naive');
    const skip = count('skip');
    // The blip from 30 000 s + 7 us ends at 30 001 s, before that instant's probe (probes run
    // after every ordinary event of their instant): no probe sees it; the watch ends at 86 000 s.
    expect(naive.at).toBe(86_000 * S);
    expect(skip.at).toBe(86_000 * S);
    expect(naive.probes).toBe(86_000);
    expect(skip.probes).toBeLessThanOrEqual(3);
    expect(skip.events).toBeLessThan(20);
  });
});

describe('watch in the simulated world: naive ticking vs skipping', () => {
  // The invariant: the two modes give the same trace once naive's probe.ok lines are dropped.
  // The generator pauses any host, the manager too, and lets the service examination take longer
  // than the probe interval (both once broke skipWatch; see the regression tests below).
  it('quiet monitoring is skipped exactly (random scenarios, simultaneous and on-grid faults)', () => {
    fc.assert(
      fc.property(arbScenario(), fc.integer({ min: 0, max: 1000 }), (scenario, seed) => {
        const naive = simulate(scenario, seed, 'naive', notProbeOk);
        const skip = simulate(scenario, seed, 'skip', notProbeOk);
        const diff = firstDifference(naive.ndjson, skip.ndjson);
        expect(diff, `naive (expected) vs skip (actual), seed ${seed}:\n${diff}`).toBeNull();
        expect(skip.error).toBe(naive.error);
      }),
      fcParams(80),
    );
  });

  it('one simulated day of quiet monitoring: skip needs a handful of events, naive ~8640 probes', () => {
    const s = demo();
    s.faults = [];
    s.until = '1d';
    const naive = simulate(s, 1, 'naive');
    const skip = simulate(s, 1, 'skip');
    const probeOks = (nd: string) => nd.split('\n').filter((l) => l.includes('"probe.ok"')).length;
    // Two quiet watches (the service, and the VIP audit of the hardened failover), each probing at
    // 10 s, 20 s, ... 86 400 s; the last probe answers after `until`.
    expect(probeOks(naive.ndjson)).toBe(2 * 8639);
    expect(naive.eventCount).toBeGreaterThanOrEqual(2 * 8640);
    expect(probeOks(skip.ndjson)).toBe(0);
    expect(skip.eventCount).toBeLessThan(30);
    const strip = (nd: string) => nd.split('\n').filter((l) => !l.includes('"probe.ok"')).join('\n');
    expect(strip(skip.ndjson)).toBe(strip(naive.ndjson));
  });

  it('a simulated year of quiet monitoring costs fewer than 100 events in skip mode', () => {
    const s = demo();
    s.faults = [];
    s.until = '365d';
    const skip = simulate(s, 1, 'skip');
    expect(skip.error).toBeNull();
    expect(skip.eventCount).toBeLessThan(100);
    expect(skip.sim.kernel.nowUs()).toBe(365 * 86_400 * S);
  });

  it('a fault on the probe grid is detected at that probe instant in both modes (demo, St2 at 70 s)', () => {
    const s = demo();
    s.faults = [{ kind: 'St2', target: 'web1', service: 'httpd', at: '70s' }];
    s.until = '100s';
    for (const mode of MODES) {
      const run = simulate(s, 1, mode);
      const detected = run.sim.events.find((e) => e.kind === 'trouble.detected');
      // the probe at 70 s sees the frozen daemon and times out after serviceTimeout (3 s)
      expect(detected?.t, mode).toBe(73 * S);
    }
  });

  // Regression (skipWatch, engine/runtime/runtime.ts; fixed in 21245a4). While the manager is
  // paused (SIGSTOP) the naive loop's timer for the grid instant 70 s expires; on resume at 75 s
  // it probes at once and detects the frozen daemon at 75 + 3 s. skipWatch must do the same, not
  // sleep to the next grid instant (80 s).
  it('a manager paused across a probe instant probes on resume in both modes', () => {
    const s = demo();
    s.until = '100s';
    s.faults = [
      { kind: 'pause', target: 'mgr', at: '60s', duration: '15s' },
      { kind: 'St2', target: 'web1', service: 'httpd', at: '62s' },
    ];
    const naive = simulate(s, 1, 'naive', notProbeOk);
    const skip = simulate(s, 1, 'skip', notProbeOk);
    expect(naive.sim.events.find((e) => e.kind === 'trouble.detected')?.t).toBe(78 * S);
    const diff = firstDifference(naive.ndjson, skip.ndjson);
    expect(diff, `naive (expected) vs skip (actual):\n${diff}`).toBeNull();
  });

  // Regression (skipWatch, engine/runtime/runtime.ts; fixed in 21245a4). When a passing probe
  // takes longer than the interval (examS 1.59 s, interval 1 s), the naive loop cannot probe at
  // every grid instant: after the probe at k s it answers at k + 1.59 s and probes next at
  // k + 2 s, so it probes at odd seconds only. St2 at 64 s: naive probes at 65 s and detects at
  // 68 s (3 s service timeout); skipWatch must not probe at 64 s.
  it('a service examination slower than the interval: skip probes where naive would', () => {
    const s = demo();
    s.until = '100s';
    (s.policies[0] as Record<string, unknown>).interval = '1s';
    s.faults = [{ kind: 'St2', target: 'web1', service: 'httpd', at: '64s' }];
    const naive = simulate(s, 1, 'naive', notProbeOk);
    const skip = simulate(s, 1, 'skip', notProbeOk);
    expect(naive.sim.events.find((e) => e.kind === 'trouble.detected')?.t).toBe(68 * S);
    const diff = firstDifference(naive.ndjson, skip.ndjson);
    expect(diff, `naive (expected) vs skip (actual):\n${diff}`).toBeNull();
  });

  // Regression (skipWatch, engine/runtime/runtime.ts; fixed in 8d03eea). The manager is paused at
  // 61 s for 15 s while its passing probe of 60 s is in flight (examS 1.59 s: the answer comes at
  // 61.59 s, parked until the resume at 76 s). Naive computes its next instant only when it runs
  // again: nextGrid(max(60 s, 76 s - 1 us)) = 80 s, and detects the daemon frozen at 62 s at
  // 83 s. skipWatch used to assume the naive loop slept to 70 s (call + stride) and, the agent
  // being resumed past 70 s, probed at once at 76 s, detecting at 79 s.
  it('a manager paused while a passing probe is in flight: skip probes where naive would', () => {
    const s = demo();
    s.until = '120s';
    s.faults = [
      { kind: 'pause', target: 'mgr', at: '61s', duration: '15s' },
      { kind: 'St2', target: 'web1', service: 'httpd', at: '62s' },
    ];
    const naive = simulate(s, 1, 'naive', notProbeOk);
    const skip = simulate(s, 1, 'skip', notProbeOk);
    expect(naive.sim.events.find((e) => e.kind === 'trouble.detected')?.t).toBe(83 * S);
    const diff = firstDifference(naive.ndjson, skip.ndjson);
    expect(diff, `naive (expected) vs skip (actual):\n${diff}`).toBeNull();
  });

  // Regression (fixed in 8d03eea), same cause as above: a pause of the watcher's own agent shifts
  // the naive probe sequence even when the target does not change during it, and skipWatch used
  // to never hear of the pause (the oracle reports target changes only). Interval 1 s, examS 1.59 s: naive probes at
  // odd seconds; its probe of 61 s answers at 62.59 s while the manager is paused (61.5 s to
  // 65.2 s), so it continues at 65.2 s and probes at 66, 68, 70 s: the St2 of 69.5 s is seen at
  // 70 s (detected 73 s). skipWatch used to keep the odd grid (71 s, detected 74 s).
  it('a pause of the manager shifts the naive probe sequence; skip must follow it', () => {
    const s = demo();
    s.until = '120s';
    (s.policies[0] as Record<string, unknown>).interval = '1s';
    s.faults = [
      { kind: 'pause', target: 'mgr', at: '61500ms', duration: '3700ms' },
      { kind: 'St2', target: 'web1', service: 'httpd', at: '69500ms' },
    ];
    const naive = simulate(s, 1, 'naive', notProbeOk);
    const skip = simulate(s, 1, 'skip', notProbeOk);
    expect(naive.sim.events.find((e) => e.kind === 'trouble.detected')?.t).toBe(73 * S);
    const diff = firstDifference(naive.ndjson, skip.ndjson);
    expect(diff, `naive (expected) vs skip (actual):\n${diff}`).toBeNull();
  });
});
