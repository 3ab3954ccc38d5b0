// The front end is built by vite into web/dist. `hatwin serve` builds it when web/dist is
// missing or older than a source file under web/client/ (so a fresh clone needs no build step).
// Two servers starting at once (tests) each build into a directory of their own and rename it
// into place; the loser keeps the winner's build.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BuildPaths {
  root: string;
  clientDir: string;
  distDir: string;
  config: string;
}

export function buildPaths(root: string): BuildPaths {
  return { root, clientDir: join(root, 'web/client'), distDir: join(root, 'web/dist'), config: join(root, 'web/vite.config.ts') };
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Why the build must be (re)made, or null when web/dist is up to date. */
export function buildNeeded(p: BuildPaths): string | null {
  const index = join(p.distDir, 'index.html');
  if (!existsSync(index)) return `${index} is missing`;
  const built = statSync(index).mtimeMs;
  const sources = Math.max(newestMtimeMs(p.clientDir), statSync(p.config).mtimeMs);
  return sources > built ? 'web/client changed since the last build' : null;
}

function runVite(p: BuildPaths, outDir: string): Promise<void> {
  const vite = join(p.root, 'node_modules/vite/bin/vite.js');
  if (!existsSync(vite)) return Promise.reject(new Error(`vite is not installed (${vite}): run npm install`));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', p.config, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: p.root, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`vite build failed (exit ${code}):\n${log}`))));
  });
}

/** Builds the front end if needed; returns the directory to serve. */
export async function ensureClientBuilt(p: BuildPaths, log: (line: string) => void = () => undefined): Promise<string> {
  const why = buildNeeded(p);
  if (why === null) return p.distDir;
  log(`building the web view (${why}) ...`);
  const tmp = `${p.distDir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await runVite(p, tmp);
    if (buildNeeded(p) === null) return p.distDir; // another process finished first
    const old = `${p.distDir}.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    if (existsSync(p.distDir)) renameSync(p.distDir, old);
    try {
      renameSync(tmp, p.distDir);
    } catch (e) {
      if (!existsSync(join(p.distDir, 'index.html'))) throw e;
    }
    rmSync(old, { recursive: true, force: true });
    log('web view built');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return p.distDir;
}
