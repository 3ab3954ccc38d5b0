#!/usr/bin/env node
// Installs what the project needs on a fresh clone, quietly when nothing is to do:
// - npm packages when node_modules is missing or older than package-lock.json;
// - Debian packages listed in scripts/apt/*.txt (one per line, # comments) that are missing,
//   with apt-get --no-install-recommends, when running as root on a Debian-like system.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

function run(cmd, args, opts = {}) {
  console.error(`[setup] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`[setup] ${cmd} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

// Debian packages first: native npm packages (the libvirt binding) build against them.
const aptDir = 'scripts/apt';
const wanted = existsSync(aptDir)
  ? readdirSync(aptDir).filter((f) => f.endsWith('.txt')).sort().flatMap((f) =>
      readFileSync(join(aptDir, f), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean))
  : [];
const installed = (pkg) => spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed');
const missing = [...new Set(wanted)].filter((p) => !installed(p));
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    console.error(`[setup] missing Debian packages (install them as root): ${missing.join(' ')}`);
  } else {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  }
}

const stamp = 'node_modules/.package-lock.json';
const lock = existsSync('package-lock.json') ? 'package-lock.json' : 'package.json';
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs) {
  run('npm', existsSync('package-lock.json') ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']);
}

