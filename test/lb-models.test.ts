// The load-balancer cluster's pure models (policies/lbcluster/): keepalived's VRRPv2 router
// (timing formulas, the per-router state machine, a set of routers with kills, graceful stops,
// link faults and partitions), the kernel's IPVS schedulers (wrr, rr, lc) and keepalived's
// real-server checker with the pool it drives (quorum, hysteresis, sorry server). Units pin
// the numbers; properties check the invariants over random cases.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  convergenceBoundUs, electedMaster, falseTakeoverRate, gracefulTakeoverUs, initialRouter, killTakeoverRangeUs, killTakeoverUs, masterDownUs, runVrrp,
  SKEW_MIN_US, skewUs, startTimerUs, vrrpStep, type VrrpConfig, type VrrpRunResult, type VrrpScriptEvent,
} from '../policies/lbcluster/vrrp.ts';
import {
  addDest, delDest, gcd, lcSchedule, rrInit, rrSchedule, schedule, scheduleMany, service, setConns, setWeight, wrrCycle, wrrInit, wrrSchedule, type Dest,
} from '../policies/lbcluster/wrr.ts';
import {
  CHECKER_DEFAULTS, checkerResult, checkerStart, liveWeight, poolMembers, poolSetAlive, poolStart, readmissionBoundUs, removalBoundUs, runChecker,
  servingMembers, type CheckerConfig, type VirtualServerConfig,
} from '../policies/lbcluster/checker.ts';
import { fcParams } from './helpers/fc-params.ts';

const S = 1_000_000;

// ====================================================================== VRRP

const router = (name: string, priority: number, o: Partial<VrrpConfig> = {}): VrrpConfig => ({
  name, address: priority * 1000 + name.length, priority, advertIntUs: S, initialState: 'BACKUP', nopreempt: false, preemptDelayUs: 0, ...o,
});

/** Who is master at time t (the last transition at or before t of each router). */
function statesAt(r: VrrpRunResult, names: string[], t: number): Record<string, string> {
  const st: Record<string, string> = Object.fromEntries(names.map((n) => [n, 'init']));
  for (const x of r.transitions) if (x.tUs <= t) st[x.router] = x.to;
  return st;
}

const firstMasterAfter = (r: VrrpRunResult, t: number, not?: string) => r.transitions.find((x) => x.tUs >= t && x.to === 'master' && x.router !== not);

describe('VRRPv2 timing (keepalived 2.2.7, RFC 3768)', () => {
  it('skew = (256 - priority)/256 s in whole us; master down = 3 x advert_int + skew', () => {
    expect(skewUs(100)).toBe(609_375);
    expect(skewUs(200)).toBe(218_750);
    expect(skewUs(254)).toBe(7_812);
    expect(skewUs(255)).toBe(SKEW_MIN_US);
    expect(SKEW_MIN_US).toBe(3_906);
    expect(masterDownUs(100, S)).toBe(3_609_375);
    expect(masterDownUs(150, 2 * S)).toBe(6_414_062);
    // VRRPv2: the skew does not scale with advert_int.
    expect(masterDownUs(100, 3 * S) - 9 * S).toBe(skewUs(100));
  });

  it('priority 100, advert_int 1: SIGKILL takeover 2.61..3.61 s (mean 3.11), graceful 0.61 s', () => {
    expect(killTakeoverRangeUs(100, S)).toEqual({ min: 2_609_375, max: 3_609_375, mean: 3_109_375 });
    expect(killTakeoverUs(100, S, 0)).toBe(3_609_375);
    expect(killTakeoverUs(100, S, 500_000, 300)).toBe(3_109_675);
    expect(gracefulTakeoverUs(100)).toBe(609_375);
  });

  it('the first timer: a master down, whatever the state keyword (the owner, priority 255 with state MASTER: at once)', () => {
    expect(startTimerUs({ priority: 200, advertIntUs: S, initialState: 'MASTER' })).toBe(3_218_750);
    expect(startTimerUs({ priority: 255, advertIntUs: S, initialState: 'MASTER' })).toBe(0);
    expect(startTimerUs({ priority: 100, advertIntUs: S, initialState: 'BACKUP' })).toBe(3_609_375);
  });
});

