// `hatwin agent`: one process per managed host of a mini-lab, run inside the host's namespace.
// It composes the engine runtime on the wall clock (the lab epoch of the live run as time 0, so
// every agent's monitoring grid and trace share one time axis) with the live adapters for this
// host (etcd store, HMAC messenger, SSH with pinned keys, request/reply probes, WOL, libvirt,
// VIPs in guests through the qemu guest agent) and runs the P2P policy's executer for the host:
// the same engine code as in sim, no live-specific policy code. Trace: NDJSON, sim schema.
import { closeSync, openSync, writeSync } from 'node:fs';
import { Runtime } from '../engine/runtime/runtime.ts';
import type { Ports, TraceEvent } from '../engine/ports/index.ts';
import { executer } from '../policies/p2p/program.ts';
import { p2pConfig, p2pSchema, type P2pPolicy } from './policies.ts';
import { readScenario } from './sim.ts';
import { RealtimeScheduler } from '../adapters/realtime/scheduler.ts';
import { livePorts } from '../adapters/live/ports.ts';
import type { VipDriver } from '../adapters/net/vip.ts';
import { agentLiveConfig, IdempotentGuestVipDriver, namedVipNetwork } from '../adapters/lab/agent-config.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { loadLab, type Lab } from '../adapters/lab/schema.ts';

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

/** The scenario's P2P policy block (the same block the sim reads). */
export function scenarioP2p(scenarioFile: string): P2pPolicy {
  const s = readScenario(scenarioFile);
  const p = s.policies.find((x) => x.kind === 'p2p');
  if (!p) throw new Error(`${scenarioFile}: no p2p policy block`);
  return p2pSchema.parse(p);
}

/** An NDJSON trace file, one line per event, written as it happens (an agent may be killed). */
export class NdjsonTrace {
  private fd: number | null;
  constructor(path: string) {
    this.fd = openSync(path, 'a', 0o644);
  }

  emit = (e: TraceEvent): void => {
    if (this.fd !== null) writeSync(this.fd, `${JSON.stringify(e)}\n`);
  };

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export interface AgentOptions {
  labFile: string;
  host: string;
  scenarioFile: string;
  runId: string;
  epochUs: number;
  traceFile?: string;
  log?: (msg: string) => void;
}

export interface RunningAgent {
  lab: Lab;
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const lab = loadLab(o.labFile);
  const policy = scenarioP2p(o.scenarioFile);
  if (!policy.group.includes(o.host)) throw new Error(`host "${o.host}" is not in the P2P group (${policy.group.join(', ')})`);
  const log = o.log ?? (() => undefined);
  const sched = new LabClockScheduler(o.epochUs);
  const file = o.traceFile ? new NdjsonTrace(o.traceFile) : null;
  const emit = (e: TraceEvent) => file?.emit(e);
  const trace = { emit };
  const hypervisor = await LabHypervisor.open(lab);
  const vipDrivers: Record<string, VipDriver> = Object.fromEntries(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name)]));
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
  const live = await livePorts({ config: agentLiveConfig(lab, o.host, o.runId), runtime: rt, trace, nowUs: () => sched.nowUs(), hypervisor, vipDrivers });
  ports = { ...live.ports, network: namedVipNetwork(lab, live.ports.network!, (kind, subject, data) => emit({ t: sched.nowUs(), kind, subject, data: { ...data, by: o.host } })) };
  const pid = rt.start(`p2p/${o.host}/executer`, executer(o.host, p2pConfig(policy)), o.host);
  emit({ t: sched.nowUs(), kind: 'agent.start', subject: o.host, data: { runId: o.runId, pid: process.pid } });
  log(`agent ${o.host}: P2P executer running (run ${o.runId}, interval ${policy.interval / 1e6} s)`);
  let stopped = false;
  return {
    lab,
    async stop() {
      if (stopped) return;
      stopped = true;
      rt.stop(pid);
      sched.close();
      emit({ t: sched.nowUs(), kind: 'agent.stop', subject: o.host, data: {} });
      await live.close().catch(() => undefined);
      await hypervisor.close().catch(() => undefined);
      file?.close();
    },
  };
}
