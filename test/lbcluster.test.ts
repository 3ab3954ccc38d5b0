// The lbcluster policy in sim (policies/lbcluster/program.ts) against keepalived's formulas and
// the pure models: VRRP takeovers (kill, graceful stop, preemption), one master per instance
// after any fault schedule, the checker's removal bounds, and IPVS wrr shares seen in the
// clients' access log.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { buildSimulation, parseScenario as parseScenarioText, readScenario } from '../run/sim.ts';
import type { FaultSpec, Scenario } from '../sim/scenario/schema.ts';
import type { TraceEvent } from '../trace/event.ts';
import { SCENARIO_DIR } from '../experiments/registry.ts';
import { advertsOf, lbAccesses, mastersAt, nextMaster, poolChanges, vrrpStatesAt } from '../experiments/lb/trace.ts';
import { killTakeoverRangeUs, killTakeoverUs, masterDownUs, skewUs } from '../policies/lbcluster/vrrp.ts';
import { removalBoundUs, readmissionBoundUs, type CheckerConfig } from '../policies/lbcluster/checker.ts';
import { addDest, delDest, schedule, service, setWeight, type Service } from '../policies/lbcluster/wrr.ts';
import { fcParams } from './helpers/fc-params.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { lbclusterPolicy } from '../policies/lbcluster/manifest.ts';

const S = 1_000_000;
const base = readScenario(join(SCENARIO_DIR, 'lb-demo.yaml'));
const LAT = Math.round(base.network.latencyS * S);
// The scenario's policy block as written (durations in seconds); parsed, for the checker's timing.
const policy = base.policies[0] as Record<string, unknown>;
const parsed = lbclusterPolicy.schema.parse(policy);
const CHECKER: CheckerConfig = {
  delayLoopUs: parsed.checker.delayLoop, connectTimeoutUs: parsed.checker.connectTimeout, retry: parsed.checker.retry,
  delayBeforeRetryUs: parsed.checker.delayBeforeRetry, alpha: false,
};
const EXAM = 2_000; // ap*'s plm examS

function run(s: Scenario, seed = 1): TraceEvent[] {
  const sim = buildSimulation(s, { seed });
  sim.run();
  return sim.events;
}

function variant(o: { faults?: FaultSpec[]; policy?: Record<string, unknown>; until?: number; directors?: Array<{ host: string; priority: number }> }): Scenario {
  const p = { ...policy, traceAdverts: true, ...(o.policy ?? {}), ...(o.directors ? { directors: o.directors.map((d) => ({ state: 'BACKUP', ...d })) } : {}) };
  return { ...base, faults: o.faults ?? base.faults, policies: [p as unknown as Scenario['policies'][number]], until: o.until ?? base.until };
}

const at = (s: number) => Math.round(s * S);

