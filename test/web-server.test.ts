// The web view's server API, spoken to with plain fetch on an ephemeral port of 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../web/server/serve.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { faultSchema } from '../sim/scenario/schema.ts';
import { parseNdjson, recoveries } from '../trace/metrics.ts';
import { FAULT_KINDS, type ConformDetail, type ConformEntry, type LabInfo, type RunDetail, type RunInfo, type ScenarioEntry, type SavedTrace } from '../web/shared/api.ts';

const NT2 = 'p2p-fig13-nt2';
let server: RunningServer;
let outDir: string;
const url = (path: string) => new URL(path, server.url).href;

async function json<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url(path), {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function waitFor(id: string, pred: (r: RunInfo) => boolean, base = server.url): Promise<RunInfo> {
  for (let i = 0; i < 400; i++) {
    const r = (await (await fetch(new URL(`/api/runs/${id}`, base))).json()) as RunInfo;
    if (pred(r)) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`run ${id}: condition not met`);
}

interface SseMessage {
  event: string;
  id: string | null;
  data: string;
}

/** Reads an SSE stream until `done` says so (or the time is up); returns the messages. */
async function readSse(path: string, done: (msgs: SseMessage[]) => boolean, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<SseMessage[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(url(path), { headers, signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const msgs: SseMessage[] = [];
  let buf = '';
  try {
    while (!done(msgs)) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        break; // aborted (time up) or the server went away
      }
      const { value, done: end } = chunk;
      if (end) break;
      buf += dec.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const m: SseMessage = { event: 'message', id: null, data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) m.event = line.slice(7);
          else if (line.startsWith('id: ')) m.id = line.slice(4);
          else if (line.startsWith('data: ')) {
            m.data += line.slice(6);
            hasData = true;
          }
        }
        if (hasData) msgs.push(m);
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return msgs;
}

const traces = (msgs: SseMessage[]) => msgs.filter((m) => m.event === 'trace');
const statuses = (msgs: SseMessage[]) => msgs.filter((m) => m.event === 'status').map((m) => JSON.parse(m.data) as RunInfo);

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'hatwin-web-'));
  server = await startServer({ port: 0, host: '127.0.0.1', outDir, frontEnd: false });
});

