import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import {
  admits, dpmDecide, dpmUtilisation, evacuate, heldFor, ovirtDecide, utilisation, windowMean,
  type HostView, type VmView,
} from '../policies/hostpower/decide.ts';
import { dpmSchema, ovirtSchema } from '../policies/hostpower/manifest.ts';
import { POLICIES } from '../policies/registry.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { dayScenario } from '../experiments/pss/day.ts';
import type { TraceEvent } from '../trace/event.ts';
import { fcParams } from './helpers/fc-params.ts';

const vm = (name: string, group: string, usedMemMb: number, cpuCores: number): VmView => ({ name, group, memMb: 2048, usedMemMb, cpuCores });
const host = (name: string, vms: VmView[], on = true): HostView => ({ name, on, cores: 4, memMb: 8192, baseMemMb: 1024, vms });
/** The experimental system: M1 W1 on RS1, F1 M2 on RS2, W2 F2 on RS3, every VM idle (256 MB, 5 %). */
const idle = (): HostView[] => [
  host('RS1', [vm('M1', 'Mail', 256, 0.05), vm('W1', 'Web', 256, 0.05)]),
  host('RS2', [vm('F1', 'FTP', 256, 0.05), vm('M2', 'Mail', 256, 0.05)]),
  host('RS3', [vm('W2', 'Web', 256, 0.05), vm('F2', 'FTP', 256, 0.05)]),
];
const DPM = { targetPct: 63, tolerancePct: 18 };
const OVIRT = { highPct: 75, lowPct: 20 };
const all = (hs: HostView[], v: number | null) => new Map(hs.map((h) => [h.name, v]));

