// `hatwin agent`: one process per managed host of a mini-lab, run inside the host's namespace.
// It composes the engine runtime on the wall clock (the lab epoch of the live run as time 0, so
// every agent's monitoring grid and trace share one time axis) with the live adapters for this
// host (etcd store, HMAC messenger, SSH with pinned keys, request/reply probes, WOL, libvirt,
// VIPs in guests through the qemu guest agent) and runs every program that the scenario's policies
// place on this host (run/policies.ts, the same programs the sim installs): no live-specific
// policy code. Trace: NDJSON, sim schema.
import { NdjsonFile } from '../trace/ndjson-file.ts';
import { Runtime } from '../engine/runtime/runtime.ts';
import type { Ports, TraceEvent } from '../engine/ports/index.ts';
import { checkPoliciesOn, programsOf } from './policies.ts';
import { installPrograms } from './install.ts';
import { siteFromLab } from './site.ts';
import type { Program } from '../policies/manifest.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { readScenario } from './sim.ts';
import { RealtimeScheduler } from '../adapters/realtime/scheduler.ts';
import { livePorts } from '../adapters/live/ports.ts';
import type { VipDriver } from '../adapters/net/vip.ts';
import { agentLiveConfig, IdempotentGuestVipDriver, reachGatedHypervisor, labFence, namedVipNetwork } from '../adapters/lab/agent-config.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { GuestServices } from '../adapters/lab/guest-services.ts';
import { GuestAgentExec } from '../adapters/lab/guest-vip.ts';
import { loadLab, type Lab } from '../adapters/lab/schema.ts';
import { serveMetrics, TraceMetrics, type MetricsServer } from './metrics.ts';
import { wrrCycleOrder } from '../policies/lbcluster/wrr.ts';

/** Wall-clock microseconds (Unix epoch). */
export const wallUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** The realtime scheduler with time 0 at the lab epoch (shared by every agent of a run). */
export class LabClockScheduler extends RealtimeScheduler {
  constructor(private readonly epochUs: number) {
    super();
    if (!Number.isSafeInteger(epochUs) || epochUs <= 0) throw new RangeError(`epoch must be a positive integer of µs, got ${epochUs}`);
  }

  override nowUs(): number {
    return wallUs() - this.epochUs;
  }
}

/**
 * The programs the scenario's policies place on `host` of the lab (checked against the lab's
 * site first). `boot`: the agent starts because its host booted, so `once` programs do not run.
 */
