// The CLI on bad input: outputs are checked before the work, one line is printed, the exit code
// is 2 (bad input) or 1 (a failure while running), nothing hangs and no temporary file is left.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkOutputPath, hostAddress, UsageError, writeAtomic } from '../bin/output.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEMO = join(ROOT, 'experiments/scenarios/demo.yaml');

interface Ran { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs `node bin/hatwin.js args` in `cwd`; kills it after `timeoutMs` (a hang fails the test). */
export function hatwin(args: string[], o: { cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin/hatwin.js'), ...args], { cwd: o.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      rej(new Error(`hatwin ${args.join(' ')}: still running after ${o.timeoutMs ?? 30_000} ms`));
    }, o.timeoutMs ?? 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hatwin-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkOutputPath', () => {
  it('creates a missing folder chain and leaves no probe file', () => {
    const d = join(dir, 'a/b/c');
    checkOutputPath(d, 'dir');
    expect(readdirSync(d)).toEqual([]);
    const f = join(dir, 'x/y/trace.ndjson');
    checkOutputPath(f, 'file');
    expect(readdirSync(join(dir, 'x/y'))).toEqual([]);
  });
  it('refuses a directory given as a file, a file given as a folder, /proc and /sys, without creating anything', () => {
    const d = join(dir, 'isdir');
    mkdirSync(d);
    expect(() => checkOutputPath(d, 'file')).toThrow(/is a directory/);
    const f = join(dir, 'isfile');
    writeFileSync(f, '');
    expect(() => checkOutputPath(f, 'dir')).toThrow(/not a directory/);
    expect(() => checkOutputPath(join(f, 'sub/t.ndjson'), 'file')).toThrow(/isfile is not a directory/);
    for (const p of ['/proc/nope', '/proc/nope/deeper/x', '/sys/nope', '/proc/self/fd']) {
      expect(() => checkOutputPath(p, 'dir')).toThrow(UsageError);
      expect(() => checkOutputPath(`${p}/t.ndjson`, 'file')).toThrow(/kernel file system/);
    }
    expect(existsSync('/proc/nope')).toBe(false);
  });
  it('writeAtomic leaves no temporary file behind when it fails', () => {
    const d = join(dir, 'target-is-dir');
    mkdirSync(join(d, 'out.json'), { recursive: true });
    expect(() => writeAtomic(join(d, 'out.json'), 'x')).toThrow();
    expect(readdirSync(d)).toEqual(['out.json']);
    expect(() => writeAtomic('/proc/nope/x.json', 'x')).toThrow(/kernel file system/);
  });
  it('validates --host as an IPv4 or IPv6 address or a host name', () => {
    for (const ok of ['127.0.0.1', '0.0.0.0', '::1', '[::1]', 'localhost', 'lab-host.example.org']) expect(() => hostAddress(ok)).not.toThrow();
    for (const bad of ['999.1.1.1', '1.2.3', '::zz', 'bad_host', '-x', '']) expect(() => hostAddress(bad)).toThrow();
  });
});

describe('hatwin: bad outputs are refused before the work (exit 2, one line)', () => {
  it('sim --trace DIR (an existing directory): no simulation, no DIR.tmp-<pid>', async () => {
    const d = join(dir, 'tracedir');
    mkdirSync(d);
    const r = await hatwin(['sim', DEMO, '--trace', d]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/is a directory/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
  it('sim --trace /proc/nope/x and run --out /proc/nope end at once', async () => {
    for (const args of [['sim', DEMO, '--trace', '/proc/nope/x'], ['run', 'demo', '--runs', '1', '--out', '/proc/nope']]) {
      const r = await hatwin(args, { timeoutMs: 20_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/\/proc, a kernel file system/);
    }
  });
  it('run --out FILE fails before any experiment runs', async () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'keep');
    const r = await hatwin(['run', 'demo', '--runs', '1', '--out', f]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([`[run] error: ${f} exists and is not a directory`]);
  });
  it('a bad option value is one line, exit 2', async () => {
    const r = await hatwin(['sim', DEMO, '--seed', 'x']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
  });
});

describe('hatwin serve: bad input is one line, exit 2', () => {
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it.each([
    [['--token-file', '/nonexistent/token'], /^hatwin serve: --token-file \/nonexistent\/token: no such file$/],
    [['--host', '999.1.1.1'], /"999\.1\.1\.1" is not a valid IPv4 address/],
    [['--host', '10.254.254.254', '--port', '0'], /--host 10\.254\.254\.254 is not an address of this machine/],
    [['--out', '/proc/nope'], /kernel file system/],
  ])('serve %j', async (args, re) => {
    const r = await hatwin(['serve', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(re);
  });
  it('a port in use', async () => {
    const r = await hatwin(['serve', '--port', String(busyPort)], { cwd: dir });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([`hatwin serve: port ${busyPort} is in use: give --port 0 for any free port`]);
  });
});
