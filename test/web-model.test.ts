// The web view's model (web/client/model.ts): the twin's state and the health lights folded from
// a trace, on the paper's Nt2 experiment (kitamura-2018 Fig. 13: FTP shut down at 65 s).
import { describe, expect, it } from 'vitest';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { energyWh, type TraceLine } from '../trace/metrics.ts';
import { topologyOf } from '../web/server/scenarios.ts';
import { Twin, energyWhIn, type LightObject } from '../web/client/model.ts';

const scenario = readScenario('experiments/scenarios/p2p-fig13-nt2.yaml');
const sim = buildSimulation(scenario, { seed: 1 });
sim.run();
const trace: TraceLine[] = sim.events;
const S = 1_000_000;

/** The twin as the page sees it at `tUs`: every event up to then, and a status at then. */
function twinAt(tUs: number): Twin {
  const twin = new Twin(topologyOf(scenario, scenario.until!));
  for (const e of trace) if (e.t <= tUs) twin.apply(e);
  twin.advance(tUs);
  return twin;
}

const light = (twin: Twin, id: string): LightObject => {
  const l = twin.lights().find((x) => x.id === id);
  if (!l) throw new Error(`no light ${id}`);
  return l;
};

// The policy's own times (detection, activation, fallback) are read from the trace: the model
// must follow whatever the policy does; the probe grid (10 s) and the fault (65 s) are fixed.
const at = (kind: string, subject?: string, pred: (e: TraceLine) => boolean = () => true) => {
  const e = trace.find((x) => x.kind === kind && (subject === undefined || x.subject === subject) && pred(x));
  if (!e) throw new Error(`no ${kind} ${subject ?? ''} in the trace`);
  return e.t;
};
const FAULT = 65 * S;
const T = 10 * S;
const nextGrid = (t: number) => Math.ceil(t / T) * T;
const detected = at('trouble.detected', 'FTP');
const vmUp = at('vm.state', 'FTPb', (e) => e.data?.state === 'running');
const moved = at('vip.assign', 'vip-ftp', (e) => e.data?.holder === 'FTPb');
const functionUs = at('function.recovered', 'FTP');
const ftpOn = at('host.state', 'FTP', (e) => e.t > FAULT && e.data?.state === 'on');
const fallback = at('target.recovered', 'FTP');

