// What live spends time on, in the sim (adapters/sim/ports.ts) from `hatwin calibrate`'s
// distributions (run/calibrate.ts applyCalibration): the messenger's timeout to a dead peer, VIPs
// set in hosts and in guests, a fresh SSH connection where live opens one, the fault's landing
// in the live loop. A scenario without them runs as before (the golden and experiment outputs).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { uptimeAtEpochS } from '../run/live.ts';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { REPO_DIR } from '../adapters/lab/schema.ts';
import { applyCalibration, applyMachineCalibration, measured, pairedWithLive, settledLike, timedByTheLab, vipEffects, type CalibrateParams } from '../run/calibrate.ts';
import { buildSimulation, parseScenario } from '../run/sim.ts';
import { lbConformRows } from '../run/lbconform.ts';
import { navigatorFaultTimes } from '../trace/navigator.ts';
import { disconnections, recoveries, type TraceLine } from '../trace/metrics.ts';
import type { Scenario } from '../sim/scenario/schema.ts';

const text = (n: string) => readFileSync(join(REPO_DIR, `experiments/scenarios/live-p2p-${n}.yaml`), 'utf8');

function withNetwork(n: string, extra: Record<string, unknown>): Scenario {
  const doc = parseYaml(text(n)) as { network: Record<string, unknown> };
  doc.network = { ...doc.network, ...extra };
  return parseScenario(toYaml(doc), `live-p2p-${n} + ${JSON.stringify(extra)}`);
}

