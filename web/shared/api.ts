// Types of the web API, shared by the server (web/server) and the page (web/client). Types only:
// nothing here runs, so the page's bundle takes nothing from the server.

/** x1 ... x10000 of real time, or as fast as possible. */
export type Speed = number | 'max';
export type RunState = 'running' | 'paused' | 'done' | 'error';

export type { TraceEvent } from '../../trace/event.ts';
import type { TraceEvent } from '../../trace/event.ts';

export interface ScenarioEntry {
  id: string;
  file: string;
  name: string | null;
  description: string | null;
  seed: number | null;
  untilUs: number | null;
  faults: number;
  policies: string[];
  /** Present when the file does not validate: the problems, one per line. */
  error?: string;
}

/** What the page draws before any event arrives (also sent for replays when known). */
export interface Topology {
  hosts: Array<{ name: string; services: string[]; state: string; mac: string | null }>;
  vms: Array<{ name: string; services: string[]; host: string | null; fileServer: string }>;
  vips: Array<{ name: string; address: string | null; service: string; holder: string | null }>;
  clients: Array<{ name: string; vip: string }>;
  /** Probe interval of the health lights: the first policy's `interval`, else 10 s. */
  probeIntervalUs: number;
  untilUs: number;
  /**
   * Where the health lights come from: `grid` (default) a virtual prober on the trace's state
   * (sim runs and replays); `probes` the `health.probe` events of real probes on a live lab.
   */
  lights?: 'grid' | 'probes';
}

export interface RunInfo {
  id: string;
  kind: 'sim' | 'replay' | 'live';
  /** Scenario id (sim runs; replays opened with one), or null. */
  scenario: string | null;
  /** The trace a replay plays, or the file a finished sim run was saved to (relative to the out directory). */
  traceFile: string | null;
  seed: number | null;
  state: RunState;
  speed: Speed;
  nowUs: number;
  untilUs: number;
  events: number;
  createdAt: string;
  /** Why the run stopped or failed, as one short sentence (state `error`, or `done` when its trace could not be saved). */
  error: string | null;
  /** The details of `error` (the limit that was hit, the exception's message). */
  errorDetail: string | null;
  /** Live runs: the lab run behind it. */
  live?: LiveRunRef;
}

/** A live run's lab run (run/live.ts LiveRunRecord, as the page needs it). */
export interface LiveRunRef {
  runId: string;
  lab: string;
  /** The run's epoch (µs since 1970): trace time 0. */
  epochUs: number;
  /** Started from this page (this server can stop it and injects faults through it), or by `hatwin live` (pid). */
  startedBy: 'page' | 'cli';
  pid: number;
  /** The final trace (written when the lab run ends). */
  traceFile: string;
}

/** The lab `hatwin serve --lab` follows. */
export interface LabInfo {
  name: string;
  file: string;
  up: boolean;
  /** Why it is down, or what is up. */
  detail: string;
  checkedAt: string;
  hosts: string[];
  vms: string[];
  /** Lab faults a live run takes (adapters/lab labFault). */
  faults: string[];
  /** The lab's live runs (out/lab/NAME/live-runs/), newest first. */
  runs: LabRun[];
}

export interface LabRun {
  runId: string;
  scenario: string;
  state: 'running' | 'done' | 'stopped' | 'error';
  startedAt: string;
  endedAt: string | null;
  error: string | null;
  traceFile: string;
  /** The web run following it (GET /api/runs/:id), if any. */
  webRun: string | null;
  startedBy: 'page' | 'cli';
}

/** A `hatwin conform` result (out/conform* /conform-<name>.json). */
export interface ConformEntry {
  /** Relative to the out directory, e.g. conform/conform-live-p2p-nt2.json. */
  path: string;
  scenario: string;
  lab: string | null;
  modified: string;
  hasTraces: boolean;
}

export interface ConformRow {
  metric: string;
  server: string;
  live: number | null;
  sim: number | null;
  errPct: number | null;
}

export interface ConformDetail extends ConformEntry {
  rows: ConformRow[];
  live: TraceEvent[];
  sim: TraceEvent[];
}

export interface RunDetail extends RunInfo {
  topology: Topology | null;
}

export interface SavedTrace {
  /** Relative to the out directory. */
  path: string;
  bytes: number;
  modified: string;
}

export interface ApiError {
  error: string;
  issues?: Array<{ path: string; message: string }>;
}

/** The fault kinds a live run takes (adapters/lab/lab.ts FAULTS). */
export const LAB_FAULT_KINDS = ['St1', 'St2', 'Nt1', 'Nt2', 'pause', 'link-down', 'partition-oneway', 'heal'] as const;

/** The fault kinds a running simulation takes (sim/scenario/schema.ts). */
export const FAULT_KINDS = ['St1', 'St2', 'Nt1', 'Nt2', 'host-restart', 'host-shutdown', 'host-fail', 'pause', 'link-down', 'vm-crash', 'vm-reboot', 'partition'] as const;

/** A VM of the lab under VM control (GET /api/lab/vms; engine/ports/hypervisor.ts VmControlInfo). */
export interface LabVm {
  name: string;
  state: string;
  host: string | null;
  cpus: number;
  memoryMb: number;
  /** The template it was created from; null: one of the lab file's backup VMs. */
  template: string | null;
  /** Declared VMs may be started and shut down, not deleted or modified. */
  origin: 'declared' | 'created';
  /** The guest's address on the lab network. */
  address?: string;
}

export interface LabVms {
  vms: LabVm[];
  templates: string[];
  /** The lab is down (or the server not root): why no VM is listed. */
  unavailable?: string;
}
