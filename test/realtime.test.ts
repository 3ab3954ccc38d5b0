// One process, two schedulers: a small monitor (watch a target, restart it when a probe fails,
// loop) runs under the DES kernel and under the wall-clock RealtimeScheduler (sped up 100x) and
// yields the same effects in the same order. Times are compared only as a loose sanity bound:
// a timing assertion on wall-clock timers would be flaky. Both runs use the naive watch (live
// mode has no QuietOracle).
import { afterEach, describe, expect, it } from 'vitest';
import { Kernel } from '../sim/kernel/kernel.ts';
import { Runtime, type Scheduler } from '../engine/runtime/runtime.ts';
import { S, sleep, trace, watch, type Effect, type Process } from '../engine/runtime/effects.ts';
import { call } from '../engine/ports/index.ts';
import type { ProbeSpec } from '../engine/ports/probe.ts';
import { RealtimeScheduler } from '../adapters/realtime/scheduler.ts';
import { FakeTargets } from './helpers/fake-targets.ts';

const SPEEDUP = 100; // 10 s of engine time per 100 ms
const spec = { kind: 'service', target: 'web', service: 'httpd', timeoutUs: 2 * S } satisfies ProbeSpec;
// The target fails at 25 s, 60 s and 95 s; every change is 5 s away from any probe instant, so
// timer jitter of up to 50 ms cannot change what the probes see.
const FAILURES_S = [25, 60, 95];

function* monitor(rounds: number): Process<void> {
  for (let i = 0; i < rounds; i++) {
    const bad = yield* watch(spec, 10 * S);
    yield* trace('trouble.detected', spec.target, { detail: bad.detail });
    yield* call('services', 'restart', spec.target, spec.service);
    yield* sleep(5 * S);
  }
}

/** An effect without its time-dependent parts (sleepUntil's absolute instant). */
function describeEffect(pid: number, e: Effect): string {
  switch (e.kind) {
    case 'call':
      return `${pid} call ${e.port}.${e.op}(${JSON.stringify(e.args)})`;
    case 'watch':
      return `${pid} watch ${JSON.stringify(e.probe)} every ${e.intervalUs}`;
    case 'sleep':
      return `${pid} sleep ${e.us}`;
    case 'trace':
      return `${pid} trace ${e.record.kind} ${e.record.subject} ${JSON.stringify(e.record.data ?? {})}`;
    case 'sleepUntil':
      return `${pid} sleepUntil`;
    default:
      return `${pid} ${e.kind}`;
  }
}

interface Recording {
  effects: string[];
  /** Engine times of the restarts (the monitor's reaction to each failure). */
  restartsUs: number[];
  probes: number;
}

function setup(scheduler: Scheduler) {
  const targets = new FakeTargets(() => scheduler.nowUs());
  const rec: Recording = { effects: [], restartsUs: [], probes: 0 };
  const rt = new Runtime({
    scheduler,
    ports: () => targets.ports(false),
    watchMode: 'naive',
    onEffect: (pid, e, nowUs) => {
      rec.effects.push(describeEffect(pid, e));
      if (e.kind === 'call' && e.op === 'restart') rec.restartsUs.push(nowUs);
    },
  });
  for (const s of FAILURES_S) scheduler.at(s * S, () => targets.set('web', false), 0);
  return { targets, rt, rec };
}

let open: RealtimeScheduler | null = null;
afterEach(() => {
  open?.close();
  open = null;
});

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the same process runs on the DES kernel and on the real-time scheduler', () => {
  it('yields the same effect sequence under both schedulers', async () => {
    const kernel = new Kernel();
    const sim = setup(kernel);
    const simPid = sim.rt.start('monitor', monitor(FAILURES_S.length));
    kernel.run();
    expect(sim.rt.resultOf(simPid)).toEqual({ status: 'done', value: undefined });
    // In sim: failures at 25/60/95 s are seen by the probes at 30/65/100 s.
    expect(sim.rec.restartsUs).toEqual([30 * S, 65 * S, 100 * S]);
    sim.rec.probes = sim.targets.probes.length;

    const sched = new RealtimeScheduler(SPEEDUP);
    open = sched;
    const live = setup(sched);
    const livePid = live.rt.start('monitor', monitor(FAILURES_S.length));
    await until(() => live.rt.resultOf(livePid) !== undefined, 20_000);
    expect(live.rt.resultOf(livePid)).toEqual({ status: 'done', value: undefined });
    live.rec.probes = live.targets.probes.length;

    expect(live.rec.effects).toEqual(sim.rec.effects);
    expect(live.rec.probes).toBe(sim.rec.probes);
    // Sanity bound only: each reaction happens within one probe interval of the sim's instant.
    live.rec.restartsUs.forEach((t, i) => {
      const simT = sim.rec.restartsUs[i];
      expect(t).toBeGreaterThanOrEqual(simT - 1 * S);
      expect(t - simT).toBeLessThan(10 * S);
    });
    // A finished program leaves no timer behind.
    expect(sched.pending).toBe(0);
  });

  it('stopping a program on the real-time scheduler withdraws its timers', async () => {
    const sched = new RealtimeScheduler(SPEEDUP);
    open = sched;
    const targets = new FakeTargets(() => sched.nowUs());
    const rt = new Runtime({ scheduler: sched, ports: () => targets.ports(false), watchMode: 'naive' });
    const pid = rt.start('monitor', monitor(1));
    await until(() => targets.probes.length >= 2, 5_000);
    expect(sched.pending).toBe(1); // the next probe instant
    rt.stop(pid);
    expect(rt.resultOf(pid)).toEqual({ status: 'cancelled' });
    expect(sched.pending).toBe(0);
    expect(rt.liveProcessCount).toBe(0);
  });
});