/** live-pss-cycle with network fields added or changed. */
function pssWith(extra: Record<string, unknown>): Scenario {
  const doc = parseYaml(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-pss-cycle.yaml'), 'utf8')) as { network: Record<string, unknown> };
  doc.network = { ...doc.network, ...extra };
  return parseScenario(toYaml(doc), `live-pss-cycle + ${JSON.stringify(extra)}`);
}

function simulate(s: Scenario, seed = 1): TraceLine[] {
  const sim = buildSimulation(s, { seed, watchMode: 'skip' });
  sim.run(s.until!);
  return sim.events;
}

const of = (ev: TraceLine[], kind: string, subject?: string) => ev.filter((e) => e.kind === kind && (subject === undefined || e.subject === subject));

describe('the sim pays what live pays, when the scenario carries calibrated costs', () => {
  it('Nt2: the P1 manager\'s report to the dead FTP fails after the messenger\'s timeout, not after the LAN delay: function recovery later by exactly the difference', () => {
    const base = recoveries(simulate(withNetwork('nt2', {})))[0];
    const slow = recoveries(simulate(withNetwork('nt2', { messageTimeoutS: 0.5 })))[0];
    expect(slow.detectedUs).toBe(base.detectedUs);
    // latencyS 0.0005 s replaced by 0.5 s on the path to the backup's activation.
    expect(slow.functionRecoveryS! - base.functionRecoveryS!).toBeCloseTo(0.5 - 0.0005, 6);
  });

  it('Nt2: the hand-back sets the VIP on FTP over a fresh SSH connection (FTP rebooted, the kept one is gone): target recovery later by the connect, and the client sees a second outage', () => {
    const plain = simulate(withNetwork('nt2', {}));
    const ssh = simulate(withNetwork('nt2', { sshConnectS: 1 }));
    expect(recoveries(ssh)[0].targetRecoveryS! - recoveries(plain)[0].targetRecoveryS!).toBeCloseTo(1, 6);
    expect(disconnections(plain)).toHaveLength(1);
    expect(disconnections(ssh).map((d) => d.durationS)).toEqual([disconnections(plain)[0].durationS, 1]);
    // Function recovery (VIP into the guest: no SSH) unchanged.
    expect(recoveries(ssh)[0].functionRecoveryS).toBe(recoveries(plain)[0].functionRecoveryS);
  });

  it('St1: the restart request finds the connection the manager\'s VIP audit keeps to Web1 (hardened); without audits (paper) it opens one', () => {
    const st1 = (net: Record<string, unknown>, safety?: 'paper') => {
      const doc = parseYaml(text('st1')) as { network: Record<string, unknown>; policies: Array<Record<string, unknown>> };
      doc.network = { ...doc.network, ...net };
      if (safety) doc.policies[0].safety = safety;
      return recoveries(simulate(parseScenario(toYaml(doc), `live-p2p-st1 ${JSON.stringify(net)} ${safety ?? ''}`)))[0];
    };
    // Hardened: Login's audits read the VIPs' holders (live: over SSH to every host) before 11 s.
    expect(st1({ sshConnectS: 0.25 }).targetRecoveryS).toBe(st1({}).targetRecoveryS);
    // The paper's P2P has no audit: the restart request opens the connection and pays for it.
    expect(st1({ sshConnectS: 0.25 }, 'paper').targetRecoveryS! - st1({}, 'paper').targetRecoveryS!).toBeCloseTo(0.25, 6);
  });

  it('VIPs: a guest\'s and a host\'s set times replace vipSetS for their kind of holder', () => {
    const plain = simulate(withNetwork('nt2', {}));
    const split = simulate(withNetwork('nt2', { guestVipSetS: 0.6, hostVipSetS: 0.35 }));
    // vipSetS is 0.35: the guest's VIP (function recovery) is 0.25 s later, the host's the same.
    expect(recoveries(split)[0].functionRecoveryS! - recoveries(plain)[0].functionRecoveryS!).toBeCloseTo(0.25, 6);
    const assigns = (ev: TraceLine[]) => of(ev, 'vip.assign', 'vip-ftp').map((e) => String(e.data?.holder));
    expect(assigns(split)).toEqual(assigns(plain));
    // Removal from the guest at the hand-back: its own time when given (1 s instead of 0.6 s).
    const handBack = (ev: TraceLine[]) => of(ev, 'vip.assign', 'vip-ftp').find((e) => e.data?.holder === 'FTP' && e.t > 20e6)!.t;
    const removing = simulate(withNetwork('nt2', { guestVipSetS: 0.6, guestVipRemoveS: 1, hostVipSetS: 0.35 }));
    expect(handBack(removing) - handBack(split)).toBe(400_000);
  });

  it('VIPs: a host serves its address once it is on the interface (hostVipAddS); the set returns after the gratuitous ARP', () => {
    const whole = simulate(withNetwork('nt2', { guestVipSetS: 0.6, hostVipSetS: 1.02 }));
    const added = simulate(withNetwork('nt2', { guestVipSetS: 0.6, hostVipSetS: 1.02, hostVipAddS: 0.02 }));
    // The hand-back's VIP on FTP (a host) serves 1 s sooner; the manager's record of the recovery,
    // after the set returns, does not move.
    const handBack = (ev: TraceLine[]) => of(ev, 'vip.assign', 'vip-ftp').find((e) => e.data?.holder === 'FTP' && e.t > 20e6)!.t;
    expect(handBack(whole) - handBack(added)).toBe(1_000_000);
    expect(of(added, 'target.recovered', 'FTP')[0].t).toBe(of(whole, 'target.recovered', 'FTP')[0].t);
    // A guest's VIP (the backup Mailb's, FTPb's) takes guestVipSetS whole, as before.
    const backup = (ev: TraceLine[]) => of(ev, 'vip.assign', 'vip-ftp').find((e) => e.data?.holder !== 'FTP')!.t;
    expect(backup(added)).toBe(backup(whole));
  });

  it('an agent\'s start-up delays its host\'s programs, not the world: failover\'s free-running monitoring loop (no grid) detects later by the start-up', () => {
    const doc = parseYaml(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-failover-nt2.yaml'), 'utf8')) as { network: Record<string, unknown> };
    const run = (extra: Record<string, unknown>) => {
      const d = structuredClone(doc);
      d.network = { ...d.network, ...extra };
      return simulate(parseScenario(toYaml(d), `live-failover-nt2 + ${JSON.stringify(extra)}`));
    };
    const plain = run({});
    const late = run({ agentStartS: 1.5 });
    // Faults and the world do not move: the fault keeps its time.
    expect(of(late, 'fault')[0].t).toBe(of(plain, 'fault')[0].t);
    // Probes every 2 s from the agent's start: 0, 2, ..., 12 s (detected at 13 s, the Nt2 at 11 s
    // seen by the 12 s probe after its 1 s timeout) become 1.5, 3.5, ..., 11.5 s: detected at 12.5 s.
    const det = (ev: TraceLine[]) => of(ev, 'trouble.detected', 'FTP')[0].t;
    expect(det(plain)).toBe(13_000_000);
    expect(det(late)).toBe(12_500_000);
    // The P2P managers keep their grid (multiples of the interval from time 0) whatever the start-up.
    const p2p = (extra: Record<string, unknown>) => of(simulate(withNetwork('nt2', extra)), 'trouble.detected', 'FTP')[0].t;
    expect(p2p({ agentStartS: 1.5 })).toBe(p2p({}));
  });

  it('PSS: a woken server\'s resume returns once it answers (resumeAnswerS: live runs a command over a new SSH connection): the way back\'s first VIP move later by that', () => {
    // From the last change's start (the way back: RS2 and RS3 woken) to its first VIP move.
    const wake = (ev: TraceLine[]) => {
      const t0 = of(ev, 'pss.transition').at(-1)!.t;
      const on = Math.max(...['RS2', 'RS3'].map((h) => of(ev, 'host.state', h).find((e) => e.t > t0 && e.data?.state === 'on')!.t));
      const move = ev.find((e) => e.t > t0 && e.kind === 'store.write' && e.subject.startsWith('pss/vip/'))!.t;
      return { on: on - t0, move: move - t0 };
    };
    const plain = wake(simulate(pssWith({})));
    const ssh = wake(simulate(pssWith({ resumeAnswerS: 0.5 })));
    expect(plain.move).toBe(plain.on);
    // The hosts come on when they did; the move waits for their answers.
    expect(ssh.on).toBe(plain.on);
    expect(ssh.move - ssh.on).toBe(500_000);
  });

  it('PSS: with powerReplyFirst the suspend returns once the server took the request (the lab\'s supervisor replies first), and the server suspends meanwhile', () => {
    // moderate -> PS1 suspends RS3 last (its suspendS 0.2 s, the call's commandS 0.15 s).
    const first = (ev: TraceLine[]) => {
      const t0 = of(ev, 'pss.transition')[0].t;
      return { done: of(ev, 'pss.transition.done')[0].t - t0, suspended: of(ev, 'host.state', 'RS3').find((e) => e.t > t0 && e.data?.state === 'suspended')!.t - t0 };
    };
    const waits = first(simulate(pssWith({ powerReplyFirst: false })));
    const replies = first(simulate(pssWith({})));
    expect(waits.done).toBe(waits.suspended);
    // The change is done the suspendS sooner; RS3 is suspended when it was.
    expect(waits.done - replies.done).toBe(200_000);
    expect(replies.suspended).toBe(waits.suspended);
  });

  it('an empirical distribution is drawn per call from the agent\'s own stream: the same seed gives the same trace, another seed may not', () => {
    const s = withNetwork('nt2', { messageTimeoutS: { kind: 'empirical', values: [0.3, 0.5, 0.7, 0.9] }, sshConnectS: { kind: 'empirical', values: [0.1, 0.2, 1.5] } });
    expect(JSON.stringify(simulate(s, 3))).toBe(JSON.stringify(simulate(s, 3)));
    const fr = new Set(Array.from({ length: 12 }, (_, i) => recoveries(simulate(s, i + 1))[0].functionRecoveryS));
    expect(fr.size).toBeGreaterThan(1);
  });
});

describe('applyCalibration: the measured samples as the scenario\'s distributions', () => {
  const params = (): CalibrateParams => ({
    lab: 'p2p-mini', measuredAt: '2026-11-25T00:00:00Z', samples: 2, network: { examS: 0.001, vipSetS: 0.4 },
    hosts: { FTP: { bootS: 3, restartS: 3, services: { vsftpd: { examS: 0.004, restartS: 0.2 } } } },
    vms: { FTPb: { resumeS: 0.3, services: { vsftpd: { examS: 0.005 } } } },
    dist: {
      messageS: measured('m', [0.002, 0.004]),
      messageTimeoutS: measured('t', [0.51, 0.53]),
      guestAgentS: measured('g', [0.1, 0.2]),
      guestVipSetS: measured('gv', [0.4, 0.6]),
      guestVipRemoveS: measured('gr', [0.2, 0.3]),
      hostVipSetS: measured('hv', [0.05, 0.07]),
      hostVipAddS: measured('ha', [0.004, 0.006]),
      hostVipRemoveS: measured('hr', [0.01, 0.02]),
      sshCommandS: measured('c', [0.02, 0.04]),
      sshConnectS: measured('sc', [0.3, 0.5]),
      faultInjectS: measured('f', [0.1, 0.2]),
      liveTurnS: measured('l', [0.4, 0.8]),
      agentStartS: measured('a', [1.2, 2.4]),
    },
    notes: [],
  });

  it('network costs become empirical distributions of the samples; commandS the kept connection\'s median', () => {
    const s = applyCalibration(text('nt2'), params(), 'nt2');
    expect(s.network.messageTimeoutS).toEqual({ kind: 'empirical', values: [0.51, 0.53] });
    expect(s.network.hostVipSetS).toEqual({ kind: 'empirical', values: [0.05, 0.07] });
    expect(s.network.hostVipAddS).toEqual({ kind: 'empirical', values: [0.004, 0.006] });
    expect(s.network.guestVipSetS).toEqual({ kind: 'empirical', values: [0.4, 0.6] });
    expect(s.network.guestVipRemoveS).toEqual({ kind: 'empirical', values: [0.2, 0.3] });
    expect(s.network.hostVipRemoveS).toEqual({ kind: 'empirical', values: [0.01, 0.02] });
    expect(s.network.sshConnectS).toEqual({ kind: 'empirical', values: [0.3, 0.5] });
    expect(s.network.agentStartS).toEqual({ kind: 'empirical', values: [1.2, 2.4] });
    expect(s.network.commandS).toBeCloseTo(0.03, 9);
    expect(s.network.vipSetS).toBe(0.4);
    expect(s.vms.find((v) => v.name === 'FTPb')!.resumeS).toEqual({ kind: 'constant', value: 0.3 });
  });

  it('a daemon restart measured as samples is drawn from them; a file with the median only keeps the one value', () => {
    const p = params();
    p.hosts.FTP.services.vsftpd.restart = measured('r', [0.03, 0.05, 0.09]);
    const svc = (q: CalibrateParams) => applyCalibration(text('nt2'), q, 'nt2').hosts.find((h) => h.name === 'FTP')!.services.find((x) => x.name === 'vsftpd')!;
    expect(svc(p).restartS).toEqual({ kind: 'empirical', values: [0.03, 0.05, 0.09] });
    expect(svc(params()).restartS).toEqual({ kind: 'constant', value: 0.2 });
  });

  it('a fault is recorded where live records it: its time plus a point spread evenly over the loop\'s turn', () => {
    const s = applyCalibration(text('nt2'), params(), 'nt2');
    const at = s.faults[0].at as { dist: { kind: string; values: number[] } };
    // 11 s + (0.125, 0.375, 0.625, 0.875) x (0.4 s, 0.8 s)
    const want = [11.05, 11.15, 11.25, 11.35, 11.1, 11.3, 11.5, 11.7];
    expect(at.dist.kind).toBe('empirical');
    expect(at.dist.values).toEqual(want);
    const f = of(simulate(s), 'fault', 'FTP')[0];
    expect(want.map((x) => Math.round(x * 1e6))).toContain(f.t);
  });

  it('a load-balancer scenario gets the machine\'s costs only: its directors\' checkers start after the agent\'s start-up, faults land in the loop\'s turn, the policy\'s and world\'s own times stay as written', () => {
    const lbText = readFileSync(join(REPO_DIR, 'experiments/scenarios/live-lb-faults.yaml'), 'utf8');
    const asWritten = parseScenario(lbText, 'live-lb-faults');
    const s = applyMachineCalibration(lbText, params(), 'live-lb-faults');
    expect(s.network.agentStartS).toEqual({ kind: 'empirical', values: [1.2, 2.4] });
    expect({ ...s.network, agentStartS: undefined }).toEqual({ ...asWritten.network, agentStartS: undefined });
    expect(s.hosts).toEqual(asWritten.hosts);
    expect(s.policies).toEqual(asWritten.policies);
    expect((s.faults[0].at as { dist: { values: number[] } }).dist.values).toEqual([10.05, 10.15, 10.25, 10.35, 10.1, 10.3, 10.5, 10.7]);
    // The checker's first try waits for its director's agent: 1.2 or 2.4 s, never at 0.
    const firstTries = of(simulate(s), 'lb.try').filter((e) => e.t < 5e6).map((e) => (e.data as { startUs: number }).startUs);
    expect(firstTries.length).toBeGreaterThan(0);
    expect(Math.min(...firstTries)).toBeGreaterThanOrEqual(1_200_000);
    // conform names the faults by their nominal times (from the scenario as written).
    const sim = simulate(s);
    expect([...new Set(lbConformRows(sim, sim, asWritten).map((r) => r.fault))]).toEqual(['St1 ap2 http @10s', 'pause ap3 @20s', 'link-down ms1 @40s', 'St1 ms1 keepalived @60s']);
    const p = params();
    delete p.dist;
    expect(applyMachineCalibration(lbText, p, 'live-lb-faults')).toEqual(asWritten);
  });

  it('a load-balancer scenario\'s pool changes take the director\'s nft write as measured: a drop and a re-add each end that much later', () => {
    const lbText = readFileSync(join(REPO_DIR, 'experiments/scenarios/live-lb-faults.yaml'), 'utf8');
    const asWritten = parseScenario(lbText, 'live-lb-faults');
    const withPools = (writeS: number) => applyMachineCalibration(lbText, { ...params(), pools: { writeS: measured('pool change', [writeS, writeS]) } }, 'live-lb-faults');
    const s = withPools(0.04);
    expect(s.network.poolWriteS).toEqual({ kind: 'empirical', values: [0.04, 0.04] });
    expect(applyMachineCalibration(lbText, params(), 'live-lb-faults').network.poolWriteS).toBeUndefined();
    const row = (sc: Scenario, metric: RegExp) => {
      const sim = simulate(sc);
      const r = lbConformRows(sim, sim, asWritten).find((x) => x.fault === 'St1 ap2 http @10s' && metric.test(x.metric));
      expect(r, `${metric} row`).toBeDefined();
      return r!.sim!;
    };
    // The same run otherwise (same draws: the pool write has its own stream): the removal after
    // the first failing try takes the write (0.04 s, 0.24 s) instead of the LAN delay.
    const drop = /first failing try -> removed/;
    const lan = asWritten.network.latencyS;
    expect(row(withPools(0.24), drop) - row(s, drop)).toBeCloseTo(0.2, 3); // rows are in whole ms
    expect(row(s, drop) - row(withPools(lan), drop)).toBeCloseTo(0.04 - lan, 2);
  });

  it('a Navigator scenario gets the container start as measured: the fallback (a new secondary\'s container boots) follows it, the policy\'s rates stay as written', () => {
    const navText = readFileSync(join(REPO_DIR, 'experiments/scenarios/live-navigator-failover.yaml'), 'utf8');
    const asWritten = parseScenario(navText, 'live-navigator-failover');
    const containers = (startS: number, commandS: number) => ({ ...params(), containers: { vms: ['nav-a', 'nav-b'], startS: measured('container start', [startS, startS]), commandS: measured('service stop in a container', [commandS, commandS]) } });
    const s = applyMachineCalibration(navText, containers(4, 1), 'live-navigator-failover');
    for (const v of s.vms) expect(v.startS).toEqual({ kind: 'empirical', values: [4, 4] });
    expect(s.network.guestCommandS).toEqual({ kind: 'empirical', values: [1, 1] });
    expect(s.policies).toEqual(asWritten.policies);
    const fallback = (sc: Scenario) => navigatorFaultTimes(simulate(sc) as TraceLine[], 'vip-mon')[0].fallbackS!;
    // The new secondary's container boots 11 s sooner; the rest of the fallback is the same.
    expect(fallback(applyMachineCalibration(navText, containers(15, 1), 'live-navigator-failover')) - fallback(s)).toBeCloseTo(11, 0);
    // Two guest commands on the way, 2 s more each: the new primary starts the monitoring service
    // in its container, the new secondary's pilot stops it in its own.
    expect(fallback(applyMachineCalibration(navText, containers(4, 3), 'live-navigator-failover')) - fallback(s)).toBeCloseTo(4, 0);
    // Without a container measurement (a lab with no depot guests) the vms stay as written.
    expect(applyMachineCalibration(navText, params(), 'live-navigator-failover').vms).toEqual(asWritten.vms);
    // A start measured on its own (a start returns sooner than a stop) and the service's answer
    // after it: the new primary's service start takes them, not the stop's time plus the default.
    const withStart = (startCmd: number, up: number) => {
      const p = containers(4, 1);
      const c = { ...p.containers, serviceStartS: measured('start', [startCmd, startCmd]), serviceUpS: measured('up', [up, up]) };
      return applyMachineCalibration(navText, { ...p, containers: c }, 'live-navigator-failover');
    };
    const ws = withStart(0.3, 0.01);
    expect(ws.network.guestStartS).toEqual({ kind: 'empirical', values: [0.3, 0.3] });
    for (const v of ws.vms) expect(v.services[0].restartS).toEqual({ kind: 'empirical', values: [0.01, 0.01] });
    const seen = (sc: Scenario) => {
      const t = navigatorFaultTimes(simulate(sc) as TraceLine[], 'vip-mon')[0];
      return t.primaryFailoverS! - t.detectedS!;
    };
    // loss seen -> new primary: the start command, 0.3 s; 0.5 s more with a start 0.5 s longer.
    expect(seen(withStart(0.8, 0.01)) - seen(ws)).toBeCloseTo(0.5, 3);
    // The service's answer after the command is not waited for: live's pilot records its track
    // when the guest-agent start returns (the daemon in the background). The service is up that
    // much after the track, in the world.
    expect(seen(withStart(0.3, 0.51))).toBe(seen(ws));
    const upAfterTrack = (sc: Scenario) => {
      const ev = simulate(sc) as TraceLine[];
      const tr = ev.find((e) => e.kind === 'navigator.track' && e.data?.failover === true)!;
      const up = ev.find((e) => e.kind === 'service.state' && e.subject === `${String(tr.data?.vm)}/mon` && e.data?.state === 'up' && e.t >= tr.t)!;
      return (up.t - tr.t) / 1e6;
    };
    expect(upAfterTrack(withStart(0.3, 0.51))).toBeCloseTo(0.51, 6);
    // Without a start measured as a command (guestStartS), the start returns once the service is up.
    const noStart = containers(4, 1);
    expect(upAfterTrack(applyMachineCalibration(navText, noStart, 'live-navigator-failover'))).toBe(0);
  });

  it('a file written before the distributions were measured calibrates the steps only (faults at their times)', () => {
    const p = params();
    delete p.dist;
    const s = applyCalibration(text('nt2'), p, 'nt2');
    expect(s.network.messageTimeoutS).toBeUndefined();
    expect(s.faults[0].at).toBe(11_000_000);
  });
});

describe('settledLike: a live run has reached the end the sim\'s run of the same scenario reaches', () => {
  const sim = simulate(withNetwork('nt2', {}));
  const settled = settledLike(sim);
  it('the sim\'s own trace has; its first half, before the target\'s recovery, has not', () => {
    expect(settled(sim)).toBe(true);
    const tr = of(sim, 'target.recovered', 'FTP')[0].t;
    expect(settled(sim.filter((e) => e.t < tr))).toBe(false);
  });
  it('a guest left running, or a client last seeing XX, is not settled', () => {
    const vm = of(sim, 'vm.state', 'FTPb').at(-1)!;
    expect(vm.data?.state).toBe('suspended');
    expect(settled([...sim, { ...vm, t: vm.t + 1, data: { state: 'running' } }])).toBe(false);
    const access = of(sim, 'client.access', 'client-ftp').at(-1)!;
    expect(settled([...sim, { ...access, t: access.t + 1, data: { ...access.data, ok: false } }])).toBe(false);
  });
});

describe('pairedWithLive: a sim replication replays its live run\'s exogenous timings, not its outcomes', () => {
  const failover = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-failover-nt2.yaml'), 'utf8'), 'live-failover-nt2');
  const lv = (t: number, kind: string, subject: string, data: Record<string, unknown> = {}): TraceLine => ({ t: Math.round(t * 1e6), kind, subject, data });
  const liveRun = (loginStart: number, faultAt: number): TraceLine[] => [
    lv(0.3, 'agent.spawn', 'Login'), lv(loginStart, 'agent.start', 'Login'), lv(faultAt, 'fault', 'FTP', { fault: 'Nt2' }),
    // What live did after: never read (the policy's and the world's steps are the model's).
    lv(faultAt + 0.9, 'trouble.detected', 'FTP', { manager: 'Login' }), lv(faultAt + 2, 'function.recovered', 'FTP', { manager: 'Login' }),
  ];
  const detected = (s: Scenario) => of(simulate(s), 'trouble.detected', 'FTP')[0].t;

  it('faults at the times live recorded them, agents\' programs after the start-ups live measured', () => {
    const p = pairedWithLive(failover, liveRun(7.8, 11.107));
    expect(p.faults[0].at).toBe(11_107_000);
    expect(p.network.agentStartsS).toEqual({ Login: [7.8] });
    expect(of(simulate(p), 'fault', 'FTP')[0].t).toBe(11_107_000);
    // The failover manager probes every 2 s from its start (7.8, 9.8, 11.8 s): it sees the fault
    // at 11.8 s; started 0.1 s later, 0.1 s later; the live run's own detection is not used.
    const at78 = detected(p);
    expect(at78).toBeGreaterThanOrEqual(11_800_000);
    expect(detected(pairedWithLive(failover, liveRun(7.9, 11.107))) - at78).toBe(100_000);
    expect(detected(pairedWithLive(failover, liveRun(7.8, 11.107).map((e) => (e.kind === 'trouble.detected' ? { ...e, t: e.t + 5e6 } : e))))).toBe(at78);
  });

  it('a fault with a duration ends where live recorded its end', () => {
    const lb = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-lb-faults.yaml'), 'utf8'), 'live-lb-faults');
    const p = pairedWithLive(lb, [lv(20.1, 'fault', 'ap3', { fault: 'pause' }), lv(30.35, 'fault.end', 'ap3', { fault: 'pause' })]);
    const pause = p.faults.find((f) => f.kind === 'pause')!;
    expect([pause.at, pause.duration]).toEqual([20_100_000, 10_250_000]);
    // ap3 answers its checkers again only from the end live recorded.
    const firstPass = (sc: Scenario) => of(simulate(sc), 'lb.try', 'ap3').map((e) => ({ ok: e.data?.ok === true, startUs: (e.data as { startUs: number }).startUs })).filter((x) => x.ok && x.startUs > 20.2e6)[0].startUs;
    expect(firstPass(p)).toBeGreaterThanOrEqual(30_350_000);
    expect(firstPass(pairedWithLive(lb, [lv(20.1, 'fault', 'ap3', { fault: 'pause' }), lv(25, 'fault.end', 'ap3', { fault: 'pause' })]))).toBeLessThan(firstPass(p));
    // Without an end record the scenario's duration stays.
    expect(pairedWithLive(lb, [lv(20.1, 'fault', 'ap3', { fault: 'pause' })]).faults.find((f) => f.kind === 'pause')!.duration).toBe(lb.faults.find((f) => f.kind === 'pause')!.duration);
  });

  it('the load balancer\'s rows count a paired sim\'s fault end where that sim ended it, not the scenario\'s duration after its start', () => {
    const lb = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-lb-faults.yaml'), 'utf8'), 'live-lb-faults');
    // Live ended the pause 9.87 s after it acted (the scenario says 10 s).
    const p = pairedWithLive(lb, [lv(20.144, 'fault', 'ap3', { fault: 'pause' }), lv(30.014, 'fault.end', 'ap3', { fault: 'pause' })]);
    const sim = simulate(p);
    const readd = (rows: ReturnType<typeof lbConformRows>) => rows.find((r) => r.fault === 'pause ap3 @20s' && /fault end -> added/.test(r.metric))!.sim!;
    const added = of(sim, 'pool.add', 'vip-web').find((e) => e.data?.member === 'ap3' && e.t > 30e6)!.t;
    const start = of(sim, 'fault', 'ap3').find((e) => e.data?.fault === 'pause')!.t;
    expect(readd(lbConformRows(sim, sim, lb, p))).toBeCloseTo((added - (start + 9_870_000)) / 1e6, 2);
    // Counted from the scenario's 10 s the row read 0.13 s short.
    expect(readd(lbConformRows(sim, sim, lb))).toBeCloseTo((added - (start + 10_000_000)) / 1e6, 2);
  });

  it('a fault acts where the lab says it acted (live records it before the call): the power cut, the service stopped; another host\'s record or an earlier one is not it', () => {
    const cut = pairedWithLive(failover, [lv(110.014, 'fault', 'FTP', { fault: 'Nt2' }), lv(110.02, 'lab.power-cut', 'Login'), lv(110.009, 'lab.power-cut', 'FTP'), lv(110.026, 'lab.power-cut', 'FTP')]);
    expect(cut.faults[0].at).toBe(110_026_000);
    const st2 = parseScenario(text('st2'), 'live-p2p-st2');
    const f2 = st2.faults[0] as { target: string; at: number };
    const wedge = (dt: number, action = 'wedge') => lv(f2.at / 1e6 + dt, 'lab.service', f2.target, { service: 'x', action });
    const fault = lv(f2.at / 1e6 + 0.04, 'fault', f2.target, { fault: 'St2' });
    expect(pairedWithLive(st2, [fault, wedge(0.01, 'restart'), wedge(0.052)]).faults[0].at).toBe(f2.at + 52_000);
    // Without the lab's record (or more than 10 s after), the fault's own record.
    expect(pairedWithLive(st2, [fault, wedge(10.5)]).faults[0].at).toBe(f2.at + 40_000);
    // A pulled cable is recorded once `ip link set down` has returned, after the cut: not used.
    const lb = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-lb-faults.yaml'), 'utf8'), 'live-lb-faults');
    const cable = lb.faults.find((f) => f.kind === 'link-down') as { target: string; at: number };
    expect(pairedWithLive(lb, [lv(cable.at / 1e6 + 0.266, 'fault', cable.target, { fault: 'link-down' }), lv(cable.at / 1e6 + 0.291, 'lab.cable', cable.target, { cable: 'down' })]).faults.find((f) => f.kind === 'link-down')!.at).toBe(cable.at + 266_000);
    // A service stop (St1) is recorded once the daemon has exited, after it stopped serving: not used.
    const st1 = parseScenario(text('st1'), 'live-p2p-st1');
    expect(pairedWithLive(st1, [lv(11.041, 'fault', 'Web1', { fault: 'St1' }), lv(11.083, 'lab.service', 'Web1', { service: 'httpd', action: 'stop' })]).faults[0].at).toBe(11_041_000);
  });

  it('the live trace compared counts from where the lab acted too: its fault and a PC switched off moved there, in time order', () => {
    const run = [lv(110.014, 'fault', 'FTP', { fault: 'Nt2' }), lv(110.018, 'client.access', 'c', { ok: true }), lv(110.026, 'lab.power-cut', 'FTP'), lv(120, 'churn.power', 'pc1', { on: false }), lv(120.011, 'lab.power-cut', 'pc1'), lv(130, 'churn.power', 'pc1', { on: true })];
    expect(timedByTheLab(run).map((e) => [e.t, e.kind])).toEqual([[110_018_000, 'client.access'], [110_026_000, 'fault'], [110_026_000, 'lab.power-cut'], [120_011_000, 'churn.power'], [120_011_000, 'lab.power-cut'], [130_000_000, 'churn.power']]);
  });

  it('a later start-up counts from its host\'s boot; a fault live never injected keeps the scenario\'s time', () => {
    const p = pairedWithLive(failover, [lv(2.5, 'agent.start', 'Login'), lv(20, 'host.state', 'Login', { state: 'on' }), lv(21.25, 'agent.start', 'Login'), lv(3, 'agent.start', 'nobody')]);
    expect(p.network.agentStartsS).toEqual({ Login: [2.5, 1.25] });
    expect(p.faults[0].at).toBe(failover.faults[0].at);
  });

  it('churn: each PC switched where live switched it (the sim\'s schedule, landed late by the live loop), and a pilot\'s loss seen moves with it', () => {
    const churn = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-navigator-churn.yaml'), 'utf8'), 'live-navigator-churn');
    const schedule = of(simulate(churn), 'churn.power');
    expect(schedule.length).toBeGreaterThan(3);
    // Live switched each PC 1.6 s after the sim's schedule (a loaded machine's loop).
    const late: TraceLine[] = schedule.map((e) => ({ ...e, t: e.t + 1_600_000, data: { ...e.data, scheduledUs: e.t } }));
    const p = pairedWithLive(churn, late);
    expect(p.churn?.kind).toBe('trace');
    const replayed = simulate(p);
    expect(of(replayed, 'churn.power').map((e) => [e.t, e.subject, e.data?.on])).toEqual(late.map((e) => [e.t, e.subject, e.data?.on]));
    // The first primary's PC goes off after the secondary's check that saw it fine (it checks
    // every primaryCheck, 2 s): the loss is seen one check later, exactly.
    const lost = (ev: TraceLine[]) => of(ev, 'navigator.primary-lost')[0].t;
    expect(lost(replayed) - lost(simulate(churn))).toBe(2_000_000);
    // A run without churn records keeps the scenario's churn; a scenario without churn has none.
    expect(pairedWithLive(churn, []).churn).toEqual(churn.churn);
    expect(pairedWithLive(failover, late).churn).toBeUndefined();
  });

  it('each client accesses on the grid live\'s client had (its first access): St1\'s outage is counted on the same seconds', () => {
    const st1 = parseScenario(text('st1'), 'live-p2p-st1');
    const run = [lv(0.411595, 'client.access', 'client-web1', { ok: true }), lv(11.151185, 'fault', 'Web1', { fault: 'St1' }), lv(11.411595, 'client.access', 'client-web1', { ok: false })];
    const p = pairedWithLive(st1, run);
    expect(p.clients[0].phaseS).toBe(0.411595);
    const acc = of(simulate(p), 'client.access', 'client-web1').map((e) => [e.t, e.data?.ok]);
    // The first access at once, then the grid 0.411595 + k s: the fault at 11.151 s is seen at 11.411595 s.
    expect(acc[1]).toEqual([11_411_595, false]);
    expect(acc.slice(2).every(([t]) => (t as number) % 1_000_000 === 411_595)).toBe(true);
    // Without a live access the scenario's phase stays.
    expect(pairedWithLive(st1, run.filter((e) => e.kind !== 'client.access')).clients[0].phaseS).toBe(st1.clients[0].phaseS);
  });

  it('each VM\'s starts take what its live starts took, in order; later ones draw startS', () => {
    const nav = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-navigator-failover.yaml'), 'utf8'), 'live-navigator-failover');
    const ready = (t: number, host: string, vm: string, took: number) => lv(t, 'lab.guest', host, { vm, state: 'ready', tookUs: Math.round(took * 1e6) });
    const p = pairedWithLive(nav, [ready(9, 'pc1', 'nav-a', 3.4), ready(22, 'pc2', 'nav-b', 4.25), lv(30, 'lab.guest', 'pc1', { vm: 'nav-a', state: 'destroyed' })]);
    expect(p.network.vmStartsS).toEqual({ 'nav-a': [3.4], 'nav-b': [4.25] });
    const ev = simulate(p);
    const took = (vm: string) => {
      const st = ev.filter((e) => e.kind === 'vm.state' && e.subject === vm);
      return st.flatMap((e, i) => (e.data?.state === 'starting' && st[i + 1]?.data?.state === 'running' ? [(st[i + 1].t - e.t) / 1e6] : []));
    };
    expect(took('nav-a')[0]).toBeCloseTo(3.4, 6);
    expect(took('nav-b')[0]).toBeCloseTo(4.25, 6);
    // The new secondary after the failover (nav-a again): beyond the list, the scenario's 15 s.
    expect(took('nav-a')[1]).toBeCloseTo(15, 6);
    expect(pairedWithLive(nav, []).network.vmStartsS).toBeUndefined();
  });

  // The ci3 run's churn: the lab's PCs had run the session's earlier scenarios (the failover
  // switched pc3 off), so at 8.5 s live's depots reported pc2 591 s, pc3 331 s, pc4 591 s.
  const churnScenario = () => parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-navigator-churn.yaml'), 'utf8'), 'live-navigator-churn');
  const candidates = (ev: TraceLine[]) => of(ev, 'navigator.candidates').map((e) => e.data as { reports: Array<[string, number]>; chosen: string });
  const labUptimes = (pc2: number, pc3: number, pc4: number): TraceLine[] => [
    lv(2.666, 'host.state', 'pc1', { state: 'on' }), lv(2.667, 'host.uptime', 'pc1', { uptimeS: pc2 }),
    lv(2.667, 'host.uptime', 'pc2', { uptimeS: pc2 }), lv(2.667, 'host.uptime', 'pc3', { uptimeS: pc3 }), lv(2.667, 'host.uptime', 'pc4', { uptimeS: pc4 }),
  ];

  it('each PC starts with the uptime live\'s PC had at the run\'s start: the churn\'s new secondary goes where live\'s went, and the third fault hits the same role', () => {
    const churn = churnScenario();
    const p = pairedWithLive(churn, labUptimes(582.4, 322.4, 582.4));
    expect(p.hosts.map((h) => [h.name, h.uptimeS])).toEqual([['pc1', 582.4], ['pc2', 582.4], ['pc3', 322.4], ['pc4', 582.4]]);
    const paired = candidates(simulate(p));
    const fresh = candidates(simulate(churn));
    // The first query: pc2 and pc4 tie (one power-on instant), pc2 by name in both.
    expect(paired[0].chosen).toBe('pc2');
    expect(paired[0].reports.map(([h]) => h)).toEqual(['pc2', 'pc3', 'pc4']);
    const [r2, r3, r4] = paired[0].reports.map(([, u]) => u);
    expect(r2).toBe(r4);
    expect(r2 - r3).toBe(260);
    // After pc1 went off (89 s), pc2 asks pc3 and pc4: pc4 has run 260 s longer, as live found
    // (418 / 678 s); booted together with it, the sim picked pc3 by name.
    expect(paired[1].reports.map(([h]) => h)).toEqual(['pc3', 'pc4']);
    expect(paired[1].chosen).toBe('pc4');
    expect(fresh[1].reports[0][1]).toBe(fresh[1].reports[1][1]);
    expect(fresh[1].chosen).toBe('pc3');
    // pc3 goes off at 215 s: the secondary's PC in live, so in the paired sim; the primary's before.
    const role = (ev: TraceLine[]) => navigatorFaultTimes(ev, 'vip-mon').find((f) => f.host === 'pc3' && f.faultUs > 200e6)?.role;
    expect(role(simulate(p))).toBe('secondary');
    expect(role(simulate(churn))).toBe('primary');
  });

  it('uptimes: a trace recorded before the host.uptime record gives them through the depots\' reports (to a second); a PC switched off before its report, or off at the start, keeps the scenario\'s', () => {
    const churn = churnScenario();
    const report = (t: number, reports: Array<[string, number]>) => lv(t, 'navigator.candidates', 'pc1', { reports, chosen: reports[0][0] });
    // The query went out at 7.466 s (the uptime wait, 1 s, before the record): pc3 had run 331.x s.
    const p = pairedWithLive(churn, [report(8.466, [['pc2', 591], ['pc3', 331], ['pc4', 591]]), lv(93, 'host.state', 'pc1', { state: 'off' }), report(95.2, [['pc1', 5], ['pc3', 418]])]);
    const up = new Map(p.hosts.map((h) => [h.name, h.uptimeS]));
    expect(up.get('pc2')).toBe(up.get('pc4'));
    expect(up.get('pc2')!).toBeCloseTo(591.5 - 7.466, 6);
    expect(up.get('pc3')!).toBeCloseTo(331.5 - 7.466, 6);
    expect(up.get('pc1')).toBeUndefined();
    // The record wins over the reports; no record and no report: the scenario's hosts as they are.
    expect(pairedWithLive(churn, [...labUptimes(10, 20, 30), report(8.466, [['pc2', 591]])]).hosts.find((h) => h.name === 'pc2')!.uptimeS).toBe(10);
    expect(pairedWithLive(churn, []).hosts).toBe(churn.hosts);
    const off = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-navigator-churn.yaml'), 'utf8').replace('{ name: pc3, mac: "02:77:11:00:00:13", bootS: 3 }', '{ name: pc3, mac: "02:77:11:00:00:13", bootS: 3, state: off }'), 'pc3 off');
    expect(pairedWithLive(off, labUptimes(1, 2, 3)).hosts.find((h) => h.name === 'pc3')!.uptimeS).toBeUndefined();
  });
});

describe('hosts[].uptimeS: a host up since before the run', () => {
  const yaml = (extra: string) => `name: up\nuntil: 10s\nhosts:\n  - { name: a${extra} }\n`;

  it('counts the uptime from that much before 0, on a host that is on only; absent, from 0', () => {
    expect(parseScenario(yaml(', uptimeS: 120.5'), 'x').hosts[0].uptimeS).toBe(120.5);
    expect(parseScenario(yaml(''), 'x').hosts[0]).not.toHaveProperty('uptimeS');
    expect(() => parseScenario(yaml(', state: off, uptimeS: 5'), 'x')).toThrow(/only a host that is on has an uptime/);
    expect(() => parseScenario(yaml(', uptimeS: -1'), 'x')).toThrow();
  });

  it('live reads it at the epoch from the boot record the depot reads (epoch ms of the last boot): none or unreadable, no record; a boot after the epoch, 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-uptime-'));
    try {
      const file = join(dir, 'booted-at');
      expect(uptimeAtEpochS(file, 1_700_000_000_000_000)).toBeNull();
      writeFileSync(file, '1699999408123\n');
      expect(uptimeAtEpochS(file, 1_700_000_000_000_000)).toBe(591.877);
      expect(uptimeAtEpochS(file, 1_699_999_400_000_000)).toBe(0);
      writeFileSync(file, 'soon');
      expect(uptimeAtEpochS(file, 1_700_000_000_000_000)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pairedWithLive: a host\'s VIP serves at live\'s instant within the set (vip.effect of the SSH driver, by address)', () => {
  const nt2 = parseScenario(text('nt2'), 'live-p2p-nt2');
  const lv = (t: number, kind: string, subject: string, data: Record<string, unknown> = {}): TraceLine => ({ t: Math.round(t * 1e6), kind, subject, data });
  it('Nt2\'s hand-back: the set on the rebooted FTP took 1.97 s live and FTP served 1.08 s into it (its SSH connect waited); the paired sim serves there, not at the set\'s end', () => {
    // The hand-back's set, as a CI run traced it: the SSH driver names the address, not the VIP.
    const address = nt2.vips.find((v) => v.name === 'vip-ftp')!.address!;
    const set = lv(28.3, 'vip.assign', 'vip-ftp', { holder: 'FTP', tookUs: 1_974_582, by: 'Mail' });
    const effect = lv(27.4, 'vip.effect', address, { holder: 'FTP', op: 'add' });
    const timed = pairedWithLive(nt2, [effect, set]);
    expect(timed.network.responsesS!['vipServed/vip-ftp/FTP@Mail']).toEqual([1.074582]);
    const whole = pairedWithLive(nt2, [set]);
    expect(whole.network.responsesS!['vipServed/vip-ftp/FTP@Mail']).toBeUndefined();
    const handBack = (ev: TraceLine[]) => of(ev, 'vip.assign', 'vip-ftp').find((e) => e.data?.holder === 'FTP' && e.t > 20e6)!.t;
    const a = simulate(whole);
    const b = simulate(timed);
    expect(handBack(a) - handBack(b)).toBe(1_974_582 - 1_074_582);
    // The manager goes on when the set returns, as live's did.
    expect(of(b, 'target.recovered', 'FTP')[0].t).toBe(of(a, 'target.recovered', 'FTP')[0].t);
  });

  it('each agent replays its own calls to a VIP on a holder: another agent\'s earlier set of the same VIP there is not this one\'s', () => {
    // Login set vip-ftp on FTPb first (0.9 s), then Mail (0.12 s): Mail's first set takes 0.12 s.
    const p = pairedWithLive(nt2, [lv(5, 'vip.assign', 'vip-ftp', { holder: 'FTPb', tookUs: 900_000, by: 'Login' }), lv(15, 'vip.assign', 'vip-ftp', { holder: 'FTPb', tookUs: 120_000, by: 'Mail' })]);
    expect(p.network.responsesS).toEqual({ 'vipSet/vip-ftp/FTPb@Login': [0.9], 'vipSet/vip-ftp/FTPb@Mail': [0.12] });
    // In Nt2 Mail (FTP's P1 manager) sets vip-ftp on FTPb: its set lasts 0.12 s, not Login's 0.9 s.
    const ev = simulate(p);
    const fr = of(ev, 'function.recovered', 'FTP')[0];
    const plain = simulate(pairedWithLive(nt2, [lv(15, 'vip.assign', 'vip-ftp', { holder: 'FTPb', tookUs: 120_000, by: 'Mail' })]));
    expect(fr.t).toBe(of(plain, 'function.recovered', 'FTP')[0].t);
  });
});

describe('pairedWithLive replays the machine\'s response times that set a loop\'s phase (live-pss-cycle)', () => {
  const pss = parseScenario(readFileSync(join(REPO_DIR, 'experiments/scenarios/live-pss-cycle.yaml'), 'utf8'), 'live-pss-cycle');
  const lv = (t: number, kind: string, subject: string, data: Record<string, unknown> = {}): TraceLine => ({ t: Math.round(t * 1e6), kind, subject, data });
  /** A live run: mgmt's agent up at 1 s, M1 crashed at 65 s, M1's DBSS rounds taking `rounds` seconds each (`failedS`: a round that failed). */
  const liveRun = (rounds: Array<number | { failedS: number }>, extra: TraceLine[] = []): TraceLine[] => [
    lv(1, 'agent.start', 'mgmt'),
    ...rounds.map((s, k) => lv(11 + 10 * k, 'dbss.examined', 'M1', { manager: 'mgmt', tookUs: Math.round((typeof s === 'number' ? s : s.failedS) * 1e6), ok: typeof s === 'number' })),
    lv(65, 'fault', 'M1', { fault: 'vm-crash' }),
    ...extra,
  ];
  const detected = (ev: TraceLine[]) => of(ev, 'trouble.detected', 'M1')[0].t;
  const rounds = (ev: TraceLine[]) => of(ev, 'dbss.examined', 'M1').map((e) => e.data as { tookUs: number; ok: boolean });

  it('the DBSS\'s rounds take the durations live recorded, in order: its detection moves by exactly their sum', () => {
    const base = pairedWithLive(pss, liveRun([0.1, 0.1, 0.1, 0.1, 0.1, 0.1]));
    const slow = pairedWithLive(pss, liveRun([0.4, 0.6, 0.3, 0.5, 0.7, 1.0]));
    expect(slow.network.responsesS).toEqual({ 'examine/M1': [0.4, 0.6, 0.3, 0.5, 0.7, 1.0] });
    const [b, s] = [simulate(base), simulate(slow)];
    // The sim's rounds report what live's took (µs), the crashed target's round its own timeout.
    expect(rounds(s).slice(0, 6).map((r) => r.tookUs)).toEqual([400_000, 600_000, 300_000, 500_000, 700_000, 1_000_000]);
    expect(rounds(s)[6]).toMatchObject({ ok: false });
    expect(rounds(s)[6].tookUs).toBe(rounds(b)[6].tookUs);
    // Six passing rounds before the crash, each (replayed - 0.1) s longer: 2.9 s in all.
    expect(detected(s) - detected(b)).toBe(2_900_000);
    // Unpaired, the rounds take the sim's own examination (network and service examination).
    expect(rounds(simulate(pss))[0].tookUs).toBeLessThan(100_000);
  });

  it('a round that failed live lasts its time and examines the sim\'s world at its end; past the list the sim\'s own time; a run without such lines adds nothing', () => {
    const own = rounds(simulate(pss))[2].tookUs;
    // Live's second round failed its first examination on the loaded machine and passed the second: 3 s.
    const p = pairedWithLive(pss, liveRun([0.4, { failedS: 3 }]));
    expect(p.network.responsesS).toEqual({ 'examine/M1': [0.4, { failedS: 3 }] });
    const r = rounds(simulate(p));
    expect(r.slice(0, 3)).toEqual([{ tookUs: 400_000, ok: true }, { tookUs: 3_000_000, ok: true }, { tookUs: own, ok: true }].map((x) => ({ manager: 'mgmt', ...x })));
    expect(pairedWithLive(pss, [lv(1, 'agent.start', 'mgmt')]).network.responsesS).toBeUndefined();
  });

  it('a crash during a round that failed live is seen at that round\'s end, as live saw it', () => {
    // Rounds wake at 11, 21.1, ..., 61.5 s; the sixth took 8.4 s live and failed: M1 crashed at 65 s, within it.
    const p = pairedWithLive(pss, liveRun([0.1, 0.1, 0.1, 0.1, 0.1, { failedS: 8.4 }]));
    const ev = simulate(p);
    expect(rounds(ev)[5]).toMatchObject({ tookUs: 8_400_000, ok: false });
    expect(detected(ev)).toBe(1_000_000 + 6 * 10_000_000 + 5 * 100_000 + 8_400_000);
    // Had it passed live in that time, the sim's round passes (M1 still up at its start) and the next round finds the crash.
    expect(detected(simulate(pairedWithLive(pss, liveRun([0.1, 0.1, 0.1, 0.1, 0.1, 8.4]))))).toBeGreaterThan(80_000_000);
  });

  it('the PSS\'s load samples and access counts take live\'s times: its examination period follows them', () => {
    const members = ['M1', 'M2', 'W1', 'W2', 'F1', 'F2'];
    const sampled = (firstS: number, secondS: number) => members.flatMap((vm) => [lv(4, 'pss.sampled', vm, { manager: 'mgmt', tookUs: firstS * 1e6, ok: true }), lv(8, 'pss.sampled', vm, { manager: 'mgmt', tookUs: secondS * 1e6, ok: true })]);
    const firstExam = (s: Scenario) => of(simulate(s), 'pss.examine', 'Mail')[0].t;
    const quick = pairedWithLive(pss, liveRun([], sampled(0.01, 0.01)));
    const slow = pairedWithLive(pss, liveRun([], sampled(1.5, 0.7)));
    expect(slow.network.responsesS!['sample/W2']).toEqual([1.5, 0.7]);
    // The VMs are sampled at once: a period is two gaps plus the two slowest samples.
    expect(firstExam(slow) - firstExam(quick)).toBe(1.5e6 + 0.7e6 - 2 * 0.01e6);
    const ev = simulate(slow);
    expect(of(ev, 'pss.sampled', 'W2').slice(0, 3).map((e) => e.data?.tookUs)).toEqual([1_500_000, 700_000, 500]);
    // The access counts (off moderate): the series of `pss.counted`.
    expect(pairedWithLive(pss, [lv(50, 'pss.counted', 'Ws', { manager: 'mgmt', tookUs: 250_000, ok: true })]).network.responsesS).toEqual({ 'accesses/Ws': [0.25] });
  });

  it('each VIP\'s sets and removals per holder take live\'s times, in order: the PSS\'s moves (and so its change) last what live\'s did', () => {
    const moves = (ev: TraceLine[]) => {
      const t0 = of(ev, 'pss.transition')[0].t;
      return ev.filter((e) => e.t >= t0 && (e.kind === 'vip.assign' || e.kind === 'vip.remove') && e.subject === 'VIP5').slice(0, 2).map((e) => `${e.kind} ${String(e.data?.holder)}`);
    };
    const done = (ev: TraceLine[]) => of(ev, 'pss.transition.done')[0].data!.durationS as number;
    const plain = simulate(pss);
    // moderate -> PS1 moves VIP5 off W2 onto the spare Ws: live took 0.6 s and 1.3 s for them.
    const p = pairedWithLive(pss, [lv(40, 'vip.remove', 'VIP5', { holder: 'W2', tookUs: 600_000, by: 'mgmt' }), lv(41.3, 'vip.assign', 'VIP5', { holder: 'Ws', tookUs: 1_300_000, by: 'mgmt' })]);
    expect(p.network.responsesS).toEqual({ 'vipRemove/VIP5/W2@mgmt': [0.6], 'vipSet/VIP5/Ws@mgmt': [1.3] });
    const ev = simulate(p);
    expect(moves(ev)).toEqual(['vip.remove W2', 'vip.assign Ws']);
    expect(moves(ev)).toEqual(moves(plain));
    const at = (e: TraceLine[], kind: string) => e.find((x) => x.kind === kind && x.subject === 'VIP5' && x.t >= of(e, 'pss.transition')[0].t)!.t;
    expect(at(ev, 'vip.assign') - at(ev, 'vip.remove')).toBe(1_300_000);
    // The change is longer by what the two took beyond the sim's own times.
    const own = (at(plain, 'vip.assign') - at(plain, 'vip.remove')) + (at(plain, 'vip.remove') - of(plain, 'store.write', 'pss/vip/VIP5').find((e) => e.t >= of(plain, 'pss.transition')[0].t)!.t);
    expect(done(ev) - done(plain)).toBeCloseTo(1.9 - own / 1e6, 5);
  });

  it('a guest\'s VIP serves once its gratuitous ARP is sent and is gone once `ip addr del` runs: paired, at live\'s instants (vip.effect); the calls still last live\'s times', () => {
    const remove = lv(40, 'vip.remove', 'VIP5', { holder: 'W2', tookUs: 600_000, by: 'mgmt' });
    const assign = lv(41.3, 'vip.assign', 'VIP5', { holder: 'Ws', tookUs: 1_300_000, by: 'mgmt' });
    // Live: the address left W2 0.2 s into its removal (39.6 s), Ws announced it 0.6 s into its set (40.6 s).
    const effects = [lv(39.6, 'vip.effect', 'VIP5', { holder: 'W2', op: 'remove', by: 'mgmt' }), lv(40.6, 'vip.effect', 'VIP5', { holder: 'Ws', op: 'add', by: 'mgmt' })];
    const whole = pairedWithLive(pss, [remove, assign]);
    const timed = pairedWithLive(pss, [effects[0], remove, effects[1], assign]);
    expect(timed.network.responsesS).toEqual({ 'vipRemove/VIP5/W2@mgmt': [0.6], 'vipSet/VIP5/Ws@mgmt': [1.3], 'vipGone/VIP5/W2@mgmt': [0.2], 'vipServed/VIP5/Ws@mgmt': [0.6] });
    // A set or removal without its effect counts whole; a holder that traced none gets no series.
    expect(vipEffects([effects[1], assign, lv(50, 'vip.assign', 'VIP5', { holder: 'Ws', tookUs: 400_000 }), lv(60, 'vip.remove', 'VIP5', { holder: 'W2', tookUs: 100_000 })])).toEqual({ 'vipServed/VIP5/Ws@mgmt': [0.6], 'vipServed/VIP5/Ws': [0.4] });
    const at = (e: TraceLine[], kind: string) => e.find((x) => x.kind === kind && x.subject === 'VIP5' && x.t >= of(e, 'pss.transition')[0].t)!.t;
    const done = (ev: TraceLine[]) => of(ev, 'pss.transition.done')[0].data!.durationS as number;
    const a = simulate(whole);
    const b = simulate(timed);
    // VIP5 unserved from 0.2 s into the removal until 0.6 s into the set: 0.4 + 0.6 s, not the set's 1.3 s.
    expect(at(a, 'vip.assign') - at(a, 'vip.remove')).toBe(1_300_000);
    expect(at(b, 'vip.assign') - at(b, 'vip.remove')).toBe(1_000_000);
    expect(at(b, 'vip.remove') - at(a, 'vip.remove')).toBe(-400_000);
    // The PSS waits for each call to return: its change is as long as before.
    expect(done(b)).toBe(done(a));
    // Unpaired, from calibrate's samples (guestVipServedS, guestVipGoneS), the same split.
    const gap = (extra: Record<string, unknown>) => {
      const ev = simulate(pssWith({ guestVipSetS: 1, guestVipRemoveS: 0.5, ...extra }));
      return { gap: at(ev, 'vip.assign') - at(ev, 'vip.remove'), done: done(ev) };
    };
    const split = gap({ guestVipServedS: 0.4, guestVipGoneS: 0.1 });
    expect(gap({}).gap).toBe(1_000_000);
    // Gone 0.4 s before the removal returns, served 0.4 s into the set.
    expect(split.gap).toBe(400_000 + 400_000);
    expect(split.done).toBe(gap({}).done);
  });

  it('the guests\' memory load changes when live wrote it (lab.load), guest by guest', () => {
    const load = (vm: string, t: number, memMb: number) => lv(t, 'lab.load', vm, { memMb });
    // M1 loaded at the start (kept at 0), light from 31.0 s, moderate again from 130.56 s; Ws
    // first measured at 49.8 s (its own use: no change of the scenario), moderate from 130.85 s;
    // W2 (on RS3, suspended in PS2) moderate only from 133.47 s, once its server was back.
    const p = pairedWithLive(pss, [load('M1', 2.35, 53), load('M1', 31.0, 29), load('Ws', 49.8, 29), load('M1', 130.56, 53), load('Ws', 130.85, 53), load('W2', 2.1, 53), load('W2', 31.3, 29), load('W2', 133.47, 53)]);
    const windows = (vm: string) => p.vmLoad!.filter((l) => l.vm === vm && l.memMb > 0).map((l) => [l.start, l.end ?? null, l.memMb]);
    expect(windows('M1')).toEqual([[0, null, 29], [0, 31_000_000, 24], [130_560_000, null, 24]]);
    expect(windows('Ws')).toEqual([[0, null, 29], [130_850_000, null, 24]]);
    expect(windows('W2')).toEqual([[0, null, 29], [0, 31_300_000, 24], [133_470_000, null, 24]]);
    // A guest live never wrote keeps the scenario's times; the client's accesses stay as written.
    expect(windows('F1')).toEqual([[0, null, 29], [0, 30_000_000, 24], [130_000_000, null, 24]]);
    expect(p.vmLoad!.filter((l) => l.accessesPerS > 0)).toEqual(pss.vmLoad!.filter((l) => l.accessesPerS > 0));
    // Every member light only from 33 s live: the sim's PSS reads no group light before then.
    const firstLight = (s: Scenario) => of(simulate(s), 'pss.examine').find((e) => e.data?.cls === 'light')!.t;
    expect(firstLight(pss)).toBeLessThan(33_000_000);
    const late = pairedWithLive(pss, ['M1', 'M2', 'W1', 'W2', 'F1', 'F2'].flatMap((vm) => [load(vm, 2, 53), load(vm, 33, 29)]));
    expect(firstLight(late)).toBeGreaterThanOrEqual(33_000_000);
  });
});