describe('VRRP router state machine', () => {
  const c = router('b', 100);
  const backup = () => vrrpStep(c, initialRouter(), { kind: 'start' }, 0).router;

  it('start: init -> backup with the start timer; a stale timer does nothing; a due one makes it master and advertise', () => {
    const r = vrrpStep(c, initialRouter(), { kind: 'start' }, 0);
    expect(r.router.state).toBe('backup');
    expect(r.router.timerAtUs).toBe(3_609_375);
    expect(r.actions).toEqual([{ kind: 'state', from: 'init', to: 'backup' }]);
    expect(vrrpStep(c, r.router, { kind: 'timer' }, 3_000_000).actions).toEqual([]);
    const m = vrrpStep(c, r.router, { kind: 'timer' }, 3_609_375);
    expect(m.router.state).toBe('master');
    expect(m.router.timerAtUs).toBe(3_609_375 + S);
    expect(m.actions).toEqual([{ kind: 'state', from: 'backup', to: 'master' }, { kind: 'send', priority: 100 }, { kind: 'vip', op: 'add' }]);
  });

  it('backup: a higher advert restarts the master-down timer; priority 0 cuts it to the skew', () => {
    const b = backup();
    const a = vrrpStep(c, b, { kind: 'advert', priority: 200, from: 1, advertIntUs: S }, 2 * S).router;
    expect(a.timerAtUs).toBe(2 * S + 3_609_375);
    expect(a.masterPriority).toBe(200);
    const z = vrrpStep(c, a, { kind: 'advert', priority: 0, from: 1, advertIntUs: S }, 3 * S).router;
    expect(z.timerAtUs).toBe(3 * S + 609_375);
  });

  it('backup with preempt ignores a lower advert (the timer runs on); nopreempt accepts it', () => {
    const b = backup();
    expect(vrrpStep(c, b, { kind: 'advert', priority: 50, from: 1, advertIntUs: S }, 2 * S).router.timerAtUs).toBe(3_609_375);
    const np = { ...c, nopreempt: true };
    expect(vrrpStep(np, b, { kind: 'advert', priority: 50, from: 1, advertIntUs: S }, 2 * S).router.timerAtUs).toBe(2 * S + 3_609_375);
  });

  it('preempt_delay: lower adverts are accepted until the delay has run, then ignored', () => {
    const d = { ...c, preemptDelayUs: 10 * S };
    let r = vrrpStep(d, initialRouter(), { kind: 'start' }, 0).router;
    r = vrrpStep(d, r, { kind: 'advert', priority: 50, from: 1, advertIntUs: S }, S).router;
    expect(r.preemptAtUs).toBe(11 * S);
    expect(r.timerAtUs).toBe(S + 3_609_375);
    r = vrrpStep(d, r, { kind: 'advert', priority: 50, from: 1, advertIntUs: S }, 10 * S).router;
    expect(r.timerAtUs).toBe(10 * S + 3_609_375);
    const after = vrrpStep(d, r, { kind: 'advert', priority: 50, from: 1, advertIntUs: S }, 12 * S).router;
    expect(after.timerAtUs).toBe(10 * S + 3_609_375);
    // A higher or equal advert cancels the delay.
    expect(vrrpStep(d, r, { kind: 'advert', priority: 100, from: 1, advertIntUs: S }, 10.5 * S).router.preemptAtUs).toBeNull();
  });

  it('master: answers lower and priority-0 adverts and stays; yields to a higher one, or an equal one from a higher address', () => {
    const m = vrrpStep(c, backup(), { kind: 'timer' }, 3_609_375).router;
    const low = vrrpStep(c, m, { kind: 'advert', priority: 50, from: 1, advertIntUs: S }, 4 * S);
    expect(low.router.state).toBe('master');
    expect(low.actions).toEqual([{ kind: 'send', priority: 100 }]);
    expect(low.router.timerAtUs).toBe(5 * S);
    expect(vrrpStep(c, m, { kind: 'advert', priority: 0, from: 1, advertIntUs: S }, 4 * S).router.state).toBe('master');
    const high = vrrpStep(c, m, { kind: 'advert', priority: 101, from: 1, advertIntUs: S }, 4 * S);
    expect(high.router.state).toBe('backup');
    expect(high.actions).toEqual([{ kind: 'vip', op: 'del' }, { kind: 'state', from: 'master', to: 'backup' }]);
    expect(vrrpStep(c, m, { kind: 'advert', priority: 100, from: c.address + 1, advertIntUs: S }, 4 * S).router.state).toBe('backup');
    expect(vrrpStep(c, m, { kind: 'advert', priority: 100, from: c.address - 1, advertIntUs: S }, 4 * S).router.state).toBe('master');
  });

  it('graceful stop of a master sends priority 0 and drops the VIP; a kill does neither (the VIP stays on the interface)', () => {
    const m = vrrpStep(c, backup(), { kind: 'timer' }, 3_609_375).router;
    expect(vrrpStep(c, m, { kind: 'stop', how: 'graceful' }, 5 * S).actions).toEqual([
      { kind: 'send', priority: 0 }, { kind: 'vip', op: 'del' }, { kind: 'state', from: 'master', to: 'init' },
    ]);
    expect(vrrpStep(c, m, { kind: 'stop', how: 'kill' }, 5 * S).actions).toEqual([{ kind: 'state', from: 'master', to: 'init' }]);
  });

  it('link down: fault (a master drops its VIP); link up: backup with a full master-down timer', () => {
    const m = vrrpStep(c, backup(), { kind: 'timer' }, 3_609_375).router;
    const f = vrrpStep(c, m, { kind: 'link', up: false }, 5 * S);
    expect(f.router.state).toBe('fault');
    expect(f.actions).toContainEqual({ kind: 'vip', op: 'del' });
    const u = vrrpStep(c, f.router, { kind: 'link', up: true }, 6 * S).router;
    expect(u.state).toBe('backup');
    expect(u.timerAtUs).toBe(6 * S + 3_609_375);
  });
});

