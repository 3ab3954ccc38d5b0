// Effects: plain-data descriptions of what a process wants done. A process is a generator that
// yields effects and receives their results; the runtime interprets them (timing through a
// Scheduler, domain effects through Ports). Helpers are used with `yield*` so results are typed:
//
//   const t = yield* now();
//   yield* sleep(10 * S);
//   const msg = yield* receive<Report>('p2/S3', 5 * S);

import type { LoadSample } from '../ports/load.ts';
import type { ProbeResult, ProbeSpec, StorePart } from '../ports/probe.ts';

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
  | { kind: 'steadyLoad'; host: string; intervalUs: number; last: LoadSample }
  | { kind: 'quietHolders'; vip: string | null; box: string | null; intervalUs: number; expect: readonly string[]; guard: QuietGuard; checks: readonly StoreCheck[] }
  | { kind: 'claimRounds'; args: ClaimRoundsArgs }
  | { kind: 'trace'; record: TraceRecord };

/**
 * A program's own state that a quiet loop depends on (a flag of the policy): `ok()` now, and a
 * call back on every change of it (sim skips the loop until one comes).
 */
export interface QuietGuard {
  ok(): boolean;
  subscribe(onChange: () => void): () => void;
}

/**
 * A store record a quiet loop read: the loop goes on only while `holds(value)` (null: no record).
 * `part`: `holds` reads only that part of the record, so only writes that change it wake the loop.
 */
export interface StoreCheck {
  key: string;
  holds(value: unknown): boolean;
  part?: StorePart;
}

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

// ---- one-shot helpers ----
//
// Every helper below is used as `yield* helper(...)`. Written as generators, each call made a
// generator object and an effect object that lived for as long as the process waited (a whole
// sleep), and two iterator results per effect: at 1e5 sleeping processes the bench spent a quarter
// of its time collecting them. Instead, a helper fills this module's effect object of its kind
// and returns ONE, a stateless iterator over exactly that effect; nothing is allocated.
//
// The protocol with the runtime (engine/runtime/runtime.ts):
//   - `yield*` calls ONE.next(undefined): ONE answers the pending effect, which the runtime reads
//     at once (before any other process runs), so one shared object per kind is enough;
//   - the runtime sees `once` on the effect and resumes that process with RESUME carrying the
//     result (`RESUME.value = v; gen.next(RESUME)`); `yield*` hands it to ONE.next(RESUME), which
//     ends the delegation with that value, so `yield* now()` evaluates to the time as before;
//   - errors (`gen.throw`) are rethrown at the `yield*`, a cancel (`gen.return`) ends it.
// So the object a helper returns is valid for one immediate `yield*` only: `const s = sleep(5);
// const t = sleep(9); yield* s` would sleep 9 us. Every use in this code base is `yield* helper(...)`.

/** Marks the shared effect objects the helpers yield (see the protocol above). */
export interface OnceMark {
  readonly once: true;
}

/** The runtime's resume token for a process that yielded a shared effect (internal). */
export const RESUME: { value: unknown } = { value: undefined };

const YIELDED: IteratorYieldResult<Effect> = { done: false, value: { kind: 'now' } };
const DONE: IteratorReturnResult<unknown> = { done: true, value: undefined };

const ONE = {
  next(x?: unknown): IteratorResult<Effect, unknown> {
    if (x === RESUME) {
      DONE.value = RESUME.value;
      RESUME.value = undefined;
      return DONE;
    }
    return YIELDED;
  },
  return(v?: unknown): IteratorResult<Effect, unknown> {
    return { done: true, value: v };
  },
  throw(e?: unknown): IteratorResult<Effect, unknown> {
    throw e;
  },
  [Symbol.iterator]() {
    return ONE;
  },
};

function once<T>(eff: Effect & OnceMark): Op<T> {
  YIELDED.value = eff;
  return ONE as unknown as Op<T>;
}

