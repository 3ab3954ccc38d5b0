// Runs the web view follows: a simulation driven in wall-clock slices, or a saved trace played
// back. sim/ never reads the wall clock; the pacing (x1 ... x10000 of real time, or as fast as
// possible), pause and step live here. Every run exposes the same thing to the page: a growing
// list of trace events and a status.
//
// No work holds the event loop for long: a run advances in slices of at most `sliceEvents`
// kernel events or `sliceMs` milliseconds, yielding (setImmediate) between them, whether it runs,
// steps or takes a fault. A sim run that fires more than `eventsPerSimSecond` kernel events within
// one simulated second (a model that reschedules itself with no delay: simulated time stops) is
// cut off into the `error` state, and so is one whose trace outgrows `runEvents`.
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Simulation } from '../../adapters/sim/simulation.ts';
import { ndjsonLine } from '../../trace/ndjson.ts';
import type { FaultSpec } from '../../sim/scenario/schema.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import type { RunInfo, RunState, Speed, Topology } from '../shared/api.ts';
import { limitsOf, writable, yieldToOthers, type Limits } from './limits.ts';
import { retainNewest } from './traces.ts';

export type { RunInfo, RunState, Speed };

/** Wall-clock period of a paced run's slices. */
const TICK_MS = 50;
/** Kernel events fired between two looks at the slice's clock and the runaway guards. */
const CHUNK_EVENTS = 1_000;
const STATUS_EVERY_MS = 100;
/** A step runs at most this many instants that add nothing to the trace. */
const MAX_QUIET_INSTANTS = 100_000;
/** Trace lines written per slice when a finished run is saved. */
const SAVE_LINES_PER_SLICE = 5_000;

/** Where a run's events come from: a simulation, a saved trace, or a live run on a lab (web/server/live.ts). */
export interface Source {
  readonly kind: 'sim' | 'replay' | 'live';
  /** Events so far (grows as the run advances). */
  readonly events: TraceLine[];
  nowUs(): number;
  /** Time of the next event, or Infinity. */
  peekUs(): number;
  /** Fires the events at or before `untilUs` (at most `maxEvents`); time moves to `untilUs` when all are fired. */
  advance(untilUs: number, maxEvents: number): number;
  /** Live: how far the run may publish now (the lab's wall clock less a settling lag). */
  liveTargetUs?(): number;
  /** Live: the lab run has ended and every event of it is published; `error` says why it failed. */
  liveEnd?(): { state: 'done' | 'stopped' | 'error'; summary: string | null; detail: string | null } | null;
}

class SimSource implements Source {
  readonly kind = 'sim';
  constructor(readonly sim: Simulation) {
    sim.start();
  }
  get events(): TraceLine[] {
    return this.sim.events;
  }
  nowUs(): number {
    return this.sim.kernel.nowUs();
  }
  peekUs(): number {
    return this.sim.kernel.peekUs();
  }
  advance(untilUs: number, maxEvents: number): number {
    if (untilUs < this.nowUs()) return 0;
    return this.sim.kernel.run({ untilUs, maxEvents });
  }
}

class ReplaySource implements Source {
  readonly kind = 'replay';
  readonly events: TraceLine[] = [];
  private clockUs = 0;
  private next = 0;
  constructor(private readonly all: TraceLine[]) {}
  nowUs(): number {
    return this.clockUs;
  }
  peekUs(): number {
    return this.next < this.all.length ? this.all[this.next].t : Infinity;
  }
  advance(untilUs: number, maxEvents: number): number {
    let n = 0;
    while (n < maxEvents && this.next < this.all.length && this.all[this.next].t <= untilUs) {
      const ev = this.all[this.next++];
      this.clockUs = Math.max(this.clockUs, ev.t);
      this.events.push(ev);
      n++;
    }
    if (n < maxEvents && untilUs > this.clockUs) this.clockUs = untilUs;
    return n;
  }
}

export type RunMessage =
  | { type: 'trace'; index: number; event: TraceLine }
  | { type: 'status'; status: RunInfo };

export type RunListener = (messages: RunMessage[]) => void;

/** A refused call on a run (409 it has ended, 429 too many runs, ...). */
export class RunError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Why a run was cut off: a short sentence for people, and the detail. */
class CutOff extends Error {
  constructor(readonly summary: string, readonly detail: string) {
    super(`${summary}: ${detail}`);
  }
}

