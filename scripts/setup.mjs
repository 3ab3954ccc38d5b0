#!/usr/bin/env node
// Installs what the project needs on a fresh clone: npm packages when node_modules is missing
// or older than package-lock.json. Idempotent and quiet when nothing is to do.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const stamp = 'node_modules/.package-lock.json';
const lock = existsSync('package-lock.json') ? 'package-lock.json' : 'package.json';
const stale = !existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  const args = existsSync('package-lock.json') ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  console.error(`[setup] npm ${args.join(' ')}`);
  const r = spawnSync('npm', args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
