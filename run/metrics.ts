// The Prometheus metrics of hatwin, defined once and fed from trace events only (a TraceSink), so
// a simulation, a live agent and the web server count alike: whatever the trace says happened is
// what is counted. `hatwin serve` feeds it the events of its sim and live runs; `hatwin agent
// --metrics-port` feeds it its own trace. prom-client writes the text exposition format.
//
// What is counted, from which trace kinds:
//   probes sent / failed per target: `probe.ok` (a passing probe of a watcher), `trouble.detected`
//     (a watcher's failed probe), `health.probe` (the web view's own probes of a live lab, data.ok);
//   detections: `trouble.detected` per target (a second manager detecting the same trouble counts
//     as a detection too, but opens no second recovery);
//   recoveries and their durations: detection -> `function.recovered` and detection ->
//     `target.recovered`, as trace/metrics.ts `recoveries()` measures them (first detection of an
//     open trouble; `target.down` closes it without a recovery);
//   VIP holders: `vip.assign` / `vip.remove` (the policies), replaced by `vip.holders` (what a live
//     lab's machines say) when the trace has it;
//   messages dropped: `msg.dropped` (the HMAC messenger: bad MAC, replay, stale, ...), by reason;
//   store errors: `store.error` (a store call that failed; `hatwin agent` traces them).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TraceEvent, TraceSink } from '../trace/event.ts';

/** Seconds: detection -> recovery spans from sub-second (daemon restart) to minutes (boot, Trc). */
export const RECOVERY_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, 300, 600];

export interface MetricsOptions {
  /** Labels on every metric (none by default: the scraper labels its targets). */
  defaultLabels?: Record<string, string>;
  /** Also export the process's own metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  /** Metric name prefix. Default "hatwin_". */
  prefix?: string;
}

/** One set of hatwin metrics: feed it trace events (emit) and scrape its registry. */
export class TraceMetrics implements TraceSink {
  readonly registry = new Registry();
  private readonly probes: Counter<'target' | 'probe' | 'source'>;
  private readonly probesFailed: Counter<'target' | 'probe' | 'source'>;
  private readonly detections: Counter<'target'>;
  private readonly recoveriesTotal: Counter<'target' | 'kind'>;
  private readonly functionSeconds: Histogram;
  private readonly targetSeconds: Histogram;
  private readonly vipHolders: Gauge<'vip'>;
  private readonly dropped: Counter<'agent' | 'reason'>;
  private readonly storeErrors: Counter<'agent' | 'op'>;
  private readonly faults: Counter<'target' | 'fault'>;
  private readonly events: Counter<'mode'>;
  /** Per stream (a run, an agent): open troubles and VIP holders. */
  private readonly streams = new Map<string, { open: Map<string, { detectedUs: number; functionSeen: boolean }>; assigned: Map<string, Set<string>>; observed: Set<string> }>();

