// The checkers added for pss, msbs, navigator and lbcluster (trace/checkers.ts), each shown to
// fire on a small trace that breaks it and to stay quiet on one that does not: S4 (VMs within a
// host's memory), S5 (one VRRP master among directors in touch; no new connection to a real
// server failed for longer than its checker's detection), S3 on the PSS operation file, and L1
// for the VIP goals with the navigator's "no pilot left" exemption.
import { describe, expect, it } from 'vitest';
import { checkModel, checkTrace, type ScenarioLike } from '../trace/checkers.ts';
import type { TraceEvent } from '../trace/event.ts';

const S = 1_000_000;
const ev = (t: number, kind: string, subject: string, data: Record<string, unknown> = {}): TraceEvent => ({ t, kind, subject, data });
const keys = (events: TraceEvent[], s: ScenarioLike, until: number) => checkTrace(events, checkModel(s, until)).violations.map((v) => [v.key, v.subject]);

describe('S4: the VMs a host runs fit in the memory it leaves to VMs', () => {
  const s: ScenarioLike = { hosts: [{ name: 'h1', memMb: 4096, memUsedMb: 1024 }], vms: [{ name: 'a', memMb: 2048 }, { name: 'b', memMb: 2048 }] };
  const start = [ev(0, 'host.state', 'h1', { state: 'on' }), ev(0, 'vm.state', 'a', { state: 'running', host: 'h1' })];
  it('fires when a second VM resumes on a host with room for one', () => {
    expect(keys([...start, ev(5 * S, 'vm.state', 'b', { state: 'resuming', host: 'h1' })], s, 10 * S)).toEqual([['S4', 'h1']]);
  });
  it('is quiet when the first one went away before', () => {
    expect(keys([...start, ev(4 * S, 'vm.state', 'a', { state: 'crashed', host: 'h1' }), ev(5 * S, 'vm.state', 'b', { state: 'resuming', host: 'h1' })], s, 10 * S)).toEqual([]);
  });
});

describe('S5 and L1 of lbcluster', () => {
  const s: ScenarioLike = {
    hosts: [{ name: 'd1', services: [{ name: 'keepalived' }] }, { name: 'd2', services: [{ name: 'keepalived' }] }, { name: 'ap1', services: [{ name: 'plm' }] }, { name: 'ap2', services: [{ name: 'plm' }] }],
    vips: [{ name: 'vip', service: 'plm', pool: 'vip' }],
    clients: [{ name: 'c', vip: 'vip' }],
    policies: [{
      kind: 'lbcluster', instance: 'VI_1', vip: 'vip', directors: [{ host: 'd1', priority: 150 }, { host: 'd2', priority: 100 }], advertInt: 1,
      realServers: [{ host: 'ap1' }, { host: 'ap2' }], service: 'plm', checker: { delayLoop: 3, connectTimeout: 1, retry: 1, delayBeforeRetry: 1 },
    }],
  };
  const master = (t: number, router: string) => ev(t, 'vrrp.state', 'VI_1', { router, from: 'backup', to: 'master' });
  const start = [...['d1', 'd2', 'ap1', 'ap2'].map((h) => ev(0, 'host.state', h, { state: 'on' })), master(0, 'd1'), ev(0, 'vip.assign', 'vip', { holder: 'd1' })];

  it('two masters that hear each other past the convergence bound: S5 (not S1: the VIP is the master\'s)', () => {
    const r = keys([...start, master(1 * S, 'd2'), ev(1 * S, 'vip.assign', 'vip', { holder: 'd2' })], s, 20 * S);
    expect(r).toEqual([['S5', 'VI_1']]);
  });

  it('two masters split by a partition are not a violation; nor a second master that steps down in time', () => {
    const cut = ev(1 * S, 'net.partition', 'd1', { a: ['d1'], b: ['d2'], oneWay: false });
    expect(keys([...start, cut, master(2 * S, 'd2')], s, 20 * S)).toEqual([]);
    const back = ev(3 * S, 'vrrp.state', 'VI_1', { router: 'd2', from: 'master', to: 'backup' });
    expect(keys([...start, master(1 * S, 'd2'), back], s, 20 * S)).toEqual([]);
  });

  it('a new connection to a real server down longer than its checker needs: S5; one within the bound: none', () => {
    const stop = ev(1 * S, 'service.state', 'ap1/plm', { state: 'stopped' });
    const access = (t: number) => ev(t, 'client.access', 'c', { vip: 'vip', ok: false, log: 'XX', by: 'ap1' });
    // detection bound: delay_loop 3 + 2 x connect 1 + 1 x delay_before_retry 1 (+ commands): about 6.2 s
    expect(keys([...start, stop, access(4 * S)], s, 20 * S)).toEqual([]);
    expect(keys([...start, stop, access(9 * S)], s, 20 * S)).toEqual([['S5', 'ap1']]);
  });

  it('L1: the last access failed at the end although a director and a real server are alive', () => {
    const ok = ev(2 * S, 'client.access', 'c', { vip: 'vip', ok: true, log: 'OK', by: 'ap2' });
    const bad = ev(3 * S, 'client.access', 'c', { vip: 'vip', ok: false, log: 'XX' });
    expect(keys([...start, ok], s, 200 * S)).toEqual([]);
    expect(keys([...start, ok, bad], s, 200 * S)).toEqual([['L1', 'vip']]);
  });
});

