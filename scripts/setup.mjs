#!/usr/bin/env node
// Installs what the project needs, quietly when nothing is to do.
//
//   node scripts/setup.mjs              npm packages only (`npm start`): when node_modules is
//                                       missing or older than package-lock.json
//   node scripts/setup.mjs --all        the Debian packages of every scripts/apt/*.txt list, then
//                                       the npm packages (`npm test`, CI)
//   node scripts/setup.mjs --need LIST  the Debian packages of scripts/apt/LIST.txt only (lab,
//                                       live-adapters, web; repeat --need or give LIST,LIST)
//
// Lists: one package a line, `#` comments. Missing Debian packages are installed with apt-get
// --no-install-recommends when running as root on a Debian-like system, else named. They come
// before `npm ci`: the optional libvirt binding (@unraid/libvirt) builds against libvirt-dev, and
// without it npm drops the binding and carries on (hatwin then drives libvirt through virsh). When
// node_modules was installed before libvirt-dev, the binding is built once libvirt-dev is there.
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.chdir(join(dirname(fileURLToPath(import.meta.url)), '..'));

const aptDir = 'scripts/apt';
const known = existsSync(aptDir) ? readdirSync(aptDir).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4)).sort() : [];
const usage = `usage: node scripts/setup.mjs [--all | --need LIST[,LIST...]]  (lists: ${known.join(', ')})`;

// ---------- arguments ----------
let all = false;
const need = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--all') all = true;
  else if (a === '--need' || a.startsWith('--need=')) {
    const v = a === '--need' ? args[++i] : a.slice('--need='.length);
    if (!v) fail(`--need: which list? ${usage}`);
    need.push(...v.split(',').map((s) => s.trim()).filter(Boolean));
  } else if (a === '-h' || a === '--help') {
    console.log(usage);
    process.exit(0);
  } else fail(`unknown argument "${a}"; ${usage}`);
}
if (all && need.length) fail(`--all and --need exclude each other; ${usage}`);
const unknown = need.filter((n) => !known.includes(n));
if (unknown.length) fail(`unknown package list${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${known.join(', ')})`);

function fail(msg) {
  console.error(`[setup] ${msg}`);
  process.exit(2);
}

function run(cmd, cmdArgs, opts = {}) {
  console.error(`[setup] ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', ...opts });
  if (r.status !== 0 && !opts.mayFail) {
    console.error(`[setup] ${cmd} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.status === 0;
}

// ---------- Debian packages (first: native npm packages build against them) ----------
const lists = all ? known : [...new Set(need)];
const wanted = [...new Set(lists.flatMap((n) =>
  readFileSync(join(aptDir, `${n}.txt`), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)))];
if (wanted.length) {
  // Status is "want flag state": installed when the state is "installed".
  const installed = (pkg) => spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.trim().split(/\s+/)[2] === 'installed';
  const missing = wanted.filter((p) => !installed(p));
  if (missing.length > 0) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!isRoot || !hasApt) {
      console.error(`[setup] missing Debian packages (install them as root): ${missing.join(' ')}`);
      // Asked for by name: not having them is a failure. With --all (npm test) the tests that
      // need them say so themselves.
      if (need.length) process.exit(1);
    } else {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      run('apt-get', ['update', '-qq'], { env });
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    }
  }
}

// ---------- npm packages (not with --need) ----------
const stamp = 'node_modules/.package-lock.json';
if (!need.length) {
  const lock = existsSync('package-lock.json') ? 'package-lock.json' : 'package.json';
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs) {
    run('npm', existsSync('package-lock.json') ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']);
  }
}

// ---------- the libvirt binding, when node_modules predates libvirt-dev ----------
if (wanted.includes('libvirt-dev') && existsSync(stamp)) {
  const info = '/var/lib/dpkg/info';
  const devList = existsSync(info) ? readdirSync(info).find((f) => /^libvirt-dev(:[^.]+)?\.list$/.test(f)) : undefined;
  // The package loads its native part when a Hypervisor is made (no connection yet).
  const probe = "const { Hypervisor } = await import('@unraid/libvirt'); new Hypervisor({ uri: 'test:///default' });";
  const loadable = () => spawnSync(process.execPath, ['--input-type=module', '-e', probe], { stdio: 'ignore' }).status === 0;
  if (devList && statSync(stamp).mtimeMs < statSync(join(info, devList)).mtimeMs && !loadable()) {
    // npm drops an optional package whose build failed: rebuild it when it is there, else install
    // the tree again (package-lock.json unchanged). Either way, once: the stamp is renewed.
    const ok = existsSync('node_modules/@unraid/libvirt/package.json')
      ? run('npm', ['rebuild', '@unraid/libvirt'], { mayFail: true })
      : run('npm', ['ci', '--no-audit', '--no-fund']);
    if (existsSync(stamp)) utimesSync(stamp, new Date(), new Date());
    if (!ok || !loadable()) console.error('[setup] @unraid/libvirt still does not load: hatwin drives libvirt through virsh instead');
  }
}
