// The sim's SSH commands to a host that is up but cut off from the agent
// (network.sshRetransmit): over a kept connection TCP retransmits the command (after rtoMinS,
// doubling) until the path is back or the command's timeout; a new connection sends its SYN again
// every second until the connect timeout; an auditing agent's kept connection is dropped when its
// holders query times out (queryTimeoutS after the cut). Without the field: at once, as before.
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Ports } from '../engine/ports/index.ts';
import { parseScenario } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';

const S = 1_000_000;
const LAB = { rtoMinS: 0.2, commandTimeoutS: 10, connectTimeoutS: 3 };

/** m manages h1 (httpd, the VIP's holder) and h2; m is cut off from h1 (both ways) from `cut[0]` s for `cut[1]` s. */
function build(network: Record<string, unknown>, cut: [number, number]): Simulation {
  const scenario = {
    network: { commandS: 0.15, sshConnectS: 0.05, ...network },
    hosts: [{ name: 'm' }, { name: 'h1', services: [{ name: 'httpd' }] }, { name: 'h2' }],
    vips: [{ name: 'vip1', service: 'httpd', holder: 'h1' }],
    faults: [{ kind: 'partition', a: ['m'], b: ['h1'], at: `${cut[0]}s`, duration: `${cut[1]}s` }],
    until: '40s',
  };
  const sim = new Simulation(parseScenario(YAML.stringify(scenario), '<ssh-reach>'), { seed: 1 });
  sim.start();
  return sim;
}

interface Settled { okUs?: number; failUs?: number; err?: { kind?: string; message?: string } }
/** Calls a port of agent m at `s` seconds: how long (µs) until it succeeded or failed, and the error. */
function at(sim: Simulation, s: number, f: (p: Ports) => unknown): Settled {
  const out: Settled = {};
  const t0 = Math.round(s * S);
  sim.kernel.at(t0, () => void (f(sim.portsFor('m')) as PromiseLike<unknown>).then(() => (out.okUs = sim.kernel.nowUs() - t0), (e) => {
    out.failUs = sim.kernel.nowUs() - t0;
    out.err = e as Settled['err'];
  }));
  return out;
}
/** A service stop on h1 (a command over SSH: commandS, plus sshConnectS on a new connection). */
const stop = (p: Ports) => p.services.stop('h1', 'httpd');
/** httpd's state on h1 at each of `times` (s). */
function statesAt(sim: Simulation, times: number[]): string[] {
  const out: string[] = [];
  for (const s of times) sim.kernel.at(Math.round(s * S), () => void out.push(String(sim.world.serviceState('h1', 'httpd'))));
  return out;
}

describe('an SSH command to a host cut off, over a kept connection (network.sshRetransmit)', () => {
  it('goes through at the first retransmission after the heal, then takes its own time', () => {
    // Cut off from 1 s to 2.4 s; the connection opened by a restart at 0.1 s. Called at 1.1 s:
    // sent at 1.1, retransmitted at 1.3, 1.7 (still cut off), 2.5 s (open): done at 2.5 + 0.15 s.
    const sim = build({ sshRetransmit: LAB }, [1, 1.4]);
    const first = at(sim, 0.1, (p) => p.services.restart('h1', 'httpd'));
    const cutOff = at(sim, 1.1, stop);
    const states = statesAt(sim, [2.6, 2.7]);
    sim.run();
    expect(first.err).toBeUndefined();
    expect(cutOff.err).toBeUndefined();
    expect(cutOff.okUs).toBe(1.4 * S + 0.15 * S);
    // The world acts when the command does: at 2.65 s, not at the call.
    expect(states).toEqual(['up', 'stopped']);
  });

  it('fails as a timeout at the command timeout when the path never comes back; the next command needs a new connection', () => {
    const sim = build({ sshRetransmit: LAB }, [1, 30]);
    at(sim, 0.1, stop);
    const cutOff = at(sim, 2, stop);
    // At 12.5 s the connection was dropped by the timeout (12 s): SYNs at 12.5, 13.5, 14.5, timeout at 15.5 s.
    const fresh = at(sim, 12.5, stop);
    sim.run();
    expect(cutOff.okUs).toBeUndefined();
    expect(cutOff.failUs).toBe(10 * S);
    expect(cutOff.err?.kind).toBe('timeout');
    expect(cutOff.err?.message).toMatch(/h1: command timed out after 10 s/);
    expect(fresh.failUs).toBe(3 * S);
    expect(fresh.err?.kind).toBe('timeout');
    expect(fresh.err?.message).toMatch(/ssh to h1: no connection within 3 s/);
  });
});