describe('VRRP pair (Chen and Lo Fig. 4: MS1 priority 200 state MASTER, MS2 priority 100)', () => {
  const ms1 = router('ms1', 200, { initialState: 'MASTER' });
  const ms2 = router('ms2', 100);

  it('MS1 is master one master down (3.22 s) after the start, MS2 stays backup', () => {
    const r = runVrrp({ routers: [ms1, ms2], latencyUs: 0, events: [{ atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' }], untilUs: 60 * S });
    expect(r.transitions.filter((x) => x.to === 'master')).toEqual([{ tUs: 3_218_750, router: 'ms1', from: 'backup', to: 'master' }]);
    expect(r.final.ms2.state).toBe('backup');
  });

  it('SIGKILL of MS1 half-way between adverts: MS2 takes over master-down after the last advert it heard', () => {
    const kill = 10.5 * S;
    const r = runVrrp({
      routers: [ms1, ms2], latencyUs: 200,
      events: [{ atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' }, { atUs: kill, kind: 'stop', router: 'ms1', how: 'kill' }],
      untilUs: 30 * S,
    });
    const lastAdvert = Math.max(...r.adverts.filter((a) => a.router === 'ms1' && a.tUs <= kill).map((a) => a.tUs));
    expect(lastAdvert).toBe(10 * S + 218_750);
    const t = firstMasterAfter(r, kill)!;
    expect(t.router).toBe('ms2');
    expect(t.tUs).toBe(lastAdvert + 200 + 3_609_375);
    expect(t.tUs - kill).toBe(killTakeoverUs(100, S, kill - lastAdvert, 200));
  });

  it('graceful stop of MS1: MS2 takes over after its skew; MS1 back preempts after MS2 waited out its own timer', () => {
    const r = runVrrp({
      routers: [ms1, ms2], latencyUs: 0,
      events: [
        { atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' },
        { atUs: 10.5 * S, kind: 'stop', router: 'ms1', how: 'graceful' }, { atUs: 20 * S, kind: 'start', router: 'ms1' },
      ],
      untilUs: 40 * S,
    });
    expect(firstMasterAfter(r, 10.5 * S)).toEqual({ tUs: 10.5 * S + 609_375, router: 'ms2', from: 'backup', to: 'master' });
    // MS1 restarts: it ignores MS2's lower adverts (preempt), its master-down timer runs out and
    // MS2 yields to its first advert.
    const back = firstMasterAfter(r, 20 * S)!;
    expect(back.router).toBe('ms1');
    expect(back.tUs).toBe(20 * S + 3_218_750);
    expect(r.final.ms1.state).toBe('master');
    expect(r.final.ms2.state).toBe('backup');
  });

  it('nopreempt (both state BACKUP): the returning MS1 stays backup under MS2', () => {
    const a = router('ms1', 200, { nopreempt: true });
    const b = router('ms2', 100, { nopreempt: true });
    const r = runVrrp({
      routers: [a, b], latencyUs: 0,
      events: [
        { atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' },
        { atUs: 10 * S, kind: 'stop', router: 'ms1', how: 'kill' }, { atUs: 20 * S, kind: 'start', router: 'ms1' },
      ],
      untilUs: 60 * S,
    });
    expect(r.final.ms1.state).toBe('backup');
    expect(r.final.ms2.state).toBe('master');
  });

  it('advert_int differs between the two (a misconfiguration): each drops the other\'s adverts and both are master', () => {
    const r = runVrrp({
      routers: [ms1, { ...ms2, advertIntUs: 2 * S }], latencyUs: 0,
      events: [{ atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' }],
      untilUs: 30 * S,
    });
    expect(r.final.ms1.state).toBe('master');
    expect(r.final.ms2.state).toBe('master');
  });

  it('a partition gives one master on each side (split brain); healing leaves the higher priority', () => {
    const r = runVrrp({
      routers: [ms1, ms2], latencyUs: 0,
      events: [
        { atUs: 0, kind: 'start', router: 'ms1' }, { atUs: 0, kind: 'start', router: 'ms2' },
        { atUs: 10 * S, kind: 'partition', groups: [['ms1'], ['ms2']] }, { atUs: 30 * S, kind: 'partition', groups: [] },
      ],
      untilUs: 60 * S,
    });
    const during = statesAt(r, ['ms1', 'ms2'], 29 * S);
    expect(during).toEqual({ ms1: 'master', ms2: 'master' });
    expect(r.final.ms1.state).toBe('master');
    expect(r.final.ms2.state).toBe('backup');
  });
});

// ----- random clusters -----

interface Cluster {
  routers: VrrpConfig[];
  latencyUs: number;
  events: VrrpScriptEvent[];
}

const configArb = (i: number, opts: { allPreempt: boolean; distinct?: number[]; advertS: number }) =>
  fc.record({
    priority: opts.distinct ? fc.constant(opts.distinct[i]) : fc.integer({ min: 1, max: 254 }),
    advertS: fc.constant(opts.advertS),
    master: fc.boolean(),
    nopreempt: opts.allPreempt ? fc.constant(false) : fc.boolean(),
    delayS: fc.constantFrom(0, 0, 5),
  }).map((x): VrrpConfig => {
    const master = x.master && !x.nopreempt && x.delayS === 0;
    return {
      name: `r${i}`, address: 0x0a000001 + i, priority: x.priority, advertIntUs: x.advertS * S,
      initialState: master ? 'MASTER' : 'BACKUP', nopreempt: x.nopreempt, preemptDelayUs: x.nopreempt ? 0 : x.delayS * S,
    };
  });

/** 2..4 routers of one instance: one advert_int for all (as a working instance must have). */
const routersArb = (allPreempt: boolean, distinctPriorities: boolean) =>
  fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 })).chain(([n, advertS]) =>
    (distinctPriorities ? fc.uniqueArray(fc.integer({ min: 1, max: 254 }), { minLength: n, maxLength: n }) : fc.constant(undefined)).chain((distinct) =>
      fc.tuple(...Array.from({ length: n }, (_, i) => configArb(i, { allPreempt, distinct: distinct ?? undefined, advertS })))));

const scriptEventArb = (names: string[]): fc.Arbitrary<VrrpScriptEvent> => {
  const at = fc.integer({ min: 0, max: 60 * S });
  const who = fc.constantFrom(...names);
  return fc.oneof(
    fc.record({ atUs: at, router: who }).map((e): VrrpScriptEvent => ({ ...e, kind: 'start' })),
    fc.record({ atUs: at, router: who, how: fc.constantFrom('graceful' as const, 'kill' as const) }).map((e): VrrpScriptEvent => ({ ...e, kind: 'stop' })),
    fc.record({ atUs: at, router: who, up: fc.boolean() }).map((e): VrrpScriptEvent => ({ ...e, kind: 'link' })),
    fc.record({ atUs: at, side: fc.subarray(names) }).map((e): VrrpScriptEvent => ({ atUs: e.atUs, kind: 'partition', groups: e.side.length ? [e.side] : [] })),
  );
};

const clusterArb = (allPreempt: boolean, distinct: boolean): fc.Arbitrary<Cluster> =>
  routersArb(allPreempt, distinct).chain((routers) => {
    const names = routers.map((r) => r.name);
    return fc.record({
      latencyUs: fc.integer({ min: 0, max: 2_000 }),
      starts: fc.array(fc.integer({ min: 0, max: 5 * S }), { minLength: routers.length, maxLength: routers.length }),
      events: fc.array(scriptEventArb(names), { maxLength: 8 }),
    }).map(({ latencyUs, starts, events }) => ({
      routers,
      latencyUs,
      events: [...names.map((n, i): VrrpScriptEvent => ({ atUs: starts[i], kind: 'start', router: n })), ...events],
    }));
  });

/** The connected groups of running routers with their links up, at the end of a run. */
function liveGroups(c: Cluster, r: VrrpRunResult): VrrpConfig[][] {
  const groups = new Map<number, VrrpConfig[]>();
  for (const cfg of c.routers) {
    const st = r.final[cfg.name];
    if (st.state === 'init' || !st.linkUp) continue;
    const g = r.finalGroup[cfg.name];
    groups.set(g, [...(groups.get(g) ?? []), cfg]);
  }
  return [...groups.values()];
}

const settleRun = (c: Cluster) => {
  const last = Math.max(...c.events.map((e) => e.atUs));
  return runVrrp({ ...c, untilUs: last + convergenceBoundUs(c.routers, c.latencyUs) });
};

describe('VRRP properties', () => {
  it('after convergence: exactly one master in every connected group of running routers, none elsewhere', () => {
    fc.assert(fc.property(clusterArb(false, false), (c) => {
      const r = settleRun(c);
      for (const g of liveGroups(c, r)) {
        const masters = g.filter((x) => r.final[x.name].state === 'master').map((x) => x.name);
        expect(masters, `group ${g.map((x) => x.name).join(',')}`).toHaveLength(1);
      }
      for (const cfg of c.routers) {
        const st = r.final[cfg.name];
        if (st.state === 'init' || !st.linkUp) expect(st.state).not.toBe('master');
      }
    }), fcParams(300));
  });

  it('with preempt everywhere and distinct priorities: the master of each group is its highest priority', () => {
    fc.assert(fc.property(clusterArb(true, true), (c) => {
      const r = settleRun(c);
      for (const g of liveGroups(c, r)) {
        const master = g.find((x) => r.final[x.name].state === 'master')?.name;
        expect(master).toBe(electedMaster(g));
      }
    }), fcParams(300));
  });

  it('SIGKILL of the master: a backup takes over within master down (of the highest remaining priority) minus one advert, plus latency', () => {
    fc.assert(fc.property(routersArb(false, false), fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 10 * S }), (routers, latencyUs, offset) => {
      const names = routers.map((x) => x.name);
      const starts = names.map((n): VrrpScriptEvent => ({ atUs: 0, kind: 'start', router: n }));
      const warm = runVrrp({ routers, latencyUs, events: starts, untilUs: convergenceBoundUs(routers, latencyUs) });
      const master = names.find((n) => warm.final[n].state === 'master')!;
      const kill = convergenceBoundUs(routers, latencyUs) + offset;
      const r = runVrrp({ routers, latencyUs, events: [...starts, { atUs: kill, kind: 'stop', router: master, how: 'kill' }], untilUs: kill + 20 * S });
      const rest = routers.filter((x) => x.name !== master);
      const top = Math.max(...rest.map((x) => x.priority));
      const b = rest.find((x) => x.priority === top)!;
      const adv = routers.find((x) => x.name === master)!.advertIntUs;
      const t = firstMasterAfter(r, kill, master)!;
      expect(rest.filter((x) => x.priority === top).map((x) => x.name)).toContain(t.router);
      const down = masterDownUs(b.priority, b.advertIntUs);
      expect(t.tUs - kill).toBeGreaterThanOrEqual(down - adv + latencyUs);
      expect(t.tUs - kill).toBeLessThanOrEqual(down + latencyUs);
    }), fcParams(300));
  });

  it('graceful stop of the master: the highest remaining priority takes over after exactly its skew (plus latency)', () => {
    fc.assert(fc.property(routersArb(false, false), fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 10 * S }), (routers, latencyUs, offset) => {
      const names = routers.map((x) => x.name);
      const starts = names.map((n): VrrpScriptEvent => ({ atUs: 0, kind: 'start', router: n }));
      const warm = runVrrp({ routers, latencyUs, events: starts, untilUs: convergenceBoundUs(routers, latencyUs) });
      const master = names.find((n) => warm.final[n].state === 'master')!;
      const stop = convergenceBoundUs(routers, latencyUs) + offset;
      const r = runVrrp({ routers, latencyUs, events: [...starts, { atUs: stop, kind: 'stop', router: master, how: 'graceful' }], untilUs: stop + 20 * S });
      const top = Math.max(...routers.filter((x) => x.name !== master).map((x) => x.priority));
      const t = firstMasterAfter(r, stop, master)!;
      expect(t.tUs - stop).toBe(gracefulTakeoverUs(top, latencyUs));
    }), fcParams(300));
  });

  it('the same run twice gives the same transitions (deterministic)', () => {
    fc.assert(fc.property(clusterArb(false, false), (c) => {
      expect(settleRun(c)).toEqual(settleRun(c));
    }), fcParams(50));
  });
});

// ====================================================================== IPVS schedulers

const dests = (weights: number[]): Dest[] => weights.map((w, i) => ({ id: `d${i}`, weight: w }));
const count = (ids: Array<string | null>) => ids.reduce<Record<string, number>>((a, id) => ((a[String(id)] = (a[String(id)] ?? 0) + 1), a), {});

function runWrr(ds: Dest[], n: number): Array<string | null> {
  let s = wrrInit(ds);
  const out: Array<string | null> = [];
  for (let k = 0; k < n; k++) {
    const r = wrrSchedule(s, ds);
    out.push(r.pick === null ? null : ds[r.pick].id);
    s = r.state;
  }
  return out;
}

describe('IPVS wrr (ip_vs_wrr.c)', () => {
  it('weights 4, 3, 2: passes for cw = 4, 3, 2, 1 give A A B A B C A B C, then again', () => {
    expect(runWrr(dests([4, 3, 2]), 18).join(' ')).toBe('d0 d0 d1 d0 d1 d2 d0 d1 d2 d0 d0 d1 d0 d1 d2 d0 d1 d2');
  });

  it('weights 4, 2 step by their gcd 2 (mw = 4 - 1 = 3): A A B per cycle', () => {
    expect(wrrInit(dests([4, 2]))).toEqual({ cl: -1, cw: 3, mw: 3, di: 2 });
    expect(runWrr(dests([4, 2]), 6).join(' ')).toBe('d0 d0 d1 d0 d0 d1');
  });

  it('equal weights (Chen and Lo: weight 1 each) is round robin; weight 0 is never picked; all 0: none', () => {
    expect(runWrr(dests([1, 1, 1, 1]), 8).join(' ')).toBe('d0 d1 d2 d3 d0 d1 d2 d3');
    expect(runWrr(dests([2, 0, 1]), 6).join(' ')).toBe('d0 d0 d2 d0 d0 d2');
    expect(runWrr(dests([0, 0]), 3)).toEqual([null, null, null]);
    expect(runWrr([], 2)).toEqual([null, null]);
  });

  it('a destination added goes to the front of the list (as the kernel links it)', () => {
    const s = service('wrr', [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }]);
    expect(s.dests.map((d) => d.id)).toEqual(['b', 'a']);
    expect(scheduleMany(s, 4).ids).toEqual(['b', 'a', 'b', 'a']);
  });

  const weightsArb = fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 6 });

  it('every window of one cycle (sum of weights / gcd picks) gives each destination exactly weight / gcd picks', () => {
    fc.assert(fc.property(weightsArb, fc.integer({ min: 1, max: 4 }), (ws, cycles) => {
      const ds = dests(ws);
      const g = ws.filter((w) => w > 0).reduce(gcd, 0) || 1;
      const cycle = wrrCycle(ds);
      if (cycle === 0) {
        expect(runWrr(ds, 3)).toEqual([null, null, null]);
        return;
      }
      const ids = runWrr(ds, cycle * (cycles + 1));
      for (let start = 0; start + cycle <= ids.length; start += Math.max(1, Math.floor(cycle / 3))) {
        const c = count(ids.slice(start, start + cycle));
        ds.forEach((d) => expect(c[d.id] ?? 0).toBe(d.weight / g));
      }
      expect(ids).not.toContain(null);
    }), fcParams(500));
  });

  it('removing, re-adding and re-weighting: a removed or weight-0 destination gets nothing; one cycle after a change the shares are exact again', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('del' as const), i: fc.nat(5) }),
      fc.record({ kind: fc.constant('add' as const), i: fc.nat(5), w: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('weight' as const), i: fc.nat(5), w: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('run' as const), n: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 6 }), fc.array(op, { maxLength: 12 }), (ws, ops) => {
      let s = service('wrr', dests(ws));
      for (const o of ops) {
        if (o.kind === 'run') {
          const r = scheduleMany(s, o.n);
          s = r.service;
          continue;
        }
        const id = `d${o.i}`;
        if (o.kind === 'del') s = delDest(s, id);
        else if (o.kind === 'add') s = s.dests.some((d) => d.id === id) ? s : addDest(s, { id, weight: o.w });
        else s = s.dests.some((d) => d.id === id) ? setWeight(s, id, o.w) : s;
        // After the change: nothing outside the list or of weight 0; exact shares after one cycle.
        const cycle = wrrCycle(s.dests);
        const r = scheduleMany(s, 3 * cycle + 3);
        const eligible = new Set(s.dests.filter((d) => d.weight > 0).map((d) => d.id));
        for (const x of r.ids) if (x !== null) expect(eligible.has(x)).toBe(true);
        if (cycle > 0) {
          const g = s.dests.filter((d) => d.weight > 0).map((d) => d.weight).reduce(gcd, 0);
          const c = count(r.ids.slice(cycle, 2 * cycle));
          for (const d of s.dests) expect(c[d.id] ?? 0).toBe(d.weight / g);
        } else {
          expect(r.ids.every((x) => x === null)).toBe(true);
        }
        s = r.service;
      }
    }), fcParams(300));
  });
});