export function agentPrograms(lab: Lab, scenario: Scenario, file: string, host: string, boot = false): Program[] {
  const site = siteFromLab(lab, scenario);
  const problems = checkPoliciesOn(scenario.policies, site);
  if (problems.length) throw new Error(`${file} on lab "${lab.name}": ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  const mine = programsOf(scenario.policies, site).filter((p) => p.agent === host && !(boot && p.once));
  if (mine.length === 0) throw new Error(`host "${host}" runs no program of ${file}'s policies (${scenario.policies.map((p) => p.kind).join(', ') || 'none'})`);
  return mine;
}

export interface AgentOptions {
  labFile: string;
  host: string;
  /** The scenario whose programs run here (not read by a start probe). */
  scenarioFile: string | null;
  runId: string;
  epochUs: number;
  /** The agent starts because its host booted (not at the run's start). */
  boot?: boolean;
  traceFile?: string;
  log?: (msg: string) => void;
  /**
   * Serve Prometheus metrics (run/metrics.ts, fed from this agent's trace) on GET /metrics at
   * this port, bound to `host` (default: the agent's lab address; a loopback address also goes).
   */
  metrics?: { port: number; host?: string };
  /**
   * Start up as an agent does (modules, lab, hypervisor, live ports) with no program, record
   * `agent.start`: `hatwin calibrate` times an agent's start-up this way.
   */
  startProbe?: boolean;
}

export interface RunningAgent {
  lab: Lab;
  /** The metrics endpoint, when asked for. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const lab = loadLab(o.labFile);
  if (o.scenarioFile === null && !o.startProbe) throw new Error(`agent ${o.host}: no scenario`);
  const programs = o.scenarioFile === null ? [] : agentPrograms(lab, readScenario(o.scenarioFile), o.scenarioFile, o.host, o.boot);
  const log = o.log ?? (() => undefined);
  const sched = new LabClockScheduler(o.epochUs);
  const file = o.traceFile ? new NdjsonFile(o.traceFile) : null;
  const metrics = o.metrics ? new TraceMetrics() : null;
  // A host's SSH VIP driver names the address it set; the trace names VIPs (as the guests' do).
  const vipName = (address: string) => lab.vips.find((v) => v.address === address)?.name ?? address;
  const emit = (e: TraceEvent) => {
    if (e.kind === 'vip.effect') e = { ...e, subject: vipName(e.subject) };
    file?.emit(e);
    metrics?.emit(e);
  };
  const trace = { emit };
  const hypervisor = await LabHypervisor.open(lab);
  // The instant a VIP change in a guest takes effect for a client (its gratuitous ARP sent, its
  // `ip addr del` launched), before the call returns: `vip.effect`, which a paired sim replays.
  const vipDrivers: Record<string, VipDriver> = Object.fromEntries(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name, (address, op) => emit({ t: sched.nowUs(), kind: 'vip.effect', subject: address, data: { holder: v.name, op, by: o.host } }))]));
  let ports: Partial<Ports> = {};
  const rt = new Runtime({
    scheduler: sched,
    ports: () => ports,
    trace,
    watchMode: 'naive',
    onUnjoinedFailure: (name, _pid, e) => {
      emit({ t: sched.nowUs(), kind: 'agent.failure', subject: o.host, data: { process: name, error: String((e as Error)?.message ?? e) } });
      log(`process ${name} failed: ${(e as Error)?.stack ?? String(e)}`);
    },
  });
  const guestExec = { targets: lab.backupVms.map((v) => v.name), exec: new GuestAgentExec(lab) };
  const live = await livePorts({ config: agentLiveConfig(lab, o.host, o.runId), runtime: rt, trace, nowUs: () => sched.nowUs(), hypervisor: reachGatedHypervisor(lab, o.host, hypervisor), vipDrivers, guestExec, fence: labFence(lab), fenceFirst: true });
  // Pools of the lab's VRRP VIPs are the director's nftables table, its slots one IPVS wrr cycle.
  // Services in guests (no sshd there) through their guest agent; the hosts' over SSH.
  ports = { ...live.ports, services: new GuestServices(lab, live.ports.services), network: namedVipNetwork(lab, live.ports.network!, (kind, subject, data) => emit({ t: sched.nowUs(), kind, subject, data: { ...data, by: o.host } }), wrrCycleOrder) };
  // Store calls that fail are traced (store.error), so the metrics count them; the failure itself
  // still goes to the program as before.
  if (metrics && ports.store) ports.store = tracedStoreErrors(ports.store, (op, e) => emit({ t: sched.nowUs(), kind: 'store.error', subject: o.host, data: { op, error: String((e as Error)?.message ?? e) } }));
  let metricsServer: MetricsServer | null = null;
  if (o.metrics) {
    const own = lab.hosts.find((h) => h.name === o.host)!.address;
    const host = o.metrics.host ?? own;
    if (host !== own && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) throw new Error(`--metrics-host ${host}: the agent's lab address (${own}) or a loopback address`);
    metricsServer = await serveMetrics(metrics!, host, o.metrics.port);
    log(`metrics on ${metricsServer.url}`);
  }
  const pids: number[] = [];
  let startHook = (): void => undefined;
  installPrograms({
    onStart: (hook) => { startHook = hook; },
    onHostUp: () => undefined, // this process is started again when its host boots
    start: (name, body, agent) => void pids.push(rt.start(name, body, agent)),
    onAtStart: () => true,
  }, programs);
  startHook();
  emit({ t: sched.nowUs(), kind: 'agent.start', subject: o.host, data: { runId: o.runId, pid: process.pid } });
  log(`agent ${o.host}: running ${programs.map((p) => p.name).join(', ')} (run ${o.runId})`);
  let stopped = false;
  return {
    lab,
    metricsUrl: metricsServer?.url ?? null,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const pid of pids) rt.stop(pid);
      sched.close();
      emit({ t: sched.nowUs(), kind: 'agent.stop', subject: o.host, data: {} });
      await live.close().catch(() => undefined);
      await hypervisor.close().catch(() => undefined);
      await metricsServer?.close().catch(() => undefined);
      file?.close();
    },
  };
}

/** The store with every failed call reported to `onError` (and still thrown to the caller). */
function tracedStoreErrors(store: NonNullable<Ports['store']>, onError: (op: string, e: unknown) => void): NonNullable<Ports['store']> {
  const wrap = <A extends unknown[], R>(op: string, f: (...a: A) => R | PromiseLike<R>) => async (...a: A): Promise<R> => {
    try {
      return await f(...a);
    } catch (e) {
      onError(op, e);
      throw e;
    }
  };
  return {
    get: wrap('get', (key: string) => store.get(key)),
    cas: wrap('cas', (key: string, v: number, value: unknown) => store.cas(key, v, value)),
    del: wrap('del', (key: string, v: number) => store.del(key, v)),
    list: wrap('list', (prefix: string) => store.list(prefix)),
  } as NonNullable<Ports['store']>;
}
