// Engine code runs live unchanged: the failover policy (engine/policies/failover) on the
// wall-clock RealtimeScheduler with livePorts against real local servers. It watches a real
// HTTP daemon by request and reply; the test kills the daemon (St1, service stopped); the
// policy sees 'refused', confirms the host answers ping, restarts the daemon over SSH (pinned
// host key, argv) and sees it answer again. A second process uses the P2P policy's own store
// helper (compare-and-set retry loop) against etcd and sends a signed report to another agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../engine/runtime/runtime.ts';
import { MS, S, receive, type Process } from '../engine/runtime/effects.ts';
import { call, mailboxOf, type AgentMessage, type TraceEvent } from '../engine/ports/index.ts';
import { failover } from '../policies/failover/failover.ts';
import { KEYS, update, type Membership } from '../policies/p2p/files.ts';
import { RealtimeScheduler } from '../adapters/realtime/scheduler.ts';
import { livePorts, type LiveConfig, type LivePorts } from '../adapters/live/ports.ts';
import { startSshd, type Sshd } from './helpers/live/sshd.ts';
import { startEtcd, type Etcd } from './helpers/live/etcd.ts';
import { freePort, tempDir, until } from './helpers/live/procs.ts';
import { alive, defineService, killService, servicePid, svcCalls, svcctlCommands } from './helpers/live/services.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let sshd: Sshd;
let etcd: Etcd;
let tmp: { dir: string; remove: () => void };
let httpPort: number;
const open: Array<{ close(): unknown }> = [];

async function config(agent: string, peers: Record<string, { address: string; port: number }>): Promise<LiveConfig> {
  return {
    agent,
    hosts: [
      { name: 'Web1', address: '127.0.0.1', ssh: { port: sshd.port, user: 'root', keyFile: sshd.clientKeyFile } },
      { name: 'Mail', address: '127.0.0.1' },
    ],
    knownHosts: sshd.knownHostsLine,
    services: [{ target: 'Web1', service: 'httpd', port: httpPort, check: { protocol: 'http' } }],
    serviceCommands: svcctlCommands(tmp.dir),
    power: { wol: { broadcast: '127.255.255.255', port: 9 } },
    etcd: { hosts: [etcd.endpoint], prefix: 'hatwin/engine-test/' },
    messenger: { keyFile: join(tmp.dir, 'agents.key'), peers },
  };
}

beforeAll(async () => {
  tmp = tempDir('engine');
  writeFileSync(join(tmp.dir, 'agents.key'), `${'9a'.repeat(32)}\n`, { mode: 0o600 });
  [sshd, etcd] = await Promise.all([startSshd({ port: await freePort(), tag: 'sshd-engine' }), startEtcd()]);
  httpPort = await freePort();
  defineService(tmp.dir, 'httpd', 'http', httpPort);
}, 60_000);

afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  killService(tmp.dir, 'httpd');
  await Promise.all([sshd?.stop(), etcd?.stop()]);
  tmp?.remove();
});

