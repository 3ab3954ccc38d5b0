// Correctness of the hold-model benchmark (bench/): no timing is asserted here.
import { describe, expect, it } from 'vitest';
import { makeDelayTable } from '../bench/delays.ts';
import { CONTENDERS, makeHold } from '../bench/hold.ts';
import { ObjectHeap } from '../bench/object-heap.ts';

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
    for (const c of CONTENDERS) {
      const m = makeHold(c, n, delays);
      const t: number[] = [];
      for (let i = 0; i < events; i++) {
        m.run(1);
        t.push(m.nowUs());
      }
      expect(m.fired()).toBe(events);
      // kernel, baseline count events; runtime counts effects (n initial sleeps + one per event).
      expect(m.count()).toBe(c === 'runtime' ? n + events : events);
      for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]);
      series.set(c, t);
    }
    expect(series.get('baseline')).toEqual(series.get('kernel'));
    expect(series.get('runtime')).toEqual(series.get('kernel'));
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
