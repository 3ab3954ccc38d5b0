// The live adapters' pure parts, without any daemon: argv quoting (checked against real POSIX
// shells), name validation, pinned known-hosts parsing, magic packets, /proc parsing, message
// frames and their MACs, argv templates, `ip addr` parsing.
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { commandLine, shQuote } from '../adapters/ssh/quote.ts';
import { assertIpv4, assertName, parseMac } from '../adapters/ssh/names.ts';
import { hostKeyAlgorithms, keyIsPinned, parseKnownHosts, pinnedKeysFor } from '../adapters/ssh/known-hosts.ts';
import { isMagicPacketFor, magicPacket, parseMagicPacket } from '../adapters/wol/magic.ts';
import { parseProc } from '../adapters/ssh/proc-parse.ts';
import { loadBetween } from '../adapters/ssh/load.ts';
import { encodeAck, encodeMessage, openAck, openMessage } from '../adapters/messenger/frame.ts';
import { checkTemplate, expand } from '../adapters/ssh/template.ts';
import { vipInIpAddrOutput } from '../adapters/net/vip.ts';
import { LiveServices } from '../adapters/ssh/services.ts';
import type { Exec } from '../adapters/ssh/exec.ts';
import { HOSTILE } from './helpers/live/hostile.ts';


/** What a shell makes of a command line: the words printf receives, NUL-separated. */
function wordsVia(shell: string, args: string[]): string[] {
  const r = spawnSync(shell, ['-c', commandLine(['printf', '%s\\0', ...args])], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

describe('argv quoting: each argument reaches the program unchanged', () => {
  it('keeps hostile strings as single words in sh (dash) and bash', () => {
    for (const shell of ['/bin/sh', '/bin/bash']) expect(wordsVia(shell, HOSTILE)).toEqual(HOSTILE);
  });

  it('property: any NUL-free string survives a real shell as one word', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 4 }), (args) => {
      expect(wordsVia('/bin/sh', args)).toEqual(args);
    }), { numRuns: 60 });
  });

  it('leaves plain words bare and refuses NUL bytes and option-like programs', () => {
    expect(shQuote('/usr/sbin/ip')).toBe('/usr/sbin/ip');
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(() => shQuote('a\0b')).toThrow(/NUL/);
    expect(() => commandLine(['-oProxyCommand=x'])).toThrow(/plain command/);
    expect(() => commandLine(['rm -rf /'])).toThrow(/plain command/);
    expect(() => commandLine([])).toThrow(/empty/);
  });
});

describe('names and addresses are validated before use', () => {
  it('accepts lab names and refuses anything shell-like or option-like', () => {
    for (const ok of ['Web1', 'Login', 'p2p-mini', 'vm_1.b', 'A']) expect(assertName('host', ok)).toBe(ok);
    for (const bad of ['', '-rf', '.hidden', 'a b', 'a;b', '$(x)', 'a/b', 'x'.repeat(64), 'é', 'a\nb']) {
      expect(() => assertName('host', bad)).toThrow(/invalid host/);
    }
    expect(assertIpv4('a', '10.77.0.11')).toBe('10.77.0.11');
    for (const bad of ['10.77.0', '256.1.1.1', 'localhost', '10.0.0.1; id', '010.0.0.1']) expect(() => assertIpv4('a', bad)).toThrow();
    expect([...parseMac('02:77:00:00:00:1f')]).toEqual([2, 0x77, 0, 0, 0, 0x1f]);
    expect(() => parseMac('02:77:00:00:00')).toThrow(/MAC/);
  });
});

