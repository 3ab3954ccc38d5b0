// The failure modes a random fault-schedule test found, kept as fixtures (test/swarm-cases/<name>/
// scenario.yaml): each is replayed with its seed and checked by trace/checkers.ts. A case the code
// passes must show no violation. A case still failing is in OPEN with the violation keys the
// checker must find there (so the checker is proven on it); when a fix makes it pass, this test
// fails until the case is moved out of OPEN, so the table stays true. docs/safety.md explains
// each case and why the open ones are open.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { runAndCheck, type SwarmKey } from '../run/swarm.ts';
import { checkModel, checkTrace } from '../trace/checkers.ts';
import type { TraceEvent } from '../trace/event.ts';
import { toNdjson } from '../trace/ndjson.ts';

const DIR = fileURLToPath(new URL('./swarm-cases/', import.meta.url));
const CASES = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** The watch modes must agree (up to probe.ok lines): the one case that is not a checker's. */
const ORDER_CASE = 'naive-vs-skip-order';

/** Cases still failing, with the keys the checker must find in each ('order': the two watch modes differ). */
const OPEN: Record<string, ReadonlyArray<SwarmKey | 'order'>> = {};

/**
 * What each case shows with `safety: paper` (the behaviour the cases were found on): the checker
 * must keep finding these, so it stays proven on every case after the fixes.
 */
const PAPER: Record<string, readonly SwarmKey[]> = {
  'failover-backup-host-down-target-never-rebooted': ['L1', 'L2'],
  'failover-backup-vm-crash-never-repaired': ['L1'],
  'failover-fast-restart-vip-lost': ['L1', 'L2'],
  'failover-manager-restart-leaves-running-backup-without-vip': ['L1', 'L2'],
  'failover-partition-split-brain': ['S1'],
  'failover-paused-target-outlives-recoverywait-dual-vip-forever': ['L2', 'S1'],
  'failover-paused-target-returns-with-vip-dual-holders': ['S1'],
  'failover-stale-probe-failover-and-reboot-healthy-target': ['S1', 'S2'],
  'failover-target-down-ends-management': ['L2', 'S1'],
  'failover-vip-on-vm-before-removed-from-target': ['S1'],
  'p2p-backup-vm-crash-never-repaired': ['L1', 'S3'],
  'p2p-claim-takeover-livelock': ['L1'],
  'p2p-claimant-dies-target-separated-forever': ['L1', 'L2', 'S3'],
  'p2p-claimant-restarts-claim-orphaned': ['L1', 'L2', 'S3'],
  'p2p-fast-restart-vip-lost': ['L1', 'L2'],
  'p2p-flapping-nt2-target-lost-after-one-wol': ['L2'],
  'p2p-healed-partition-permanent-split-brain': ['L2', 'S1', 'S2', 'S3'],
  'p2p-isolated-manager-link-down': ['L2', 'S2', 'S3'],
  'p2p-pause-plus-st1-target-declared-down-forever': ['L2', 'S1'],
  'p2p-paused-manager-resumes-stale-recovery-dual-vip': ['L2', 'S1', 'S3'],
  'p2p-paused-target-returns-with-vip-dual-holders': ['S1'],
  'p2p-target-left-off-in-group': ['L1', 'L2', 'S3'],
  'navigator-paused-primary-returns-with-ip': ['S1'],
  'navigator-primary-container-crash-lease-kept': ['L1'],
  'navigator-primary-service-hung-unnoticed': ['L1'],
  'navigator-store-cut-deposed-primary-container-left-running': ['L1'],
  'pss-manager-restart-forgets-ps1': ['L1'],
  // Found with safety: paper before the property tests of test/pss-properties.test.ts fixed the
  // PSS for both modes (a transition keeps the layout it reached; each VIP moves through its
  // record): paper now shows only what those fixes do not cover (see FIXED_IN_BOTH for the one
  // that shows nothing with paper any more).
  'msbs-pss-moves-vip-beside-backup': ['L1', 'S3'],
  'msbs-sif-operation-file-twice': ['S3'],
  'msbs-ps2-onto-failed-base-vips-lost': ['L1'],
  'msbs-partition-target-and-backup-serve': ['S1'],
  'msbs-backup-crash-while-standing-in': ['L1'],
  'msbs-crashed-vm-recreated-without-vip': ['L1'],
  'msbs-access-stopped-member-crash-never-restarted': ['L1'],
  'msbs-manager-restart-mid-move-claim-held': ['L1'],
  'msbs-restart-reconcile-suspends-spare-holding-vip': ['L1'],
  'msbs-backup-migrated-beside-target-over-capacity': ['S4'],
  'lbcluster-resumed-director-writes-stale-pool': ['L1', 'S5'],
  'lbcluster-paused-during-garp-master-without-vip': ['L1'],
};

