// The web view's model (web/client/model.ts): the twin's state and the health lights folded from
// a trace, on the paper's Nt2 experiment (kitamura-2018 Fig. 13: FTP shut down at 65 s).
import { describe, expect, it } from 'vitest';
import { buildSimulation, readScenario } from '../experiments/scenario.ts';
import { energyWh, type TraceLine } from '../sim/trace/metrics.ts';
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

describe('web model: Nt2 on FTP, followed as it happens', () => {
  it('reads the trace the way the paper tells it (fault 65 s, detection 72 s, backup on Mail 79.09 s, fallback 220.32 s)', () => {
    const t = trace.find((e) => e.kind === 'trouble.detected')!.t;
    expect(t).toBe(72 * S);
    expect(trace.find((e) => e.kind === 'function.recovered')!.t).toBe(79_092_000);
    expect(trace.find((e) => e.kind === 'target.recovered')!.t).toBe(220_320_500);
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
    // Probes at 70 s (grid) and 72 s (P1 and P2 both detect: one instant, one miss).
    expect(light(twinAt(72 * S), 'net:FTP').misses).toBe(2);
    expect(light(twinAt(72 * S), 'phys:FTP').misses).toBe(1);
    // 80 s: three consecutive misses for the network light, two for the physical one.
    const at80 = twinAt(80 * S);
    expect(light(at80, 'net:FTP')).toMatchObject({ misses: 3, lights: ['red', 'red'] });
    expect(light(at80, 'phys:FTP')).toMatchObject({ misses: 2, lights: ['red', 'green'] });
    expect(light(twinAt(90 * S), 'phys:FTP').lights).toEqual(['red', 'red']);
    expect(light(twinAt(90 * S), 'svc:FTP/vsftpd').lights).toEqual(['red', 'red']);
  });

  it('the backup VM comes up on Mail, the VIP moves to it, and its lights are green', () => {
    const at79 = twinAt(79 * S);
    expect(at79.vms.get('FTPb')).toEqual({ state: 'running', host: 'Mail' });
    expect(at79.vipHolder('vip-ftp')).toBeNull();
    const at80 = twinAt(80 * S);
    expect(at80.vipHolder('vip-ftp')).toBe('FTPb');
    expect(at80.vipServing('vip-ftp')).toBe(true);
    expect(light(at80, 'vm:FTPb')).toMatchObject({ standby: false, lights: ['green', 'green'] });
    expect(light(at80, 'svc:FTPb/vsftpd').lights).toEqual(['green', 'green']);
    expect(light(at80, 'vip:vip-ftp').lights).toEqual(['green', 'green']);
    expect(at80.modes.get('Mail')?.get('FTP')).toBe('P1 FTP: Target server recovery');
  });

  it('after the fallback FTP holds its VIP again, the backup is suspended and the lights go green at the next probe', () => {
    const at221 = twinAt(221 * S);
    expect(at221.vipHolder('vip-ftp')).toBe('FTP');
    expect(at221.hosts.get('FTP')!.state).toBe('on');
    // Back at 218.67 s; the probe at 220 s passes.
    expect(light(at221, 'phys:FTP').lights).toEqual(['green', 'green']);
    const end = twinAt(360 * S);
    expect(end.vms.get('FTPb')!.state).toBe('suspended');
    expect(light(end, 'vm:FTPb').standby).toBe(true);
    expect(end.modes.get('Mail')?.size ?? 0).toBe(0);
  });

  it('keeps the timeline: FTP on, off, booting, on; one measured recovery (function 7.09 s)', () => {
    const end = twinAt(360 * S);
    expect(end.segments.get('FTP')!.map((s) => s.state)).toEqual(['on', 'off', 'booting', 'on']);
    expect(end.segments.get('FTPb')!.map((s) => `${s.state}@${s.host ?? ''}`)).toEqual(['suspended@', 'resuming@Mail', 'running@Mail', 'suspending@Mail', 'suspended@Mail']);
    const [r] = end.recoveries();
    expect(r.target).toBe('FTP');
    expect(r.functionRecoveryS).toBeCloseTo(7.092, 6);
    expect(end.markers.filter((m) => m.subject === 'FTP').map((m) => m.kind)).toEqual(['fault', 'detected', 'detected', 'function', 'target']);
  });

  it('its energy over a window agrees with the metric over the trace', () => {
    const end = twinAt(360 * S);
    expect(energyWhIn(end.power, 0, 360 * S).total).toBeCloseTo(energyWh(trace, 360 * S).total, 9);
    expect(energyWhIn(end.power, 100 * S, 200 * S).perHost.get('FTP')).toBeCloseTo((62 * 1 + 38 * 60) / 3600, 3);
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
