// The sim world model, unit by unit: power transitions, VM operation times and contention,
// service faults and restarts, partitions, the clients' access log, the VIP answerer, energy.
// Each test builds a tiny scenario, drives the world from kernel events and reads the trace.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fcParams } from './helpers/fc-params.ts';
import YAML from 'yaml';
import { parseScenario } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';
import { WorldError } from '../sim/world/world.ts';
import { energyWh } from '../trace/metrics.ts';
import type { TraceEvent } from '../engine/ports/trace.ts';

const S = 1_000_000;

function build(obj: Record<string, unknown>, seed = 1): Simulation {
  const sim = new Simulation(parseScenario(YAML.stringify(obj), '<world test>'), { seed });
  sim.start();
  return sim;
}

/** Runs `fn` in a kernel event at `s` seconds. */
const at = (sim: Simulation, s: number, fn: () => void) => sim.kernel.at(Math.round(s * S), fn);

/** [time in s, data.state] of one subject's events of one kind. */
const statesOf = (sim: Simulation, kind: string, subject: string) =>
  sim.events.filter((e) => e.kind === kind && e.subject === subject).map((e) => [e.t / S, e.data?.state]);

const accessLog = (events: TraceEvent[]) => events.filter((e) => e.kind === 'client.access').map((e) => [e.t / S, e.data?.log]);

