// The typed port-error vocabulary: sim and live adapters reject with PortErrors of the kind that
// says what happened (unreachable, refused, timeout, failed), messages unchanged; policies branch
// on the kind (failover swallows only "it went away" around the target's restart).
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { asPortError, isGone, kindOfErrorCode, portErrorOf, PortError, PORT_ERROR_KINDS } from '../engine/ports/errors.ts';
import type { Hypervisor, Ports, ProbeResult, ProbeSpec, TraceEvent } from '../engine/ports/index.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import { Kernel } from '../sim/kernel/kernel.ts';
import { parseScenario } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';
import { ensureOk, ExecError, HostKeyMismatchError, SshExec, sshErrorKind, type Exec, type ExecResult } from '../adapters/ssh/exec.ts';
import { TcpMessenger } from '../adapters/messenger/messenger.ts';
import { EtcdStore, etcdErrorKind } from '../adapters/etcd/store.ts';
import { LiveNetwork } from '../adapters/net/vip.ts';
import { LivePower } from '../adapters/power/power.ts';
import { portErrorBoundary } from '../adapters/live/ports.ts';
import { failover } from '../policies/failover/failover.ts';
import { keygen } from './helpers/live/sshd.ts';
import { freePort, tempDir } from './helpers/live/procs.ts';

const S = 1_000_000;

