// What a command needs from Debian (bin/needs.ts over scripts/apt/*.txt) and the setup script's
// argument checking. Nothing here runs apt-get: installed() is injected, installing is off.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptLists, dpkgInstalled, ensureNeeds, missingPackages, parseAptList, readAptList } from '../bin/needs.ts';

const REPO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('apt lists', () => {
  it('drop comments (whole-line and trailing), blank lines and blanks around names; keep order, each package once', () => {
    const text = [
      '# a list',
      '# of packages',
      '',
      'iproute2',
      '  openssh-server  ',
      'etcd-server # the store',
      '   ',
      '#commented-out',
      'iproute2',
      'chromium\t',
      '',
    ].join('\n');
    expect(parseAptList(text)).toEqual(['iproute2', 'openssh-server', 'etcd-server', 'chromium']);
    expect(parseAptList('')).toEqual([]);
    expect(parseAptList('# only a comment\n\n')).toEqual([]);
  });

  it('the repository\'s lists (every scripts/apt/*.txt, sorted); their packages without comments', () => {
    expect(aptLists()).toEqual(readdirSync(join(REPO_DIR, 'scripts/apt')).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4)).sort());
    expect(aptLists()).toEqual(expect.arrayContaining(['lab', 'live-adapters', 'web']));
    const lab = readAptList('lab');
    expect(lab).toContain('libvirt-dev');
    expect(lab).toContain('qemu-system-x86');
    expect(readAptList('web')).toEqual(['chromium']);
    for (const name of aptLists()) for (const p of readAptList(name)) expect(p).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
  });

  it('an unknown list names the known ones', () => {
    expect(() => readAptList('bogus')).toThrow(`unknown package list "bogus" (known: ${aptLists().join(', ')})`);
  });

  it('lists in another folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-apt-'));
    try {
      writeFileSync(join(dir, 'b.txt'), '# b\nx\ny # why\n');
      writeFileSync(join(dir, 'a.txt'), 'z\n');
      writeFileSync(join(dir, 'notes.md'), 'not a list\n');
      expect(aptLists(dir)).toEqual(['a', 'b']);
      expect(readAptList('b', dir)).toEqual(['x', 'y']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('missing packages', () => {
  it('the ones installed() says no to, each once, in the list\'s order', () => {
    const have = new Set(['iproute2', 'gzip']);
    const asked: string[] = [];
    const installed = (p: string) => {
      asked.push(p);
      return have.has(p);
    };
    expect(missingPackages(['iproute2', 'qemu-system-x86', 'gzip', 'libvirt-dev', 'qemu-system-x86'], installed)).toEqual(['qemu-system-x86', 'libvirt-dev']);
    expect(asked).toEqual(['iproute2', 'qemu-system-x86', 'gzip', 'libvirt-dev']);
    expect(missingPackages([], installed)).toEqual([]);
    expect(missingPackages(['gzip'], installed)).toEqual([]);
  });

  it('a command whose packages are missing says which, and the command that installs them, in one line', () => {
    const lines: string[] = [];
    ensureNeeds('web', { log: (m) => lines.push(m), install: false, installed: () => false });
    expect(lines).toEqual(['missing Debian packages (scripts/apt/web.txt): chromium; install them as root with `node scripts/setup.mjs --need web`']);
    const labLines: string[] = [];
    ensureNeeds('lab', { log: (m) => labLines.push(m), install: false, installed: (p) => p !== 'libvirt-dev' && p !== 'cpio' });
    expect(labLines).toEqual(['missing Debian packages (scripts/apt/lab.txt): libvirt-dev cpio; install them as root with `node scripts/setup.mjs --need lab`']);
  });

  it('dpkg-query (read only): a package that does not exist is not installed; no dpkg-query, no answer', () => {
    const installed = dpkgInstalled(['hatwin-no-such-package']);
    if (installed) expect(installed('hatwin-no-such-package')).toBe(false);
    else expect(installed).toBeNull();
  });

  it('nothing missing: nothing said', () => {
    const lines: string[] = [];
    ensureNeeds('lab', { log: (m) => lines.push(m), install: false, installed: () => true });
    expect(lines).toEqual([]);
  });
});

describe('scripts/setup.mjs', () => {
  const setup = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(REPO_DIR, 'scripts/setup.mjs'), ...args], { cwd: tmpdir(), timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr });
    });
  });

  it('--need with an unknown list: non-zero exit, the known lists named, nothing installed', async () => {
    const r = await setup(['--need', 'bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`unknown package list "bogus" (known: ${aptLists().join(', ')})`);
    expect(r.stderr).not.toContain('apt-get');
    expect(r.stderr).not.toContain('npm');
  });

  it('--need without a list, or an unknown argument: non-zero exit with the usage', async () => {
    for (const args of [['--need'], ['--bogus'], ['--all', '--need', 'lab']]) {
      const r = await setup(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`usage: node scripts/setup.mjs [--all | --need LIST[,LIST...]]  (lists: ${aptLists().join(', ')})`);
    }
  });
});
