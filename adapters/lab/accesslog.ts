// The client's access log, one line per access as in the papers' client (kitamura-2018 Fig. 12):
//   2025-11-23T14:05:01.000Z vip-ftp 10.77.0.103 OK 3.2ms by=FTP
//   2025-11-23T14:05:02.000Z vip-ftp 10.77.0.103 XX 800.0ms timeout
import type { CheckResult } from '../probe/checkers.ts';

export interface Access {
  /** Time of the access (its start), ms since the epoch. */
  tMs: number;
  vip: string;
  address: string;
  ok: boolean;
  latencyMs: number;
  servedBy?: string;
  detail?: string;
}

export function formatAccess(tMs: number, vip: string, address: string, r: CheckResult): string {
  const tail = r.ok ? (r.servedBy ? `by=${r.servedBy}` : 'ok') : r.detail;
  return `${new Date(tMs).toISOString()} ${vip} ${address} ${r.ok ? 'OK' : 'XX'} ${r.latencyMs.toFixed(1)}ms ${tail}`;
}

const LINE = /^(\S+) (\S+) (\S+) (OK|XX) ([0-9.]+)ms (\S+)$/;

export function parseAccessLog(text: string): Access[] {
  const rows: Access[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const ok = m[4] === 'OK';
    rows.push({
      tMs: Date.parse(m[1]), vip: m[2], address: m[3], ok, latencyMs: Number(m[5]),
      ...(ok ? (m[6].startsWith('by=') ? { servedBy: m[6].slice(3) } : {}) : { detail: m[6] }),
    });
  }
  return rows;
}