/** "12.00 s", "3.50 h", "2.00 d". */
export function fmtTime(us: number): string {
  const s = us / 1e6;
  if (s >= 86_400) return `${(s / 86_400).toFixed(2)} d`;
  if (s >= 3600) return `${(s / 3600).toFixed(2)} h`;
  return `${s.toFixed(2)} s`;
}

export interface RunOptions {
  id?: string;
  scenario: string | null;
  seed: number | null;
  speed: Speed;
  untilUs: number;
  paused?: boolean;
  topology: Topology | null;
  traceFile?: string | null;
  /** Called once when the run reaches its end (sim runs save their trace here); the run is `done` when it settles. */
  onDone?: (run: Run) => Promise<void> | void;
  /** Every event of the run, once, in order, as it is published (metrics). */
  onEvents?: (events: readonly TraceLine[]) => void;
  /** Called once when the run ends (done or error). */
  onEnd?: (run: Run) => void;
  /** Live runs: who runs the lab run, for the status (RunInfo.live). */
  live?: RunInfo['live'];
  limits?: Partial<Limits>;
}

export class Run {
  readonly id: string;
  readonly createdAt = new Date().toISOString();
  readonly topology: Topology | null;
  private readonly limits: Limits;
  private stateValue: RunState;
  private speedValue: Speed;
  private errorText: string | null = null;
  private errorDetail: string | null = null;
  // Kept apart: clearImmediate() on a Timeout (or the reverse) corrupts Node's immediate queue.
  private timer: { kind: 'timeout'; handle: ReturnType<typeof setTimeout> } | { kind: 'immediate'; handle: ReturnType<typeof setImmediate> } | null = null;
  private anchor = { simUs: 0, wallMs: 0 };
  private flushed = 0;
  private lastStatusMs = -Infinity;
  private readonly listeners = new Set<RunListener>();
  /** Steps and fault instants, one after the other. */
  private jobs: Promise<void> = Promise.resolve();
  private pendingJobs = 0;
  /** Bumped by pause, resume and the run's end: steps begun before stop at their next slice. */
  private generation = 0;
  /** The run reached its end and is being saved: it takes no more calls. */
  private finishing = false;
  /** Runaway guard: kernel events in the current simulated second. */
  private budget = { second: -1, events: 0, firstUs: 0 };
  private sliceFired = 0;
  /** Wall clock of the last call (pause, resume, step, speed, fault): idle paused runs are ended. */
  lastCallMs = performance.now();
  traceFile: string | null;

  constructor(private readonly source: Source, readonly opts: RunOptions) {
    this.id = opts.id ?? randomUUID().slice(0, 8);
    this.topology = opts.topology;
    this.limits = limitsOf(opts.limits);
    this.speedValue = opts.speed;
    this.traceFile = opts.traceFile ?? null;
    this.stateValue = opts.paused ? 'paused' : 'running';
    // Events before the first listener are past events: a stream sends them itself. After
    // every advance flush() runs, so outside an advance flushed === events.length.
    this.flushed = source.events.length;
    if (this.flushed > 0) opts.onEvents?.(source.events.slice(0, this.flushed));
    this.reanchor();
    this.schedule();
  }

  get kind(): 'sim' | 'replay' | 'live' {
    return this.source.kind;
  }

  get state(): RunState {
    return this.stateValue;
  }

  /** Running or paused (and not being saved). */
  get live(): boolean {
    return (this.stateValue === 'running' || this.stateValue === 'paused') && !this.finishing;
  }

  get events(): TraceLine[] {
    return this.source.events;
  }

  /** The simulation behind a sim run (null for replays). */
  get sim(): Simulation | null {
    return this.source instanceof SimSource ? this.source.sim : null;
  }

  info(): RunInfo {
    return {
      id: this.id, kind: this.source.kind, scenario: this.opts.scenario, traceFile: this.traceFile, seed: this.opts.seed,
      state: this.stateValue, speed: this.speedValue, nowUs: this.source.nowUs(), untilUs: this.opts.untilUs,
      events: this.source.events.length, createdAt: this.createdAt, error: this.errorText, errorDetail: this.errorDetail,
      ...(this.opts.live ? { live: this.opts.live } : {}),
    };
  }

