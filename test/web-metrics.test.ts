// The Prometheus metrics (run/metrics.ts): fed from trace events only, so a simulation and a live
// run count alike. A scrape of `hatwin serve`'s /metrics and of an agent's metrics endpoint is
// parsed with a Prometheus text-format parser (parse-prometheus-text-format; prom-client has
// none) and every line is checked against the exposition format's grammar.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveMetrics, TraceMetrics } from '../run/metrics.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { recoveries } from '../trace/metrics.ts';
import { startServer, type RunningServer } from '../web/server/serve.ts';
import type { RunInfo } from '../web/shared/api.ts';

interface Sample { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }
interface Family { name: string; help: string; type: string; metrics: Sample[] }
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
// Values are Go floats (strconv.ParseFloat, as Prometheus reads them): NaN and Inf in any letter case.
const SAMPLE = new RegExp(`^${NAME}(?:\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*,?)?\\})? (?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?[Ii][Nn][Ff]|[Nn][Aa][Nn])(?: -?\\d+)?$`);

/** Every line of a scrape: a HELP, a TYPE, or a sample of the text exposition format 0.0.4. */
function checkGrammar(text: string): void {
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) expect(line, line).toMatch(new RegExp(`^# HELP ${NAME} .*$`));
    else if (line.startsWith('# TYPE ')) expect(line, line).toMatch(new RegExp(`^# TYPE ${NAME} (counter|gauge|histogram|summary|untyped)$`));
    else expect(line, line).toMatch(SAMPLE);
  }
}

