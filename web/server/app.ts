// The web view's HTTP API (express): scenarios, runs (start, pause, resume, step, speed, faults),
// traces (NDJSON), the live event stream (Server-Sent Events) and replays of saved traces.
// Every bad request gets a 4xx with a JSON body {error: "what was wrong"}.
import express, { type NextFunction, type Request, type Response } from 'express';
import { readFile, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { buildSimulation } from '../../run/sim.ts';
import { ndjsonLine } from '../../trace/ndjson.ts';
import { ScenarioError } from '../../sim/scenario/load.ts';
import type { FaultSpec, Scenario } from '../../sim/scenario/schema.ts';
import { recoveries, type TraceLine } from '../../trace/metrics.ts';
import { RunError, RunManager, fmtTime, type Run, type RunMessage } from './runs.ts';
import { DEFAULT_UNTIL_US, ScenarioCatalog, topologyOf } from './scenarios.ts';
import { describeIssues, parseFault, replayQuerySchema, replaySchema, speedBodySchema, startRunSchema, stepSchema, type Issue } from './requests.ts';
import { requireToken, guardHost, type AccessPolicy } from './access.ts';
import { fmtBytes, MAX_UNTIL_TEXT, MAX_UNTIL_US, writable, yieldToOthers, type Limits } from './limits.ts';
import { listTraces, parseTrace, resolveSavedTrace, SavedTraceError, TraceError } from './traces.ts';
import type { LabWatch } from './live.ts';
import type { TraceMetrics } from '../../run/metrics.ts';
import { ConformError, listConform, readConform } from './conform.ts';
import { labFaultSchema, startLiveSchema } from './requests.ts';
import { LightsBook } from './lights.ts';
import { vmRoutes } from './vms.ts';

export { listTraces, resolveSavedTrace };

export interface AppOptions {
  catalog: ScenarioCatalog;
  runs: RunManager;
  /** Saved traces live here (finished runs in web-runs/, `hatwin run` traces, ...). */
  outDir: string;
  /** Built front end (index.html and assets), or null to serve none. */
  staticDir: string | null;
  access: AccessPolicy;
  /** The lab of `hatwin serve --lab`, or null. */
  lab?: LabWatch | null;
  /** GET /metrics (Prometheus text format), or none. */
  metrics?: TraceMetrics | null;
}

/** Events sent per write (SSE backlog, trace download) before yielding to other requests. */
const EVENTS_PER_WRITE = 2_000;
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'text/plain'];

