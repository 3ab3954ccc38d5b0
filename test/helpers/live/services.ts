// Tiny services managed like daemons for the live tests: svcctl.mjs (an init script run over
// SSH as argv) starts tiny-server.mjs detached and writes its PID; tests read the PID to freeze
// (SIGSTOP) or end the daemon, and end every one by PID in cleanup.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const TINY_SERVER = join(here, 'tiny-server.mjs');
export const SVCCTL = join(here, 'svcctl.mjs');
export const NODE = process.execPath;

/** Service templates for the Services port: `node svcctl.mjs DIR ACTION SERVICE`. */
export function svcctlCommands(stateDir: string) {
  const t = (action: string) => [NODE, SVCCTL, stateDir, action, '{service}'];
  return { start: t('start'), stop: t('stop'), restart: t('restart') };
}

/** Declares a tiny service in `stateDir` for svcctl. */
export function defineService(stateDir: string, service: string, protocol: string, port: number): void {
  writeFileSync(join(stateDir, `${service}.json`), JSON.stringify({ argv: [NODE, TINY_SERVER, protocol, String(port), service], port }));
}

export function servicePid(stateDir: string, service: string): number {
  const f = join(stateDir, `${service}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0;
}

export function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ends a service daemon by its PID file (cleanup). */
export function killService(stateDir: string, service: string): void {
  const pid = servicePid(stateDir, service);
  if (alive(pid)) {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGKILL');
  }
}

export function svcCalls(stateDir: string): string[][] {
  const f = join(stateDir, 'calls.log');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];
}
