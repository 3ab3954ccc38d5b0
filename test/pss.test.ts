import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { analytical, powerAt, pssTable4, transitions } from '../experiments/pss/table4.ts';
import * as K from '../experiments/params/kitamura2019.ts';
import { maxVipHolders } from '../trace/metrics.ts';
import type { TraceEvent } from '../trace/event.ts';
import { POLICIES } from '../policies/registry.ts';
import { siteFromScenario } from '../run/site.ts';

const FILE = join(import.meta.dirname, '..', 'experiments', 'scenarios', 'pss-table4.yaml');

describe('pss policy on the kitamura-2019 experimental system', () => {
  const scenario = readScenario(FILE);
  const sim = buildSimulation(scenario, { seed: 1 });
  sim.run();
  const ev = sim.events as TraceEvent[];
  const end = sim.kernel.nowUs();

  it('goes moderate -> PS1 -> moderate -> PS1 -> PS2', () => {
    expect(transitions(ev, end).map((x) => `${x.from}>${x.to}`)).toEqual(['moderate>ps1', 'ps1>moderate', 'moderate>ps1', 'ps1>ps2']);
  });
  it('moves PS1 after four light classes in a row (the load drops at 200 s)', () => {
    const first = transitions(ev, end)[0];
    const lightSince = ev.find((e) => e.kind === 'pss.examine' && e.data?.cls === 'light')!.t;
    const examsBetween = ev.filter((e) => e.kind === 'pss.examine' && e.subject === 'Web' && e.t >= lightSince && e.t <= first.startUs);
    expect(examsBetween).toHaveLength(4);
  });
  it('never has two holders of a VIP at once, and the client of VIP1 is never cut off', () => {
    for (const n of Object.values(maxVipHolders(ev))) expect(n).toBeLessThanOrEqual(1);
    expect(ev.filter((e) => e.kind === 'client.access' && e.data?.ok === false)).toHaveLength(0);
  });
  it('keeps W2 and F2 frozen with RS3 and brings them back with it', () => {
    expect(ev.filter((e) => e.kind === 'vm.state' && (e.subject === 'W2' || e.subject === 'F2') && e.data?.state === 'crashed')).toHaveLength(0);
  });
  it('writes the Table 1 files: in PS2 RS2 and RS3 are in the suspension real file', () => {
    const files = sim.store.list<Array<{ realServer: string }>>('pss/');
    const susp = files.find((f) => f.key === 'pss/suspension-real')!.value.map((r) => r.realServer);
    expect(susp).toEqual(['RS2', 'RS3']);
    const state = files.find((f) => f.key === 'pss/state')!.value as unknown as Array<{ condition: string }>;
    expect(state.map((s) => s.condition)).toEqual(['ps2', 'ps2', 'ps2']);
  });
  it('reads 84 / 59 / 34 W in the three conditions', () => {
    const ts = transitions(ev, end);
    expect(powerAt(ev, 100e6)).toBe(84);
    expect(powerAt(ev, (ts[0].doneUs + ts[0].untilUs) / 2)).toBe(59);
    expect(powerAt(ev, end)).toBe(34);
  });
  it('the scenario carries the parameters of Table 4', () => {
    const rs = scenario.hosts.find((h) => h.name === 'RS1')!;
    expect(rs.suspendS).toEqual({ kind: 'constant', value: K.realServer.suspendS });
    expect(rs.resumeS).toEqual({ kind: 'constant', value: K.realServer.resumeS });
    expect(rs.watts.on).toBe(K.realServerWatts.on);
    expect(rs.watts.suspended).toBe(K.realServerWatts.suspended);
    const ws = scenario.vms.find((v) => v.name === 'Ws')!;
    expect(ws.resumeS).toEqual({ kind: 'constant', value: K.spareServer.resumeS });
    expect(ws.suspendS).toEqual({ kind: 'constant', value: K.spareServer.suspendS });
    expect(scenario.network).toMatchObject(K.assumedNetwork);
  });
  it('the manifest rejects unknown names', () => {
    const m = POLICIES.pss;
    const site = siteFromScenario(scenario);
    const cfg = m.schema.parse({ kind: 'pss', manager: 'nope', groups: [{ name: 'G', spare: 'X', members: [{ vm: 'M1', host: 'RS9', vip: 'VIPx' }] }], ps1Base: ['RS1'], ps2Base: 'RS1', thresholds: { light: 1, moderate: 2 } });
    expect(m.check(cfg, site).map(([p]) => p.join('.'))).toEqual(['manager', 'groups.0.spare', 'groups.0.members.0.host', 'groups.0.members.0.vip']);
  });
});

