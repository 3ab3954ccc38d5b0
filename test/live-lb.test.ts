// The lbcluster policy live, end to end (root, Debian packages of scripts/apt/lab.txt): the
// lb-mini lab (experiments/labs/lb-mini.yaml) is built: two directors running the real keepalived
// with the keepalived.conf settle's generator makes, three HTTP real servers, a client. Each
// live scenario runs through `hatwin conform` (conform(): the same scenario in sim, then live with
// one `hatwin agent` per director keeping its nftables pool with the policy's checker), and the
// live trace is asserted on: who answered the client, who is master (the VIP holder, as keepalived
// set it), the pool. Every fault: SIGKILL and SIGTERM of the master's keepalived, its cable
// pulled, a real server's service stopped, a real server frozen. The conformance rows of the
// phase-free metrics must be within 10 % of the model and of the sim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabSession, LAB_HOOK_MS } from './helpers/live/lab-session.ts';
import { expandArgv, loadLab, parseLab, REPO_DIR, settleDir, type Lab } from '../adapters/lab/schema.ts';
import { hostNs } from '../adapters/lab/names.ts';
import { run } from '../adapters/lab/run.ts';
import { nftPoolRuleset } from '../adapters/lb/nftpool.ts';
import { wrrCycleOrder as wrrSlots } from '../policies/lbcluster/wrr.ts';
import { ConformSuite, SUITE_REPEAT } from './helpers/live/conform-suite.ts';
import { labSettleRequest, labSettleStep } from '../run/labsettle.ts';
import { liveFaultOf } from '../run/live.ts';
import { calibrateMachine } from '../run/calibrate.ts';
import { lbPolicyOf } from '../run/lbconform.ts';
import { readScenario } from '../run/sim.ts';
import type { LbConformRow } from '../run/lbconform.ts';
import type { TraceEvent } from '../engine/ports/index.ts';

const isRoot = process.getuid?.() === 0;
const LAB_FILE = join(REPO_DIR, 'experiments/labs/lb-mini.yaml');
const OUT = join(REPO_DIR, 'out/lab/lb-mini/conform');
const S = 1_000_000;

describe('the nftables pool (adapters/lb/nftpool.ts) over one IPVS wrr cycle (wrrCycleOrder)', () => {
  it('one wrr cycle in IPVS order: weights 3:2:1 give ap1 ap1 ap2 ap1 ap2 ap3; a removed server leaves the cycle', () => {
    expect(wrrSlots([{ id: 'ap1', weight: 3 }, { id: 'ap2', weight: 2 }, { id: 'ap3', weight: 1 }])).toEqual(['ap1', 'ap1', 'ap2', 'ap1', 'ap2', 'ap3']);
    expect(wrrSlots([{ id: 'ap1', weight: 3 }, { id: 'ap3', weight: 1 }])).toEqual(['ap1', 'ap1', 'ap1', 'ap3']);
    expect(wrrSlots([{ id: 'a', weight: 2 }, { id: 'b', weight: 4 }])).toEqual(['b', 'a', 'b']); // gcd 2
    expect(wrrSlots([{ id: 'a', weight: 0 }])).toEqual([]);
  });

  it('the ruleset: a numgen map over the cycle, reject when empty, masquerade of what was DNATed', () => {
    const pools = { web: { vip: '10.77.9.100', port: 80, members: { ap1: '10.77.9.101', ap2: '10.77.9.102' } } };
    const two = nftPoolRuleset('hatwin_lb', pools, new Map([['web', [{ id: 'ap1', weight: 1 }, { id: 'ap2', weight: 1 }]]]), wrrSlots);
    expect(two).toContain('add rule ip hatwin_lb pre ip daddr 10.77.9.100 tcp dport 80 dnat to numgen inc mod 2 map { 0 : 10.77.9.101, 1 : 10.77.9.102 }');
    expect(two).toContain('add rule ip hatwin_lb post ct status dnat masquerade');
    expect(two.indexOf('flush chain ip hatwin_lb pre')).toBeLessThan(two.indexOf('add rule'));
    expect(nftPoolRuleset('hatwin_lb', pools, new Map([['web', []]]), wrrSlots)).toContain('ip daddr 10.77.9.100 tcp dport 80 reject with tcp reset');
    expect(() => nftPoolRuleset('hatwin_lb', pools, new Map([['web', [{ id: 'ap9', weight: 1 }]]]), wrrSlots)).toThrow(/no address for member "ap9"/);
  });
});