  /** Registers a listener of new events and status changes; returns the unsubscribe function. */
  subscribe(l: RunListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  pause(): void {
    this.assertActive('pause');
    this.assertPaced('pause');
    this.touch();
    this.generation++;
    this.stopTimer();
    this.stateValue = 'paused';
    this.flush(true);
  }

  resume(): void {
    this.assertActive('resume');
    this.assertPaced('resume');
    this.touch();
    this.generation++;
    if (this.stateValue === 'running') return;
    this.stateValue = 'running';
    this.reanchor();
    this.flush(true);
    this.schedule();
  }

  setSpeed(speed: Speed): void {
    this.assertActive('change speed');
    this.assertPaced('change speed');
    this.touch();
    this.speedValue = speed;
    this.reanchor();
    if (this.stateValue === 'running') {
      this.stopTimer();
      this.schedule();
    }
    this.flush(true);
  }

  /**
   * Pauses, then runs to the next instant that adds to the trace (or advances by `us`), in
   * slices. Resolves when the step is done, or stopped early: by pause or resume, by `signal`
   * (the caller went away), or by the run's end. A step asked for while another one runs
   * follows it.
   */
  step(us?: number, signal?: AbortSignal): Promise<void> {
    this.assertActive('step');
    this.assertPaced('step');
    this.touch();
    this.stopTimer();
    this.stateValue = 'paused';
    const generation = this.generation;
    return this.job(generation, signal, () => {
      const until = this.opts.untilUs;
      if (us !== undefined) {
        const target = Math.min(until, this.source.nowUs() + us);
        return () => this.fire(target, CHUNK_EVENTS) < CHUNK_EVENTS;
      }
      // The next instant that shows something: instants whose events change nothing in the
      // trace (a quiet probe, a timer) are run through.
      const seen = this.source.events.length;
      let quiet = 0;
      let instant = -1;
      return () => {
        if (instant < 0) {
          if (this.atEnd()) return true;
          const next = this.source.peekUs();
          instant = next > until ? until : next;
        }
        if (this.fire(instant, CHUNK_EVENTS) >= CHUNK_EVENTS) return false; // the instant goes on
        if (this.source.events.length > seen || this.atEnd() || ++quiet >= MAX_QUIET_INSTANTS) return true;
        instant = -1;
        return false;
      };
    });
  }

  /**
   * Injects a fault into a sim run at its current simulated time (in a kernel event of its own,
   * like the scenario's faults). A paused run then runs that instant through, in slices; a
   * running one does so by itself. Resolves with the time of the fault.
   */
  async injectFault(f: FaultSpec): Promise<number> {
    const sim = this.sim;
    if (!sim) throw new RunError(409, `run ${this.id} is a replay of a saved trace: faults can only be injected into sim runs`);
    this.assertActive('take a fault');
    this.touch();
    const nowUs = sim.kernel.nowUs();
    sim.kernel.at(nowUs, () => sim.world.injectFault(f));
    // A step under way runs the fault's instant itself: no need to wait for it.
    if (this.stateValue === 'paused' && this.pendingJobs === 0) {
      await this.job(this.generation, undefined, () => () => this.fire(nowUs, CHUNK_EVENTS) < CHUNK_EVENTS);
    }
    this.flush(true);
    return nowUs;
  }

  /**
   * Does an operator's action on the simulated world now, between kernel events (VM control):
   * `act` changes the world at the run's current time or refuses by throwing; what it starts
   * ends in later events, as the run goes on.
   */
  actOnWorld<T>(what: string, act: (sim: Simulation) => T): { atUs: number; value: T } {
    const sim = this.sim;
    if (!sim) throw new RunError(409, `run ${this.id} is a ${this.source.kind === 'live' ? 'live run (use the lab\'s VM control)' : 'replay of a saved trace'}: only sim runs ${what}`);
    this.assertActive(what);
    this.touch();
    const atUs = sim.kernel.nowUs();
    const value = act(sim);
    this.flush(true);
    return { atUs, value };
  }

  /** Ends a live run from outside (an idle paused run evicted by the manager). */
  end(summary: string, detail: string): void {
    if (!this.live) return;
    this.fail(new CutOff(summary, detail));
    this.flush(true);
  }

  /** Stops the run's work (the server is closing, or the run is dropped). */
  dispose(): void {
    this.generation++;
    this.stopTimer();
    this.listeners.clear();
  }

  private touch(): void {
    this.lastCallMs = performance.now();
  }

  /** A live run follows the lab's wall clock: it cannot be paused, stepped or sped up. */
  private assertPaced(what: string): void {
    if (this.source.kind === 'live') throw new RunError(409, `run ${this.id} is a live run: it follows the lab in wall-clock time and cannot ${what} (stop it instead)`);
  }

  /** A live run: publish what has come in now (the lab run ended, or a fault was recorded). */
  poke(): void {
    if (this.source.kind !== 'live' || this.ended) return;
    this.stopTimer();
    this.schedule(true);
  }

  private assertActive(what: string): void {
    if (this.stateValue === 'done' || this.stateValue === 'error') {
      throw new RunError(409, `run ${this.id} has ended (${this.stateValue}${this.errorText ? `: ${this.errorText}` : ''}); it cannot ${what}`);
    }
    if (this.finishing) throw new RunError(409, `run ${this.id} has reached its end (its trace is being saved); it cannot ${what}`);
  }

  private reanchor(): void {
    this.anchor = { simUs: this.source.nowUs(), wallMs: performance.now() };
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    if (this.timer.kind === 'timeout') clearTimeout(this.timer.handle);
    else clearImmediate(this.timer.handle);
    this.timer = null;
  }

  private schedule(soon = false): void {
    if (this.stateValue !== 'running' || this.finishing || this.timer !== null) return;
    this.timer = this.speedValue === 'max' || soon
      ? { kind: 'immediate', handle: setImmediate(() => this.tick()) }
      : { kind: 'timeout', handle: setTimeout(() => this.tick(), TICK_MS) };
  }

  private get ended(): boolean {
    return this.stateValue === 'done' || this.stateValue === 'error' || this.finishing;
  }

  private fail(e: unknown): void {
    this.stopTimer();
    this.generation++;
    this.stateValue = 'error';
    this.opts.onEnd?.(this);
    if (e instanceof CutOff) {
      this.errorText = e.summary;
      this.errorDetail = e.detail;
    } else {
      this.errorText = `the simulation failed at ${fmtTime(this.source.nowUs())}`;
      this.errorDetail = (e as Error)?.message ?? String(e);
    }
  }

  /** The run has nothing left to do: its time is up and no event is due by then (a replay: all events played). */
  private atEnd(): boolean {
    if (this.source.kind === 'replay') return this.source.peekUs() === Infinity;
    if (this.source.kind === 'live') return this.source.liveEnd?.() != null;
    return this.source.nowUs() >= this.opts.untilUs && this.source.peekUs() > this.opts.untilUs;
  }

  /** Fires at most `max` events up to `untilUs`, counted against the slice and the runaway guards. */
  private fire(untilUs: number, max: number): number {
    const n = this.source.advance(untilUs, max);
    this.sliceFired += n;
    const L = this.limits;
    if (n > 0 && this.source.kind === 'sim') {
      const now = this.source.nowUs();
      const second = Math.floor(now / 1e6);
      if (second !== this.budget.second) this.budget = { second, events: 0, firstUs: now };
      this.budget.events += n;
      if (this.budget.events > L.eventsPerSimSecond) {
        if (this.budget.firstUs === now) {
          throw new CutOff(`stopped: simulated time stopped moving at ${fmtTime(now)}`,
            `more than ${L.eventsPerSimSecond} kernel events fired at t = ${now} us without simulated time moving on; a model reschedules itself with no delay (a p2p waitPoll of 0 does this), so the run was cut off`);
        }
        throw new CutOff(`stopped: too many events per simulated second at ${fmtTime(now)}`,
          `more than ${L.eventsPerSimSecond} kernel events within the simulated second from ${second} s (the shipped scenarios fire a few dozen); a model reschedules itself with a tiny delay, so the run was cut off`);
      }
    }
    if (this.source.events.length > L.runEvents) {
      throw new CutOff(`stopped: the trace reached ${L.runEvents} events, the most the web view keeps per run`,
        `at ${fmtTime(this.source.nowUs())}; run long experiments with \`hatwin sim --trace FILE\`, which keeps no trace in memory`);
    }
    return n;
  }

  /**
   * One slice: calls `chunk` (which fires a bounded number of events and says whether its work is
   * done) until the work is done, the run ends or the slice's events or time are used up. Sends
   * the new events and status. Returns true when there is nothing more for this slice's caller.
   */
  private slice(chunk: () => boolean): boolean {
    const t0 = performance.now();
    const L = this.limits;
    const before = this.stateValue;
    this.sliceFired = 0;
    let finished = false;
    try {
      for (;;) {
        if (chunk()) {
          finished = true;
          break;
        }
        if (this.sliceFired >= L.sliceEvents || performance.now() - t0 >= L.sliceMs) break;
      }
    } catch (e) {
      this.fail(e);
    }
    this.afterAdvance();
    this.flush(this.stateValue !== before);
    return finished || this.ended;
  }

  /**
   * Queues work made of slices: `make` builds the chunk function when the work's turn comes.
   * The work stops early when pause, resume or the run's end bumps the generation, or `signal` fires.
   */
  private job(generation: number, signal: AbortSignal | undefined, make: () => () => boolean): Promise<void> {
    const stale = () => generation !== this.generation || this.ended || signal?.aborted === true;
    const work = async () => {
      if (stale()) return;
      const chunk = make();
      while (!this.slice(chunk)) {
        await yieldToOthers();
        if (stale()) break;
      }
      this.flush(true);
    };
    this.pendingJobs++;
    const p = this.jobs.then(work).finally(() => this.pendingJobs--);
    this.jobs = p.catch(() => undefined);
    return p;
  }

  private tick(): void {
    this.timer = null;
    if (this.stateValue !== 'running' || this.ended) return;
    const until = this.opts.untilUs;
    const target = this.source.liveTargetUs
      ? this.source.liveTargetUs()
      : this.speedValue === 'max'
      ? until
      : Math.min(until, Math.floor(this.anchor.simUs + (performance.now() - this.anchor.wallMs) * 1000 * this.speedValue));
    // A paced run that did not reach its target in one slice catches up at once (else it waits a tick).
    const reached = this.slice(() => this.fire(target, CHUNK_EVENTS) < CHUNK_EVENTS);
    this.schedule(!reached);
  }

  private afterAdvance(): void {
    if (this.ended || !this.atEnd()) return;
    const liveEnd = this.source.liveEnd?.();
    if (liveEnd?.state === 'error') {
      this.fail(new CutOff(liveEnd.summary ?? 'the live run failed', liveEnd.detail ?? ''));
      return;
    }
    this.stopTimer();
    this.generation++;
    const onDone = this.opts.onDone;
    const finish = (problem?: unknown) => {
      this.finishing = false;
      this.stateValue = 'done';
      if (liveEnd?.state === 'stopped') {
        this.errorText = liveEnd.summary ?? 'stopped before its end';
        this.errorDetail = liveEnd.detail;
      }
      this.opts.onEnd?.(this);
      if (problem !== undefined) {
        this.errorText = 'finished, but its trace could not be saved';
        this.errorDetail = (problem as Error)?.message ?? String(problem);
      }
      this.flush(true);
    };
    if (!onDone) return finish();
    this.finishing = true;
    let result: Promise<void> | void;
    try {
      result = onDone(this);
    } catch (e) {
      return finish(e);
    }
    if (result) result.then(() => finish(), (e: unknown) => finish(e));
    else finish();
  }

  /** Sends the new events (and the status when it changed or is due) to the listeners. */
  private flush(statusNow: boolean): void {
    const evs = this.source.events;
    const msgs: RunMessage[] = [];
    for (let i = this.flushed; i < evs.length; i++) msgs.push({ type: 'trace', index: i, event: evs[i] });
    if (msgs.length > 0 && this.opts.onEvents) this.opts.onEvents(evs.slice(this.flushed));
    this.flushed = evs.length;
    const nowMs = performance.now();
    if (statusNow || msgs.length > 0 || nowMs - this.lastStatusMs >= STATUS_EVERY_MS) {
      msgs.push({ type: 'status', status: this.info() });
      this.lastStatusMs = nowMs;
    }
    if (msgs.length === 0) return;
    for (const l of [...this.listeners]) l(msgs);
  }
}

/** Writes events as NDJSON to `file` (through a temporary file and a rename), in slices. */
export async function writeTraceFile(file: string, events: readonly TraceLine[]): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const n = events.length;
  const out = createWriteStream(tmp);
  try {
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.once('open', () => resolve());
    });
    for (let i = 0; i < n; i += SAVE_LINES_PER_SLICE) {
      let text = '';
      for (let j = i; j < Math.min(n, i + SAVE_LINES_PER_SLICE); j++) text += ndjsonLine(events[j]);
      if (!out.write(text)) await writable(out);
      else await yieldToOthers();
      if (out.errored) throw out.errored;
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    renameSync(tmp, file);
  } catch (e) {
    out.destroy();
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw e;
  }
}

