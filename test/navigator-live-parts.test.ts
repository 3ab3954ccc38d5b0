// The parts of Navigator's live run that need no lab: the churn schedule a live run replays (the
// sim's own, so both worlds switch the same PCs at the same times), Table 5-7's times read from a
// trace (trace/navigator.ts, which `hatwin conform` and navigator-table57 share), the scenarios
// checked against the navigator-mini lab file, and the guest service scripts.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadLab, parseLab, REPO_DIR, vipService } from '../adapters/lab/schema.ts';
import { guestServiceScript } from '../adapters/lab/guest-services.ts';
import { checkScenarioAgainstLab, churnSchedule } from '../run/live.ts';
import { navConformRows } from '../run/navconform.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { navigatorFaultTimes } from '../trace/navigator.ts';
import type { TraceEvent } from '../engine/ports/index.ts';

const LAB = join(REPO_DIR, 'experiments/labs/navigator-mini.yaml');
const scenario = (n: string) => join(REPO_DIR, `experiments/scenarios/live-navigator-${n}.yaml`);

describe('live navigator scenarios on navigator-mini', () => {
  it('both scenarios fit the lab: its PCs, its container slots (guests booted from a depot), its service IP (moved by the policy)', () => {
    const lab = loadLab(LAB);
    expect(lab.backupVms.map((v) => [v.name, v.image])).toEqual([['nav-a', 'depot'], ['nav-b', 'depot']]);
    expect(lab.vips[0]).toMatchObject({ name: 'vip-mon', managedBy: 'policy' });
    for (const n of ['failover', 'churn']) expect(() => checkScenarioAgainstLab(lab, readScenario(scenario(n)), n)).not.toThrow();
  });

  it('a policy-managed VIP is served by a guest\'s service (the client knows its protocol from there); one no guest declares is refused', () => {
    const lab = loadLab(LAB);
    expect(vipService(lab, lab.vips[0])).toMatchObject({ name: 'mon', protocol: 'http', port: 80 });
    const text = readFileSync(LAB, 'utf8');
    expect(() => parseLab(text.replace('service: mon, holder: pc1', 'service: zabbix, holder: pc1'), 'x.yaml')).toThrow(/no guest declares service "zabbix"/);
    // The papers' backup VMs stay as they were: booted at lab up from the lab's image.
    expect(parseLab(text.replaceAll('image: depot, ', ''), 'y.yaml').backupVms.map((v) => v.image)).toEqual(['lab', 'lab']);
  });

  it('a churn that names a PC the lab lacks is refused before anything runs', () => {
    const lab = loadLab(LAB);
    const s = readScenario(scenario('churn'));
    const bad = { ...s, churn: { ...s.churn!, hosts: ['pc1', 'pc9'] } } as typeof s;
    expect(() => checkScenarioAgainstLab(lab, bad, 'bad.yaml')).toThrow(/pc9/);
  });
});

describe('churnSchedule: the churn a live run replays', () => {
  it('is the sim\'s churn.power events of the same scenario, in time order, the same on every call', () => {
    const s = readScenario(scenario('churn'));
    const a = churnSchedule(s);
    expect(a.length).toBeGreaterThan(3);
    expect(churnSchedule(s)).toEqual(a);
    const sim = buildSimulation(s, { seed: s.seed ?? 1, watchMode: 'skip' });
    sim.run(s.until!);
    expect(a).toEqual(sim.events.filter((e) => e.kind === 'churn.power').map((e) => ({ atUs: e.t, host: e.subject, on: e.data?.on === true })));
    for (let i = 1; i < a.length; i++) expect(a[i].atUs).toBeGreaterThanOrEqual(a[i - 1].atUs);
    // Each PC alternates: off, on, off, ... (all start on), within the run.
    for (const h of new Set(a.map((c) => c.host))) {
      a.filter((c) => c.host === h).forEach((c, i) => expect(c.on).toBe(i % 2 === 1));
    }
    for (const c of a) expect(c.atUs).toBeLessThanOrEqual(s.until!);
  });

  it('is empty without churn, and another seed gives another schedule', () => {
    expect(churnSchedule(readScenario(scenario('failover')))).toEqual([]);
    const s = readScenario(scenario('churn'));
    expect(churnSchedule({ ...s, seed: 2 })).not.toEqual(churnSchedule(s));
  });
});

const ev = (t: number, kind: string, subject: string, data: Record<string, unknown>): TraceEvent => ({ t: t * 1e6, kind, subject, data });
const track = (t: number, role: string, host: string, vm: string, failover = false) => ev(t, 'navigator.track', host, { role, host, vm, failover });
const access = (t: number, ok: boolean) => ev(t, 'client.access', 'user', { vip: 'vip-mon', ok });

