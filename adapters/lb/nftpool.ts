// The director's pool made real without IPVS (this kernel has none): an nftables NAT table in the
// director's own network namespace. Each pool is a rule in its prerouting chain that DNATs new
// connections to the VIP's service port over a `numgen inc mod N` map whose N slots are one cycle
// of the pool's scheduler, given by the caller (the lbcluster agent gives IPVS's weighted round
// robin, policies/lbcluster/wrr.ts wrrCycleOrder: ip_vs_wrr's gcd stepping from a fresh table),
// so over each cycle every real server gets its weight's share, in IPVS's order. Replies come back through the director (masquerade of what was
// DNATed), as with LVS-NAT. An empty pool rejects (TCP reset), as IPVS with no destination does.
//
// Every change rewrites the table's chains in one `nft -f` transaction: a connection is never
// scheduled by a half-written pool. Must run inside the director's namespace (the agent does).
import { writeFileSync } from 'node:fs';

export interface NftPoolSpec {
  /** The VIP's address and the service port it forwards. */
  vip: string;
  port: number;
  /** Every possible member (real server or sorry server) by name: its address. */
  members: Record<string, string>;
}

export interface NftPoolOptions {
  pools: Record<string, NftPoolSpec>;
  /** The nftables table (family ip). */
  table?: string;
  /**
   * One cycle of the pool's scheduler as member names: slot k of the map goes to the k-th. The
   * lbcluster policy's is IPVS wrr (policies/lbcluster/wrr.ts wrrCycleOrder), given by the agent.
   */
  order: (members: ReadonlyArray<{ id: string; weight: number }>) => string[];
  /** Applies a ruleset (`nft -f -` in the director's namespace). */
  apply: (ruleset: string) => Promise<void>;
  /** The director's own forwarding settings (default: /proc/sys of this namespace). */
  sysctl?: (key: string, value: string) => void;
}

const ADDR = /^\d{1,3}(\.\d{1,3}){3}$/;
const TABLE = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;

/** The whole ruleset for the pools' current members (pure). */
export function nftPoolRuleset(table: string, pools: Record<string, NftPoolSpec>, members: ReadonlyMap<string, ReadonlyArray<{ id: string; weight: number }>>, order: NftPoolOptions['order']): string {
  if (!TABLE.test(table)) throw new RangeError(`nft table name "${table}"`);
  const lines = [
    `add table ip ${table}`,
    `add chain ip ${table} pre { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ip ${table} post { type nat hook postrouting priority srcnat; policy accept; }`,
    `flush chain ip ${table} pre`,
    `flush chain ip ${table} post`,
  ];
  for (const [name, p] of Object.entries(pools)) {
    if (!ADDR.test(p.vip) || !Number.isInteger(p.port)) throw new RangeError(`pool ${name}: VIP ${p.vip} port ${p.port}`);
    const slots = order(members.get(name) ?? []);
    const match = `ip daddr ${p.vip} tcp dport ${p.port}`;
    if (slots.length === 0) {
      lines.push(`add rule ip ${table} pre ${match} reject with tcp reset`);
      continue;
    }
    const addr = (id: string) => {
      const a = p.members[id];
      if (!a || !ADDR.test(a)) throw new RangeError(`pool ${name}: no address for member "${id}"`);
      return a;
    };
    const map = slots.map((id, k) => `${k} : ${addr(id)}`).join(', ');
    lines.push(`add rule ip ${table} pre ${match} dnat to numgen inc mod ${slots.length} map { ${map} }`);
  }
  lines.push(`add rule ip ${table} post ct status dnat masquerade`);
  return `${lines.join('\n')}\n`;
}

export class NftPool {
  private readonly table: string;
  /** Pool -> members in the order they were first added (IPVS appends new destinations). */
  private readonly members = new Map<string, Array<{ id: string; weight: number }>>();
  private ready = false;
  /** Changes are applied one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: NftPoolOptions) {
    this.table = o.table ?? 'hatwin_lb';
  }

  has(pool: string): boolean {
    return pool in this.o.pools;
  }

  add(pool: string, member: string, weight: number): Promise<void> {
    return this.change(pool, (list) => {
      const m = list.find((x) => x.id === member);
      if (m) m.weight = weight;
      else list.push({ id: member, weight });
    });
  }

  remove(pool: string, member: string): Promise<void> {
    return this.change(pool, (list) => {
      const i = list.findIndex((x) => x.id === member);
      if (i >= 0) list.splice(i, 1);
    });
  }

  /** The pool's members now (name, weight). */
  current(pool: string): Array<{ id: string; weight: number }> {
    return (this.members.get(pool) ?? []).map((m) => ({ ...m }));
  }

  private change(pool: string, edit: (list: Array<{ id: string; weight: number }>) => void): Promise<void> {
    const spec = this.o.pools[pool];
    if (!spec) return Promise.reject(new RangeError(`no nft pool "${pool}" (pools: ${Object.keys(this.o.pools).join(', ')})`));
    const next = this.chain.then(async () => {
      const list = this.members.get(pool) ?? [];
      edit(list);
      this.members.set(pool, list);
      if (!this.ready) {
        const set = this.o.sysctl ?? ((k: string, v: string) => writeFileSync(`/proc/sys/${k.replaceAll('.', '/')}`, v));
        set('net.ipv4.ip_forward', '1');
        // Requests come in and go out on the same interface: no ICMP redirects to the client.
        set('net.ipv4.conf.all.send_redirects', '0');
        this.ready = true;
      }
      await this.o.apply(nftPoolRuleset(this.table, this.o.pools, this.members, this.o.order));
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