describe('web model: Nt2 on FTP, followed as it happens', () => {
  it('the trace tells the paper\'s story in order: fault, detection, backup up, VIP moved, FTP back, fallback', () => {
    expect(FAULT).toBeLessThan(detected);
    expect(detected).toBeLessThan(vmUp);
    expect(vmUp).toBeLessThanOrEqual(moved);
    expect(moved).toBeLessThan(ftpOn);
    expect(ftpOn).toBeLessThan(fallback);
    expect(detected).toBeLessThan(FAULT + 3 * T);
  });

  it('before the fault every light of FTP is green and the suspended backups are dark', () => {
    const twin = twinAt(60 * S);
    for (const id of ['phys:FTP', 'net:FTP', 'svc:FTP/vsftpd', 'vip:vip-ftp']) expect(light(twin, id).lights).toEqual(['green', 'green']);
    expect(light(twin, 'vm:FTPb')).toMatchObject({ standby: true, lights: ['dark', 'dark'] });
    expect(twin.vipHolder('vip-ftp')).toBe('FTP');
    expect(twin.hosts.get('FTP')!.state).toBe('on');
  });

  it('the host is off at once, but a light turns red only at the next probe (70 s)', () => {
    const at66 = twinAt(66 * S);
    expect(at66.hosts.get('FTP')).toMatchObject({ state: 'off', watts: 1 });
    expect(light(at66, 'phys:FTP').lights).toEqual(['green', 'green']);
    const at70 = twinAt(70 * S);
    expect(light(at70, 'phys:FTP')).toMatchObject({ misses: 1, lights: ['red', 'green'] });
    expect(light(at70, 'vip:vip-ftp').lights).toEqual(['red', 'green']);
  });

  it('the watchers\' trouble.detected is a failed probe of the network light, counted once', () => {
    // Grid probes since the fault, plus the detection (P1 and P2 at one instant: one miss).
    const grid = Math.floor(detected / T) - Math.ceil(FAULT / T) + 1;
    const atDetection = twinAt(detected);
    expect(light(atDetection, 'phys:FTP').misses).toBe(grid);
    expect(light(atDetection, 'net:FTP').misses).toBe(grid + (detected % T === 0 ? 0 : 1));
    // Three consecutive misses: both lights red.
    expect(light(twinAt(90 * S), 'net:FTP')).toMatchObject({ lights: ['red', 'red'] });
    expect(light(twinAt(90 * S), 'phys:FTP')).toMatchObject({ misses: 3, lights: ['red', 'red'] });
    expect(light(twinAt(90 * S), 'svc:FTP/vsftpd').lights).toEqual(['red', 'red']);
  });

  it('the backup VM comes up on Mail, the VIP moves to it, and its lights are green', () => {
    const up = twinAt(vmUp);
    expect(up.vms.get('FTPb')).toEqual({ state: 'running', host: 'Mail' });
    if (moved > vmUp) expect(up.vipHolder('vip-ftp')).toBeNull();
    const after = twinAt(nextGrid(moved + 1));
    expect(after.vipHolder('vip-ftp')).toBe('FTPb');
    expect(after.vipServing('vip-ftp')).toBe(true);
    expect(light(after, 'vm:FTPb')).toMatchObject({ standby: false, lights: ['green', 'green'] });
    expect(light(after, 'svc:FTPb/vsftpd').lights).toEqual(['green', 'green']);
    expect(light(after, 'vip:vip-ftp').lights).toEqual(['green', 'green']);
    expect(twinAt(functionUs).modes.get('Mail')?.get('FTP')).toBe('P1 FTP: Target server recovery');
  });

  it('after the fallback FTP holds its VIP again, the backup is suspended and the lights go green at the next probe', () => {
    const back = twinAt(Math.max(fallback, nextGrid(ftpOn + 1)));
    expect(back.vipHolder('vip-ftp')).toBe('FTP');
    expect(back.hosts.get('FTP')!.state).toBe('on');
    expect(light(back, 'phys:FTP').lights).toEqual(['green', 'green']);
    const end = twinAt(360 * S);
    expect(end.vms.get('FTPb')!.state).toBe('suspended');
    expect(light(end, 'vm:FTPb').standby).toBe(true);
    expect(end.modes.get('Mail')?.size ?? 0).toBe(0);
  });

  it('keeps the timeline: FTP on, off, booting, on; one measured recovery', () => {
    const end = twinAt(360 * S);
    expect(end.segments.get('FTP')!.map((s) => s.state)).toEqual(['on', 'off', 'booting', 'on']);
    expect(end.segments.get('FTPb')!.map((s) => `${s.state}@${s.host ?? ''}`)).toEqual(['suspended@', 'resuming@Mail', 'running@Mail', 'suspending@Mail', 'suspended@Mail']);
    const [r] = end.recoveries();
    expect(r.target).toBe('FTP');
    expect(r.functionRecoveryS).toBe((functionUs - detected) / S);
    expect(end.markers.filter((m) => m.subject === 'FTP').map((m) => m.kind)).toEqual(['fault', 'detected', 'detected', 'function', 'target']);
  });

  it('its energy over a window agrees with the metric over the trace', () => {
    const end = twinAt(360 * S);
    expect(energyWhIn(end.power, 0, 360 * S).total).toBeCloseTo(energyWh(trace, 360 * S).total, 9);
    const boot = at('host.state', 'FTP', (e) => e.data?.state === 'booting');
    // FTP from 100 s to 150 s: off (1 W) the whole time, if the WOL comes later.
    if (boot >= 150 * S) expect(energyWhIn(end.power, 100 * S, 150 * S).perHost.get('FTP')).toBeCloseTo(50 / 3600, 9);
  });

  it('the history of a service holds its node\'s faults and detections', () => {
    const kinds = twinAt(360 * S).history('FTP/vsftpd').map((e) => e.kind);
    expect(kinds).toContain('fault');
    expect(kinds).toContain('trouble.detected');
    expect(kinds).not.toContain('store.write');
  });
});

describe('web model: a replay without its scenario', () => {
  it('finds hosts, VMs, VIPs and the P2P servers\' daemons in the trace itself', () => {
    const twin = new Twin(null);
    for (const e of trace) twin.apply(e);
    expect([...twin.hosts.keys()]).toEqual(['Login', 'Mail', 'FTP', 'Web1']);
    expect([...twin.vms.keys()]).toEqual(['Loginb', 'Mailb', 'FTPb', 'Web1b']);
    expect([...twin.vips.keys()]).toEqual(['vip-login', 'vip-mail', 'vip-ftp', 'vip-web1']);
    expect(twin.nodeServices.get('FTP')).toEqual(['vsftpd']);
    expect(twin.intervalUs).toBe(10 * S);
  });
});

describe('web model: a service fault (St1 on the demo web server)', () => {
  it('turns the service\'s first light red when the watcher finds it refused', () => {
    const s = readScenario('test/golden/st1-service-restart/scenario.yaml');
    const run = buildSimulation(s, { seed: s.seed ?? 1 });
    run.run();
    const detected = run.events.find((e) => e.kind === 'trouble.detected')!;
    const twin = new Twin(topologyOf(s, s.until!));
    for (const e of run.events) if (e.t <= detected.t) twin.apply(e);
    twin.advance(detected.t);
    const svc = twin.lights().find((l) => l.id === `svc:${detected.subject}/httpd`)!;
    expect(svc.lights[0]).toBe('red');
    expect(twin.lights().find((l) => l.id === `phys:${detected.subject}`)!.lights).toEqual(['green', 'green']);
  });
});
