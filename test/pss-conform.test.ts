// The PSS's conformance rows (run/pssconform.ts) on small traces, and the live run's reading of a
// scenario's vmLoad memory and client accesses (run/live.ts vmLoadMemMb, drivenClientVips): no lab needed.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pssChanges, pssConformRows } from '../run/pssconform.ts';
import { clientPausedVips, drivenClientVips, vmLoadAccessesPerS, vmLoadMemMb } from '../run/live.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { loadLab, REPO_DIR } from '../adapters/lab/schema.ts';
import { recoveries, type TraceLine } from '../trace/metrics.ts';

const S = 1e6;
const all = (c: string) => ({ Mail: c, Web: c, FTP: c });
const tr = (t: number, conditions: Record<string, string>, plan: Record<string, unknown>, durationS: number): TraceLine[] => [
  { t: t * S, kind: 'pss.transition', subject: 'mgmt', data: { conditions, plan } },
  { t: (t + durationS) * S, kind: 'pss.transition.done', subject: 'mgmt', data: { conditions, durationS } },
];
const host = (t: number, h: string, state: string): TraceLine => ({ t: t * S, kind: 'host.state', subject: h, data: { state } });

describe('PSS conformance rows', () => {
  const sim = [
    ...tr(36, all('ps1'), { suspendHosts: ['RS3'] }, 2.2), host(38.2, 'RS3', 'suspended'),
    ...tr(80, all('moderate'), { resumeHosts: ['RS3'] }, 2.7), host(81.1, 'RS3', 'on'),
  ];

  it('labels each change by the conditions before and after it', () => {
    expect(pssChanges(sim).map((c) => c.label)).toEqual(['moderate -> PS1', 'PS1 -> moderate']);
    expect(pssChanges(sim)[1].woken).toEqual({ RS3: 1.1 });
  });

  it('a live run that changes in one step: duration and power times side by side', () => {
    const live = [
      ...tr(49, all('ps1'), { suspendHosts: ['RS3'] }, 2.16), host(51.6, 'RS3', 'suspended'),
      ...tr(100, all('moderate'), { resumeHosts: ['RS3'] }, 4.72), host(101.11, 'RS3', 'on'),
    ];
    const rows = pssConformRows(live, sim);
    expect(rows.map((r) => [r.metric, r.live, r.sim])).toEqual([
      ['moderate -> PS1: change done s', 2.16, 2.2],
      ['moderate -> PS1: RS3 suspended s', 2.6, 2.2],
      ['PS1 -> moderate: change done s', 4.72, 2.7],
      ['PS1 -> moderate: RS3 on again s', 1.11, 1.1],
    ]);
    expect(rows[0].errPct).toBe(1.9);
  });

  it('a live run that leaves PS1 in two steps: the wake is timed from the step that planned it, and the steps are counted', () => {
    const live = [
      ...tr(48, all('ps1'), { suspendHosts: ['RS3'] }, 3.3), host(52, 'RS3', 'suspended'),
      ...tr(82, { Mail: 'ps1', Web: 'moderate', FTP: 'ps1' }, { resumeHosts: ['RS3'] }, 2), host(83.13, 'RS3', 'on'),
      ...tr(99, all('moderate'), {}, 0.8),
    ];
    const rows = pssConformRows(live, sim);
    const get = (m: string) => rows.find((r) => r.metric === m);
    expect(get('PS1 -> moderate: RS3 on again s')?.live).toBe(1.13);
    expect(get('PS1 -> moderate: change done s')?.live).toBe(0.8);
    expect(get('PS1 -> moderate: steps live (sim 1)')).toMatchObject({ live: 2, sim: 1 });
  });

  it('a group that leaves PS1 a period later with nothing to move: the live step that left PS1 is the change', () => {
    const live = [
      ...tr(51, all('ps1'), { suspendHosts: ['RS3'] }, 2.14), host(53.6, 'RS3', 'suspended'),
      ...tr(88, { Mail: 'ps1', Web: 'moderate', FTP: 'moderate' }, { resumeHosts: ['RS3'] }, 3.06), host(89.01, 'RS3', 'on'),
    ];
    const rows = pssConformRows(live, sim);
    expect(rows.find((r) => r.metric === 'PS1 -> moderate: change done s')?.live).toBe(3.06);
    expect(rows.find((r) => r.metric === 'PS1 -> moderate: RS3 on again s')?.live).toBe(1.01);
    expect(rows.find((r) => r.metric === 'moderate -> PS1: change done s')?.live).toBe(2.14);
  });

  it('a change the live run never made has no live value', () => {
    const live = tr(49, all('ps1'), { suspendHosts: ['RS3'] }, 2.16);
    const rows = pssConformRows(live, sim);
    expect(rows.find((r) => r.metric === 'PS1 -> moderate: change done s')).toMatchObject({ live: null, sim: 2.7, errPct: null });
    expect(rows.find((r) => r.metric === 'moderate -> PS1: RS3 suspended s')).toMatchObject({ live: null, sim: 2.2 });
  });

  it('live-pss-cycle in the sim: PS1, M1 crashed and recovered by the MSBS, PS2 on the access count, moderate; its vmLoad memory 53 MB, then 29, then 53', () => {
    const s = readScenario(join(REPO_DIR, 'experiments/scenarios/live-pss-cycle.yaml'));
    const run = buildSimulation(s, { seed: 1, watchMode: 'skip' });
    run.run(s.until!);
    const changes = pssChanges(run.events);
    expect(changes.map((c) => c.label)).toEqual(['moderate -> PS1', 'PS1 -> PS2', 'PS2 -> moderate']);
    expect(Object.keys(changes[0].suspended)).toEqual(['RS3']);
    expect(Object.keys(changes[1].suspended)).toEqual(['RS2']);
    expect(Object.keys(changes[2].woken).sort()).toEqual(['RS2', 'RS3']);
    // PS2 only once the client's accesses stopped (90 s) and a whole window went by without any.
    expect(changes[1].t).toBeGreaterThan(90 * S + 6 * S);
    const [r, ...more] = recoveries(run.events);
    expect(more).toEqual([]);
    expect(r).toMatchObject({ target: 'M1', fault: 'vm-crash' });
    expect(r.faultUs!).toBeGreaterThan(changes[0].t);
    expect(r.faultUs! + r.faultToTargetS! * S).toBeLessThan(changes[1].t);
    expect([0, 29_999_999, 30_000_000, 129_999_999, 130_000_000].map((t) => vmLoadMemMb(s, 'W2', t))).toEqual([53, 53, 29, 29, 53]);
    expect(vmLoadMemMb(s, 'Ws', 50_000_000)).toBe(29);
    expect(vmLoadMemMb(s, 'nobody', 0)).toBe(0);
    // The client's load: 0.5 accesses a second to each holder of a group VIP, none from 90 s to 145 s.
    expect([0, 89_999_999, 90_000_000, 144_999_999, 145_000_000].map((t) => vmLoadAccessesPerS(s, 'M2', t))).toEqual([0.5, 0.5, 0, 0, 0.5]);
  });

  it('the lab client\'s pause: a balancer VIP is left alone while every holder of its members receives no access by the scenario', () => {
    const s = readScenario(join(REPO_DIR, 'experiments/scenarios/live-pss-cycle.yaml'));
    const lab = loadLab(join(REPO_DIR, 'experiments/labs/pss-mini.yaml'));
    const driven = drivenClientVips(lab, s);
    expect(driven).toEqual([
      { vip: 'mail', holders: ['M1', 'M2'] },
      { vip: 'web', holders: ['W1', 'W2'] },
      { vip: 'ftp', holders: ['F1', 'F2'] },
    ]);
    expect(clientPausedVips(driven, s, 10 * S)).toEqual([]);
    expect(clientPausedVips(driven, s, 100 * S)).toEqual(['mail', 'web', 'ftp']);
    expect(clientPausedVips(driven, s, 150 * S)).toEqual([]);
    // One holder still accessed: its group VIP is not paused.
    const one = { ...s, vmLoad: [...(s.vmLoad ?? []), { vm: 'W2', start: 95 * S, end: 105 * S, cpuPct: 0, memMb: 0, netBytesPerS: 0, accessesPerS: 0.5 }] };
    expect(clientPausedVips(driven, one, 100 * S)).toEqual(['mail', 'ftp']);
    // A scenario that says nothing of accesses drives none: the client accesses every VIP all along.
    expect(drivenClientVips(lab, { ...s, vmLoad: (s.vmLoad ?? []).map((l) => ({ ...l, accessesPerS: 0 })) })).toEqual([]);
  });
});
