// The world additions kitamura-2019 needs: each only when a scenario asks for it.
import { describe, expect, it } from 'vitest';
import { buildSimulation, parseScenario } from '../run/sim.ts';
import type { Simulation } from '../adapters/sim/simulation.ts';

const YAML = `
name: pss-world
until: 200s
lbMonitorPerS: 2
hosts:
  - { name: mgmt }
  - { name: RS1, mac: "00:00:00:00:00:01", suspendS: 2.47, resumeS: 8.53, bootS: 47.39 }
  - { name: RS2, mac: "00:00:00:00:00:02" }
  - { name: RS3 }
vms:
  - { name: A, host: RS1, state: running, services: [{ name: httpd }], cores: 2, memMb: 2048 }
  - { name: B, state: defined, services: [{ name: httpd }], startS: 25.14, startCachedS: 11.34 }
  - { name: C, state: defined, startS: 25.14, startCachedS: 11.34 }
  - { name: D, host: RS2, state: running, migrateS: 7 }
vips:
  - { name: V, service: httpd, holder: A }
vmLoad:
  - { vm: A, start: 0s, end: 100s, memMb: 512, cpuPct: 50, netBytesPerS: 1000000, accessesPerS: 3 }
`;

function sim(): Simulation {
  return buildSimulation(parseScenario(YAML), { seed: 1 });
}

describe('world additions for kitamura-2019', () => {
  it('samples the load inside a VM and counts its accesses (clients + monitoring program)', () => {
    const s = sim();
    s.run(0);
    s.run(50_000_000);
    expect(s.world.load('A')).toMatchObject({ memTotalKb: 2048 * 1024, memFreeKb: 1536 * 1024, cpuIdlePct: 150, cores: 2, netBytesPerS: 1e6 });
    expect(s.world.accesses('A', 10_000_000)).toBe(30 + 20);
    expect(s.world.accesses('D', 10_000_000)).toBe(0);
  });
  it('a suspended host keeps its running guests; they answer again on resume', () => {
    const s = sim();
    s.run(0);
    void s.world.suspendHost('RS1');
    s.run(3_000_000);
    expect(s.world.host('RS1').state).toBe('suspended');
    expect(s.world.vm('A').state).toBe('running');
    expect(s.world.nodeUp('A')).toBe(false);
    void s.world.resumeHost('RS1');
    s.run(12_000_000);
    expect(s.world.nodeUp('A')).toBe(true);
    expect(s.world.vipAnswerer('V')).toBe('A');
  });
  it('the first VM start on a host since its boot is slow, the next quick (disk cache)', () => {
    const s = sim();
    s.run(0);
    let t1 = 0;
    let t2 = 0;
    s.world.startVm('B', 'RS3').then(() => {
      t1 = s.kernel.nowUs();
      s.world.startVm('C', 'RS3').then(() => (t2 = s.kernel.nowUs()));
    });
    s.run(100_000_000);
    expect(t1).toBe(25_140_000);
    expect(t2 - t1).toBe(11_340_000);
  });
  it('a host that runs VMs at the start is warm; a reboot makes it cold', () => {
    const s = sim();
    s.run(0);
    let t = 0;
    s.world.startVm('B', 'RS1').then(() => (t = s.kernel.nowUs()));
    s.run(20_000_000);
    expect(t).toBe(11_340_000);
    // RS1 restarts (60 s by default): its cache is cold again.
    void s.world.restartHost('RS1');
    s.run(81_000_000);
    let t3 = 0;
    s.world.startVm('C', 'RS1').then(() => (t3 = s.kernel.nowUs()));
    s.run(120_000_000);
    expect(t3 - 81_000_000).toBe(25_140_000);
  });
  it('live migration keeps the VM running and moves it when done', () => {
    const s = sim();
    s.run(0);
    let done = 0;
    s.world.migrateVm('D', 'RS1').then(() => (done = s.kernel.nowUs()));
    s.run(5_000_000);
    expect(s.world.vm('D')).toMatchObject({ state: 'running', host: 'RS2' });
    s.run(10_000_000);
    expect(done).toBe(7_000_000);
    expect(s.world.vm('D')).toMatchObject({ state: 'running', host: 'RS1' });
  });
});

describe('vm-reboot, a guest reboot (kitamura-2019 Table 5, "restart of M1")', () => {
  it('takes the VM down with its run-time VIPs, and brings it back after its restartS with its daemons', () => {
    const s = buildSimulation(parseScenario(`${YAML}faults:\n  - { kind: vm-reboot, target: A, at: 10s }\n  - { kind: vm-reboot, target: C, at: 10s }\n`.replace('- { name: A, host: RS1, state: running,', '- { name: A, host: RS1, state: running, restartS: 5,')), { seed: 1 });
    s.run(10_000_000);
    expect(s.world.vm('A').state).toBe('starting');
    expect(s.world.nodeUp('A')).toBe(false);
    expect(s.world.vipAnswerer('V')).toBeNull();
    expect(s.world.vm('C').state).toBe('defined'); // not running: left alone
    s.run(14_999_999);
    expect(s.world.vm('A').state).toBe('starting');
    s.run(15_000_000);
    expect(s.world.vm('A')).toMatchObject({ state: 'running', host: 'RS1' });
    expect(s.world.serviceState('A', 'httpd')).toBe('up');
    expect(s.world.vipAnswerer('V')).toBeNull(); // set at run time: gone with the reboot
  });

  it('msbs-table5 restart-M1: the backup serves, the DBSS waits for the boot instead of restarting M1, and hands VIP1 back', async () => {
    const { join } = await import('node:path');
    const { readScenario } = await import('../run/sim.ts');
    const { TABLE5_TROUBLES } = await import('../experiments/pss/table5.ts');
    const K = await import('../experiments/params/kitamura2019.ts');
    const t = TABLE5_TROUBLES.find((x) => x.id === 'restart-M1')!;
    const base = readScenario(join(import.meta.dirname, '..', 'experiments', 'scenarios', 'pss-msbs.yaml'));
    const at = 65_000_000;
    const s = buildSimulation({ ...t.scenario!(base), faults: [t.fault(at)] }, { seed: 1 });
    s.run();
    const ev = s.events;
    const first = (kind: string, subject: string, pred: (d: Record<string, unknown>) => boolean = () => true) => ev.find((e) => e.kind === kind && e.subject === subject && e.t >= at && pred(e.data ?? {}));
    const up = first('vm.state', 'M1', (d) => d.state === 'running')!;
    expect((up.t - at) / 1e6).toBeCloseTo(K.virtualServer.restartS, 6);
    expect(first('function.recovered', 'M1')!.t).toBeLessThan(up.t);
    expect(first('msbs.background', 'M1', (d) => d.step === 'wait for boot')).toBeDefined();
    expect(first('msbs.background', 'M1', (d) => d.step === 'restart')).toBeUndefined();
    expect(ev.filter((e) => e.kind === 'msbs.error' && e.t >= at)).toEqual([]);
    const back = first('vip.assign', 'VIP1', (d) => d.holder === 'M1')!;
    expect(back.t).toBeGreaterThan(up.t);
    expect(first('target.recovered', 'M1')!.t).toBeGreaterThanOrEqual(back.t);
  });
});
