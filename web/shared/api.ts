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
}

export interface RunInfo {
  id: string;
  kind: 'sim' | 'replay';
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

/** The fault kinds a running simulation takes (sim/scenario/schema.ts). */
export const FAULT_KINDS = ['St1', 'St2', 'Nt1', 'Nt2', 'host-restart', 'host-shutdown', 'host-fail', 'pause', 'link-down', 'vm-crash', 'partition'] as const;