const E_SLEEP = { kind: 'sleep' as const, us: 0, once: true as const };
const E_UNTIL = { kind: 'sleepUntil' as const, atUs: 0, once: true as const };
const E_NOW = { kind: 'now' as const, once: true as const };
const E_SELF = { kind: 'self' as const, once: true as const };
const E_SPAWN = { kind: 'spawn' as const, name: '', body: undefined as unknown as Process<unknown>, agent: undefined as string | undefined, once: true as const };
const E_CANCEL = { kind: 'cancel' as const, pid: 0, once: true as const };
const E_JOIN = { kind: 'join' as const, pid: 0, once: true as const };
const E_SEND = { kind: 'send' as const, to: '', msg: undefined as unknown, once: true as const };
const E_RECEIVE = { kind: 'receive' as const, mailbox: '', timeoutUs: undefined as number | undefined, once: true as const };
const E_RACE = { kind: 'race' as const, effects: [] as Effect[], once: true as const };
const E_CALL = { kind: 'call' as const, port: '', op: '', args: [] as unknown[], once: true as const };
const E_WATCH = { kind: 'watch' as const, probe: undefined as unknown as ProbeSpec, intervalUs: 0, phaseUs: undefined as number | undefined, once: true as const };
const E_STEADY = { kind: 'steadyLoad' as const, host: '', intervalUs: 0, last: undefined as unknown as LoadSample, once: true as const };
const E_QUIET = { kind: 'quietHolders' as const, vip: null as string | null, box: null as string | null, intervalUs: 0, expect: [] as readonly string[], guard: undefined as unknown as QuietGuard, checks: [] as readonly StoreCheck[], once: true as const };
const E_TRACE = { kind: 'trace' as const, record: { kind: '', subject: '', data: undefined } as TraceRecord, once: true as const };

/** A plain copy of a shared effect (for `onEffect` observers, which may keep what they get). */
export function detachEffect(eff: Effect): Effect {
  if ((eff as Partial<OnceMark>).once !== true) return eff;
  const { once: _once, ...plain } = eff as Effect & OnceMark;
  void _once;
  if (plain.kind === 'trace') plain.record = { ...plain.record };
  if (plain.kind === 'race') plain.effects = [...plain.effects];
  return plain as Effect;
}

export function sleep(us: number): Op<void> {
  E_SLEEP.us = us;
  return once(E_SLEEP);
}

/** Sleeps until the absolute time `atUs` (returns at once if it has passed). */
export function sleepUntil(atUs: number): Op<void> {
  E_UNTIL.atUs = atUs;
  return once(E_UNTIL);
}

export function now(): Op<number> {
  return once(E_NOW);
}

/** This process's id. */
export function self(): Op<number> {
  return once(E_SELF);
}

/** Starts a child process; returns its pid. `agent` selects the ports it uses (default: the parent's). */
export function spawn(name: string, body: Process<unknown>, agent?: string): Op<number> {
  E_SPAWN.name = name;
  E_SPAWN.body = body;
  E_SPAWN.agent = agent;
  return once(E_SPAWN);
}

/** Cancels a process: its pending effect is dropped and its `finally` blocks run. */
export function cancel(pid: number): Op<void> {
  E_CANCEL.pid = pid;
  return once(E_CANCEL);
}

export function join<T = unknown>(pid: number): Op<JoinResult<T>> {
  E_JOIN.pid = pid;
  return once(E_JOIN);
}

/** Puts a message in a mailbox of this runtime (never blocks). */
export function send(to: string, msg: unknown): Op<void> {
  E_SEND.to = to;
  E_SEND.msg = msg;
  return once(E_SEND);
}

/** Takes the next message of a mailbox; `undefined` when `timeoutUs` passes first. */
export function receive<T = unknown>(mailbox: string, timeoutUs?: number): Op<T | undefined> {
  E_RECEIVE.mailbox = mailbox;
  E_RECEIVE.timeoutUs = timeoutUs;
  return once(E_RECEIVE);
}

/** Waits for the first of several blocking effects; the others are withdrawn. */
export function firstOf(...effects: Effect[]): Op<RaceResult> {
  E_RACE.effects = effects;
  return once(E_RACE);
}

/**
 * Probes a target every `intervalUs` (on the grid start + k * interval, k >= 1, or
 * phase + k * interval when `phaseUs` is given) until a probe fails; returns that probe's result.
 */
export function watch(probe: ProbeSpec, intervalUs: number, phaseUs?: number): Op<ProbeResult> {
  E_WATCH.probe = probe;
  E_WATCH.intervalUs = intervalUs;
  E_WATCH.phaseUs = phaseUs;
  return once(E_WATCH);
}

/**
 * Samples `host`'s load (the agent's own host) every `intervalUs` after the previous sample
 * completed, until a sample reads differently from `last` (a field differs as JSON text would);
 * returns that sample. As a loop: `for (;;) { sleep(interval); s = load.sample(host); if (s
 * differs) return s }`, except that in sim both the wake-up and the sample's reading fall in the
 * late lane of their instant (after every ordinary event of it, ordered by the owner's pid), so
 * a quiet sampler can be skipped exactly: see `skipSteadyLoad` in runtime.ts. A failed sample
 * throws (as the loop's `call` would).
 */
export function awaitLoadChange(host: string, intervalUs: number, last: LoadSample): Op<LoadSample> {
  E_STEADY.host = host;
  E_STEADY.intervalUs = intervalUs;
  E_STEADY.last = last;
  return once(E_STEADY);
}