describe('S3 and L1 of the PSS', () => {
  const s: ScenarioLike = {
    hosts: [{ name: 'mgmt' }, { name: 'RS1' }, { name: 'RS2' }],
    vms: [{ name: 'M1', services: [{ name: 'postfix' }] }, { name: 'M2', services: [{ name: 'postfix' }] }, { name: 'Ms', services: [{ name: 'postfix' }] }],
    vips: [{ name: 'VIP1', service: 'postfix', holder: 'M1' }, { name: 'VIP2', service: 'postfix', holder: 'M2' }],
    policies: [{ kind: 'pss', manager: 'mgmt', interval: 2, lightCount: 2, accessWindow: 4, ps1Base: ['RS1', 'RS2'], groups: [{ name: 'Mail', spare: 'Ms', members: [{ vm: 'M1', host: 'RS1', vip: 'VIP1' }, { vm: 'M2', host: 'RS2', vip: 'VIP2' }] }] }],
  };
  const row = (vip: string, host: string) => ({ group: 'Mail', realServer: '', vip, host });
  const start = [
    ...['mgmt', 'RS1', 'RS2'].map((h) => ev(0, 'host.state', h, { state: 'on' })),
    ev(0, 'vm.state', 'M1', { state: 'running', host: 'RS1' }), ev(0, 'vm.state', 'M2', { state: 'running', host: 'RS2' }),
    ev(0, 'vip.assign', 'VIP1', { holder: 'M1' }), ev(0, 'vip.assign', 'VIP2', { holder: 'M2' }),
  ];
  const op = (t: number, rows: unknown[]) => ev(t, 'store.write', 'pss/operation', { version: 1, value: rows });

  it('a VIP twice in one write of the operation file: S3', () => {
    expect(keys([...start, op(1 * S, [row('VIP1', 'M1'), row('VIP2', 'M2'), row('VIP2', 'Ms')])], s, 5 * S)).toEqual([['S3', 'pss/operation']]);
  });

  it('at the end: each VIP once in the file, on the VM that answers for it, and served', () => {
    expect(keys([...start, op(1 * S, [row('VIP1', 'M1'), row('VIP2', 'M2')])], s, 300 * S)).toEqual([]);
    expect(keys([...start, op(1 * S, [row('VIP1', 'M1'), row('VIP2', 'Ms')])], s, 300 * S)).toEqual([['S3', 'VIP2']]);
    expect(keys([...start, op(1 * S, [row('VIP1', 'M1'), row('VIP2', 'M2')]), ev(2 * S, 'vip.remove', 'VIP2', { holder: 'M2' })], s, 300 * S)).toEqual([['L1', 'VIP2']]);
  });
});

