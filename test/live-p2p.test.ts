// The P2P policy live, end to end (root, Debian packages of scripts/apt/lab.txt): the mini-lab is
// built from a copy of experiments/labs/p2p-mini.yaml on its own subnet (10.77.8.0/24), and the
// shipped scenarios St1, St2 and Nt2 run against it with one `hatwin agent` per host inside the
// host's namespace: the same engine code as in sim, on the wall clock and the real adapters. Each
// merged trace (sim schema) is read with the sim's own metric extractors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabSession, LAB_HOOK_MS } from './helpers/live/lab-session.ts';
import { loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';
import { hostNs } from '../adapters/lab/names.ts';
import { run } from '../adapters/lab/run.ts';
import { calibrate } from '../run/calibrate.ts';
import { readScenario, buildSimulation } from '../run/sim.ts';
import { durationUs } from '../sim/scenario/schema.ts';
import { ConformSuite, SUITE_REPEAT } from './helpers/live/conform-suite.ts';
import { disconnections, maxVipHolders, recoveries, type TraceLine } from '../trace/metrics.ts';
import type { TraceEvent } from '../engine/ports/index.ts';

const isRoot = process.getuid?.() === 0;
const SUBNET = '10.77.8.';
const OUT = join(REPO_DIR, 'out/lab/p2p-mini-l');

/** p2p-mini on 10.77.8.0/24 with its own name, bridge and keys, and a 2 s boot delay. */
function testLabFile(): string {
  mkdirSync(OUT, { recursive: true });
  const text = readFileSync(join(REPO_DIR, 'experiments/labs/p2p-mini.yaml'), 'utf8')
    .replace(/^name: p2p-mini$/m, 'name: p2p-mini-l')
    .replace('name: hw-p2pmini,', 'name: hw-p2pminil,')
    .replace('dir: ../../out/lab/p2p-mini/keys', `dir: ${join(OUT, 'keys')}`)
    .replaceAll('10.77.0.', SUBNET)
    .replaceAll('bootDelay: 5s', 'bootDelay: 2s');
  const file = join(OUT, 'lab.yaml');
  writeFileSync(file, text);
  return file;
}

const scenarioFile = (n: string) => join(REPO_DIR, `experiments/scenarios/live-p2p-${n}.yaml`);

/**
 * Time windows from a scenario's policy (its monitoring interval and probe timeouts) with room
 * for a loaded machine: a fault is seen within one interval and the probes' timeouts, plus the
 * live loop's lag and a loaded agent's slowness (ROOM_US).
 */
const ROOM_US = 3_000_000;
function detectionWindowUs(file: string): number {
  const p = readScenario(file).policies[0];
  const us = (k: string) => durationUs.parse(p[k]);
  return us('interval') + us('networkTimeout') + us('serviceTimeout') + ROOM_US;
}

function simOf(n: string): TraceLine[] {
  const s = readScenario(scenarioFile(n));
  const sim = buildSimulation(s, { seed: s.seed ?? 1, watchMode: 'skip' });
  sim.run(s.until!);
  return sim.events;
}

const of = (ev: TraceEvent[], kind: string, subject?: string) => ev.filter((e) => e.kind === kind && (subject === undefined || e.subject === subject));

/** Never two holders of a VIP at once: as the machines said (observed) and as the agents did it. */
function expectOneHolderAtMost(ev: TraceEvent[]): void {
  for (const e of of(ev, 'vip.holders')) expect((e.data!.holders as string[]).length, `${e.subject} at ${e.t} µs: ${JSON.stringify(e.data)}`).toBeLessThanOrEqual(1);
  for (const [vip, n] of Object.entries(maxVipHolders(ev))) expect(n, vip).toBeLessThanOrEqual(1);
}

function timing(name: string, live: TraceEvent[], sim: TraceLine[]): void {
  const f = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(2));
  const l = recoveries(live)[0];
  const s = recoveries(sim)[0];
  const ld = disconnections(live).map((d) => f(d.durationS)).join('+');
  const sd = disconnections(sim).map((d) => f(d.durationS)).join('+');
  console.log(`[timing] ${name}: function recovery live ${f(l?.functionRecoveryS)} s / sim ${f(s?.functionRecoveryS)} s; target recovery live ${f(l?.targetRecoveryS)} s / sim ${f(s?.targetRecoveryS)} s; client disconnection live ${ld || '—'} s / sim ${sd || '—'} s`);
}