/** Cases that a fix applying to both modes removed: with paper they show nothing any more (checked). */
const FIXED_IN_BOTH = ['pss-transition-fails-files-say-done', 'msbs-pss-hangs-host-shutdown-during-suspend'];

const noProbeOk = (events: TraceEvent[]) => toNdjson(events.filter((e) => e.kind !== 'probe.ok'));

function keysOf(name: string): { keys: Array<SwarmKey | 'order'>; report: string } {
  const scenario = readScenario(`${DIR}${name}/scenario.yaml`);
  const seed = scenario.seed ?? 1;
  if (name === ORDER_CASE) {
    const run = (watchMode: 'skip' | 'naive') => {
      const sim = buildSimulation(scenario, { seed, watchMode });
      sim.run();
      return noProbeOk(sim.events);
    };
    return run('skip') === run('naive') ? { keys: [], report: '' } : { keys: ['order'], report: 'skip and naive traces differ beyond probe.ok lines' };
  }
  const v = runAndCheck(scenario, seed);
  return { keys: v.keys, report: [v.crash ?? '', ...v.violations.map((x) => `${x.key} ${(x.t / 1e6).toFixed(6)}s ${x.subject}: ${x.detail}`)].join('\n') };
}

describe('swarm cases', () => {
  it('every OPEN and PAPER entry names a case that exists; every case is in one of them', () => {
    for (const name of [...Object.keys(OPEN), ...Object.keys(PAPER), ...FIXED_IN_BOTH]) expect(CASES, name).toContain(name);
    // The order case is no checker's (skip and naive traces must agree): it only has to pass.
    for (const name of CASES) expect(name in OPEN || name in PAPER || FIXED_IN_BOTH.includes(name) || name === ORDER_CASE, name).toBe(true);
    expect(CASES.length).toBeGreaterThanOrEqual(23);
  });

  for (const name of FIXED_IN_BOTH) {
    it(`${name} with safety: paper shows nothing any more (fixed in both modes)`, () => {
      const scenario = readScenario(`${DIR}${name}/scenario.yaml`);
      for (const p of scenario.policies) (p as Record<string, unknown>).safety = 'paper';
      expect(runAndCheck(scenario, scenario.seed ?? 1).keys).toEqual([]);
    });
  }

  for (const name of CASES) {
    const paper = PAPER[name];
    if (paper) {
      it(`${name} with safety: paper shows ${paper.join(', ')} (the checker still finds them)`, () => {
        const scenario = readScenario(`${DIR}${name}/scenario.yaml`);
        for (const p of scenario.policies) (p as Record<string, unknown>).safety = 'paper';
        expect(runAndCheck(scenario, scenario.seed ?? 1).keys).toEqual(paper);
      });
    }
    const open = OPEN[name];
    if (open) {
      it(`${name} is OPEN: the checker finds ${open.join(', ')}`, () => {
        const { keys, report } = keysOf(name);
        expect(keys.length, `${name} passes now: move it out of OPEN (test/swarm-cases.test.ts, docs/safety.md)`).toBeGreaterThan(0);
        for (const k of open) expect(keys, `${name}: ${k} no longer found; update OPEN\n${report}`).toContain(k);
      });
    } else {
      it(`${name} passes (no violation)`, () => {
        const { keys, report } = keysOf(name);
        expect(keys, report).toEqual([]);
      });
    }
  }
});

