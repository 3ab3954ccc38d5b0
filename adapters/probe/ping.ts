// Network examination by ICMP echo with iputils `ping`, run as argv (no shell): one packet,
// `-W` seconds to wait, numeric output. Exit 0: a reply; 1: no reply; other: an error.
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { assertIpv4 } from '../ssh/names.ts';

export const PING = '/usr/bin/ping';

export interface PingResult {
  ok: boolean;
  /** 'ok' | 'unreachable' | 'error: ...' */
  detail: string;
  latencyUs: number;
}

export function ping(address: string, timeoutMs: number, pingPath = PING): Promise<PingResult> {
  assertIpv4('ping target', address);
  if (!(timeoutMs > 0)) throw new RangeError(`ping timeout must be > 0 ms, got ${timeoutMs}`);
  // iputils takes fractional seconds; at least 1 ms.
  const waitS = Math.max(0.001, timeoutMs / 1000).toFixed(3);
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      pingPath,
      ['-n', '-q', '-c', '1', '-W', waitS, address],
      // A hard stop shortly after ping's own deadline (a stuck resolver or a starved machine).
      { timeout: timeoutMs + 1_000, killSignal: 'SIGKILL', env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } },
      (err, _stdout, stderr) => {
        const latencyUs = Math.max(1, Math.round((performance.now() - t0) * 1000));
        if (!err) return resolve({ ok: true, detail: 'ok', latencyUs });
        const e = err as unknown as { code?: number | string; killed?: boolean };
        if (e.code === 'ENOENT') return resolve({ ok: false, detail: `error: ${pingPath} is missing (install iputils-ping)`, latencyUs });
        if (e.code === 1 || e.killed) return resolve({ ok: false, detail: 'unreachable', latencyUs });
        resolve({ ok: false, detail: `error: ping exited ${String(e.code)}: ${String(stderr).trim().slice(0, 200)}`, latencyUs });
      },
    );
  });
}
