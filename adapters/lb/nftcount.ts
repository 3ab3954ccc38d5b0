// Client accesses counted by real nftables counters in the load balancer's namespace (the
// engine's AccessCounter, `load.accesses`): one named counter per VIP behind the balancer,
// incremented by the first packet of every new TCP connection the balancer forwards to it (a
// filter chain at postrouting, after the pool's DNAT has chosen the VIP). The paper counts
// requests with tcpdump on each virtual server; here the balancer counts per VIP, and a VM's
// accesses are those of the VIPs it holds, found from the balancer's neighbour table (the MAC it
// sends each VIP's connections to, which a gratuitous ARP moves with the VIP).
//
// The counter keeps a short history of readings (polled every `pollMs`): `accesses(vm, w)` is the
// growth over the last w of the VIPs the VM holds now. A window longer than the history so far is
// refused (the PSS then does not count that period) rather than answered with a shorter one.
import { PortError } from '../../engine/ports/errors.ts';
import type { AccessCounter } from '../../engine/ports/load.ts';

const ADDR = /^\d{1,3}(\.\d{1,3}){3}$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;

export interface CountedVip {
  /** Counter name (a VIP name; "-" and "." become "_"). */
  name: string;
  address: string;
  port: number;
}

export const counterName = (vip: string) => vip.replace(/[^A-Za-z0-9_]/g, '_');

/** The counting table (pure): a counter per VIP, a rule per VIP on new connections to it. */
export function nftAccessRuleset(table: string, vips: readonly CountedVip[]): string {
  if (!NAME.test(table)) throw new RangeError(`nft table name "${table}"`);
  const lines = [
    `add table ip ${table}`,
    `add chain ip ${table} count { type filter hook postrouting priority 0; policy accept; }`,
    `flush chain ip ${table} count`,
  ];
  for (const v of vips) {
    const c = counterName(v.name);
    if (!NAME.test(c) || !ADDR.test(v.address) || !Number.isInteger(v.port)) throw new RangeError(`counted VIP ${v.name} ${v.address}:${v.port}`);
    lines.push(`add counter ip ${table} ${c}`);
    lines.push(`add rule ip ${table} count ip daddr ${v.address} tcp dport ${v.port} ct state new counter name "${c}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** Packets per counter from `nft -j list counters table ip T` (each packet here is one new connection). */
export function parseNftCounters(json: string): Record<string, number> {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  const out: Record<string, number> = {};
  for (const item of doc.nftables ?? []) {
    const c = item.counter as { name?: unknown; packets?: unknown } | undefined;
    if (c && typeof c.name === 'string' && typeof c.packets === 'number') out[c.name] = c.packets;
  }
  return out;
}

/** Address -> MAC from `ip -j neigh show` (entries without a MAC, such as FAILED ones, left out). */
export function parseNeighbours(json: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of JSON.parse(json) as Array<{ dst?: string; lladdr?: string; state?: string[] }>) {
    if (n.dst && n.lladdr && !(n.state ?? []).includes('FAILED')) out[n.dst] = n.lladdr.toLowerCase();
  }
  return out;
}

export interface NftAccessCounterOptions {
  /** The VIPs behind the balancer, counted. */
  vips: readonly CountedVip[];
  /** MAC of each node (VM or host) that may hold one of them. */
  macs: Record<string, string>;
  /** Reads the counters: `nft -j list counters table ip T` in the balancer. */
  readCounters: () => Promise<string>;
  /** Reads the balancer's neighbour table: `ip -j neigh show`. */
  readNeighbours: () => Promise<string>;
  /** Reading period of the history (default 1 s). */
  pollMs?: number;
  /** Oldest reading kept (default 10 min). */
  keepMs?: number;
  nowMs?: () => number;
}

interface Reading { atMs: number; counts: Record<string, number> }

export class NftAccessCounter implements AccessCounter {
  private readonly history: Reading[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly o: NftAccessCounterOptions) {
    this.now = o.nowMs ?? Date.now;
  }

  /** Takes one reading now (also what the poll does). */
  async read(): Promise<Reading> {
    const r = { atMs: this.now(), counts: parseNftCounters(await this.o.readCounters()) };
    this.history.push(r);
    const keep = this.o.keepMs ?? 600_000;
    while (this.history.length > 2 && this.history[0].atMs < r.atMs - keep) this.history.shift();
    return r;
  }

  /** Starts reading every pollMs (the history the windows are measured on). */
  start(): void {
    if (this.timer) return;
    void this.read().catch(() => undefined);
    this.timer = setInterval(() => void this.read().catch(() => undefined), this.o.pollMs ?? 1_000);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The counted VIPs whose address the balancer now sends to `node`'s MAC. */
  async vipsOf(node: string): Promise<CountedVip[]> {
    const mac = this.o.macs[node]?.toLowerCase();
    if (!mac) throw new PortError('failed', `load.accesses: no MAC known for ${node}`, { host: node });
    const neigh = parseNeighbours(await this.o.readNeighbours());
    return this.o.vips.filter((v) => neigh[v.address] === mac);
  }

  async accesses(node: string, windowUs: number): Promise<number> {
    try {
      const mine = await this.vipsOf(node);
      const now = await this.read();
      const fromMs = now.atMs - windowUs / 1000;
      // The latest reading at or before the window's start.
      let base: Reading | undefined;
      for (const r of this.history) if (r.atMs <= fromMs) base = r;
      if (!base) throw new PortError('failed', `load.accesses ${node}: counters read for ${((now.atMs - (this.history[0]?.atMs ?? now.atMs)) / 1000).toFixed(1)} s, less than the window (${windowUs / 1e6} s)`, { host: node });
      let n = 0;
      for (const v of mine) {
        const c = counterName(v.name);
        n += Math.max(0, (now.counts[c] ?? 0) - (base.counts[c] ?? 0));
      }
      return n;
    } catch (e) {
      if (e instanceof PortError) throw e;
      throw new PortError('failed', `load.accesses ${node}: ${(e as Error).message}`, { host: node });
    }
  }
}