describe('PortError helpers', () => {
  it('portErrorOf: a PortError stays itself; anything else is failed with its message', () => {
    const pe = new PortError('timeout', 'slow', { host: 'h1' });
    expect(portErrorOf(pe)).toBe(pe);
    const plain = portErrorOf(new Error('boom'));
    expect(plain).toBeInstanceOf(PortError);
    expect([plain.kind, plain.message]).toEqual(['failed', 'boom']);
    // Even a Node.js system error: portErrorOf does not guess (adapters classify, policies read).
    expect(portErrorOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind).toBe('failed');
    expect([portErrorOf('text').kind, portErrorOf('text').message]).toEqual(['failed', 'text']);
  });

  it('isGone: unreachable and timeout only', () => {
    expect(PORT_ERROR_KINDS.filter((k) => isGone(new PortError(k, 'x')))).toEqual(['unreachable', 'timeout']);
    expect(isGone(new Error('x'))).toBe(false);
  });

  it('Node.js error codes classify: refused, unreachable, timeout; others say nothing', () => {
    const table: Record<string, string | null> = {
      ECONNREFUSED: 'refused', EHOSTUNREACH: 'unreachable', ENETUNREACH: 'unreachable', EHOSTDOWN: 'unreachable',
      ENOTFOUND: 'unreachable', ETIMEDOUT: 'timeout', ECONNRESET: null, EPIPE: null, ENOENT: null,
    };
    for (const [code, kind] of Object.entries(table)) expect([code, kindOfErrorCode(code)]).toEqual([code, kind]);
    const e = Object.assign(new Error('connect EHOSTUNREACH 10.77.0.9:22'), { code: 'EHOSTUNREACH' });
    const pe = asPortError(e);
    expect([pe.kind, pe.message, pe.detail.code, pe.cause]).toEqual(['unreachable', e.message, 'EHOSTUNREACH', e]);
    // The code of a wrapped cause counts too; a message may be given; a PortError stays itself.
    expect(asPortError(new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ETIMEDOUT' }) }), 'said').kind).toBe('timeout');
    expect(asPortError(new Error('x'), 'said').message).toBe('said');
    const same = new PortError('refused', 'no');
    expect(asPortError(same)).toBe(same);
    expect(asPortError(new RangeError('invalid host name')).kind).toBe('failed');
  });
});

describe('sim ports reject with PortErrors, messages unchanged', () => {
  const scenario = {
    hosts: [{ name: 'm' }, { name: 'h1', services: [{ name: 'httpd', restartS: 2 }] }, { name: 'h2', services: [{ name: 'httpd' }] }],
    vms: [{ name: 'v1', resumeS: 10 }, { name: 'v2', host: 'h2', state: 'running' }],
    vips: [{ name: 'vip', service: 'httpd', holder: 'h1' }],
    until: '100s',
  };
  const build = (extra: Record<string, unknown> = {}) => {
    const sim = new Simulation(parseScenario(YAML.stringify({ ...scenario, ...extra }), '<port-errors>'), { seed: 1 });
    sim.start();
    return sim;
  };
  /** Calls a port of agent `m` at `s` seconds; the outcome once the simulation has run. */
  const callAt = (sim: Simulation, s: number, f: (p: Ports) => unknown, agent = 'm') => {
    const out: { ok?: unknown; err?: unknown } = {};
    // Sim ports return SimFutures: settled inside kernel events.
    sim.kernel.at(Math.round(s * S), () => void (f(sim.portsFor(agent)) as PromiseLike<unknown>).then((v) => (out.ok = v ?? true), (e) => (out.err = e)));
    return out;
  };
  const msg = (type: string, to: string) => ({ from: 'm', to, type, body: {} });
  const expectPortError = (out: { err?: unknown }, kind: string, message: string) => {
    expect(out.err).toBeInstanceOf(PortError);
    expect([(out.err as PortError).kind, (out.err as PortError).message]).toEqual([kind, message]);
  };

  it('a partitioned target is unreachable: commands, VIPs, load, messages', () => {
    const sim = build({ faults: [{ kind: 'partition', a: ['m'], b: ['h1'], at: '1s' }] });
    const restart = callAt(sim, 2, (p) => p.services.restart('h1', 'httpd'));
    const vip = callAt(sim, 2, (p) => p.network.assignVip('vip', 'h1'));
    const load = callAt(sim, 2, (p) => p.load.sample('h1'));
    const sent = callAt(sim, 2, (p) => p.messenger.send('h1', 'box', msg('R', 'h1')));
    sim.run();
    expectPortError(restart, 'unreachable', 'h1 is unreachable from m');
    expectPortError(vip, 'unreachable', 'h1 is unreachable from m');
    expectPortError(load, 'unreachable', 'h1 is unreachable from m');
    expectPortError(sent, 'unreachable', 'message R to h1: unreachable');
  });

  it('a target that is off is unreachable; a message lost on the way is unreachable too', () => {
    const sim = build({ faults: [{ kind: 'Nt2', target: 'h1', at: '1s' }, { kind: 'partition', a: ['m'], b: ['h2'], at: '2s' }] });
    const reboot = callAt(sim, 1.5, (p) => p.power.reboot('h1'));
    const resume = callAt(sim, 1.5, (p) => p.hypervisor.resume('v1', 'h1'));
    // Sent just before the partition, arrives after it: lost.
    const lost = callAt(sim, 2 - 1e-6, (p) => p.messenger.send('h2', 'box', msg('U', 'h2')));
    sim.run();
    expectPortError(reboot, 'unreachable', 'h1 is unreachable from m');
    expectPortError(resume, 'unreachable', 'h1 is unreachable from m');
    expectPortError(lost, 'unreachable', 'message U to h2: lost');
  });

  it('an operation aborted because its host went away is unreachable (the world\'s message kept)', () => {
    const sim = build({ faults: [{ kind: 'Nt2', target: 'h1', at: '5s' }] });
    const resume = callAt(sim, 1, (p) => p.hypervisor.resume('v1', 'h1'));
    sim.run();
    expectPortError(resume, 'unreachable', 'resume of v1 failed: host h1 went off');
  });

  it('what the world refuses is failed: unknown VM, wrong VM state, unknown VIP', () => {
    const sim = build();
    const unknown = callAt(sim, 1, (p) => p.hypervisor.resume('nope', 'h1'));
    const running = callAt(sim, 1, (p) => p.hypervisor.resume('v2', 'h1'));
    const vip = callAt(sim, 1, (p) => p.network.assignVip('vip-nope', 'h1'));
    const ok = callAt(sim, 1, (p) => p.hypervisor.resume('v1', 'h1'));
    sim.run();
    expectPortError(unknown, 'failed', 'no VM "nope"');
    expectPortError(running, 'failed', 'VM v2 is running; resume needs suspended');
    expectPortError(vip, 'failed', 'no VIP "vip-nope"');
    expect(ok).toEqual({ ok: true });
  });
});

describe('failover branches on the kind around the target\'s restart', () => {
  /** Failover with ports whose removeVip from the target throws `err`; the target comes back on reboot. */
  function run(err: unknown): TraceEvent[] {
    const kernel = new Kernel();
    const events: TraceEvent[] = [];
    let up = false;
    const ports: Partial<Ports> = {
      prober: {
        probe: (spec: ProbeSpec): ProbeResult => {
          const ok = spec.kind === 'network' || up;
          return { ok, detail: ok ? 'ok' : 'timeout', latencyUs: 1000 };
        },
      },
      hypervisor: { resume: () => undefined, suspend: () => undefined } as unknown as Hypervisor,
      network: {
        assignVip: () => undefined,
        removeVip: (_vip: string, holder: string) => {
          if (holder === 'web') throw err;
        },
      } as unknown as Ports['network'],
      power: { reboot: () => void (up = true) } as unknown as Ports['power'],
    };
    const rt = new Runtime({ scheduler: kernel, ports: () => ports, trace: { emit: (e) => events.push(e) } });
    rt.start('failover', failover({
      manager: 'm', target: 'web', service: 'httpd', vip: '10.0.0.100', backupVm: 'vm', backupHost: 'm',
      intervalUs: S, serviceTimeoutUs: S, networkTimeoutUs: S, recoveryWaitUs: 20 * S,
    }), 'm');
    kernel.run({ untilUs: 60 * S });
    return events.filter((e) => e.kind !== 'probe.ok' && e.kind !== 'probe.fail');
  }

  it('a target that went away (unreachable, timeout) is waited for silently', () => {
    for (const kind of ['unreachable', 'timeout'] as const) {
      const kinds = run(new PortError(kind, 'web is unreachable from m')).map((e) => e.kind);
      expect(kinds).not.toContain('failover.error');
    }
  });

  it('any other failure is traced as failover.error (kind and message), and the recovery goes on', () => {
    for (const err of [new PortError('failed', 'no VIP "10.0.0.100"'), new PortError('refused', 'ssh refused'), new Error('plain')]) {
      const ev = run(err);
      const e = ev.find((x) => x.kind === 'failover.error');
      expect(e?.data).toEqual({ manager: 'm', step: 'restart target', kind: portErrorOf(err).kind, reason: err.message });
      // The reboot was not tried (removeVip failed first), so the target never came back here.
      expect(ev.map((x) => x.kind)).toContain('target.down');
    }
  });
});

describe('live adapters: failures are PortErrors of the right kind', () => {
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const result = (r: Partial<ExecResult>): ExecResult => ({ code: 0, signal: null, stdout: '', stderr: '', durationMs: 1, ...r });

  it('ExecError is a PortError: a non-zero exit is failed, a connection lost under the command unreachable', () => {
    const e1 = (() => { try { ensureOk('h1', ['false'], result({ code: 1, stderr: 'nope\n' })); } catch (e) { return e; } })();
    expect(e1).toBeInstanceOf(ExecError);
    expect(e1).toBeInstanceOf(PortError);
    expect([(e1 as ExecError).kind, (e1 as ExecError).message, (e1 as ExecError).host]).toEqual(['failed', 'h1: false exited 1: nope', 'h1']);
    const e2 = (() => { try { ensureOk('h1', ['reboot'], result({ code: null })); } catch (e) { return e; } })();
    expect((e2 as ExecError).kind).toBe('unreachable');
    const e3 = (() => { try { ensureOk('h1', ['x'], result({ code: null, signal: 'KILL' })); } catch (e) { return e; } })();
    expect((e3 as ExecError).kind).toBe('failed');
    // A host-key mismatch stays distinguishable (its own class), and is no "gone" host.
    const hk = new HostKeyMismatchError('host h1 presented host key SHA256:x, which is not pinned: refusing to connect', 'h1');
    expect(hk).toBeInstanceOf(ExecError);
    expect(hk).toBeInstanceOf(PortError);
    expect(isGone(hk)).toBe(false);
    expect(new ExecError('x', 'h1')).not.toBeInstanceOf(HostKeyMismatchError);
  });

  it('ssh2 connection errors classify by code and level', () => {
    expect(sshErrorKind(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', level: 'client-socket' }))).toBe('refused');
    expect(sshErrorKind(Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH', level: 'client-socket' }))).toBe('unreachable');
    expect(sshErrorKind(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' }))).toBe('timeout');
    expect(sshErrorKind(Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' }))).toBe('refused');
    expect(sshErrorKind(new Error('other'))).toBe('failed');
  });

  it('ssh to a closed loopback port: ExecError refused (ECONNREFUSED), message as before', async () => {
    const tmp = tempDir('port-errors');
    cleanups.push(tmp.remove);
    const pub = keygen(join(tmp.dir, 'client'));
    const port = await freePort();
    const exec = new SshExec({
      hosts: [{ name: 'h1', address: '127.0.0.1', port, user: 'root', keyFile: join(tmp.dir, 'client') }],
      knownHosts: `[127.0.0.1]:${port} ${pub.split(' ').slice(0, 2).join(' ')}`,
      connectTimeoutMs: 2_000,
    });
    cleanups.push(() => exec.close());
    const err = await exec.exec('h1', ['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).kind).toBe('refused');
    expect((err as Error).message).toMatch(new RegExp(`^ssh to h1 \\(127\\.0\\.0\\.1:${port}\\): connect ECONNREFUSED`));
    // Invalid arguments: failed, message kept.
    const bad = await exec.exec('h1;reboot', ['true']).catch((e: unknown) => e);
    expect([(bad as PortError).kind, (bad as Error).message]).toEqual(['failed', expect.stringMatching(/invalid host name/)]);
  });

  it('messenger: a closed port is refused, a receiver that never acknowledges is a timeout, no address is failed', async () => {
    const key = Buffer.alloc(32, 7);
    const closed = await freePort();
    const silent: Server = createServer((s: Socket) => void s.on('error', () => undefined));
    const held: Socket[] = [];
    silent.on('connection', (s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => { held.forEach((s) => s.destroy()); silent.close(() => r()); }));
    const silentPort = (silent.address() as { port: number }).port;
    const m = new TcpMessenger({ agent: 'Mail', key, timeoutMs: 300, peers: { Web1: { address: '127.0.0.1', port: closed }, Web2: { address: '127.0.0.1', port: silentPort } } });
    cleanups.push(() => m.close());
    const refused = await m.send('Web1', 'p2/Login', { from: 'Mail', to: 'x', type: 'U', body: {} }).catch((e: unknown) => e);
    expect([(refused as PortError).kind, (refused as Error).message]).toEqual(['refused', expect.stringMatching(/^message to Web1 \(127\.0\.0\.1:\d+\): connect ECONNREFUSED/)]);
    const slow = await m.send('Web2', 'p2/Login', { from: 'Mail', to: 'x', type: 'U', body: {} }).catch((e: unknown) => e);
    expect([(slow as PortError).kind, (slow as Error).message]).toEqual(['timeout', 'message to Web2: no acknowledgement within 300 ms']);
    const none = await m.send('Nobody', 'p2/Login', { from: 'Mail', to: 'x', type: 'U', body: {} }).catch((e: unknown) => e);
    expect([(none as PortError).kind, (none as Error).message]).toEqual(['failed', 'message U to Nobody: no messenger address for that agent']);
  });

  it('etcd: deadline is timeout, unavailable is refused/unreachable, an unreachable cluster rejects with a PortError', async () => {
    expect(etcdErrorKind(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded'))).toBe('timeout');
    expect(etcdErrorKind(new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'))).toBe('refused');
    expect(etcdErrorKind(new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect EHOSTUNREACH'))).toBe('unreachable');
    expect(etcdErrorKind(Object.assign(new Error('Execution prevented because the circuit breaker is open'), { isBrokenCircuitError: true }))).toBe('unreachable');
    expect(etcdErrorKind(new SyntaxError('Unexpected token'))).toBe('failed');
    const store = new EtcdStore({ hosts: [`http://127.0.0.1:${await freePort()}`], prefix: 'hatwin/port-errors/', timeoutMs: 500 });
    cleanups.push(() => store.close());
    const err = await store.get('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortError);
    expect(['refused', 'unreachable', 'timeout']).toContain((err as PortError).kind);
    const badKey = await store.get('').catch((e: unknown) => e);
    expect([(badKey as PortError).kind, (badKey as Error).message]).toEqual(['failed', 'store key "": expected 1..1024 printable characters']);
  }, 20_000);

  it('network and power: the exec kind comes through; configuration errors and non-zero exits are failed', async () => {
    let next: () => Promise<ExecResult> = async () => result({});
    const exec: Exec = { exec: () => next(), close: () => undefined };
    const net = new LiveNetwork({ exec, holders: { h1: { iface: 'eth0', prefixLen: 24 } } });
    const power = new LivePower({ exec, wol: { broadcast: '127.255.255.255', port: 9 }, commands: { reboot: ['reboot', '{host}'] } });
    const kindOf = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: unknown) => x);
      return e instanceof PortError ? [e.kind, e.message] : ['not a PortError', String(e)];
    };
    next = () => Promise.reject(new ExecError('h1: ip timed out after 10000 ms', 'h1', undefined, 'timeout'));
    expect(await kindOf(net.assignVip('10.0.0.100', 'h1'))).toEqual(['timeout', 'h1: ip timed out after 10000 ms']);
    next = () => Promise.reject(Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' }));
    expect(await kindOf(net.removeVip('10.0.0.100', 'h1'))).toEqual(['unreachable', 'connect EHOSTUNREACH']);
    expect(await kindOf(power.reboot('h1'))).toEqual(['unreachable', 'connect EHOSTUNREACH']);
    next = async () => result({ code: 1, stderr: 'Operation not permitted' });
    expect(await kindOf(power.reboot('h1'))).toEqual(['failed', 'h1: reboot exited 1: Operation not permitted']);
    expect(await kindOf(net.assignVip('10.0.0.100', 'h2'))).toEqual(['failed', 'VIP holder h2: not configured (give it an interface and prefix length, or a driver)']);
    expect(await kindOf(net.poolAdd('web', 'h1'))).toEqual(['failed', expect.stringMatching(/not available in live mode/)]);
    expect(await kindOf(power.suspend('h1'))).toEqual(['failed', expect.stringMatching(/power.suspend is not configured/)]);
    expect(await kindOf(power.resume('h1'))).toEqual(['failed', 'power.resume h1: no MAC configured for it']);
  });

  it('network: an unreachable holder is fenced out of band when the fence confirms it; else the removal fails as before', async () => {
    const unreachable = () => Promise.reject(Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' }));
    let next: () => Promise<ExecResult> = unreachable;
    const exec: Exec = { exec: () => next(), close: () => undefined };
    const events: Array<{ kind: string; subject: string; data?: Record<string, unknown> }> = [];
    const asked: string[] = [];
    let answer: string | null | Error = 'off: no run-time address';
    const net = new LiveNetwork({
      exec, holders: { h1: { iface: 'eth0', prefixLen: 24 } }, onEvent: (e) => events.push(e),
      fence: async (holder, vip) => {
        asked.push(`${holder} ${vip}`);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    // Confirmed gone out of band: the removal succeeds and says how.
    await expect(net.removeVip('10.0.0.100', 'h1')).resolves.toBeUndefined();
    expect(events.at(-1)).toEqual({ kind: 'vip.fenced', subject: '10.0.0.100', data: { holder: 'h1', how: 'off: no run-time address' } });
    // The holder runs (cut off): refused, the removal fails with the holder's own kind.
    answer = null;
    await expect(net.removeVip('10.0.0.100', 'h1')).rejects.toMatchObject({ kind: 'unreachable' });
    // The fence itself cannot be asked: traced, and the removal fails.
    answer = new Error('supervisor gone');
    await expect(net.removeVip('10.0.0.100', 'h1')).rejects.toMatchObject({ kind: 'unreachable' });
    expect(events.at(-1)).toMatchObject({ kind: 'vip.fence-failed', data: { holder: 'h1', reason: 'supervisor gone' } });
    // A holder that refuses the connection (its sshd not up yet) is asked about too.
    next = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    answer = 'running: the address is not on its interface';
    await expect(net.removeVip('10.0.0.100', 'h1')).resolves.toBeUndefined();
    // A holder that answers and fails is not fenced (it is there: it said no).
    next = async () => result({ code: 1, stderr: 'Operation not permitted' });
    answer = 'off';
    await expect(net.removeVip('10.0.0.100', 'h1')).rejects.toMatchObject({ kind: 'failed' });
    expect(asked).toEqual(['h1 10.0.0.100', 'h1 10.0.0.100', 'h1 10.0.0.100', 'h1 10.0.0.100']);
  });

  it('network with fenceFirst: a holder the fence confirms is not asked over SSH; a refusal leaves the removal to the holder', async () => {
    const calls: string[] = [];
    let exitCode = 0;
    const exec: Exec = {
      exec: async (host, argv) => {
        calls.push(`${host} ${argv.slice(1, 4).join(' ')}`);
        return result({ code: exitCode });
      },
      close: () => undefined,
    };
    let answer: string | null = 'off: no run-time address';
    const events: string[] = [];
    const net = new LiveNetwork({
      exec, holders: { h1: { iface: 'eth0', prefixLen: 24 } }, fenceFirst: true,
      fence: async () => answer, onEvent: (e) => events.push(`${e.kind} ${String(e.data?.how ?? '')}`),
    });
    await net.removeVip('10.0.0.100', 'h1');
    expect(calls).toEqual([]);
    expect(events).toEqual(['vip.fenced off: no run-time address']);
    // Running and carrying it: the fence refuses, the holder removes it itself.
    answer = null;
    await net.removeVip('10.0.0.100', 'h1');
    expect(calls).toEqual(['h1 -4 addr del']);
    // ... and its own failure is still the holder's.
    exitCode = 1;
    await expect(net.removeVip('10.0.0.100', 'h1')).rejects.toMatchObject({ kind: 'failed' });
  });

  it('the live ports boundary converts what an adapter lets through (a hypervisor passed in)', async () => {
    class Hv {
      async resume(vm: string): Promise<void> {
        throw Object.assign(new Error(`virDomainCreate ${vm}: connect ETIMEDOUT`), { code: 'ETIMEDOUT' });
      }
      async suspend(): Promise<void> {
        throw new Error('domain is not running');
      }
      list(): never {
        throw new TypeError('sync failure');
      }
    }
    const raw = new Hv();
    const hv = portErrorBoundary(raw);
    expect(hv).toBeInstanceOf(Hv);
    expect(await hv.resume('v1').catch((e: PortError) => [e.kind, e.message])).toEqual(['timeout', 'virDomainCreate v1: connect ETIMEDOUT']);
    expect(await hv.suspend().catch((e: PortError) => [e.kind, e.message])).toEqual(['failed', 'domain is not running']);
    expect(() => hv.list()).toThrow(PortError);
    expect(hv.resume).toBe(hv.resume);
  });
});
