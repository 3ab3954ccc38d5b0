// The health-lights rule (web/shared/lights.ts; chen-lo-2015 Fig. 8): first light red after one
// failed scan, second after three consecutive ones, stale after two intervals of silence; the
// page's model applies it to live probes (health.probe) and to the sim's virtual prober alike,
// and the server's lights API (GET /api/runs/:id/lights, .../lights/history) shows the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fcParams } from './helpers/fc-params.ts';
import { foldScans, judge, lightPair, LightHistory, missesAfter, STALE_INTERVALS, type LightPair } from '../web/shared/lights.ts';
import { Twin } from '../web/shared/model.ts';
import { startServer, type RunningServer } from '../web/server/serve.ts';
import type { RunInfo } from '../web/shared/api.ts';
import { LightsBook, type RunLightHistory, type RunLights } from '../web/server/lights.ts';
import type { Run } from '../web/server/runs.ts';

const T = 2_000_000;
type ScanStep = { gapUs: number; kind: 'ok' | 'miss' | 'standby' };
const scanArb = fc.record({ gapUs: fc.integer({ min: 1, max: 3 * STALE_INTERVALS * T }), kind: fc.constantFrom<ScanStep['kind']>('ok', 'miss', 'miss', 'standby') });

/** The rule, written out the slow way: trailing failed scans since the last pass or standby. */
function oracle(steps: ScanStep[], nowUs: number, times: number[]): LightPair {
  if (steps.length === 0) return ['stale', 'stale'];
  if (nowUs - times[times.length - 1] > STALE_INTERVALS * T) return ['stale', 'stale'];
  const last = steps[steps.length - 1];
  if (last.kind === 'standby') return ['dark', 'dark'];
  let trailing = 0;
  for (let i = steps.length - 1; i >= 0 && steps[i].kind === 'miss'; i--) trailing++;
  return [trailing >= 1 ? 'red' : 'green', trailing >= 3 ? 'red' : 'green'];
}

function timesOf(steps: ScanStep[]): number[] {
  let t = 0;
  return steps.map((s) => (t += s.gapUs));
}

describe('lights rule: 1 miss / 3 misses / stale', () => {
  it('over random scan sequences, the folded reading judges as the rule says (first red after 1 miss, second after 3 in a row, a pass clears, stale after two silent intervals)', () => {
    fc.assert(fc.property(fc.array(scanArb, { maxLength: 40 }), fc.integer({ min: 0, max: 3 * STALE_INTERVALS * T }), (steps, afterUs) => {
      const times = timesOf(steps);
      const nowUs = (times[times.length - 1] ?? 0) + afterUs;
      const reading = foldScans(steps.map((s, i) => ({ t: times[i], ok: s.kind === 'ok', standby: s.kind === 'standby' })));
      expect(judge(reading, nowUs, T)).toEqual(oracle(steps, nowUs, times));
    }), fcParams(500));
  });

  it('the page\'s model gives the same lights for a live run\'s health.probe events, and its history ends on the lights it shows', () => {
    fc.assert(fc.property(fc.array(scanArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 3 * STALE_INTERVALS * T }), (steps, afterUs) => {
      const twin = new Twin({ hosts: [{ name: 'Web1', services: ['httpd'], state: 'on', mac: null }], vms: [], vips: [], clients: [], probeIntervalUs: T, untilUs: 0, lights: 'probes' });
      const times = timesOf(steps);
      steps.forEach((s, i) => twin.apply({ t: times[i], kind: 'health.probe', subject: 'Web1/httpd', data: { light: 'svc:Web1/httpd', ok: s.kind === 'ok', standby: s.kind === 'standby', detail: s.kind } }));
      const nowUs = times[times.length - 1] + afterUs;
      twin.advance(nowUs);
      const light = twin.lights().find((l) => l.id === 'svc:Web1/httpd')!;
      const want = oracle(steps, nowUs, times);
      expect(light.lights).toEqual(want);
      const history = twin.lightChanges('svc:Web1/httpd');
      expect(history[history.length - 1].lights).toEqual(want);
      // Never two entries in a row with the same lights, and time never goes back.
      for (let i = 1; i < history.length; i++) {
        expect(history[i].lights).not.toEqual(history[i - 1].lights);
        expect(history[i].t).toBeGreaterThanOrEqual(history[i - 1].t);
      }
    }), fcParams(300));
  });

  it('a silent light turns stale at the start of its third interval without a scan, never green', () => {
    const r = foldScans([{ t: 0, ok: true }]);
    expect(judge(r, STALE_INTERVALS * T, T)).toEqual(['green', 'green']);
    expect(judge(r, STALE_INTERVALS * T + 1, T)).toEqual(['stale', 'stale']);
    expect(judge(foldScans([]), 0, T)).toEqual(['stale', 'stale']);
    expect(missesAfter(5, { ok: false, standby: true })).toBe(0);
    expect(lightPair(2)).toEqual(['red', 'green']);
    const h = new LightHistory(2);
    for (const [t, pair] of [[0, lightPair(0)], [1, lightPair(0)], [2, lightPair(1)], [3, lightPair(3)]] as Array<[number, LightPair]>) {
      h.note({ t, id: 'vm:a', level: 'Server', label: 'a', lights: pair, misses: 0, note: null });
    }
    expect(h.all().map((c) => c.t)).toEqual([2, 3]);
    expect(h.droppedCount).toBe(1);
  });

  it('an ended live run shows every light stale, and says so in the history', () => {
    const twin = new Twin({ hosts: [{ name: 'FTP', services: [], state: 'on', mac: null }], vms: [], vips: [], clients: [], probeIntervalUs: T, untilUs: 0, lights: 'probes' });
    twin.apply({ t: 1_000, kind: 'health.probe', subject: 'FTP', data: { light: 'phys:FTP', ok: true } });
    expect(twin.lights().find((l) => l.id === 'phys:FTP')!.lights).toEqual(['green', 'green']);
    twin.markEnded('the live run has ended');
    expect(twin.lights().find((l) => l.id === 'phys:FTP')!.lights).toEqual(['stale', 'stale']);
    expect(twin.lightChanges('phys:FTP').map((c) => c.lights)).toEqual([['green', 'green'], ['stale', 'stale']]);
  });
});

