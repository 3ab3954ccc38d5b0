// Bad input never crashes, hangs or blocks the web server: long steps and runaway models run in
// slices (other requests are answered meanwhile; a model that stops simulated time is cut off
// into `error`), absurd durations and traces are refused with 400, too many runs with 429, too
// large uploads with 413; saved traces are retained newest first; Host headers are parsed.
// Blocking is asserted by the order in which answers arrive, never by how fast they come.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../web/server/serve.ts';
import { isLoopbackHost, isTokenFreeBind, parseHost } from '../web/server/access.ts';
import { checkTraceLine } from '../web/server/traces.ts';
import { buildSimulation, readScenario, simProgramHost } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';
import { installPrograms } from '../run/install.ts';
import { POLICIES } from '../policies/registry.ts';
import { siteFromScenario } from '../run/site.ts';
import { toNdjson } from '../trace/ndjson.ts';
import type { RunInfo } from '../web/shared/api.ts';

const NT2 = 'p2p-fig13-nt2';
const NT2_FILE = 'experiments/scenarios/p2p-fig13-nt2.yaml';
let base: string;
let server: RunningServer;
let outDir: string;

async function call<T = Record<string, unknown>>(s: RunningServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, s.url), {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}
const json = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(server, method, path, body);

async function waitFor(s: RunningServer, id: string, pred: (r: RunInfo) => boolean, what = 'condition'): Promise<RunInfo> {
  for (let i = 0; i < 2_400; i++) {
    const r = (await call<RunInfo>(s, 'GET', `/api/runs/${id}`)).body;
    if (pred(r)) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`run ${id}: ${what} not met`);
}

/** A request with a Host header of our choosing (fetch sets its own). */
function rawStatus(port: number, host: string, path = '/api/runs'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The paper's Nt2 scenario with the P2P policy's waitPoll set to 0, past the loader and the policy schema: at 79.09 s a manager polls with no delay, for ever. */
function waitPollZeroSim(): Simulation {
  const s = readScenario(NT2_FILE);
  const sim = new Simulation(s, { seed: 1 });
  const def = POLICIES.p2p as unknown as { schema: { parse(v: unknown): Record<string, unknown> }; programs(c: unknown, site: unknown): Parameters<typeof installPrograms>[1] };
  installPrograms(simProgramHost(sim), def.programs({ ...def.schema.parse(s.policies[0]), waitPoll: 0 }, siteFromScenario(s)));
  return sim;
}

/** Nt2 plus a timer that fires every `everyUs` from `fromUs` on, for ever. */
function tickingSim(everyUs: number, fromUs: number): Simulation {
  const sim = buildSimulation(readScenario(NT2_FILE), { seed: 1 });
  const tick = () => void sim.kernel.after(everyUs, tick);
  sim.kernel.at(fromUs, tick);
  return sim;
}

const addRun = (s: RunningServer, sim: Simulation, scenario: string, o: { paused?: boolean; untilUs?: number } = {}) =>
  s.runs.startSim(sim, { scenario, seed: 1, speed: 'max', untilUs: o.untilUs ?? 360_000_000, paused: o.paused ?? true, topology: null });

/** Runs `slow` and, once `ready` says the slow call is under way, `quick`; returns the order their answers came in. */
async function raceOrder(slow: () => Promise<unknown>, ready: () => Promise<boolean>, quick: () => Promise<unknown>, release: () => Promise<unknown>): Promise<string[]> {
  const order: string[] = [];
  let settled = false;
  const slowDone = slow().then((v) => {
    settled = true;
    order.push('slow');
    return v;
  });
  for (let i = 0; i < 2_400 && !settled && !(await ready()); i++) await new Promise((res) => setTimeout(res, 10));
  await quick();
  order.push('quick');
  await release();
  await slowDone;
  return order;
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'hatwin-bounds-'));
  outDir = join(base, 'out');
  mkdirSync(outDir);
  server = await startServer({ port: 0, host: '127.0.0.1', outDir, frontEnd: false });
});