describe('world: host power', () => {
  it('a power operation cut short by a fault fails its caller (it used to wait for ever)', () => {
    const sim = build({ hosts: [{ name: 'h1', suspendS: 2, restartS: 3 }, { name: 'h2', suspendS: 2 }] });
    const outcome: Record<string, string> = {};
    const watch = (name: string, f: { then: (ok: () => void, err: (e: unknown) => void) => unknown }) =>
      f.then(() => { outcome[name] = 'done'; }, (e) => { outcome[name] = e instanceof WorldError ? e.message : 'other'; });
    at(sim, 1, () => watch('h1', sim.world.suspendHost('h1')));
    at(sim, 2, () => sim.world.shutdownHost('h1'));
    at(sim, 1, () => watch('h2', sim.world.suspendHost('h2')));
    sim.run();
    expect(outcome).toEqual({ h1: 'host h1 went off during a power operation', h2: 'done' });
    expect(statesOf(sim, 'host.state', 'h1').slice(1)).toEqual([[2, 'off']]);
  });

  it('Wake-on-LAN boots an off host after its boot time; other hosts and MACs ignore the packet', () => {
    const sim = build({
      hosts: [
        { name: 'h1', state: 'off', mac: '02:00:00:00:00:01', bootS: 30 },
        { name: 'h2', mac: '02:00:00:00:00:02' },
      ],
    });
    at(sim, 10, () => sim.world.wake('02:00:00:00:00:01'));
    at(sim, 15, () => sim.world.wake('02:00:00:00:00:01')); // already booting: ignored
    at(sim, 20, () => sim.world.wake('02:00:00:00:00:02')); // on: ignored
    at(sim, 25, () => sim.world.wake('02:00:00:00:00:99'));
    sim.run();
    expect(sim.events.filter((e) => e.kind === 'host.state' && e.subject === 'h1').map((e) => [e.t / S, e.data])).toEqual([
      [0, { state: 'off', watts: 1 }],
      [10, { state: 'booting', watts: 60 }],
      [40, { state: 'on', watts: 45 }],
    ]);
    expect(statesOf(sim, 'host.state', 'h2')).toEqual([[0, 'on']]);
    const wol = sim.events.filter((e) => e.kind === 'power.wol').map((e) => [e.t / S, e.subject, e.data]);
    expect(wol).toEqual([
      [10, 'h1', { mac: '02:00:00:00:00:01' }],
      [15, 'h1', { mac: '02:00:00:00:00:01' }],
      [20, 'h2', { mac: '02:00:00:00:00:02' }],
      [25, '02:00:00:00:00:99', { matched: false }],
    ]);
  });

  it('matches MAC addresses case-insensitively', () => {
    const sim = build({ hosts: [{ name: 'h1', state: 'off', mac: '02:AB:00:00:00:01', bootS: 5 }] });
    at(sim, 1, () => sim.world.wake('02:ab:00:00:00:01'));
    sim.run();
    expect(statesOf(sim, 'host.state', 'h1')).toEqual([[0, 'off'], [1, 'booting'], [6, 'on']]);
  });

  it('Nt1 restarts a host: restarting for restartS, then on with its daemons started afresh (a frozen one too)', () => {
    const sim = build({
      hosts: [{ name: 'h1', restartS: 20, services: [{ name: 'httpd' }, { name: 'sshd' }] }],
      faults: [
        { kind: 'St2', target: 'h1', service: 'httpd', at: '5s' },
        { kind: 'St1', target: 'h1', service: 'sshd', at: '6s' },
        { kind: 'Nt1', target: 'h1', at: '10s' },
      ],
    });
    sim.run();
    expect(sim.events.filter((e) => e.kind === 'host.state').map((e) => [e.t / S, e.data])).toEqual([
      [0, { state: 'on', watts: 45 }],
      [10, { state: 'restarting', watts: 60 }],
      [30, { state: 'on', watts: 45 }],
    ]);
    expect(statesOf(sim, 'service.state', 'h1/httpd')).toEqual([[5, 'frozen'], [30, 'up']]);
    expect(statesOf(sim, 'service.state', 'h1/sshd')).toEqual([[6, 'stopped'], [30, 'up']]);
  });

  it('Nt2 turns a host off and crashes the VMs running on it; suspended images stay suspended', () => {
    const sim = build({
      hosts: [{ name: 'h1' }, { name: 'h2' }],
      vms: [
        { name: 'v1', host: 'h1', state: 'running' },
        { name: 'v2', host: 'h1', state: 'suspended' },
        { name: 'v3', host: 'h2', state: 'running' },
      ],
      faults: [{ kind: 'Nt2', target: 'h1', at: '10s' }],
    });
    sim.run();
    expect(sim.events.filter((e) => e.kind === 'host.state' && e.subject === 'h1').map((e) => [e.t / S, e.data])).toEqual([
      [0, { state: 'on', watts: 45 }],
      [10, { state: 'off', watts: 1 }],
    ]);
    expect(statesOf(sim, 'vm.state', 'v1')).toEqual([[0, 'running'], [10, 'crashed']]);
    expect(statesOf(sim, 'vm.state', 'v2')).toEqual([[0, 'suspended']]);
    expect(statesOf(sim, 'vm.state', 'v3')).toEqual([[0, 'running']]);
    expect(sim.world.nodeUp('v1')).toBe(false);
    expect(sim.world.nodeUp('v3')).toBe(true);
  });

  it('a VM operation in flight fails when its host goes down', () => {
    const sim = build({ hosts: [{ name: 'h1' }], vms: [{ name: 'v1', resumeS: 10 }] });
    const outcome: string[] = [];
    at(sim, 1, () => sim.world.resumeVm('v1', 'h1').then(() => outcome.push('resumed'), (e) => outcome.push(`${sim.kernel.nowUs() / S}: ${(e as Error).message}`)));
    at(sim, 5, () => sim.world.shutdownHost('h1'));
    sim.run();
    expect(outcome).toEqual(['5: resume of v1 failed: host h1 went off']);
    expect(statesOf(sim, 'vm.state', 'v1')).toEqual([[0, 'suspended'], [1, 'resuming'], [5, 'crashed']]);
  });
});