  constructor(o: MetricsOptions = {}) {
    const p = o.prefix ?? 'hatwin_';
    if (o.defaultLabels) this.registry.setDefaultLabels(o.defaultLabels);
    const registers = [this.registry];
    this.probes = new Counter({ name: `${p}probes_total`, help: 'Probes sent, per target (host, VM, VIP or host/service), probe kind and source (watcher: a policy; health: the web view)', labelNames: ['target', 'probe', 'source'], registers });
    this.probesFailed = new Counter({ name: `${p}probes_failed_total`, help: 'Probes that failed, per target, probe kind and source', labelNames: ['target', 'probe', 'source'], registers });
    this.detections = new Counter({ name: `${p}detections_total`, help: 'Troubles detected (trouble.detected), per target', labelNames: ['target'], registers });
    this.recoveriesTotal = new Counter({ name: `${p}recoveries_total`, help: 'Recoveries, per target and kind (function: the backup serves; target: the server is back)', labelNames: ['target', 'kind'], registers });
    // One histogram per kind, without labels: parsers of the text format (and dashboards) handle
    // unlabelled histograms best; the scraper labels the target (instance, job).
    this.functionSeconds = new Histogram({ name: `${p}function_recovery_seconds`, help: 'Detection to function recovered (the backup serves), seconds', buckets: RECOVERY_BUCKETS, registers });
    this.targetSeconds = new Histogram({ name: `${p}target_recovery_seconds`, help: 'Detection to target recovered (the server is back), seconds', buckets: RECOVERY_BUCKETS, registers });
    this.vipHolders = new Gauge({ name: `${p}vip_holders`, help: 'Holders of each VIP now (more than 1 is a split brain)', labelNames: ['vip'], registers });
    this.dropped = new Counter({ name: `${p}messages_dropped_total`, help: 'Agent messages dropped by the receiver, per agent and reason (bad-mac, replay, stale, malformed, misaddressed, oversize)', labelNames: ['agent', 'reason'], registers });
    this.storeErrors = new Counter({ name: `${p}store_errors_total`, help: 'Store (etcd) calls that failed, per agent and operation', labelNames: ['agent', 'op'], registers });
    this.faults = new Counter({ name: `${p}faults_total`, help: 'Faults injected, per target and kind', labelNames: ['target', 'fault'], registers });
    this.events = new Counter({ name: `${p}trace_events_total`, help: 'Trace events counted, per mode', labelNames: ['mode'], registers });
    if (o.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  private stream(id: string) {
    let s = this.streams.get(id);
    if (!s) {
      s = { open: new Map(), assigned: new Map(), observed: new Set() };
      this.streams.set(id, s);
    }
    return s;
  }

  /** Forgets a stream's open troubles (a run that ended); its VIP gauges stay as last seen. */
  endStream(stream: string): void {
    this.streams.delete(stream);
  }

  /** TraceSink: one event of the default stream. */
  emit(ev: TraceEvent): void {
    this.count(ev);
  }

  /** A sink for one stream (a run of the web server, with its mode as a label of the event count). */
  sink(stream: string, mode = 'sim'): TraceSink {
    return { emit: (ev) => this.count(ev, stream, mode) };
  }

  count(ev: TraceEvent, streamId = '', mode = 'trace'): void {
    this.events.inc({ mode });
    const d = ev.data ?? {};
    const s = this.stream(streamId);
    switch (ev.kind) {
      case 'probe.ok':
        this.probes.inc({ target: ev.subject, probe: String(d.probe ?? 'examine'), source: 'watcher' });
        break;
      case 'health.probe': {
        const labels = { target: ev.subject, probe: String(d.probe ?? 'health'), source: 'health' };
        if (d.standby === true) break; // not probed
        this.probes.inc(labels);
        if (d.ok !== true) this.probesFailed.inc(labels);
        break;
      }
      case 'trouble.detected': {
        const labels = { target: ev.subject, probe: 'examine', source: 'watcher' };
        this.probes.inc(labels);
        this.probesFailed.inc(labels);
        this.detections.inc({ target: ev.subject });
        if (!s.open.has(ev.subject)) s.open.set(ev.subject, { detectedUs: ev.t, functionSeen: false });
        break;
      }
      case 'function.recovered': {
        const o = s.open.get(ev.subject);
        this.recoveriesTotal.inc({ target: ev.subject, kind: 'function' });
        if (o && !o.functionSeen) {
          o.functionSeen = true;
          this.functionSeconds.observe(Math.max(0, ev.t - o.detectedUs) / 1e6);
        }
        break;
      }
      case 'target.recovered': {
        const o = s.open.get(ev.subject);
        this.recoveriesTotal.inc({ target: ev.subject, kind: 'target' });
        if (o) {
          this.targetSeconds.observe(Math.max(0, ev.t - o.detectedUs) / 1e6);
          s.open.delete(ev.subject);
        }
        break;
      }
      case 'target.down':
        s.open.delete(ev.subject);
        break;
      case 'vip.assign':
      case 'vip.remove': {
        const set = s.assigned.get(ev.subject) ?? new Set<string>();
        if (ev.kind === 'vip.assign') set.add(String(d.holder));
        else set.delete(String(d.holder));
        s.assigned.set(ev.subject, set);
        if (!s.observed.has(ev.subject)) this.vipHolders.set({ vip: ev.subject }, set.size);
        break;
      }
      case 'vip.holders': {
        s.observed.add(ev.subject);
        this.vipHolders.set({ vip: ev.subject }, Array.isArray(d.holders) ? d.holders.length : 0);
        break;
      }
      case 'msg.dropped':
        this.dropped.inc({ agent: ev.subject, reason: String(d.reason ?? 'unknown') });
        break;
      case 'store.error':
        this.storeErrors.inc({ agent: ev.subject, op: String(d.op ?? 'unknown') });
        break;
      case 'fault':
        this.faults.inc({ target: ev.subject, fault: String(d.fault ?? 'unknown') });
        break;
    }
  }

  /** The text exposition format (what GET /metrics answers). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A bare HTTP server answering GET /metrics (and nothing else) with the metrics' text format:
 * `hatwin agent --metrics-port` binds it to the agent's lab address or a loopback address.
 */
export async function serveMetrics(m: TraceMetrics, host: string, port: number): Promise<MetricsServer> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    m.text().then((text) => {
      res.writeHead(200, { 'Content-Type': m.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, (e: unknown) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${(e as Error)?.message ?? String(e)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const shownPort = a && typeof a === 'object' ? a.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${shownPort}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