describe('known-hosts data pins host keys', () => {
  const blob = (type: string, fill: number) => {
    const t = Buffer.from(type);
    const b = Buffer.alloc(4 + t.length + 36, fill);
    b.writeUInt32BE(t.length, 0);
    t.copy(b, 4);
    return b;
  };
  const k1 = blob('ssh-ed25519', 1);
  const k2 = blob('ssh-ed25519', 2);
  const salt = Buffer.alloc(20, 7);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.77.0.12]:2222').digest('base64')}`;
  const text = [
    '# lab keys',
    `10.77.0.11 ssh-ed25519 ${k1.toString('base64')}`,
    `[127.0.0.1]:2222,127.0.0.2 ssh-ed25519 ${k2.toString('base64')}`,
    `${hashed} ssh-ed25519 ${k1.toString('base64')}`,
  ].join('\n');

  it('finds keys by address and port, plain or hashed, and compares exactly', () => {
    const e = parseKnownHosts(text);
    expect(pinnedKeysFor(e, '10.77.0.11', 22)).toHaveLength(1);
    expect(pinnedKeysFor(e, '10.77.0.11', 2222)).toHaveLength(0);
    expect(pinnedKeysFor(e, '127.0.0.1', 2222)[0].blob.equals(k2)).toBe(true);
    expect(pinnedKeysFor(e, '127.0.0.2', 22)).toHaveLength(1);
    expect(pinnedKeysFor(e, '10.77.0.12', 2222)).toHaveLength(1);
    const pins = pinnedKeysFor(e, '10.77.0.11', 22);
    expect(keyIsPinned(pins, k1)).toBe(true);
    expect(keyIsPinned(pins, k2)).toBe(false);
    expect(hostKeyAlgorithms(pins)).toEqual(['ssh-ed25519']);
  });

  it('refuses wildcards, markers and keys whose blob is of another type', () => {
    expect(() => parseKnownHosts(`*.lab ssh-ed25519 ${k1.toString('base64')}`, 'kh')).toThrow(/kh:1: wildcard/);
    expect(() => parseKnownHosts(`@cert-authority * ssh-ed25519 ${k1.toString('base64')}`)).toThrow(/marker/);
    expect(() => parseKnownHosts(`h ssh-rsa ${k1.toString('base64')}`)).toThrow(/does not hold a ssh-rsa key/);
  });
});

describe('Wake-on-LAN magic packet', () => {
  it('is 6 x 0xFF then the MAC 16 times, and parses back', () => {
    const p = magicPacket('02:77:00:00:00:11');
    expect(p.length).toBe(102);
    expect(p.subarray(0, 6).equals(Buffer.alloc(6, 0xff))).toBe(true);
    for (let i = 0; i < 16; i++) expect(p.subarray(6 + 6 * i, 12 + 6 * i).toString('hex')).toBe('027700000011');
    expect(parseMagicPacket(p)).toBe('02:77:00:00:00:11');
    expect(parseMagicPacket(Buffer.concat([Buffer.from('junk'), p]))).toBe('02:77:00:00:00:11');
    const broken = Buffer.from(p);
    broken[50] ^= 1;
    expect(parseMagicPacket(broken)).toBeNull();
  });

  it('wakes only the NIC whose MAC it carries, wherever it sits in the datagram', () => {
    const p = magicPacket('02:77:00:00:00:13');
    expect(isMagicPacketFor(p, '02:77:00:00:00:13')).toBe(true);
    expect(isMagicPacketFor(p, '02:77:00:00:00:99')).toBe(false);
    expect(isMagicPacketFor(Buffer.concat([magicPacket('02:77:00:00:00:99'), p, Buffer.from('secret')]), '02:77:00:00:00:13')).toBe(true);
    expect(isMagicPacketFor(p.subarray(0, 101), '02:77:00:00:00:13')).toBe(false);
  });
});

const PROC_A = `MemTotal:        4000000 kB
MemFree:          500000 kB
MemAvailable:    3000000 kB
cpu  100 0 100 700 100 0 0 0 0 0
cpu0 50 0 50 350 50 0 0 0 0 0
cpu1 50 0 50 350 50 0 0 0 0 0
intr 12345 0 0
ctxt 999
btime 1700000000
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5000 10 0 0 0 0 0 0 5000 10 0 0 0 0 0 0
  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
100.00 150.00
`;
const PROC_B = PROC_A.replace('MemAvailable:    3000000', 'MemAvailable:    2500000')
  .replace('cpu  100 0 100 700 100', 'cpu  200 0 200 1300 100')
  .replace('eth0: 1000', 'eth0: 11000').replace('0 0 0 2000 20', '0 0 0 12000 20')
  .replace('100.00 150.00', '102.00 153.00');

describe('/proc parsing for the load sampler', () => {
  it('reads memory, CPU jiffies, cores, interface bytes and uptime', () => {
    const s = parseProc(PROC_A);
    expect(s).toMatchObject({ memTotalKb: 4_000_000, memAvailableKb: 3_000_000, cpuTotalJiffies: 1000, cpuIdleJiffies: 800, cores: 2, uptimeS: 100 });
    expect(s.netBytes.get('eth0')).toBe(3000);
    expect(s.netBytes.get('lo')).toBe(10000);
  });

  it('turns two readings into a LoadSample (idle % of all cores, bytes/s without loopback)', () => {
    const l = loadBetween(parseProc(PROC_A), parseProc(PROC_B), { ratedNetBytesPerS: 1000 });
    // CPU: 800 jiffies passed, 600 of them idle: 75 % of each of 2 cores = 150.
    expect(l.cpuIdlePct).toBeCloseTo(150);
    expect(l.netBytesPerS).toBeCloseTo(20_000 / 2);
    expect(l).toMatchObject({ memFreeKb: 2_500_000, memTotalKb: 4_000_000, cores: 2, netRatedBytesPerS: 1000 });
    expect(() => loadBetween(parseProc(PROC_B), parseProc(PROC_A))).toThrow(/not apart in time/);
  });
});

