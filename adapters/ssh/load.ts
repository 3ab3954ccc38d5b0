// The LoadSampler port over Exec: one `cat` of /proc/meminfo, /proc/stat, /proc/net/dev and
// /proc/uptime per reading; CPU idle and network rate are deltas between two readings (the
// previous sample of that host when it is recent, else two readings `windowMs` apart), timed by
// the host's own uptime so SSH latency does not distort the rate.
import type { LoadSample, LoadSampler } from '../../engine/ports/load.ts';
import { run, type Exec } from './exec.ts';
import { assertName } from './names.ts';
import { netTotal, parseProc, type ProcSnapshot } from './proc-parse.ts';

export interface LoadHostConfig {
  /** Interfaces whose traffic counts (default: all but lo). */
  ifaces?: string[];
  /** Rated transfer rate, send + receive, bytes per second (default 1 GbE full duplex). */
  ratedNetBytesPerS?: number;
}

export interface LiveLoadOptions {
  exec: Exec;
  hosts?: Record<string, LoadHostConfig>;
  /** Gap between two readings when there is no recent previous one. */
  windowMs?: number;
  /** A previous reading older than this is not used for deltas. */
  maxAgeMs?: number;
  timeoutMs?: number;
}

export const PROC_FILES = ['/proc/meminfo', '/proc/stat', '/proc/net/dev', '/proc/uptime'];
const GBE_FULL_DUPLEX_BYTES_PER_S = 2 * 125_000_000;

/** A LoadSample from two snapshots of one host (`a` earlier). */
export function loadBetween(a: ProcSnapshot, b: ProcSnapshot, cfg: LoadHostConfig = {}): LoadSample {
  const dTotal = b.cpuTotalJiffies - a.cpuTotalJiffies;
  const dIdle = b.cpuIdleJiffies - a.cpuIdleJiffies;
  const dt = b.uptimeS - a.uptimeS;
  if (!(dt > 0) || !(dTotal > 0)) throw new RangeError('load sample: the two readings are not apart in time (or the host rebooted)');
  const idleFrac = Math.min(1, Math.max(0, dIdle / dTotal));
  const dNet = Math.max(0, netTotal(b, cfg.ifaces) - netTotal(a, cfg.ifaces));
  return {
    memFreeKb: b.memAvailableKb,
    memTotalKb: b.memTotalKb,
    cpuIdlePct: idleFrac * 100 * b.cores,
    cores: b.cores,
    netBytesPerS: dNet / dt,
    netRatedBytesPerS: cfg.ratedNetBytesPerS ?? GBE_FULL_DUPLEX_BYTES_PER_S,
  };
}

export class LiveLoadSampler implements LoadSampler {
  private readonly last = new Map<string, { snap: ProcSnapshot; atMs: number }>();

  constructor(private readonly opts: LiveLoadOptions) {}

  private async read(host: string): Promise<ProcSnapshot> {
    const r = await run(this.opts.exec, host, ['cat', ...PROC_FILES], { timeoutMs: this.opts.timeoutMs ?? 10_000 });
    return parseProc(r.stdout);
  }

  async sample(host: string): Promise<LoadSample> {
    assertName('host name', host);
    const cfg = this.opts.hosts?.[host] ?? {};
    const prev = this.last.get(host);
    let a: ProcSnapshot;
    if (prev && performance.now() - prev.atMs <= (this.opts.maxAgeMs ?? 60_000)) a = prev.snap;
    else {
      a = await this.read(host);
      await new Promise((r) => setTimeout(r, this.opts.windowMs ?? 250));
    }
    let b = await this.read(host);
    if (b.uptimeS <= a.uptimeS || b.cpuTotalJiffies <= a.cpuTotalJiffies) {
      // Rebooted since the previous reading, or read twice within one tick: read again.
      a = b;
      await new Promise((r) => setTimeout(r, this.opts.windowMs ?? 250));
      b = await this.read(host);
    }
    this.last.set(host, { snap: b, atMs: performance.now() });
    return loadBetween(a, b, cfg);
  }
}
