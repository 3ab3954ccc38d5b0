import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  averageReading, classify, clientAccesses, groupLoad, INITIAL_GROUP_STATE, predictVm, stepGroup, TYPE_WEIGHTS, weightedLoad,
  type GroupState, type LoadClass, type VmCapacity,
} from '../policies/pss/decide.ts';
import { accessStopped, layoutFor, planIsEmpty, planTransition, withoutHosts, type Topology } from '../policies/pss/layout.ts';

const cap: VmCapacity = { memKb: 2048 * 1024, cores: 1, netRatedKb: 256_000 };

describe('predicted load, eq. (1)-(3) and the clamps of §2.5', () => {
  it('extrapolates 2*A_n - A_(n-1) per resource', () => {
    const p = predictVm({ memUsedKb: 600_000, cpuPct: 30, netKb: 1000 }, { memUsedKb: 500_000, cpuPct: 20, netKb: 1500 }, cap);
    expect(p).toEqual({ memKb: 700_000, cpuPct: 40, netKb: 500 });
  });
  it('clamps at 0 and at memory size, 100 %, rated * 2', () => {
    const p = predictVm({ memUsedKb: 2_000_000, cpuPct: 90, netKb: 10 }, { memUsedKb: 100, cpuPct: 10, netKb: 200_000 }, cap);
    expect(p).toEqual({ memKb: cap.memKb, cpuPct: 100, netKb: 0 });
  });
  it('averages a period', () => {
    expect(averageReading([{ memUsedKb: 1, cpuPct: 2, netKb: 3 }, { memUsedKb: 3, cpuPct: 4, netKb: 5 }])).toEqual({ memUsedKb: 2, cpuPct: 3, netKb: 4 });
    expect(() => averageReading([])).toThrow(RangeError);
  });
  it('property: predictions stay within their bounds', () => {
    const r = fc.record({ memUsedKb: fc.double({ min: 0, max: 1e7, noNaN: true }), cpuPct: fc.double({ min: 0, max: 100, noNaN: true }), netKb: fc.double({ min: 0, max: 1e6, noNaN: true }) });
    fc.assert(fc.property(r, fc.option(r), (a, b) => {
      const p = predictVm(a, b, cap);
      return p.memKb >= 0 && p.memKb <= cap.memKb && p.cpuPct >= 0 && p.cpuPct <= 100 && p.netKb >= 0 && p.netKb <= cap.netRatedKb;
    }));
  });
});

describe('service-group load, eq. (4)-(9)', () => {
  it('sums memory and network over capacities, weights CPU by cores', () => {
    const g = groupLoad([
      { predicted: { memKb: 1024, cpuPct: 10, netKb: 100 }, capacity: { memKb: 2048, cores: 1, netRatedKb: 1000 } },
      { predicted: { memKb: 0, cpuPct: 40, netKb: 300 }, capacity: { memKb: 2048, cores: 3, netRatedKb: 1000 } },
    ]);
    expect(g.lm).toBeCloseTo(25);
    expect(g.lc).toBeCloseTo((10 + 120) / 4);
    expect(g.ln).toBeCloseTo(20);
  });
  it('weights by server type (eq. (7)-(9)), rows summing to 1', () => {
    const l = { lm: 10, lc: 20, ln: 30 };
    expect(weightedLoad(l, 'CPU')).toBeCloseTo(5 + 8 + 3);
    expect(weightedLoad(l, 'NETWORK')).toBeCloseTo(5 + 2 + 12);
    expect(weightedLoad(l, 'CPU_NET')).toBeCloseTo(5 + 5 + 7.5);
    for (const w of Object.values(TYPE_WEIGHTS)) expect(w.m + w.c + w.n).toBeCloseTo(1);
  });
  it('property: Ls is at most 100 for loads at most 100', () => {
    const pct = fc.double({ min: 0, max: 100, noNaN: true });
    fc.assert(fc.property(pct, pct, pct, fc.constantFrom('CPU', 'NETWORK', 'CPU_NET' as const), (lm, lc, ln, t) => weightedLoad({ lm, lc, ln }, t) <= 100 + 1e-9));
  });
});