describe('the failover policy, live', () => {
  it('St1: a killed daemon is detected by request/reply and restarted over SSH by the engine process', async () => {
    const sched = new RealtimeScheduler();
    open.push(sched);
    const trace: TraceEvent[] = [];
    const failures: unknown[] = [];
    let live!: LivePorts;
    const rt = new Runtime({
      scheduler: sched,
      ports: () => live.ports,
      trace: { emit: (e) => trace.push(e) },
      watchMode: 'naive',
      onUnjoinedFailure: (name, _pid, e) => failures.push([name, e]),
    });
    live = await livePorts({ config: await config('Mail', { Mail: { address: '127.0.0.1', port: await freePort() } }), runtime: rt, trace: { emit: (e) => trace.push(e) }, nowUs: () => sched.nowUs() });
    open.push(live);
    await live.ports.services!.start('Web1', 'httpd');
    const firstPid = servicePid(tmp.dir, 'httpd');
    expect(alive(firstPid)).toBe(true);

    const pid = rt.start('failover', failover({
      manager: 'Mail', target: 'Web1', service: 'httpd', vip: '127.0.0.100', backupVm: 'Web1b', backupHost: 'Mail',
      intervalUs: 300 * MS, serviceTimeoutUs: 500 * MS, networkTimeoutUs: 500 * MS, recoveryWaitUs: 5 * S,
    }), 'Mail');
    // Quiet monitoring first: passing probes.
    await until(() => trace.filter((e) => e.kind === 'probe.ok').length >= 3, 10_000, 'three passing probes');

    const killedUs = sched.nowUs();
    process.kill(firstPid, 'SIGKILL'); // St1: the daemon stops
    await until(() => trace.some((e) => e.kind === 'target.recovered'), 20_000, 'target recovered');
    const detected = trace.find((e) => e.kind === 'trouble.detected')!;
    const recovered = trace.find((e) => e.kind === 'target.recovered')!;
    expect(detected).toMatchObject({ subject: 'Web1', data: { manager: 'Mail', detail: 'refused' } });
    expect(recovered).toMatchObject({ subject: 'Web1', data: { manager: 'Mail', how: 'service restart' } });
    expect(detected.t).toBeGreaterThanOrEqual(killedUs);
    // The restart ran over SSH as argv, and a new daemon answers.
    expect(svcCalls(tmp.dir)).toEqual([['start', 'httpd'], ['restart', 'httpd']]);
    const secondPid = servicePid(tmp.dir, 'httpd');
    expect(secondPid).not.toBe(firstPid);
    expect(alive(secondPid)).toBe(true);
    expect(await live.ports.prober!.probe({ kind: 'service', target: 'Web1', service: 'httpd', timeoutUs: S })).toMatchObject({ ok: true });
    // No backup was needed and no other trouble was seen.
    expect(trace.filter((e) => ['function.recovered', 'function.unrecoverable', 'failover.error'].includes(e.kind))).toEqual([]);
    console.log(`[timing] live St1: detected ${((detected.t - killedUs) / 1000).toFixed(0)} ms after the kill (interval 300 ms), recovered by SSH restart ${((recovered.t - detected.t) / 1000).toFixed(0)} ms after detection`);
    rt.stop(pid);
    expect(failures).toEqual([]);
  });
});

describe('livePorts for two agents: store and messages from engine processes', () => {
  it('a process updates the P2P membership record by CAS in etcd and reports to another agent', async () => {
    const sched = new RealtimeScheduler();
    open.push(sched);
    const trace: TraceEvent[] = [];
    const portMail = await freePort();
    const portWeb = await freePort();
    const peers = { Mail: { address: '127.0.0.1', port: portMail }, Web1: { address: '127.0.0.1', port: portWeb } };
    let mail!: LivePorts;
    let web!: LivePorts;
    const rt = new Runtime({ scheduler: sched, ports: (agent) => (agent === 'Mail' ? mail : web).ports, trace: { emit: (e) => trace.push(e) }, watchMode: 'naive' });
    mail = await livePorts({ config: await config('Mail', peers), runtime: rt, trace: { emit: (e) => trace.push(e) }, nowUs: () => sched.nowUs() });
    web = await livePorts({ config: await config('Web1', peers), runtime: rt, trace: { emit: (e) => trace.push(e) }, nowUs: () => sched.nowUs() });
    open.push(mail, web);

    const got: AgentMessage[] = [];
    function* p2(): Process<void> {
      const m = yield* receive<AgentMessage>(mailboxOf('Web1', 'p2/Login'), 5 * S);
      if (m) got.push(m);
    }
    function* p1(): Process<void> {
      yield* update<Membership>(KEYS.membership, () => ({ group: ['Login', 'Mail', 'Web1'], separation: [], order: ['Login', 'Mail', 'Web1'] }));
      yield* update<Membership>(KEYS.membership, (cur) => ({ ...cur!, group: [...cur!.group].filter((h) => h !== 'Login'), separation: ['Login'] }));
      yield* call('messenger', 'send', 'Web1', 'p2/Login', { from: 'Mail', to: 'Web1', type: 'U', body: { target: 'Login' } });
    }
    const p2pid = rt.start('p2', p2(), 'Web1');
    const p1pid = rt.start('p1', p1(), 'Mail');
    await until(() => rt.resultOf(p1pid) !== undefined && rt.resultOf(p2pid) !== undefined, 10_000, 'both processes done');
    expect(rt.resultOf(p1pid)).toEqual({ status: 'done', value: undefined });
    expect(got).toEqual([{ from: 'Mail', to: 'Web1', type: 'U', body: { target: 'Login' } }]);
    const rec = await web.store!.get<Membership>(KEYS.membership);
    expect(rec?.value).toEqual({ group: ['Mail', 'Web1'], separation: ['Login'], order: ['Login', 'Mail', 'Web1'] });
    expect(trace.filter((e) => e.kind === 'store.write').map((e) => e.subject)).toEqual([KEYS.membership, KEYS.membership]);
  });
});