describe('IPVS rr and lc', () => {
  it('rr: the next destination with weight > 0 after the last pick; deleting the last pick resumes at its successor', () => {
    const ds = dests([1, 0, 3, 1]);
    let st = rrInit();
    const picks: number[] = [];
    for (let k = 0; k < 6; k++) {
      const r = rrSchedule(st, ds);
      picks.push(r.pick!);
      st = r.state;
    }
    expect(picks).toEqual([0, 2, 3, 0, 2, 3]);
    let s = service('rr', [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }, { id: 'c', weight: 1 }]); // list c b a
    s = scheduleMany(s, 2).service; // c, b
    s = delDest(s, 'b');
    expect(scheduleMany(s, 3).ids).toEqual(['a', 'c', 'a']);
    expect(rrSchedule(rrInit(), dests([0, 0])).pick).toBeNull();
  });

  it('rr property: over n x k picks each of k eligible destinations gets n, whatever the weights', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 5 }), (ws, n) => {
      const k = ws.filter((w) => w > 0).length;
      const r = scheduleMany(service('rr', dests(ws)), n * Math.max(1, k));
      if (k === 0) {
        expect(r.ids.every((x) => x === null)).toBe(true);
        return;
      }
      const c = count(r.ids);
      dests(ws).forEach((d) => expect(c[d.id] ?? 0).toBe(d.weight > 0 ? n : 0));
    }), fcParams(300));
  });

  it('lc: least active x 256 + inactive among weight > 0, the first in the list on a tie', () => {
    expect(lcSchedule([{ id: 'a', weight: 1, active: 1 }, { id: 'b', weight: 1, inactive: 255 }])).toBe(1);
    expect(lcSchedule([{ id: 'a', weight: 1, active: 1 }, { id: 'b', weight: 1, inactive: 256 }])).toBe(0);
    expect(lcSchedule([{ id: 'a', weight: 0 }, { id: 'b', weight: 5, active: 9 }])).toBe(1);
    expect(lcSchedule([{ id: 'a', weight: 0 }])).toBeNull();
  });

  it('lc property: a connection goes to a destination of weight > 0 with no other eligible one less loaded', () => {
    const d = fc.record({ weight: fc.integer({ min: 0, max: 3 }), active: fc.integer({ min: 0, max: 20 }), inactive: fc.integer({ min: 0, max: 600 }) });
    fc.assert(fc.property(fc.array(d, { minLength: 1, maxLength: 6 }), (xs) => {
      let s = service('lc', []);
      xs.forEach((x, i) => { s = addDest(s, { id: `d${i}`, weight: x.weight }); s = setConns(s, `d${i}`, x.active, x.inactive); });
      const r = schedule(s);
      const eligible = s.dests.filter((x) => x.weight > 0);
      if (eligible.length === 0) {
        expect(r.id).toBeNull();
        return;
      }
      const picked = s.dests.find((x) => x.id === r.id)!;
      expect(picked.weight).toBeGreaterThan(0);
      const oh = (x: Dest) => (x.active ?? 0) * 256 + (x.inactive ?? 0);
      for (const x of eligible) expect(oh(picked)).toBeLessThanOrEqual(oh(x));
    }), fcParams(300));
  });
});

