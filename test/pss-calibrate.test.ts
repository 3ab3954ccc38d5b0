// The PSS lab's machine calibration applied to a scenario (run/calibrate.ts applyPssCalibration,
// msbsTimeoutsS): the MSBS's timeouts follow the stated rule, the live scenario changes only them,
// and the sim's VIP moves in guests and real servers' suspends and resumes are the measured ones.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { applyPssCalibration, measured, msbsTimeoutsS, MSBS_TIMEOUT_RULE, type MachineCalibration } from '../run/calibrate.ts';
import { buildSimulation, parseScenario } from '../run/sim.ts';
import { fcParams } from './helpers/fc-params.ts';

const FILE = join(import.meta.dirname, '..', 'experiments', 'scenarios', 'live-pss-cycle.yaml');
const m = (xs: number[]) => measured('test', xs);

function calibration(serviceMax: number): MachineCalibration {
  return {
    lab: 'pss-mini', measuredAt: '2026-11-26T00:00:00Z', samples: 3, machineOnly: true,
    dist: { faultInjectS: m([0.02]), liveTurnS: m([0.3, 0.5]), agentStartS: m([1.1, 1.3]) },
    pss: {
      hosts: ['RS1', 'RS2', 'RS3'],
      networkExamS: m([0.002, 0.004, 0.3]), serviceExamS: m([0.05, 0.2, serviceMax]),
      guestVipSetS: m([0.11, 0.13, 0.17]), guestVipRemoveS: m([0.09, 0.1]),
      hostSuspendS: m([0.06, 0.08]), hostResumeS: m([0.95, 1.02]), hostResumeAnswerS: m([0.2, 0.25]),
    },
  };
}

describe('the MSBS timeouts from the measured examinations (msbsTimeoutsS)', () => {
  it('the paper\'s 2 s and 3 s on a quick machine; margin x slowest sample, rounded up to 0.1 s, when slower; at most half the interval', () => {
    expect(msbsTimeoutsS(calibration(0.2).pss!, 10)).toEqual({ networkS: 2, serviceS: 3 });
    expect(msbsTimeoutsS(calibration(1.01).pss!, 10)).toEqual({ networkS: 2, serviceS: 4.1 });
    expect(msbsTimeoutsS(calibration(2.5).pss!, 10)).toEqual({ networkS: 2, serviceS: 5 });
    expect(msbsTimeoutsS({ networkExamS: m([0.8]), serviceExamS: m([0.1]) }, 10)).toEqual({ networkS: 3.2, serviceS: 3 });
  });

  it('property: never below the floor, never above the cap (when the floor is), never below margin x slowest under the cap', () => {
    const r = MSBS_TIMEOUT_RULE;
    fc.assert(fc.property(fc.array(fc.double({ min: 0.0001, max: 20, noNaN: true }), { minLength: 1, maxLength: 30 }), fc.double({ min: 1, max: 60, noNaN: true }), (xs, interval) => {
      const t = msbsTimeoutsS({ networkExamS: m(xs), serviceExamS: m(xs) }, interval);
      const cap = interval * r.capOfInterval;
      expect(t.serviceS).toBeGreaterThanOrEqual(r.floorServiceS);
      expect(t.networkS).toBeGreaterThanOrEqual(r.floorNetworkS);
      expect(t.serviceS).toBeLessThanOrEqual(Math.max(r.floorServiceS, cap) + 1e-9);
      expect(t.serviceS).toBeGreaterThanOrEqual(Math.min(r.margin * Math.max(...m(xs).samples), Math.max(r.floorServiceS, cap)) - 1e-9);
    }), fcParams(200));
  });
});

