// Effects: plain-data descriptions of what a process wants done. A process is a generator that
// yields effects and receives their results; the runtime interprets them (timing through a
// Scheduler, domain effects through Ports). Helpers are used with `yield*` so results are typed:
//
//   const t = yield* now();
//   yield* sleep(10 * S);
//   const msg = yield* receive<Report>('p2/S3', 5 * S);

import type { ProbeResult, ProbeSpec } from '../ports/probe.ts';

/** Microseconds in a millisecond / second: engine code writes `10 * S` for 10 s. */
export const MS = 1_000;
export const S = 1_000_000;

export interface TraceRecord {
  kind: string;
  subject: string;
  data?: Record<string, unknown>;
}

export type Effect =
  | { kind: 'sleep'; us: number }
  | { kind: 'sleepUntil'; atUs: number }
  | { kind: 'now' }
  | { kind: 'self' }
  | { kind: 'spawn'; name: string; body: Process<unknown>; agent?: string }
  | { kind: 'cancel'; pid: number }
  | { kind: 'join'; pid: number }
  | { kind: 'send'; to: string; msg: unknown }
  | { kind: 'receive'; mailbox: string; timeoutUs?: number }
  | { kind: 'race'; effects: Effect[] }
  | { kind: 'call'; port: string; op: string; args: unknown[] }
  | { kind: 'watch'; probe: ProbeSpec; intervalUs: number; phaseUs?: number }
  | { kind: 'trace'; record: TraceRecord };

export type Process<T = void> = Generator<Effect, T, unknown>;
export type Op<T> = Generator<Effect, T, unknown>;

export type JoinResult<T> =
  | { status: 'done'; value: T }
  | { status: 'cancelled' }
  | { status: 'failed'; error: unknown };

export interface RaceResult {
  index: number;
  value: unknown;
}

const NOW: Effect = { kind: 'now' };
const SELF: Effect = { kind: 'self' };

export function* sleep(us: number): Op<void> {
  yield { kind: 'sleep', us };
}

/** Sleeps until the absolute time `atUs` (returns at once if it has passed). */
export function* sleepUntil(atUs: number): Op<void> {
  yield { kind: 'sleepUntil', atUs };
}

export function* now(): Op<number> {
  return (yield NOW) as number;
}

/** This process's id. */
export function* self(): Op<number> {
  return (yield SELF) as number;
}

/** Starts a child process; returns its pid. `agent` selects the ports it uses (default: the parent's). */
export function* spawn(name: string, body: Process<unknown>, agent?: string): Op<number> {
  return (yield { kind: 'spawn', name, body, agent }) as number;
}

/** Cancels a process: its pending effect is dropped and its `finally` blocks run. */
export function* cancel(pid: number): Op<void> {
  yield { kind: 'cancel', pid };
}

export function* join<T = unknown>(pid: number): Op<JoinResult<T>> {
  return (yield { kind: 'join', pid }) as JoinResult<T>;
}

/** Puts a message in a mailbox of this runtime (never blocks). */
export function* send(to: string, msg: unknown): Op<void> {
  yield { kind: 'send', to, msg };
}

/** Takes the next message of a mailbox; `undefined` when `timeoutUs` passes first. */
export function* receive<T = unknown>(mailbox: string, timeoutUs?: number): Op<T | undefined> {
  return (yield { kind: 'receive', mailbox, timeoutUs }) as T | undefined;
}

/** Waits for the first of several blocking effects; the others are withdrawn. */
export function* firstOf(...effects: Effect[]): Op<RaceResult> {
  return (yield { kind: 'race', effects }) as RaceResult;
}

/**
 * Probes a target every `intervalUs` (on the grid start + k * interval, k >= 1, or
 * phase + k * interval when `phaseUs` is given) until a probe fails; returns that probe's result.
 */
export function* watch(probe: ProbeSpec, intervalUs: number, phaseUs?: number): Op<ProbeResult> {
  return (yield { kind: 'watch', probe, intervalUs, phaseUs }) as ProbeResult;
}

export function* trace(kind: string, subject: string, data?: Record<string, unknown>): Op<void> {
  yield { kind: 'trace', record: { kind, subject, data } };
}

/** Untyped domain call; use the typed helpers of engine/ports instead. */
export function* callPort(port: string, op: string, args: unknown[]): Op<unknown> {
  return yield { kind: 'call', port, op, args };
}

/** Effect constructors for `firstOf`. */
export const E = {
  sleep: (us: number): Effect => ({ kind: 'sleep', us }),
  receive: (mailbox: string, timeoutUs?: number): Effect => ({ kind: 'receive', mailbox, timeoutUs }),
  join: (pid: number): Effect => ({ kind: 'join', pid }),
  call: (port: string, op: string, args: unknown[]): Effect => ({ kind: 'call', port, op, args }),
  watch: (probe: ProbeSpec, intervalUs: number, phaseUs?: number): Effect => ({ kind: 'watch', probe, intervalUs, phaseUs }),
};
