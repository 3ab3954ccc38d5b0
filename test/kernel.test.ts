import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Kernel } from '../sim/kernel/kernel.ts';
import { RngStreams } from '../sim/kernel/rng.ts';
import { sample, type Dist } from '../sim/kernel/distributions.ts';
import { parseDurationUs } from '../sim/kernel/time.ts';

describe('DES kernel', () => {
  it('fires events in time order and ties in scheduling order', () => {
    const k = new Kernel();
    const seen: number[] = [];
    const h = (a: number) => seen.push(a);
    k.at(50, h, 1);
    k.at(10, h, 2);
    k.at(50, h, 3);
    k.at(10, h, 4);
    k.run();
    expect(seen).toEqual([2, 4, 1, 3]);
    expect(k.nowUs()).toBe(50);
  });

  it('runs late events after every ordinary event of the same instant, by their tie', () => {
    const k = new Kernel();
    const seen: string[] = [];
    k.at(10, () => seen.push('late-b'), 0, 7);
    k.at(10, () => seen.push('late-a'), 0, 3);
    k.at(10, () => {
      seen.push('ord-1');
      k.at(10, () => seen.push('ord-2'));
    });
    k.run();
    expect(seen).toEqual(['ord-1', 'ord-2', 'late-a', 'late-b']);
  });

  it('cancels a pending event and ignores stale tokens', () => {
    const k = new Kernel();
    const seen: number[] = [];
    const t1 = k.at(5, (a) => seen.push(a), 1);
    expect(k.cancel(t1)).toBe(true);
    expect(k.cancel(t1)).toBe(false);
    k.at(6, (a) => seen.push(a), 2); // reuses the slot; the old token must not cancel it
    expect(k.cancel(t1)).toBe(false);
    k.run();
    expect(seen).toEqual([2]);
  });

  it('run({untilUs}) stops before later events and moves the clock to the horizon', () => {
    const k = new Kernel();
    const seen: number[] = [];
    k.at(100, (a) => seen.push(a), 1);
    k.at(300, (a) => seen.push(a), 2);
    expect(k.run({ untilUs: 200 })).toBe(1);
    expect(k.nowUs()).toBe(200);
    expect(seen).toEqual([1]);
    expect(k.step()).toBe(true);
    expect(seen).toEqual([1, 2]);
    expect(k.step()).toBe(false);
  });

  it('refuses times in the past or not integral', () => {
    const k = new Kernel();
    k.at(10, () => undefined);
    k.run();
    expect(() => k.at(5, () => undefined)).toThrow(/not an integer >= now/);
    expect(() => k.at(10.5, () => undefined)).toThrow(RangeError);
  });

  // Property: under random schedule/cancel sequences the queue pops in non-decreasing
  // (time, seq) order, fires exactly the events not cancelled, and each once.
  it('pops in non-decreasing (time, seq) under random schedule/cancel sequences', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('at' as const), dt: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('step' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const k = new Kernel(16);
        const fired: Array<{ t: number; id: number }> = [];
        const live = new Map<number, { token: number; t: number }>();
        const cancelled = new Set<number>();
        let id = 0;
        const h = (a: number) => {
          fired.push({ t: k.nowUs(), id: a });
          live.delete(a);
        };
        for (const o of ops) {
          if (o.kind === 'at') {
            const t = k.nowUs() + o.dt;
            live.set(id, { token: k.at(t, h, id), t });
            id++;
          } else if (o.kind === 'cancel') {
            const keys = [...live.keys()];
            if (keys.length === 0) continue;
            const victim = keys[o.pick % keys.length];
            expect(k.cancel(live.get(victim)!.token)).toBe(true);
            live.delete(victim);
            cancelled.add(victim);
          } else k.step();
        }
        k.run();
        for (let i = 1; i < fired.length; i++) {
          const a = fired[i - 1];
          const b = fired[i];
          // ids are handed out in scheduling order, so (time, id) must increase strictly
          expect(a.t < b.t || (a.t === b.t && a.id < b.id)).toBe(true);
        }
        const ids = fired.map((f) => f.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const c of cancelled) expect(ids).not.toContain(c);
        expect(ids.length + cancelled.size).toBe(id);
      }),
    );
  });
});

describe('RNG streams and distributions', () => {
  it('a stream draws the same values whether or not other streams are used', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 5 }), (seed, others) => {
        const a = new RngStreams(seed);
        const solo = Array.from({ length: 20 }, () => a.stream('vm.start').next());
        const b = new RngStreams(seed);
        const mixed: number[] = [];
        for (let i = 0; i < 20; i++) {
          for (const o of others) if (o !== 'vm.start') b.stream(o).next();
          mixed.push(b.stream('vm.start').next());
        }
        expect(mixed).toEqual(solo);
      }),
    );
  });

  it('different master seeds give different draws', () => {
    expect(new RngStreams(1).stream('x').next()).not.toBe(new RngStreams(2).stream('x').next());
  });

  it('samples each distribution within its support and near its mean', () => {
    const rng = new RngStreams(7).stream('dist');
    const cases: Array<[Dist, number, number, number]> = [
      [{ kind: 'constant', value: 4.67 }, 4.67, 4.67, 4.67],
      [{ kind: 'uniform', min: 1, max: 3 }, 1, 3, 2],
      [{ kind: 'normal', mean: 10, sd: 2, min: 8, max: 100 }, 8, 100, 11.05],
      [{ kind: 'exponential', mean: 5 }, 0, Infinity, 5],
      [{ kind: 'lognormal', mu: 0, sigma: 0.5 }, 0, Infinity, Math.exp(0.125)],
      [{ kind: 'empirical', values: [1, 2, 6] }, 1, 6, 3],
    ];
    for (const [d, lo, hi, mean] of cases) {
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      const n = 20000;
      for (let i = 0; i < n; i++) {
        const x = sample(d, rng);
        min = Math.min(min, x);
        max = Math.max(max, x);
        sum += x;
      }
      expect(min).toBeGreaterThanOrEqual(lo);
      expect(max).toBeLessThanOrEqual(hi);
      expect(Math.abs(sum / n - mean)).toBeLessThan(0.05 * Math.max(1, mean));
    }
  });

  it('parses durations', () => {
    expect(parseDurationUs('10m')).toBe(600_000_000);
    expect(parseDurationUs('250ms')).toBe(250_000);
    expect(parseDurationUs(1.5)).toBe(1_500_000);
    expect(() => parseDurationUs('ten')).toThrow(/not a duration/);
  });
});
