// The Network and Power ports in a namespace lab the test builds (a bridge connected to nothing,
// two hosts as network namespaces on 10.231.41.0/24, each with its own sshd): a VIP added over
// SSH answers, and moved to the other host it is announced by gratuitous ARP (the root
// namespace's neighbour entry switches MAC with no traffic in between); a Wake-on-LAN magic
// packet sent to the subnet broadcast reaches a listener inside a host namespace (and one on
// loopback); network examination of an absent address fails as 'network'; the Hypervisor gate's
// TCP probe answers across the subnet and not through a drop rule.
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { tcpReach } from '../adapters/lab/reach-gate.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshExec } from '../adapters/ssh/exec.ts';
import { LiveNetwork, type NetEvent } from '../adapters/net/vip.ts';
import { LivePower } from '../adapters/power/power.ts';
import { parseMagicPacket, sendMagicPacket } from '../adapters/wol/magic.ts';
import { LiveProber } from '../adapters/probe/prober.ts';
import { ServiceRegistry } from '../adapters/probe/registry.ts';
import { ping } from '../adapters/probe/ping.ts';
import { buildNsLab, neighMac, type NsLab } from './helpers/live/netns.ts';
import { keygen, startSshd, type Sshd } from './helpers/live/sshd.ts';
import { requireBinary, startChild, tempDir, type Child } from './helpers/live/procs.ts';
import { NODE, TINY_SERVER } from './helpers/live/services.ts';

const OCTET = 41;
const VIP = `10.231.${OCTET}.100`;
let lab: NsLab;
let tmp: { dir: string; remove: () => void };
const sshds: Sshd[] = [];
const children: Child[] = [];
let exec: SshExec;
let net: LiveNetwork;
const netEvents: NetEvent[] = [];