describe('lb-demo: the trace against keepalived\'s formulas', () => {
  const ev = run(variant({}));
  const I = 'VI_PLM';

  it('starts with ms1 (priority 150) as master after its master-down interval', () => {
    const first = nextMaster(ev, I, -1)!;
    expect(first).toEqual({ router: 'ms1', tUs: masterDownUs(150, S) });
  });

  it('a killed master (power cycle) is replaced within master down - phase + latency', () => {
    const kill = at(30.4);
    const last = advertsOf(ev, I, 'ms1').filter((a) => a.tUs <= kill).at(-1)!;
    const take = nextMaster(ev, I, kill)!;
    expect(take.router).toBe('ms2');
    expect(take.tUs - kill).toBe(killTakeoverUs(100, S, kill - last.tUs, LAT));
    const range = killTakeoverRangeUs(100, S, LAT);
    expect(take.tUs - kill).toBeGreaterThan(range.min);
    expect(take.tUs - kill).toBeLessThanOrEqual(range.max);
  });

  it('the restarted ms1 preempts ms2 one master down (priority 150) after it starts', () => {
    const back = ev.find((e) => e.kind === 'vrrp.state' && e.data?.router === 'ms1' && e.data?.to === 'backup' && e.t > at(31))!;
    const take = nextMaster(ev, I, back.t)!;
    expect(take).toEqual({ router: 'ms1', tUs: back.t + masterDownUs(150, S) });
    expect(vrrpStatesAt(ev, I, take.tUs + 2 * LAT).ms2).toBe('backup');
  });

  it('a graceful stop (keepalived stopped) hands over after the backup\'s skew', () => {
    const fault = at(90.2);
    const stop = ev.find((e) => e.kind === 'vrrp.stop' && e.t >= fault)!;
    expect(stop.data).toMatchObject({ router: 'ms1', how: 'graceful', state: 'master' });
    const take = nextMaster(ev, I, fault)!;
    expect(take.router).toBe('ms2');
    // The priority-0 advert arrives after one latency; the backup waits its skew.
    expect(take.tUs - stop.t).toBe(skewUs(100) + LAT);
    // From the daemon's stop: the director's 10 ms watch and the 1 ms examination on top.
    expect(take.tUs - fault).toBeLessThanOrEqual(skewUs(100) + LAT + 10_000 + 1_000);
  });

  it('exactly one master whenever no takeover is under way', () => {
    for (const s of [20, 45, 70, 100, 200, 299]) expect(mastersAt(ev, I, at(s))).toHaveLength(1);
  });

  it('a real server whose service stops (refused) is out of the pool within the checker\'s bound and gets no new connection after', () => {
    const fault = at(120.1);
    const removed = poolChanges(ev, 'vip-plm').find((c) => c.member === 'ap2' && c.weight === null && c.tUs > fault)!;
    expect(removed).toBeDefined();
    // retry + 1 tries of one examination each, then the pool operation's latency.
    expect(removed.tUs - fault).toBeLessThanOrEqual(removalBoundUs(CHECKER, 'refused') + (CHECKER.retry + 1) * EXAM + LAT);
    // Once the checker starts failing, the rest is retry * delay_before_retry.
    expect(removed.tUs - fault).toBeGreaterThanOrEqual(CHECKER.retry * CHECKER.delayBeforeRetryUs);
    expect(lbAccesses(ev).filter((a) => a.by === 'ap2' && a.tUs >= removed.tUs)).toEqual([]);
    expect(lbAccesses(ev).filter((a) => a.tUs > removed.tUs && a.tUs < at(180.1)).every((a) => a.ok)).toBe(true);
  });

  it('a hung real server (paused) is out within connect_timeout x (retry + 1) + retry x delay_before_retry after its first failing try, and back after it answers', () => {
    const fault = at(180.1);
    const removed = poolChanges(ev, 'vip-plm').find((c) => c.member === 'ap3' && c.weight === null && c.tUs > fault)!;
    expect(removed.tUs - fault).toBeLessThanOrEqual(removalBoundUs(CHECKER, 'timeout') + LAT);
    expect(removed.tUs - fault).toBeGreaterThanOrEqual((CHECKER.retry + 1) * CHECKER.connectTimeoutUs + CHECKER.retry * CHECKER.delayBeforeRetryUs);
    const back = poolChanges(ev, 'vip-plm').find((c) => c.member === 'ap3' && c.weight === 1 && c.tUs > removed.tUs)!;
    expect(back.tUs - at(240.1)).toBeLessThanOrEqual(readmissionBoundUs(CHECKER) + EXAM + LAT);
    expect(lbAccesses(ev).filter((a) => a.by === 'ap3' && a.tUs >= removed.tUs && a.tUs < back.tUs)).toEqual([]);
  });

  it('every pick in the access log is the kernel wrr\'s (the pure model replayed over the pool changes)', () => {
    let svc: Service = service('wrr');
    let picks = 0;
    for (const e of ev) {
      if (e.kind === 'pool.add' && e.subject === 'vip-plm') {
        const m = String(e.data?.member);
        svc = svc.dests.some((d) => d.id === m) ? setWeight(svc, m, Number(e.data?.weight)) : addDest(svc, { id: m, weight: Number(e.data?.weight) });
      } else if (e.kind === 'pool.remove' && e.subject === 'vip-plm') svc = delDest(svc, String(e.data?.member));
      else if (e.kind === 'client.access' && typeof e.data?.by === 'string') {
        const r = schedule(svc);
        svc = r.service;
        expect(r.id, `access at ${e.t / S} s`).toBe(e.data.by);
        picks++;
      }
    }
    expect(picks).toBeGreaterThan(250);
  });
});

