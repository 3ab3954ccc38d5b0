// The navigator policy (wong-2014): its pure decisions, and a whole run of the Table 5-7 scenario
// (start, primary failover, fallback, secondary failover) checked on the trace.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { chooseSecondary, table57Model, transferS } from '../policies/navigator/decisions.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { SCENARIO_DIR } from '../experiments/registry.ts';
import { checkPolicies } from '../run/policies.ts';
import type { TraceEvent } from '../trace/event.ts';

const S = 1_000_000;

describe('navigator decisions', () => {
  it('puts the secondary on the PC up longest, never on an excluded one', () => {
    const r = [{ host: 'pc2', uptimeS: 86 }, { host: 'pc3', uptimeS: 900 }, { host: 'pc4', uptimeS: 147 }];
    expect(chooseSecondary(r)).toBe('pc3');
    expect(chooseSecondary(r, ['pc3'])).toBe('pc4');
    expect(chooseSecondary(r, ['pc2', 'pc3', 'pc4'])).toBeNull();
    expect(chooseSecondary([])).toBeNull();
  });

  it('breaks uptime ties by name, whatever the order of the reports', () => {
    const a = [{ host: 'pc4', uptimeS: 10 }, { host: 'pc3', uptimeS: 10 }];
    expect(chooseSecondary(a)).toBe('pc3');
    expect(chooseSecondary([...a].reverse())).toBe('pc3');
  });

  it('ignores reports that are not numbers', () => {
    expect(chooseSecondary([{ host: 'a', uptimeS: NaN }, { host: 'b', uptimeS: 1 }])).toBe('b');
  });

  it('transfer times: the thesis image at its measured rates', () => {
    // 1.25 GB = 1e10 bits: at 96 Mb/s 104.2 s (Table 5-6: 1.43, read 1:43), at 66 Mb/s 151.5 s (Table 5-5: 2:34).
    expect(transferS(1.25e9, 96e6)).toBeCloseTo(104.17, 2);
    expect(transferS(1.25e9, 66e6)).toBeCloseTo(151.52, 2);
    // The database dump: 0.1 Mb/s for 11 s (Table 5-5).
    expect(transferS(137_500, 1e5)).toBeCloseTo(11, 6);
    expect(() => transferS(1, 0)).toThrow(RangeError);
  });

  it('the closed-form model adds the phases', () => {
    const m = table57Model({
      imageBytes: 1.25e9, backupRateBps: 96e6, transferRateBps: 66e6, primaryCheckS: 5, secondaryCheckS: 300,
      pingTimeoutS: 4, vipSetS: 0.1, commandS: 0, serviceStartS: 0, containerStartS: 0, uptimeQueryS: 0,
    });
    expect(m.primary_failover).toBeCloseTo(2.5 + 4 + 0.1, 6);
    expect(m.newSecondaryS).toBeCloseTo(151.515 + 104.167, 2);
    expect(m.secondary_failover).toBeCloseTo(150 + 4 + m.newSecondaryS, 6);
    expect(m.fallback).toBeCloseTo(m.primary_failover + m.newSecondaryS, 6);
  });
});

const tracks = (ev: TraceEvent[]) => ev.filter((e) => e.kind === 'navigator.track').map((e) => ({ t: e.t / S, ...(e.data as { role: string; host: string; vm: string; failover: boolean }) }));

