// `hatwin settle` (bin/commands/settle.ts over policies/lbcluster/settle/): the example request
// gives Chen and Lo's Table 1; the same request and state give the same files; bad requests get
// file:line errors; secrets and commands are safe. As root with the Debian packages
// (scripts/apt/lab.txt: keepalived, nftables, iproute2), the real tools judge the output:
// keepalived -t and nft -c accept every generated file, a broken keepalived.conf is rejected with
// keepalived's own message and nothing reaches the output folder, the ruleset loads into a
// scratch namespace, and the real-server commands work in one. Without root those tests are
// skipped, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScenarioError } from '../sim/scenario/load.ts';
import { generate } from '../policies/lbcluster/settle/generate.ts';
import { planCluster, PlanError } from '../policies/lbcluster/settle/plan.ts';
import { assertAuthPass, keepalivedConf, vrrpModel } from '../policies/lbcluster/settle/keepalived.ts';
import { gracefulTakeoverUs, killTakeoverRangeUs, masterDownUs } from '../policies/lbcluster/vrrp.ts';
import { startChild, type Child } from './helpers/live/procs.ts';
import { nftRuleset, tableName } from '../policies/lbcluster/settle/firewall.ts';
import { realServerSetup } from '../policies/lbcluster/settle/realserver.ts';
import type { SettleRequest } from '../policies/lbcluster/settle/request.ts';
import {
  checkFiles, installChecked, newSecret, readRequest, readSecret, register, scratchNamespace, settle, SettleCheckError, takeoverSummary,
} from '../bin/commands/settle.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = join(REPO, 'experiments/labs/lb-settle-request.yaml');
const SECRET = 'Abc123xy';
const S = 1_000_000;
const isRoot = process.getuid?.() === 0;
const NOT_ROOT = 'not root: keepalived -t runs in a scratch network namespace and nft -c asks the kernel (run the suite as root with scripts/apt/lab.txt installed)';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'hatwin-settle-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const example = (): SettleRequest => readRequest(EXAMPLE).request;

/** A request file made from the example with some lines replaced. */
function variant(name: string, edit: (text: string) => string): string {
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, edit(readFileSync(EXAMPLE, 'utf8')));
  return f;
}