describe('lbcluster: the director\'s own link', () => {
  it('link down is VRRP\'s fault state (the master drops the VIP, the backup takes over as after a kill); link up is backup, then preemption', () => {
    const down = at(40.2);
    const upAt = at(50.2);
    const ev = run(variant({ faults: [{ kind: 'link-down', target: 'ms1', at: down, duration: upAt - down }], until: at(70) }));
    const fault = ev.find((e) => e.kind === 'vrrp.state' && e.data?.router === 'ms1' && e.data?.to === 'fault')!;
    expect(fault.t - down).toBeLessThanOrEqual(10_000);
    expect(ev.some((e) => e.kind === 'vip.remove' && e.data?.holder === 'ms1' && e.t >= fault.t)).toBe(true);
    const take = nextMaster(ev, 'VI_PLM', down)!;
    expect(take.router).toBe('ms2');
    const range = killTakeoverRangeUs(100, S, LAT);
    expect(take.tUs - down).toBeGreaterThanOrEqual(range.min);
    expect(take.tUs - down).toBeLessThanOrEqual(range.max);
    const backup = ev.find((e) => e.kind === 'vrrp.state' && e.data?.router === 'ms1' && e.data?.from === 'fault')!;
    expect(backup.data?.to).toBe('backup');
    expect(backup.t - upAt).toBeLessThanOrEqual(20_000 + 10_000);
    expect(nextMaster(ev, 'VI_PLM', backup.t)).toEqual({ router: 'ms1', tUs: backup.t + masterDownUs(150, S) });
    expect(mastersAt(ev, 'VI_PLM', at(69))).toEqual(['ms1']);
  });
});

describe('lbcluster: determinism and quiet watching', () => {
  it('same seed, same trace; the quiet (skipping) watch gives the naive ticking trace minus its probe.ok lines', () => {
    const s = variant({});
    const once = (watchMode: 'skip' | 'naive') => {
      const sim = buildSimulation(s, { seed: 7, watchMode });
      sim.run();
      return toNdjson(sim.events.filter((e) => e.kind !== 'probe.ok'));
    };
    const skip = once('skip');
    expect(once('skip')).toBe(skip);
    expect(once('naive')).toBe(skip);
  }, 60_000);
});

describe('lbcluster: weights over many requests', () => {
  it('with no fault, every 7 accesses go 3:2:1:1 to ap1..ap4, and a removed server leaves the rotation at once', () => {
    const ev = run({ ...variant({ faults: [{ kind: 'St1', target: 'ap1', service: 'plm', at: at(600.1) }], until: at(1200) }), clients: [{ name: 'user1', vip: 'vip-plm', intervalS: 0.1, phaseS: 0.05 }] });
    const built = poolChanges(ev, 'vip-plm').filter((c) => c.weight !== null).at(-1)!.tUs;
    const removed = poolChanges(ev, 'vip-plm').find((c) => c.weight === null)!.tUs;
    const steady = lbAccesses(ev).filter((a) => a.tUs > built && a.tUs < at(600.1) && a.by !== null);
    expect(steady.length).toBeGreaterThan(5000);
    for (let i = 0; i + 7 <= steady.length; i += 7) {
      const n: Record<string, number> = {};
      for (const a of steady.slice(i, i + 7)) n[a.by!] = (n[a.by!] ?? 0) + 1;
      expect(n).toEqual({ ap1: 3, ap2: 2, ap3: 1, ap4: 1 });
    }
    const after = lbAccesses(ev).filter((a) => a.tUs > removed);
    expect(after.length).toBeGreaterThan(5000);
    const n: Record<string, number> = {};
    for (const a of after.slice(0, 4 * Math.floor(after.length / 4))) n[a.by!] = (n[a.by!] ?? 0) + 1;
    const k = Math.floor(after.length / 4);
    expect(n).toEqual({ ap2: 2 * k, ap3: k, ap4: k });
    expect(after.every((a) => a.ok)).toBe(true);
  }, 60_000);
});

// ---------- properties over random fault schedules ----------

type DirFault = { kind: 'Nt1' | 'St1' | 'St2' | 'pause' | 'link-down' | 'partition' | 'host-fail'; target: 0 | 1; atS: number; durS: number };
const DIRS = ['ms1', 'ms2'] as const;