afterAll(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

describe('work is sliced: one request never holds the others', () => {
  it('a 30-day step on a paused run: GET /api/runs is answered while it runs; pause stops it', async () => {
    // A model with work at every simulated 10 µs (the P2P ring alone is quiet between its
    // faults: a month of it is a handful of events, docs/scale.md).
    const id = addRun(server, tickingSim(10, 1_000_000), NT2, { untilUs: 30 * 86_400_000_000 }).id;
    let step: { status: number; body: RunInfo } | undefined;
    const order = await raceOrder(
      async () => (step = await json<RunInfo>('POST', `/api/runs/${id}/step`, { by: '30d' })),
      async () => (await json<RunInfo>('GET', `/api/runs/${id}`)).body.nowUs > 0,
      () => json('GET', '/api/runs'),
      () => json('POST', `/api/runs/${id}/pause`),
    );
    expect(order).toEqual(['quick', 'slow']);
    expect(step!.status).toBe(200);
    // Stopped by the pause (or, on a very fast machine, by the per-run trace bound first).
    expect(['paused', 'error']).toContain(step!.body.state);
    expect(step!.body.nowUs).toBeGreaterThan(0);
    expect(step!.body.nowUs).toBeLessThan(30 * 86_400_000_000);
  });

  it('a fault injected while a long step runs is answered at once and taken by the step', async () => {
    const id = addRun(server, tickingSim(10, 1_000_000), 'ticking', { untilUs: 30 * 86_400_000_000 }).id;
    let fault: { status: number; body: { atUs: number } } | undefined;
    const order = await raceOrder(
      () => json('POST', `/api/runs/${id}/step`, { by: '30d' }),
      async () => (await json<RunInfo>('GET', `/api/runs/${id}`)).body.nowUs > 2_000_000,
      async () => (fault = await json<{ atUs: number }>('POST', `/api/runs/${id}/faults`, { kind: 'Nt2', target: 'Web1' })),
      async () => {
        // The step runs the fault's instant; then stop it.
        await waitFor(server, id, (r) => r.nowUs > fault!.body.atUs, 'past the fault');
        return json('POST', `/api/runs/${id}/pause`);
      },
    );
    expect(order).toEqual(['quick', 'slow']);
    expect(fault!.status).toBe(201);
    const trace = await (await fetch(new URL(`/api/runs/${id}/trace`, server.url))).text();
    expect(trace).toContain(`{"t":${fault!.body.atUs},"kind":"fault","subject":"Web1"`);
  });

  it('a step whose client goes away stops', async () => {
    const id = addRun(server, tickingSim(10, 1_000_000), 'ticking', { untilUs: 30 * 86_400_000_000 }).id;
    const ac = new AbortController();
    const gone = fetch(new URL(`/api/runs/${id}/step`, server.url), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ by: '30d' }), signal: ac.signal,
    }).catch(() => 'aborted');
    await waitFor(server, id, (r) => r.nowUs > 1_000_000, 'stepping');
    ac.abort();
    expect(await gone).toBe('aborted');
    // Stopped: time holds still over a few looks (a stepping run moves between any two).
    let last = -1;
    let still = 0;
    for (let i = 0; i < 400 && still < 3; i++) {
      const now = (await json<RunInfo>('GET', `/api/runs/${id}`)).body.nowUs;
      still = now === last ? still + 1 : 0;
      last = now;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(still).toBe(3);
    expect((await json<RunInfo>('GET', `/api/runs/${id}`)).body.state).toBe('paused');
  });

  it('a model spinning at one instant (p2p waitPoll: 0) keeps the server answering', async () => {
    // No runaway guard here: the spin goes on until paused, and the server answers meanwhile.
    const lax = await startServer({ port: 0, host: '127.0.0.1', outDir, frontEnd: false, limits: { eventsPerSimSecond: Number.MAX_SAFE_INTEGER } });
    try {
      const id = addRun(lax, waitPollZeroSim(), 'p2p-waitpoll-0').id;
      let step: { status: number; body: RunInfo } | undefined;
      const order = await raceOrder(
        async () => (step = await call<RunInfo>(lax, 'POST', `/api/runs/${id}/step`, { by: '100s' })),
        async () => (await call<RunInfo>(lax, 'GET', `/api/runs/${id}`)).body.nowUs === 79_092_500,
        () => call(lax, 'GET', '/api/runs'),
        () => call(lax, 'POST', `/api/runs/${id}/pause`),
      );
      expect(order).toEqual(['quick', 'slow']);
      expect(step!.body).toMatchObject({ state: 'paused', nowUs: 79_092_500 });
    } finally {
      await lax.close(); // returns: nothing holds the event loop
    }
  });

  it('the runaway guard cuts a spinning run off into error with a clear message', async () => {
    const stepped = addRun(server, waitPollZeroSim(), 'p2p-waitpoll-0');
    const r = await json<RunInfo>('POST', `/api/runs/${stepped.id}/step`, { by: '100s' });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('error');
    expect(r.body.error).toBe('stopped: simulated time stopped moving at 79.09 s');
    expect(r.body.errorDetail).toMatch(/more than 200000 kernel events fired at t = 79092500 us without simulated time moving on; .*waitPoll of 0/);
    const again = await json<{ error: string }>('POST', `/api/runs/${stepped.id}/step`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/has ended \(error: stopped: simulated time stopped moving/);

    // Running at full speed, the same; a page following it is told.
    const running = addRun(server, waitPollZeroSim(), 'p2p-waitpoll-0', { paused: false });
    const told: RunInfo[] = [];
    running.subscribe((msgs) => msgs.forEach((m) => m.type === 'status' && told.push(m.status)));
    const done = await waitFor(server, running.id, (x) => x.state !== 'running', 'end');
    expect(done).toMatchObject({ state: 'error', nowUs: 79_092_500, error: 'stopped: simulated time stopped moving at 79.09 s' });
    expect(told.at(-1)).toMatchObject({ state: 'error', error: done.error });

    // Time that moves, but by a microsecond per event: too many events per simulated second.
    const creeping = addRun(server, tickingSim(1, 5_000_000), 'creeping', { paused: false });
    const cut = await waitFor(server, creeping.id, (x) => x.state !== 'running', 'end');
    expect(cut.state).toBe('error');
    expect(cut.error).toMatch(/^stopped: too many events per simulated second at 5\.\d\d s$/);
    expect(cut.errorDetail).toMatch(/more than 200000 kernel events within the simulated second from 5 s/);
  });
});

