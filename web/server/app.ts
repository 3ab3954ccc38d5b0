// The web view's HTTP API (express): scenarios, runs (start, pause, resume, step, speed, faults),
// traces (NDJSON), the live event stream (Server-Sent Events) and replays of saved traces.
// Every bad request gets a 4xx with a JSON body {error: "what was wrong"}.
import express, { type NextFunction, type Request, type Response } from 'express';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { buildSimulation } from '../../run/sim.ts';
import { toNdjson } from '../../trace/ndjson.ts';
import { ScenarioError } from '../../sim/scenario/load.ts';
import type { FaultSpec, Scenario } from '../../sim/scenario/schema.ts';
import { parseNdjson, recoveries, type TraceLine } from '../../trace/metrics.ts';
import { RunError, RunManager, type Run, type RunMessage } from './runs.ts';
import { DEFAULT_UNTIL_US, ScenarioCatalog, topologyOf } from './scenarios.ts';
import { describeIssues, parseFault, replayQuerySchema, replaySchema, speedBodySchema, startRunSchema, stepSchema, type Issue } from './requests.ts';
import { requireToken, guardHost, type AccessPolicy } from './access.ts';
import type { SavedTrace } from '../shared/api.ts';

export interface AppOptions {
  catalog: ScenarioCatalog;
  runs: RunManager;
  /** Saved traces live here (finished runs in web-runs/, `hatwin run` traces, ...). */
  outDir: string;
  /** Built front end (index.html and assets), or null to serve none. */
  staticDir: string | null;
  access: AccessPolicy;
  /** Largest uploaded trace. */
  uploadLimit?: string;
}