const family = (fams: Family[], name: string) => fams.find((f) => f.name === name);
const sample = (fams: Family[], name: string, labels: Record<string, string>) =>
  family(fams, name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
const value = (fams: Family[], name: string, labels: Record<string, string>) => Number(sample(fams, name, labels)?.value ?? NaN);

function nt2Events() {
  const s = readScenario('experiments/scenarios/p2p-fig13-nt2.yaml');
  const sim = buildSimulation(s, { seed: s.seed ?? 1 });
  sim.run(s.until!);
  return sim.events;
}

describe('metrics from trace events', () => {
  it('counts detections, recoveries with their durations, VIP holders and faults of a simulated Nt2 as the trace says', async () => {
    const events = nt2Events();
    const m = new TraceMetrics({ processMetrics: false });
    for (const e of events) m.emit(e);
    const text = await m.text();
    checkGrammar(text);
    const fams = parseProm(text);
    const detected = events.filter((e) => e.kind === 'trouble.detected' && e.subject === 'FTP').length;
    expect(detected).toBeGreaterThan(0);
    expect(value(fams, 'hatwin_detections_total', { target: 'FTP' })).toBe(detected);
    expect(value(fams, 'hatwin_probes_failed_total', { target: 'FTP', source: 'watcher' })).toBe(detected);
    expect(value(fams, 'hatwin_faults_total', { target: 'FTP', fault: 'Nt2' })).toBe(1);
    const [r] = recoveries(events);
    const fn = family(fams, 'hatwin_function_recovery_seconds')!.metrics[0];
    expect(family(fams, 'hatwin_function_recovery_seconds')!.type).toBe('HISTOGRAM');
    expect(Number(fn.count)).toBe(1);
    expect(Number(fn.sum)).toBeCloseTo(r.functionRecoveryS!, 6);
    const target = family(fams, 'hatwin_target_recovery_seconds')!.metrics[0];
    expect(Number(target.count)).toBe(1);
    expect(Number(target.sum)).toBeCloseTo(r.targetRecoveryS!, 6);
    // Buckets are cumulative: the function recovery (7.09 s) is in le=8 and not in le=5.
    expect(Number(fn.buckets!['8'])).toBe(1);
    expect(Number(fn.buckets!['5'])).toBe(0);
    // At the end FTP holds its VIP again: one holder.
    expect(value(fams, 'hatwin_vip_holders', { vip: 'vip-ftp' })).toBe(1);
  });

  it('counts dropped messages by reason, store errors, health probes, and prefers the machines\' word on VIP holders', async () => {
    const m = new TraceMetrics({ processMetrics: false });
    m.emit({ t: 1, kind: 'msg.dropped', subject: 'Mail', data: { reason: 'bad-mac', from: 'FTP', seq: 1 } });
    m.emit({ t: 2, kind: 'msg.dropped', subject: 'Mail', data: { reason: 'replay', from: 'FTP', seq: 1 } });
    m.emit({ t: 3, kind: 'msg.dropped', subject: 'Mail', data: { reason: 'replay', from: 'FTP', seq: 1 } });
    m.emit({ t: 4, kind: 'store.error', subject: 'Mail', data: { op: 'cas', error: 'etcd: unavailable' } });
    m.emit({ t: 5, kind: 'health.probe', subject: 'FTP', data: { light: 'phys:FTP', probe: 'power', ok: false, detail: 'power off' } });
    m.emit({ t: 6, kind: 'health.probe', subject: 'FTPb', data: { light: 'vm:FTPb', probe: 'network', standby: true, ok: false } });
    m.emit({ t: 7, kind: 'vip.assign', subject: 'vip-ftp', data: { holder: 'FTPb' } });
    m.emit({ t: 8, kind: 'vip.holders', subject: 'vip-ftp', data: { holders: ['FTP', 'FTPb'] } });
    m.emit({ t: 9, kind: 'vip.remove', subject: 'vip-ftp', data: { holder: 'FTPb' } });
    const text = await m.text();
    checkGrammar(text);
    const fams = parseProm(text);
    expect(value(fams, 'hatwin_messages_dropped_total', { reason: 'bad-mac', agent: 'Mail' })).toBe(1);
    expect(value(fams, 'hatwin_messages_dropped_total', { reason: 'replay' })).toBe(2);
    expect(value(fams, 'hatwin_store_errors_total', { op: 'cas' })).toBe(1);
    expect(value(fams, 'hatwin_probes_total', { target: 'FTP', probe: 'power', source: 'health' })).toBe(1);
    expect(value(fams, 'hatwin_probes_failed_total', { target: 'FTP', source: 'health' })).toBe(1);
    expect(sample(fams, 'hatwin_probes_total', { target: 'FTPb' })).toBeUndefined(); // standby: not probed
    expect(value(fams, 'hatwin_vip_holders', { vip: 'vip-ftp' })).toBe(2); // what the machines said, not the policy's remove
  });

  it('serves GET /metrics alone on an agent\'s endpoint (404 elsewhere, 405 for other methods)', async () => {
    const m = new TraceMetrics();
    m.emit({ t: 1, kind: 'probe.ok', subject: 'Mail', data: { probe: 'examine' } });
    const s = await serveMetrics(m, '127.0.0.1', 0);
    try {
      const res = await fetch(s.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      checkGrammar(text);
      const fams = parseProm(text);
      expect(value(fams, 'hatwin_probes_total', { target: 'Mail', source: 'watcher' })).toBe(1);
      expect(family(fams, 'hatwin_process_cpu_seconds_total')).toBeDefined();
      expect((await fetch(s.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(s.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await s.close();
    }
  });
});

describe('GET /metrics of hatwin serve', () => {
  let server: RunningServer;
  let outDir: string;
  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'hatwin-metrics-'));
    server = await startServer({ port: 0, outDir, frontEnd: false });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('counts what the server\'s sim runs did, as their traces say', async () => {
    const res = await fetch(new URL('/api/runs', server.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'p2p-fig13-nt2' }) });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as RunInfo;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = (await (await fetch(new URL(`/api/runs/${id}`, server.url))).json()) as RunInfo;
      if (info.state === 'done') break;
      if (info.state === 'error' || Date.now() > deadline) throw new Error(`run ${id}: ${info.state} ${info.error ?? ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const trace = (await (await fetch(new URL(`/api/runs/${id}/trace`, server.url))).text()).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; subject: string });
    const scrape = await fetch(new URL('/metrics', server.url));
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    checkGrammar(text);
    const fams = parseProm(text);
    expect(value(fams, 'hatwin_detections_total', { target: 'FTP' })).toBe(trace.filter((e) => e.kind === 'trouble.detected' && e.subject === 'FTP').length);
    expect(value(fams, 'hatwin_trace_events_total', { mode: 'sim' })).toBe(trace.length);
    expect(Number(family(fams, 'hatwin_function_recovery_seconds')!.metrics[0].count)).toBe(1);
    expect(family(fams, 'hatwin_process_resident_memory_bytes')).toBeDefined();
  }, 90_000);
});