describe('applyPssCalibration on live-pss-cycle', () => {
  const text = readFileSync(FILE, 'utf8');

  it('the live scenario differs from the written one only in the msbs timeouts', () => {
    const c = applyPssCalibration(text, calibration(1.01), FILE);
    expect(c.timeouts).toEqual([{ networkS: 2, serviceS: 4.1 }]);
    const written = parseYaml(text) as { policies: Array<Record<string, unknown>> };
    const live = parseYaml(c.live) as { policies: Array<Record<string, unknown>> };
    const msbs = (d: typeof live) => d.policies.find((p) => p.kind === 'msbs')!;
    expect(msbs(live)).toEqual({ ...msbs(written), networkTimeout: '2s', serviceTimeout: '4.1s' });
    expect({ ...live, policies: live.policies.filter((p) => p.kind !== 'msbs') }).toEqual({ ...written, policies: written.policies.filter((p) => p.kind !== 'msbs') });
  });

  it('the sim: guest VIP moves and the real servers\' suspend and resume as measured; its PSS changes follow them', () => {
    const c = applyPssCalibration(text, calibration(1.01), FILE);
    expect(c.sim.network.guestVipSetS).toEqual({ kind: 'empirical', values: [0.11, 0.13, 0.17] });
    for (const h of c.sim.hosts.filter((x) => ['RS1', 'RS2', 'RS3'].includes(x.name))) {
      expect(h.suspendS).toEqual({ kind: 'empirical', values: [0.06, 0.08] });
      expect(h.resumeS).toEqual({ kind: 'empirical', values: [0.95, 1.02] });
    }
    expect(c.sim.hosts.find((x) => x.name === 'mgmt')!.suspendS).not.toEqual({ kind: 'empirical', values: [0.06, 0.08] });
    // The Power port's resume returns once the woken server answers; a file without it, when it is on.
    expect(c.sim.network.resumeAnswerS).toEqual({ kind: 'empirical', values: [0.2, 0.25] });
    const cal = calibration(1.01);
    delete cal.pss!.hostResumeAnswerS;
    expect(applyPssCalibration(text, cal, FILE).sim.network.resumeAnswerS).toBeUndefined();
    const durations = (sc: typeof c.sim) => {
      const sim = buildSimulation(sc, { seed: 1, watchMode: 'skip' });
      sim.run(sc.until!);
      const ev = sim.events;
      const starts = ev.filter((e) => e.kind === 'pss.transition');
      return starts.map((s) => ev.find((e) => e.kind === 'pss.transition.done' && e.t >= s.t)!.t - s.t);
    };
    const calibrated = durations(c.sim);
    const asWritten = durations(applyPssCalibration(text, { dist: undefined }, FILE).sim);
    expect(calibrated).toHaveLength(asWritten.length);
    // Every change is quicker with 0.1-0.2 s VIP moves and a 0.07 s suspend than with the written 0.4 s and 0.2 s.
    calibrated.forEach((d, i) => expect(d).toBeLessThan(asWritten[i]));
  });

  it('the sim: every VM\'s resume and suspend as the lab\'s Hypervisor port took them, the whole call (hypervisorCallS 0); a file without them keeps the written ones', () => {
    const cal = calibration(1.01);
    cal.pss!.vmResumeS = m([0.021, 0.034, 0.028]);
    cal.pss!.vmSuspendS = m([0.006, 0.009]);
    const c = applyPssCalibration(text, cal, FILE);
    expect(c.sim.network.hypervisorCallS).toBe(0);
    expect(c.sim.vms.length).toBe(15);
    for (const v of c.sim.vms) {
      expect(v.resumeS, v.name).toEqual({ kind: 'empirical', values: [0.021, 0.034, 0.028] });
      expect(v.suspendS, v.name).toEqual({ kind: 'empirical', values: [0.006, 0.009] });
    }
    // The live scenario is not touched by them (live's VMs take what they take).
    expect(c.live).toBe(applyPssCalibration(text, calibration(1.01), FILE).live);
    // An older params file (no VM measurements): the scenario's resumeS, suspendS and commandS.
    const old = applyPssCalibration(text, calibration(1.01), FILE).sim;
    const written = parseScenario(text, FILE);
    expect(old.network.hypervisorCallS).toBeUndefined();
    expect(old.network.commandS).toBe(written.network.commandS);
    expect(old.vms.map((v) => [v.name, v.resumeS, v.suspendS])).toEqual(written.vms.map((v) => [v.name, v.resumeS, v.suspendS]));
    expect(old.vms[0].resumeS).not.toEqual(c.sim.vms[0].resumeS);
    // A params file read back from JSON, as conform reads it, loads and applies the same way.
    const back = JSON.parse(JSON.stringify(cal)) as MachineCalibration;
    expect(applyPssCalibration(text, back, FILE).sim.network.hypervisorCallS).toBe(0);
  });

  it('a calibration without the PSS part (another lab\'s) leaves the timeouts and the live scenario as written', () => {
    const { pss: _, ...other } = calibration(1);
    const c = applyPssCalibration(text, other, FILE);
    expect(c.live).toBe(text);
    expect(c.timeouts).toEqual([]);
  });
});