// ====================================================================== checker and pool

describe('keepalived checker (tcp_epilog)', () => {
  it('defaults: delay_loop 60 s, connect_timeout 5 s, retry 1, delay_before_retry 1 s', () => {
    expect(CHECKER_DEFAULTS).toEqual({ delayLoopUs: 60 * S, connectTimeoutUs: 5 * S, retry: 1, delayBeforeRetryUs: S, alpha: false });
  });

  it('retry 2: down on the third failure in a row, up on the first success', () => {
    const c: CheckerConfig = { delayLoopUs: 6 * S, connectTimeoutUs: 3 * S, retry: 2, delayBeforeRetryUs: S, alpha: false };
    let s = checkerStart(c, 0);
    s = checkerResult(c, s, true, 0).state;
    expect(s.nextTryUs).toBe(6 * S);
    let r = checkerResult(c, s, false, 9 * S); // timed out at 6 + 3
    expect(r.transition).toBeNull();
    expect(r.state.nextTryUs).toBe(10 * S);
    r = checkerResult(c, r.state, false, 13 * S);
    expect(r.transition).toBeNull();
    r = checkerResult(c, r.state, false, 17 * S);
    expect(r.transition).toBe('down');
    expect(r.state.nextTryUs).toBe(23 * S);
    r = checkerResult(c, r.state, false, 26 * S);
    expect(r.transition).toBeNull();
    r = checkerResult(c, r.state, true, 27 * S);
    expect(r.transition).toBe('up');
    expect(r.state.retryIt).toBe(0);
  });

  it('the example request\'s checker (1 s loop, 3 s timeout, retry 2, 1 s before retry): out within 1 + 2 + 9 = 12 s of a silent failure, 3 s when refused', () => {
    const c: CheckerConfig = { delayLoopUs: S, connectTimeoutUs: 3 * S, retry: 2, delayBeforeRetryUs: S, alpha: false };
    expect(removalBoundUs(c, 'timeout')).toBe(12 * S);
    expect(removalBoundUs(c, 'refused')).toBe(3 * S);
    expect(readmissionBoundUs(c)).toBe(4 * S);
  });

  const cfgArb = fc.record({
    delayLoopUs: fc.integer({ min: 1, max: 30 }).map((x) => x * S / 2),
    connectTimeoutUs: fc.integer({ min: 1, max: 10 }).map((x) => x * S / 2),
    retry: fc.integer({ min: 0, max: 4 }),
    delayBeforeRetryUs: fc.integer({ min: 1, max: 10 }).map((x) => x * S / 2),
    alpha: fc.constant(false),
  });

  it('a server that starts failing at f is out no later than f + delay_loop + retry x delay_before_retry (+ connect_timeout per try), and not before its retry + 1 failures', () => {
    fc.assert(fc.property(cfgArb, fc.integer({ min: 0, max: 120 * S }), fc.constantFrom('refused' as const, 'timeout' as const), (c, f, how) => {
      const r = runChecker(c, (t) => (t < f ? 'ok' : how), 0, f + 10 * removalBoundUs(c, how) + 10 * S);
      const down = r.transitions.find((x) => x.to === 'down');
      expect(down).toBeDefined();
      expect(down!.tUs).toBeGreaterThanOrEqual(f);
      expect(down!.tUs - f).toBeLessThanOrEqual(removalBoundUs(c, how));
      expect(down!.tUs - f).toBeGreaterThanOrEqual(c.retry * c.delayBeforeRetryUs + (how === 'timeout' ? (c.retry + 1) * c.connectTimeoutUs : 0));
      expect(r.tries.filter((x) => x.startUs >= f && x.endUs <= down!.tUs)).toHaveLength(c.retry + 1);
      expect(r.transitions.filter((x) => x.to === 'down')).toHaveLength(1);
    }), fcParams(500));
  });

  it('one success re-adds it: back no later than connect_timeout + max(delay_loop, delay_before_retry) after it passes again', () => {
    fc.assert(fc.property(cfgArb, fc.integer({ min: 0, max: 60 * S }), fc.integer({ min: 0, max: 60 * S }), fc.constantFrom('refused' as const, 'timeout' as const), (c, f, len, how) => {
      const g = f + removalBoundUs(c, how) + len;
      const r = runChecker(c, (t) => (t >= f && t < g ? how : 'ok'), 0, g + 10 * readmissionBoundUs(c));
      const up = r.transitions.find((x) => x.to === 'up');
      expect(up).toBeDefined();
      expect(up!.tUs).toBeGreaterThanOrEqual(g);
      expect(up!.tUs - g).toBeLessThanOrEqual(readmissionBoundUs(c));
    }), fcParams(500));
  });
});