/** A 4xx with a message for the caller. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly issues?: Issue[]) {
    super(message);
  }
}

const bad = (issues: readonly Issue[], what: string) => new HttpError(400, `${what}: ${describeIssues(issues)}`, [...issues]);

export function createApp(o: AppOptions): express.Express {
  const limits: Limits = o.runs.limits;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(guardHost(o.access));
  app.use('/api', requireToken(o.access));
  app.use('/api', express.json({ limit: '1mb' }));

  const run = (req: Request): Run => {
    const r = o.runs.get(String(req.params.id));
    if (!r) throw new HttpError(404, `no run "${req.params.id}" (GET /api/runs lists them)`);
    return r;
  };
  const body = (req: Request): unknown => {
    if (req.body === undefined) {
      if (req.headers['content-length'] && req.headers['content-length'] !== '0' && !req.is('application/json')) {
        throw new HttpError(415, `send JSON with "Content-Type: application/json" (got ${req.headers['content-type'] ?? 'no content type'})`);
      }
      return {};
    }
    return req.body;
  };
  const scenarioOr404 = (id: string): { scenario: Scenario; file: string } => {
    let found: { scenario: Scenario; file: string } | null;
    try {
      found = o.catalog.load(id);
    } catch (e) {
      if (e instanceof ScenarioError) throw new HttpError(422, `scenario "${id}" does not validate: ${e.message}`);
      throw e;
    }
    if (!found) throw new HttpError(404, `no scenario "${id}" (known: ${o.catalog.ids().join(', ')})`);
    return found;
  };

  app.get('/api/health', (_req, res) => {
    res.json({ ok: true });
  });

  // Prometheus: what the runs of this server did (run/metrics.ts, fed from their trace events).
  app.get('/metrics', async (_req, res) => {
    if (!o.metrics) throw new HttpError(404, 'this server exports no metrics');
    const text = await o.metrics.text();
    res.status(200).type(o.metrics.contentType).send(text);
  });

  // ---------- the live lab (hatwin serve --lab) ----------

  const lab = (): LabWatch => {
    if (!o.lab) throw new HttpError(404, 'this server follows no lab: start it with `hatwin serve --lab LAB.yaml`');
    return o.lab;
  };

  // null when the server follows no lab (the page then shows no live controls).
  app.get('/api/lab', (_req, res) => {
    res.json(o.lab ? o.lab.info() : null);
  });

  app.post('/api/lab/runs', (req, res) => {
    const w = lab();
    const p = startLiveSchema.safeParse(body(req));
    if (!p.success) throw bad(p.error.issues, 'bad live run request');
    const { file } = scenarioOr404(p.data.scenario);
    const r = w.startRun(p.data.scenario);
    res.status(201).json({ ...r.info(), file });
  });

  app.post('/api/runs/:id/stop', (req, res) => {
    const r = run(req);
    if (r.kind !== 'live') throw new HttpError(409, `run ${r.id} is a ${r.kind} run: only live runs are stopped (pause a sim run)`);
    lab().stopRun(r);
    res.json(r.info());
  });

  // VM control on the lab's libvirt and in sim runs' worlds (web/server/vms.ts).
  vmRoutes(app, { lab, run, httpError: (status, message) => new HttpError(status, message) });

  // ---------- sim and live side by side (hatwin conform) ----------

  app.get('/api/conform', (_req, res) => {
    res.json(listConform(o.outDir));
  });

  app.get('/api/conform/*path', async (req, res) => {
    const path = ([] as string[]).concat(req.params.path as unknown as string | string[]).join('/');
    try {
      res.json(await readConform(o.outDir, path, limits.savedTraceBytes));
    } catch (e) {
      if (e instanceof ConformError) throw new HttpError(e.status, e.message);
      throw e;
    }
  });

  app.get('/api/scenarios', (_req, res) => {
    res.json(o.catalog.list());
  });

  // Ids may hold a slash (golden/<case>): sent as is or encoded.
  app.get('/api/scenarios/*id', (req, res) => {
    const id = ([] as string[]).concat(req.params.id as unknown as string | string[]).join('/');
    const { scenario, file } = scenarioOr404(id);
    const entry = o.catalog.list().find((e) => e.id === id)!;
    res.json({ ...entry, file, topology: topologyOf(scenario, scenario.until ?? DEFAULT_UNTIL_US) });
  });

  app.get('/api/runs', (_req, res) => {
    res.json(o.runs.list());
  });

  app.post('/api/runs', (req, res) => {
    const p = startRunSchema.safeParse(body(req));
    if (!p.success) throw bad(p.error.issues, 'bad run request');
    const { scenario, file } = scenarioOr404(p.data.scenario);
    const seed = p.data.seed ?? scenario.seed ?? 1;
    const untilUs = p.data.until ?? scenario.until ?? DEFAULT_UNTIL_US;
    if (untilUs <= 0) throw new HttpError(400, 'bad run request: until must be more than 0 s');
    if (untilUs > MAX_UNTIL_US) {
      throw new HttpError(400, `bad run request: scenario "${p.data.scenario}" runs until ${fmtTime(untilUs)}, longer than the web view runs (${MAX_UNTIL_TEXT}): give a shorter "until"`);
    }
    o.runs.assertRoom();
    const sim = buildSimulation(scenario, { seed });
    const r = o.runs.startSim(sim, {
      scenario: p.data.scenario, seed, speed: p.data.speed, untilUs, paused: p.data.paused, topology: topologyOf(scenario, untilUs),
    });
    res.status(201).json({ ...r.info(), file });
  });

  app.get('/api/runs/:id', (req, res) => {
    const r = run(req);
    const info = r.info();
    res.json({ ...info, topology: r.topology, recoveries: recoveries(r.events) });
  });

  // The events so far (they only grow: the first n never change), written in slices.
  app.get('/api/runs/:id/trace', async (req, res) => {
    const r = run(req);
    const events = r.events;
    const n = events.length;
    let closed = false;
    res.on('close', () => (closed = true));
    res.status(200).type('application/x-ndjson');
    for (let i = 0; i < n && !closed; i += EVENTS_PER_WRITE) {
      let text = '';
      for (let j = i; j < Math.min(n, i + EVENTS_PER_WRITE); j++) text += ndjsonLine(events[j]);
      if (!res.write(text)) await writable(res);
      else if (i + EVENTS_PER_WRITE < n) await yieldToOthers();
    }
    res.end();
  });

  app.get('/api/runs/:id/events', async (req, res) => {
    const r = run(req);
    const last = req.get('last-event-id') ?? (typeof req.query.from === 'string' ? String(Number(req.query.from) - 1) : undefined);
    const from = last !== undefined && /^-?\d+$/.test(last) ? Math.max(0, Number(last) + 1) : 0;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const write = (msgs: RunMessage[]) => {
      let out = '';
      for (const m of msgs) {
        if (m.type === 'trace') out += `id: ${m.index}\nevent: trace\ndata: ${JSON.stringify(m.event)}\n\n`;
        else out += `event: status\ndata: ${JSON.stringify(m.status)}\n\n`;
      }
      if (out) res.write(out);
    };
    // Past events, then live ones. The listener is registered in the same synchronous turn as
    // the count of past events is taken (outside an advance every event so far has been sent to
    // listeners), so live messages start at index n: none is lost or doubled. The past ones go
    // out in slices; live messages wait in `held` meanwhile, then the current status.
    res.write('retry: 2000\n\n');
    const past = r.events;
    const n = past.length;
    let held: RunMessage[][] | null = [];
    let closed = false;
    const unsubscribe = r.subscribe((msgs) => (held ? held.push(msgs) : write(msgs)));
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      closed = true;
      clearInterval(ping);
      unsubscribe();
    });
    for (let i = from; i < n && !closed; i += EVENTS_PER_WRITE) {
      const msgs: RunMessage[] = [];
      for (let j = i; j < Math.min(n, i + EVENTS_PER_WRITE); j++) msgs.push({ type: 'trace', index: j, event: past[j] });
      write(msgs);
      if (i + EVENTS_PER_WRITE < n) await yieldToOthers();
    }
    if (closed) return;
    for (const msgs of held) write(msgs);
    held = null;
    write([{ type: 'status', status: r.info() }]);
  });

  // Health lights (web/shared/lights.ts): the run's lights now, by level; the changes of one
  // light (?object=svc:Web1/httpd) or of all of them, newest last (?limit=N, default 1000).
  const lightsBook = new LightsBook();
  app.get('/api/runs/:id/lights', async (req, res) => {
    res.json(await lightsBook.lights(run(req)));
  });

  app.get('/api/runs/:id/lights/history', async (req, res) => {
    const r = run(req);
    const object = typeof req.query.object === 'string' ? req.query.object : null;
    if (object !== null && !/^(svc|net|vip|phys|vm):[^\s]{1,300}$/.test(object)) {
      throw new HttpError(400, `bad object "${object.slice(0, 80)}": a light id such as svc:Web1/httpd, net:Web1, vip:vip-web1, phys:Web1 or vm:FTPb (GET /api/runs/${r.id}/lights lists them)`);
    }
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '1000';
    if (!/^\d{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 100_000) throw new HttpError(400, `bad limit "${limitText.slice(0, 20)}": a whole number from 1 to 100000`);
    if (object !== null) {
      const now = await lightsBook.lights(r);
      if (!Object.values(now.levels).some((list) => list.some((o) => o.id === object))) throw new HttpError(404, `run ${r.id} has no light "${object}" (GET /api/runs/${r.id}/lights lists them)`);
    }
    res.json(await lightsBook.history(r, object, Number(limitText)));
  });

  app.post('/api/runs/:id/pause', (req, res) => {
    const r = run(req);
    r.pause();
    res.json(r.info());
  });

  app.post('/api/runs/:id/resume', (req, res) => {
    const r = run(req);
    r.resume();
    res.json(r.info());
  });

  // Answered when the step is done (it runs in slices: other requests are served meanwhile), or
  // stopped early by pause, resume, the run's end, or this request's client going away.
  app.post('/api/runs/:id/step', async (req, res) => {
    const r = run(req);
    const p = stepSchema.safeParse(body(req));
    if (!p.success) throw bad(p.error.issues, 'bad step request');
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    await r.step(p.data.by, gone.signal);
    res.json(r.info());
  });

  app.post('/api/runs/:id/speed', (req, res) => {
    const r = run(req);
    const p = speedBodySchema.safeParse(body(req));
    if (!p.success) throw bad(p.error.issues, 'bad speed request');
    r.setSpeed(p.data.speed);
    res.json(r.info());
  });

  app.post('/api/runs/:id/faults', async (req, res) => {
    const r = run(req);
    if (r.kind === 'live') {
      const w = lab();
      const p = labFaultSchema.safeParse(body(req));
      if (!p.success) throw bad(p.error.issues, 'bad lab fault');
      const problems = checkLabFault(p.data, w);
      if (problems.length) throw bad(problems, 'bad lab fault');
      if (!r.live) throw new HttpError(409, `run ${r.id} has ended; it cannot take a fault`);
      const { kind, target, service, peer } = p.data;
      let answer: { atUs: number; message: string };
      try {
        answer = await w.injectFault(r, target, kind, { ...(service ? { service } : {}), ...(peer ? { peer } : {}) });
      } catch (e) {
        if (e instanceof RunError) throw e;
        throw new HttpError(502, `the lab refused the fault: ${(e as Error).message}`);
      }
      res.status(201).json({ atUs: answer.atUs, fault: p.data, message: answer.message, run: r.info() });
      return;
    }
    const p = parseFault(body(req));
    if (!p.success) throw bad(p.error.issues as Issue[], 'bad fault');
    const sim = r.sim;
    if (!sim) throw new HttpError(409, `run ${r.id} is a replay of a saved trace: faults can only be injected into sim runs`);
    const problems = checkFault(p.data as FaultSpec, sim.scenario);
    if (problems.length) throw bad(problems, 'bad fault');
    const atUs = await r.injectFault(p.data as FaultSpec);
    const { at: _at, ...fault } = p.data;
    res.status(201).json({ atUs, fault, run: r.info() });
  });

  app.get('/api/traces', (_req, res) => {
    res.json(listTraces(o.outDir));
  });

  // Replay of a saved trace: JSON {path} (under the out directory), or the NDJSON itself (at
  // most limits.uploadBytes, counted as it arrives). Parsed and checked in slices.
  app.post('/api/replays', async (req, res) => {
    let events: TraceLine[];
    let traceFile: string | null = null;
    let opts: { scenario?: string; speed: 'max' | number; paused: boolean };
    if (req.is(NDJSON_TYPES)) {
      const q = replayQuerySchema.safeParse(req.query);
      if (!q.success) throw bad(q.error.issues, 'bad replay query');
      opts = q.data;
      o.runs.assertRoom();
      const text = await readUpload(req, limits.uploadBytes);
      events = await traceOf(text, 'uploaded trace');
    } else {
      const p = replaySchema.safeParse(body(req));
      if (!p.success) throw bad(p.error.issues, 'bad replay request');
      opts = p.data;
      let file: string;
      try {
        file = resolveSavedTrace(o.outDir, p.data.path);
      } catch (e) {
        if (e instanceof SavedTraceError) throw new HttpError(e.reason === 'lexical' ? 400 : 404, e.message);
        throw e;
      }
      o.runs.assertRoom();
      const size = (await stat(file)).size;
      if (size > limits.savedTraceBytes) {
        throw new HttpError(413, `saved trace "${p.data.path}" has ${fmtBytes(size)}; the web view replays at most ${fmtBytes(limits.savedTraceBytes)}`);
      }
      traceFile = relative(o.outDir, file);
      events = await traceOf(await readFile(file, 'utf8'), traceFile);
    }
    const scenario = opts.scenario !== undefined ? scenarioOr404(opts.scenario).scenario : null;
    const lastUs = events[events.length - 1].t;
    const untilUs = Math.max(lastUs, scenario?.until ?? 0);
    const r = o.runs.startReplay(events, {
      scenario: opts.scenario ?? null, seed: null, speed: opts.speed, untilUs, paused: opts.paused,
      topology: scenario ? topologyOf(scenario, untilUs) : null, traceFile,
    });
    res.status(201).json(r.info());
  });

  /** The events of a trace text, or 400 with the problems by line (413 when there are too many). */
  const traceOf = async (text: string, what: string): Promise<TraceLine[]> => {
    let events: TraceLine[];
    try {
      events = await parseTrace(text, what);
    } catch (e) {
      if (e instanceof TraceError) {
        throw new HttpError(400, e.message, e.problems.map((p) => ({ path: [`line ${p.line}`], message: p.message })));
      }
      throw e;
    }
    if (events.length > limits.runEvents) throw new HttpError(413, `${what} has ${events.length} events; the web view replays at most ${limits.runEvents}`);
    return events;
  };

  app.use('/api', (req, _res, next) => {
    next(new HttpError(404, `no API route ${req.method} ${req.originalUrl}`));
  });

  if (o.staticDir) app.use(express.static(o.staticDir, { index: 'index.html' }));

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError || err instanceof RunError) {
      res.status(err.status).json({ error: err.message, ...(err instanceof HttpError && err.issues ? { issues: err.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) } : {}) });
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e && e.type === 'entity.parse.failed') {
      res.status(400).json({ error: `body is not valid JSON: ${e.message}` });
      return;
    }
    if (e && e.type === 'entity.too.large') {
      res.status(413).json({ error: `body too large: ${e.message}` });
      return;
    }
    if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? 'bad request' });
      return;
    }
    console.error(err);
    res.status(500).json({ error: `internal error: ${(err as Error)?.message ?? String(err)}` });
  });
  return app;
}