describe('world: VM operation times and contention (processor sharing)', () => {
  // A VM operation's drawn base time B splits into image I/O on its file server (B * ioFraction)
  // then CPU work on its host. Operations reading one file server share its bandwidth equally
  // (less the client traffic on the host's link); CPU work gets cores / runnable threads of a
  // core when the host is overloaded. Rates change whenever an operation starts or ends.

  /** Resumes each [vm, host, start s]; returns the seconds each took. */
  function resumeTimes(world: Record<string, unknown>, plan: Array<[string, string, number]>): Record<string, number> {
    const sim = build({
      hosts: [{ name: 'h1' }, { name: 'h2' }],
      vms: [
        { name: 'v1', resumeS: 4, cpuPct: 0 },
        { name: 'v2', resumeS: { kind: 'constant', value: 4 }, cpuPct: 0 },
        { name: 'v3', resumeS: 4, cpuPct: 0, fileServer: 'file2' },
      ],
      ...world,
    });
    const took: Record<string, number> = {};
    for (const [vm, host, t] of plan) at(sim, t, () => void sim.world.resumeVm(vm, host).then(() => (took[vm] = sim.kernel.nowUs() / S - t)));
    sim.run();
    return took;
  }

  it('a resume with a constant time takes exactly that time, alone', () => {
    expect(resumeTimes({}, [['v1', 'h1', 10]])).toEqual({ v1: 4 });
    expect(resumeTimes({ contention: { ioFraction: 0.5 } }, [['v1', 'h1', 10]])).toEqual({ v1: 4 });
  });

  it('by default (no image I/O share, 4 idle cores) overlapping resumes do not slow each other', () => {
    expect(resumeTimes({}, [['v1', 'h1', 10], ['v2', 'h1', 10]])).toEqual({ v1: 4, v2: 4 });
  });

  it('two resumes reading one file server share it: 2 s of I/O each at half rate, then 2 s of CPU', () => {
    const io = { contention: { ioFraction: 0.5 } };
    // on one host, and across hosts: the file server is the shared resource
    expect(resumeTimes(io, [['v1', 'h1', 10], ['v2', 'h1', 10]])).toEqual({ v1: 6, v2: 6 });
    expect(resumeTimes(io, [['v1', 'h1', 10], ['v2', 'h2', 10]])).toEqual({ v1: 6, v2: 6 });
    // different file servers: no sharing
    expect(resumeTimes(io, [['v1', 'h1', 10], ['v3', 'h1', 10]])).toEqual({ v1: 4, v3: 4 });
    // staggered by 1 s: v1 reads alone for 1 s, both at half rate until v1's I/O ends at 13 s
    // (v1: 1 + 2 * 0.5 = 2 s), v2 has 1 s of I/O left at full rate (done 14 s), then 2 s of CPU
    expect(resumeTimes(io, [['v1', 'h1', 10], ['v2', 'h1', 11]])).toEqual({ v1: 5, v2: 5 });
  });

  it('CPU work shares an overloaded host: two resumes on a 1-core host take twice as long', () => {
    const oneCore = { hosts: [{ name: 'h1', cores: 1, cpuBusyPct: 0 }, { name: 'h2', cores: 1, cpuBusyPct: 0 }] };
    expect(resumeTimes(oneCore, [['v1', 'h1', 10]])).toEqual({ v1: 4 });
    expect(resumeTimes(oneCore, [['v1', 'h1', 10], ['v2', 'h1', 10]])).toEqual({ v1: 8, v2: 8 });
    expect(resumeTimes(oneCore, [['v1', 'h1', 10], ['v2', 'h2', 10]])).toEqual({ v1: 4, v2: 4 });
    // staggered: v1 alone 10-12 s (2 s done), shared until v1 ends at 16 s, then v2 alone (2 s)
    expect(resumeTimes(oneCore, [['v1', 'h1', 10], ['v2', 'h1', 12]])).toEqual({ v1: 6, v2: 6 });
  });

  it('client traffic on the host\'s link slows image I/O', () => {
    // half the link (1 Gbit/s = 125 MB/s) busy: I/O at half rate; all-I/O operation of 4 s -> 8 s
    const busyLink = { contention: { ioFraction: 1 }, hosts: [{ name: 'h1', netBytesPerS: 62_500_000 }, { name: 'h2' }] };
    expect(resumeTimes(busyLink, [['v1', 'h1', 10]])).toEqual({ v1: 8 });
  });

  it('a random resume time is drawn from its own stream: the same for a seed, varying across seeds', () => {
    const run = (seed: number) => {
      const sim = build({ hosts: [{ name: 'h1' }], vms: [{ name: 'v1', resumeS: { kind: 'uniform', min: 3, max: 6 } }] }, seed);
      let took = 0;
      at(sim, 0, () => void sim.world.resumeVm('v1', 'h1').then(() => (took = sim.kernel.nowUs())));
      sim.run();
      return took;
    };
    const draws = [1, 2, 3, 4, 5].map(run);
    for (const d of draws) {
      expect(d).toBeGreaterThanOrEqual(3 * S);
      expect(d).toBeLessThanOrEqual(6 * S);
    }
    expect(new Set(draws).size).toBeGreaterThan(1);
    expect(run(3)).toBe(draws[2]);
  });
});

