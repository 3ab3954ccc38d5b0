// The row checks of the live PSS cycle (test/helpers/live/pss-cycle-checks.ts) on rows shaped as
// the conformance suite makes them: a change the paired sim made in one step, and one it made in
// two (the project's CI run where the sim, examining at live's sampling instants, moved FTP to PS2
// a period before Mail and Web).
import { describe, expect, it } from 'vitest';
import { checkPssCycleRows } from './helpers/live/pss-cycle-checks.ts';
import type { ConformRow } from '../run/calibrate.ts';

const r = (metric: string, live: number | null, sim: number | null, server = 'mgmt'): ConformRow => ({ metric, server, live, sim, errPct: null });
const recovery = [r('function recovery s (detection -> backup serving)', 1.5, 1.4, 'M1'), r('target recovery s (detection -> target back)', 14, 7.3, 'M1')];

const oneStep = [
  r('moderate -> PS1: change done s', 8, 7.5), r('moderate -> PS1: RS3 suspended s', 9, 8, 'RS3'),
  r('PS1 -> PS2: change done s', 6, 5.5), r('PS1 -> PS2: RS2 suspended s', 7, 6, 'RS2'),
  r('PS2 -> moderate: change done s', 9, 8), r('PS2 -> moderate: RS2 on again s', 1.2, 1.1, 'RS2'), r('PS2 -> moderate: RS3 on again s', 1.3, 1.1, 'RS3'),
  ...recovery,
];
const twoSteps = [
  r('moderate -> PS1: change done s', 8, 7.5), r('moderate -> PS1: RS3 suspended s', 9, 8, 'RS3'),
  r('PS1 -> Mail PS1, Web PS1, FTP PS2: change done s', null, 2.1),
  r('Mail PS1, Web PS1, FTP PS2 -> PS2: change done s', 6, 5.5), r('Mail PS1, Web PS1, FTP PS2 -> PS2: RS2 suspended s', 7, 6, 'RS2'),
  r('PS2 -> moderate: change done s', 9, 8), r('PS2 -> moderate: RS2 on again s', 1.2, 1.1, 'RS2'), r('PS2 -> moderate: RS3 on again s', 1.3, 1.1, 'RS3'),
  ...recovery,
];

describe('live-pss-cycle rows', () => {
  it('accept each change in one step, or reached through a mixed step', () => {
    expect(() => checkPssCycleRows(oneStep)).not.toThrow();
    expect(() => checkPssCycleRows(twoSteps)).not.toThrow();
  });
  it('refuse changes out of order, a missing change, a host in the wrong change, a change live never timed', () => {
    const swap = oneStep.map((x) => ({ ...x, metric: x.metric.replace('PS1 -> PS2', 'PS1 -> moderate').replace('PS2 -> moderate', 'moderate -> PS2') }));
    expect(() => checkPssCycleRows(swap)).toThrow();
    expect(() => checkPssCycleRows(oneStep.filter((x) => !x.metric.startsWith('PS1 -> PS2')))).toThrow();
    expect(() => checkPssCycleRows(oneStep.map((x) => (x.metric === 'PS1 -> PS2: RS2 suspended s' ? { ...x, metric: 'PS2 -> moderate: RS2 suspended s' } : x)))).toThrow();
    expect(() => checkPssCycleRows(twoSteps.map((x) => (x.metric.startsWith('Mail PS1, Web PS1, FTP PS2 -> PS2: change') ? { ...x, live: null } : x)))).toThrow();
    // A step that is not a mix between changes of every group: PS2 twice.
    expect(() => checkPssCycleRows([...oneStep.slice(0, 4), r('PS2 -> PS2: change done s', 1, 1), ...oneStep.slice(4)])).toThrow();
    // A wake too quick to be a real resume.
    expect(() => checkPssCycleRows(oneStep.map((x) => (x.metric.endsWith('RS3 on again s') ? { ...x, live: 0.1 } : x)))).toThrow();
  });
});
