// The pure parts of `hatwin agent/live/calibrate/conform` (no root needed): what an agent's
// LiveConfig says, the P2P management data a lab gives, scenario-vs-lab checks with clear
// errors, the calibrated sim scenario, and the conformance rows from two traces.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentLiveConfig, namedVipNetwork, runPrefix } from '../adapters/lab/agent-config.ts';
import { p2pData, p2pSchema } from '../policies/p2p/manifest.ts';
import { siteFromLab, siteFromScenario } from '../run/site.ts';
import { agentPrograms } from '../run/agent.ts';
import { agentHosts, livePrograms } from '../run/live.ts';
import { checkScenarioAgainstLab } from '../run/live.ts';
import { applyCalibration, conformRows, type CalibrateParams } from '../run/calibrate.ts';
import { LabClockScheduler, wallUs } from '../run/agent.ts';
import { parseLab, REPO_DIR } from '../adapters/lab/schema.ts';
import { parseScenario, readScenario } from '../run/sim.ts';
import type { Network } from '../engine/ports/index.ts';

const labText = readFileSync(join(REPO_DIR, 'experiments/labs/p2p-mini.yaml'), 'utf8');
const lab = parseLab(labText, join(REPO_DIR, 'experiments/labs/p2p-mini.yaml'));
const scen = (n: string) => join(REPO_DIR, `experiments/scenarios/live-p2p-${n}.yaml`);