function problemsOf(file: string): string {
  try {
    readRequest(file);
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  throw new Error(`${file} was accepted`);
}

/** The 1-based line of the first line of `file` that contains `text`. */
const lineOf = (file: string, text: string) => readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

describe('the example request (Chen and Lo\'s PLM cluster)', () => {
  it('allocates VIP .210 and the servers .211-.214, and the NAT table of their Table 1', () => {
    const { plan } = generate(example(), SECRET);
    expect(plan.vip).toBe('192.168.100.210');
    expect(plan.routerId).toBe(51);
    expect(plan.servers.map((s) => s.address)).toEqual(['192.168.100.211', '192.168.100.212', '192.168.100.213', '192.168.100.214']);
    const nat = Object.fromEntries(plan.nat.map((e) => [e.what, `192.168.2.215:${e.externalPort} -> ${e.toAddress}:${e.toPort}`]));
    expect(nat).toEqual({
      plm: '192.168.2.215:8080 -> 192.168.100.210:8080',
      'vnc ap1': '192.168.2.215:5911 -> 192.168.99.250:5921',
      'vnc ap2': '192.168.2.215:5912 -> 192.168.99.250:5922',
      'vnc ap3': '192.168.2.215:5913 -> 192.168.99.251:5921',
      'vnc ap4': '192.168.2.215:5914 -> 192.168.99.251:5922',
      'ssh ap1': '192.168.2.215:2211 -> 192.168.100.211:22',
      'ssh ap2': '192.168.2.215:2212 -> 192.168.100.212:22',
      'ssh ap3': '192.168.2.215:2213 -> 192.168.100.213:22',
      'ssh ap4': '192.168.2.215:2214 -> 192.168.100.214:22',
    });
  });

  it('keepalived.conf: unicast VRRP between the masters with the secret, and a DR wrr virtual server with a TCP check on every real server', () => {
    const req = example();
    const { plan, files } = generate(req, SECRET);
    expect(files.map((f) => f.path)).toEqual([
      'settle.json', 'masters/ms1/keepalived.conf', 'masters/ms2/keepalived.conf',
      'realservers/ap1.json', 'realservers/ap2.json', 'realservers/ap3.json', 'realservers/ap4.json',
      'firewall/plm.nft', 'nat-table.md',
    ]);
    const ms1 = keepalivedConf(req, plan, 0, SECRET);
    const ms2 = keepalivedConf(req, plan, 1, SECRET);
    for (const l of ['state MASTER', 'priority 200', 'unicast_src_ip 192.168.100.201', 'auth_pass Abc123xy', '192.168.100.210/24 dev eth0', 'virtual_router_id 51']) expect(ms1).toContain(l);
    expect(ms1).toMatch(/unicast_peer \{\n\s+192\.168\.100\.202\n\s+\}/);
    for (const l of ['state BACKUP', 'priority 100', 'unicast_src_ip 192.168.100.202']) expect(ms2).toContain(l);
    for (const l of ['virtual_server 192.168.100.210 8080 {', 'lb_algo wrr', 'lb_kind DR', 'persistence_timeout 60', 'delay_loop 1', 'connect_timeout 3', 'retry 2', 'delay_before_retry 1']) {
      expect(ms1).toContain(l);
    }
    expect(ms1.match(/real_server 192\.168\.100\.21[1-4] 8080 \{/g)).toHaveLength(4);
    expect(ms1.match(/TCP_CHECK \{/g)).toHaveLength(4);
    // Files holding the secret are private.
    for (const f of files) expect(f.mode).toBe(f.path.endsWith('keepalived.conf') ? 0o600 : 0o644);
  });

  it('the real servers: ARP settings before the VIP on lo, as argv (no shell); undo in reverse', () => {
    const req = example();
    const plan = planCluster(req);
    const r = realServerSetup(req, plan, plan.servers[0]);
    expect(r.apply.at(-1)).toEqual(['ip', 'addr', 'add', '192.168.100.210/32', 'dev', 'lo', 'label', 'lo:0']);
    expect(r.apply.slice(0, 2)).toEqual([['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1'], ['sysctl', '-w', 'net.ipv4.conf.all.arp_announce=2']]);
    expect(r.undo[0]).toEqual(['ip', 'addr', 'del', '192.168.100.210/32', 'dev', 'lo']);
    for (const argv of [...r.apply, ...r.undo]) for (const a of argv) expect(a).toMatch(/^[A-Za-z0-9._:/=-]+$/);
  });

  it('the VRRP model of the pair: MS2 (priority 100) takes over 2.61..3.61 s after a kill of MS1, 0.61 s after a graceful stop', () => {
    expect(vrrpModel(example()).map((m) => [m.name, m.priority, m.initialState])).toEqual([['ms1', 200, 'MASTER'], ['ms2', 100, 'BACKUP']]);
    expect(takeoverSummary(example())).toEqual([
      'if ms1 dies (SIGKILL, power): ms2 (priority 100) takes the VIP after 2.61..3.61 s (mean 3.11 s)',
      'if ms1 stops gracefully: ms2 takes it after 0.61 s',
    ]);
  });

  it('nopreempt or a preempt delay: both masters start BACKUP (keepalived ignores them with state MASTER)', () => {
    const req = { ...example(), vrrp: { advertInt: 1, preempt: false, preemptDelay: 0, routerId: 51 } };
    const plan = planCluster(req);
    expect(keepalivedConf(req, plan, 0, SECRET)).toContain('state BACKUP\n');
    expect(keepalivedConf(req, plan, 0, SECRET)).toContain('  nopreempt\n');
    const d = { ...example(), vrrp: { advertInt: 1, preempt: true, preemptDelay: 30_000_000, routerId: 51 } };
    expect(keepalivedConf(d, planCluster(d), 0, SECRET)).toContain('preempt_delay 30\n');
    expect(keepalivedConf(d, planCluster(d), 0, SECRET)).toContain('state BACKUP\n');
  });

  it('the firewall: a table of its own, DNAT for every NAT entry, only allowed sources, no direct access to the segment', () => {
    const req = example();
    const nft = nftRuleset(req, planCluster(req));
    expect(tableName('my-app')).toBe('hatwin_my_app');
    expect(nft).toContain('table ip hatwin_plm {');
    expect(nft).toContain('iifname "eth1" ip daddr 192.168.2.215 tcp dport 8080 dnat to 192.168.100.210:8080 comment "plm"');
    expect(nft).toContain('elements = { 192.168.0.0/16, 10.0.0.0/8 }');
    expect(nft).toContain('iifname "eth1" ct status dnat ip saddr != @allowed_sources drop');
    expect(nft.trimEnd().split('\n').at(-3)).toBe('    iifname "eth1" ip daddr 192.168.100.0/24 drop comment "no direct access to plm"');
  });
});

describe('idempotence: the same request and state give the same allocations and files', () => {
  it('generating twice gives identical files', () => {
    expect(generate(example(), SECRET)).toEqual(generate(example(), SECRET));
  });

  it('with its last plan, a cluster keeps its VIP and ports even once `existing` lists them; without it they move on', () => {
    const req = example();
    const first = planCluster(req);
    const later: SettleRequest = {
      ...req,
      existing: {
        ...req.existing,
        addresses: [...req.existing.addresses, first.vip, ...first.servers.map((s) => s.address)],
        ports: [...req.existing.ports, ...first.nat.map((e) => e.externalPort)],
        routerIds: [...req.existing.routerIds, first.routerId],
      },
    };
    expect(planCluster(later, first)).toEqual(first);
    expect(generate(later, SECRET, first).files).toEqual(generate(req, SECRET, first).files);
    // Without the last plan those are someone's: a new VIP, and the service port clashes.
    expect(() => planCluster(later)).toThrow(PlanError);
    expect(() => planCluster(later)).toThrow('vrrp.routerId: virtual router id 51 is already used on the segment (existing.routerIds)');
    const noSvc = { ...later, existing: { ...later.existing, ports: later.existing.ports.filter((p) => p !== 8080), routerIds: [50] } };
    const other = planCluster(noSvc);
    expect(other.vip).toBe('192.168.100.215');
    expect(other.servers[0].sshPort).toBe(2215);
  });

  it('another cluster\'s plan is not this one\'s state', () => {
    const req = example();
    const first = planCluster(req);
    const taken = { ...req, existing: { ...req.existing, addresses: [...req.existing.addresses, first.vip] } };
    expect(planCluster(taken, { ...first, cluster: 'erp' }).vip).toBe('192.168.100.211');
  });
});

describe('bad requests: file:line errors naming the field', () => {
  it('a full segment', () => {
    const f = variant('full', (t) => t.replace('allocate: { from: 192.168.100.210, to: 192.168.100.250 }', 'allocate: { from: 192.168.100.210, to: 192.168.100.212 }'));
    const msg = problemsOf(f);
    expect(msg).toContain(`${f}:${lineOf(f, 'segment:')}:`);
    expect(msg).toContain('segment: no free address for server ap3 in 192.168.100.210..192.168.100.212: all 3 host addresses are taken');
    const g = variant('full2', (t) => t.replace('segment: 192.168.100.0/24', 'segment: 192.168.100.200/30').replace(/allocate: .*\n/, '').replace('192.168.100.201, 192.168.100.202]   #', '192.168.100.201, 192.168.100.202] #'));
    expect(problemsOf(g)).toContain(`${g}:${lineOf(g, 'segment:')}:10: segment: no free address for the VIP of plm in 192.168.100.200/30: all 2 host addresses are taken`);
    const h = variant('outside', (t) => t.replace('address: 192.168.100.202', 'address: 10.0.0.2'));
    expect(problemsOf(h)).toContain('masters.1.address: 10.0.0.2 is not a host address of 192.168.100.0/24: a master must be on the servers\' segment (direct routing)');
  });

  it('a clashing port', () => {
    const f = variant('clash', (t) => t.replace('port: 8080', 'port: 443'));
    expect(problemsOf(f)).toContain(`${f}:${lineOf(f, 'port: 443')}:`);
    expect(problemsOf(f)).toContain('services.0.port: port 443 clashes: it is already forwarded on 192.168.2.215 (existing.ports)');
    const twice = variant('twice', (t) => t.replace(/(  - \{ name: plm.*\n)/, '$1  - { name: plm2, protocol: tcp, port: 8080 }\n'));
    expect(problemsOf(twice)).toContain('services.1.port: port 8080 clashes: service plm uses it too');
  });

  it('an invalid host name (and an injection attempt through one)', () => {
    const f = variant('name', (t) => t.replace('cluster: plm', 'cluster: "plm; rm -rf /"'));
    expect(problemsOf(f)).toContain(`${f}:${lineOf(f, 'cluster:')}:`);
    expect(problemsOf(f)).toContain('cluster: invalid host name');
    expect(problemsOf(variant('name2', (t) => t.replace('name: ms2', 'name: -ms2')))).toContain('masters.1.name: invalid host name');
    expect(problemsOf(variant('name3', (t) => t.replace('name: hostb', 'name: host_b')))).toContain('servers.hosts.1.name: invalid host name');
    expect(problemsOf(variant('name4', (t) => t.replace('name: ms2', 'name: MS1')))).toContain('masters.1.name: the name "MS1" is used twice (also at masters.0.name)');
    expect(problemsOf(variant('iface', (t) => t.replace('interface: eth0, priority: 200', 'interface: "eth0 up", priority: 200')))).toContain('masters.0.interface: invalid interface name');
  });

  it('zero servers', () => {
    const f = variant('zero', (t) => t.replace('count: 4', 'count: 0'));
    expect(problemsOf(f)).toContain(`${f}:${lineOf(f, 'count: 0')}:`);
    expect(problemsOf(f)).toContain('servers.count: at least one application server is needed');
  });

  it('other mistakes: unknown fields, weights for the wrong count, a router id in use, preempt delay without preempt, HTTP on UDP', () => {
    expect(problemsOf(variant('u', (t) => t.replace('count: 4', 'count: 4\n  bogus: 1')))).toContain('servers.bogus: unknown field "bogus"');
    expect(problemsOf(variant('w', (t) => t.replace('count: 4', 'count: 4\n  weights: [1, 2]')))).toContain('servers.weights: 2 weights for 4 servers');
    expect(problemsOf(variant('v', (t) => t.replace('routerId: 51', 'routerId: 50')))).toContain('vrrp.routerId: virtual router id 50 is already used on the segment');
    expect(problemsOf(variant('p', (t) => t.replace('advertInt: 1,', 'advertInt: 1, preempt: false, preemptDelay: 10s,')))).toContain('vrrp.preemptDelay: a preempt delay needs preempt: true');
    expect(problemsOf(variant('h', (t) => t.replace('protocol: tcp, port: 8080, check: { kind: tcp }', 'protocol: udp, port: 8080, check: { kind: http }')))).toContain('services.0.check: an HTTP check needs a TCP service');
    expect(problemsOf(variant('path', (t) => t.replace('check: { kind: tcp }', 'check: { kind: http, path: "/a b" }')))).toContain('services.0.check.path: expected a URL path');
  });
});

describe('the VRRP secret', () => {
  it('is 1..8 letters or digits: nothing that could end or comment out a keepalived.conf line', () => {
    expect(assertAuthPass('Abc123xy')).toBe('Abc123xy');
    expect(() => assertAuthPass('Abc123xyz')).toThrow('1..8 letters or digits');
    expect(() => assertAuthPass('abc#1')).toThrow('with others than letters and digits');
    expect(() => assertAuthPass('')).toThrow();
    expect(() => keepalivedConf(example(), planCluster(example()), 0, 'a b')).toThrow();
  });

  it('a new one is 8 characters from the CSPRNG (never a constant); a key file is read back, one line', () => {
    const a = newSecret();
    expect(a).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(new Set(Array.from({ length: 20 }, newSecret)).size).toBe(20);
    const f = join(tmp, 'key');
    writeFileSync(f, 'Zz9Zz9\n');
    expect(readSecret(f)).toBe('Zz9Zz9');
    writeFileSync(f, 'too-long-secret\n');
    expect(() => readSecret(f)).toThrow(`${f}: the VRRP secret must be one line of 1..8 letters or digits`);
  });
});

describe.skipIf(!isRoot)(`with the real keepalived and nft (${isRoot ? 'root' : NOT_ROOT})`, () => {
  beforeAll(() => {
    for (const p of ['/usr/sbin/keepalived', '/usr/sbin/nft', '/usr/sbin/ip', '/usr/sbin/sysctl']) {
      if (!existsSync(p)) throw new Error(`${p} is missing: install the packages of scripts/apt/lab.txt (as root: node scripts/setup.mjs --need lab)`);
    }
  });

  /** Runs `hatwin settle` through its commander registration; returns what it printed. */
  async function runCommand(args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    register(program);
    const out: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
    console.error = (...a: unknown[]) => { out.push(a.join(' ')); };
    try {
      await program.parseAsync(['node', 'hatwin', 'settle', ...args]);
    } finally {
      console.log = log;
      console.error = err;
    }
    return out.join('\n');
  }

  const snapshot = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out[p.slice(dir.length + 1)] = readFileSync(p, 'utf8');
      }
    };
    walk(dir);
    return out;
  };

  it('hatwin settle on the example: keepalived -t and nft -c accept everything; it says what it wrote; a second run changes nothing', async () => {
    const dir = join(tmp, 'plm');
    const before = process.exitCode;
    const out = await runCommand([EXAMPLE, '--out', dir]);
    expect(process.exitCode).toBe(before);
    expect(out).toContain('cluster plm: VIP 192.168.100.210/24, virtual router id 51, 4 servers');
    expect(out).toContain(`generated a new VRRP secret in ${join(dir, 'vrrp.key')} (mode 0600)`);
    expect(out).toContain(`  ${join(dir, 'masters/ms1/keepalived.conf')}`);
    const first = snapshot(dir);
    expect(Object.keys(first).sort()).toEqual([
      'firewall/plm.nft', 'masters/ms1/keepalived.conf', 'masters/ms2/keepalived.conf', 'nat-table.md',
      'realservers/ap1.json', 'realservers/ap2.json', 'realservers/ap3.json', 'realservers/ap4.json',
      'settle-files.txt', 'settle.json', 'vrrp.key',
    ]);
    const secret = first['vrrp.key'].trim();
    expect(secret).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(first['masters/ms2/keepalived.conf']).toContain(`auth_pass ${secret}`);
    expect(statSync(join(dir, 'vrrp.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'masters/ms1/keepalived.conf')).mode & 0o777).toBe(0o600);

    const again = await runCommand([EXAMPLE, '--out', dir]);
    expect(again).not.toContain('generated a new VRRP secret');
    expect(snapshot(dir)).toEqual(first);
    // No staging folder is left next to it.
    expect(readdirSync(tmp).filter((n) => n.includes('.settle-'))).toEqual([]);
  });

  it('a key file elsewhere: created once (0600) and used again; fewer servers on a re-run drop the stale files', () => {
    const dir = join(tmp, 'keyed');
    const key = join(tmp, 'keys', 'plm.key');
    const r1 = settle({ requestFile: EXAMPLE, outDir: dir, keyFile: key });
    expect(r1.newKeyFile).toBe(key);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, 'vrrp.key'))).toBe(false);
    const three = variant('three', (t) => t.replace('count: 4', 'count: 3'));
    const r2 = settle({ requestFile: three, outDir: dir, keyFile: key });
    expect(r2.newKeyFile).toBeUndefined();
    expect(r2.plan.vip).toBe(r1.plan.vip);
    expect(existsSync(join(dir, 'realservers/ap4.json'))).toBe(false);
    expect(readFileSync(join(dir, 'masters/ms1/keepalived.conf'), 'utf8')).toContain(`auth_pass ${readFileSync(key, 'utf8').trim()}`);
  });

  it('a bad request through the command is a file:line error and writes nothing', async () => {
    const dir = join(tmp, 'bad');
    const f = variant('cmd-zero', (t) => t.replace('count: 4', 'count: 0'));
    await expect(runCommand([f, '--out', dir])).rejects.toThrow(ScenarioError);
    await expect(runCommand([f, '--out', dir])).rejects.toThrow(`${f}:${lineOf(f, 'count: 0')}:`);
    expect(existsSync(dir)).toBe(false);
  });

  it('a broken keepalived.conf is rejected with keepalived\'s own message, and nothing reaches the output folder', () => {
    const req = example();
    const { files } = generate(req, SECRET);
    const broken = files.map((f) => (f.path === 'masters/ms2/keepalived.conf' ? { ...f, text: f.text.replace('\n  priority 100\n', '\n  priorityy 100\n') } : f));
    // A fresh folder stays absent; a folder with files keeps them as they were.
    const fresh = join(tmp, 'broken-fresh');
    expect(() => installChecked(fresh, broken, ['eth0'])).toThrow(SettleCheckError);
    expect(existsSync(fresh)).toBe(false);
    const kept = join(tmp, 'broken-kept');
    mkdirSync(kept);
    writeFileSync(join(kept, 'settle.json'), 'old\n');
    let msg = '';
    try {
      installChecked(kept, broken, ['eth0']);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('masters/ms2/keepalived.conf rejected by keepalived -t (exit 5):');
    expect(msg).toContain("(masters/ms2/keepalived.conf: Line 13) Unknown keyword 'priorityy'");
    expect(snapshot(kept)).toEqual({ 'settle.json': 'old\n' });
    expect(readdirSync(tmp).filter((n) => n.includes('.settle-'))).toEqual([]);
  });

  it('keepalived -t: a VIP that is not an address, and an interface the namespace lacks, are rejected too', () => {
    const req = example();
    const { files } = generate(req, SECRET);
    const conf = files.find((f) => f.path === 'masters/ms1/keepalived.conf')!;
    const dir = join(tmp, 'kt');
    mkdirSync(join(dir, 'masters/ms1'), { recursive: true });
    writeFileSync(join(dir, conf.path), conf.text.replace('192.168.100.210/24 dev', '192.168.100.999/24 dev'));
    expect(() => checkFiles(dir, [conf], ['eth0'])).toThrow(/VRRP parsed invalid IP 192\.168\.100\.999\/24/);
    writeFileSync(join(dir, conf.path), conf.text);
    expect(checkFiles(dir, [conf], ['eth0'])).toEqual([]);
    expect(() => checkFiles(dir, [conf], ['eth9'])).toThrow(/interface eth0 for vrrp_instance VI_plm doesn't exist/);
  });

  it('nft -c rejects a broken ruleset with nft\'s own message (file:line:column)', () => {
    const req = example();
    const nft = generate(req, SECRET).files.find((f) => f.check === 'nft')!;
    const dir = join(tmp, 'nftc');
    mkdirSync(join(dir, 'firewall'), { recursive: true });
    writeFileSync(join(dir, nft.path), nft.text.replace('dnat to 192.168.100.210:8080', 'dnat to 192.168.100.210:80800'));
    expect(() => checkFiles(dir, [nft], [])).toThrow(/firewall\/plm\.nft rejected by nft -c \(exit 1\):\n\s+firewall\/plm\.nft:\d+:\d+-\d+: Error: /);
  });

  it('the ruleset loads into a namespace (twice: it replaces itself) and holds the DNAT of every NAT entry', () => {
    const req = example();
    const plan = planCluster(req);
    const nft = generate(req, SECRET).files.find((f) => f.check === 'nft')!;
    const file = join(tmp, 'load.nft');
    writeFileSync(file, nft.text);
    const ns = scratchNamespace([]);
    try {
      const run = (argv: string[]) => spawnSync('/usr/sbin/ip', ['netns', 'exec', ns.name, ...argv], { encoding: 'utf8' });
      for (let k = 0; k < 2; k++) {
        const r = run(['/usr/sbin/nft', '-f', file]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
      const list = run(['/usr/sbin/nft', 'list', 'table', 'ip', 'hatwin_plm']).stdout;
      for (const e of plan.nat) expect(list).toContain(`dport ${e.externalPort} dnat to ${e.toAddress}:${e.toPort}`);
      expect(list.match(/dnat to/g)).toHaveLength(plan.nat.length);
    } finally {
      ns.remove();
    }
  });

  it('the real-server commands work in a namespace: arp_ignore 1, arp_announce 2, the VIP on lo; undo restores', () => {
    const req = example();
    const plan = planCluster(req);
    const setup = realServerSetup(req, plan, plan.servers[0]);
    const ns = scratchNamespace(['eth0']);
    try {
      const run = (argv: string[]) => spawnSync('/usr/sbin/ip', ['netns', 'exec', ns.name, ...argv], { encoding: 'utf8' });
      const sysctl = (key: string) => run(['/usr/sbin/sysctl', '-n', key]).stdout.trim();
      spawnSync('/usr/sbin/ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
      for (const argv of setup.apply) {
        const r = run(argv);
        expect(r.status, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
      }
      for (const dev of ['all', 'lo', 'eth0']) {
        expect(sysctl(`net.ipv4.conf.${dev}.arp_ignore`)).toBe('1');
        expect(sysctl(`net.ipv4.conf.${dev}.arp_announce`)).toBe('2');
      }
      expect(run(['ip', '-4', 'addr', 'show', 'dev', 'lo']).stdout).toMatch(/inet 192\.168\.100\.210\/32 scope global lo:0/);
      for (const argv of setup.undo) expect(run(argv).status).toBe(0);
      expect(run(['ip', '-4', 'addr', 'show', 'dev', 'lo']).stdout).not.toContain('192.168.100.210');
      expect(sysctl('net.ipv4.conf.all.arp_ignore')).toBe('0');
    } finally {
      ns.remove();
    }
  });

  it('the generated pair runs under the real keepalived (VRRP only: no IPVS in this kernel) with the model\'s timing: start, SIGKILL, graceful stop', async () => {
    const req = example();
    const { files } = generate(req, SECRET);
    const dir = join(tmp, 'vrrp-live');
    for (const f of files.filter((x) => x.check === 'keepalived')) {
      mkdirSync(join(dir, dirname(f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.text);
    }
    const [m1, m2] = req.masters;
    const ns = { ms1: `hwlbA${process.pid}`, ms2: `hwlbB${process.pid}` };
    const ip = (...a: string[]) => {
      const r = spawnSync('/usr/sbin/ip', a, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
    };
    const hasVip = (n: string) => spawnSync('/usr/sbin/ip', ['-n', n, '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout.includes('192.168.100.210/');
    const children: Child[] = [];
    const pidOf = (f: string) => Number(readFileSync(f, 'utf8').trim());
    const start = (who: 'ms1' | 'ms2', tag: string): Child => {
      const c = startChild(['/usr/sbin/ip', 'netns', 'exec', ns[who], '/usr/sbin/keepalived', '-n', '-l', '-G', '-P',
        '-f', join(dir, `masters/${who}/keepalived.conf`), '-p', join(dir, `${tag}.pid`), '-r', join(dir, `${tag}-vrrp.pid`), '-c', join(dir, `${tag}-chk.pid`), '-b', join(dir, `${tag}-bfd.pid`)]);
      children.push(c);
      return c;
    };
    /** Seconds from t0 until cond holds (polled every 2 ms), or throws after 10 s. */
    const until = async (cond: () => boolean, t0: number, what: string) => {
      while (!cond()) {
        if (performance.now() - t0 > 10_000) throw new Error(`${what}: not after 10 s`);
        await new Promise((r) => setTimeout(r, 2));
      }
      return (performance.now() - t0) / 1000;
    };
    const waitPid = async (f: string) => until(() => existsSync(f) && readFileSync(f, 'utf8').trim() !== '', performance.now(), `pid file ${f}`);
    ip('netns', 'add', ns.ms1);
    ip('netns', 'add', ns.ms2);
    try {
      ip('-n', ns.ms1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.ms2);
      ip('-n', ns.ms1, 'addr', 'add', `${m1.address}/24`, 'dev', 'eth0');
      ip('-n', ns.ms2, 'addr', 'add', `${m2.address}/24`, 'dev', 'eth0');
      for (const n of [ns.ms1, ns.ms2]) for (const d of ['lo', 'eth0']) ip('-n', n, 'link', 'set', d, 'up');
      const skew2 = gracefulTakeoverUs(m2.priority) / 1e6;
      const down1 = masterDownUs(m1.priority, S) / 1e6;
      const kill = killTakeoverRangeUs(m2.priority, S);

      // Start: MS2 first, then MS1, which takes the VIP one master down (3.22 s) later: its state
      // MASTER does not shorten the wait.
      start('ms2', 'b');
      await new Promise((r) => setTimeout(r, 500));
      let t0 = performance.now();
      start('ms1', 'a1');
      const startS = await until(() => hasVip(ns.ms1), t0, 'ms1 master');
      expect(startS).toBeGreaterThan(down1 - 0.05);
      expect(startS).toBeLessThan(down1 + 0.6);
      expect(hasVip(ns.ms2)).toBe(false);

      // SIGKILL of MS1 (parent and VRRP child) at a random phase: MS2 takes over within (2.61, 3.61] s.
      await waitPid(join(dir, 'a1-vrrp.pid'));
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
      t0 = performance.now();
      // Both die at one instant: stopped first (a stopped process cannot react), then killed. Killed
      // one after the other, the VRRP child of a dead parent may shut down gracefully (priority 0)
      // before its own SIGKILL arrives when the machine is loaded.
      const victims = [pidOf(join(dir, 'a1-vrrp.pid')), pidOf(join(dir, 'a1.pid'))];
      for (const p of victims) process.kill(p, 'SIGSTOP');
      for (const p of victims) process.kill(p, 'SIGKILL');
      const killS = await until(() => hasVip(ns.ms2), t0, 'ms2 master after the kill');
      expect(killS).toBeGreaterThan(kill.min / 1e6 - 0.05);
      expect(killS).toBeLessThan(kill.max / 1e6 + 0.3);
      ip('-n', ns.ms1, 'addr', 'del', '192.168.100.210/24', 'dev', 'eth0'); // the dead master keeps it otherwise

      // MS1 back: it preempts one master down after it starts; then a graceful stop: MS2 after its skew.
      t0 = performance.now();
      start('ms1', 'a2');
      const preemptS = await until(() => hasVip(ns.ms1) && !hasVip(ns.ms2), t0, 'ms1 preempts');
      expect(preemptS).toBeGreaterThan(down1 - 0.05);
      expect(preemptS).toBeLessThan(down1 + 0.6);
      await waitPid(join(dir, 'a2.pid'));
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
      t0 = performance.now();
      process.kill(pidOf(join(dir, 'a2.pid')), 'SIGTERM');
      const gracefulS = await until(() => hasVip(ns.ms2), t0, 'ms2 master after the graceful stop');
      expect(gracefulS).toBeGreaterThan(skew2 - 0.01);
      expect(gracefulS).toBeLessThan(skew2 + 0.3);
      console.log(`keepalived pair: start ${startS.toFixed(3)} s (model ${down1.toFixed(3)}), SIGKILL ${killS.toFixed(3)} s (model ${(kill.min / 1e6).toFixed(3)}..${(kill.max / 1e6).toFixed(3)}), preempt ${preemptS.toFixed(3)} s, graceful ${gracefulS.toFixed(3)} s (model ${skew2.toFixed(3)})`);
    } finally {
      for (const c of children) await c.stop(500);
      for (const f of ['a1', 'a2', 'b']) {
        for (const k of ['', '-vrrp']) {
          const pf = join(dir, `${f}${k}.pid`);
          if (!existsSync(pf)) continue;
          const pid = Number(readFileSync(pf, 'utf8').trim());
          if (pid > 1) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
      }
      spawnSync('/usr/sbin/ip', ['netns', 'del', ns.ms1]);
      spawnSync('/usr/sbin/ip', ['netns', 'del', ns.ms2]);
    }
  }, 60_000);
});