describe('durations are checked before anything runs', () => {
  let paused: string;
  beforeAll(async () => {
    paused = (await json<RunInfo>('POST', '/api/runs', { scenario: NT2, paused: true })).body.id;
  });

  it('a fault lasting 99999999999999999999 days is refused with 400, and the run goes on', async () => {
    for (const duration of ['99999999999999999999d', '400d', 1e300]) {
      const r = await json<{ error: string; issues: Array<{ path: string }> }>('POST', `/api/runs/${paused}/faults`, { kind: 'link-down', target: 'FTP', duration });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/^bad fault: duration: /);
      expect(r.body.issues[0].path).toBe('duration');
    }
    expect((await json<RunInfo>('GET', `/api/runs/${paused}`)).body).toMatchObject({ state: 'paused', error: null });
    const ok = await json('POST', `/api/runs/${paused}/faults`, { kind: 'link-down', target: 'FTP', duration: '10d' });
    expect(ok.status).toBe(201);
  });

  it('until and by have an upper bound (365 d)', async () => {
    const until = await json<{ error: string }>('POST', '/api/runs', { scenario: NT2, until: '400d' });
    expect(until.status).toBe(400);
    expect(until.body.error).toMatch(/until: until must be at most 365d/);
    const huge = await json<{ error: string }>('POST', '/api/runs', { scenario: NT2, until: '99999999999999999999d' });
    expect(huge.status).toBe(400);
    expect(huge.body.error).toMatch(/^bad run request: until: /);
    const by = await json<{ error: string }>('POST', `/api/runs/${paused}/step`, { by: '366d' });
    expect(by.status).toBe(400);
    expect(by.body.error).toMatch(/by: by must be at most 365d|by: too long/);
  });
});

describe('finished runs refuse pacing', () => {
  it('speed on a finished run is 409 like pause, resume and step', async () => {
    const id = (await json<RunInfo>('POST', '/api/runs', { scenario: NT2 })).body.id;
    await waitFor(server, id, (r) => r.state === 'done');
    for (const [path, body] of [['speed', { speed: 10 }], ['pause', undefined], ['resume', undefined], ['step', undefined]] as const) {
      const r = await json<{ error: string }>('POST', `/api/runs/${id}/${path}`, body);
      expect(r.status, path).toBe(409);
      expect(r.body.error).toMatch(/has ended \(done\); it cannot/);
    }
  });
});

