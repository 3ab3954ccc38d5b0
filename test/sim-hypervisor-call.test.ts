// The sim's Hypervisor port: a call pays `network.hypervisorCallS` before the VM's own time when
// the scenario gives it (a calibrated PSS lab: 0, its VMs' resumeS / suspendS being the whole
// call as measured), else commandS as always (every paper experiment and older scenario).
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Ports } from '../engine/ports/index.ts';
import { parseScenario } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';

const S = 1_000_000;

function build(network: Record<string, unknown>, faults: unknown[] = []): Simulation {
  const scenario = {
    network,
    hosts: [{ name: 'm' }, { name: 'h1', services: [{ name: 'httpd' }] }, { name: 'h2' }],
    vms: [{ name: 'v1', resumeS: 0.3, suspendS: 0.07 }, { name: 'v2', state: 'defined', host: 'h1', startS: 4, services: [{ name: 'httpd' }] }],
    faults,
    until: '10s',
  };
  const sim = new Simulation(parseScenario(YAML.stringify(scenario), '<hypervisor-call>'), { seed: 1 });
  sim.start();
  return sim;
}

/** Calls a port of agent `m` at `s` seconds; how long (µs) until it settled, once the simulation has run. */
function tookUs(sim: Simulation, s: number, f: (p: Ports) => unknown): { us?: number; err?: unknown } {
  const out: { us?: number; err?: unknown } = {};
  const t0 = Math.round(s * S);
  sim.kernel.at(t0, () => void (f(sim.portsFor('m')) as PromiseLike<unknown>).then(() => (out.us = sim.kernel.nowUs() - t0), (e) => (out.err = e)));
  return out;
}

/** A suspended VM resumed on h1 at 1 s, suspended again at 5 s, and a service restarted on h1 at 6 s. */
function calls(network: Record<string, unknown>) {
  const sim = build(network);
  const resume = tookUs(sim, 1, (p) => p.hypervisor.resume('v1', 'h1'));
  const suspend = tookUs(sim, 5, (p) => p.hypervisor.suspend('v1'));
  const restart = tookUs(sim, 6, (p) => p.services.restart('h1', 'httpd'));
  sim.run();
  for (const x of [resume, suspend, restart]) expect(x.err).toBeUndefined();
  return { resume: resume.us!, suspend: suspend.us!, restart: restart.us! };
}

describe('the sim Hypervisor port\'s per-call cost (network.hypervisorCallS)', () => {
  it('absent: a resume and a suspend pay commandS before the VM\'s resumeS / suspendS', () => {
    const c = calls({ commandS: 0.15 });
    expect(c.resume).toBe(0.15 * S + 0.3 * S);
    expect(c.suspend).toBe(0.15 * S + 0.07 * S);
  });

  it('given: they pay hypervisorCallS instead (0: the VM\'s time alone); other commands still pay commandS', () => {
    const plain = calls({ commandS: 0.15 });
    const zero = calls({ commandS: 0.15, hypervisorCallS: 0 });
    const some = calls({ commandS: 0.15, hypervisorCallS: 0.02 });
    expect(zero.resume).toBe(0.3 * S);
    expect(zero.suspend).toBe(0.07 * S);
    expect(some.resume).toBe(0.02 * S + 0.3 * S);
    expect(some.suspend).toBe(0.02 * S + 0.07 * S);
    // A service restart is a command over SSH, not a hypervisor call: unchanged.
    expect(zero.restart).toBe(plain.restart);
    expect(some.restart).toBe(plain.restart);
  });

  it('a negative hypervisorCallS is refused', () => {
    expect(() => build({ hypervisorCallS: -0.1 })).toThrow();
  });
});