describe('the pool of a virtual server: quorum, hysteresis, sorry server, inhibit_on_failure', () => {
  const vs: VirtualServerConfig = {
    realServers: [{ id: 'a', weight: 1, inhibitOnFailure: false }, { id: 'b', weight: 1, inhibitOnFailure: false }, { id: 'c', weight: 2, inhibitOnFailure: true }],
    quorum: 3, hysteresis: 1, sorryServer: 'sorry',
  };

  it('quorum 3 with hysteresis 1: lost below 2, back at 4; meanwhile only the sorry server serves (inhibited c stays at weight 0)', () => {
    let s = poolStart(vs);
    expect(s.quorumUp).toBe(true);
    expect(poolMembers(vs, s)).toEqual([{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }, { id: 'c', weight: 2 }]);
    s = poolSetAlive(vs, s, 'a', false); // 3
    s = poolSetAlive(vs, s, 'b', false); // 2: still >= quorum - hysteresis
    expect(s.quorumUp).toBe(true);
    expect(poolMembers(vs, s)).toEqual([{ id: 'c', weight: 2 }]);
    s = poolSetAlive(vs, s, 'c', false); // 0
    expect(s.quorumUp).toBe(false);
    expect(poolMembers(vs, s)).toEqual([{ id: 'c', weight: 0 }, { id: 'sorry', weight: 1 }]);
    s = poolSetAlive(vs, s, 'c', true); // 2 < 4
    s = poolSetAlive(vs, s, 'a', true); // 3 < 4: still down
    expect(s.quorumUp).toBe(false);
    expect(servingMembers(vs, s)).toEqual(['sorry']);
    s = poolSetAlive(vs, s, 'b', true); // 4
    expect(s.quorumUp).toBe(true);
    expect(servingMembers(vs, s)).toEqual(['a', 'b', 'c']);
  });

  it('property: quorum changes only across its thresholds; the sorry server serves exactly when quorum is down; a dead server never serves', () => {
    const vsArb = fc.record({
      ws: fc.array(fc.record({ w: fc.integer({ min: 0, max: 3 }), inhibit: fc.boolean() }), { minLength: 1, maxLength: 5 }),
      quorum: fc.integer({ min: 1, max: 6 }),
      hysteresis: fc.integer({ min: 0, max: 2 }),
      sorry: fc.boolean(),
    }).map((x): VirtualServerConfig => ({
      realServers: x.ws.map((r, i) => ({ id: `r${i}`, weight: r.w, inhibitOnFailure: r.inhibit })),
      quorum: x.quorum, hysteresis: x.hysteresis, ...(x.sorry ? { sorryServer: 'sorry' } : {}),
    }));
    fc.assert(fc.property(vsArb, fc.array(fc.tuple(fc.nat(4), fc.boolean()), { maxLength: 30 }), (v, flips) => {
      let s = poolStart(v);
      for (const [i, alive] of flips) {
        const id = v.realServers[i % v.realServers.length].id;
        const before = s.quorumUp;
        s = poolSetAlive(v, s, id, alive);
        const sum = liveWeight(v, s.alive);
        if (sum >= v.quorum + v.hysteresis) expect(s.quorumUp).toBe(true);
        else if (sum === 0 || sum < v.quorum - v.hysteresis) expect(s.quorumUp).toBe(false);
        else expect(s.quorumUp).toBe(before);
        const serving = servingMembers(v, s);
        expect(serving.includes('sorry')).toBe(!s.quorumUp && v.sorryServer !== undefined);
        for (const r of v.realServers) if (!s.alive[r.id]) expect(serving).not.toContain(r.id);
        for (const m of poolMembers(v, s)) if (m.weight === 0 && m.id !== 'sorry') expect(v.realServers.find((r) => r.id === m.id)!.inhibitOnFailure || v.realServers.find((r) => r.id === m.id)!.weight === 0).toBe(true);
      }
    }), fcParams(500));
  });
});

