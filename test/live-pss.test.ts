// The PSS mini-lab live (root, Debian packages of scripts/apt/lab.txt, the guest image): built from
// experiments/labs/pss-mini.yaml (10.77.10.0/24) through LabSession. It checks what the PSS's live
// run stands on: the fifteen guests (six virtual servers running with their VIPs, spares and
// backups suspended), the balancer's nft pool spreading each group's connections over its VIPs and
// counting them (load.accesses: NftAccessCounter, against the client's own log), a guest's load
// read through its agent (load.sample) moving with memory used inside it, and a real server's
// suspend (its processes stopped, its guests paused, its cable cut, 3 W modelled) and its resume
// by Wake-on-LAN after the resume delay. Then live-pss-cycle, the PSS with the MSBS (moderate ->
// PS1 with M1's crash recovered by its DBSS -> PS2 once the client stops accessing the groups ->
// moderate), through the conformance suite (conform --repeat SUITE_REPEAT: the test asserts on
// its first live run), after `calibrate --machine` (the guests' examinations, a VIP move, RS3's
// suspend and resume), which conform applies: the sim's world as measured, the MSBS's timeouts
// derived in both worlds. Windows are generous: the machine may be loaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabSession, LAB_HOOK_MS } from './helpers/live/lab-session.ts';
import { loadLab, REPO_DIR, vipService, type Lab } from '../adapters/lab/schema.ts';
import { hostNs } from '../adapters/lab/names.ts';
import { run } from '../adapters/lab/run.ts';
import { ACCESS_TABLE, balancedVips, labPower, labStatus, sendWake } from '../adapters/lab/lab.ts';
import { eventsPath } from '../adapters/lab/events.ts';
import { accessLogPath } from '../adapters/lab/names.ts';
import { parseAccessLog } from '../adapters/lab/accesslog.ts';
import { GuestAgentExec, guestMemUsedMb, setGuestBallast } from '../adapters/lab/guest-vip.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { labServiceCheck } from '../adapters/lab/check.ts';
import { checkService } from '../adapters/probe/checkers.ts';
import { NftAccessCounter } from '../adapters/lb/nftcount.ts';
import { LiveLoadSampler } from '../adapters/ssh/load.ts';
import { parseNdjson } from '../trace/ndjson.ts';
import { ConformSuite, SUITE_REPEAT } from './helpers/live/conform-suite.ts';
import { calibrateMachine, msbsTimeoutsS } from '../run/calibrate.ts';
import { checkPssCycle } from './helpers/live/pss-cycle-checks.ts';

const isRoot = process.getuid?.() === 0;
const LAB_FILE = join(REPO_DIR, 'experiments/labs/pss-mini.yaml');
const OUT = join(REPO_DIR, 'out/lab/pss-mini');
/** The machine's calibration the suite's conform applies (the sim's world, the MSBS's timeouts). */
const PARAMS = join(OUT, 'calibrate-machine.test.json');
/** The suite's N runs of live-pss-cycle (160 s each, up to 15 s overtime, ~20 s of reset and start), with room. */
const SUITE_HOOK_MS = SUITE_REPEAT * 270_000 + 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(200);
  }
}

/** [pid, state letter] of the processes still there (a short-lived one may be gone already). */
function procStates(pids: number[]): Array<[number, string]> {
  return pids.flatMap((pid): Array<[number, string]> => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return [[pid, st.slice(st.lastIndexOf(')') + 2)[0]]];
    } catch {
      return [];
    }
  });
}