afterAll(async () => {
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

describe('web server: scenarios and runs', () => {
  it('lists the scenarios as a JSON array', async () => {
    const r = await json<ScenarioEntry[]>('GET', '/api/scenarios');
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    const nt2 = r.body.find((s) => s.id === NT2)!;
    expect(nt2).toMatchObject({ file: 'experiments/scenarios/p2p-fig13-nt2.yaml', untilUs: 360_000_000, policies: ['p2p'] });
    expect(r.body.map((s) => s.id)).toContain('golden/demo-nt2');
    const one = await json<{ topology: { hosts: Array<{ name: string }>; probeIntervalUs: number } }>('GET', `/api/scenarios/${NT2}`);
    expect(one.body.topology.hosts.map((h) => h.name)).toEqual(['Login', 'Mail', 'FTP', 'Web1']);
    expect(one.body.topology.probeIntervalUs).toBe(10_000_000);
    expect((await json('GET', '/api/scenarios/golden/demo-nt2')).status).toBe(200);
  });

  it('runs a scenario: the web run\'s trace is the trace `hatwin sim` writes (same seed)', async () => {
    const start = await json<RunInfo>('POST', '/api/runs', { scenario: NT2, seed: 3 });
    expect(start.status).toBe(201);
    expect(start.body.id).toMatch(/^[0-9a-f]{8}$/);
    const done = await waitFor(start.body.id, (r) => r.state === 'done');
    expect(done.nowUs).toBe(360_000_000);
    const res = await fetch(url(`/api/runs/${start.body.id}/trace`));
    expect(res.headers.get('content-type')).toMatch(/ndjson/);
    const text = await res.text();
    const sim = buildSimulation(readScenario('experiments/scenarios/p2p-fig13-nt2.yaml'), { seed: 3 });
    sim.run();
    expect(text).toBe(toNdjson(sim.events));
    // Finished runs are saved and listed as past runs and saved traces.
    expect(done.traceFile).toMatch(/^web-runs\/p2p-fig13-nt2-seed3-[0-9a-f]{8}\.ndjson$/);
    expect(readFileSync(join(outDir, done.traceFile!), 'utf8')).toBe(text);
    const list = await json<SavedTrace[]>('GET', '/api/traces');
    expect(list.body.map((t) => t.path)).toContain(done.traceFile);
    const runs = await json<RunInfo[]>('GET', '/api/runs');
    expect(runs.body.find((r) => r.id === start.body.id)?.state).toBe('done');
    const detail = await json<RunDetail & { recoveries: unknown[] }>('GET', `/api/runs/${start.body.id}`);
    expect(detail.body.topology?.vms.map((v) => v.name)).toContain('FTPb');
    expect(detail.body.recoveries).toHaveLength(1);
  });

  it('streams a run over SSE: past events first, then live ones, and resumes after Last-Event-ID', async () => {
    const start = await json<RunInfo>('POST', '/api/runs', { scenario: NT2, paused: true });
    const id = start.body.id;
    const initial = await readSse(`/api/runs/${id}/events`, (m) => statuses(m).length > 0);
    const past = traces(initial);
    expect(past.length).toBeGreaterThan(10);
    expect(past.map((m) => Number(m.id))).toEqual(past.map((_, i) => i));
    expect(JSON.parse(past[0].data)).toMatchObject({ t: 0, kind: 'host.state', subject: 'Login' });
    expect(statuses(initial)[0]).toMatchObject({ id, state: 'paused', nowUs: 0 });

    // Live: a step while the stream is open delivers the next events (the programs' start at
    // t = 0 is the first instant with something to show, then the first time they act).
    const live = readSse(`/api/runs/${id}/events`, (m) => traces(m).some((x) => JSON.parse(x.data).t > 0));
    await new Promise((res) => setTimeout(res, 100));
    const first = await json<RunInfo>('POST', `/api/runs/${id}/step`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ state: 'paused', nowUs: 0 });
    expect(first.body.events).toBeGreaterThan(past.length);
    const second = await json<RunInfo>('POST', `/api/runs/${id}/step`);
    expect(second.body.nowUs).toBeGreaterThan(0);
    const got = traces(await live);
    expect(got.map((m) => Number(m.id))).toEqual(got.map((_, i) => i));
    expect(got.length).toBe(second.body.events);
    expect(JSON.parse(got[got.length - 1].data).t).toBe(second.body.nowUs);

    // A reconnecting browser sends Last-Event-ID and gets only what came after it.
    const again = await readSse(`/api/runs/${id}/events`, (m) => statuses(m).length > 0, { 'Last-Event-ID': '4' });
    expect(Number(traces(again)[0].id)).toBe(5);
  });

  it('paces a run: pause holds simulated time, resume and speed move it', async () => {
    const start = await json<RunInfo>('POST', '/api/runs', { scenario: NT2, speed: 1000 });
    const id = start.body.id;
    await waitFor(id, (r) => r.nowUs > 0);
    const paused = await json<RunInfo>('POST', `/api/runs/${id}/pause`);
    expect(paused.body.state).toBe('paused');
    await new Promise((res) => setTimeout(res, 150));
    expect((await waitFor(id, () => true)).nowUs).toBe(paused.body.nowUs);
    const stepped = await json<RunInfo>('POST', `/api/runs/${id}/step`, { by: '5s' });
    expect(stepped.body.nowUs).toBe(paused.body.nowUs + 5_000_000);
    const sped = await json<RunInfo>('POST', `/api/runs/${id}/speed`, { speed: 'max' });
    expect(sped.body.speed).toBe('max');
    await json('POST', `/api/runs/${id}/resume`);
    const done = await waitFor(id, (r) => r.state === 'done');
    expect(done.nowUs).toBe(360_000_000);
    const late = await json<{ error: string }>('POST', `/api/runs/${id}/pause`);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatch(/has ended/);
  });

  it('injects a fault at the run\'s current simulated time, and the policy recovers from it', async () => {
    const start = await json<RunInfo>('POST', '/api/runs', { scenario: NT2, paused: true });
    const id = start.body.id;
    await json('POST', `/api/runs/${id}/step`, { by: '20s' });
    const f = await json<{ atUs: number; fault: Record<string, unknown> }>('POST', `/api/runs/${id}/faults`, { kind: 'Nt2', target: 'Web1' });
    expect(f.status).toBe(201);
    expect(f.body).toMatchObject({ atUs: 20_000_000, fault: { kind: 'Nt2', target: 'Web1' } });
    await json('POST', `/api/runs/${id}/speed`, { speed: 'max' });
    await json('POST', `/api/runs/${id}/resume`);
    await waitFor(id, (r) => r.state === 'done');
    const trace = parseNdjson(await (await fetch(url(`/api/runs/${id}/trace`))).text());
    expect(trace.find((e) => e.kind === 'fault' && e.subject === 'Web1')).toMatchObject({ t: 20_000_000, data: { fault: 'Nt2' } });
    const rec = recoveries(trace).find((r) => r.target === 'Web1')!;
    expect(rec.fault).toBe('Nt2');
    expect(rec.functionRecoveryS).not.toBeNull();
  });

  it('replays a saved trace (by path under out/, or uploaded) to the same events', async () => {
    const start = await json<RunInfo>('POST', '/api/runs', { scenario: NT2 });
    const done = await waitFor(start.body.id, (r) => r.state === 'done');
    const original = await (await fetch(url(`/api/runs/${start.body.id}/trace`))).text();
    const byPath = await json<RunInfo>('POST', '/api/replays', { path: `out/${done.traceFile}`, scenario: NT2 });
    expect(byPath.status).toBe(201);
    expect(byPath.body.kind).toBe('replay');
    await waitFor(byPath.body.id, (r) => r.state === 'done');
    expect(await (await fetch(url(`/api/runs/${byPath.body.id}/trace`))).text()).toBe(original);
    const detail = await json<RunDetail>('GET', `/api/runs/${byPath.body.id}`);
    expect(detail.body.topology?.hosts).toHaveLength(4);

    const up = await fetch(url('/api/replays?speed=max'), { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: original });
    expect(up.status).toBe(201);
    const upId = ((await up.json()) as RunInfo).id;
    await waitFor(upId, (r) => r.state === 'done');
    expect(await (await fetch(url(`/api/runs/${upId}/trace`))).text()).toBe(original);
    const noFault = await json<{ error: string }>('POST', `/api/runs/${upId}/faults`, { kind: 'Nt2', target: 'FTP' });
    expect(noFault.status).toBe(409);
    expect(noFault.body.error).toMatch(/replay/);
  });
});

describe('web server: bad requests get a 4xx with a JSON error saying what was wrong', () => {
  let paused: string;
  beforeAll(async () => {
    paused = (await json<RunInfo>('POST', '/api/runs', { scenario: NT2, paused: true })).body.id;
  });

  const cases: Array<[string, string, string, unknown, number, RegExp, Record<string, string>?]> = [
    ['no scenario', 'POST', '/api/runs', {}, 400, /scenario: the id of a scenario/],
    ['unknown scenario', 'POST', '/api/runs', { scenario: 'nope' }, 404, /no scenario "nope" \(known: .*p2p-fig13-nt2/],
    ['seed not an integer', 'POST', '/api/runs', { scenario: NT2, seed: 1.5 }, 400, /seed: seed must be an integer/],
    ['speed too high', 'POST', '/api/runs', { scenario: NT2, speed: 20000 }, 400, /speed must be at most 10000/],
    ['unknown field', 'POST', '/api/runs', { scenario: NT2, sed: 1 }, 400, /sed/],
    ['body not JSON', 'POST', '/api/runs', '{"scenario":', 400, /not valid JSON/],
    ['form body', 'POST', '/api/runs', undefined, 415, /application\/json/, { 'Content-Type': 'application/x-www-form-urlencoded' }],
    ['unknown run', 'GET', '/api/runs/nosuchrun/trace', undefined, 404, /no run "nosuchrun"/],
    ['unknown route', 'GET', '/api/nothing', undefined, 404, /no API route GET \/api\/nothing/],
    ['replay outside out/', 'POST', '/api/replays', { path: '../../etc/passwd.ndjson' }, 400, /must be relative to the out directory and stay inside it/],
    ['replay of a missing trace', 'POST', '/api/replays', { path: 'web-runs/none.ndjson' }, 404, /no saved trace "web-runs\/none\.ndjson"/],
    ['replay not ndjson', 'POST', '/api/replays', { path: 'x.txt' }, 400, /ending in \.ndjson/],
  ];
  for (const [name, method, path, body, status, msg, headers] of cases) {
    it(name, async () => {
      const res = await fetch(url(path), {
        method,
        headers: headers ?? (body === undefined ? {} : { 'Content-Type': 'application/json' }),
        body: headers ? 'scenario=demo' : body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const err = (await res.json()) as { error: string };
      expect(err.error).toMatch(msg);
    });
  }

  const faults: Array<[string, unknown, RegExp]> = [
    ['unknown fault kind', { kind: 'Nt3', target: 'FTP' }, /kind: .*Expected 'St1'/],
    ['no target', { kind: 'Nt2' }, /target/],
    ['unknown target', { kind: 'Nt2', target: 'Ghost' }, /no host "Ghost" \(hosts: Login, Mail, FTP, Web1\)/],
    ['VM for a host fault', { kind: 'Nt1', target: 'FTPb' }, /Nt1 needs a host/],
    ['unknown service', { kind: 'St1', target: 'FTP', service: 'httpd' }, /no service "httpd" on FTP \(services: vsftpd\)/],
    ['a time given', { kind: 'Nt2', target: 'FTP', at: '10s' }, /current simulated time: leave out "at"/],
    ['partition with a stranger', { kind: 'partition', a: ['FTP'], b: ['Nobody'] }, /b\.0: no host, VM or client "Nobody"/],
  ];
  for (const [name, body, msg] of faults) {
    it(`fault: ${name}`, async () => {
      const r = await json<{ error: string }>('POST', `/api/runs/${paused}/faults`, body);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/^bad fault: /);
      expect(r.body.error).toMatch(msg);
    });
  }

  it('a bad uploaded trace is refused with its line', async () => {
    const res = await fetch(url('/api/replays'), { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: '{"t":0,"kind":"a","subject":"x"}\nnot json\n' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/uploaded trace is not a hatwin trace: trace line 2: not JSON/);
  });

  it('the page offers exactly the scenario schema\'s fault kinds', () => {
    expect([...FAULT_KINDS]).toEqual(faultSchema.options.map((o) => o.shape.kind.value));
  });
});

describe('web server: access', () => {
  const post = (base: string, headers: Record<string, string> = {}) =>
    fetch(new URL('/api/runs', base), { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ scenario: NT2, paused: true }) });

  it('bound to a non-loopback address, state-changing calls need the bearer token', async () => {
    const open = await startServer({ port: 0, host: '0.0.0.0', outDir, frontEnd: false });
    try {
      expect(open.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const base = `http://127.0.0.1:${open.port}/`; // connect via loopback only
      expect((await fetch(new URL('/api/scenarios', base))).status).toBe(200); // reading needs none
      const none = await post(base);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
      expect((await post(base, { Authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
      const ok = await post(base, { Authorization: `Bearer ${open.token}` });
      expect(ok.status).toBe(201);
      const id = ((await ok.json()) as RunInfo).id;
      expect((await fetch(new URL(`/api/runs/${id}/step`, base), { method: 'POST' })).status).toBe(401);
      expect((await fetch(new URL(`/api/runs/${id}/step`, base), { method: 'POST', headers: { Authorization: `Bearer ${open.token}` } })).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('reads the token from --token-file', async () => {
    const file = join(outDir, 'token');
    writeFileSync(file, 'a-token-from-a-file-0123456789\n');
    const s = await startServer({ port: 0, host: '0.0.0.0', outDir, frontEnd: false, tokenFile: file });
    try {
      expect(s.token).toBe('a-token-from-a-file-0123456789');
      expect((await post(`http://127.0.0.1:${s.port}/`, { Authorization: 'Bearer a-token-from-a-file-0123456789' })).status).toBe(201);
    } finally {
      await s.close();
    }
    writeFileSync(file, 'short\n');
    await expect(startServer({ port: 0, host: '0.0.0.0', outDir, frontEnd: false, tokenFile: file })).rejects.toThrow(/at least 16 characters/);
  });

  it('on loopback: no token, but requests must name a loopback host and come from the same origin', async () => {
    expect(server.token).toBeNull();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/scenarios', headers: { Host: 'attacker.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    const cross = await post(server.url, { Origin: 'http://attacker.example' });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { error: string }).error).toMatch(/cross-origin/);
  });
});

describe('web server: a lab, its live runs, sim vs live (no lab up needed)', () => {
  let labServer: RunningServer;
  let labOut: string;
  let labDir: string;
  let labFile: string;
  let holder: ReturnType<typeof spawn> | null = null;

  beforeAll(async () => {
    labOut = mkdtempSync(join(tmpdir(), 'hatwin-web-lab-out-'));
    labDir = mkdtempSync(join(tmpdir(), 'hatwin-web-lab-'));
    // A lab that is not up: its state folder does not exist; its logs (and live-runs/) under labDir.
    labFile = join(labDir, 'lab.yaml');
    writeFileSync(labFile, readFileSync('experiments/labs/p2p-mini.yaml', 'utf8')
      .replace(/^name: p2p-mini$/m, 'name: p2p-mini-webtest')
      .replace('dir: ../../out/lab/p2p-mini/keys', `dir: ${join(labDir, 'keys')}`)
      .replace(/^subnet:/m, `stateDir: ${join(labDir, 'state')}\nlogDir: ${join(labDir, 'logs')}\nsubnet:`));
    labServer = await startServer({ port: 0, outDir: labOut, frontEnd: false, lab: labFile });
  });
  afterAll(async () => {
    await labServer?.close();
    if (holder?.pid) holder.kill('SIGKILL');
    rmSync(labOut, { recursive: true, force: true });
    rmSync(labDir, { recursive: true, force: true });
  });
  const at = (path: string) => new URL(path, labServer.url).href;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(at(path), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('a server without --lab says so: GET /api/lab is null, a live run is a 404', async () => {
    expect((await json('GET', '/api/lab')).body).toBeNull();
    const r = await json<{ error: string }>('POST', '/api/lab/runs', { scenario: 'live-p2p-nt2' });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/follows no lab: start it with `hatwin serve --lab LAB.yaml`/);
  });

  it('attaches to a lab that is down and says so; a live run on it is refused', async () => {
    const info = (await (await fetch(at('/api/lab'))).json()) as LabInfo;
    expect(info).toMatchObject({ name: 'p2p-mini-webtest', up: false, hosts: ['Login', 'Mail', 'FTP', 'Web1'], vms: ['Loginb', 'Mailb', 'FTPb', 'Web1b'] });
    expect(info.detail).toMatch(/^down: not built/);
    expect(info.faults).toEqual(['St1', 'St2', 'Nt1', 'Nt2', 'pause', 'link-down', 'partition-oneway', 'heal']);
    const r = await post('/api/lab/runs', { scenario: 'live-p2p-nt2' });
    expect(r.status).toBe(409);
    expect(String(r.body.error)).toMatch(/lab p2p-mini-webtest is down/);
    expect((await post('/api/lab/runs', { scenario: 'nope' })).status).toBe(404);
    expect((await post('/api/lab/runs', { scenario: 'live-p2p-nt2', seed: 1 })).status).toBe(400);
  });

  it('follows a run that `hatwin live` publishes: its partial trace, sorted, in wall-clock time, to its end', async () => {
    // A stand-in for the hatwin live process (the record names a live process).
    holder = spawn('sleep', ['120'], { stdio: 'ignore' });
    await new Promise((r) => holder!.once('spawn', r));
    const { liveRunsDir, partialTraceOf } = await import('../run/live.ts');
    const { procRef } = await import('../adapters/lab/proc.ts');
    const { loadLab } = await import('../adapters/lab/schema.ts');
    const lab = loadLab(labFile);
    const traceFile = join(labOut, 'cli-live', 'nt2.ndjson');
    mkdirSync(join(labOut, 'cli-live'), { recursive: true });
    const partial = partialTraceOf(traceFile);
    const epochUs = Math.round((performance.timeOrigin + performance.now()) * 1000) - 10_000_000; // 10 s ago
    const line = (e: object) => `${JSON.stringify(e)}\n`;
    writeFileSync(partial, line({ t: 1_000_000, kind: 'host.state', subject: 'FTP', data: { state: 'on' } }) + line({ t: 3_000_000, kind: 'fault', subject: 'FTP', data: { fault: 'Nt2' } }) + line({ t: 2_000_000, kind: 'agent.start', subject: 'Mail', data: {} }));
    const record = {
      runId: 'rtest1', lab: lab.name, labFile, scenario: 'live-p2p-nt2', scenarioFile: join(process.cwd(), 'experiments/scenarios/live-p2p-nt2.yaml'),
      traceFile, partialFile: partial, epochUs, untilUs: 45_000_000, proc: procRef(holder.pid!, 'hatwin live'), startedAt: new Date().toISOString(), state: 'running',
    };
    mkdirSync(liveRunsDir(lab), { recursive: true });
    writeFileSync(join(liveRunsDir(lab), 'rtest1.json'), JSON.stringify(record));
    // Followed within a second or two, as a live run of the web view.
    let run: RunInfo | undefined;
    for (let i = 0; i < 100 && !run; i++) {
      run = ((await (await fetch(at('/api/runs'))).json()) as RunInfo[]).find((r) => r.kind === 'live');
      if (!run) await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({ kind: 'live', scenario: 'live-p2p-nt2', state: 'running', live: { runId: 'rtest1', startedBy: 'cli', pid: holder.pid } });
    const detail = (await (await fetch(at(`/api/runs/${run!.id}`))).json()) as RunDetail;
    expect(detail.topology?.lights).toBe('probes');
    expect(detail.topology?.vips.find((v) => v.name === 'vip-ftp')?.address).toBe('10.77.0.103');
    // Published sorted by time; the run's clock is the wall clock since the epoch, 2 s behind.
    const trace = async () => (await (await fetch(at(`/api/runs/${run!.id}/trace`))).text()).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { t: number; kind: string });
    let evs = await trace();
    for (let i = 0; i < 50 && evs.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      evs = await trace();
    }
    expect(evs.map((e) => e.kind)).toEqual(['host.state', 'agent.start', 'fault']);
    const now = ((await (await fetch(at(`/api/runs/${run!.id}`))).json()) as RunInfo).nowUs;
    expect(now).toBeGreaterThan(7_000_000);
    expect(now).toBeLessThan(30_000_000);
    // Pacing is not for live runs; stopping one that hatwin live runs is its business; faults are checked against the lab.
    expect((await post(`/api/runs/${run!.id}/pause`, {})).status).toBe(409);
    const stop = await post(`/api/runs/${run!.id}/stop`, {});
    expect(stop.status).toBe(409);
    expect(String(stop.body.error)).toMatch(/started by `hatwin live` \(pid \d+\): stop it there/);
    const badFault = await post(`/api/runs/${run!.id}/faults`, { kind: 'Nt2', target: 'FTPb' });
    expect(badFault.status).toBe(400);
    expect(String(badFault.body.error)).toMatch(/no host "FTPb" in lab p2p-mini-webtest/);
    expect((await post(`/api/runs/${run!.id}/faults`, { kind: 'vm-crash', target: 'FTP' })).status).toBe(400);
    // More lines (one late), then the end: everything is published, in order, and the run is done.
    writeFileSync(partial, line({ t: 4_000_000, kind: 'trouble.detected', subject: 'FTP', data: { manager: 'Mail', detail: 'network' } }) + line({ t: 6_000_000, kind: 'function.recovered', subject: 'FTP', data: { manager: 'Mail', vm: 'FTPb', host: 'Mail' } }), { flag: 'a' });
    writeFileSync(join(liveRunsDir(lab), 'rtest1.json'), JSON.stringify({ ...record, state: 'done', endedAt: new Date().toISOString(), events: 5 }));
    const done = await waitFor(run!.id, (r) => r.state === 'done', labServer.url);
    expect(done.error).toBeNull();
    evs = await trace();
    expect(evs.map((e) => e.kind)).toEqual(['host.state', 'agent.start', 'fault', 'trouble.detected', 'function.recovered']);
    const lab2 = (await (await fetch(at('/api/lab'))).json()) as LabInfo;
    expect(lab2.runs[0]).toMatchObject({ runId: 'rtest1', state: 'done', webRun: run!.id, startedBy: 'cli' });
    // The partial trace is not offered as a saved trace.
    expect(((await (await fetch(at('/api/traces'))).json()) as SavedTrace[]).map((t) => t.path).some((p) => p.includes('partial'))).toBe(false);
    // Its events fed the metrics.
    const metrics = await (await fetch(at('/metrics'))).text();
    expect(metrics).toMatch(/^hatwin_detections_total\{target="FTP"\} 1$/m);
  }, 30_000);

  it('lists hatwin conform results and gives one with both traces', async () => {
    const dir = join(labOut, 'conform');
    mkdirSync(dir, { recursive: true });
    const s = readScenario('experiments/scenarios/live-p2p-nt2.yaml');
    const sim = buildSimulation(s, { seed: 1 });
    sim.run(s.until!);
    const rows = [{ metric: 'function recovery s (detection -> backup serving)', server: 'FTP', live: 2.16, sim: 1.653, errPct: -23.5 }];
    writeFileSync(join(dir, 'conform-live-p2p-nt2.json'), JSON.stringify({ scenario: 'live-p2p-nt2', lab: 'p2p-mini', params: 'x', rows }));
    writeFileSync(join(dir, 'conform-live-p2p-nt2.sim.ndjson'), toNdjson(sim.events));
    writeFileSync(join(dir, 'conform-live-p2p-nt2.live.ndjson'), toNdjson(sim.events.map((e) => ({ ...e, t: e.t + 500_000 }))));
    const list = (await (await fetch(at('/api/conform'))).json()) as ConformEntry[];
    expect(list).toEqual([expect.objectContaining({ path: 'conform/conform-live-p2p-nt2.json', scenario: 'live-p2p-nt2', lab: 'p2p-mini', hasTraces: true })]);
    const one = (await (await fetch(at('/api/conform/conform/conform-live-p2p-nt2.json'))).json()) as ConformDetail;
    expect(one.rows).toEqual(rows);
    expect(one.sim).toHaveLength(sim.events.length);
    expect(one.live[0].t).toBe(sim.events[0].t + 500_000);
    expect((await fetch(at('/api/conform/conform/nope.json'))).status).toBe(400);
    expect((await fetch(at('/api/conform/conform/conform-nope.json'))).status).toBe(404);
    expect((await fetch(at('/api/conform/..%2Fconform-x.json'))).status).toBe(400);
  });
});