describe('world: services (St1, St2)', () => {
  const svcHost = { hosts: [{ name: 'h1', restartS: 30, services: [{ name: 'httpd', restartS: 2 }] }, { name: 'm' }] };

  it('St1 stops a daemon; a daemon restart brings it back after its restart time', () => {
    const sim = build({ ...svcHost, faults: [{ kind: 'St1', target: 'h1', service: 'httpd', at: '10s' }] });
    at(sim, 20, () => void sim.world.restartService('h1', 'httpd'));
    sim.run();
    expect(statesOf(sim, 'service.state', 'h1/httpd')).toEqual([[10, 'stopped'], [22, 'up']]);
    expect(sim.events.filter((e) => e.kind === 'service.restart').map((e) => e.t / S)).toEqual([20]);
    expect(sim.world.serviceAnswer('m', 'h1', 'httpd')).toBe('ok');
  });

  it('St2 freezes a daemon: a daemon restart does not cure it, a server restart does', () => {
    const sim = build({ ...svcHost, faults: [{ kind: 'St2', target: 'h1', service: 'httpd', at: '10s' }] });
    const answers: string[] = [];
    at(sim, 11, () => answers.push(sim.world.serviceAnswer('m', 'h1', 'httpd')));
    at(sim, 20, () => void sim.world.restartService('h1', 'httpd'));
    at(sim, 25, () => answers.push(sim.world.serviceAnswer('m', 'h1', 'httpd')));
    at(sim, 30, () => void sim.world.restartHost('h1'));
    at(sim, 61, () => answers.push(sim.world.serviceAnswer('m', 'h1', 'httpd')));
    sim.run();
    expect(statesOf(sim, 'service.state', 'h1/httpd')).toEqual([[10, 'frozen'], [60, 'up']]);
    expect(answers).toEqual(['timeout', 'timeout', 'ok']);
  });

  it('a stopped daemon answers "refused"; restarting a daemon on a host that is down is refused', () => {
    const sim = build({ ...svcHost, faults: [{ kind: 'St1', target: 'h1', service: 'httpd', at: '1s' }, { kind: 'Nt2', target: 'h1', at: '5s' }] });
    const seen: string[] = [];
    at(sim, 2, () => seen.push(sim.world.serviceAnswer('m', 'h1', 'httpd')));
    at(sim, 6, () => sim.world.restartService('h1', 'httpd').then(() => seen.push('restarted'), (e) => seen.push((e as Error).message)));
    at(sim, 7, () => seen.push(sim.world.serviceAnswer('m', 'h1', 'httpd')));
    sim.run();
    expect(seen).toEqual(['refused', 'h1 is not up', 'unreachable']);
  });
});