describe.skipIf(!isRoot)('P2P live on the mini-lab (p2p-mini on 10.77.8.0/24)', () => {
  let lab: Lab;
  let labFile: string;
  let session: LabSession;
  let suite: ConformSuite;
  const paramsFile = join(OUT, 'calibrate.test.json');

  beforeAll(async () => {
    labFile = testLabFile();
    lab = loadLab(labFile);
    session = new LabSession(lab, 'live-test');
    await session.up();
  }, LAB_HOOK_MS);

  afterAll(async () => {
    try {
      expect(await session.down()).toEqual([]);
    } finally {
      session.release();
    }
  }, 60_000);

  // Each scenario through the conformance suite (conform --repeat N): the tests assert on its first live run.
  const live = async (n: string) => ({ events: (await suite.run(`live-p2p-${n}`)).live });

  it('calibrate: every quantity as its samples (messenger, guest agent, SSH fresh and kept, VIPs, fault injection, boot)', async () => {
    const params = await calibrate(labFile, { samples: 3, log: (m) => console.log(`[live-test] ${m}`) });
    expect(params.network.examS).toBeGreaterThan(0);
    expect(params.hosts.FTP.bootS).toBeGreaterThan(1.5); // bootDelay 2 s
    expect(params.vms.FTPb.resumeS).toBeGreaterThan(0);
    const d = params.dist!;
    for (const [k, m] of Object.entries(d)) {
      expect(m.samples.length, k).toBeGreaterThanOrEqual(3);
      for (const x of m.samples) expect(x, k).toBeGreaterThanOrEqual(0);
    }
    // The messenger waits out its 500 ms to an address nobody answers; a delivered message is far quicker.
    expect(d.messageTimeoutS.min).toBeGreaterThanOrEqual(0.5);
    expect(d.messageS.median).toBeLessThan(d.messageTimeoutS.median);
    // A fresh SSH connection costs more than a command over a kept one.
    expect(d.sshConnectS.median).toBeGreaterThan(0);
    // A VIP is on a host's interface before its set returns (the gratuitous ARP's wait comes after).
    expect(d.hostVipAddS!.max).toBeLessThan(d.hostVipSetS.min);
    // An agent's start-up (node, modules, lab, ports) is measured, as live pays it per agent.
    expect(d.agentStartS!.min).toBeGreaterThan(0.05);
    writeFileSync(paramsFile, JSON.stringify(params, null, 2));
    console.log(`[calibrate] ${Object.entries(d).map(([k, m]) => `${k} median ${m.median} s (${m.min}-${m.max}, n ${m.samples.length})`).join('; ')}`);
    suite = new ConformSuite({ labFile, planLab: 'experiments/labs/p2p-mini.yaml', outDir: join(OUT, 'conform'), paramsFile, source: `test/live-p2p.test.ts and test/live-lb.test.ts (conform --repeat ${SUITE_REPEAT})`, log: (m) => console.log(`[live-test] ${m}`) });
  }, 240_000);

  it('St1: Web1\'s HTTP daemon stops; its P1 manager restarts it over SSH and the client is served by Web1 again', async () => {
    const { events: ev } = await live('st1');
    expect(of(ev, 'agent.failure')).toEqual([]);
    const [r, ...more] = recoveries(ev);
    expect(more).toEqual([]);
    expect(r).toMatchObject({ target: 'Web1', fault: 'St1' });
    expect(r.detectedUs - r.faultUs!).toBeLessThan(detectionWindowUs(scenarioFile('st1')));
    expect(of(ev, 'target.recovered', 'Web1')[0].data).toMatchObject({ how: 'service restart' });
    expect(r.targetRecoveryS).toBeLessThan(1 + ROOM_US / 1e6); // a restart over SSH (0.3-0.8 s measured), with room
    expect(of(ev, 'function.recovered')).toEqual([]);
    // The client accesses once a second: an outage shorter than that (detection early in the
    // interval, a fast restart) may fall between two accesses, so it sees one disconnection or none.
    const d = disconnections(ev);
    expect(d.length).toBeLessThanOrEqual(1);
    for (const x of d) expect(x.durationS).not.toBeNull();
    const lastAccess = of(ev, 'client.access', 'client-web1').at(-1)!;
    expect(lastAccess.data).toMatchObject({ ok: true, by: 'Web1' });
    expectOneHolderAtMost(ev);
    timing('St1', ev, simOf('st1'));
  }, 300_000);

  for (const [n, kind, target, vm] of [['st2', 'St2', 'Mail', 'Mailb'], ['nt2', 'Nt2', 'FTP', 'FTPb']] as const) {
    it(`${kind}: ${target} fails; its backup guest ${vm} takes the VIP and serves, then ${target} is recovered and gets the VIP back`, async () => {
      const { events: ev } = await live(n);
      expect(of(ev, 'agent.failure')).toEqual([]);
      const [r, ...more] = recoveries(ev);
      expect(more).toEqual([]);
      expect(r).toMatchObject({ target, fault: kind });
      // Function recovered by the backup guest, which then serves the client.
      const fr = of(ev, 'function.recovered', target);
      expect(fr).toHaveLength(1);
      expect(fr[0].data).toMatchObject({ vm });
      expect(r.functionRecoveryS).toBeGreaterThan(0);
      expect(r.functionRecoveryS).toBeLessThan(10);
      // Hardened: the VIP was fenced off the target before the guest got it; a powered-off FTP
      // cannot be reached over SSH, so the lab's out-of-band fence confirmed it.
      if (kind === 'Nt2') expect(ev.filter((e) => e.kind === 'vip.fenced').map((e) => e.data)).toContainEqual(expect.objectContaining({ holder: target, how: expect.stringMatching(/^(off|booting)/) }));
      const client = `client-${target.toLowerCase()}`;
      const accesses = of(ev, 'client.access', client);
      const servedByVm = accesses.find((e) => e.data?.ok === true && e.data?.by === vm);
      expect(of(ev, 'vip.holders', `vip-${target.toLowerCase()}`).some((e) => (e.data!.holders as string[])[0] === vm)).toBe(true);
      // The client, accessing once a second, must see the guest serve when the guest held the VIP
      // for longer than two of its intervals; a St2 target that reboots in the lab's 2 s boot delay
      // takes the VIP back well under a second after the guest got it (trace: vip.assign to the
      // guest, then vip.remove from it), which the client may fall between.
      const vipName = `vip-${target.toLowerCase()}`;
      const toVm = ev.find((e) => e.kind === 'vip.assign' && e.subject === vipName && e.data?.holder === vm);
      expect(toVm, 'the VIP was set on the backup guest').toBeDefined();
      const offVm = ev.find((e) => e.kind === 'vip.remove' && e.subject === vipName && e.data?.holder === vm && e.t > toVm!.t);
      const heldUs = (offVm?.t ?? ev.at(-1)!.t) - toVm!.t;
      if (heldUs > 2_000_000) expect(servedByVm, 'the client is served by the backup guest').toBeDefined();
      if (servedByVm) expect(servedByVm.t).toBeGreaterThan(r.faultUs!);
      const afterVm = servedByVm?.t ?? toVm!.t;
      // Target recovered, the VIP back on it, the guest suspended again.
      const tr = of(ev, 'target.recovered', target);
      expect(tr).toHaveLength(1);
      expect(tr[0].data).toMatchObject({ how: 'fallback' });
      expect(r.targetRecoveryS).not.toBeNull();
      const servedByTargetAgain = accesses.find((e) => e.t > afterVm && e.data?.ok === true && e.data?.by === target);
      expect(servedByTargetAgain, 'the client is served by the target again').toBeDefined();
      expect(accesses.at(-1)!.data).toMatchObject({ ok: true, by: target });
      expect(of(ev, 'vip.holders', `vip-${target.toLowerCase()}`).at(-1)!.data).toEqual({ holders: [target] });
      expect(of(ev, 'vm.state', vm).at(-1)!.data).toMatchObject({ state: 'suspended' });
      // Both sets traced when the address began to serve, inside the call, by the VIP's name:
      // the guest's (its gratuitous ARP sent) and the hand-back's on the host (`ip addr add`
      // returned), which a paired sim replays.
      for (const holder of [vm, target]) {
        const set = ev.filter((e) => e.kind === 'vip.assign' && e.subject === vipName && e.data?.holder === holder).at(-1)!;
        expect(ev.some((e) => e.kind === 'vip.effect' && e.subject === vipName && e.data?.holder === holder && e.data?.op === 'add' && e.t <= set.t && e.t >= set.t - Number(set.data?.tookUs)), `${holder}'s set`).toBe(true);
      }
      expectOneHolderAtMost(ev);
      // The same metrics read the sim's trace of the same scenario.
      const sim = simOf(n);
      expect(recoveries(sim)[0]).toMatchObject({ target, fault: kind });
      timing(kind, ev, sim);
    }, 400_000);
  }

  it('a two-way partition (FTP cut off from the other three for 6 s): drop rules live, its managers see a network trouble on FTP as in the sim, and the rules are gone after it heals', async () => {
    const { events: ev } = await live('partition');
    expect(of(ev, 'agent.failure')).toEqual([]);
    const f = of(ev, 'fault', 'FTP').find((e) => e.data?.fault === 'partition')!;
    expect(f, 'the partition is injected').toBeDefined();
    expect(of(ev, 'net.partition', 'FTP')[0].data).toEqual({ a: ['FTP'], b: ['Mail', 'Login', 'Web1'], oneWay: false });
    // Rules in all four hosts (both ways), lifted after 6 s.
    const rules = of(ev, 'lab.fault').filter((e) => e.data?.fault === 'partition-oneway');
    expect(new Set(rules.map((e) => e.subject))).toEqual(new Set(['FTP', 'Mail', 'Login', 'Web1']));
    const lifted = of(ev, 'fault.end').map((e) => e.subject);
    expect(new Set(lifted)).toEqual(new Set(['FTP', 'Mail', 'Login', 'Web1']));
    // The lifts come at the scenario's 11 s + 6 s (the injection itself may run late on a loaded machine).
    for (const e of of(ev, 'fault.end')) expect(e.t).toBeGreaterThanOrEqual(17_000_000);
    // FTP's managers (P1 Mail, P2 Login) see it as a network trouble: within an interval (2 s),
    // the probe timeout (1 s) and room for a loaded machine; the sim's trace says the same.
    const seen = of(ev, 'trouble.detected', 'FTP').filter((e) => e.t > f.t);
    expect(seen.length, 'a manager detects FTP').toBeGreaterThan(0);
    expect(seen[0].data?.detail).toBe('network');
    expect(seen[0].t - f.t).toBeLessThan(detectionWindowUs(scenarioFile('partition')));
    // The managers FTP had when it was cut off, in both worlds: the detections before the first
    // membership rewrite after the fault. What follows is a split brain over a store both sides
    // reach (FTP separates Login and Mail, Mail separates FTP), and which side's rewrite lands first
    // is a race of a few ms in live (FTP's first in some runs, Mail's in others) that the paired
    // sim, deciding both at the same instant, settles by its own tie rule: a server that a
    // rewrite later makes FTP's manager (Web1, in one CI run) is not one of these.
    const sim = simOf('partition') as TraceEvent[];
    const beforeRewrite = (trace: TraceEvent[], faultUs: number) => {
      const rewrite = trace.find((e) => e.kind === 'store.write' && e.subject === 'p2p/membership' && e.t > faultUs)?.t ?? Infinity;
      return new Set(of(trace, 'trouble.detected', 'FTP').filter((e) => e.t > faultUs && e.t < rewrite).map((e) => e.data?.manager));
    };
    const simFault = of(sim, 'fault', 'FTP').find((e) => e.data?.fault === 'partition')!;
    const managers = beforeRewrite(ev, f.t);
    expect(managers).toEqual(new Set(['Mail', 'Login']));
    expect(beforeRewrite(sim, simFault.t)).toEqual(managers);
    // Healed: no drop rules left in any namespace.
    for (const h of lab.hosts) {
      const r = await run(['ip', 'netns', 'exec', hostNs(lab, h.name), 'nft', 'list', 'tables'], { allowFail: true });
      expect(r.stdout, h.name).not.toContain('hatwin_fault');
    }
  }, 300_000);

  it('failover (the demo policy) on the same lab, by the same code path: Login alone runs an agent; FTP is powered off, FTPb takes vip-ftp and serves', async () => {
    const file = join(REPO_DIR, 'experiments/scenarios/live-failover-nt2.yaml');
    const ev = (await suite.run('live-failover-nt2')).live;
    expect(of(ev, 'agent.failure')).toEqual([]);
    expect(of(ev, 'agent.spawn').map((e) => e.subject)).toEqual(['Login']);
    expect(of(ev, 'agent.start').map((e) => e.subject)).toEqual(['Login']);
    const [r, ...more] = recoveries(ev);
    expect(more).toEqual([]);
    expect(r).toMatchObject({ target: 'FTP', fault: 'Nt2' });
    expect(r.detectedUs - r.faultUs!).toBeLessThan(detectionWindowUs(file));
    expect(of(ev, 'function.recovered', 'FTP').map((e) => e.data)).toEqual([{ manager: 'Login', holder: 'FTPb' }]);
    expect(r.functionRecoveryS).toBeGreaterThan(0);
    expect(r.functionRecoveryS).toBeLessThan(10);
    const accesses = of(ev, 'client.access', 'client-ftp');
    const servedByVm = accesses.find((e) => e.t > r.faultUs! && e.data?.ok === true && e.data?.by === 'FTPb');
    expect(servedByVm, 'the client is served by the backup guest').toBeDefined();
    expect(accesses.at(-1)!.data).toMatchObject({ ok: true, by: 'FTPb' });
    expect(of(ev, 'vip.holders', 'vip-ftp').at(-1)!.data).toEqual({ holders: ['FTPb'] });
    // The policy does not wake a server that is off: after recoveryWait (15 s) it reports FTP down.
    const down = of(ev, 'target.down', 'FTP');
    expect(down).toHaveLength(1);
    expect(down[0].t - of(ev, 'function.recovered', 'FTP')[0].t).toBeGreaterThanOrEqual(15_000_000);
    expectOneHolderAtMost(ev);
    // The sim's trace of the same scenario says the same, read by the same extractors.
    const s = readScenario(file);
    const simRun = buildSimulation(s, { seed: 1, watchMode: 'skip' });
    simRun.run(s.until!);
    expect(recoveries(simRun.events)[0]).toMatchObject({ target: 'FTP', fault: 'Nt2' });
    expect(of(simRun.events, 'target.down', 'FTP')).toHaveLength(1);
    timing('failover Nt2', ev, simRun.events);
  }, 150_000);

  it(`the conformance suite: every live scenario of p2p-mini (by the rule), conform --repeat ${SUITE_REPEAT}: means and intervals on both sides, a fidelity score each`, async () => {
    const all = await suite.rest();
    expect(all.map((x) => x.entry.file)).toEqual(suite.files);
    for (const { rep, entry } of all) {
      expect(rep.repeat, entry.file).toBe(SUITE_REPEAT);
      expect(rep.fidelity.timedMetrics, `${entry.file}: a timed metric on both sides`).toBeGreaterThan(0);
      expect(rep.fidelity.meanAbsErrPct, entry.file).not.toBeNull();
      for (const x of rep.rows.filter((y) => y.live !== null)) {
        expect(x.liveCi95![0], `${entry.file} ${x.metric}`).toBeLessThanOrEqual(x.live!);
        expect(x.liveCi95![1], `${entry.file} ${x.metric}`).toBeGreaterThanOrEqual(x.live!);
      }
    }
    // Nt2: every recovery metric on both sides; the slow part (Trc wait, WOL, boot) within a third.
    const nt2 = all.find((x) => x.rep.scenario === 'live-p2p-nt2')!.rep;
    const row = (m: string) => nt2.rows.find((x) => x.metric.startsWith(m) && x.server === 'FTP')!;
    for (const m of ['fault -> detection', 'function recovery', 'target recovery', 'fault -> function']) {
      expect(row(m).live, m).not.toBeNull();
      expect(row(m).sim, m).not.toBeNull();
    }
    expect(Math.abs(row('target recovery').errPct!)).toBeLessThan(33);
    console.log(`[suite] ${all.map((x) => `${x.rep.scenario}: ${JSON.stringify(x.rep.fidelity)} (${x.entry.wallS} s, load ${x.entry.load[0]})`).join('; ')}`);
  }, 900_000);
});