describe('an SSH command to a host cut off, over a new connection (network.sshRetransmit)', () => {
  it('fails as a timeout at the connect timeout when no SYN gets through', () => {
    const sim = build({ sshRetransmit: LAB }, [1, 30]);
    const call = at(sim, 2, stop);
    sim.run();
    expect(call.failUs).toBe(3 * S);
    expect(call.err?.kind).toBe('timeout');
  });

  it('connects at the first SYN after the heal and pays the connect', () => {
    // Cut off from 1 s to 3.5 s; called at 2.2 s: SYNs at 2.2, 3.2 (cut off), 4.2 s (open).
    const sim = build({ sshRetransmit: LAB }, [1, 2.5]);
    const call = at(sim, 2.2, stop);
    sim.run();
    expect(call.okUs).toBe(2 * S + 0.05 * S + 0.15 * S);
    // Called at 1.6 s: SYNs at 1.6, 2.6, 3.6 s (cut off until 3.5 s: open), connected and done at 3.8 s.
    const sim2 = build({ sshRetransmit: LAB }, [1, 2.5]);
    const early = at(sim2, 1.6, stop);
    sim2.run();
    expect(early.okUs).toBe(2 * S + 0.05 * S + 0.15 * S);
    // Cut off until 4.05 s, called at 1.1 s: SYNs at 1.1, 2.1, 3.1 s all cut off; it fails at 4.1 s.
    const sim3 = build({ sshRetransmit: LAB }, [1, 3.05]);
    const late = at(sim3, 1.1, stop);
    sim3.run();
    expect(late.failUs).toBe(3 * S);
  });

  it('a host that is down is refused as before (at once after the command\'s cost), not waited for', () => {
    const sim = build({ sshRetransmit: LAB }, [1, 30]);
    sim.kernel.at(0.5 * S, () => sim.world.shutdownHost('h2'));
    const down = at(sim, 2, (p) => p.power.reboot('h2'));
    sim.run();
    expect(down.failUs).toBe(0.15 * S);
    expect(down.err?.kind).toBe('unreachable');
  });
});

describe('an auditing agent\'s kept connection (sshRetransmit.queryTimeoutS)', () => {
  it('is dropped queryTimeoutS after the cut: a command in flight fails then, a later one needs a new connection', () => {
    const sim = build({ sshRetransmit: { ...LAB, queryTimeoutS: 3 } }, [1, 30]);
    // A holders reading over SSH at 0.1 s keeps a connection to every host it reaches.
    at(sim, 0.1, (p) => p.network.vipHolders('vip1'));
    // Kept at 2 s: retransmitted at 2.2, 2.6, 3.4 s; the audit's query times out at 1 + 3 = 4 s.
    const inFlight = at(sim, 2, stop);
    // At 5 s the connection is gone: SYNs to the connect timeout.
    const later = at(sim, 5, stop);
    sim.run();
    expect(inFlight.failUs).toBe(2 * S);
    expect(inFlight.err?.kind).toBe('unreachable');
    expect(inFlight.err?.message).toMatch(/connection dropped/);
    expect(later.failUs).toBe(3 * S);
    expect(later.err?.kind).toBe('timeout');
  });

  it('without queryTimeoutS the kept connection waits out the command timeout', () => {
    const sim = build({ sshRetransmit: LAB }, [1, 30]);
    at(sim, 0.1, (p) => p.network.vipHolders('vip1'));
    const inFlight = at(sim, 2, stop);
    sim.run();
    expect(inFlight.failUs).toBe(10 * S);
  });
});

describe('without network.sshRetransmit', () => {
  it('a command to a host cut off fails at once after its own cost, as unreachable (as before)', () => {
    const sim = build({}, [1, 1.4]);
    at(sim, 0.1, stop);
    const cutOff = at(sim, 1.1, stop);
    const fresh = at(sim, 1.2, (p) => p.power.reboot('h1'));
    sim.run();
    expect(cutOff.failUs).toBe(0.15 * S);
    expect(cutOff.err?.kind).toBe('unreachable');
    expect(cutOff.err?.message).toMatch(/h1 is unreachable from m/);
    // kept from the first stop: no connect paid
    expect(fresh.failUs).toBe(0.15 * S);
  });
});

describe('kept connections without sshConnectS', () => {
  it('are tracked all the same: the command over the one a restart opened is retransmitted, not connected anew', () => {
    // As the first test, without a connect cost: through at the retransmission at 2.5 s, not
    // failed at the 3 s connect timeout (a new connection's SYNs at 1.1, 2.1 would go through at 3.1 s).
    const sim = build({ sshConnectS: undefined, sshRetransmit: LAB }, [1, 1.4]);
    at(sim, 0.1, (p) => p.services.restart('h1', 'httpd'));
    const cutOff = at(sim, 1.1, stop);
    sim.run();
    expect(cutOff.err).toBeUndefined();
    expect(cutOff.okUs).toBe(1.4 * S + 0.15 * S);
  });
});

describe('bounds', () => {
  it('the timeouts are checked: at most an hour, the RTO a minute', () => {
    for (const [k, v] of [['connectTimeoutS', 3601], ['commandTimeoutS', 1e9], ['rtoMinS', 61], ['queryTimeoutS', 0]] as const) {
      expect(() => build({ sshRetransmit: { ...LAB, [k]: v } }, [1, 1]), k).toThrow(/sshRetransmit/);
    }
  });
});
