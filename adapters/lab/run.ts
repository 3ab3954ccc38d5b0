// Runs commands as argv (execFile: no shell, so no name is ever interpreted by one), with a
// timeout and an error that shows the command and what it printed.
import { execFile, spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(readonly argv: string[], readonly code: number | string | null, readonly stdout: string, readonly stderr: string) {
    super(`${argv.join(' ')} failed (${code}): ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0], argv.slice(1), { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20, env: opts.env ?? process.env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : err.killed ? -1 : (child.exitCode ?? -1)) : 0;
      if (err && !opts.allowFail) {
        const c = (err as NodeJS.ErrnoException).code;
        reject(new CommandError(argv, err.killed ? `timeout after ${opts.timeoutMs ?? 30_000} ms` : (c ?? child.exitCode ?? null), stdout, stderr));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs and returns stdout; rejects on failure. */
export async function out(argv: string[], opts: RunOptions = {}): Promise<string> {
  return (await run(argv, opts)).stdout;
}

/** Whether a program is on PATH (or an absolute path that exists). */
export async function have(program: string): Promise<boolean> {
  return (await run(['sh', '-c', 'command -v "$1"', 'have', program], { allowFail: true })).code === 0;
}

/**
 * Starts a long-lived process detached from this one (own session, stdio to `logFd`), so it
 * outlives the CLI that started it. Returns its PID once spawned.
 */
export function spawnDetached(argv: string[], logFd: number, env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', logFd, logFd], env: env ?? process.env });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  });
}