describe('classification and condition (Fig. 6)', () => {
  const t = { light: 20, moderate: 40 };
  const rules = { lightCount: 4, accessThreshold: 5 };
  it('areas M, L and ML', () => {
    expect(classify(50, 'light', t)).toBe('moderate');
    expect(classify(10, 'moderate', t)).toBe('light');
    expect(classify(30, 'light', t)).toBe('light');
    expect(classify(30, 'moderate', t)).toBe('moderate');
  });
  it('moderate -> PS1 only after N light classes in a row', () => {
    let s: GroupState = INITIAL_GROUP_STATE;
    const seq: string[] = [];
    for (const ls of [10, 10, 10, 50, 10, 10, 10, 10]) {
      s = stepGroup(s, ls, null, t, rules);
      seq.push(s.condition);
    }
    expect(seq).toEqual(['moderate', 'moderate', 'moderate', 'moderate', 'moderate', 'moderate', 'moderate', 'ps1']);
  });
  it('PS1 -> PS2 when client accesses <= x; back to moderate on a moderate class', () => {
    let s: GroupState = { condition: 'ps1', cls: 'light', lightRun: 0 };
    s = stepGroup(s, 10, 6, t, rules);
    expect(s.condition).toBe('ps1');
    s = stepGroup(s, 10, 5, t, rules);
    expect(s.condition).toBe('ps2');
    s = stepGroup(s, 10, null, t, rules);
    expect(s.condition).toBe('ps2');
    s = stepGroup(s, 10, 9, t, rules);
    expect(s.condition).toBe('ps1');
    s = stepGroup(s, 45, 0, t, rules);
    expect(s.condition).toBe('moderate');
  });
  it('counts client accesses net of the monitoring program', () => {
    expect(clientAccesses(130, 2, 60)).toBe(10);
    expect(clientAccesses(100, 2, 60)).toBe(0);
  });
  it('property: a load oscillating inside ML never changes the condition', () => {
    fc.assert(fc.property(
      fc.constantFrom<GroupState>(INITIAL_GROUP_STATE, { condition: 'moderate', cls: 'light', lightRun: 2 }, { condition: 'ps1', cls: 'light', lightRun: 0 }, { condition: 'ps2', cls: 'light', lightRun: 0 }),
      fc.array(fc.double({ min: 20, max: 40, noNaN: true }), { minLength: 1, maxLength: 50 }),
      (s0, loads) => {
        // With accesses not counted, ML keeps the class; a light class only advances lightRun,
        // and the moderate class never becomes light, so the condition of a group whose class
        // is moderate stays moderate.
        let s = s0;
        const start: { cls: LoadClass; condition: string } = { cls: s0.cls, condition: s0.condition };
        for (const ls of loads) {
          s = stepGroup(s, ls, null, t, rules);
          if (s.cls !== start.cls) return false;
          if (start.cls === 'moderate' && s.condition !== 'moderate') return false;
          if (start.condition !== 'moderate' && s.condition !== start.condition) return false;
        }
        return true;
      },
    ));
  });
});

const topo: Topology = {
  groups: [
    { name: 'Mail', spare: 'Ms', members: [{ vm: 'M1', host: 'RS1', vip: 'VIP1' }, { vm: 'M2', host: 'RS2', vip: 'VIP4' }] },
    { name: 'Web', spare: 'Ws', members: [{ vm: 'W1', host: 'RS1', vip: 'VIP2' }, { vm: 'W2', host: 'RS3', vip: 'VIP5' }] },
    { name: 'FTP', spare: 'Fs', members: [{ vm: 'F1', host: 'RS2', vip: 'VIP3' }, { vm: 'F2', host: 'RS3', vip: 'VIP6' }] },
  ],
  realServers: ['RS1', 'RS2', 'RS3'],
  ps1Base: ['RS1', 'RS2'],
  ps2Base: 'RS1',
};