export interface RunManagerOptions {
  /** Finished sim runs are saved to <outDir>/web-runs/. */
  outDir: string;
  limits?: Partial<Limits>;
  /** Every published event of sim and live runs (not replays), with its run (the /metrics feed). */
  onEvents?: (run: { id: string; kind: string }, events: readonly TraceLine[]) => void;
  /** A sim or live run ended. */
  onRunEnd?: (run: Run) => void;
}

export class RunManager {
  private readonly runs = new Map<string, Run>();
  readonly limits: Limits;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly opts: RunManagerOptions) {
    this.limits = limitsOf(opts.limits);
    this.sweeper = setInterval(() => this.sweep(), Math.max(20, Math.min(30_000, this.limits.pausedIdleMs / 2)));
    this.sweeper.unref();
  }

  get(id: string): Run | undefined {
    return this.runs.get(id);
  }

  list(): RunInfo[] {
    return [...this.runs.values()].map((r) => r.info()).reverse();
  }

  /** Runs running or paused. */
  liveCount(): number {
    let n = 0;
    for (const r of this.runs.values()) if (r.live) n++;
    return n;
  }

  /** Throws 429 when no other run may start now (after ending idle paused runs). */
  assertRoom(): void {
    this.sweep();
    const L = this.limits;
    if (this.liveCount() >= L.liveRuns) {
      throw new RunError(429, `too many runs: ${L.liveRuns} are running or paused, the most this server keeps; let one finish, or wait: a paused run without a call for ${fmtMinutes(L.pausedIdleMs)} is ended`);
    }
  }

  private feed(id: string, kind: string): Pick<RunOptions, 'onEvents' | 'onEnd'> {
    const on = this.opts.onEvents;
    return {
      onEvents: on ? (evs) => on({ id, kind }, evs) : undefined,
      onEnd: (run) => this.opts.onRunEnd?.(run),
    };
  }

  startSim(sim: Simulation, o: Omit<RunOptions, 'onDone' | 'limits'>): Run {
    this.assertRoom();
    const id = o.id ?? randomUUID().slice(0, 8);
    return this.add(new Run(new SimSource(sim), {
      ...o,
      id,
      ...this.feed(id, 'sim'),
      limits: this.limits,
      onDone: async (run) => {
        const name = `${(o.scenario ?? 'run').replace(/[^A-Za-z0-9_.-]+/g, '-')}-seed${o.seed ?? 0}-${run.id}.ndjson`;
        const dir = join(this.opts.outDir, 'web-runs');
        mkdirSync(dir, { recursive: true });
        await writeTraceFile(join(dir, name), run.events);
        run.traceFile = join('web-runs', name);
        retainNewest(dir, this.limits.savedTraces, name);
      },
    }));
  }

  startReplay(events: TraceLine[], o: Omit<RunOptions, 'onDone' | 'limits'>): Run {
    this.assertRoom();
    return this.add(new Run(new ReplaySource(events), { ...o, limits: this.limits }));
  }

  /** A live run on a lab (web/server/live.ts makes the source); `onDone` points it at its final trace. */
  startLive(source: Source, o: Omit<RunOptions, 'limits'>): Run {
    this.assertRoom();
    const id = o.id ?? randomUUID().slice(0, 8);
    return this.add(new Run(source, { ...o, id, ...this.feed(id, 'live'), speed: 1, limits: this.limits }));
  }

  /** Ends paused runs idle too long; drops the oldest finished runs beyond the kept count and events. */
  sweep(): void {
    const L = this.limits;
    const now = performance.now();
    for (const r of this.runs.values()) {
      if (r.state === 'paused' && r.live && now - r.lastCallMs >= L.pausedIdleMs) {
        r.end(`ended: paused with no call for ${fmtMinutes(L.pausedIdleMs)}`,
          `this server keeps at most ${L.liveRuns} runs running or paused, and ends a paused run that had no pause, resume, step, speed or fault call for ${fmtMinutes(L.pausedIdleMs)}`);
      }
    }
    let kept = 0;
    for (const r of this.runs.values()) if (!r.live) kept += r.events.length;
    for (const r of [...this.runs.values()]) {
      if (this.runs.size <= L.keptRuns && kept <= L.keptEvents) break;
      if ((r.state === 'done' || r.state === 'error') && r.listenerCount === 0) {
        kept -= r.events.length;
        r.dispose();
        this.runs.delete(r.id);
      }
    }
  }

  private add(run: Run): Run {
    this.runs.set(run.id, run);
    this.sweep();
    return run;
  }

  dispose(): void {
    clearInterval(this.sweeper);
    for (const r of this.runs.values()) r.dispose();
  }
}

function fmtMinutes(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Math.round(ms / 1000)} s`;
  return `${ms} ms`;
}