describe('an agent of the P2P mini-lab', () => {
  it('talks only to lab addresses, with pinned keys and the HMAC key from files', () => {
    const c = agentLiveConfig(lab, 'Mail', 'r1');
    const addrs = [...c.hosts.map((h) => h.address), ...Object.values(c.messenger!.peers).map((p) => p.address), c.power.wol.broadcast, ...c.etcd!.hosts.map((h) => new URL(h).hostname)];
    for (const a of addrs) expect(a, a).toMatch(/^10\.77\.0\./);
    expect(c.knownHostsFile).toBe(lab.keys.knownHostsPath);
    expect(c.messenger!.keyFile).toBe(lab.keys.hmacKeyPath);
    expect(c.etcd!.prefix).toBe('hatwin/p2p-mini/r1/');
    // Guests are probed targets without SSH; their services are the backed hosts'.
    expect(c.hosts.find((h) => h.name === 'FTPb')).toEqual({ name: 'FTPb', address: '10.77.0.23', mac: '52:54:00:77:00:23' });
    expect(c.services.find((s) => s.target === 'FTPb')).toMatchObject({ service: 'vsftpd', port: 21, check: { protocol: 'banner' } });
    // Commands as argv templates, never a shell string.
    expect(c.serviceCommands!.restart.at(-1)).toBe('{service}');
  });

  it('refuses an unknown host and a run id that is not a plain name', () => {
    expect(() => agentLiveConfig(lab, 'Nope', 'r1')).toThrow(/no host "Nope"/);
    expect(() => runPrefix(lab, '../x')).toThrow(/run id/);
  });

  it('gives the management data the sim gives (names, not addresses): one manifest, two sites', () => {
    const s = readScenario(scen('nt2'));
    const block = p2pSchema.parse(s.policies[0]);
    const live = p2pData(block, siteFromLab(lab, s));
    expect(live[1]).toEqual({ vip: 'vip-ftp', host: 'FTP', ip: 'FTP', mac: '02:77:00:00:00:13', daemons: ['vsftpd'], serverType: 'NETWORK', vm: 'FTPb', vmIp: 'FTPb' });
    expect(live).toEqual(p2pData(block, siteFromScenario(s)));
    // Without a scenario's server types, the lab's site gives none and P2P takes its default.
    expect(p2pData(p2pSchema.parse({ kind: 'p2p', group: ['Mail', 'FTP'] }), siteFromLab(lab))[1].serverType).toBe('CPU_NET');
  });

  it('runs on each host the programs the sim installs there, and the administrator\'s set-up once', () => {
    const s = readScenario(scen('nt2'));
    const programs = livePrograms(lab, s, scen('nt2'));
    expect(agentHosts(programs).sort()).toEqual(['FTP', 'Login', 'Mail', 'Web1']);
    expect(agentPrograms(lab, s, 'x', 'FTP').map((p) => p.name)).toEqual(['p2p/FTP/executer']);
    expect(programs.filter((p) => p.agent === 'admin').map((p) => [p.name, p.once])).toEqual([['p2p/initialise', true]]);
    const fo = readScenario(join(REPO_DIR, 'experiments/scenarios/live-failover-nt2.yaml'));
    expect(agentHosts(livePrograms(lab, fo, 'fo'))).toEqual(['Login']);
    expect(() => agentPrograms(lab, fo, 'fo.yaml', 'FTP')).toThrow(/host "FTP" runs no program of fo.yaml's policies \(failover\)/);
  });

  it('maps VIP names to addresses for the machines and traces assignments as the sim does', async () => {
    const calls: string[] = [];
    const inner: Network = {
      assignVip: async (v, h) => void calls.push(`add ${v} ${h}`),
      removeVip: async (v, h) => void calls.push(`del ${v} ${h}`),
      vipHolders: async () => ['FTP'],
      poolAdd: async () => undefined,
      poolRemove: async () => undefined,
    };
    const ev: Array<[string, string, unknown]> = [];
    const net = namedVipNetwork(lab, inner, (k, s, d) => ev.push([k, s, d]));
    await net.assignVip('vip-ftp', 'FTPb');
    await net.removeVip('vip-ftp', 'FTP');
    expect(calls).toEqual(['add 10.77.0.103 FTPb', 'del 10.77.0.103 FTP']);
    expect(ev).toEqual([['vip.assign', 'vip-ftp', { holder: 'FTPb', tookUs: expect.any(Number) }], ['vip.remove', 'vip-ftp', { holder: 'FTP', tookUs: expect.any(Number) }]]);
    await expect(net.assignVip('vip-nope', 'FTP')).rejects.toThrow(/no VIP "vip-nope"/);
  });

  it('keeps time from the lab epoch', () => {
    const epoch = wallUs() - 5_000_000;
    const s = new LabClockScheduler(epoch);
    expect(s.nowUs()).toBeGreaterThanOrEqual(5_000_000);
    expect(s.nowUs()).toBeLessThan(6_000_000);
    expect(() => new LabClockScheduler(-1)).toThrow(/epoch/);
  });
});

describe('live scenarios against the lab', () => {
  it('the shipped St1/St2/Nt2 scenarios fit the four-host lab', () => {
    for (const n of ['st1', 'st2', 'nt2']) expect(() => checkScenarioAgainstLab(lab, readScenario(scen(n)), scen(n))).not.toThrow();
  });

  it('a fault on a host the lab does not have, or one the lab cannot inject, is refused before anything runs', () => {
    const text = readFileSync(scen('nt2'), 'utf8');
    const bad = parseScenario(text.replace('target: FTP', 'target: Web2').replace('{ name: Web1,', '{ name: Web2, mac: "02:00:00:00:00:99", services: [] }\n  - { name: Web1,'), 'x.yaml');
    expect(() => checkScenarioAgainstLab(lab, bad, 'x.yaml')).toThrow(/targets "Web2", not a host of lab "p2p-mini"/);
    // A host that cannot be woken has no lab counterpart.
    const hostFail = parseScenario(text.replace('kind: Nt2, target: FTP', 'kind: host-fail, target: FTP'), 'y.yaml');
    expect(() => checkScenarioAgainstLab(lab, hostFail, 'y.yaml')).toThrow(/fault host-fail cannot be injected in the mini-lab \(live faults: .*partition, vm-crash\)/);
    // A guest's crash (libvirt destroy), a host restart, and partitions are; their names must be the lab's.
    const ok = (fault: string) => parseScenario(text.replace('{ kind: Nt2, target: FTP, at: 11s }', fault), 'z.yaml');
    expect(() => checkScenarioAgainstLab(lab, ok('{ kind: vm-crash, target: FTPb, at: 11s }'), 'z.yaml')).not.toThrow();
    expect(() => checkScenarioAgainstLab(lab, ok('{ kind: host-restart, target: FTP, at: 11s }'), 'z.yaml')).not.toThrow();
    expect(() => checkScenarioAgainstLab(lab, ok('{ kind: partition, a: [FTP], b: [Mail, client-ftp], oneWay: true, at: 11s, duration: 5s }'), 'z.yaml')).toThrow(/partition names "client-ftp", not a host, guest, the client or etcd/);
    expect(() => checkScenarioAgainstLab(lab, ok('{ kind: partition, a: [FTP], b: [Mail], at: 11s, duration: 5s }'), 'z.yaml')).not.toThrow();
    expect(() => checkScenarioAgainstLab(lab, ok('{ kind: vm-crash, target: FTP, at: 11s }'), 'z.yaml')).toThrow();
  });
});

describe('conformance', () => {
  const params: CalibrateParams = {
    lab: 'p2p-mini', measuredAt: '2026-11-23T00:00:00Z', samples: 3,
    network: { examS: 0.006, vipSetS: 0.26 },
    hosts: { FTP: { bootS: 2.16, restartS: 2.16, services: { vsftpd: { examS: 0.0014, restartS: 0.053 } } } },
    vms: { FTPb: { resumeS: 0.032, services: { vsftpd: { examS: 0.01 } } } },
    notes: [],
  };

  it('the calibrated scenario keeps the policy and faults and takes the measured world parameters', () => {
    const s = applyCalibration(readFileSync(scen('nt2'), 'utf8'), params, 'nt2');
    const ftp = s.hosts.find((h) => h.name === 'FTP')!;
    expect(ftp.bootS).toEqual({ kind: 'constant', value: 2.16 });
    expect(ftp.services[0].examS).toBe(0.0014);
    expect(s.vms.find((v) => v.name === 'FTPb')!.resumeS).toEqual({ kind: 'constant', value: 0.032 });
    expect(s.network.vipSetS).toBe(0.26);
    expect(s.faults).toEqual(readScenario(scen('nt2')).faults);
    expect(s.policies).toEqual(readScenario(scen('nt2')).policies);
  });

  it('rows compare the same metrics read from both traces', () => {
    const trace = (det: number, fn: number, tgt: number) => [
      { t: 11_000_000, kind: 'fault', subject: 'FTP', data: { fault: 'Nt2' } },
      { t: 11_500_000, kind: 'client.access', subject: 'client-ftp', data: { vip: 'vip-ftp', ok: false } },
      { t: det, kind: 'trouble.detected', subject: 'FTP', data: {} },
      { t: fn, kind: 'function.recovered', subject: 'FTP', data: {} },
      { t: fn + 500_000, kind: 'client.access', subject: 'client-ftp', data: { vip: 'vip-ftp', ok: true } },
      { t: tgt, kind: 'target.recovered', subject: 'FTP', data: {} },
    ];
    const rows = conformRows(trace(13_000_000, 15_000_000, 28_000_000), trace(13_000_000, 14_000_000, 28_000_000));
    expect(rows.find((r) => r.metric.startsWith('function recovery'))).toEqual({ metric: 'function recovery s (detection -> backup serving)', server: 'FTP', live: 2, sim: 1, errPct: -50 });
    expect(rows.find((r) => r.metric.startsWith('target recovery'))).toMatchObject({ live: 15, sim: 15, errPct: 0 });
    expect(rows.find((r) => r.metric.startsWith('client disconnection s'))).toMatchObject({ server: 'vip-ftp', live: 4, sim: 3 });
  });
});