describe('navigatorFaultTimes: Table 5-7 from a trace', () => {
  it('a primary\'s PC off: failover to the new primary record, fallback to the next secondary, the client\'s outage', () => {
    const t = [
      track(10, 'primary', 'pc1', 'a'), access(11, true), track(30, 'secondary', 'pc2', 'b'),
      ev(100, 'fault', 'pc1', { fault: 'host-shutdown' }), access(101, false),
      track(106, 'primary', 'pc2', 'b', true), access(107, true), track(140, 'secondary', 'pc3', 'a'),
    ];
    expect(navigatorFaultTimes(t, 'vip-mon')).toEqual([{ host: 'pc1', faultUs: 100e6, cause: 'fault', role: 'primary', primaryFailoverS: 6, fallbackS: 40, secondaryFailoverS: null, detectedS: null, downtimeS: 6 }]);
    // The secondary's pilot records the loss at 104 s (another PC's loss before does not count).
    const seen = [...t.slice(0, 4), ev(101, 'navigator.primary-lost', 'pc2', { primaryHost: 'pc9' }), ev(104, 'navigator.primary-lost', 'pc2', { primaryHost: 'pc1' }), ...t.slice(4)];
    expect(navigatorFaultTimes(seen, 'vip-mon')[0].detectedS).toBe(4);
  });

  it('a secondary\'s PC off: the next secondary record; a PC with no container: no times; the role follows failovers', () => {
    const t = [
      track(10, 'primary', 'pc1', 'a'), track(30, 'secondary', 'pc2', 'b'),
      ev(50, 'fault', 'pc4', { fault: 'host-shutdown' }),
      ev(60, 'fault', 'pc2', { fault: 'host-shutdown' }), track(95, 'secondary', 'pc3', 'b'),
      // pc3 becomes primary after pc1 fails: then pc3 is the primary, pc1 nothing.
      ev(200, 'fault', 'pc1', { fault: 'host-shutdown' }), track(205, 'primary', 'pc3', 'b', true),
      ev(300, 'churn.power', 'pc3', { on: false }), ev(400, 'churn.power', 'pc3', { on: true }),
    ];
    const r = navigatorFaultTimes(t);
    // A user switching a PC off counts as its shutdown; switching it on does not.
    expect(r.map((x) => [x.host, x.role, x.cause])).toEqual([['pc4', null, 'fault'], ['pc2', 'secondary', 'fault'], ['pc1', 'primary', 'fault'], ['pc3', 'primary', 'churn']]);
    expect(r[0]).toMatchObject({ primaryFailoverS: null, fallbackS: null, secondaryFailoverS: null });
    expect(r[1].secondaryFailoverS).toBe(35);
    expect(r[2]).toMatchObject({ primaryFailoverS: 5, fallbackS: null });
    // No outage in the trace: none is counted (and one is never taken from a later shutdown).
    expect(r.map((x) => x.downtimeS)).toEqual([null, null, null, null]);
    const two = navigatorFaultTimes([ev(10, 'churn.power', 'pc4', { on: false }), ev(20, 'churn.power', 'pc1', { on: false }), access(21, false), access(24, true)]);
    expect(two.map((x) => x.downtimeS)).toEqual([null, 3]);
  });

  it('conform rows pair the live and the sim trace by fault, with the error of sim against live', () => {
    const s = readScenario(scenario('failover'));
    const live = [track(10, 'primary', 'pc1', 'nav-a'), track(30, 'secondary', 'pc2', 'nav-b'), ev(110, 'fault', 'pc1', { fault: 'host-shutdown' }), track(115, 'primary', 'pc2', 'nav-b', true), track(150, 'secondary', 'pc3', 'nav-a')];
    const sim = [track(10, 'primary', 'pc1', 'nav-a'), track(30, 'secondary', 'pc2', 'nav-b'), ev(110, 'fault', 'pc1', { fault: 'host-shutdown' }), track(114, 'primary', 'pc2', 'nav-b', true), track(130, 'secondary', 'pc3', 'nav-a')];
    const rows = navConformRows(live, sim, s);
    expect(rows.map((r) => [r.live, r.sim, r.errPct])).toEqual([[5, 4, -20], [null, null, null], [40, 20, -50], [null, null, null]]);
    // With the loss seen (live at 113 s, sim at 111 s): 2 s live, 3 s sim from there.
    const lost = (x: typeof live, at: number) => [...x.slice(0, 3), ev(at, 'navigator.primary-lost', 'pc2', { primaryHost: 'pc1' }), ...x.slice(3)];
    const seenRows = navConformRows(lost(live, 113), lost(sim, 111), s);
    expect(seenRows[1]).toMatchObject({ metric: 'failover after a primary failure: loss seen -> new primary tracked s', live: 2, sim: 3, errPct: 50 });
  });
});

describe('guest service scripts (busybox sh in the guest, which has no pgrep/pkill)', () => {
  const s = { name: 'mon', protocol: 'http' as const, port: 80 };
  // What the guest's /init and a start run: their command line (NULs as spaces).
  const listener = 'nc -ll -p 80 -e /svc/http.sh ';
  const pattern = "'nc -ll -p 80 '*)";
  it('start runs the protocol\'s handler answering with the guest\'s name, unless a listener runs', () => {
    const x = guestServiceScript('nav-a', s, 'start');
    expect(x).toContain(`HATWIN_NAME='nav-a' nc -ll -p "80" -e /svc/http.sh`);
    expect(x).toContain(pattern);
    expect(x.startsWith('[ -n "$(')).toBe(true);
  });
  it('stop and restart kill the listeners of the service\'s port, found by command line; the shell running them never matches', () => {
    for (const a of ['stop', 'restart'] as const) {
      const x = guestServiceScript('nav-a', s, a);
      expect(x).toContain(pattern);
      expect(x).toContain('kill $pids');
      // The shell's own command line (guest-exec: /bin/busybox sh -c SCRIPT) does not start with the pattern.
      expect(`/bin/busybox sh -c ${x}`.startsWith('nc -ll -p 80 ')).toBe(false);
      // The pattern's text is the listener's command line up to the port and a space (not port 8080's).
      const glob = /'(nc -ll -p \d+ )'\*\)/.exec(x)![1];
      expect(listener.startsWith(glob)).toBe(true);
      expect('nc -ll -p 8080 -e /svc/http.sh '.startsWith(glob)).toBe(false);
    }
  });
});
