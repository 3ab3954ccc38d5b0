// Navigator (wong-2014) live, end to end (root, Debian packages of scripts/apt/lab.txt): the lab
// experiments/labs/navigator-mini.yaml (10.77.11.0/24) and the scenario
// experiments/scenarios/live-navigator-failover.yaml, with one `hatwin agent` per PC inside the
// PC's namespace: the sim's navigator programs on the wall clock. The container image really
// travels (a local backup, then SFTP to the secondary's PC), each container is a libvirt guest
// booted from the image in its PC's depot, the service IP moves between the guests by the guest
// agent, the primary's PC is switched off, then the new secondary's; then the PCs are switched on and off by the churn
// schedule the sim draws for live-navigator-churn.yaml. The trace is read with the sim's own
// extractors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { LabSession, LAB_HOOK_MS } from './helpers/live/lab-session.ts';
import { loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';
import { depotDatabase, depotImage, domainPrefix } from '../adapters/lab/names.ts';
import { listDomains } from '../adapters/lab/libvirt.ts';
import { churnSchedule } from '../run/live.ts';
import { calibrateMachine } from '../run/calibrate.ts';
import { ConformSuite } from './helpers/live/conform-suite.ts';
import { navConformRows } from '../run/navconform.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { navigatorFaultTimes } from '../trace/navigator.ts';
import { maxVipHolders } from '../trace/metrics.ts';
import type { TraceEvent } from '../engine/ports/index.ts';

const isRoot = process.getuid?.() === 0;
const LAB_FILE = join(REPO_DIR, 'experiments/labs/navigator-mini.yaml');
const SCENARIO = join(REPO_DIR, 'experiments/scenarios/live-navigator-failover.yaml');
const CHURN = join(REPO_DIR, 'experiments/scenarios/live-navigator-churn.yaml');
const PARTITION = join(REPO_DIR, 'experiments/scenarios/live-navigator-partition.yaml');
const PARTITION_LEASE = join(REPO_DIR, 'experiments/scenarios/live-navigator-partition-lease.yaml');
const OUT = join(REPO_DIR, 'out/lab/navigator-mini');
/** N of this lab's suite: 1 in CI (each run takes 2.5-5 minutes); HATWIN_CONFORM_REPEAT=N for more. */
const NAV_REPEAT = Number(process.env.HATWIN_CONFORM_REPEAT ?? 1);

/** The rows of a PC's monitoring database (SQLite), as `seq host` pairs in order. */
const dbRows = (db: string) => execFileSync('sqlite3', ['-readonly', '-separator', ' ', db, 'SELECT seq, host FROM samples ORDER BY seq;'], { encoding: 'utf8' })
  .trim().split('\n').filter(Boolean).map((l) => ({ seq: Number(l.split(' ')[0]), host: l.split(' ')[1] }));
const of = (ev: TraceEvent[], kind: string, subject?: string) => ev.filter((e) => e.kind === kind && (subject === undefined || e.subject === subject));

describe.skipIf(!isRoot)('Navigator live on the mini-lab (navigator-mini, 10.77.11.0/24)', () => {
  let lab: Lab;
  let session: LabSession;
  let suite: ConformSuite;
  /** A scenario's first live trace, through the conformance suite (conform --repeat NAV_REPEAT). */
  const live = async (name: string) => (await suite.run(name)).live as TraceEvent[];

  beforeAll(async () => {
    lab = loadLab(LAB_FILE);
    session = new LabSession(lab, 'live-navigator');
    await session.up();
    // The machine's costs and a container's start from a depot image, measured before any
    // scenario runs; conform's sim starts the containers as measured.
    const machine = await calibrateMachine(LAB_FILE, { samples: 3, log: (m) => console.log(`[live-navigator] ${m}`) });
    expect(machine.containers?.vms).toEqual(['nav-a', 'nav-b']);
    expect(machine.containers!.startS.min).toBeGreaterThan(0.5);
    const paramsFile = join(OUT, 'calibrate-machine.test.json');
    mkdirSync(OUT, { recursive: true });
    writeFileSync(paramsFile, JSON.stringify(machine, null, 2));
    suite = new ConformSuite({ labFile: LAB_FILE, planLab: 'experiments/labs/navigator-mini.yaml', outDir: join(OUT, 'conform'), paramsFile, repeat: NAV_REPEAT, source: `test/live-navigator.test.ts (conform --repeat ${NAV_REPEAT})`, log: (m) => console.log(`[live-navigator] ${m}`) });
  }, LAB_HOOK_MS);

  afterAll(async () => {
    try {
      expect(await session.down()).toEqual([]);
      // No guest of this lab is left in libvirt (the containers are transient: destroyed, gone).
      expect((await listDomains()).filter((d) => d.startsWith(domainPrefix(lab)))).toEqual([]);
    } finally {
      session.release();
    }
  }, 60_000);

  it('the primary\'s PC is switched off: its container goes with it, the secondary takes the service IP, a new secondary follows; the tracking records say so, as in sim', async () => {
    const ev = await live('live-navigator-failover');
    expect(of(ev, 'agent.failure')).toEqual([]);
    const fault = of(ev, 'fault', 'pc1')[0];
    expect(fault.data).toMatchObject({ fault: 'host-shutdown' });

    // The tracking records (§4.6: time, role, host, failover), in order: the primary on pc1, a
    // secondary elsewhere; after the shutdown that secondary's PC primary (failover), then a new
    // secondary on a third PC, in the other container slot.
    const tracks = of(ev, 'navigator.track').map((e) => ({ t: e.t, ...(e.data as { role: string; host: string; vm: string; failover: boolean }) }));
    console.log(`[live-navigator] tracking records:\n${tracks.map((x) => `  ${(x.t / 1e6).toFixed(2)} s  ${x.role.padEnd(9)} ${x.host} ${x.vm} failover ${x.failover ? 'YES' : 'NO'}`).join('\n')}`);
    const before = tracks.filter((x) => x.t < fault.t);
    const after = tracks.filter((x) => x.t >= fault.t);
    expect(before[0]).toMatchObject({ role: 'primary', host: 'pc1', vm: 'nav-a', failover: false });
    const sec = before.find((x) => x.role === 'secondary')!;
    expect(sec, 'a secondary before the shutdown').toBeDefined();
    expect(sec).toMatchObject({ vm: 'nav-b', failover: false });
    expect(sec.host).not.toBe('pc1');
    expect(before.filter((x) => x.role === 'primary')).toHaveLength(1);
    expect(after[0]).toMatchObject({ role: 'primary', host: sec.host, vm: 'nav-b', failover: true });
    const next = after.find((x) => x.role === 'secondary')!;
    expect(next, 'a new secondary after the failover').toBeDefined();
    expect(next).toMatchObject({ vm: 'nav-a', failover: false });
    expect(['pc1', sec.host]).not.toContain(next.host);

    // The image really went there: the new secondary's depot holds the lab's container image.
    const image = join(REPO_DIR, 'out/guest/initramfs.gz');
    expect(existsSync(depotImage(lab, next.host))).toBe(true);
    expect(statSync(depotImage(lab, next.host)).size).toBe(statSync(image).size);

    // The monitoring data: pc1 wrote a row each sync interval into its SQLite database and shipped
    // a dump to the secondary's depot; the new primary restored the last one at the failover
    // (rows written before it are there) and writes on from it.
    const synced = of(ev, 'navigator.db-sync', 'pc1').filter((e) => e.t < fault.t);
    expect(synced.length, 'database dumps sent before the shutdown').toBeGreaterThanOrEqual(2);
    for (const e of synced) expect(e.data).toMatchObject({ to: sec.host });
    const lastSynced = Number(synced.at(-1)!.data?.lastSeq);
    const restore = of(ev, 'navigator.db-restore', sec.host)[0];
    expect(restore, `the new primary ${sec.host} restored the dump`).toBeDefined();
    expect(restore.t).toBeLessThanOrEqual(after[0].t + 1_000_000);
    expect(Number(restore.data?.lastSeq)).toBeGreaterThanOrEqual(lastSynced);
    const before1 = dbRows(depotDatabase(lab, 'pc1'));
    const now2 = dbRows(depotDatabase(lab, sec.host));
    console.log(`[live-navigator] monitoring db: pc1 wrote ${before1.length} rows, dumps sent up to #${lastSynced}, ${sec.host} restored #${String(restore.data?.lastSeq)} and holds ${now2.length}`);
    expect(now2.filter((r) => r.host === 'pc1')).toEqual(before1.filter((r) => r.seq <= Number(restore.data?.lastSeq)));
    expect(now2.filter((r) => r.host === 'pc1').length).toBeGreaterThanOrEqual(lastSynced);
    expect(now2.some((r) => r.host === sec.host && r.seq > Number(restore.data?.lastSeq)), `${sec.host} writes on`).toBe(true);

    // pc1's power-off took its guest along: destroyed by the PC's supervisor, seen stopped.
    const destroyed = of(ev, 'lab.guest', 'pc1').find((e) => e.data?.vm === 'nav-a' && e.data?.state === 'destroyed');
    expect(destroyed, 'nav-a destroyed at pc1\'s power-off').toBeDefined();
    expect(destroyed!.t).toBeGreaterThan(fault.t);
    expect(of(ev, 'vm.state', 'nav-a').some((e) => e.t > fault.t && e.t < after[0].t + 5_000_000 && e.data?.state === 'stopped')).toBe(true);

    // Who served: nav-a (on pc1) before the shutdown, nav-b after the failover, and at the end the
    // last primary's container (nav-b, unless pc3 held it: below).
    const accesses = of(ev, 'client.access', 'user');
    expect(accesses.some((e) => e.t < fault.t && e.data?.ok === true && e.data?.by === 'nav-a')).toBe(true);
    expect(accesses.some((e) => e.t > fault.t && e.data?.ok === true && e.data?.by === 'nav-b')).toBe(true);
    // What the pilots did and what the client saw, in the failure message (a CI log shows only that).
    const story = () => ev.filter((e) => !['probe.ok', 'navigator.db-sync', 'agent.spawn', 'agent.start'].includes(e.kind))
      .map((e) => `${(e.t / 1e6).toFixed(2)} s ${e.kind} ${e.subject} ${JSON.stringify(e.data)}`).join('\n');
    const lastPrimary = tracks.filter((x) => x.role === 'primary').at(-1)!;
    expect(accesses.at(-1)!.data, story()).toMatchObject({ ok: true, by: lastPrimary.vm });
    // The service IP: never two holders, as the machines said and as the pilots did it.
    for (const e of of(ev, 'vip.holders')) expect((e.data!.holders as string[]).length, `${e.t} µs: ${JSON.stringify(e.data)}`).toBeLessThanOrEqual(1);
    for (const [vip, n] of Object.entries(maxVipHolders(ev))) expect(n, vip).toBeLessThanOrEqual(1);

    // Table 5-7's times, live and sim. Failover: a check (2 s) and a ping timeout (3 s) and the IP
    // change; windows leave room for a loaded machine (a guest boot there takes up to ~60 s).
    const [t] = navigatorFaultTimes(ev, 'vip-mon');
    expect(t).toMatchObject({ host: 'pc1', role: 'primary' });
    expect(t.primaryFailoverS).toBeGreaterThan(0);
    expect(t.primaryFailoverS!).toBeLessThan(20);
    expect(t.fallbackS!).toBeGreaterThan(t.primaryFailoverS!);
    expect(t.fallbackS!).toBeLessThan(85);
    const s = readScenario(SCENARIO);
    const sim = buildSimulation(s, { seed: s.seed ?? 1, watchMode: 'skip' });
    sim.run(s.until!);
    const rows = navConformRows(ev, sim.events, s);
    console.log(`[live-navigator] conform:\n${rows.map((r) => `  ${r.metric}: live ${r.live} s, sim ${r.sim} s (${r.errPct} %)`).join('\n')}`);
    // pc3 off at 150 s. The secondaries go to the PC up longest, in whole seconds as `uptime`
    // says: the lab boots its PCs within a second, so which of pc2, pc3, pc4 reads one second
    // more is the boot's luck (the sim's PCs tie, and the first name wins). pc3 then holds the
    // new secondary (pc2 was the first: the primary puts a new one on pc4), or the primary
    // itself (pc3 was the first secondary: its secondary on pc4 takes over and puts a new
    // secondary on pc2), or nothing.
    const second = navigatorFaultTimes(ev, 'vip-mon')[1];
    expect(second.host).toBe('pc3');
    if (second.role === 'secondary') {
      expect(second.secondaryFailoverS, 'a new secondary after pc3 went off').not.toBeNull();
      expect(second.secondaryFailoverS!).toBeLessThan(75);
      expect(tracks.filter((x) => x.t > second.faultUs && x.role === 'secondary').at(-1)).toMatchObject({ host: 'pc4', vm: 'nav-a' });
    } else if (second.role === 'primary') {
      expect(second.primaryFailoverS, `a failover after the primary's pc3 went off:\n${story()}`).not.toBeNull();
      expect(second.primaryFailoverS!).toBeLessThan(20);
      expect(lastPrimary).toMatchObject({ host: next.host, vm: next.vm, failover: true });
      expect(tracks.filter((x) => x.t > second.faultUs && x.role === 'secondary').at(-1)).toMatchObject({ host: 'pc2', vm: 'nav-b' });
    }
    const simFailover = rows.find((r) => r.metric.startsWith('failover after a primary failure'))!;
    expect(simFailover.sim).not.toBeNull();
    expect(simFailover.live).toBe(Math.round(t.primaryFailoverS! * 1000) / 1000);
  }, 420_000);

  it('partition (pc1 and its container cut off from the other PCs and etcd): without the lease a second primary serves beside the first (split brain); with it at most one holder of the service IP', async () => {
    const holdersOf = (ev: TraceEvent[]) => of(ev, 'vip.holders').map((e) => ({ t: e.t, holders: e.data!.holders as string[] }));
    // The thesis's pilots, no lease: pc2's pilot takes the service IP on nav-b while nav-a keeps it.
    const split = await live('live-navigator-partition');
    expect(of(split, 'agent.failure')).toEqual([]);
    const cut = of(split, 'net.partition')[0];
    expect(cut, 'the partition').toBeDefined();
    // Before the cut: the primary on pc1, the secondary on another PC (the one up longest: whole
    // seconds of uptime, which earlier runs' power cycles may have set apart).
    const beforeCut = (ev: TraceEvent[], t: number) => {
      const tr = of(ev, 'navigator.track').filter((e) => e.t < t).map((e) => [e.data?.role, e.subject]);
      expect(tr).toHaveLength(2);
      expect(tr[0]).toEqual(['primary', 'pc1']);
      expect(tr[1][0]).toBe('secondary');
      expect(tr[1][1]).not.toBe('pc1');
      return String(tr[1][1]);
    };
    const secHost = beforeCut(split, cut.t);
    const second = of(split, 'navigator.track').find((e) => e.t > cut.t && e.data?.role === 'primary');
    expect(second, 'a second primary during the partition').toMatchObject({ subject: secHost, data: { vm: 'nav-b', failover: true } });
    const both = holdersOf(split).filter((h) => h.t > cut.t && h.holders.length > 1);
    console.log(`[live-navigator] partition without the lease: ${both.length} observations with two holders, first at ${both[0] ? (both[0].t / 1e6).toFixed(1) : '-'} s: ${JSON.stringify(both[0]?.holders)}`);
    expect(both.length, 'the machines saw nav-a and nav-b hold the service IP at once').toBeGreaterThan(0);
    expect([...both[0].holders].sort()).toEqual(['nav-a', 'nav-b']);
    expect(maxVipHolders(split)['vip-mon']).toBe(2);

    // With the lease: pc1's pilot cannot renew it (etcd is on the other side) and steps down;
    // pc2's takes it once it has run out. At most one holder, seen and done.
    const leased = await live('live-navigator-partition-lease');
    expect(of(leased, 'agent.failure')).toEqual([]);
    const cut2 = of(leased, 'net.partition')[0];
    const secHost2 = beforeCut(leased, cut2.t);
    const lost = of(leased, 'navigator.lease-lost', 'pc1')[0];
    expect(lost, 'pc1 steps down when it cannot renew its lease').toBeDefined();
    // On its own clock, before the lease it last wrote runs out (a call to the store out of reach hangs longer).
    const lastLease = of(leased, 'store.write', 'navigator/lease').filter((e) => (e.data?.value as { holder?: string })?.holder === 'pc1' && e.t < lost.t).at(-1);
    expect(lastLease, 'pc1 held the lease').toBeDefined();
    expect(lost.t).toBeLessThan((lastLease!.data!.value as { expiresUs: number }).expiresUs);
    for (const h of holdersOf(leased)) expect(h.holders.length, `${h.t} µs: ${JSON.stringify(h.holders)}`).toBeLessThanOrEqual(1);
    expect(maxVipHolders(leased)['vip-mon']).toBeLessThanOrEqual(1);
    // The secondary's PC becomes primary only after pc1 stepped down.
    const took = of(leased, 'navigator.track', secHost2).find((e) => e.data?.role === 'primary');
    if (took) expect(took.t).toBeGreaterThan(lost.t);
    const sims = [PARTITION, PARTITION_LEASE].map((f) => {
      const s = readScenario(f);
      const sim = buildSimulation(s, { seed: s.seed ?? 1, watchMode: 'skip' });
      sim.run(s.until!);
      return maxVipHolders(sim.events)['vip-mon'];
    });
    expect(sims).toEqual([2, 1]);
  }, 480_000);

  it('churn: the PCs are switched by the sim\'s schedule through their power port; a PC switched off takes its container along, and a lost primary fails over', async () => {
    const s = readScenario(CHURN);
    const schedule = churnSchedule(s);
    const ev = await live('live-navigator-churn');
    expect(of(ev, 'agent.failure')).toEqual([]);
    // The same switches as the sim's, in order, each carried out on time (the run's loop turns every ~0.25 s).
    const switched = of(ev, 'churn.power');
    expect(switched.map((e) => [e.subject, e.data?.on])).toEqual(schedule.map((c) => [c.host, c.on]));
    switched.forEach((e, i) => {
      expect(e.t).toBeGreaterThanOrEqual(schedule[i].atUs);
      expect(e.t - schedule[i].atUs, `${e.subject} switched ${(e.t - schedule[i].atUs) / 1e6} s late`).toBeLessThan(5_000_000);
      // The PC follows: off at once, booting at once (on after its 3 s boot delay, unless switched off before).
      const state = of(ev, 'host.state', e.subject).find((h) => h.t >= e.t && h.data?.state === (e.data?.on ? 'booting' : 'off'));
      expect(state, `${e.subject} ${e.data?.on ? 'on' : 'off'} after the switch at ${e.t} µs`).toBeDefined();
      expect(state!.t - e.t).toBeLessThan(15_000_000);
    });
    // Every container destroyed by a power-off was on a PC just switched off.
    for (const g of of(ev, 'lab.guest').filter((e) => e.data?.state === 'destroyed')) {
      expect(switched.some((e) => e.subject === g.subject && e.data?.on === false && e.t <= g.t && g.t - e.t < 15_000_000), `${String(g.data?.vm)} destroyed on ${g.subject} at ${g.t} µs`).toBe(true);
    }
    // The roles at each switch-off and what followed; a primary lost while a secondary ran fails over.
    const times = navigatorFaultTimes(ev, 'vip-mon');
    expect(times.map((x) => x.host)).toEqual(schedule.filter((c) => !c.on).map((c) => c.host));
    const tracks = of(ev, 'navigator.track');
    console.log(`[live-navigator] churn: tracking records:\n${tracks.map((x) => `  ${(x.t / 1e6).toFixed(2)} s  ${String(x.data?.role).padEnd(9)} ${x.subject} ${String(x.data?.vm)} failover ${x.data?.failover ? 'YES' : 'NO'}`).join('\n')}`);
    for (const x of times) {
      // The last secondary recorded before, on another PC that has not been switched off since.
      const sec = tracks.filter((e) => e.t < x.faultUs && e.data?.role === 'secondary').at(-1);
      const secondaryUp = sec !== undefined && sec.subject !== x.host 
        && !switched.some((e) => e.subject === sec.subject && e.data?.on === false && e.t > sec.t && e.t < x.faultUs)
        && !tracks.some((e) => e.subject === sec.subject && e.data?.role === 'primary' && e.t > sec.t && e.t < x.faultUs);
      if (x.role === 'primary' && secondaryUp) expect(x.primaryFailoverS, `failover after ${x.host} switched off`).not.toBeNull();
    }
    for (const e of of(ev, 'vip.holders')) expect((e.data!.holders as string[]).length).toBeLessThanOrEqual(1);
    const sim = buildSimulation(s, { seed: s.seed ?? 1, watchMode: 'skip' });
    sim.run(s.until!);
    const rows = navConformRows(ev, sim.events, s);
    console.log(`[live-navigator] churn conform:\n${rows.map((r) => `  ${r.server}: ${r.metric}: live ${r.live} s, sim ${r.sim} s`).join('\n')}`);
  }, 480_000);

  it(`the conformance suite: every live scenario of navigator-mini (by the rule), conform --repeat ${NAV_REPEAT}, the sim calibrated (agent start-up, container start)`, async () => {
    const all = await suite.rest();
    expect(all.map((x) => x.entry.file)).toEqual(suite.files);
    for (const { rep, entry } of all) {
      expect(rep.repeat, entry.file).toBe(NAV_REPEAT);
      expect(existsSync(join(REPO_DIR, `out/conform-suite/suite-${rep.scenario}.json`)), entry.file).toBe(true);
    }
    // The shutdowns have their times (failover, fallback, failover after a secondary failure) on
    // both sides; the churn's depend on which roles its draws switch off.
    const failover = all.find((x) => x.rep.scenario === 'live-navigator-failover')!;
    expect(failover.rep.fidelity.timedMetrics).toBeGreaterThanOrEqual(3);
    console.log(`[suite] ${all.map((x) => `${x.rep.scenario}: ${JSON.stringify(x.rep.fidelity)} (${x.entry.wallS} s, load ${x.entry.load[0]})`).join('; ')}`);
    for (const x of all) console.log(`[suite] ${x.rep.scenario}:\n${x.rep.rows.map((r) => `  ${r.metric} (${r.server}): live ${r.live}, sim ${r.sim} (${r.errPct} %)`).join('\n')}`);
  }, 600_000);
});