describe('a Hypervisor call on a host the agent cannot reach (network.hypervisorUnreachableS)', () => {
  /** Calls a port of agent `m` at `s` seconds: how long until it succeeded or failed, and the error. */
  function settled(sim: Simulation, s: number, f: (p: Ports) => unknown): { okUs?: number; failUs?: number; err?: unknown } {
    const out: { okUs?: number; failUs?: number; err?: unknown } = {};
    const t0 = Math.round(s * S);
    sim.kernel.at(t0, () => void (f(sim.portsFor('m')) as PromiseLike<unknown>).then(() => (out.okUs = sim.kernel.nowUs() - t0), (e) => {
      out.failUs = sim.kernel.nowUs() - t0;
      out.err = e;
    }));
    return out;
  }
  // m is cut off from h1 from 0.5 s to 4 s; h2 stays in reach.
  function run(network: Record<string, unknown>) {
    const sim = build(network, [{ kind: 'partition', a: ['m'], b: ['h1'], at: '0.5s', duration: '3.5s' }]);
    const onH1 = settled(sim, 1, (p) => p.hypervisor.resume('v1', 'h1'));
    const movedToH1 = settled(sim, 1.5, (p) => p.hypervisor.migrate('v1', 'h1'));
    const onH2 = settled(sim, 2, (p) => p.hypervisor.resume('v1', 'h2'));
    const afterHeal = settled(sim, 5, (p) => p.hypervisor.migrate('v1', 'h1'));
    sim.run();
    for (const x of [onH1, movedToH1]) {
      expect(x.okUs).toBeUndefined();
      expect((x.err as { kind?: string }).kind).toBe('unreachable');
      expect(String((x.err as Error).message)).toMatch(/h1 is unreachable from m/);
    }
    expect(onH2.err).toBeUndefined();
    expect(afterHeal.err).toBeUndefined();
    return { onH1, movedToH1, onH2 };
  }

  it('absent: the call fails as unreachable once its own cost is paid', () => {
    const r = run({ commandS: 0.15 });
    expect([r.onH1.failUs, r.movedToH1.failUs]).toEqual([0.15 * S, 0.15 * S]);
    expect(r.onH2.okUs).toBe(0.15 * S + 0.3 * S);
  });

  it('given: it fails that much later (a remote hypervisor\'s connect timeout); a reachable host is not slowed', () => {
    const r = run({ commandS: 0.15, hypervisorCallS: 0, hypervisorUnreachableS: 2.5 });
    expect([r.onH1.failUs, r.movedToH1.failUs]).toEqual([2.5 * S, 2.5 * S]);
    expect(r.onH2.okUs).toBe(0.3 * S);
  });

  it('given: a path that opens before the timeout lets the call through at the next try (every second, a SYN again)', () => {
    const sim = build({ commandS: 0.15, hypervisorCallS: 0, hypervisorUnreachableS: 3 }, [{ kind: 'partition', a: ['m'], b: ['h1'], at: '0.5s', duration: '3.5s' }]);
    // Called at 1.6 s: tries at 1.6, 2.6, 3.6 (cut off until 4 s), then 4.6 s is past the 3 s timeout.
    const late = settled(sim, 1.6, (p) => p.hypervisor.resume('v1', 'h1'));
    // Called at 2.2 s: tries at 2.2, 3.2, then 4.2 s opens: the resume starts there (0.3 s).
    const healed = settled(sim, 2.2, (p) => p.hypervisor.resume('v1', 'h1'));
    sim.run();
    expect(late.failUs).toBe(3 * S);
    expect((late.err as { kind?: string }).kind).toBe('unreachable');
    expect(healed.err).toBeUndefined();
    expect(healed.okUs).toBe(2 * S + 0.3 * S);
  });

  it('given a timeout of years (a distribution may draw one): the tries are made one a second as they come, nothing is laid out for the whole wait', () => {
    // 3e8 s of tries laid out at the call would be 3e8 numbers; the simulation ends at 10 s.
    const sim = build({ commandS: 0.15, hypervisorCallS: 0, hypervisorUnreachableS: 3e8 }, [{ kind: 'partition', a: ['m'], b: ['h1'], at: '0.5s', duration: '1000s' }]);
    const call = settled(sim, 1, (p) => p.hypervisor.resume('v1', 'h1'));
    const tries: number[] = [];
    sim.kernel.at(9.5 * S, () => void tries.push(sim.kernel.nowUs()));
    sim.run();
    // The run went on to its end with the call still trying.
    expect(tries).toEqual([9.5 * S]);
    expect(call.okUs).toBeUndefined();
    expect(call.failUs).toBeUndefined();
  });
});

describe('a VM start that returns once the VM is launched (network.vmStartReplyFirst)', () => {
  /** v2 (off) started on h1 at 1 s: when the call returned, and v2's state then and 2 s later. */
  function started(network: Record<string, unknown>) {
    const sim = build(network);
    const call = tookUs(sim, 1, (p) => p.hypervisor.start('v2', 'h1'));
    const states: string[] = [];
    for (const s of [1.2, 3.2, 5.2]) sim.kernel.at(Math.round(s * S), () => void states.push(String(sim.world.vms.get('v2')!.state)));
    sim.run();
    expect(call.err).toBeUndefined();
    return { us: call.us!, states };
  }

  it('absent: the call returns once the guest has booted (its startS)', () => {
    const r = started({ commandS: 0.15 });
    expect(r.us).toBe(0.15 * S + 4 * S);
    expect(r.states).toEqual(['starting', 'starting', 'running']);
  });

  it('given: the call returns after its own cost, the guest still booting (as `virsh create` returns once qemu runs)', () => {
    const r = started({ commandS: 0.15, vmStartReplyFirst: true });
    expect(r.us).toBe(0.15 * S);
    expect(r.states).toEqual(['starting', 'starting', 'running']);
  });
});