describe('hostpower rules (decide.ts)', () => {
  it('the documented defaults are the schema defaults', () => {
    const d = dpmSchema.parse({ kind: 'dpm', manager: 'm', hosts: ['a'], vms: [{ vm: 'x' }] });
    expect([d.targetPct, d.tolerancePct, d.powerOnWindow, d.powerOffWindow, d.interval]).toEqual([63, 18, 300e6, 2400e6, 60e6]);
    const o = ovirtSchema.parse({ kind: 'ovirt', manager: 'm', hosts: ['a'], vms: [{ vm: 'x' }] });
    expect([o.highPct, o.lowPct, o.duration, o.interval]).toEqual([75, 20, 120e6, 60e6]);
    expect(POLICIES.dpm.kind).toBe('dpm');
    expect(POLICIES.ovirt.kind).toBe('ovirt');
  });

  it('utilisation: CPU over cores, memory with the host\'s own use; DPM takes the larger', () => {
    const h = host('RS1', [vm('M1', 'Mail', 1536, 0.8), vm('W1', 'Web', 1536, 0.8)]);
    expect(utilisation(h)).toEqual({ cpuPct: 40, memPct: 50 });
    expect(dpmUtilisation(h)).toBe(50);
    expect(dpmUtilisation(h, [], ['W1'])).toBe(100 * (1024 + 1536) / 8192);
  });

  it('anti-affinity and memory: a host takes no second VM of a group and no more than it has', () => {
    const h = host('RS1', [vm('M1', 'Mail', 256, 0.05), vm('W1', 'Web', 256, 0.05)]);
    expect(admits(h, vm('M2', 'Mail', 256, 0.05))).toBe(false);
    expect(admits(h, vm('F2', 'FTP', 256, 0.05))).toBe(true); // 1024 + 3 * 2048 = 7168 <= 8192
    expect(admits(h, vm('X', '', 256, 0.05), [vm('F2', 'FTP', 256, 0.05)])).toBe(false); // a fourth VM
  });

  it('dpm: all hosts below 45 % over 40 min -> the last least-used host goes to standby, its VMs apart from their partners', () => {
    const hs = idle();
    const a = dpmDecide(hs, all(hs, 10), all(hs, 10), DPM);
    expect(a).toEqual({ kind: 'standby', host: 'RS3', moves: [{ vm: 'F2', to: 'RS1' }, { vm: 'W2', to: 'RS2' }] });
    // The window not yet covered, or one host inside the range: nothing.
    expect(dpmDecide(hs, all(hs, null), all(hs, 10), DPM)).toEqual({ kind: 'none' });
    expect(dpmDecide(hs, new Map([['RS1', 10], ['RS2', 50], ['RS3', 10]]), all(hs, 10), DPM)).toEqual({ kind: 'none' });
  });

  it('dpm: no standby when the others would go above 81 %; wakes a standby host when every host is above 81 % over 5 min', () => {
    const busy = (n: string, g: string) => vm(n, g, 2048, 1);
    const hs = [host('RS1', [busy('M1', 'Mail'), busy('W1', 'Web')]), host('RS2', [busy('F1', 'FTP'), busy('M2', 'Mail')]), host('RS3', [], false)];
    // (1024 + 3 * 2048) / 8192 = 87.5 % > 81 % with a third VM: no host can be emptied.
    expect(dpmDecide(hs, all(hs, 44), all(hs, 44), DPM)).toEqual({ kind: 'none' });
    expect(dpmDecide(hs, all(hs, 90), all(hs, 90), DPM)).toEqual({ kind: 'wake', host: 'RS3' });
  });

  it('ovirt: an under-used host sheds one VM per check to the busiest host that stays below 75 %; empty, it goes to standby', () => {
    const hs = idle();
    const under = new Set(['RS1', 'RS2', 'RS3']);
    const a = ovirtDecide(hs, new Set(), under, OVIRT);
    expect(a.kind).toBe('migrate');
    if (a.kind !== 'migrate') return;
    expect(a.moves).toHaveLength(1);
    const empty = [host('RS1', hs[0].vms.concat(hs[2].vms.slice(1))), hs[1], host('RS3', [])];
    expect(ovirtDecide(empty, new Set(), new Set(['RS3']), OVIRT)).toEqual({ kind: 'standby', host: 'RS3', moves: [] });
    // Not under for the whole duration: nothing.
    expect(ovirtDecide(hs, new Set(), new Set(), OVIRT)).toEqual({ kind: 'none' });
  });

  it('ovirt: an over-used host sheds a VM, or a standby host is woken when none can take it', () => {
    const hot = (n: string, g: string) => vm(n, g, 512, 1.6);
    const hs = [host('RS1', [hot('M1', 'Mail'), hot('W1', 'Web')]), host('RS2', [hot('F1', 'FTP'), hot('M2', 'Mail')]), host('RS3', [], false)];
    expect(ovirtDecide(hs, new Set(['RS1']), new Set(), OVIRT)).toEqual({ kind: 'wake', host: 'RS3' });
  });

  it('windows: a mean or a "held for" needs the whole window covered', () => {
    const xs = [{ t: 0, v: 10 }, { t: 60, v: 30 }, { t: 120, v: 50 }];
    expect(windowMean(xs, 120, 200)).toBeNull();
    expect(windowMean(xs, 120, 100)).toBe(40);
    expect(heldFor(xs, 120, 100, (v) => v > 20)).toBe(true);
    expect(heldFor(xs, 120, 120, (v) => v > 20)).toBe(true);
    expect(heldFor(xs, 120, 121, (v) => v > 20)).toBe(false);
  });

  it('property: an evacuation and every decision keep groups apart and memory within the hosts', () => {
    const groups = ['Mail', 'Web', 'FTP'];
    const arbVm = fc.record({ g: fc.constantFrom(...groups), used: fc.integer({ min: 0, max: 2048 }), cpu: fc.double({ min: 0, max: 1, noNaN: true }) });
    const arbHosts = fc.record({
      specs: fc.array(arbVm, { minLength: 6, maxLength: 6 }),
      place: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 6 }),
      thirdOn: fc.boolean(),
      avg: fc.double({ min: 0, max: 100, noNaN: true }),
    }).map(({ specs, place, thirdOn, avg }) => {
      const hs = ['RS1', 'RS2', 'RS3'].map((n, i) => host(n, [], i < 2 || thirdOn));
      specs.forEach((r, i) => {
        const v = vm(`V${i}`, r.g, r.used, r.cpu);
        // On its chosen host if that is on and admits it, else on the first that does (or none).
        const h = [hs[place[i]], ...hs].find((x) => x.on && admits(x, v));
        if (h) h.vms.push(v);
      });
      return { hs, avg };
    });
    fc.assert(fc.property(arbHosts, ({ hs, avg }) => {
      const check = (moves: Array<{ vm: string; to: string }>, from?: string) => {
        const after = hs.map((h) => ({ ...h, vms: h.vms.slice() }));
        for (const m of moves) {
          const src = after.find((h) => h.vms.some((v) => v.name === m.vm))!;
          const v = src.vms.find((x) => x.name === m.vm)!;
          src.vms = src.vms.filter((x) => x.name !== m.vm);
          const dst = after.find((h) => h.name === m.to)!;
          if (!dst.on || !admits(dst, v)) return false;
          dst.vms.push(v);
        }
        return from === undefined || after.find((h) => h.name === from)!.vms.length === 0;
      };
      for (const h of hs.filter((x) => x.on)) {
        const ev = evacuate(hs, h, (x, extra) => dpmUtilisation(x, extra), 81);
        if (ev !== null && !check(ev, h.name)) return false;
      }
      const d = dpmDecide(hs, all(hs, avg), all(hs, avg), DPM);
      if (d.kind === 'standby' && (!check(d.moves, d.host) || hs.filter((h) => h.on).length < 2)) return false;
      const o = ovirtDecide(hs, new Set(), new Set(hs.map((h) => h.name)), OVIRT);
      if (o.kind === 'migrate' && !check(o.moves)) return false;
      if (o.kind === 'standby' && hs.find((h) => h.name === o.host)!.vms.length > 0) return false;
      return true;
    }), fcParams(200));
  });
});

