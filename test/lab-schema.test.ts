// Lab files: a mistake is refused before anything is built, with the file, the line, the field
// and what was expected (unknown host, duplicate address, missing key file, address outside the
// lab subnet, a subnet that is not private, ...).
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScenarioError, formatProblem, type Problem } from '../sim/scenario/load.ts';
import { expandArgv, loadLab, parseLab, REPO_DIR } from '../adapters/lab/schema.ts';
import { isPrivateSubnet, parseCidr } from '../adapters/lab/ipv4.ts';
import { domainXml, guestCmdline } from '../adapters/lab/libvirt.ts';
import { domainPrefix, labDomains, labInterfaces, labNamespaces, nsPrefix } from '../adapters/lab/names.ts';
import { formatAccess, parseAccessLog } from '../adapters/lab/accesslog.ts';

const MINI = join(REPO_DIR, 'experiments/labs/p2p-mini.yaml');
const text = readFileSync(MINI, 'utf8');

function problemsOf(t: string, file = join(REPO_DIR, 'experiments/labs/bad.yaml')): Problem[] {
  try {
    parseLab(t, file);
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  throw new Error('expected the lab file to be refused');
}

function oneProblem(t: string): Problem {
  const ps = problemsOf(t);
  expect(ps, ps.map(formatProblem).join('\n')).toHaveLength(1);
  return ps[0];
}

const lineOf = (t: string, needle: string) => t.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('lab file', () => {
  it('p2p-mini: four hosts with a service each, their backup VMs, a VIP each, a client', () => {
    const lab = loadLab(MINI);
    expect(lab.hosts.map((h) => h.name)).toEqual(['Login', 'Mail', 'FTP', 'Web1']);
    expect(lab.backupVms.map((v) => `${v.name}<-${v.backs}`)).toEqual(['Loginb<-Login', 'Mailb<-Mail', 'FTPb<-FTP', 'Web1b<-Web1']);
    // A backup VM offers its host's services unless told otherwise.
    expect(lab.backupVms[1].services).toEqual([{ name: 'postfix', protocol: 'banner', port: 25, expect: undefined }]);
    expect(lab.hosts[0].bootDelay).toBe(5_000_000);
    expect(lab.client.interval).toBe(1_000_000);
    expect(lab.vips.map((v) => v.holder)).toEqual(['Login', 'Mail', 'FTP', 'Web1']);
    expect(lab.stateDir).toBe('/run/hatwin/p2p-mini');
    expect(lab.keys.sshKeyPath).toBe(join(REPO_DIR, 'out/lab/p2p-mini/keys/id_ed25519'));
    expect(expandArgv(lab.hosts[1].services[0].argv, lab, lab.hosts[1], 25)).toEqual(['busybox', 'nc', '-ll', '-p', '25', '-e', join(REPO_DIR, 'scripts/guest/svc/banner.sh')]);
    // Interface names fit Linux's 15 characters.
    for (const i of labInterfaces(lab)) expect(i.length).toBeLessThanOrEqual(15);
  });

  it('a public subnet is refused: the lab must stay private', () => {
    const p = oneProblem(text.replace('subnet: 10.77.0.0/24', 'subnet: 8.8.8.0/24'));
    expect(p.field).toBe('subnet');
    expect(p.line).toBe(lineOf(text, 'subnet:'));
    expect(p.message).toMatch(/not private/);
  });

  it('a subnet given by a host address suggests the network address', () => {
    expect(oneProblem(text.replace('subnet: 10.77.0.0/24', 'subnet: 10.77.0.5/24')).message).toMatch(/did you mean 10\.77\.0\.0\/24/);
  });

  it('an address outside the lab subnet: its line and field', () => {
    const bad = text.replace('address: 10.77.0.13', 'address: 10.78.0.13');
    const p = oneProblem(bad);
    expect(p.field).toBe('hosts.2.address');
    expect(p.line).toBe(lineOf(bad, '10.78.0.13'));
    expect(p.message).toBe('10.78.0.13 is outside the lab subnet 10.77.0.0/24');
  });

  it('a duplicate address names who has it', () => {
    const bad = text.replace('address: 10.77.0.103', 'address: 10.77.0.12');
    const p = oneProblem(bad);
    expect(p.field).toBe('vips.2.address');
    expect(p.message).toBe('address 10.77.0.12 is already used by host "Mail"');
  });

  it('an unknown host (backup VM, VIP holder) lists the hosts', () => {
    const bad = text.replace('backs: FTP,', 'backs: Ftp,').replace('holder: Web1 }', 'holder: Web2 }');
    const ps = problemsOf(bad);
    expect(ps.map((p) => p.field)).toEqual(['backupVms.2.backs', 'vips.3.holder']);
    expect(ps[0].message).toBe('no host "Ftp" (hosts: Login, Mail, FTP, Web1)');
    expect(ps[1].line).toBe(lineOf(bad, 'holder: Web2'));
  });

  it('pss-mini: guests on real servers (six running with their VIPs), a balancer VIP per group over its VIPs, modelled watts', () => {
    const file = join(REPO_DIR, 'experiments/labs/pss-mini.yaml');
    const pss = loadLab(file);
    expect(pss.hosts.map((h) => h.name)).toEqual(['mgmt', 'RS1', 'RS2', 'RS3', 'lb']);
    expect(pss.backupVms.filter((v) => v.start === 'running').map((v) => `${v.name}@${v.on}`)).toEqual(['M1@RS1', 'W1@RS1', 'F1@RS2', 'M2@RS2', 'W2@RS3', 'F2@RS3']);
    expect(pss.backupVms.filter((v) => v.on === undefined)).toHaveLength(6);
    expect(pss.vips.filter((v) => v.members).map((v) => `${v.name}:${v.members!.join('+')}`)).toEqual(['mail:VIP1+VIP4', 'web:VIP2+VIP5', 'ftp:VIP3+VIP6']);
    expect(pss.hosts[3]).toMatchObject({ resumeDelay: 853_000, watts: { on: 28, suspended: 3, off: 0 } });
    for (const i of labInterfaces(pss)) expect(i.length).toBeLessThanOrEqual(15);
    const ptext = readFileSync(file, 'utf8');
    const bad = (from: string, to: string) => problemsOf(ptext.replace(from, to), file).map((p) => `${p.field}: ${p.message}`);
    expect(bad('name: W2, on: RS3, start: running', 'name: W2, on: RS4, start: running')).toEqual(['backupVms.4.on: no host "RS4" (hosts: mgmt, RS1, RS2, RS3, lb)']);
    // A VIP on a guest that is suspended at start, or that does not offer its service.
    expect(bad('name: W2, on: RS3, start: running', 'name: W2, on: RS3')).toEqual(['vips.4.holder: guest "W2" holds a VIP at start: give it start: running']);
    expect(bad('service: httpd, holder: W2', 'service: postfix, holder: W2')).toEqual(['vips.4.service: guest "W2" has no service "postfix"', 'vips.7.members.1: VIP "VIP5" offers "postfix", not "httpd"']);
    expect(bad('members: [VIP1, VIP4]', 'members: [VIP1, VIP2]')).toEqual(['vips.6.members.1: VIP "VIP2" offers "httpd", not "postfix"']);
    expect(bad('members: [VIP1, VIP4]', 'members: [VIP1, VIP9]')[0]).toMatch(/^vips\.6\.members\.1: no VIP "VIP9"/);
  });

  it('a VIP for a service its holder does not run', () => {
    expect(oneProblem(text.replace('service: vsftpd, holder: FTP', 'service: httpd, holder: FTP')).message).toBe('host "FTP" has no service "httpd" (its services: vsftpd)');
  });

  it('a missing key file is refused (unless the lab may generate its keys)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-keys-'));
    try {
      const bad = text.replace('dir: ../../out/lab/p2p-mini/keys', `dir: ${dir}`).replace('generate: true', 'generate: false');
      const ps = problemsOf(bad);
      expect(ps[0].field).toBe('keys.sshKey');
      expect(ps[0].message).toBe(`missing key file ${dir}/id_ed25519 (create it, or set keys.generate: true to have \`hatwin lab up\` create the lab's keys)`);
      expect(ps[0].line).toBe(lineOf(bad, `dir: ${dir}`)); // the keys block starts there
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('duplicate MACs, a multicast MAC, an unknown argv placeholder, an unknown field', () => {
    expect(oneProblem(text.replace('mac: "02:77:00:00:00:14"', 'mac: "02:77:00:00:00:13"')).message).toBe('MAC 02:77:00:00:00:13 is already used by host "FTP"');
    expect(oneProblem(text.replace('mac: "02:77:00:00:00:14"', 'mac: "03:77:00:00:00:14"')).message).toMatch(/unicast/);
    const ph = oneProblem(text.replace('"{repo}/scripts/guest/svc/http.sh"', '"{home}/http.sh"'));
    expect(ph.field).toBe('hosts.3.services.0.argv.6');
    expect(ph.message).toMatch(/unknown placeholder \{home\}/);
    const uf = oneProblem(text.replace('wolPort: 9', 'wolPort: 9\nwolPassword: x'));
    expect(uf.message).toBe('unknown field "wolPassword"');
    expect(uf.line).toBe(lineOf(text, 'wolPort') + 1);
  });

  it('names: bridge at most 15 characters, hosts and VMs share one namespace', () => {
    expect(oneProblem(text.replace('name: hw-p2pmini,', 'name: hatwin-p2p-mini-bridge,')).field).toBe('bridge.name');
    expect(oneProblem(text.replace('name: Web1b,', 'name: web1,')).message).toMatch(/name "web1" is already used by host "Web1"/);
  });

  it('private ranges: 10/8, 172.16/12, 192.168/16 only', () => {
    const p = (s: string) => isPrivateSubnet(parseCidr(s)!);
    expect([p('10.77.0.0/24'), p('172.31.0.0/16'), p('192.168.5.0/24')]).toEqual([true, true, true]);
    expect([p('172.32.0.0/16'), p('11.0.0.0/24'), p('192.169.0.0/24'), p('0.0.0.0/0')]).toEqual([false, false, false, false]);
  });
});

describe('lab pieces', () => {
  it('one lab\'s names never prefix another\'s (lab p2p-mini vs p2p-mini-l): teardown cannot reach a neighbour', () => {
    const a = loadLab(MINI);
    const b = parseLab(text.replace(/^name: p2p-mini$/m, 'name: p2p-mini-l'), MINI);
    for (const n of labNamespaces(b)) expect(n.startsWith(nsPrefix(a)), n).toBe(false);
    for (const d of labDomains(b)) expect(d.startsWith(domainPrefix(a)), d).toBe(false);
    expect(labNamespaces(a).filter((n) => labNamespaces(b).includes(n))).toEqual([]);
  });

  it('a guest: software emulation, direct kernel boot, on the lab bridge, configured by its command line', () => {
    const lab = loadLab(MINI);
    const vm = lab.backupVms[3];
    expect(guestCmdline(lab, vm)).toBe('console=ttyS0 ipv6.disable=1 panic=-1 quiet hatwin.name=Web1b hatwin.ip=10.77.0.24/24 hatwin.svc=http:80');
    const xml = domainXml(lab, vm, { kernel: '/k', initrd: '/i' });
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain('<name>hatwin_p2p-mini_Web1b</name>');
    expect(xml).toContain("<source bridge='hw-p2pmini'/>");
    expect(xml).toContain("<mac address='52:54:00:77:00:24'/>");
    expect(xml).toContain("name='org.qemu.guest_agent.0'");
  });

  it('access log lines round-trip', () => {
    const t = Date.parse('2026-01-02T03:04:05.000Z');
    const lines = [
      formatAccess(t, 'vip-ftp', '10.77.0.103', { ok: true, detail: 'ok', latencyMs: 3.25, servedBy: 'FTP' }),
      formatAccess(t + 1000, 'vip-ftp', '10.77.0.103', { ok: false, detail: 'timeout', latencyMs: 800 }),
    ];
    expect(lines[0]).toBe('2026-01-02T03:04:05.000Z vip-ftp 10.77.0.103 OK 3.3ms by=FTP');
    expect(parseAccessLog(lines.join('\n'))).toEqual([
      { tMs: t, vip: 'vip-ftp', address: '10.77.0.103', ok: true, latencyMs: 3.3, servedBy: 'FTP' },
      { tMs: t + 1000, vip: 'vip-ftp', address: '10.77.0.103', ok: false, latencyMs: 800, detail: 'timeout' },
    ]);
  });
});

describe('hatwin lab (command line)', () => {
  const cli = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(REPO_DIR, 'bin/hatwin.js'), 'lab', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr });
    });
  });

  it('a lab file with a mistake: exit 2, file:line:column: field: message, nothing built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-lab-'));
    try {
      const file = join(dir, 'bad.yaml');
      const bad = text.replace('address: 10.77.0.13', 'address: 192.168.1.13');
      writeFileSync(file, bad);
      const r = await cli(['up', file]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`${file}:${lineOf(bad, '192.168.1.13')}:14: hosts.2.address: 192.168.1.13 is outside the lab subnet 10.77.0.0/24`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('status of a lab that is not up says so (exit 3); a fault on an unknown host names the hosts (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-lab-'));
    try {
      const file = join(dir, 'idle.yaml');
      writeFileSync(file, text.replace(/^name: p2p-mini$/m, 'name: never-up').replace('name: hw-p2pmini,', 'name: hw-neverup,').replaceAll('10.77.0.', '10.77.99.').replace('dir: ../../out/lab/p2p-mini/keys', `dir: ${dir}/keys`));
      const s = await cli(['status', file]);
      expect(s.code).toBe(3);
      expect(s.stdout.trim()).toBe('lab never-up: down');
      const f = await cli(['fault', file, 'Ftp', 'Nt2']);
      expect(f.code).toBe(1);
      expect(f.stderr).toContain('lab "never-up" has no host "Ftp" (hosts: Login, Mail, FTP, Web1)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