describe('pss sampling: serial (the paper\'s program) or parallel (scenario option)', () => {
  // live-pss-cycle samples in parallel (live, a sample through a guest agent takes seconds).
  const base = readScenario(join(import.meta.dirname, '..', 'experiments', 'scenarios', 'live-pss-cycle.yaml'));
  const runWith = (sampling: 'serial' | 'parallel') => {
    const sim = buildSimulation({ ...base, policies: base.policies.map((p) => ((p as { kind: string }).kind === 'pss' ? { ...p, sampling } : p)) }, { seed: 1 });
    sim.run();
    return sim.events as TraceEvent[];
  };
  const serial = runWith('serial');
  const parallel = runWith('parallel');
  const firstExam = (ev: TraceEvent[]) => ev.find((e) => e.kind === 'pss.examine')!.t;
  it('parallel: a reading costs one sample\'s time, not one per VM; the same changes of condition', () => {
    const intervalUs = 6e6;
    // Six VMs in the operation file at first: the serial period's sampling time is six times the parallel one's.
    const par = firstExam(parallel) - intervalUs;
    const ser = firstExam(serial) - intervalUs;
    expect(par).toBeGreaterThan(0);
    expect(ser).toBeCloseTo(6 * par, -1);
    const conds = (ev: TraceEvent[]) => ev.filter((e) => e.kind === 'pss.transition').map((e) => JSON.stringify(e.data!.conditions));
    expect(conds(parallel)).toEqual(conds(serial));
    expect(conds(parallel)).toHaveLength(3);
    for (const n of Object.values(maxVipHolders(parallel))) expect(n).toBeLessThanOrEqual(1);
  });
});

describe('experiment pss-table4', () => {
  const r = pssTable4.run({ seed: 1, runs: 1, outDir: '/tmp' });
  it('is within 10 % of every printed value and agrees with its closed forms', () => {
    const an = analytical();
    const printed = r.rows.filter((x) => x.paper !== null);
    expect(printed).toHaveLength(5);
    for (const row of printed) expect(Math.abs(row.value - row.paper!) / row.paper!).toBeLessThan(0.1);
    for (const row of r.rows) {
      const a = an[`${row.case}/${row.metric}`];
      if (a !== undefined) expect(row.value).toBeCloseTo(a, 6);
    }
  });
});

describe('pss policy properties (random load patterns)', () => {
  it('every VIP has exactly one holder, on a running real server, after each change; a load inside ML keeps the class', async () => {
    const fc = (await import('fast-check')).default;
    const base = readScenario(FILE);
    const vmsOf = [...new Set((base.vmLoad ?? []).map((l) => l.vm))];
    // Per 60 s segment: light, inside ML (Ls ~ 25 for both types), or moderate; accesses on or off.
    const level = { light: 0, ml: 700, moderate: 1024 } as const;
    fc.assert(fc.property(
      fc.array(fc.record({ lvl: fc.constantFrom('light', 'ml', 'moderate' as const), acc: fc.boolean() }), { minLength: 3, maxLength: 7 }),
      (segs) => {
        const vmLoad = vmsOf.flatMap((vm) => [
          { vm, start: 0, memMb: 256, cpuPct: 5, netBytesPerS: 100_000, accessesPerS: 0 },
          ...segs.flatMap((s, i) => [
            ...(s.lvl === 'light' ? [] : [{ vm, start: i * 60e6, end: (i + 1) * 60e6, memMb: level[s.lvl], cpuPct: s.lvl === 'ml' ? 10 : 40, netBytesPerS: 0, accessesPerS: 0 }]),
            ...(s.acc ? [{ vm, start: i * 60e6, end: (i + 1) * 60e6, memMb: 0, cpuPct: 0, netBytesPerS: 0, accessesPerS: 5 }] : []),
          ]),
        ]);
        const sim = buildSimulation({ ...base, until: segs.length * 60e6, vmLoad }, { seed: 1 });
        sim.run();
        const ev = sim.events as TraceEvent[];
        const holders = new Map<string, Set<string>>();
        const vmHost = new Map<string, string | null>();
        const hostState = new Map<string, string>();
        const lastCls = new Map<string, string>();
        for (const e of ev) {
          if (e.kind === 'vip.assign') (holders.get(e.subject) ?? holders.set(e.subject, new Set()).get(e.subject)!).add(String(e.data?.holder));
          if (e.kind === 'vip.remove') holders.get(e.subject)?.delete(String(e.data?.holder));
          if (e.kind === 'vm.state') vmHost.set(e.subject, (e.data?.host as string | null) ?? null);
          if (e.kind === 'host.state') hostState.set(e.subject, String(e.data?.state));
          if (e.kind === 'pss.transition.done') {
            for (const [vip, hs] of holders) {
              if (hs.size !== 1) return false;
              const h = vmHost.get([...hs][0]);
              if (!h || hostState.get(h) !== 'on') return false;
            }
          }
          if (e.kind === 'pss.examine') {
            // Hysteresis in the policy: a load inside ML keeps the group's class.
            const ls = Number(e.data?.ls);
            const prev = lastCls.get(e.subject) ?? 'moderate';
            if (ls >= 20 && ls <= 30 && e.data?.cls !== prev) return false;
            lastCls.set(e.subject, String(e.data?.cls));
          }
        }
        for (const n of Object.values(maxVipHolders(ev))) if (n > 1) return false;
        return ev.some((e) => e.kind === 'pss.examine');
      },
    ), { numRuns: 25 });
  });
});