/**
 * Polls a VIP's holders every `intervalUs` after the previous poll completed, while the loop's
 * other inputs say the poll would be made: `guard.ok()` and every store check holds (and the
 * store answers). Returns the first holders that differ from `expect`, or null at the first
 * instant the guard or a check does not hold (the caller then goes on as its plain loop does
 * after its sleep). As a loop: `for (;;) { sleep(interval); if (!inputs) return null; h =
 * network.vipHolders(vip); if (h != expect) return h }`, except that in sim the wake-up and the
 * reading fall in the late lane of their instant, so a quiet audit can be skipped exactly (see
 * engine/runtime/quiet-holders.ts). Live mode sleeps once and returns null: the caller's plain loop.
 */
export function awaitHoldersChange(vip: string, intervalUs: number, expect: readonly string[], guard: QuietGuard, checks: readonly StoreCheck[]): Op<string[] | null> {
  E_QUIET.vip = vip;
  E_QUIET.box = null;
  E_QUIET.intervalUs = intervalUs;
  E_QUIET.expect = expect;
  E_QUIET.guard = guard;
  E_QUIET.checks = checks;
  return once(E_QUIET);
}

/**
 * `receive(mailbox, intervalUs)` again and again while nothing would be done at its timeouts:
 * `guard.ok()` and every store check hold (and the store answers). Returns { message } for the
 * first message, or null at the first timeout where the guard or a check does not hold (the
 * caller goes on as its plain loop does after a timeout). In sim the timeouts fall in the late
 * lane of their instant and are skipped while quiet; live mode receives once (the caller's plain loop).
 */
export function awaitReconcile(mailbox: string, intervalUs: number, checks: readonly StoreCheck[], guard: QuietGuard): Op<{ message: unknown } | null> {
  E_QUIET.vip = null;
  E_QUIET.box = mailbox;
  E_QUIET.intervalUs = intervalUs;
  E_QUIET.expect = [];
  E_QUIET.guard = guard;
  E_QUIET.checks = checks;
  return once(E_QUIET) as Op<{ message: unknown } | null>;
}

/** A claim another manager holds: [separated server, claimant]. */
export type Claim = readonly [string, string];

export interface ClaimRoundsArgs {
  intervalUs: number;
  /** The group file's key and the foreign claims in its record (the round's list, in order). */
  key: string;
  claimsOf: (value: unknown) => Claim[];
  /** The caller's host (probed first when there is a claim) and a network probe of a host. */
  self: string;
  probeOf: (host: string) => ProbeSpec;
}

/**
 * null: the caller makes a whole round now (reads the group file itself); else the round with
 * these claims (read at its wake-up) goes on for real from probe `from` (0: the caller's own host,
 * j: the j-th claimant), the first one that would fail.
 */
export type ClaimRoundsResult = { claims: Claim[]; from: number } | null;

/**
 * The orphan watcher's rounds (policies/p2p) while they find nothing to do: as a loop, `for (;;) {
 * sleep(interval); claims = read(key); if (claims.length === 0) continue; probe self, then each
 * claimant, each when the previous one returned; at the first that fails return }`, except that in
 * sim the wake-ups and the probes' calls fall in the late lane of their instant, so quiet rounds
 * can be skipped exactly (engine/runtime/quiet-rounds.ts). Live mode sleeps once and returns null:
 * the caller's plain round.
 */
export function awaitClaimRounds(args: ClaimRoundsArgs): Op<ClaimRoundsResult> {
  return once({ kind: 'claimRounds', args, once: true }) as Op<ClaimRoundsResult>;
}

export function trace(kind: string, subject: string, data?: Record<string, unknown>): Op<void> {
  const r = E_TRACE.record;
  r.kind = kind;
  r.subject = subject;
  r.data = data;
  return once(E_TRACE);
}

/** Untyped domain call; use the typed helpers of engine/ports instead. */
export function callPort(port: string, op: string, args: unknown[]): Op<unknown> {
  E_CALL.port = port;
  E_CALL.op = op;
  E_CALL.args = args;
  return once(E_CALL);
}

/** Effect constructors for `firstOf`. */
export const E = {
  sleep: (us: number): Effect => ({ kind: 'sleep', us }),
  receive: (mailbox: string, timeoutUs?: number): Effect => ({ kind: 'receive', mailbox, timeoutUs }),
  join: (pid: number): Effect => ({ kind: 'join', pid }),
  call: (port: string, op: string, args: unknown[]): Effect => ({ kind: 'call', port, op, args }),
  watch: (probe: ProbeSpec, intervalUs: number, phaseUs?: number): Effect => ({ kind: 'watch', probe, intervalUs, phaseUs }),
};