describe('world: links and partitions', () => {
  const hosts = { hosts: [{ name: 'h1', services: [{ name: 'httpd' }] }, { name: 'h2' }, { name: 'h3' }], vms: [{ name: 'v1', host: 'h1', state: 'running' }] };

  it('a one-way partition blocks a -> b only; a probe needs both directions', () => {
    const sim = build(hosts);
    const w = sim.world;
    const heal = w.partition(['h1'], ['h2'], true);
    expect(w.reachable('h1', 'h2')).toBe(false);
    expect(w.reachable('h2', 'h1')).toBe(true);
    // request h2 -> h1 passes, the reply h1 -> h2 is dropped
    expect(w.serviceAnswer('h2', 'h1', 'httpd')).toBe('unreachable');
    // a VM is behind its host's link
    expect(w.reachable('v1', 'h2')).toBe(false);
    expect(w.reachable('h2', 'v1')).toBe(true);
    // third parties are unaffected
    expect(w.serviceAnswer('h3', 'h1', 'httpd')).toBe('ok');
    heal();
    expect(w.reachable('h1', 'h2')).toBe(true);
    expect(w.serviceAnswer('h2', 'h1', 'httpd')).toBe('ok');
  });

  it('a two-way partition blocks both directions; overlapping partitions heal independently', () => {
    const sim = build(hosts);
    const w = sim.world;
    const healA = w.partition(['h1'], ['h2', 'h3'], false);
    const healB = w.partition(['h2'], ['h1'], true);
    expect([w.reachable('h1', 'h2'), w.reachable('h2', 'h1'), w.reachable('h3', 'h1'), w.reachable('h2', 'h3')]).toEqual([false, false, false, true]);
    healA();
    expect([w.reachable('h1', 'h2'), w.reachable('h2', 'h1'), w.reachable('h3', 'h1')]).toEqual([true, false, true]);
    healB();
    expect(w.reachable('h2', 'h1')).toBe(true);
  });

  it('a partition fault with a duration heals itself and both ends are traced', () => {
    const sim = build({ ...hosts, faults: [{ kind: 'partition', a: ['h1'], b: ['h2'], oneWay: true, at: '10s', duration: '5s' }] });
    const seen: boolean[] = [];
    for (const t of [9, 10, 14.9, 15.1]) at(sim, t, () => seen.push(sim.world.reachable('h1', 'h2')));
    sim.run();
    expect(seen).toEqual([true, false, false, true]);
    expect(sim.events.filter((e) => e.kind.startsWith('net.')).map((e) => [e.t / S, e.kind, e.data])).toEqual([
      [10, 'net.partition', { a: ['h1'], b: ['h2'], oneWay: true }],
      [15, 'net.heal', { a: ['h1'], b: ['h2'], oneWay: true }],
    ]);
  });

  it('link-down cuts a host (and its VMs) off until the link is back', () => {
    const sim = build({ ...hosts, faults: [{ kind: 'link-down', target: 'h1', at: '10s', duration: '5s' }] });
    const seen: boolean[] = [];
    for (const t of [10, 12, 15.1]) at(sim, t, () => seen.push(sim.world.nodeUp('h1') || sim.world.nodeUp('v1')));
    sim.run();
    expect(seen).toEqual([false, false, true]);
    expect(statesOf(sim, 'host.state', 'h1')).toEqual([[0, 'on']]);
    expect(sim.events.filter((e) => e.kind === 'link.state').map((e) => [e.t / S, e.data?.up])).toEqual([[10, false], [15, true]]);
  });

  it('pause freezes a host (no answers) and resumes it as it was', () => {
    const sim = build({ ...hosts, faults: [{ kind: 'pause', target: 'h1', at: '10s', duration: '5s' }] });
    sim.run();
    expect(statesOf(sim, 'host.state', 'h1')).toEqual([[0, 'on'], [10, 'paused'], [15, 'on']]);
    // a paused host keeps its VMs (they are not crashed)
    expect(statesOf(sim, 'vm.state', 'v1')).toEqual([[0, 'running']]);
  });
});

describe('world: subscriptions', () => {
  it('a call back subscribed twice to a subject hears it once per change until both subscriptions are undone', () => {
    const sim = build({ hosts: [{ name: 'h1' }, { name: 'h2' }] });
    const w = sim.world;
    let heard = 0;
    const cb = () => void heard++;
    const offA = w.subscribe('net', cb);
    const offB = w.subscribe('net', cb);
    w.partition(['h1'], ['h2'], true)();
    const once = heard;
    expect(once).toBeGreaterThan(0);
    // Undoing one subscription (twice: the second does nothing) keeps the other.
    offA();
    offA();
    w.partition(['h1'], ['h2'], true)();
    expect(heard).toBe(2 * once);
    offB();
    w.partition(['h1'], ['h2'], true)();
    expect(heard).toBe(2 * once);
  });
});