describe('lights API on a sim run (GET /api/runs/:id/lights, /lights/history)', () => {
  let server: RunningServer;
  let outDir: string;
  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'hatwin-lights-'));
    server = await startServer({ port: 0, host: '127.0.0.1', outDir, frontEnd: false });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
  });
  const get = async <B>(path: string) => {
    const res = await fetch(new URL(path, server.url));
    return { status: res.status, body: (await res.json()) as B };
  };

  it('p2p-fig13-nt2 paused at 100 s: FTP (off since 65 s) red on both lights from the 10 s grid, its backup green; the history says when', async () => {
    const start = await fetch(new URL('/api/runs', server.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'p2p-fig13-nt2', seed: 1, paused: true }) });
    expect(start.status).toBe(201);
    const run = (await start.json()) as RunInfo;
    const step = await fetch(new URL(`/api/runs/${run.id}/step`, server.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ by: '100s' }) });
    expect(step.status).toBe(200);
    const l = await get<RunLights>(`/api/runs/${run.id}/lights`);
    expect(l.status).toBe(200);
    expect(l.body.source).toBe('grid');
    expect(l.body.intervalUs).toBe(10_000_000);
    expect(l.body.staleAfterUs).toBe(20_000_000);
    expect(Object.keys(l.body.levels)).toEqual(['Application', 'Network', 'Physical', 'Server']);
    const phys = l.body.levels.Physical.find((o) => o.id === 'phys:FTP')!;
    expect(phys.lights).toEqual(['red', 'red']);
    expect(l.body.levels.Physical.find((o) => o.id === 'phys:Mail')!.lights).toEqual(['green', 'green']);
    expect(l.body.levels.Server.find((o) => o.id === 'vm:FTPb')!.lights).toEqual(['green', 'green']);
    expect(l.body.levels.Server.find((o) => o.id === 'vm:Web1b')!.lights).toEqual(['dark', 'dark']);
    // The grid instants after the 65 s power-off: 70 s (one miss), 90 s (three in a row).
    const h = await get<RunLightHistory>(`/api/runs/${run.id}/lights/history?object=phys:FTP`);
    expect(h.status).toBe(200);
    expect(h.body.changes.map((c) => [c.t, c.lights])).toEqual([[0, ['green', 'green']], [70_000_000, ['red', 'green']], [90_000_000, ['red', 'red']]]);
    const all = await get<RunLightHistory>(`/api/runs/${run.id}/lights/history`);
    expect(all.body.object).toBeNull();
    expect(all.body.changes.some((c) => c.id === 'phys:FTP' && c.t === 90_000_000)).toBe(true);
    expect(new Set(all.body.changes.map((c) => c.id)).size).toBeGreaterThan(10);
    expect((await get<{ error: string }>(`/api/runs/${run.id}/lights/history?object=phys:Nope`)).status).toBe(404);
    expect((await get<{ error: string }>(`/api/runs/${run.id}/lights/history?object=bogus`)).status).toBe(400);
    expect((await get<{ error: string }>(`/api/runs/${run.id}/lights/history?limit=0`)).status).toBe(400);
    expect((await get<{ error: string }>('/api/runs/nope/lights')).status).toBe(404);
  });
});