/** Starts argv inside a host namespace and waits for `ready` on its stdout. */
async function inNs(ns: string, argv: string[], ready: string, env?: NodeJS.ProcessEnv): Promise<Child> {
  const c = startChild([requireBinary('/usr/sbin/ip'), 'netns', 'exec', ns, ...argv], { env: { ...process.env, ...env } });
  children.push(c);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${argv.join(' ')} in ${ns} not ready: ${c.output()}`)), 10_000);
    const check = () => c.output().includes(ready) && (clearTimeout(t), resolve());
    c.proc.stdout!.on('data', check);
    check();
  });
  return c;
}

beforeAll(async () => {
  requireBinary('/usr/bin/arping');
  requireBinary('/usr/bin/ping');
  tmp = tempDir('netns');
  lab = buildNsLab('vt', OCTET, ['A', 'B']);
  const clientKey = `${tmp.dir}/client`;
  keygen(clientKey);
  for (const h of lab.hosts) sshds.push(await startSshd({ address: h.address, port: 22, netns: h.ns, tag: `sshd-${h.name}`, clientKeyFile: clientKey }));
  exec = new SshExec({
    hosts: lab.hosts.map((h) => ({ name: h.name, address: h.address, user: 'root', keyFile: clientKey })),
    knownHosts: sshds.map((s) => s.knownHostsLine).join('\n'),
  });
  net = new LiveNetwork({ exec, holders: { A: { iface: 'eth0', prefixLen: 24 }, B: { iface: 'eth0', prefixLen: 24 } }, onEvent: (e) => netEvents.push(e) });
}, 60_000);

afterAll(async () => {
  exec?.close();
  await Promise.all(children.map((c) => c.stop()));
  await Promise.all(sshds.map((s) => s.stop()));
  lab?.destroy();
  tmp?.remove();
});

const mac = (name: string) => lab.hosts.find((h) => h.name === name)!.mac;

describe('VIPs over SSH with gratuitous ARP', () => {
  it('adds a VIP on A (it answers), moves it to B: the ARP announcement repoints clients at once', async () => {
    expect(await net.vipHolders(VIP)).toEqual([]);
    const t0 = performance.now();
    await net.assignVip(VIP, 'A');
    const assignMs = performance.now() - t0;
    expect(await net.vipHolders(VIP)).toEqual(['A']);
    expect((await ping(VIP, 1000)).ok).toBe(true);
    expect(neighMac(lab.bridge, VIP)).toBe(mac('A'));

    // Paper order: off the old holder, then on the new one. No traffic to the VIP in between:
    // only B's gratuitous ARP can change the root namespace's neighbour entry.
    await net.removeVip(VIP, 'A');
    expect(neighMac(lab.bridge, VIP)).toBe(mac('A'));
    await net.assignVip(VIP, 'B');
    expect(neighMac(lab.bridge, VIP)).toBe(mac('B'));
    expect((await ping(VIP, 1000)).ok).toBe(true);
    expect(await net.vipHolders(VIP)).toEqual(['B']);
    // Nothing went wrong; each set said when its address was on the holder's interface.
    expect(netEvents.filter((e) => e.kind !== 'vip.effect')).toEqual([]);
    expect(netEvents.filter((e) => e.kind === 'vip.effect')).toEqual(['A', 'B'].map((holder) => ({ kind: 'vip.effect', subject: VIP, data: { holder, op: 'add' } })));
    console.log(`[timing] VIP assign (ip addr add + arping -U -c 1) ${assignMs.toFixed(0)} ms`);
  });

  it('is idempotent (add twice, remove where absent) and refuses bad input before running anything', async () => {
    await net.assignVip(VIP, 'B');
    await net.removeVip(VIP, 'A');
    expect(await net.vipHolders(VIP)).toEqual(['B']);
    await expect(net.assignVip(`${VIP}/24 dev lo; reboot`, 'B')).rejects.toThrow(/invalid VIP/);
    await expect(net.assignVip(VIP, 'C')).rejects.toThrow(/VIP holder C: not configured/);
    await expect(net.assignVip(VIP, '$(id)')).rejects.toThrow(/invalid VIP holder/);
    await expect(net.poolAdd('web', 'A')).rejects.toThrow(/not available in live mode/);
    await net.removeVip(VIP, 'B');
    expect(await net.vipHolders(VIP)).toEqual([]);
  });
});

describe('Wake-on-LAN', () => {
  it('a magic packet to the lab broadcast reaches a listener inside a host namespace', async () => {
    const listener = await inNs(lab.hosts[1].ns, [NODE, '-e', `
      const s = require('dgram').createSocket('udp4');
      s.on('message', (m, r) => console.log('packet ' + r.address + ' ' + m.toString('hex')));
      s.bind(9, '0.0.0.0', () => console.log('ready'));
    `], 'ready');
    const power = new LivePower({ exec, wol: { broadcast: lab.broadcast, port: 9 }, macs: { A: mac('A'), B: mac('B') } });
    await power.wake(mac('A'));
    await power.resume('B'); // resume from suspend = a magic packet for B's MAC
    await new Promise((r) => setTimeout(r, 300));
    const packets = listener.output().split('\n').filter((l) => l.startsWith('packet ')).map((l) => l.split(' '));
    expect(packets.map((p) => p[1])).toEqual([lab.gateway, lab.gateway]);
    expect(packets.map((p) => parseMagicPacket(Buffer.from(p[2], 'hex')))).toEqual([mac('A'), mac('B')]);
    await expect(power.wake('02:31:29:00:00:02; reboot')).rejects.toThrow(/MAC/);
  });

  it('a magic packet to the loopback broadcast reaches a listener bound to 0.0.0.0', async () => {
    const s = createSocket({ type: 'udp4' });
    await new Promise<void>((r) => s.bind(0, '0.0.0.0', () => r()));
    const got = new Promise<Buffer>((r) => s.once('message', (m) => r(m)));
    await sendMagicPacket('02:77:00:00:00:11', { broadcast: '127.255.255.255', port: s.address().port });
    expect(parseMagicPacket(await got)).toBe('02:77:00:00:00:11');
    s.close();
  });
});

describe('probes across the lab subnet', () => {
  it('examine: ok for a host with its service; network for an address nobody holds', async () => {
    await inNs(lab.hosts[0].ns, [NODE, TINY_SERVER, 'http', '80', 'A'], 'listening', { HATWIN_BIND: lab.hosts[0].address });
    const prober = new LiveProber(new ServiceRegistry(
      [{ name: 'A', address: lab.hosts[0].address }, { name: 'ghost', address: `10.231.${OCTET}.99` }],
      [{ target: 'A', service: 'httpd', port: 80, check: { protocol: 'http' } }, { target: 'ghost', service: 'httpd', port: 80, check: { protocol: 'http' } }],
    ));
    const exam = { kind: 'examine' as const, networkTimeoutUs: 300_000, serviceTimeoutUs: 500_000, services: ['httpd'] };
    expect(await prober.probe({ ...exam, target: 'A' })).toMatchObject({ ok: true, detail: 'ok' });
    const t0 = performance.now();
    expect(await prober.probe({ ...exam, target: 'ghost' })).toMatchObject({ ok: false, detail: 'network' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await prober.probe({ kind: 'network', target: 'ghost', timeoutUs: 300_000 })).toMatchObject({ ok: false, detail: 'unreachable' });
    expect((await prober.probe({ kind: 'service', target: 'ghost', service: 'httpd', timeoutUs: 300_000 })).ok).toBe(false);
  });
});

describe('the Hypervisor gate\'s probe across the lab subnet (adapters/lab/reach-gate.ts)', () => {
  it('a host whose sshd answers is reached; behind a drop rule it is not, after the timeout; reached again once the rule is gone', async () => {
    const a = lab.hosts[0];
    const nft = requireBinary('/usr/sbin/nft');
    const inA = (...argv: string[]) => {
      const r = spawnSync(requireBinary('/usr/sbin/ip'), ['netns', 'exec', a.ns, nft, ...argv], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nft ${argv.join(' ')} in ${a.ns}: ${r.stderr}`);
    };
    expect(await tcpReach(a.address, 22, 1_000)).toBe(true);
    // As a lab partition cuts a host off: A drops what comes from the root namespace's address.
    inA('add', 'table', 'inet', 'hwgate');
    inA('add', 'chain', 'inet', 'hwgate', 'input', '{ type filter hook input priority 0 ; }');
    inA('add', 'rule', 'inet', 'hwgate', 'input', 'ip', 'saddr', lab.gateway, 'drop');
    try {
      const t0 = performance.now();
      expect(await tcpReach(a.address, 22, 1_000)).toBe(false);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    } finally {
      inA('delete', 'table', 'inet', 'hwgate');
    }
    expect(await tcpReach(a.address, 22, 1_000)).toBe(true);
  });
});