describe('world: the clients\' access log', () => {
  const web = {
    hosts: [{ name: 'h1', services: [{ name: 'httpd', restartS: 2 }] }, { name: 'h2' }],
    vips: [{ name: 'vip', service: 'httpd', holder: 'h1' }],
    clients: [{ name: 'c1', vip: 'vip' }],
  };

  it('logs OK at the start, then only changes, each at the first whole second that sees it', () => {
    const sim = build({
      ...web,
      until: '60s',
      faults: [
        { kind: 'St1', target: 'h1', service: 'httpd', at: '10.5s' },
        { kind: 'St2', target: 'h1', service: 'httpd', at: '30s' }, // exactly on the grid
        { kind: 'link-down', target: 'h1', at: '45200ms', duration: '500ms' }, // between two accesses
      ],
    });
    at(sim, 20, () => void sim.world.restartService('h1', 'httpd')); // up at 22 s
    sim.run();
    expect(accessLog(sim.events)).toEqual([[0, 'OK'], [11, 'XX'], [22, 'OK'], [30, 'XX']]);
    expect(sim.events.find((e) => e.kind === 'client.access')?.data).toEqual({ vip: 'vip', ok: true, log: 'OK' });
  });

  it('costs events per change, not per second (a quiet day is a handful of events)', () => {
    const sim = build({ ...web, until: '1d' });
    sim.run();
    expect(accessLog(sim.events)).toEqual([[0, 'OK']]);
    expect(sim.kernel.eventCount).toBeLessThan(10);
  });

  it('follows the VIP: moving it to a live node with the service restores access', () => {
    const sim = build({
      ...web,
      hosts: [{ name: 'h1', services: [{ name: 'httpd' }] }, { name: 'h2', services: [{ name: 'httpd' }] }],
      faults: [{ kind: 'Nt2', target: 'h1', at: '5s' }],
    });
    at(sim, 7.3, () => sim.world.assignVip('vip', 'h2'));
    sim.run();
    expect(accessLog(sim.events)).toEqual([[0, 'OK'], [5, 'XX'], [8, 'OK']]);
  });

  // (Both directions of a client partition count: an access is a request and a reply.)
  it('a partition that names a client cuts that client off', () => {
    const sim = build({ ...web, faults: [{ kind: 'partition', a: ['c1'], b: ['h1'], at: '10s', duration: '10s' }] });
    sim.run();
    expect(accessLog(sim.events)).toEqual([[0, 'OK'], [10, 'XX'], [20, 'OK']]);
  });

  it('an access needs the reply too: a one-way partition from the VIP holder to the client cuts access', () => {
    const sim = build({ ...web, faults: [{ kind: 'partition', a: ['h1'], b: ['c1'], oneWay: true, at: '10s', duration: '10s' }] });
    sim.run();
    expect(accessLog(sim.events)).toEqual([[0, 'OK'], [10, 'XX'], [20, 'OK']]);
  });
});