describe('traces: replay and validation', () => {
  const upload = (s: RunningServer, text: string, query = 'speed=max') =>
    fetch(new URL(`/api/replays?${query}`, s.url), { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: text });

  it('a replay keeps every event of its last instant (more than one slice of them)', async () => {
    const lines = [{ t: 0, kind: 'host.state', subject: 'A', data: { state: 'on', watts: 100 } }];
    for (let i = 0; i < 12_000; i++) lines.push({ t: 5_000_000, kind: 'note', subject: `x${i}`, data: { state: 'on', watts: i } });
    const text = toNdjson(lines);
    const res = await upload(server, text);
    expect(res.status).toBe(201);
    const id = ((await res.json()) as RunInfo).id;
    const done = await waitFor(server, id, (r) => r.state === 'done');
    expect(done.events).toBe(12_001);
    expect(await (await fetch(new URL(`/api/runs/${id}/trace`, server.url))).text()).toBe(text);
  });

  it('an uploaded trace is checked like a scenario: 400 with the line of each problem', async () => {
    const good = '{"t":0,"kind":"host.state","subject":"A","data":{"state":"on","watts":100}}';
    const text = [
      good,
      '{"t":-100,"kind":"host.state","subject":"A"}',
      '{"t":1e300,"kind":"host.state","subject":"A"}',
      '{"t":2.5,"kind":"host.state","subject":"A"}',
      '{"t":10,"kind":"host.state","subject":"A","data":{"state":"on","watts":"lots"}}',
      '{"t":5,"kind":"host.state","subject":"A"}',
      '',
    ].join('\n');
    const res = await upload(server, text);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: Array<{ path: string; message: string }> };
    expect(body.error).toMatch(/^uploaded trace is not a hatwin trace: /);
    expect(body.issues).toEqual([
      { path: 'line 2', message: expect.stringMatching(/^t must be an integer number of microseconds from 0 to \d+ \(got -100\)$/) },
      { path: 'line 3', message: expect.stringMatching(/^t must be an integer .* \(got 1e\+300\)$/) },
      { path: 'line 4', message: expect.stringMatching(/\(got 2\.5\)$/) },
      { path: 'line 5', message: 'data.watts must be a number (got "lots")' },
      { path: 'line 6', message: 't = 5 us goes back (the line before has 10 us)' },
    ]);
    expect(body.error).toContain('trace line 5: data.watts must be a number (got "lots")');
    expect((await upload(server, '\n\n')).status).toBe(400);
    expect(checkTraceLine({ t: 0, kind: 'k', subject: 's', extra: 1 }, null)).toEqual(['unknown field "extra" (a trace line has t, kind, subject, data)']);
  });

  it('a path outside the out directory gets the same answer whether the file exists or not', async () => {
    writeFileSync(join(base, 'x.ndjson'), '{"t":0,"kind":"a","subject":"b"}\n');
    const there = await json<{ error: string }>('POST', '/api/replays', { path: '../x.ndjson' });
    const absent = await json<{ error: string }>('POST', '/api/replays', { path: '../nothing-here.ndjson' });
    expect(there.status).toBe(400);
    expect(absent.status).toBe(400);
    expect(there.body.error.replace('x.ndjson', 'F')).toBe(absent.body.error.replace('nothing-here.ndjson', 'F'));
    // A link inside out/ that leads out is answered like a missing file.
    symlinkSync(join(base, 'x.ndjson'), join(outDir, 'link.ndjson'));
    const link = await json<{ error: string }>('POST', '/api/replays', { path: 'link.ndjson' });
    const missing = await json<{ error: string }>('POST', '/api/replays', { path: 'nolink.ndjson' });
    expect(link.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(link.body.error.replace('link.ndjson', 'F')).toBe(missing.body.error.replace('nolink.ndjson', 'F'));
  });
});