describe('lights API on a live run (LightsBook over a run of kind live)', () => {
  /** What the book reads of a run: a live one whose health.probe events arrive, then ends. */
  function liveRun() {
    const state = { nowUs: 0, live: true, events: [] as Array<{ t: number; kind: string; subject: string; data?: Record<string, unknown> }> };
    const run = {
      id: 'live0001', kind: 'live', get live() { return state.live; }, get state() { return state.live ? 'running' : 'done'; },
      get events() { return state.events; },
      topology: { hosts: [{ name: 'FTP', services: ['vsftpd'], state: 'on', mac: null }], vms: [], vips: [], clients: [], probeIntervalUs: T, untilUs: 0, lights: 'probes' },
      info: () => ({ nowUs: state.nowUs }),
    } as unknown as Run;
    return { run, state };
  }
  const probe = (t: number, light: string, ok: boolean) => ({ t, kind: 'health.probe', subject: light.slice(light.indexOf(':') + 1), data: { light, ok, detail: ok ? 'ok' : 'no answer' } });

  it('real probes: red after 1 miss, both after 3; stale when the probes stop for two intervals, and all stale once the run ends', async () => {
    const { run, state } = liveRun();
    const book = new LightsBook();
    const light = async (id: string) => (await book.lights(run)).levels.Application.concat((await book.lights(run)).levels.Physical).find((o) => o.id === id)!;
    state.events.push(probe(0, 'svc:FTP/vsftpd', true), probe(0, 'phys:FTP', true));
    state.nowUs = 100_000;
    expect((await book.lights(run)).source).toBe('probes');
    expect((await light('svc:FTP/vsftpd')).lights).toEqual(['green', 'green']);
    for (const k of [1, 2, 3]) state.events.push(probe(k * T, 'svc:FTP/vsftpd', false), probe(k * T, 'phys:FTP', true));
    state.nowUs = 3 * T + 100_000;
    expect((await light('svc:FTP/vsftpd')).lights).toEqual(['red', 'red']);
    expect((await light('phys:FTP')).lights).toEqual(['green', 'green']);
    // No probe since 3 T: at 5 T + 1 µs the lights are stale, not the last colours.
    state.nowUs = 5 * T + 1;
    expect((await light('phys:FTP')).lights).toEqual(['stale', 'stale']);
    const h = await book.history(run, 'svc:FTP/vsftpd', 100);
    expect(h.changes.map((c) => [c.t, c.lights.join('/')])).toEqual([[0, 'green/green'], [T, 'red/green'], [3 * T, 'red/red'], [5 * T + 1, 'stale/stale']]);
    // A probe again: fresh; then the run ends: everything stale, and the system history says so.
    state.events.push(probe(6 * T, 'phys:FTP', true));
    state.nowUs = 6 * T;
    expect((await light('phys:FTP')).lights).toEqual(['green', 'green']);
    state.live = false;
    expect((await light('phys:FTP')).lights).toEqual(['stale', 'stale']);
    const all = await book.history(run, null, 100);
    // The service was stale already (silent since 3 T): no change; the link light, never probed, gets its first entry.
    expect(all.changes.filter((c) => c.note === 'stale: the live run has ended').map((c) => c.id).sort()).toEqual(['net:FTP', 'phys:FTP']);
  });
});
