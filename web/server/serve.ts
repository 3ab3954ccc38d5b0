// `hatwin serve`: the web view's server. Binds 127.0.0.1 by default; bound to anything but
// exactly 127.0.0.1, ::1 or localhost it requires a bearer token for state-changing calls
// (generated and printed, or read from --token-file).
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.ts';
import { buildPaths, ensureClientBuilt } from './build.ts';
import { generateToken, isLoopbackHost, isTokenFreeBind, readTokenFile } from './access.ts';
import type { Limits } from './limits.ts';
import { RunManager } from './runs.ts';
import { ScenarioCatalog } from './scenarios.ts';
import { LabWatch } from './live.ts';
import { TraceMetrics } from '../../run/metrics.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServeOptions {
  /** 0: any free port. Default 8080. */
  port?: number;
  host?: string;
  /** Read the bearer token from this file (first line) instead of generating one. */
  tokenFile?: string;
  /** Saved traces: finished runs go to <outDir>/web-runs/; replays read from here. Default out/. */
  outDir?: string;
  /** Build (if needed) and serve the front end. Default true. */
  frontEnd?: boolean;
  root?: string;
  catalog?: ScenarioCatalog;
  log?: (line: string) => void;
  /** Bounds of work, runs, traces and uploads (web/server/limits.ts); default DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /** Follow this lab (`hatwin serve --lab LAB.yaml`): its live runs, started here or by `hatwin live`. */
  lab?: string;
  /** Agents of live runs started from the page serve Prometheus metrics on this port (their lab addresses). */
  agentMetricsPort?: number;
  /** More scenario folders (*.yaml), listed after experiments/scenarios and the golden cases. */
  scenarioDirs?: string[];
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  /** The token state-changing calls need, or null (loopback without --token-file). */
  token: string | null;
  /** The server's runs (tests add runs of their own making). */
  runs: RunManager;
  /** The lab it follows, if any. */
  lab: LabWatch | null;
  metrics: TraceMetrics;
  close(): Promise<void>;
}

export async function startServer(o: ServeOptions = {}): Promise<RunningServer> {
  const root = o.root ?? PROJECT_ROOT;
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 8080;
  const log = o.log ?? (() => undefined);
  const outDir = resolve(o.outDir ?? resolve(root, 'out'));
  mkdirSync(outDir, { recursive: true });
  const loopbackOnly = isLoopbackHost(host);
  const token = o.tokenFile !== undefined ? readTokenFile(o.tokenFile) : isTokenFreeBind(host) ? null : generateToken();
  const staticDir = o.frontEnd === false ? null : await ensureClientBuilt(buildPaths(root), log);
  const metrics = new TraceMetrics();
  const runs = new RunManager({
    outDir, limits: o.limits,
    onEvents: (r, evs) => {
      const sink = metrics.sink(r.id, r.kind);
      for (const e of evs) sink.emit(e);
    },
    onRunEnd: (r) => metrics.endStream(r.id),
  });
  const catalog = o.catalog ?? ScenarioCatalog.standard(root, o.scenarioDirs ?? []);
  let lab: LabWatch | null = null;
  if (o.lab !== undefined) {
    lab = new LabWatch({
      labFile: o.lab, outDir, runs, log, agentMetricsPort: o.agentMetricsPort,
      scenarioFile: (id) => {
        const f = catalog.load(id);
        if (!f) throw new Error(`no scenario "${id}"`);
        return resolve(root, f.file);
      },
    });
    lab.start();
  }
  const app = createApp({
    catalog,
    runs,
    outDir,
    staticDir,
    access: { token, loopbackOnly },
    lab,
    metrics,
  });
  const server: Server = await new Promise((resolvePromise, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolvePromise(s)));
    s.once('error', reject);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    host: addr.address,
    port: addr.port,
    token,
    runs,
    lab,
    metrics,
    close: () => new Promise<void>((resolvePromise) => {
      void (lab?.close() ?? Promise.resolve()).finally(() => {
        runs.dispose();
        // Event streams stay open: end them, or close() waits for the browsers.
        for (const s of sockets) s.destroy();
        server.close(() => resolvePromise());
      });
    }),
  };
}