/** A 4xx with a message for the caller. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly issues?: Issue[]) {
    super(message);
  }
}

const bad = (issues: readonly Issue[], what: string) => new HttpError(400, `${what}: ${describeIssues(issues)}`, [...issues]);

export function createApp(o: AppOptions): express.Express {
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

  app.get('/api/runs/:id/trace', (req, res) => {
    const r = run(req);
    res.type('application/x-ndjson').send(toNdjson(r.events));
  });

  app.get('/api/runs/:id/events', (req, res) => {
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
    // Past events, then live ones: both in this same synchronous turn, so none is lost or doubled.
    res.write('retry: 2000\n\n');
    const past = r.events;
    for (let i = from; i < past.length; i += 2_000) {
      const msgs: RunMessage[] = [];
      for (let j = i; j < Math.min(past.length, i + 2_000); j++) msgs.push({ type: 'trace', index: j, event: past[j] });
      write(msgs);
    }
    write([{ type: 'status', status: r.info() }]);
    const unsubscribe = r.subscribe(write);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      unsubscribe();
    });
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

  app.post('/api/runs/:id/step', (req, res) => {
    const r = run(req);
    const p = stepSchema.safeParse(body(req));
    if (!p.success) throw bad(p.error.issues, 'bad step request');
    r.step(p.data.by);
    res.json(r.info());
  });

  app.post('/api/runs/:id/speed', (req, res) => {
    const r = run(req);
    const p = speedBodySchema.safeParse(body(req));
    if (!p.success) throw bad(p.error.issues, 'bad speed request');
    r.setSpeed(p.data.speed);
    res.json(r.info());
  });

  app.post('/api/runs/:id/faults', (req, res) => {
    const r = run(req);
    const p = parseFault(body(req));
    if (!p.success) throw bad(p.error.issues as Issue[], 'bad fault');
    const sim = r.sim;
    if (!sim) throw new HttpError(409, `run ${r.id} is a replay of a saved trace: faults can only be injected into sim runs`);
    const problems = checkFault(p.data as FaultSpec, sim.scenario);
    if (problems.length) throw bad(problems, 'bad fault');
    const atUs = r.injectFault(p.data as FaultSpec);
    const { at: _at, ...fault } = p.data;
    res.status(201).json({ atUs, fault, run: r.info() });
  });

  app.get('/api/traces', (_req, res) => {
    res.json(listTraces(o.outDir));
  });

  // Replay of a saved trace: JSON {path} (under the out directory), or the NDJSON itself.
  app.post('/api/replays', express.text({ type: ['application/x-ndjson', 'application/ndjson', 'text/plain'], limit: o.uploadLimit ?? '200mb' }), (req, res) => {
    let events: TraceLine[];
    let traceFile: string | null = null;
    let opts: { scenario?: string; speed: 'max' | number; paused: boolean };
    if (typeof req.body === 'string') {
      const q = replayQuerySchema.safeParse(req.query);
      if (!q.success) throw bad(q.error.issues, 'bad replay query');
      opts = q.data;
      events = parseTrace(req.body, 'uploaded trace');
    } else {
      const p = replaySchema.safeParse(body(req));
      if (!p.success) throw bad(p.error.issues, 'bad replay request');
      opts = p.data;
      const file = resolveSavedTrace(o.outDir, p.data.path);
      traceFile = relative(o.outDir, file);
      events = parseTrace(readFileSync(file, 'utf8'), traceFile);
    }
    const scenario = opts.scenario !== undefined ? scenarioOr404(opts.scenario).scenario : null;
    const lastUs = events.length ? events[events.length - 1].t : 0;
    const untilUs = Math.max(lastUs, scenario?.until ?? 0);
    const r = o.runs.startReplay(events, {
      scenario: opts.scenario ?? null, seed: null, speed: opts.speed, untilUs, paused: opts.paused,
      topology: scenario ? topologyOf(scenario, untilUs) : null, traceFile,
    });
    res.status(201).json(r.info());
  });

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

function parseTrace(text: string, what: string): TraceLine[] {
  try {
    const events = parseNdjson(text);
    if (events.length === 0) throw new Error('no events');
    for (let i = 1; i < events.length; i++) {
      if (events[i].t < events[i - 1].t) throw new Error(`trace line ${i + 1}: time ${events[i].t} us goes back (previous line: ${events[i - 1].t} us)`);
    }
    return events;
  } catch (e) {
    throw new HttpError(400, `${what} is not a hatwin trace: ${(e as Error).message}`);
  }
}

/** The fault must name what the run's scenario has (the schema alone cannot know). */
export function checkFault(f: FaultSpec, s: Scenario): Issue[] {
  const hosts = new Set(s.hosts.map((h) => h.name));
  const vms = new Set(s.vms.map((v) => v.name));
  const nodes = [...hosts, ...vms];
  const out: Issue[] = [];
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


/** NDJSON traces under the out directory (two levels deep), newest first. */
export function listTraces(outDir: string): SavedTrace[] {
  const out: SavedTrace[] = [];
  const walk = (dir: string, depth: number) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 2) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.ndjson')) {
        const st = statSync(p);
        out.push({ path: relative(outDir, p).split(sep).join('/'), bytes: st.size, modified: st.mtime.toISOString() });
      }
    }
  };
  walk(outDir, 0);
  return out.sort((a, b) => b.modified.localeCompare(a.modified));
}

/** A saved trace's path, which must stay inside the out directory. */
export function resolveSavedTrace(outDir: string, path: string): string {
  const rel = path.replace(/^\.?\/?out\//, '');
  if (isAbsolute(rel)) throw new HttpError(400, `path "${path}" must be relative to the out directory (GET /api/traces lists the saved traces)`);
  const base = realpathSync(resolve(outDir));
  const file = resolve(base, rel);
  if (!existsSync(file)) throw new HttpError(404, `no saved trace "${path}" (GET /api/traces lists them)`);
  const real = realpathSync(file);
  if (real !== base && !real.startsWith(base + sep)) throw new HttpError(400, `path "${path}" leaves the out directory`);
  if (!statSync(real).isFile()) throw new HttpError(400, `path "${path}" is not a file`);
  return real;
}
