// Parsers for the Linux /proc files the load sampler reads (the papers' `sar` readings):
// /proc/meminfo, /proc/stat, /proc/net/dev and /proc/uptime, as `cat` prints them one after
// another. Pure functions: unit-tested on fixtures, used on real output over SSH.

export interface ProcSnapshot {
  memTotalKb: number;
  /** MemAvailable (MemFree + reclaimable when the kernel is older than 3.14). */
  memAvailableKb: number;
  /** Sum of all jiffies of the aggregate "cpu" line, and its idle + iowait part. */
  cpuTotalJiffies: number;
  cpuIdleJiffies: number;
  cores: number;
  /** Received + transmitted bytes per interface. */
  netBytes: Map<string, number>;
  uptimeS: number;
}

export class ProcParseError extends Error {}

export function parseProc(text: string): ProcSnapshot {
  const mem = new Map<string, number>();
  let cpuTotal = -1;
  let cpuIdle = -1;
  let cores = 0;
  const net = new Map<string, number>();
  let uptimeS = -1;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line))) {
      mem.set(m[1], Number(m[2]));
    } else if ((m = /^cpu(\d*)\s+(.*)$/.exec(line))) {
      const f = m[2].trim().split(/\s+/).map(Number);
      if (f.length < 4 || f.some((x) => !Number.isFinite(x))) throw new ProcParseError(`bad /proc/stat line ${JSON.stringify(line)}`);
      if (m[1] === '') {
        // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
        cpuTotal = f.slice(0, 8).reduce((a, b) => a + b, 0);
        cpuIdle = f[3] + (f[4] ?? 0);
      } else cores++;
    } else if ((m = /^\s*([^\s:]+):\s*(\d+)\s+(?:\d+\s+){7}(\d+)/.exec(line))) {
      // face |bytes packets errs drop fifo frame compressed multicast|bytes ...
      net.set(m[1], Number(m[2]) + Number(m[3]));
    } else if ((m = /^(\d+(?:\.\d+)?) \d+(?:\.\d+)?$/.exec(line.trim()))) {
      uptimeS = Number(m[1]);
    }
  }
  const memTotalKb = mem.get('MemTotal');
  const memAvailableKb = mem.get('MemAvailable') ?? (mem.has('MemFree') ? (mem.get('MemFree')! + (mem.get('Buffers') ?? 0) + (mem.get('Cached') ?? 0)) : undefined);
  if (memTotalKb === undefined || memAvailableKb === undefined) throw new ProcParseError('no MemTotal/MemAvailable in /proc/meminfo output');
  if (cpuTotal < 0 || cores === 0) throw new ProcParseError('no cpu lines in /proc/stat output');
  if (uptimeS < 0) throw new ProcParseError('no /proc/uptime line');
  return { memTotalKb, memAvailableKb, cpuTotalJiffies: cpuTotal, cpuIdleJiffies: cpuIdle, cores, netBytes: net, uptimeS };
}

/** Bytes moved on the counted interfaces (all but loopback when `ifaces` is not given). */
export function netTotal(s: ProcSnapshot, ifaces?: readonly string[]): number {
  let sum = 0;
  for (const [name, bytes] of s.netBytes) {
    if (ifaces ? ifaces.includes(name) : name !== 'lo') sum += bytes;
  }
  return sum;
}