describe('the lb-mini lab file and its settle request (no root)', () => {
  const text = readFileSync(LAB_FILE, 'utf8');
  it('loads: a VRRP VIP (keepalived places it), keepalived as a process of the directors with the settled config, VRRP watched', () => {
    const lab = loadLab(LAB_FILE);
    expect(lab.vips).toEqual([{ name: 'vip-web', address: '10.77.9.100', service: 'http', holder: 'ms1', managedBy: 'vrrp' }]);
    expect(lab.settle).toEqual({ request: join(REPO_DIR, 'experiments/labs/lb-mini-settle.yaml'), keyFile: join(REPO_DIR, 'out/lab/lb-mini/keys/vrrp.key') });
    const ms1 = lab.hosts.find((h) => h.name === 'ms1')!;
    expect(ms1.watchVrrp).toBe(true);
    expect(expandArgv(ms1.processes[0].argv, lab, ms1)).toContain(join(lab.stateDir, 'settle/masters/ms1/keepalived.conf'));
    expect(lab.hosts.filter((h) => h.watchVrrp).map((h) => h.name)).toEqual(['ms1', 'ms2']);
    // The request matches the lab: masters and servers are its hosts at their addresses.
    const req = labSettleRequest(lab);
    expect(req.masters.map((m) => [m.name, m.address])).toEqual([['ms1', '10.77.9.11'], ['ms2', '10.77.9.12']]);
    // The live scenarios' policy checks as keepalived.conf does (same cluster).
    const pol = lbPolicyOf(readScenario(join(REPO_DIR, 'experiments/scenarios/live-lb-faults.yaml')))!;
    expect({ delayLoop: pol.checker.delayLoop, connectTimeout: pol.checker.connectTimeout, retry: pol.checker.retry, delayBeforeRetry: pol.checker.delayBeforeRetry })
      .toEqual({ delayLoop: req.checker.delayLoop, connectTimeout: req.checker.connectTimeout, retry: req.checker.retry, delayBeforeRetry: req.checker.delayBeforeRetry });
    expect(pol.directors.map((d) => d.priority)).toEqual(req.masters.map((m) => m.priority));
  });

  it('a VRRP VIP whose service no host runs is refused; a request that does not match the lab is an error', () => {
    expect(() => parseLab(text.replace('service: http, holder: ms1', 'service: https, holder: ms1'), LAB_FILE)).toThrow(/no host runs service "https"/);
    const lab = loadLab(LAB_FILE);
    const moved = { ...lab, hosts: lab.hosts.map((h) => (h.name === 'ms2' ? { ...h, address: '10.77.9.13' } : h)) };
    expect(() => labSettleRequest(moved)).toThrow(/master ms2 has address 10.77.9.12, the lab gives it 10.77.9.13/);
  });

  it('St2 on a director\'s keepalived process is the lab\'s kill; elsewhere St2 stays a wedge', () => {
    const lab = loadLab(LAB_FILE);
    expect(liveFaultOf(lab, { kind: 'St2', target: 'ms1', service: 'keepalived' })).toBe('kill');
    expect(liveFaultOf(lab, { kind: 'St2', target: 'ap1', service: 'http' })).toBe('St2');
    expect(liveFaultOf(lab, { kind: 'St1', target: 'ms1', service: 'keepalived' })).toBe('St1');
  });
});

const of = (ev: readonly TraceEvent[], kind: string, subject?: string) => ev.filter((e) => e.kind === kind && (subject === undefined || e.subject === subject));
const vipAdds = (ev: readonly TraceEvent[], host: string) => of(ev, 'lab.addr', host).filter((e) => e.data?.op === 'add' && e.data?.address === '10.77.9.100');
const vipDels = (ev: readonly TraceEvent[], host: string) => of(ev, 'lab.addr', host).filter((e) => e.data?.op === 'del' && e.data?.address === '10.77.9.100');
const faultAt = (ev: readonly TraceEvent[], subject: string, fault: string) => {
  const f = of(ev, 'fault', subject).find((e) => e.data?.fault === fault);
  expect(f, `fault ${fault} on ${subject} in the trace`).toBeDefined();
  return f!.t;
};
const within = (t: number | undefined, from: number, to: number, what: string) => {
  expect(t, what).toBeDefined();
  expect(t!, `${what}: ${((t! - from) / S).toFixed(3)} s after the fault, window ${(0).toFixed(1)}..${((to - from) / S).toFixed(1)} s`).toBeGreaterThanOrEqual(from);
  expect(t!, `${what}: ${((t! - from) / S).toFixed(3)} s after the fault`).toBeLessThanOrEqual(to);
};
const served = (ev: readonly TraceEvent[], from: number, to = Infinity) => of(ev, 'client.access', 'client').filter((e) => e.t >= from && e.t < to && e.data?.ok === true).map((e) => String(e.data!.by));

