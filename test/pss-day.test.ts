import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { CASES, dayMetrics, dayScenario, daysToRun, faultsFor, LOAD, MIGRATE_S } from '../experiments/pss/day.ts';
import * as K from '../experiments/params/kitamura2019.ts';
import type { Sample } from '../experiments/report.ts';
import type { TraceEvent } from '../trace/event.ts';
import { groupLoad, predictVm, weightedLoad } from '../policies/pss/decide.ts';

const base = readScenario(join(import.meta.dirname, '..', 'experiments', 'scenarios', 'pss-msbs.yaml'));
const W = K.realServerWatts;

describe('pss-day', () => {
  const runs = new Map<string, Sample[]>();
  for (const c of CASES) {
    const sim = buildSimulation(dayScenario(base, c, 1), { seed: 1 });
    sim.run();
    runs.set(c, dayMetrics(c, sim.events as TraceEvent[], sim.kernel.nowUs()));
  }
  const get = (c: string, m: string) => runs.get(c.split('/')[0])!.find((s) => s[0] === c && s[2] === m)?.[3] as number;

  it('its load levels sit on the sides of the thresholds they are meant for (Ls of a NETWORK group, eq. (4)-(9))', () => {
    const cap = { memKb: 2048 * 1024, cores: 1, netRatedKb: 250_000 };
    const ls = (memMb: number, cpuPct: number, netBytesPerS: number) => {
      const r = { memUsedKb: memMb * 1024, cpuPct, netKb: netBytesPerS / 1000 };
      return weightedLoad(groupLoad([{ predicted: predictVm(r, r, cap), capacity: cap }]), 'NETWORK');
    };
    expect(ls(256 + LOAD.busy.memMb, 5 + LOAD.busy.cpuPct, 100_000 + LOAD.busy.netBytesPerS)).toBeGreaterThan(K.assumedPss.moderatePct);
    expect(ls(256, 5, 100_000)).toBeLessThan(K.assumedPss.lightPct);
    expect(MIGRATE_S).toBeCloseTo(17.18, 2);
  });

  it('always-on draws three running servers all day: 3 x 28 W x 24 h', () => {
    expect(faultsFor(1).map((f) => f.kind)).toEqual(['St1']);
    expect(get('always-on', 'energyWh')).toBeCloseTo(3 * W.on * 24, 6);
    expect(get('always-on/3 on', 'timePct')).toBeCloseTo(100, 9);
  });

  it('the PSS: moderate 08:00-20:00 (with the light-class delay), PS2 at night, PS1 in the quiet evening; no server is lost', () => {
    // 12 h moderate, plus twice (at 00:00, the start, and after 20:00) the lightCount light
    // examinations before PS1 and up to two more periods for the prediction to cross the threshold.
    const mod = get('pss/moderate', 'timePct');
    expect(mod).toBeGreaterThanOrEqual(50);
    expect(mod).toBeLessThan(50 + (100 * 2 * (K.lightCount + 2) * K.assumedPss.intervalS) / 86_400);
    expect(get('pss/ps2', 'timePct')).toBeGreaterThan(0);
    expect(get('pss/ps1', 'timePct')).toBeGreaterThan(0);
    expect(get('pss-ps1/ps2', 'timePct') ?? 0).toBe(0);
    // Energy between all-PS2 (34 W) and always-on (84 W), and below the PSS without PS2.
    expect(get('pss', 'energyWh')).toBeGreaterThan(K.printedPowerW.ps2 * 24);
    expect(get('pss', 'energyWh')).toBeLessThan(get('pss-ps1', 'energyWh'));
    expect(get('pss-ps1', 'energyWh')).toBeLessThan(get('always-on', 'energyWh'));
    // Monday 08:00: RS3 (PS1 and PS2) and RS2 (PS2) are woken; none fails.
    expect(get('pss', 'wakes')).toBe(2);
    expect(get('pss-ps1', 'wakes')).toBe(1);
    expect(get('pss', 'wakeFailures')).toBe(0);
  });

  it('DPM and oVirt: at least two servers (anti-affinity, memory) and never the third again at this load', () => {
    for (const c of ['dpm', 'ovirt']) {
      expect(get(c, 'energyWh')).toBeGreaterThanOrEqual((2 * W.on + W.suspended) * 24 - 1e-6);
      expect(get(`${c}/1 on`, 'timePct') ?? 0).toBe(0);
      expect(get(c, 'wakes')).toBe(0);
    }
  });

  it('the St1 on W1 costs every case the same few seconds: the MSBS restarts the daemon', () => {
    const d = CASES.map((c) => get(c, 'clientDisconnectionS'));
    expect(new Set(d).size).toBe(1);
    expect(d[0]).toBeLessThanOrEqual(K.monitoringIntervalS + 1);
    for (const c of CASES) expect(get(c, 'availabilityPct')).toBeGreaterThan(99.9);
  });

  it('HATWIN_PSS_DAYS picks the number of days (default 2), and refuses what is not a whole number of days', () => {
    expect(daysToRun({})).toBe(2);
    expect(daysToRun({ HATWIN_PSS_DAYS: '7' })).toBe(7);
    expect(() => daysToRun({ HATWIN_PSS_DAYS: '1.5' })).toThrow(/whole number/);
    expect(() => daysToRun({ HATWIN_PSS_DAYS: '0' })).toThrow(/1 to 28/);
  });
});