function faultOf(f: DirFault): FaultSpec {
  const target = DIRS[f.target];
  const when = at(f.atS);
  switch (f.kind) {
    case 'St1':
      return { kind: 'St1', target, service: 'keepalived', at: when };
    case 'St2':
      return { kind: 'St2', target, service: 'keepalived', mode: 'freeze', at: when };
    case 'pause':
    case 'link-down':
      return { kind: f.kind, target, at: when, duration: at(f.durS) };
    case 'partition':
      return { kind: 'partition', a: ['ms1'], b: ['ms2'], oneWay: false, at: when, duration: at(f.durS) };
    default:
      return { kind: f.kind, target, at: when };
  }
}

const arbFaults = fc.array(fc.record({
  kind: fc.constantFrom<DirFault['kind']>('Nt1', 'St1', 'St2', 'pause', 'link-down', 'partition', 'host-fail'),
  target: fc.constantFrom<0 | 1>(0, 1),
  atS: fc.integer({ min: 5_000, max: 60_000 }).map((ms) => ms / 1000),
  durS: fc.integer({ min: 100, max: 20_000 }).map((ms) => ms / 1000),
}), { minLength: 1, maxLength: 4 });

// One kill of the master; the property below draws the instant, advert_int, the backup's
// priority and the kind of kill.
function checkKill(killUs: number, adv: number, p2: number, kind: 'Nt1' | 'host-fail' | 'Nt2'): void {
  const s = variant({ faults: [{ kind, target: 'ms1', at: killUs }], until: killUs + 20 * S, policy: { advertInt: adv / S }, directors: [{ host: 'ms1', priority: 150 }, { host: 'ms2', priority: p2 }] });
  const ev = run(s);
  // The phase counts from the last advert ms2 received. The world drops a message whose
  // sender died before it arrived, so an advert sent less than the latency before the
  // kill is lost with its host (the kill is the earlier event at an equal instant).
  const last = advertsOf(ev, 'VI_PLM', 'ms1').filter((a) => a.tUs + LAT < killUs).at(-1)!;
  const take = nextMaster(ev, 'VI_PLM', killUs)!;
  const label = JSON.stringify({ killUs, adv, p2, kind, last });
  expect(take.router, label).toBe('ms2');
  expect(take.tUs - killUs, label).toBe(killTakeoverUs(p2, adv, killUs - last.tUs, LAT));
  const range = killTakeoverRangeUs(p2, adv, LAT);
  // With the advert in flight lost, the phase may reach advert_int + latency: the low end
  // of the range moves down by the latency.
  expect(take.tUs - killUs, label).toBeGreaterThanOrEqual(range.min - LAT);
  expect(take.tUs - killUs, label).toBeLessThanOrEqual(range.max);
}

describe('lbcluster properties (random fault schedules on the directors)', () => {
  it('after convergence exactly one master among the running directors (none when none runs), the highest priority with preempt', () => {
    fc.assert(
      fc.property(arbFaults, fc.constantFrom(0, 2), fc.integer({ min: 1, max: 200 }), (faults, preemptDelay, p2) => {
        // ms1 150, ms2 p2 (may be the higher one, or equal: then the higher address, ms2, wins).
        const s = variant({ faults: faults.map(faultOf), until: at(130), policy: { preemptDelay }, directors: [{ host: 'ms1', priority: 150 }, { host: 'ms2', priority: p2 }] });
        const ev = run(s);
        // Last fault at 60 s, healed by 80 s; a restarted director is back by 100 s and master-down
        // (+ preempt delay) later the instance has settled.
        const T = at(125);
        const states = vrrpStatesAt(ev, 'VI_PLM', T);
        const running = Object.entries(states).filter(([, st]) => st === 'master' || st === 'backup').map(([r]) => r);
        const masters = mastersAt(ev, 'VI_PLM', T);
        const label = JSON.stringify({ faults, preemptDelay, p2, states });
        expect(masters.length, label).toBe(running.length === 0 ? 0 : 1);
        if (running.length === 2) {
          const want = p2 >= 150 ? 'ms2' : 'ms1';
          expect(masters[0], label).toBe(want);
        }
      }),
      fcParams(40),
    );
  }, 120_000);

  it('a kill of the master at any phase of its advert cycle is taken over within [master down - advert_int, master down] + latency (the model\'s formula, exactly)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10_000_000, max: 40_000_000 }),
        fc.constantFrom(250_000, 500_000, 1_000_000, 2_000_000),
        fc.integer({ min: 1, max: 149 }),
        fc.constantFrom<'Nt1' | 'host-fail' | 'Nt2'>('Nt1', 'host-fail', 'Nt2'),
        checkKill,
      ),
      fcParams(40),
    );
  }, 120_000);

  it('a kill 1 us after an advert loses that advert in flight: the takeover comes one advert_int earlier (found by the property above)', () => {
    checkKill(28_414_063, 250_000, 1, 'Nt1');
  });

  it('a graceful stop of the master is taken over after the backup\'s skew (+ latency, + the daemon watch)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10_000_000, max: 40_000_000 }), fc.integer({ min: 1, max: 149 }), (stopUs, p2) => {
        const s = variant({ faults: [{ kind: 'St1', target: 'ms1', service: 'keepalived', at: stopUs }], until: stopUs + 10 * S, directors: [{ host: 'ms1', priority: 150 }, { host: 'ms2', priority: p2 }] });
        const ev = run(s);
        const take = nextMaster(ev, 'VI_PLM', stopUs)!;
        expect(take.router).toBe('ms2');
        expect(take.tUs - stopUs).toBeGreaterThanOrEqual(skewUs(p2) + LAT);
        expect(take.tUs - stopUs).toBeLessThanOrEqual(skewUs(p2) + LAT + 10_000 + 1_000);
      }),
      fcParams(30),
    );
  }, 60_000);
});