describe('layouts (Figs. 2-4)', () => {
  const all = (c: 'moderate' | 'ps1' | 'ps2') => ({ Mail: c, Web: c, FTP: c });
  it('PS1 of every group: Ws on RS2, Fs on RS1, RS3 suspended (Fig. 3(h))', () => {
    const l = layoutFor(topo, all('ps1'));
    expect(l.spares).toEqual({ Ws: 'RS2', Fs: 'RS1' });
    expect(l.holders).toMatchObject({ VIP5: 'Ws', VIP6: 'Fs', VIP1: 'M1', VIP4: 'M2' });
    expect(l.active).toEqual(['RS1', 'RS2']);
    expect(accessStopped(topo, l)).toEqual(['W2', 'F2']);
    const p = planTransition(layoutFor(topo, all('moderate')), l);
    expect(p).toMatchObject({ resumeHosts: [], suspendHosts: ['RS3'], suspendSpares: [] });
    expect(p.startSpares).toHaveLength(2);
    expect(p.vipMoves).toHaveLength(2);
  });
  it('only web PS1: RS3 stays up for F2 (Fig. 3(c))', () => {
    const l = layoutFor(topo, { Mail: 'moderate', Web: 'ps1', FTP: 'moderate' });
    expect(l.active).toEqual(['RS1', 'RS2', 'RS3']);
    expect(l.holders.VIP5).toBe('Ws');
  });
  it('a real server that did not wake drops out of the plan: its VMs take no VIP, the spares keep serving', () => {
    const ps1 = layoutFor(topo, all('ps1'));
    const mod = layoutFor(topo, all('moderate'));
    const full = planTransition(ps1, mod);
    expect(full.resumeHosts).toEqual(['RS3']);
    const p = withoutHosts(topo, ps1, mod, full, new Set(['RS3']));
    expect(p).toEqual({ resumeHosts: [], startSpares: [], moveSpares: [], vipMoves: [], suspendSpares: [], suspendHosts: [] });
    expect(planIsEmpty(p)).toBe(true);
    // RS2 unavailable instead: RS3 still wakes and W2, F2 take VIP5, VIP6 back; the spares on RS1 / RS2 go.
    const q = withoutHosts(topo, ps1, mod, full, new Set(['RS2']));
    expect(q.resumeHosts).toEqual(['RS3']);
    expect(q.vipMoves.map((m) => m.to).sort()).toEqual(['F2', 'W2']);
    expect(withoutHosts(topo, ps1, mod, full, new Set())).toBe(full);
  });
  it('PS2 of every group: all on RS1 (Fig. 4(h))', () => {
    const l = layoutFor(topo, all('ps2'));
    expect(l.holders).toEqual({ VIP1: 'M1', VIP4: 'M1', VIP2: 'W1', VIP5: 'W1', VIP3: 'Fs', VIP6: 'Fs' });
    expect(l.active).toEqual(['RS1']);
    const p = planTransition(layoutFor(topo, all('ps1')), l);
    expect(p.suspendHosts).toEqual(['RS2']);
    expect(p.suspendSpares).toEqual(['Ws']);
  });
  it('property: a layout never leaves a VIP on a suspended server, and a round trip plans back', () => {
    const cond = fc.constantFrom('moderate' as const, 'ps1' as const, 'ps2' as const);
    fc.assert(fc.property(cond, cond, cond, cond, cond, cond, (a, b, c, d, e, f) => {
      const x = layoutFor(topo, { Mail: a, Web: b, FTP: c });
      const y = layoutFor(topo, { Mail: d, Web: e, FTP: f });
      for (const g of topo.groups) for (const m of g.members) {
        const h = x.holders[m.vip];
        const host = h === g.spare ? x.spares[h] : g.members.find((q) => q.vm === h)!.host;
        if (!x.active.includes(host)) return false;
      }
      const there = planTransition(x, y);
      const back = planTransition(y, x);
      return there.resumeHosts.length === back.suspendHosts.length && there.vipMoves.length === back.vipMoves.length;
    }));
  });
});