describe('world: VIPs', () => {
  const vipWorld = {
    hosts: [{ name: 'h1', services: [{ name: 'httpd' }] }, { name: 'h2', services: [{ name: 'httpd' }] }, { name: 'h3' }],
    vips: [{ name: 'vip', service: 'httpd', holder: 'h1' }],
  };

  it('the latest live holder answers (the last gratuitous ARP wins); an earlier one takes over when it dies', () => {
    const sim = build(vipWorld);
    const w = sim.world;
    expect(w.vipAnswerer('vip')).toBe('h1');
    w.assignVip('vip', 'h2');
    expect(w.vipAnswerer('vip')).toBe('h2');
    expect(w.liveVipHolders('vip')).toEqual(['h1', 'h2']);
    w.shutdownHost('h2');
    expect(w.vipAnswerer('vip')).toBe('h1');
    expect(w.liveVipHolders('vip')).toEqual(['h1']);
    expect(w.vipHolders('vip')).toEqual(['h1']); // a run-time address does not survive power-off
    w.removeVip('vip', 'h1');
    expect(w.vipAnswerer('vip')).toBeNull();
    expect(w.vipServing('vip')).toBe(false);
    expect(w.vipAnswerer('nope')).toBeNull();
  });

  it('re-assigning moves a holder to the end; removing an absent holder changes nothing', () => {
    const sim = build(vipWorld);
    const w = sim.world;
    w.assignVip('vip', 'h2');
    w.assignVip('vip', 'h1');
    expect(w.vipHolders('vip')).toEqual(['h2', 'h1']);
    expect(w.vipAnswerer('vip')).toBe('h1');
    const before = sim.events.length;
    w.removeVip('vip', 'h3');
    expect(sim.events.length).toBe(before);
    expect(sim.events.filter((e) => e.kind.startsWith('vip.')).map((e) => [e.kind, e.data?.holder])).toEqual([
      ['vip.assign', 'h1'],
      ['vip.assign', 'h2'],
      ['vip.assign', 'h1'],
    ]);
  });

  it('a VIP cannot be set on a node that is down or does not exist', () => {
    const sim = build({ ...vipWorld, faults: [{ kind: 'Nt2', target: 'h2', at: '1s' }] });
    sim.run();
    expect(() => sim.world.assignVip('vip', 'h2')).toThrow(WorldError);
    expect(() => sim.world.assignVip('vip', 'zz')).toThrow(/no host or VM "zz"/);
    expect(() => sim.world.assignVip('nope', 'h1')).toThrow(/no VIP "nope"/);
  });

  it('a VIP on a host without the service answers but does not serve', () => {
    const sim = build(vipWorld);
    sim.world.assignVip('vip', 'h3');
    expect(sim.world.vipAnswerer('vip')).toBe('h3');
    expect(sim.world.vipServing('vip')).toBe(false);
  });
});

describe('energy from the trace (sim/trace/metrics.ts)', () => {
  it('a host on for 1 h at 45 W uses 45 Wh', () => {
    const sim = build({ hosts: [{ name: 'h1' }], until: '1h' });
    sim.run();
    const e = energyWh(sim.events, sim.kernel.nowUs());
    expect(e.perHost.h1).toBeCloseTo(45, 9);
    expect(e.total).toBeCloseTo(45, 9);
  });

  it('adds up power states: 6 min restarting at 60 W then 54 min on at 45 W, next to an off host at 1 W', () => {
    const sim = build({
      hosts: [{ name: 'h1', restartS: 360 }, { name: 'h2', state: 'off' }],
      until: '1h',
      faults: [{ kind: 'Nt1', target: 'h1', at: 0 }],
    });
    sim.run();
    const e = energyWh(sim.events, 3600 * S);
    expect(e.perHost.h1).toBeCloseTo(0.1 * 60 + 0.9 * 45, 9);
    expect(e.perHost.h2).toBeCloseTo(1, 9);
    expect(e.total).toBeCloseTo(47.5, 9);
  });

  it('uses the watts a scenario sets per state, over a window', () => {
    const sim = build({
      hosts: [{ name: 'h1', watts: { on: 100, off: 0 } }],
      until: '2h',
      faults: [{ kind: 'Nt2', target: 'h1', at: '30m' }],
    });
    sim.run();
    expect(energyWh(sim.events, 2 * 3600 * S).perHost.h1).toBeCloseTo(50, 9);
    expect(energyWh(sim.events, 3600 * S, 900 * S).perHost.h1).toBeCloseTo(25, 9);
  });
});