describe('IPVS persistence (persistence_timeout on a load-balanced VIP)', () => {
  /** lb-demo with one fault (ap2's service stops at 120.1 s) and the VIP's persistence set. */
  const withPersistence = (persistenceS: number, clients = base.clients): Scenario => ({
    ...base,
    until: at(200),
    clients,
    faults: [{ kind: 'St1', target: 'ap2', service: 'plm', at: at(120.1) }],
    vips: base.vips.map((v) => (v.pool ? { ...v, persistence: at(persistenceS) } : v)),
  } as Scenario);
  const servers = (ev: TraceEvent[], client: string, from: number, to: number) => lbAccesses(ev, client).filter((a) => a.tUs >= from && a.tUs < to && a.ok).map((a) => a.by);

  it('a client that comes back within the timeout keeps its real server; without it, wrr rotates', () => {
    const sticky = run(withPersistence(10));
    const served = servers(sticky, 'user1', at(10), at(120));
    expect(served.length).toBeGreaterThan(0);
    expect(new Set(served).size, JSON.stringify(served)).toBe(1);
    const plain = run(withPersistence(0));
    expect(new Set(servers(plain, 'user1', at(10), at(120))).size).toBeGreaterThan(1);
    // A timeout shorter than the client's 1 s interval expires between accesses: rotation again.
    expect(new Set(servers(run(withPersistence(0.5)), 'user1', at(10), at(120))).size).toBeGreaterThan(1);
  });

  it('a server that leaves the pool loses its persistent clients to the others', () => {
    // Six clients: wrr gives them different servers; those on ap2 move when the checker removes
    // ap2, and stick to their new server.
    const clients = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((name, i) => ({ name, vip: 'vip-plm', intervalS: 1, phaseS: 0.1 + i * 0.1 }));
    const ev = run(withPersistence(30, clients as Scenario['clients']));
    const removed = poolChanges(ev, 'vip-plm').find((c) => c.member === 'ap2' && c.weight === null && c.tUs > at(120));
    expect(removed).toBeDefined();
    const onAp2 = clients.map((c) => c.name).filter((c) => servers(ev, c, at(10), at(120)).includes('ap2'));
    expect(onAp2.length).toBeGreaterThan(0);
    for (const c of onAp2) {
      const after = servers(ev, c, removed!.tUs + at(1), at(200));
      expect(after.length, c).toBeGreaterThan(0);
      expect(after.includes('ap2'), c).toBe(false);
      expect(new Set(after).size, c).toBe(1);
    }
  });

  it('is refused on a VIP that is not load-balanced', () => {
    expect(() => parseScenarioText('hosts: [{name: a, services: [{name: s}]}]\nvips: [{name: v, service: s, holder: a, persistence: 10s}]\n')).toThrow(/persistence applies to a load-balanced VIP/);
  });
});