describe('navigator in sim: the Table 5-7 scenario', () => {
  const scenario = readScenario(join(SCENARIO_DIR, 'navigator-table57.yaml'));

  it('passes its policy checks', () => {
    expect(checkPolicies(scenario)).toEqual([]);
  });

  const sim = buildSimulation(scenario, { seed: 1 });
  sim.run();
  const ev = sim.events;
  const tr = tracks(ev);

  it('starts: backup, primary container on pc1, secondary on the PC up longest', () => {
    // pc2 rebooted at 1 s: pc3 and pc4 are up longest (147 s each): the first name wins.
    expect(tr[0]).toMatchObject({ role: 'primary', host: 'pc1', vm: 'nav-a', failover: false });
    // Backup 104.2 s + VM start 42.84 s + commands, then the service IP.
    expect(tr[0].t).toBeGreaterThan(104.17 + 42.84);
    expect(tr[0].t).toBeLessThan(104.17 + 42.84 + 1);
    const cand = ev.find((e) => e.kind === 'navigator.candidates');
    expect(cand?.data?.chosen).toBe('pc3');
    expect(tr[1]).toMatchObject({ role: 'secondary', host: 'pc3', vm: 'nav-b', failover: false });
    // + uptime query, transfer 151.5 s, the new pilot's backup 104.2 s, VM start 42.84 s.
    expect(tr[1].t - tr[0].t).toBeGreaterThan(151.52 + 104.17 + 42.84);
    expect(tr[1].t - tr[0].t).toBeLessThan(151.52 + 104.17 + 42.84 + 3);
    // The secondary's monitoring service is idle.
    expect(ev.some((e) => e.kind === 'service.state' && e.subject === 'nav-b/zabbix' && e.data?.state === 'stopped' && e.t / S < tr[1].t + 1)).toBe(true);
  });

  it('syncs the database every minute while both run', () => {
    const syncs = ev.filter((e) => e.kind === 'image.copied' && e.data?.bytes === 137_500 && e.t / S < 900);
    expect(syncs.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < syncs.length; i++) expect((syncs[i].t - syncs[i - 1].t) / S).toBeCloseTo(71, 0); // 60 s wait + 11 s dump
  });

  it('the monitoring data survives the failover: the dumps sent before it are restored on the new primary, which goes on numbering', () => {
    const synced = ev.filter((e) => e.kind === 'navigator.db-sync' && e.t / S < 900);
    expect(synced.length).toBeGreaterThanOrEqual(6);
    // One row per sync interval, every dump whole up to its time.
    synced.forEach((e) => expect(e.data).toMatchObject({ to: 'pc3', rows: e.data?.lastSeq }));
    expect(Number(synced.at(-1)!.data?.lastSeq)).toBeGreaterThan(Number(synced[0].data?.lastSeq));
    const restore = ev.find((e) => e.kind === 'navigator.db-restore')!;
    expect(restore.subject).toBe('pc3');
    expect(restore.data).toEqual({ rows: synced.at(-1)!.data?.lastSeq, lastSeq: synced.at(-1)!.data?.lastSeq });
    const rows = sim.world.databaseRows('pc3');
    const last = Number(synced.at(-1)!.data?.lastSeq);
    expect(rows.filter((r) => r.host === 'pc1').map((r) => r.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    // pc3 writes on from there.
    expect(rows.some((r) => r.host === 'pc3' && r.seq === last + 1)).toBe(true);
  });

  it('primary failover: pc3 becomes primary within a check, a ping timeout and the takeover', () => {
    const f = tr.find((x) => x.t > 900 && x.role === 'primary')!;
    expect(f).toMatchObject({ host: 'pc3', vm: 'nav-b', failover: true });
    expect(f.t - 900).toBeGreaterThan(4);
    expect(f.t - 900).toBeLessThanOrEqual(5 + 4 + 1);
    // The service IP follows.
    const assign = ev.find((e) => e.kind === 'vip.assign' && e.t > 900 * S);
    expect(assign?.data?.holder).toBe('nav-b');
  });

  it('fallback: a new secondary on another PC (pc1 is off)', () => {
    const fb = tr.find((x) => x.t > 900 && x.role === 'secondary')!;
    // pc4 (up since the start) rather than pc2 (rebooted at 1 s).
    expect(fb.host).toBe('pc4');
    expect(fb.vm).toBe('nav-a');
    const primary = tr.find((x) => x.t > 900 && x.role === 'primary')!;
    expect(fb.t - primary.t).toBeGreaterThan(151.52 + 104.17 + 42.84);
    expect(fb.t - primary.t).toBeLessThan(151.52 + 104.17 + 42.84 + 3);
  });

  it('secondary failover: the primary replaces a lost secondary within its 5 min check', () => {
    const fb = tr.find((x) => x.t > 900 && x.role === 'secondary')!;
    const lost = ev.find((e) => e.kind === 'navigator.secondary-lost' && e.t > 2100 * S)!;
    expect(lost.data?.secondaryHost).toBe(fb.host);
    expect(lost.t / S - 2100).toBeLessThanOrEqual(300 + 4);
    const again = tr.find((x) => x.t > 2100 && x.role === 'secondary')!;
    expect(again.host).toBe('pc2');
    expect(again.t - lost.t / S).toBeGreaterThan(151.52 + 104.17 + 42.84);
  });

  it('the service IP has at most one live holder throughout, and clients are served after each failover', () => {
    const access = ev.filter((e) => e.kind === 'client.access').map((e) => [Math.round(e.t / S), e.data?.log]);
    expect(access[access.length - 1][1]).toBe('OK');
    const holders = new Set<string>();
    for (const e of ev) {
      if (e.subject !== 'vip-rms') continue;
      if (e.kind === 'vip.assign') holders.add(String(e.data?.holder));
      if (e.kind === 'vip.remove') holders.delete(String(e.data?.holder));
      expect(holders.size).toBeLessThanOrEqual(1);
    }
  });

  it('is deterministic', () => {
    const again = buildSimulation(scenario, { seed: 1 });
    again.run();
    expect(JSON.stringify(again.events)).toBe(JSON.stringify(ev));
  });
});

describe('navigator manifest', () => {
  it('checks the block against the site', async () => {
    const { checkPoliciesOn } = await import('../run/policies.ts');
    const site = {
      world: 'sim' as const,
      hosts: [{ name: 'a', mac: '', services: [], on: true }, { name: 'b', mac: '', services: [], on: true }],
      vms: [{ name: 'x', services: ['zabbix'] }, { name: 'y', services: [] }],
      vips: [{ name: 'v', holder: null }],
    };
    const problems = checkPoliciesOn([{ kind: 'navigator', start: 'c', containers: ['x', 'y'], service: 'zabbix', vip: 'w', hosts: ['a', 'b'] }], site);
    const msgs = problems.map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(msgs).toEqual(expect.arrayContaining([
      expect.stringMatching(/start: no host "c"/),
      expect.stringMatching(/service: container "y" does not run "zabbix"/),
      expect.stringMatching(/vip: no VIP "w"/),
    ]));
    expect(checkPoliciesOn([{ kind: 'navigator', start: 'a', containers: ['x', 'x'], service: 'zabbix', vip: 'v' }], site).map((p) => p.message)).toContain('the two containers must differ');
  });
});