describe('L1 of navigator: required while a pilot survives', () => {
  const s: ScenarioLike = {
    hosts: [{ name: 'pc1' }, { name: 'pc2' }, { name: 'pc3' }],
    vms: [{ name: 'nav-a', services: [{ name: 'mon' }] }, { name: 'nav-b', services: [{ name: 'mon' }] }],
    vips: [{ name: 'vip', service: 'mon' }],
    faults: [{ kind: 'host-fail', target: 'pc1' }],
    policies: [{ kind: 'navigator', start: 'pc1', containers: ['nav-a', 'nav-b'], service: 'mon', vip: 'vip', imageBytes: 1e6, primaryCheck: 2, secondaryCheck: 4, pingTimeout: 1 }],
  };
  const start = [
    ...['pc1', 'pc2', 'pc3'].map((h) => ev(0, 'host.state', h, { state: 'on' })),
    ev(1 * S, 'vm.state', 'nav-a', { state: 'running', host: 'pc1' }), ev(1 * S, 'navigator.track', 'pc1', { role: 'primary', host: 'pc1', vm: 'nav-a' }),
    ev(1 * S, 'vip.assign', 'vip', { holder: 'nav-a' }),
    ev(2 * S, 'vm.state', 'nav-b', { state: 'running', host: 'pc2' }), ev(2 * S, 'navigator.track', 'pc2', { role: 'secondary', host: 'pc2', vm: 'nav-b' }),
  ];
  const fail = (t: number, h: string, vm: string) => [ev(t, 'fault', h, { fault: 'host-fail' }), ev(t, 'host.state', h, { state: 'failed' }), ev(t, 'vm.state', vm, { state: 'crashed', host: h }), ev(t, 'vip.remove', 'vip', { holder: vm })];

  it('the primary\'s PC fails and the secondary never takes over: L1', () => {
    expect(keys([...start, ...fail(10 * S, 'pc1', 'nav-a')], s, 400 * S)).toEqual([['L1', 'vip']]);
  });

  it('both containers lost at once (no pilot left): not judged', () => {
    expect(keys([...start, ...fail(10 * S, 'pc1', 'nav-a'), ...fail(10 * S, 'pc2', 'nav-b')], s, 400 * S)).toEqual([]);
  });
});

describe('the host-power baselines (dpm, ovirt): S4 standby, L1 and L2', () => {
  const s: ScenarioLike = {
    hosts: [{ name: 'mgmt' }, { name: 'RS1' }, { name: 'RS2' }],
    vms: [{ name: 'M1', services: [{ name: 'smtp' }] }, { name: 'M2', services: [{ name: 'smtp' }] }],
    vips: [{ name: 'VIP1', service: 'smtp', holder: 'M1' }, { name: 'VIP2', service: 'smtp', holder: 'M2' }],
    clients: [{ name: 'c1', vip: 'VIP1' }, { name: 'c2', vip: 'VIP2' }],
    policies: [{ kind: 'ovirt', manager: 'mgmt', hosts: ['RS1', 'RS2'], vms: [{ vm: 'M1', vip: 'VIP1' }, { vm: 'M2', vip: 'VIP2' }], interval: 5, duration: 10 }],
  };
  const start = [
    ...['mgmt', 'RS1', 'RS2'].map((h) => ev(0, 'host.state', h, { state: 'on' })),
    ev(0, 'vm.state', 'M1', { state: 'running', host: 'RS1' }), ev(0, 'vm.state', 'M2', { state: 'running', host: 'RS2' }),
    ev(0, 'vip.assign', 'VIP1', { holder: 'M1' }), ev(0, 'vip.assign', 'VIP2', { holder: 'M2' }),
  ];
  const late = 600 * S;
  it('a host put in standby with a VM still running on it: S4, and the frozen VM is L1 and L2 at the end', () => {
    expect(keys([...start, ev(10 * S, 'host.state', 'RS2', { state: 'suspended' })], s, late)).toEqual([['S4', 'RS2'], ['L1', 'VIP2'], ['L2', 'M2']]);
  });
  it('quiet when the VM moved off first', () => {
    const moved = [ev(8 * S, 'vm.state', 'M2', { state: 'running', host: 'RS1' }), ev(10 * S, 'host.state', 'RS2', { state: 'suspended' })];
    expect(keys([...start, ...moved], s, late)).toEqual([]);
  });
  it('liveness waits for its grace bound, and is skipped when the manager is gone for good', () => {
    const crash = ev(10 * S, 'vm.state', 'M2', { state: 'crashed', host: 'RS2' });
    expect(checkTrace([...start, crash], checkModel(s, 20 * S)).livenessChecked).toBe(false);
    expect(keys([...start, crash], s, late)).toEqual([['L1', 'VIP2'], ['L2', 'M2']]);
    expect(keys([...start, crash, ev(11 * S, 'host.state', 'mgmt', { state: 'failed' })], s, late)).toEqual([]);
  });
});
