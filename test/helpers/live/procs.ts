// Child processes for the live tests: real daemons (sshd, etcd, tiny servers) started as
// children, tracked by PID, and ended by PID (never by name). A missing binary fails the test
// with what to install: live tests are never skipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PACKAGE_OF: Record<string, string> = {
  '/usr/sbin/sshd': 'openssh-server',
  '/usr/bin/ssh-keygen': 'openssh-client',
  '/usr/bin/etcd': 'etcd-server',
  '/usr/bin/ping': 'iputils-ping',
  '/usr/bin/arping': 'iputils-arping',
  '/usr/sbin/ip': 'iproute2',
  '/usr/bin/setsid': 'util-linux',
};

/** Fails clearly when a binary the live tests need is missing. */
export function requireBinary(path: string): string {
  if (!existsSync(path)) {
    const pkg = PACKAGE_OF[path] ?? 'the package that provides it';
    throw new Error(`${path} is missing: install ${pkg} (listed in scripts/apt/live-adapters.txt; run "node scripts/setup.mjs --need live-adapters" as root)`);
  }
  return path;
}

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) throw new Error(`this live test must run as root: ${why}`);
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(tag: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hatwin-${tag}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs argv to completion (no shell); throws with stderr on a non-zero exit. */
export function runSync(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** A free TCP port on 127.0.0.1 (bound and released: good enough for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  output: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop: (graceMs?: number) => Promise<void>;
}

export function startChild(argv: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  if (proc.pid === undefined) throw new Error(`cannot start ${argv[0]}`);
  const chunks: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => chunks.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => chunks.push(d.toString()));
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    proc.once('exit', () => resolve());
  });
  const pid = proc.pid;
  return {
    proc,
    pid,
    output: () => chunks.join(''),
    stop: async (graceMs = 2_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGTERM');
      const t = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits until a TCP port accepts connections. */
export async function waitForPort(host: string, port: number, timeoutMs = 10_000, child?: Child): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
      throw new Error(`${child.proc.spawnfile} exited before listening on ${host}:${port}:\n${child.output()}`);
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${host}:${port} not listening after ${timeoutMs} ms${child ? `:\n${child.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `cond` until true or `timeoutMs` passes. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