describe('VRRP under advert loss (the model runner)', () => {
  const routers = (a: number) => [
    { name: 'ms1', address: 1, priority: 254, advertIntUs: a, initialState: 'BACKUP' as const, nopreempt: false, preemptDelayUs: 0 },
    { name: 'ms2', address: 2, priority: 100, advertIntUs: a, initialState: 'BACKUP' as const, nopreempt: false, preemptDelayUs: 0 },
  ];
  const starts = [{ atUs: 0, kind: 'start' as const, router: 'ms1' }, { atUs: 0, kind: 'start' as const, router: 'ms2' }];

  it('no loss (or loss 0) changes nothing; the same seed loses the same adverts', () => {
    const base = runVrrp({ routers: routers(S), latencyUs: 500, events: starts, untilUs: 600 * S });
    expect(runVrrp({ routers: routers(S), latencyUs: 500, events: starts, untilUs: 600 * S, lossProb: 0, lossSeed: 9 })).toEqual(base);
    expect(base.transitions.filter((x) => x.router === 'ms2' && x.to === 'master')).toEqual([]);
    const lossy = (seed: number) => runVrrp({ routers: routers(S), latencyUs: 500, events: starts, untilUs: 3600 * S, lossProb: 0.3, lossSeed: seed }).transitions;
    expect(lossy(4)).toEqual(lossy(4));
    expect(lossy(4)).not.toEqual(lossy(5));
  });

  it('false takeovers per advert match (1 - p) p^k, k adverts lost in a row before the timer runs out', () => {
    expect(falseTakeoverRate(100, S, 0.1)).toBeCloseTo(0.9 * 0.1 ** 3, 12);
    expect(falseTakeoverRate(100, 0.25 * S, 0.1)).toBeCloseTo(0.9 * 0.1 ** 5, 12);
    const a = S;
    const day = 86_400 * S;
    const m = runVrrp({ routers: routers(a), latencyUs: 500, events: starts, untilUs: day, lossProb: 0.2, lossSeed: 3 });
    const n = m.transitions.filter((x) => x.router === 'ms2' && x.to === 'master' && x.tUs > 4 * S).length;
    const expected = (day / a) * falseTakeoverRate(100, a, 0.2);
    // Poisson-like count around 553: within 4 standard deviations.
    expect(Math.abs(n - expected)).toBeLessThan(4 * Math.sqrt(expected));
    // Each false takeover ends: the backup steps back at the master's next advert.
    expect(m.final.ms2.state).not.toBe('master');
  });
});
