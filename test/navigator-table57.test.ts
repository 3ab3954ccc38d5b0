// The navigator-table57 experiment: its rows, the thesis's values beside them, and the simulation
// agreeing with the closed-form model it is compared with.
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../experiments/registry.ts';
import { table57Analytical, table57Bounds } from '../experiments/navigator/experiments.ts';

describe('navigator-table57', () => {
  const e = findExperiment('navigator-table57');

  it('is registered', () => {
    expect(e?.defaultRuns).toBe(30);
  });

  it('reports the three cases of Table 5-7 with the thesis values, near the closed form', () => {
    const r = e!.run({ seed: 1, runs: 6, outDir: '/nonexistent' });
    const row = (c: string, m = 'timeS') => r.rows.find((x) => x.case === c && x.metric === m)!;
    expect(row('primary_failover').paper).toBe(69);
    expect(row('secondary_failover').paper).toBe(225);
    expect(row('fallback').paper).toBe(326);
    const a = table57Analytical();
    // Detection phases are random: within a check interval of the mean.
    expect(Math.abs(row('primary_failover').value - a.primary_failover)).toBeLessThan(2.5);
    expect(Math.abs(row('secondary_failover').value - a.secondary_failover)).toBeLessThan(150);
    expect(Math.abs(row('fallback').value - a.fallback)).toBeLessThan(2.5);
    for (const x of r.rows) expect(x.n).toBe(6);
    expect(Object.keys(r.traces ?? {})).toHaveLength(2);
  });

  it('the thesis\'s own numbers: the container start its tracking page implies, and the shortest secondary failover the described sequence allows', () => {
    const b = table57Bounds();
    // 284 s set-up - 1 s query - 154 s transfer - 103 s backup (as printed).
    expect(b.trackedStartS).toBe(26);
    expect(b.tracked.newSecondaryS).toBeCloseTo(table57Analytical().newSecondaryS - 42.84 + 26, 6);
    expect(b.timedSetupS).toBe(257);
    // No detection, a ping timeout, a new secondary: still longer than Table 5-7's 3:45.
    expect(b.shortestSecondaryFailoverS).toBeCloseTo(4 + b.tracked.newSecondaryS, 6);
    expect(b.shortestSecondaryFailoverS).toBeGreaterThan(225);
  });
});