describe('limits: live runs (429), idle paused runs, uploads (413), saved traces', () => {
  let small: RunningServer;
  let smallOut: string;
  beforeAll(async () => {
    smallOut = join(base, 'small-out');
    mkdirSync(smallOut);
    small = await startServer({ port: 0, host: '127.0.0.1', outDir: smallOut, frontEnd: false, limits: { liveRuns: 2, pausedIdleMs: 2_000, savedTraces: 2, uploadBytes: 64 * 1024 } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('one run more than the live maximum is refused with 429; idle paused runs are ended', async () => {
    const a = await call<RunInfo>(small, 'POST', '/api/runs', { scenario: NT2, paused: true });
    const b = await call<RunInfo>(small, 'POST', '/api/runs', { scenario: NT2, paused: true });
    expect([a.status, b.status]).toEqual([201, 201]);
    const c = await call<{ error: string }>(small, 'POST', '/api/runs', { scenario: NT2, paused: true });
    expect(c.status).toBe(429);
    expect(c.body.error).toMatch(/^too many runs: 2 are running or paused, the most this server keeps/);
    const r = await fetch(new URL('/api/replays', small.url), { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: '{"t":0,"kind":"a","subject":"b"}\n' });
    expect(r.status).toBe(429);
    // Left alone, paused runs are ended after the idle time, and make room.
    const ended = await waitFor(small, a.body.id, (x) => x.state !== 'paused', 'eviction');
    expect(ended).toMatchObject({ state: 'error', error: 'ended: paused with no call for 2 s' });
    expect(ended.errorDetail).toMatch(/keeps at most 2 runs running or paused/);
    await waitFor(small, b.body.id, (x) => x.state !== 'paused', 'eviction');
    expect((await call(small, 'POST', '/api/runs', { scenario: NT2, paused: true })).status).toBe(201);
  });

  it('an upload over the size limit is refused with 413 (by Content-Length, or as it streams)', async () => {
    const big = '{"t":0,"kind":"a","subject":"b"}\n'.repeat(4_000); // ~132 KB
    const res = await fetch(new URL('/api/replays', small.url), { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/^uploaded trace too large \(Content-Length 129 KiB\): the web view takes at most 64 KiB/);
    // Chunked, without Content-Length: cut off when the bytes received pass the limit.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: small.port, path: '/api/replays', method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', 'Transfer-Encoding': 'chunked' } }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      let sent = 0;
      const more = () => {
        while (sent < 40) {
          sent++;
          if (!req.write('{"t":0,"kind":"a","subject":"b"}\n'.repeat(200))) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error).toMatch(/^uploaded trace too large \(over 64 KiB received\)/);
    expect((await call(small, 'GET', '/api/runs')).status).toBe(200);
  });

  it('keeps the newest saved traces only', async () => {
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = (await call<RunInfo>(small, 'POST', '/api/runs', { scenario: NT2, seed: i + 1 })).body.id;
      files.push((await waitFor(small, id, (r) => r.state === 'done')).traceFile!);
      await new Promise((res) => setTimeout(res, 20)); // distinct modification times
    }
    const kept = readdirSync(join(smallOut, 'web-runs')).sort();
    expect(kept).toEqual(files.slice(1).map((f) => f.replace('web-runs/', '')).sort());
    expect(existsSync(join(smallOut, files[0]))).toBe(false);
  });
});

describe('Host header and token rule', () => {
  it('parses Host properly: names in any case, valid IPv4 only', async () => {
    const port = server.port;
    for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `LocalHost`, `127.0.0.1:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, '[0:0:0:0:0:0:0:1]']) {
      expect(await rawStatus(port, host), host).toBe(200);
    }
    for (const host of ['127.999.999.999', `127.999.999.999:${port}`, '127.0.0.1.evil.example', 'localhost.evil.example', '127.1', '0x7f.0.0.1', '127.000.0.1', 'evil.example', `127.0.0.1:99999`, '[::2]']) {
      expect(await rawStatus(port, host), host).toBe(403);
    }
    expect(parseHost('LOCALHOST:8080')).toEqual({ name: 'localhost', port: 8080 });
    expect(parseHost('[::1]:80')).toEqual({ name: '::1', port: 80 });
    expect(isLoopbackHost('127.255.255.255')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  it('no token only bound to exactly 127.0.0.1, ::1 or localhost; 127.0.0.2 needs one', async () => {
    expect(['127.0.0.1', '::1', 'localhost', 'LOCALHOST', '[::1]'].map(isTokenFreeBind)).toEqual([true, true, true, true, true]);
    expect(['127.0.0.2', '0.0.0.0', '::', '192.168.1.2', 'example.org'].map(isTokenFreeBind)).toEqual([false, false, false, false, false]);
    const other = await startServer({ port: 0, host: '127.0.0.2', outDir, frontEnd: false });
    try {
      expect(other.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const none = await call<{ error: string }>(other, 'POST', '/api/runs', { scenario: NT2, paused: true });
      expect(none.status).toBe(401);
      const ok = await call(other, 'POST', '/api/runs', { scenario: NT2, paused: true }, { Authorization: `Bearer ${other.token}` });
      expect(ok.status).toBe(201);
    } finally {
      await other.close();
    }
  });
});