describe.skipIf(!isRoot)('PSS mini-lab (pss-mini on 10.77.10.0/24)', () => {
  let lab: Lab;
  let session: LabSession;
  let hv: LabHypervisor;
  let suite: ConformSuite;

  const vipCheck = (name: string) => {
    const v = lab.vips.find((x) => x.name === name)!;
    return checkService(v.address, vipService(lab, v).port, labServiceCheck(vipService(lab, v)), 1_500);
  };
  const labEvents = () => parseNdjson(readFileSync(eventsPath(lab), 'utf8'), eventsPath(lab));

  beforeAll(async () => {
    lab = loadLab(LAB_FILE);
    session = new LabSession(lab, 'live-pss');
    await session.up();
    hv = await LabHypervisor.open(lab);
  }, LAB_HOOK_MS);

  afterAll(async () => {
    try {
      await hv?.close();
      expect(await session.down()).toEqual([]);
    } finally {
      session.release();
    }
  }, 120_000);

  it('six virtual servers run on their real servers with their VIPs; spares and backups are suspended', async () => {
    const vms = await hv.list();
    expect(vms).toHaveLength(15);
    for (const v of lab.backupVms) {
      const got = vms.find((x) => x.name === v.name)!;
      expect(got.state, v.name).toBe(v.start === 'running' ? 'running' : 'suspended');
      expect(got.host, v.name).toBe(v.on ?? null);
    }
    expect((await hv.list('RS3')).map((v) => v.name).sort()).toEqual(['F2', 'W2']);
    for (const v of lab.vips.filter((x) => !x.members)) {
      const r = await until(`${v.name} answers`, 20_000, async () => {
        const c = await vipCheck(v.name);
        return c.ok ? c : null;
      });
      expect(r.servedBy, v.name).toBe(v.holder);
    }
  }, 120_000);

  it('the balancer spreads each group\'s connections over its VIPs and its nft counters count them, as the client\'s log does', async () => {
    const ns = hostNs(lab, 'lb');
    const counter = new NftAccessCounter({
      vips: balancedVips(lab, 'lb'),
      macs: Object.fromEntries(lab.backupVms.map((v) => [v.name, v.mac])),
      readCounters: async () => (await run(['ip', 'netns', 'exec', ns, 'nft', '-j', 'list', 'counters', 'table', 'ip', ACCESS_TABLE])).stdout,
      readNeighbours: async () => (await run(['ip', '-n', ns, '-j', '-4', 'neigh', 'show'])).stdout,
    });
    const t0 = Date.now();
    await counter.read();
    await sleep(8_000);
    const windowUs = (Date.now() - t0) * 1000 - 100_000;
    const n: Record<string, number> = {};
    for (const vm of ['M1', 'M2', 'W1', 'W2', 'F1', 'F2']) n[vm] = await counter.accesses(vm, windowUs);
    // Spares and backups hold no VIP: nothing is counted for them.
    expect(await counter.accesses('Ws', windowUs)).toBe(0);
    // The client's accesses to each group VIP over the same time, by who served them.
    const groupVips = new Set(lab.vips.filter((v) => v.members).map((v) => v.name));
    const log = parseAccessLog(readFileSync(accessLogPath(lab), 'utf8')).filter((a) => groupVips.has(a.vip) && a.tMs >= t0 && a.tMs <= t0 + windowUs / 1000);
    const served = (vm: string) => log.filter((a) => a.ok && a.servedBy === vm).length;
    const tried = (vip: string) => log.filter((a) => a.vip === vip).length;
    for (const [g, a, b] of [['mail', 'M1', 'M2'], ['web', 'W1', 'W2'], ['ftp', 'F1', 'F2']]) {
      // Turn by turn: both VIPs of the group get connections, about half each.
      expect(n[a], `${a} ${JSON.stringify(n)}`).toBeGreaterThan(0);
      expect(n[b], `${b} ${JSON.stringify(n)}`).toBeGreaterThan(0);
      expect(Math.abs(n[a] - n[b])).toBeLessThanOrEqual(2);
      // Every access the client made to the group's VIP is one connection counted for one of
      // its VIPs (an access that timed out too: the client's log does not say which VIP it went
      // to), give or take one in flight at each edge of the window.
      expect(Math.abs(n[a] + n[b] - tried(g)), `${g}: counted ${n[a]}+${n[b]}, tried ${tried(g)}`).toBeLessThanOrEqual(2);
      // And every access served by a VM was counted for it.
      for (const vm of [a, b]) expect(served(vm), `${vm}: counted ${n[vm]}, served ${served(vm)}`).toBeLessThanOrEqual(n[vm] + 1);
    }
  }, 60_000);

  it('a guest\'s load is read inside it through its agent, and moves with the memory used there', async () => {
    const sampler = new LiveLoadSampler({ exec: new GuestAgentExec(lab) });
    const before = await sampler.sample('F1');
    expect(before.memTotalKb).toBeGreaterThan(64 * 1024);
    expect(before.memTotalKb).toBeLessThanOrEqual(128 * 1024);
    expect(before.cores).toBe(1);
    expect(before.cpuIdlePct).toBeGreaterThanOrEqual(0);
    // 24 MiB written to the guest's RAM-backed root (about 30 MiB free there): used, not available.
    const used0 = await guestMemUsedMb(lab, 'F1');
    await setGuestBallast(lab, 'F1', 24);
    try {
      const after = await sampler.sample('F1');
      expect(before.memFreeKb - after.memFreeKb).toBeGreaterThan(18 * 1024);
      expect(await guestMemUsedMb(lab, 'F1') - used0).toBeGreaterThan(18);
    } finally {
      await setGuestBallast(lab, 'F1', 0);
    }
    expect(Math.abs(await guestMemUsedMb(lab, 'F1') - used0)).toBeLessThan(4);
    // A paused guest cannot be read: the sample fails (the PSS skips the group that period).
    await expect(sampler.sample('Ws')).rejects.toThrow(/paused|cannot be asked/);
  }, 60_000);

  it('RS3 suspended: its processes stop, its guests pause, its cable is cut (3 W modelled); Wake-on-LAN resumes it after the resume delay', async () => {
    const rs3 = lab.hosts.find((h) => h.name === 'RS3')!;
    expect(await labPower(lab, 'RS3', 'suspend')).toBe('suspending');
    const st = await until('RS3 suspended', 15_000, async () => {
      const s = (await labStatus(lab)).hosts.find((h) => h.name === 'RS3')!.supervisor!;
      return s.power === 'suspended' ? s : null;
    });
    expect(st.link.cable).toBe('down');
    const stopped = procStates(st.nsPids);
    expect(stopped.length).toBeGreaterThan(0);
    for (const [pid, s] of stopped) expect(s, `pid ${pid}`).toBe('T');
    expect((await hv.list('RS3')).map((v) => v.state)).toEqual(['suspended', 'suspended']);
    expect((await vipCheck('VIP5')).ok).toBe(false);
    expect((await vipCheck('VIP2')).ok).toBe(true);
    const suspended = labEvents().filter((e) => e.kind === 'lab.power' && e.subject === 'RS3' && e.data?.power === 'suspended').at(-1)!;
    expect(suspended.data).toMatchObject({ watts: 3, metered: false, guests: ['W2', 'F2'] });

    await sendWake(lab, 'RS3');
    const on = await until('RS3 resumed', 20_000, async () => labEvents().find((e) => e.kind === 'lab.power' && e.subject === 'RS3' && e.data?.power === 'on' && e.data?.resumed === true && e.t > suspended.t));
    const wol = labEvents().find((e) => e.kind === 'lab.wol' && e.subject === 'RS3' && e.t > suspended.t)!;
    expect(on.t - wol.t).toBeGreaterThanOrEqual(Number(rs3.resumeDelay));
    expect(on.data).toMatchObject({ watts: 28, metered: false });
    expect((await hv.list('RS3')).map((v) => v.state)).toEqual(['running', 'running']);
    const back = await until('VIP5 answers again', 10_000, async () => {
      const c = await vipCheck('VIP5');
      return c.ok ? c : null;
    });
    expect(back.servedBy).toBe('W2');
    // Its processes (sshd) run again.
    const after = (await labStatus(lab)).hosts.find((h) => h.name === 'RS3')!.supervisor!;
    expect(after.power).toBe('on');
    expect(after.link.cable).toBe('up');
    const running = procStates(after.nsPids);
    expect(running.length).toBeGreaterThan(0);
    for (const [pid, s] of running) expect(s, `pid ${pid}`).not.toBe('T');
  }, 90_000);
  it('calibrate --machine: the DBSS\'s examination of the running guests, a VIP move in a guest and RS3\'s suspend and resume, measured; the MSBS\'s timeouts derived from them', async () => {
    const machine = await calibrateMachine(LAB_FILE, { samples: 3, log: (m) => console.log(`[live-pss] ${m}`) });
    const pss = machine.pss!;
    expect(pss.hosts).toEqual(['RS1', 'RS2', 'RS3']);
    // Six running guests, three samples each.
    expect(pss.serviceExamS.samples).toHaveLength(18);
    expect(pss.networkExamS.samples).toHaveLength(18);
    // A suspend to RAM, and a resume no sooner than the lab's resume delay after the magic packet.
    expect(pss.hostSuspendS.min).toBeGreaterThan(0);
    expect(pss.hostResumeS.min).toBeGreaterThanOrEqual(Number(lab.hosts.find((h) => h.name === 'RS3')!.resumeDelay) / 1e6);
    // The Power port's resume answered after the host was on (a new SSH connection and a command).
    expect(pss.hostResumeAnswerS!.samples).toHaveLength(3);
    // A spare's resume and suspend through the lab's Hypervisor port (the whole call), and the spare left suspended.
    expect(pss.vmResumeS!.samples).toHaveLength(3);
    expect(pss.vmSuspendS!.samples).toHaveLength(3);
    expect(pss.vmResumeS!.min).toBeGreaterThan(0);
    // Of each VIP set and removal in a guest, the part until the change reached a client (the
    // gratuitous ARP sent, `ip addr del` launched): within the call, before its status polls.
    pss.guestVipSetS.samples.forEach((whole, i) => expect(pss.guestVipServedS!.samples[i]).toBeLessThan(whole));
    pss.guestVipRemoveS.samples.forEach((whole, i) => expect(pss.guestVipGoneS!.samples[i]).toBeLessThan(whole));
    const t = msbsTimeoutsS(pss, 10);
    expect(t.serviceS).toBeGreaterThanOrEqual(Math.max(3, Math.min(5, 4 * pss.serviceExamS.max)));
    console.log(`[live-pss] MSBS timeouts: network ${t.networkS} s, service ${t.serviceS} s`);
    mkdirSync(OUT, { recursive: true });
    writeFileSync(PARAMS, JSON.stringify(machine, null, 2));
    suite = new ConformSuite({ labFile: LAB_FILE, planLab: 'experiments/labs/pss-mini.yaml', outDir: join(OUT, 'conform'), paramsFile: PARAMS, source: `test/live-pss.test.ts (conform --repeat ${SUITE_REPEAT})`, log: (m) => console.log(`[live-pss] ${m}`) });
  }, 180_000);

  it('live-pss-cycle: moderate -> PS1 (M1 crashes, the MSBS recovers it) -> PS2 (client accesses stop) -> moderate, as in the sim; through the conformance suite', async () => {
    const { live: ev, rows } = await suite.run('live-pss-cycle');
    checkPssCycle(ev, rows);
  }, SUITE_HOOK_MS);

  it('the conformance suite: every live scenario of pss-mini conformed', async () => {
    const all = await suite.rest();
    expect(all.map((x) => x.rep.scenario)).toContain('live-pss-cycle');
    for (const x of all) expect(x.rep.repeat).toBe(SUITE_REPEAT);
  }, SUITE_HOOK_MS);
});
