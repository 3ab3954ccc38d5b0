// Correctness of the hold-model benchmark (bench/) and of what its runtime contender measures:
// no timing is asserted here.
import { describe, expect, it } from 'vitest';
import { makeDelayTable } from '../bench/delays.ts';
import { CONTENDERS, EXTRA_CONTENDERS, makeHold } from '../bench/hold.ts';
import { ObjectHeap } from '../bench/object-heap.ts';
import fc from 'fast-check';
import { Kernel } from '../sim/kernel/kernel.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import { Runtime as RuntimeV0 } from '../bench/runtime-v0.ts';
import {
  E, callPort, cancel, firstOf, join, now, receive, self, send, sleep, spawn, trace, watch,
  type Effect, type JoinResult, type RaceResult,
} from '../engine/runtime/effects.ts';
import type { Ports } from '../engine/ports/index.ts';
import type { ProbeResult, ProbeSpec } from '../engine/ports/probe.ts';
import type { TraceEvent } from '../engine/ports/trace.ts';

describe('hold-model benchmark', () => {
  const delays = makeDelayTable(1000, 14, 7);

  it('draws integer exponential delays with the requested mean', () => {
    const t = delays.table;
    expect(t.length).toBe(1 << 14);
    expect(delays.mask).toBe(t.length - 1);
    let sum = 0;
    let bad = 0;
    for (const d of t) {
      if (!(Number.isInteger(d) && d >= 0)) bad++;
      sum += d;
    }
    expect(bad).toBe(0);
    // floor() lowers the mean by ~0.5 us; 16 k samples leave ~1% noise.
    expect(sum / t.length).toBeGreaterThan(950);
    expect(sum / t.length).toBeLessThan(1050);
  });

  it('the baseline heap pops in (time, seq) order', () => {
    const h = new ObjectHeap();
    const fn = () => undefined;
    const times = [5, 3, 9, 3, 1, 5, 5, 0, 7, 3];
    times.forEach((time, seq) => h.push({ time, seq, fn }));
    const out: [number, number][] = [];
    for (let e = h.pop(); e; e = h.pop()) out.push([e.time, e.seq]);
    const want = times.map((t, s) => [t, s] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(out).toEqual(want);
    expect(h.size).toBe(0);
  });

  it('every contender fires the same events at the same times, in non-decreasing time', () => {
    const n = 37;
    const events = 3000;
    const series = new Map<string, number[]>();
    for (const c of [...CONTENDERS, ...EXTRA_CONTENDERS]) {
      const m = makeHold(c, n, delays);
      const t: number[] = [];
      for (let i = 0; i < events; i++) {
        m.run(1);
        t.push(m.nowUs());
      }
      expect(m.fired()).toBe(events);
      // kernel, baseline count events; runtime, generators count effects (n initial sleeps + one per event).
      expect(m.count()).toBe(c === 'runtime' || c === 'runtime0' || c === 'generators' ? n + events : events);
      for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]);
      series.set(c, t);
    }
    expect(series.get('baseline')).toEqual(series.get('kernel'));
    expect(series.get('runtime')).toEqual(series.get('kernel'));
    expect(series.get('runtime0')).toEqual(series.get('kernel'));
    expect(series.get('kernel0')).toEqual(series.get('kernel'));
    expect(series.get('generators')).toEqual(series.get('kernel'));
  });

  it('runs in larger batches too (the benchmark calls run(chunk))', () => {
    for (const c of CONTENDERS) {
      const m = makeHold(c, 1000, delays);
      m.run(20_000);
      expect(m.fired()).toBe(20_000);
      // 1000 entities with mean delay 1000 us fire ~1 event/us: 20 k events take ~20 k us.
      expect(m.nowUs()).toBeGreaterThan(15_000);
      expect(m.nowUs()).toBeLessThan(25_000);
    }
  });
});