/** Bytes of a refused upload read and thrown away (so the client gets its 413) before the connection is cut. */
const DRAIN_BYTES = 1024 * 1024 * 1024;

/**
 * The request body as text, at most `limit` bytes. Refused with 413 by its Content-Length before
 * anything is read, or as soon as the bytes received pass the limit; the rest of a refused body is
 * read and dropped (nothing kept) so the client gets the answer, up to DRAIN_BYTES.
 */
function readUpload(req: Request, limit: number): Promise<string> {
  const tooLarge = (what: string) => new HttpError(413, `uploaded trace too large (${what}): the web view takes at most ${fmtBytes(limit)}; save it under the out directory and replay it by path, or cut it`);
  const drain = () => {
    let drained = 0;
    req.on('data', (c: Buffer) => {
      drained += c.length;
      if (drained > DRAIN_BYTES) req.socket.destroy();
    });
    req.resume();
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    drain();
    return Promise.reject(tooLarge(`Content-Length ${fmtBytes(declared)}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (e: Error | null) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      if (e) reject(e);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= limit) return void chunks.push(c);
      chunks.length = 0;
      settle(tooLarge(`over ${fmtBytes(limit)} received`));
      drain();
    };
    req.on('data', onData);
    req.on('end', () => settle(null));
    req.on('error', (e) => settle(e));
    req.on('close', () => settle(new HttpError(400, 'the upload was cut off before its end')));
  });
}

/** A lab fault must name the lab's host, its service, a known peer. */
function checkLabFault(f: { kind: string; target: string; service?: string; peer?: string }, w: LabWatch): Issue[] {
  const out: Issue[] = [];
  const h = w.lab.hosts.find((x) => x.name === f.target);
  if (!h) out.push({ path: ['target'], message: `no host "${f.target}" in lab ${w.lab.name} (hosts: ${w.lab.hosts.map((x) => x.name).join(', ')})` });
  if (h && f.service !== undefined && !h.services.some((s) => s.name === f.service)) {
    out.push({ path: ['service'], message: `no service "${f.service}" on ${h.name} (services: ${h.services.map((s) => s.name).join(', ') || 'none'})` });
  }
  if (f.service !== undefined && f.kind !== 'St1' && f.kind !== 'St2') out.push({ path: ['service'], message: `only St1 and St2 take a service, not ${f.kind}` });
  if (f.peer !== undefined) {
    const known = [...w.lab.hosts.map((x) => x.name), ...w.lab.backupVms.map((v) => v.name), w.lab.client.name, w.lab.etcd.name];
    if (f.kind !== 'partition-oneway') out.push({ path: ['peer'], message: `only partition-oneway takes a peer, not ${f.kind}` });
    else if (!known.includes(f.peer)) out.push({ path: ['peer'], message: `no host, VM, client or etcd "${f.peer}" in lab ${w.lab.name}` });
  }
  return out;
}

/** The fault must name what the run's scenario has (the schema alone cannot know). */
export function checkFault(f: FaultSpec, s: Scenario): Issue[] {
  const hosts = new Set(s.hosts.map((h) => h.name));
  const vms = new Set(s.vms.map((v) => v.name));
  const nodes = [...hosts, ...vms];
  const out: Issue[] = [];
  if (f.duration !== undefined && !(f.duration <= MAX_UNTIL_US)) {
    out.push({ path: ['duration'], message: `at most ${MAX_UNTIL_TEXT} (got ${fmtTime(f.duration)})` });
  }
  if ('target' in f) {
    const hostOnly = f.kind === 'Nt1' || f.kind === 'Nt2' || f.kind.startsWith('host-') || f.kind === 'pause' || f.kind === 'link-down';
    if (f.kind === 'vm-crash' && !vms.has(f.target)) {
      out.push({ path: ['target'], message: `no VM "${f.target}" (VMs: ${[...vms].join(', ') || 'none'})` });
    } else if (hostOnly && !hosts.has(f.target)) {
      out.push({ path: ['target'], message: `${f.kind} needs a host: no host "${f.target}" (hosts: ${[...hosts].join(', ')})` });
    } else if (!hosts.has(f.target) && !vms.has(f.target)) {
      out.push({ path: ['target'], message: `no host or VM "${f.target}" (known: ${nodes.join(', ')})` });
    }
    if ((f.kind === 'St1' || f.kind === 'St2') && out.length === 0) {
      const services = [...s.hosts, ...s.vms].find((n) => n.name === f.target)!.services.map((x) => x.name);
      if (f.service !== undefined && !services.includes(f.service)) {
        out.push({ path: ['service'], message: `no service "${f.service}" on ${f.target} (services: ${services.join(', ') || 'none'})` });
      } else if (services.length === 0) {
        out.push({ path: ['target'], message: `${f.target} runs no service for ${f.kind} to stop` });
      }
    }
  } else {
    const known = new Set([...nodes, ...s.clients.map((c) => c.name)]);
    for (const side of ['a', 'b'] as const) {
      f[side].forEach((n, i) => {
        if (!known.has(n)) out.push({ path: [side, i], message: `no host, VM or client "${n}"` });
      });
    }
  }
  return out;
}