describe('checkers on small traces', () => {
  const scenario = {
    until: 400_000_000,
    hosts: [{ name: 'web1', services: [{ name: 'svc' }] }, { name: 'mgr' }, { name: 'vmhost' }],
    vms: [{ name: 'web1b', services: [{ name: 'svc' }] }],
    vips: [{ name: 'vip', service: 'svc', holder: 'web1' }],
    clients: [{ name: 'c', vip: 'vip' }],
    policies: [{ kind: 'failover', manager: 'mgr', target: 'web1', service: 'svc', vip: 'vip', backupVm: 'web1b', backupHost: 'vmhost', interval: 10, recoveryWait: 60 }],
  };
  const start: TraceEvent[] = [
    { t: 0, kind: 'host.state', subject: 'web1', data: { state: 'on' } },
    { t: 0, kind: 'host.state', subject: 'mgr', data: { state: 'on' } },
    { t: 0, kind: 'host.state', subject: 'vmhost', data: { state: 'on' } },
    { t: 0, kind: 'vm.state', subject: 'web1b', data: { state: 'suspended', host: null } },
    { t: 0, kind: 'vip.assign', subject: 'vip', data: { holder: 'web1' } },
  ];
  const takeover: TraceEvent[] = [
    { t: 10_000_000, kind: 'trouble.detected', subject: 'web1', data: { manager: 'mgr' } },
    { t: 10_100_000, kind: 'vm.state', subject: 'web1b', data: { state: 'resuming', host: 'vmhost' } },
    { t: 11_000_000, kind: 'vm.state', subject: 'web1b', data: { state: 'running', host: 'vmhost' } },
    { t: 11_100_000, kind: 'vip.assign', subject: 'vip', data: { holder: 'web1b' } },
  ];
  const check = (events: TraceEvent[], until = 20_000_000) => checkTrace(events, checkModel(scenario, until));

  it('S1 and S2: a healthy target whose VIP is also set on the backup', () => {
    const r = check([...start, ...takeover]);
    expect(r.violations.map((v) => v.key)).toEqual(['S2', 'S1']);
    expect(r.violations[1]).toMatchObject({ subject: 'vip', t: 11_100_000 });
  });

  it('S1 counts only holders the clients reach: a target cut off from its clients does not', () => {
    const cut: TraceEvent = { t: 9_000_000, kind: 'net.partition', subject: 'web1', data: { a: ['web1'], b: ['c', 'mgr'], oneWay: false } };
    const r = check([...start, cut, ...takeover]);
    expect(r.violations).toEqual([]);
    const heal: TraceEvent = { t: 15_000_000, kind: 'net.heal', subject: 'web1', data: { a: ['web1'], b: ['c', 'mgr'], oneWay: false } };
    expect(check([...start, cut, ...takeover, heal]).violations.map((v) => [v.key, v.t])).toEqual([['S1', 15_000_000]]);
  });

  it('no S2 when the target was in trouble (its daemon hung) at the detection', () => {
    const hang: TraceEvent = { t: 5_000_000, kind: 'service.state', subject: 'web1/svc', data: { state: 'frozen' } };
    const fence: TraceEvent = { t: 10_050_000, kind: 'vip.remove', subject: 'vip', data: { holder: 'web1' } };
    expect(check([...start, hang, ...takeover.slice(0, 1), fence, ...takeover.slice(1)]).violations).toEqual([]);
  });

  it('L1 and L2 apply only a grace bound after the last fault, and then say what is wrong', () => {
    const fault: TraceEvent = { t: 5_000_000, kind: 'fault', subject: 'web1', data: { fault: 'St2' } };
    const hang: TraceEvent = { t: 5_000_000, kind: 'service.state', subject: 'web1/svc', data: { state: 'frozen' } };
    expect(check([...start, fault, hang], 20_000_000).livenessChecked).toBe(false);
    const late = check([...start, fault, hang], 400_000_000);
    expect(late.livenessChecked).toBe(true);
    expect(late.violations.map((v) => [v.key, v.subject])).toEqual([['L1', 'vip'], ['L2', 'web1']]);
  });
});
