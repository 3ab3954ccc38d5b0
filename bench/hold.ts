// The hold model: n entities, each with one pending event; firing an event reschedules the
// same entity after an exponential delay (read from a shared precomputed table). The three
// contenders consume the delay table in the same order and break ties the same way (schedule
// sequence), so after the same number of events they reach the same simulated time.
import { Kernel } from '../sim/kernel/kernel.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import { sleep, type Process } from '../engine/runtime/effects.ts';
import { simScheduler } from '../adapters/sim/scheduler.ts';
import { ObjectHeap } from './object-heap.ts';
import { Runtime as RuntimeV0, sleepV0 } from './runtime-v0.ts';
import { EventQueue as EventQueueV0 } from './queue-v0.ts';
import type { DelayTable } from './delays.ts';

export const CONTENDERS = ['kernel', 'baseline', 'runtime'] as const;
/**
 * Opt-in contenders (`--only=...`), not run by default: `kernel0` the Kernel on the pre-wheel
 * queue, `runtime0` the runtime before the one-shot effect helpers (runtime-v0.ts), `generators`
 * bare generators on the Kernel (no runtime: the floor of a generator per process).
 */
export const EXTRA_CONTENDERS = ['kernel0', 'runtime0', 'generators'] as const;
export type Contender = (typeof CONTENDERS)[number] | (typeof EXTRA_CONTENDERS)[number];

export interface HoldModel {
  /** Fires up to `events` more events (fewer only if the queue empties, which a hold model never does). */
  run(events: number): void;
  /** Simulated time of the last fired event (us). */
  nowUs(): number;
  /** Work units done so far: events fired (kernel, baseline) or effects yielded (runtime). */
  count(): number;
  /** Events fired so far (all contenders). */
  fired(): number;
}

/**
 * Our Kernel, one shared handler (no closure per event), arg = entity index. With `v0` the
 * kernel runs on the frozen pre-wheel queue (`queue-v0.ts`), for before/after comparisons.
 */
export function kernelHold(n: number, delays: DelayTable, v0 = false): HoldModel {
  const tab = delays.table;
  const mask = delays.mask;
  let c = 0;
  const k = new Kernel(n);
  if (v0) {
    // swaps Kernel's private queue; fail loudly rather than measure the wrong queue if it moves
    const kq = k as unknown as { queue?: unknown };
    if (!(kq.queue instanceof Object) || !('popSlot' in kq.queue)) throw new Error('kernel0: Kernel.queue not found');
    kq.queue = new EventQueueV0(n);
  }
  const hold = (i: number): void => {
    k.after(tab[c++ & mask], hold, i);
  };
  for (let i = 0; i < n; i++) k.after(tab[c++ & mask], hold, i);
  const fired = () => k.eventCount;
  return {
    run: (events) => {
      k.run({ maxEvents: events });
    },
    nowUs: () => k.nowUs(),
    count: fired,
    fired,
  };
}

/**
 * The naive object heap, a new {time, seq, fn} entry and a new closure per event.
 *
 * The closure is made by `thunk` and returned anonymously on purpose: tsx compiles with esbuild's
 * keepNames, which wraps every function expression whose name is inferred (`fn: () => ...`,
 * `const f = () => ...`) in `__name(f, "fn")`, an Object.defineProperty per closure creation.
 * That costs the naive queue ~3x and is an artifact of the loader, not of the queue design.
 */
export function baselineHold(n: number, delays: DelayTable): HoldModel {
  const tab = delays.table;
  const mask = delays.mask;
  let c = 0;
  const heap = new ObjectHeap();
  let now = 0;
  let seq = 0;
  let fired = 0;
  function thunk(i: number): () => void {
    return () => schedule(i);
  }
  function schedule(i: number): void {
    heap.push({ time: now + tab[c++ & mask], seq: seq++, fn: thunk(i) });
  }
  for (let i = 0; i < n; i++) schedule(i);
  return {
    run: (events) => {
      for (let j = 0; j < events; j++) {
        const e = heap.pop();
        if (e === undefined) return;
        now = e.time;
        fired++;
        e.fn();
      }
    },
    nowUs: () => now,
    count: () => fired,
    fired: () => fired,
  };
}

/**
 * n generator processes `for (;;) yield* sleep(delay)` on the Runtime, scheduled by a Kernel.
 * With `v0`, on the frozen runtime of runtime-v0.ts with its generator `sleep`.
 */
export function runtimeHold(n: number, delays: DelayTable, v0 = false): HoldModel {
  const tab = delays.table;
  const mask = delays.mask;
  let c = 0;
  let effects = 0;
  const k = new Kernel(n);
  const rt = v0 ? new RuntimeV0({ scheduler: simScheduler(k), ports: () => ({}) }) : new Runtime({ scheduler: simScheduler(k), ports: () => ({}) });
  function* body(): Process<void> {
    for (;;) {
      effects++;
      yield* sleep(tab[c++ & mask]);
    }
  }
  function* bodyV0(): Process<void> {
    for (;;) {
      effects++;
      yield* sleepV0(tab[c++ & mask]);
    }
  }
  if (v0) {
    for (let i = 0; i < n; i++) rt.start(`p${i}`, bodyV0());
    return {
      run: (events) => {
        k.run({ maxEvents: events });
      },
      nowUs: () => k.nowUs(),
      count: () => effects,
      fired: () => k.eventCount,
    };
  }
  for (let i = 0; i < n; i++) rt.start(`p${i}`, body());
  return {
    run: (events) => {
      k.run({ maxEvents: events });
    },
    nowUs: () => k.nowUs(),
    count: () => effects,
    fired: () => k.eventCount,
  };
}

/**
 * The floor under `runtime`: n bare generators `for (;;) yield d` on a Kernel, resumed by one
 * shared handler (arg = index), with no runtime, effects or process state. What `runtime` costs
 * beyond this is the runtime's; what this costs beyond `kernel` is V8's generator resume (at
 * N = 1e5 mostly the misses on each generator object and its register file).
 */
export function generatorsHold(n: number, delays: DelayTable): HoldModel {
  const tab = delays.table;
  const mask = delays.mask;
  let c = 0;
  let effects = 0;
  const k = new Kernel(n);
  const gens: Array<Generator<number, void, unknown>> = [];
  function* body(): Generator<number, void, unknown> {
    for (;;) {
      effects++;
      yield tab[c++ & mask];
    }
  }
  const wake = (i: number): void => {
    k.at(k.nowUs() + (gens[i].next().value as number), wake, i);
  };
  for (let i = 0; i < n; i++) {
    gens.push(body());
    wake(i);
  }
  return {
    run: (events) => {
      k.run({ maxEvents: events });
    },
    nowUs: () => k.nowUs(),
    count: () => effects,
    fired: () => k.eventCount,
  };
}

export function makeHold(contender: Contender, n: number, delays: DelayTable): HoldModel {
  switch (contender) {
    case 'kernel':
      return kernelHold(n, delays);
    case 'kernel0':
      return kernelHold(n, delays, true);
    case 'baseline':
      return baselineHold(n, delays);
    case 'runtime':
      return runtimeHold(n, delays);
    case 'runtime0':
      return runtimeHold(n, delays, true);
    case 'generators':
      return generatorsHold(n, delays);
  }
}