/** The phase-free rows (from the last advert, from the first failing try, preempt back): live within 10 % of the model and of the sim. */
function expectConforms(rows: LbConformRow[]): void {
  const exact = rows.filter((r) => /last advert|first failing try|back \(preempt\)/.test(r.metric));
  expect(exact.length).toBeGreaterThan(0);
  for (const r of exact) {
    expect(r.live, `${r.fault}: ${r.metric}`).not.toBeNull();
    expect(Math.abs(r.modelErrPct!), `${r.fault}: ${r.metric}: live ${r.live} s, model ${r.model} s`).toBeLessThanOrEqual(10);
    expect(Math.abs(r.errPct!), `${r.fault}: ${r.metric}: live ${r.live} s, sim ${r.sim} s`).toBeLessThanOrEqual(10);
  }
  // Re-add: the pool written right after the first passing try, in both worlds (nft -f live).
  for (const r of rows.filter((x) => x.metric.startsWith('re-add: first passing try'))) {
    expect(r.live, `${r.fault}: ${r.metric}`).not.toBeNull();
    expect(r.live!, `${r.fault}: ${r.metric}`).toBeLessThan(0.5);
    expect(r.sim!, `${r.fault}: ${r.metric}`).toBeLessThan(0.5);
  }
}

describe.skipIf(!isRoot)('lbcluster live on the lb-mini lab (10.77.9.0/24)', () => {
  let lab: Lab;
  let session: LabSession;
  // Each scenario through the conformance suite (conform --repeat N; the VRRP model's own
  // parameters plus the machine's costs, calibrated first): the tests assert on its first live run.
  let suite: ConformSuite;

  beforeAll(async () => {
    lab = loadLab(LAB_FILE);
    session = new LabSession(lab, 'live-lb');
    await session.up({ settle: labSettleStep });
    // The machine's costs (agent start-up: each director's checker starts with its agent; a
    // fault's landing in the live loop), measured on their own before any scenario runs.
    const machine = await calibrateMachine(LAB_FILE, { samples: 3 });
    expect(machine.dist.agentStartS.min).toBeGreaterThan(0.05);
    expect(machine.dist.liveTurnS.min).toBeGreaterThanOrEqual(0.25);
    const paramsFile = join(OUT, 'calibrate-machine.test.json');
    mkdirSync(OUT, { recursive: true });
    writeFileSync(paramsFile, JSON.stringify(machine, null, 2));
    console.log(`[live-lb] machine: agent start-up ${machine.dist.agentStartS.samples.join(', ')} s; loop turn ${machine.dist.liveTurnS.median} s`);
    suite = new ConformSuite({ labFile: LAB_FILE, planLab: 'experiments/labs/lb-mini.yaml', outDir: OUT, paramsFile, source: `test/live-p2p.test.ts and test/live-lb.test.ts (conform --repeat ${SUITE_REPEAT})`, log: (m) => console.log(`[live-lb] ${m}`) });
  }, LAB_HOOK_MS);

  afterAll(async () => {
    try {
      if (session?.held) {
        expect(await session.down()).toEqual([]);
        // No namespace of the lab is left (by name).
        const ns = await run(['ip', 'netns', 'list']);
        for (const h of lab.hosts) expect(ns.stdout).not.toContain(hostNs(lab, h.name));
      }
    } finally {
      session?.release();
    }
  }, 60_000);

  const conformOf = async (name: string) => {
    const r = await suite.run(name);
    console.log(`[conform] ${readFileSync(join(OUT, `conform-${name}.md`), 'utf8')}`);
    return { rows: r.rows as LbConformRow[], live: r.live };
  };

  it('lab up: settle\'s keepalived.conf for both directors (secret from the key file) runs under keepalived; ms1 is master', () => {
    const secret = readFileSync(lab.settle!.keyFile, 'utf8').trim();
    for (const h of ['ms1', 'ms2']) {
      const conf = readFileSync(join(settleDir(lab), 'masters', h, 'keepalived.conf'), 'utf8');
      expect(conf).toContain(`auth_pass ${secret}`);
      expect(conf).toContain('10.77.9.100/24 dev eth0');
      expect(conf).toContain(`unicast_peer {\n    ${h === 'ms1' ? '10.77.9.12' : '10.77.9.11'}`);
    }
    expect(existsSync(join(lab.stateDir, 'keepalived-ms1.pid'))).toBe(true);
  });

  it('SIGKILL of the master\'s keepalived (parent and VRRP child): ms2 takes the VIP master-down after the last advert; ms1 keeps it on its interface; the client is served throughout', async () => {
    const { rows, live: ev } = await conformOf('live-lb-kill');
    expect(of(ev, 'agent.failure')).toEqual([]);
    const f = faultAt(ev, 'ms1', 'St2');
    expect(of(ev, 'lab.fault', 'ms1').map((e) => e.data?.fault)).toContain('kill');
    // Takeover between master-down - advert_int and master-down (2.61..3.61 s) after the kill, with room for load.
    const take = vipAdds(ev, 'ms2').find((e) => e.t > f);
    within(take?.t, f + 2.3 * S, f + 4.5 * S, 'ms2 holds the VIP');
    expect(vipDels(ev, 'ms1').filter((e) => e.t > f), 'a killed keepalived does not remove its VIP').toEqual([]);
    const holders = of(ev, 'vip.holders', 'vip-web').at(-1)!.data!.holders as string[];
    expect([...holders].sort()).toEqual(['ms1', 'ms2']);
    // ms2's own pool was written at start: the client is served by the real servers after the takeover.
    expect(served(ev, take!.t + 1 * S).length).toBeGreaterThan(0);
    expect(new Set(served(ev, take!.t + 1 * S))).toEqual(new Set(['ap1', 'ap2', 'ap3']));
    expectConforms(rows);
  }, 400_000);

  it(`conform --repeat ${SUITE_REPEAT} of the SIGKILL (the suite's runs): the phase-free takeover has both intervals and is within 10 %`, async () => {
    const { rep } = await suite.run('live-lb-kill');
    expect(existsSync(join(OUT, 'conform-live-lb-kill.live-2.ndjson'))).toBe(SUITE_REPEAT >= 2);
    const take = rep.rows.find((x) => /last advert/.test(x.metric));
    expect(take, JSON.stringify(rep.rows)).toBeDefined();
    expect([take!.liveN, take!.simN]).toEqual([SUITE_REPEAT, SUITE_REPEAT]);
    expect(take!.liveCi95![0]).toBeLessThanOrEqual(take!.live!);
    expect(take!.liveCi95![1]).toBeGreaterThanOrEqual(take!.live!);
    expect(Math.abs(take!.errPct!), JSON.stringify(take)).toBeLessThanOrEqual(10);
    expect(rep.fidelity.timedMetrics).toBeGreaterThan(0);
    expect(existsSync(join(REPO_DIR, 'out/conform-suite/repeat-live-lb-kill.svg'))).toBe(true);
    console.log(`[conform --repeat ${SUITE_REPEAT}] fidelity ${JSON.stringify(rep.fidelity)}`);
  });

  it('real server stopped and frozen, the master\'s cable pulled, its keepalived stopped gracefully: drops, re-add, takeovers, preempt, and the client served by the pool in wrr order', async () => {
    const { rows, live: ev } = await conformOf('live-lb-faults');
    expect(of(ev, 'agent.failure')).toEqual([]);
    const removed = (member: string, by: string, after: number) => of(ev, 'pool.remove', 'vip-web').find((e) => e.data?.member === member && e.data?.by === by && e.t > after);
    const added = (member: string, by: string, after: number) => of(ev, 'pool.add', 'vip-web').find((e) => e.data?.member === member && e.data?.by === by && e.t > after);

    // Before the first fault: the client is served in the order of ms1's wrr cycle (3:2:1).
    const fStop = faultAt(ev, 'ap2', 'St1');
    const written = added('ap3', 'ms1', 0)!.t;
    const stable = served(ev, written + 0.5 * S, fStop);
    expect(stable.length).toBeGreaterThan(2);
    const cycle = wrrSlots([{ id: 'ap1', weight: 3 }, { id: 'ap2', weight: 2 }, { id: 'ap3', weight: 1 }]);
    // client.access lines are changes (a second ap1 in a row is one line): compare with the cycle collapsed likewise.
    const collapse = (xs: string[]) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
    const ring = collapse([...cycle, ...cycle, ...cycle, ...cycle]);
    const seq = collapse(stable);
    const fits = Array.from({ length: cycle.length }, (_, k) => k).some((k) => collapse(ring.slice(k)).slice(0, seq.length).join(' ') === seq.join(' '));
    expect(fits, `served ${seq.join(' ')} fits the wrr cycle ${cycle.join(' ')}`).toBe(true);

    // ap2 stops (refused): out of ms1's pool after retry x delay_before_retry (2 s) from its first failing try (at most 1 s after the fault).
    within(removed('ap2', 'ms1', fStop)?.t, fStop + 1.5 * S, fStop + 5 * S, 'ap2 removed from ms1\'s pool');
    const dropStop = removed('ap2', 'ms1', fStop)!.t;
    expect(served(ev, dropStop + 0.2 * S), 'no access served by ap2 after its drop').not.toContain('ap2');

    // ap3 frozen for 10 s: no answer, out after 3 timeouts + 2 retries (5 s) from the first failing try; back after the thaw.
    const fPause = faultAt(ev, 'ap3', 'pause');
    within(removed('ap3', 'ms1', fPause)?.t, fPause + 4.5 * S, fPause + 8.5 * S, 'ap3 removed from ms1\'s pool');
    const fThaw = of(ev, 'fault.end', 'ap3')[0].t;
    within(added('ap3', 'ms1', fThaw)?.t, fThaw, fThaw + 3.5 * S, 'ap3 back in ms1\'s pool');
    const readd = added('ap3', 'ms1', fThaw)!.t;
    expect(served(ev, removed('ap3', 'ms1', fPause)!.t + 0.2 * S, fThaw)).not.toContain('ap3');
    expect(served(ev, readd, readd + 6 * S), 'ap3 serves again after its re-add').toContain('ap3');

    // ms1's cable pulled for 8 s: keepalived's fault state removes its VIP at once; ms2 takes over
    // master-down after the last advert; cable back, ms1 preempts after its own master-down (3.41 s).
    const fLink = faultAt(ev, 'ms1', 'link-down');
    within(vipDels(ev, 'ms1').find((e) => e.t > fLink)?.t, fLink, fLink + 1.5 * S, 'ms1 drops the VIP (link down: fault state)');
    within(vipAdds(ev, 'ms2').find((e) => e.t > fLink)?.t, fLink + 2.3 * S, fLink + 4.5 * S, 'ms2 takes the VIP');
    const fLinkEnd = of(ev, 'fault.end', 'ms1')[0].t;
    within(vipAdds(ev, 'ms1').find((e) => e.t > fLinkEnd)?.t, fLinkEnd + 2.8 * S, fLinkEnd + 5 * S, 'ms1 master again (preempt)');
    within(vipDels(ev, 'ms2').find((e) => e.t > fLinkEnd)?.t, fLinkEnd + 2.8 * S, fLinkEnd + 5.5 * S, 'ms2 gives the VIP up');

    // keepalived on ms1 stopped (SIGTERM): priority-0 advert, VIP removed, ms2 master after its skew (0.61 s).
    const fTerm = faultAt(ev, 'ms1', 'St1');
    within(vipDels(ev, 'ms1').find((e) => e.t > fTerm)?.t, fTerm, fTerm + 1 * S, 'ms1 removes its VIP');
    within(vipAdds(ev, 'ms2').find((e) => e.t > fTerm)?.t, fTerm + 0.4 * S, fTerm + 1.5 * S, 'ms2 takes the VIP');
    const priority0 = of(ev, 'lab.vrrp.advert', 'ms2').find((e) => e.t >= fTerm && e.data?.from === 'ms1');
    expect(priority0?.data?.priority, 'the graceful stop\'s advert').toBe(0);
    expect(of(ev, 'vip.holders', 'vip-web').at(-1)!.data).toEqual({ holders: ['ms2'] });
    // After all: ap1 and ap3 serve (ap2 stays stopped), through ms2.
    const lastAccesses = served(ev, fTerm + 2 * S);
    expect(lastAccesses.length).toBeGreaterThan(0);
    expect(new Set(lastAccesses)).toEqual(new Set(['ap1', 'ap3']));
    expectConforms(rows);
  }, 500_000);

  it(`the conformance suite: every live scenario of lb-mini (by the rule), conform --repeat ${SUITE_REPEAT}, a fidelity score each`, async () => {
    const all = await suite.rest();
    expect(all.map((x) => x.entry.file)).toEqual(suite.files);
    for (const { rep, entry } of all) {
      expect(rep.repeat, entry.file).toBe(SUITE_REPEAT);
      expect(rep.fidelity.timedMetrics, entry.file).toBeGreaterThan(0);
      expect(existsSync(join(REPO_DIR, `out/conform-suite/suite-${rep.scenario}.json`)), entry.file).toBe(true);
    }
    console.log(`[suite] ${all.map((x) => `${x.rep.scenario}: ${JSON.stringify(x.rep.fidelity)} (${x.entry.wallS} s, load ${x.entry.load[0]})`).join('; ')}`);
  }, 600_000);
});
