// The balancer's access counters (adapters/lb/nftcount.ts): the ruleset, the parsers of nft's and
// ip's JSON, and `accesses` over a window of readings (fake readers and clock: no lab needed).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fcParams } from './helpers/fc-params.ts';
import { PortError } from '../engine/ports/errors.ts';
import { NftAccessCounter, nftAccessRuleset, parseNeighbours, parseNftCounters, type CountedVip } from '../adapters/lb/nftcount.ts';

const VIPS: CountedVip[] = [
  { name: 'VIP1', address: '10.77.10.101', port: 25 },
  { name: 'VIP4', address: '10.77.10.104', port: 25 },
];
const MACS = { M1: '52:54:00:77:10:21', M2: '52:54:00:77:10:24' };

const countersJson = (c: Record<string, number>) => JSON.stringify({
  nftables: [{ metainfo: { version: '1.0.6' } }, ...Object.entries(c).map(([name, packets], i) => ({ counter: { family: 'ip', name, table: 'hatwin_acc', handle: i + 2, packets, bytes: packets * 60 } }))],
});
const neighJson = (m: Record<string, string>) => JSON.stringify(Object.entries(m).map(([dst, lladdr]) => ({ dst, dev: 'eth0', lladdr, state: ['REACHABLE'] })));

/** A counter over fake readers: `set` changes what nft says, `at` the clock. */
function fake(initial: Record<string, number>, neigh: Record<string, string>) {
  const st = { counts: { ...initial }, neigh: { ...neigh }, now: 0 };
  const c = new NftAccessCounter({
    vips: VIPS, macs: MACS,
    readCounters: async () => countersJson(st.counts),
    readNeighbours: async () => neighJson(st.neigh),
    nowMs: () => st.now,
  });
  return { c, st };
}

describe('nft access counters', () => {
  it('ruleset: one named counter and one new-connection rule per VIP, in a filter chain after the pool\'s DNAT', () => {
    const r = nftAccessRuleset('hatwin_acc', VIPS);
    expect(r).toContain('add chain ip hatwin_acc count { type filter hook postrouting priority 0; policy accept; }');
    expect(r).toContain('add counter ip hatwin_acc VIP1');
    expect(r).toContain('add rule ip hatwin_acc count ip daddr 10.77.10.104 tcp dport 25 ct state new counter name "VIP4"');
    expect(() => nftAccessRuleset('bad name', VIPS)).toThrow(RangeError);
    expect(() => nftAccessRuleset('t', [{ name: 'x', address: '10.0.0.1; flush ruleset', port: 1 }])).toThrow(RangeError);
  });

  it('the ruleset is one nft accepts (nft -c in a fresh network namespace, when root)', () => {
    if (process.getuid?.() !== 0 || spawnSync('which', ['nft']).status !== 0) return;
    const r = spawnSync('unshare', ['-n', 'nft', '-c', '-f', '-'], { input: nftAccessRuleset('hatwin_acc', VIPS), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('parses nft counters and the neighbour table (FAILED entries and entries without a MAC left out)', () => {
    expect(parseNftCounters(countersJson({ VIP1: 4, VIP4: 7 }))).toEqual({ VIP1: 4, VIP4: 7 });
    expect(parseNeighbours(JSON.stringify([
      { dst: '10.77.10.101', lladdr: '52:54:00:77:10:21', state: ['REACHABLE'] },
      { dst: '10.77.10.104', lladdr: '52:54:00:77:10:24', state: ['FAILED'] },
      { dst: '10.77.10.105', state: ['INCOMPLETE'] },
    ]))).toEqual({ '10.77.10.101': '52:54:00:77:10:21' });
  });

  it('refuses a window longer than the readings so far, then counts the growth over the window of the VIPs the node holds', async () => {
    const { c, st } = fake({ VIP1: 10, VIP4: 100 }, { '10.77.10.101': MACS.M1, '10.77.10.104': MACS.M2 });
    await c.read();
    st.now = 30_000;
    await expect(c.accesses('M1', 60_000_000)).rejects.toBeInstanceOf(PortError);
    st.counts = { VIP1: 25, VIP4: 130 };
    st.now = 60_000;
    expect(await c.accesses('M1', 60_000_000)).toBe(15);
    expect(await c.accesses('M2', 60_000_000)).toBe(30);
    // The VIP moved to M1 (its gratuitous ARP changed the balancer's entry): M1 counts both.
    st.neigh['10.77.10.104'] = MACS.M1;
    expect(await c.accesses('M1', 60_000_000)).toBe(45);
    expect(await c.accesses('M2', 60_000_000)).toBe(0);
    await expect(c.accesses('nobody', 1_000_000)).rejects.toThrow(/no MAC/);
  });

  it('the count over a window is the counters\' growth since the last reading at or before its start (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ dtMs: fc.integer({ min: 1, max: 5_000 }), add: fc.integer({ min: 0, max: 50 }) }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 60_000 }), async (steps, windowMs) => {
      const { c, st } = fake({ VIP1: 0, VIP4: 0 }, { '10.77.10.101': MACS.M1, '10.77.10.104': MACS.M2 });
      const readings: Array<{ at: number; v: number }> = [{ at: 0, v: 0 }];
      await c.read();
      for (const s of steps) {
        st.now += s.dtMs;
        st.counts.VIP1 += s.add;
        await c.read();
        readings.push({ at: st.now, v: st.counts.VIP1 });
      }
      const base = readings.filter((r) => r.at <= st.now - windowMs).at(-1);
      if (!base) {
        await expect(c.accesses('M1', windowMs * 1000)).rejects.toBeInstanceOf(PortError);
        return;
      }
      expect(await c.accesses('M1', windowMs * 1000)).toBe(st.counts.VIP1 - base.v);
    }), fcParams(100));
  });
});
