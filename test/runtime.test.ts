import { describe, expect, it } from 'vitest';
import { Kernel } from '../sim/kernel/kernel.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import { E, S, cancel, firstOf, join, now, receive, send, sleep, spawn, trace, type Process } from '../engine/runtime/effects.ts';
import { call, type Ports } from '../engine/ports/index.ts';
import type { TraceEvent } from '../engine/ports/trace.ts';

function setup(ports: Partial<Ports> = {}) {
  const kernel = new Kernel();
  const events: TraceEvent[] = [];
  const rt = new Runtime({ scheduler: kernel, ports: () => ports, trace: { emit: (e) => events.push(e) } });
  return { kernel, rt, events };
}

describe('engine runtime', () => {
  it('sleep advances simulated time and now() reads it', () => {
    const { kernel, rt } = setup();
    const times: number[] = [];
    rt.start('p', (function* () {
      times.push(yield* now());
      yield* sleep(3 * S);
      times.push(yield* now());
      yield* sleep(0);
      times.push(yield* now());
    })());
    kernel.run();
    expect(times).toEqual([0, 3 * S, 3 * S]);
  });

  it('spawn and join return the child value; children run after the parent blocks', () => {
    const { kernel, rt } = setup();
    const order: string[] = [];
    let joined: unknown;
    rt.start('parent', (function* () {
      const pid = yield* spawn('child', (function* () {
        order.push('child');
        yield* sleep(5);
        return 42;
      })());
      order.push('parent');
      joined = yield* join<number>(pid);
    })());
    kernel.run();
    expect(order).toEqual(['parent', 'child']);
    expect(joined).toEqual({ status: 'done', value: 42 });
  });

  it('cancel runs the finally block of the cancelled process and its children', () => {
    const { kernel, rt } = setup();
    const log: string[] = [];
    rt.start('boss', (function* () {
      const pid = yield* spawn('worker', (function* () {
        yield* spawn('grandchild', (function* () {
          try {
            yield* sleep(100 * S);
          } finally {
            log.push('grandchild finally');
          }
        })());
        try {
          yield* sleep(100 * S);
          log.push('not reached');
        } finally {
          log.push(`worker finally at ${yield* now()}`);
        }
      })());
      yield* sleep(2 * S);
      yield* cancel(pid);
      const r = yield* join(pid);
      log.push(`joined ${r.status}`);
    })());
    kernel.run();
    expect(log).toEqual(['grandchild finally', `worker finally at ${2 * S}`, 'joined cancelled']);
    expect(kernel.nowUs()).toBe(2 * S);
  });

  it('receive returns a sent message, or undefined at the timeout', () => {
    const { kernel, rt } = setup();
    const got: Array<[number, unknown]> = [];
    rt.start('rx', (function* () {
      for (let i = 0; i < 2; i++) {
        const msg = yield* receive('box', 5 * S);
        got.push([yield* now(), msg]);
      }
    })());
    rt.start('tx', (function* () {
      yield* sleep(1 * S);
      yield* send('box', 'U.file');
    })());
    kernel.run();
    expect(got).toEqual([[1 * S, 'U.file'], [6 * S, undefined]]);
  });

  it('firstOf returns the first effect to complete and withdraws the others', () => {
    const { kernel, rt } = setup();
    let result: unknown;
    rt.start('racer', (function* () {
      result = yield* firstOf(E.sleep(10 * S), E.receive('reply'));
      // the withdrawn receive must not swallow a later message
      const later = yield* receive('reply', 100 * S);
      result = [result, later];
    })());
    rt.start('replier', (function* () {
      yield* sleep(3 * S);
      yield* send('reply', 'R.file');
      yield* sleep(30 * S);
      yield* send('reply', 'second');
    })());
    kernel.run();
    expect(result).toEqual([{ index: 1, value: 'R.file' }, 'second']);
  });

  it('domain calls go to ports; a rejected call throws inside the process', async () => {
    const calls: string[] = [];
    const ports: Partial<Ports> = {
      power: {
        wake: (mac: string) => {
          calls.push(`wake ${mac}`);
        },
        shutdown: () => Promise.reject(new Error('host unreachable')),
        reboot: () => undefined,
        suspend: () => undefined,
        resume: () => undefined,
      },
    };
    const { kernel, rt } = setup(ports);
    const log: string[] = [];
    const pid = rt.start('mgr', (function* () {
      yield* call('power', 'wake', '00:00:00:00:00:01');
      try {
        yield* call('power', 'shutdown', 'FTP');
      } catch (e) {
        log.push((e as Error).message);
      }
      yield* trace('done', 'mgr');
    })());
    kernel.run();
    await new Promise((r) => setImmediate(r));
    kernel.run();
    expect(calls).toEqual(['wake 00:00:00:00:00:01']);
    expect(log).toEqual(['host unreachable']);
    expect(rt.resultOf(pid)?.status).toBe('done');
  });

  it("a finished process's slot goes to a new process without the old one's wake-ups", async () => {
    let resolveCall: (v: string) => void = () => undefined;
    const ports = { power: { wake: () => new Promise<string>((r) => { resolveCall = r; }) } } as unknown as Partial<Ports>;
    const { kernel, rt } = setup(ports);
    const log: string[] = [];
    const sleeper = rt.start('sleeper', (function* () {
      try {
        yield* sleep(10);
        log.push('sleeper woke');
      } finally {
        log.push(`sleeper finally at ${yield* now()}`);
      }
    })());
    const caller = rt.start('caller', (function* () {
      const got = yield* call('power', 'wake', 'aa');
      log.push(`caller got ${String(got)}`);
    })());
    rt.start('boss', (function* () {
      yield* sleep(5);
      yield* cancel(sleeper);
      yield* cancel(caller);
      yield* sleep(0);
      // both slots are free now: the next processes take them
      yield* spawn('late', (function* () {
        yield* sleep(10);
        log.push(`late woke at ${yield* now()}`);
      })());
      yield* spawn('listener', (function* () {
        const m = yield* receive<string>('box', 100);
        log.push(`listener got ${String(m)} at ${yield* now()}`);
      })());
    })());
    kernel.run({ untilUs: 7 });
    resolveCall('stale'); // the cancelled caller's call completes now: nobody may see it
    await new Promise((r) => setImmediate(r));
    kernel.run({ untilUs: 20 });
    rt.deliver('box', 'hello');
    kernel.run();
    expect(log).toEqual(['sleeper finally at 5', 'late woke at 15', 'listener got hello at 20']);
    expect(rt.liveProcessCount).toBe(0);
  });

  it('an unjoined failing process surfaces its error', () => {
    const { kernel, rt } = setup();
    rt.start('buggy', (function* (): Process<void> {
      yield* sleep(1);
      throw new Error('boom');
    })());
    expect(() => kernel.run()).toThrow(/buggy.*boom/);
  });
});