describe('message frames: HMAC over sender, sequence number and payload', () => {
  const key = Buffer.from('k'.repeat(32));
  const payload = { from: 'Mail', to: 'Web1', box: 'p2/Login', msg: { from: 'Mail', to: 'Web1', type: 'U', body: { target: 'Login' } } };

  it('opens what it signed and refuses any change', () => {
    const line = encodeMessage(key, 42, payload).trim();
    expect(openMessage(key, line)).toEqual({ ok: true, seq: 42, payload });
    expect(openMessage(Buffer.from('x'.repeat(32)), line)).toMatchObject({ ok: false, reason: 'bad-mac' });
    const f = JSON.parse(line);
    for (const change of [{ seq: 43 }, { from: 'FTP' }, { p: f.p.replace('"U"', '"D"') }, { mac: f.mac.replace(/^./, (c: string) => (c === '0' ? '1' : '0')) }]) {
      expect(openMessage(key, JSON.stringify({ ...f, ...change }))).toMatchObject({ ok: false, reason: 'bad-mac' });
    }
    expect(openMessage(key, 'not json')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(openMessage(key, JSON.stringify({ ...f, seq: -1 }))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('acks are signed by the receiver too', () => {
    const a = encodeAck(key, 'Web1', 42, true).trim();
    expect(openAck(key, a, 'Web1')).toEqual({ seq: 42, ok: true });
    expect(openAck(key, a, 'FTP')).toBeNull();
    expect(openAck(key, a.replace('true', 'false'), 'Web1')).toBeNull();
  });
});

describe('argv templates from configuration', () => {
  it('fills placeholders with validated names, one argument each', () => {
    const t = checkTemplate('t', ['/usr/sbin/service', '{service}', '{action}'], ['service', 'action']);
    expect(expand(t, { service: 'httpd', action: 'restart' })).toEqual(['/usr/sbin/service', 'httpd', 'restart']);
    expect(() => expand(t, { service: 'httpd;reboot', action: 'restart' })).toThrow(/invalid service/);
    expect(() => checkTemplate('t', ['x', '{nope}'], ['service'])).toThrow(/unknown placeholder \{nope\}/);
    expect(() => checkTemplate('t', ['{service}'], ['service'])).toThrow(/just a placeholder/);
    expect(() => checkTemplate('t', 'service httpd restart', ['service'])).toThrow(/list of strings/);
  });

  it('Services picks per-service overrides and refuses hostile names before any command runs', async () => {
    const calls: string[][] = [];
    const exec: Exec = { exec: async (_h, argv) => (calls.push([...argv]), { code: 0, signal: null, stdout: '', stderr: '', durationMs: 0 }), close: () => undefined };
    const s = new LiveServices({ exec, commands: { start: ['svc', '{service}', 'start'], stop: ['svc', '{service}', 'stop'], restart: ['svc', '{service}', 'restart'] }, overrides: { 'Web1/httpd': { restart: ['/etc/init.d/{service}', 'force-reload'] } } });
    await s.restart('Web1', 'httpd');
    await s.restart('Mail', 'httpd');
    expect(calls).toEqual([['/etc/init.d/httpd', 'force-reload'], ['svc', 'httpd', 'restart']]);
    await expect(Promise.resolve().then(() => s.stop('Web1', '$(reboot)'))).rejects.toThrow(/invalid service name/);
    expect(calls).toHaveLength(2);
  });
});

describe('ip addr output', () => {
  it('finds a VIP among the addresses of an interface', () => {
    const out = `2: eth0    inet 10.77.0.14/24 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet 10.77.0.104/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever`;
    expect(vipInIpAddrOutput(out, '10.77.0.104')).toBe(true);
    expect(vipInIpAddrOutput(out, '10.77.0.10')).toBe(false);
    expect(vipInIpAddrOutput(out, '10.77.0.1')).toBe(false);
  });
});