// The runtime contender measures the one-shot effect helpers (engine/runtime/effects.ts): each
// helper fills a shared effect object and returns a stateless iterator, and the runtime resumes
// the process with a RESUME token. runtime0 (bench/runtime-v0.ts) is the runtime before that
// change, driven here by generator helpers as they were. On random programs that mix every
// effect, raw `yield`s, nested helper generators, errors thrown at the `yield*`, cancellation
// with effects in `finally`, both must give the same trace and the same effect sequence.
describe('one-shot effect helpers against the frozen runtime (bench/runtime-v0.ts)', () => {
  type Op =
    | { k: 'sleep'; us: number }
    | { k: 'badSleep' }
    | { k: 'now' }
    | { k: 'self' }
    | { k: 'send'; box: number; msg: number }
    | { k: 'receive'; box: number; timeoutUs?: number }
    | { k: 'spawnJoin'; us: number; value: number; join: boolean }
    | { k: 'spawnCancel'; us: number; afterUs: number }
    | { k: 'race'; us: number; box: number }
    | { k: 'call'; fail: 'no' | 'sync' | 'missing'; value: number }
    | { k: 'nested'; us: number }
    | { k: 'raw'; us: number }
    | { k: 'watch'; intervalUs: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ k: fc.constant('sleep' as const), us: fc.integer({ min: 0, max: 50 }) }) },
    fc.constant({ k: 'badSleep' as const }),
    fc.constant({ k: 'now' as const }),
    fc.constant({ k: 'self' as const }),
    fc.record({ k: fc.constant('send' as const), box: fc.integer({ min: 0, max: 2 }), msg: fc.integer({ min: 0, max: 99 }) }),
    fc.record({ k: fc.constant('receive' as const), box: fc.integer({ min: 0, max: 2 }), timeoutUs: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }) }),
    fc.record({ k: fc.constant('spawnJoin' as const), us: fc.integer({ min: 0, max: 30 }), value: fc.integer({ min: 0, max: 9 }), join: fc.boolean() }),
    fc.record({ k: fc.constant('spawnCancel' as const), us: fc.integer({ min: 1, max: 30 }), afterUs: fc.integer({ min: 0, max: 30 }) }),
    fc.record({ k: fc.constant('race' as const), us: fc.integer({ min: 0, max: 30 }), box: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ k: fc.constant('call' as const), fail: fc.constantFrom('no' as const, 'sync' as const, 'missing' as const), value: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ k: fc.constant('nested' as const), us: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ k: fc.constant('raw' as const), us: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ k: fc.constant('watch' as const), intervalUs: fc.integer({ min: 1, max: 15 }) }),
  );

  interface Helpers {
    sleep(us: number): Gen<void>;
    now(): Gen<number>;
    self(): Gen<number>;
    send(to: string, msg: unknown): Gen<void>;
    receive(box: string, timeoutUs?: number): Gen<unknown>;
    spawn(name: string, body: Gen<unknown>): Gen<number>;
    join(pid: number): Gen<JoinResult<unknown>>;
    cancel(pid: number): Gen<void>;
    firstOf(...effects: Effect[]): Gen<RaceResult>;
    callPort(port: string, op: string, args: unknown[]): Gen<unknown>;
    watch(probe: ProbeSpec, intervalUs: number): Gen<ProbeResult>;
    trace(kind: string, subject: string, data?: Record<string, unknown>): Gen<void>;
  }
  type Gen<T> = Generator<Effect, T, unknown>;

  const oneShot: Helpers = { sleep, now, self, send, receive, spawn, join, cancel, firstOf, callPort, watch, trace };
  function* g<T>(eff: Effect): Gen<T> {
    return (yield eff) as T;
  }
  const generators: Helpers = {
    sleep: (us) => g({ kind: 'sleep', us }),
    now: () => g({ kind: 'now' }),
    self: () => g({ kind: 'self' }),
    send: (to, msg) => g({ kind: 'send', to, msg }),
    receive: (mailbox, timeoutUs) => g({ kind: 'receive', mailbox, timeoutUs }),
    spawn: (name, body) => g({ kind: 'spawn', name, body }),
    join: (pid) => g({ kind: 'join', pid }),
    cancel: (pid) => g({ kind: 'cancel', pid }),
    firstOf: (...effects) => g({ kind: 'race', effects }),
    callPort: (port, op, args) => g({ kind: 'call', port, op, args }),
    watch: (probe, intervalUs) => g({ kind: 'watch', probe, intervalUs }),
    trace: (kind, subject, data) => g({ kind: 'trace', record: { kind, subject, data } }),
  };

  function* program(h: Helpers, name: string, ops: Op[]): Gen<void> {
    const note = (what: string, v: unknown) => h.trace(what, name, { v: v === undefined ? 'undefined' : JSON.parse(JSON.stringify(v)) });
    for (const op of ops) {
      switch (op.k) {
        case 'sleep':
          yield* h.sleep(op.us);
          break;
        case 'badSleep':
          try {
            yield* h.sleep(-1);
          } catch (e) {
            yield* note('caught', (e as Error).message);
          }
          break;
        case 'now':
          yield* note('now', yield* h.now());
          break;
        case 'self':
          yield* note('self', yield* h.self());
          break;
        case 'send':
          yield* h.send(`box${op.box}`, op.msg);
          break;
        case 'receive':
          yield* note('received', yield* h.receive(`box${op.box}`, op.timeoutUs ?? 25));
          break;
        case 'spawnJoin': {
          const pid = yield* h.spawn(`${name}/child`, (function* () {
            yield* h.sleep(op.us);
            return op.value;
          })());
          if (op.join) yield* note('joined', yield* h.join(pid));
          break;
        }
        case 'spawnCancel': {
          const pid = yield* h.spawn(`${name}/victim`, (function* () {
            try {
              yield* h.sleep(op.us);
              yield* h.sleep(op.us);
            } finally {
              yield* note('finally', yield* h.now());
            }
          })());
          yield* h.sleep(op.afterUs);
          yield* h.cancel(pid);
          yield* note('after cancel', yield* h.join(pid));
          break;
        }
        case 'race':
          yield* note('race', yield* h.firstOf(E.sleep(op.us), E.receive(`box${op.box}`)));
          break;
        case 'call':
          try {
            yield* note('call', yield* h.callPort(op.fail === 'missing' ? 'nope' : 'store', op.fail === 'sync' ? 'boom' : 'get', [op.value]));
          } catch (e) {
            yield* note('call failed', (e as Error).message);
          }
          break;
        case 'nested': {
          const inner = function* (): Gen<number> {
            yield* h.sleep(op.us);
            return (yield* h.now()) + 1;
          };
          yield* note('nested', yield* inner());
          break;
        }
        case 'raw':
          yield E.sleep(op.us);
          yield* note('raw now', yield { kind: 'now' });
          break;
        case 'watch':
          yield* note('watch', yield* h.watch({ kind: 'service', target: 'web', service: 'httpd', timeoutUs: 3 }, op.intervalUs));
          break;
      }
    }
  }

  function runWith(v0: boolean, programs: Op[][]): { trace: string[]; effects: string[] } {
    const kernel = new Kernel();
    const trace: string[] = [];
    const effects: string[] = [];
    let up = true;
    const ports = {
      store: { get: (x: number) => x * 10, boom: () => { throw new Error('sync failure'); } },
      prober: { probe: (spec: ProbeSpec) => ({ ok: up, latencyUs: 1, detail: `${spec.target} ${up ? 'up' : 'down'}` }) },
    } as unknown as Partial<Ports>;
    const opts = {
      scheduler: kernel,
      ports: () => ports,
      trace: { emit: (e: TraceEvent) => trace.push(JSON.stringify(e)) },
      watchMode: 'naive' as const,
      onEffect: (pid: number, e: Effect, t: number) => effects.push(`${t} ${pid} ${JSON.stringify(e, (k, v) => (k === 'body' ? typeof v : v))}`),
      onUnjoinedFailure: (n: string, pid: number, err: unknown) => trace.push(`unjoined ${n} ${pid} ${String(err)}`),
    };
    const rt = v0 ? new RuntimeV0(opts) : new Runtime(opts);
    const h = v0 ? generators : oneShot;
    programs.forEach((ops, i) => rt.start(`p${i}`, program(h, `p${i}`, ops)));
    kernel.at(37, () => (up = false), 0);
    kernel.run({ untilUs: 10_000 });
    return { trace, effects };
  }

  it('random programs give the same trace and effect sequence on both runtimes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), (programs) => {
        const a = runWith(true, programs);
        const b = runWith(false, programs);
        expect(b.trace).toEqual(a.trace);
        expect(b.effects).toEqual(a.effects);
      }),
      { numRuns: 300, seed: 20251125 },
    );
  });

  it('an effect handed to onEffect is a plain copy that later helper calls do not change', () => {
    const kernel = new Kernel();
    const seen: Effect[] = [];
    const rt = new Runtime({ scheduler: kernel, ports: () => ({}), onEffect: (_pid, e) => seen.push(e) });
    rt.start('p', (function* () {
      yield* sleep(5);
      yield* trace('a', 'x', { n: 1 });
      yield* sleep(7);
      yield* trace('b', 'y');
    })());
    kernel.run();
    expect(seen).toEqual([
      { kind: 'sleep', us: 5 },
      { kind: 'trace', record: { kind: 'a', subject: 'x', data: { n: 1 } } },
      { kind: 'sleep', us: 7 },
      { kind: 'trace', record: { kind: 'b', subject: 'y', data: undefined } },
    ]);
  });
});