describe('hostpower policies in the sim (a day of pss-day\'s load)', () => {
  const base = readScenario(join(import.meta.dirname, '..', 'experiments', 'scenarios', 'pss-msbs.yaml'));
  for (const kind of ['dpm', 'ovirt'] as const) {
    it(`${kind}: consolidates to two hosts at night, keeps each group's VMs apart, keeps every VM running`, () => {
      const sim = buildSimulation(dayScenario(base, kind, 1), { seed: 1 });
      sim.run();
      const ev = sim.events as TraceEvent[];
      const hostOf = new Map<string, string | null>();
      const state = new Map<string, string>();
      const groupOf: Record<string, string> = { M1: 'Mail', M2: 'Mail', W1: 'Web', W2: 'Web', F1: 'FTP', F2: 'FTP' };
      let minOn = 3;
      const hostState = new Map<string, string>(['RS1', 'RS2', 'RS3'].map((h) => [h, 'on']));
      for (const e of ev) {
        if (e.kind === 'vm.state') {
          hostOf.set(e.subject, (e.data?.host as string | null) ?? null);
          state.set(e.subject, String(e.data?.state));
          const mine = Object.keys(groupOf).filter((v) => state.get(v) === 'running' && hostOf.get(v) === hostOf.get(e.subject));
          const groups = mine.map((v) => groupOf[v]);
          expect(new Set(groups).size).toBe(groups.length);
        }
        if (e.kind === 'host.state' && /^RS/.test(e.subject)) {
          hostState.set(e.subject, String(e.data?.state));
          minOn = Math.min(minOn, [...hostState.values()].filter((s) => s === 'on').length);
        }
      }
      expect(minOn).toBe(2);
      expect(ev.filter((e) => e.kind === 'hostpower.migrated').length).toBe(2);
      for (const v of Object.keys(groupOf)) expect(state.get(v)).toBe('running');
    });
  }
});