describe('world: the kept VM rows (vmRows)', () => {
  it('equal a fresh listing of the VMs after random VM and host operations; a list handed out never changes; a host\'s VMs and load equal a scan of every VM', () => {
    const vm = fc.constantFrom('v1', 'v2', 'v3', 'v4');
    const host = fc.constantFrom('h1', 'h2');
    const op = fc.oneof(
      fc.record({ op: fc.constantFrom('resume' as const, 'start' as const, 'migrate' as const), vm, host }),
      fc.record({ op: fc.constantFrom('suspend' as const, 'destroy' as const, 'crash' as const, 'reboot' as const, 'undefine' as const), vm }),
      fc.record({ op: fc.constantFrom('shutdown' as const, 'restart' as const), host }),
      fc.record({ op: fc.constant('define' as const), vm, host }),
    );
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), op), { maxLength: 25 }), (plan) => {
      const sim = build({ hosts: [{ name: 'h1', restartS: 5 }, { name: 'h2' }], vms: [{ name: 'v1', host: 'h1', state: 'running', resumeS: 3, cpuPct: 30, memMb: 1000 }, { name: 'v2', resumeS: 2, cpuPct: 7, memMb: 3000 }, { name: 'v3', host: 'h2', state: 'running' }] });
      const w = sim.world;
      const handed: Array<{ rows: unknown; copy: string }> = [];
      const check = () => {
        const rows = w.vmRows();
        expect(rows).toStrictEqual([...w.vms].map(([name, v]) => ({ name, host: v.host, state: v.state })));
        handed.push({ rows, copy: JSON.stringify(rows) });
        // One VM by name (the Hypervisor port's `get`) as the list gives it.
        for (const name of ['v1', 'v2', 'v3', 'v4']) expect(w.vmRow(name)).toStrictEqual(rows.find((r) => r.name === name));
        // The per-host indexes (every VM placed on a host; those that count in its load) against a scan of every VM.
        const pw = w as unknown as { vmsOnHost(h: string): ReadonlyArray<readonly [string, unknown]>; busyThreads(h: string): number; extraLoad: Map<string, { cpuPct: number; memMb: number }>; host(h: string): { spec: { memMb: number; memUsedMb: number; cpuBusyPct: number; cores: number } } };
        for (const h of ['h1', 'h2']) {
          const on = [...w.vms].filter(([, v]) => v.host === h);
          expect(pw.vmsOnHost(h).map(([n]) => n)).toEqual(on.map(([n]) => n));
          const spec = pw.host(h).spec;
          const extra = pw.extraLoad.get(h)!;
          let memUsed = spec.memUsedMb + extra.memMb;
          let cpuBusy = spec.cpuBusyPct + extra.cpuPct;
          let running = spec.cpuBusyPct + extra.cpuPct;
          for (const [, v] of on) {
            if (v.state === 'running' || v.state === 'resuming' || v.state === 'starting') {
              memUsed += v.spec.memMb;
              cpuBusy += v.spec.cpuPct;
            }
            if (v.state === 'running') running += v.spec.cpuPct;
          }
          const l = w.load(h);
          expect([l.memFreeKb, l.cpuIdlePct]).toEqual([Math.max(0, (spec.memMb - memUsed) * 1024), Math.max(0, 100 * spec.cores - cpuBusy)]);
          expect(pw.busyThreads(h)).toBe(running / 100);
        }
      };
      const quiet = (f: () => unknown) => {
        try {
          const r = f() as { then?: (a: () => void, b: () => void) => void } | undefined;
          r?.then?.(check, check);
        } catch {
          // refused: nothing changed
        }
      };
      for (const [t, o] of plan) {
        at(sim, t, () => {
          if (o.op === 'resume') quiet(() => w.resumeVm(o.vm, o.host));
          else if (o.op === 'start') quiet(() => w.startVm(o.vm, o.host));
          else if (o.op === 'migrate') quiet(() => w.migrateVm(o.vm, o.host));
          else if (o.op === 'suspend') quiet(() => w.suspendVm(o.vm));
          else if (o.op === 'destroy') quiet(() => w.destroyVm(o.vm));
          else if (o.op === 'crash') quiet(() => w.crashVm(o.vm));
          else if (o.op === 'reboot') quiet(() => w.rebootVm(o.vm));
          else if (o.op === 'undefine') quiet(() => w.undefineVm(o.vm));
          else if (o.op === 'define') quiet(() => w.defineVm({ ...w.vm('v1').spec, name: o.vm, host: o.host }));
          else if (o.op === 'shutdown') quiet(() => w.shutdownHost(o.host));
          else if (o.op === 'restart') quiet(() => w.restartHost(o.host));
          check();
        });
        at(sim, t + 1.5, check);
      }
      sim.run();
      check();
      for (const h of handed) expect(JSON.stringify(h.rows)).toBe(h.copy);
    }), fcParams(200));
  });
});
