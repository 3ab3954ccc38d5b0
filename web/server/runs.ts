// Runs the web view follows: a simulation driven in wall-clock slices, or a saved trace played
// back. sim/ never reads the wall clock; the pacing (x1 ... x10000 of real time, or as fast as
// possible), pause and step live here. Every run exposes the same thing to the page: a growing
// list of trace events and a status.
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Simulation } from '../../adapters/sim/simulation.ts';
import { toNdjson } from '../../trace/ndjson.ts';
import type { FaultSpec } from '../../sim/scenario/schema.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import type { RunInfo, RunState, Speed, Topology } from '../shared/api.ts';

export type { RunInfo, RunState, Speed };


/** Wall-clock period of a paced run's slices. */
const TICK_MS = 50;
/** A paced slice fires at most this many events (a run that cannot keep up falls behind). */
const MAX_EVENTS_PER_TICK = 50_000;
/** At full speed a slice runs this long before yielding to the server's other work. */
const MAX_SLICE_MS = 25;
const STATUS_EVERY_MS = 100;
/** A step runs at most this many instants that add nothing to the trace. */
const MAX_QUIET_INSTANTS = 100_000;

/** Where a run's events come from. `live` (hatwin serve --lab) will be a third kind. */
interface Source {
  readonly kind: 'sim' | 'replay';
  /** Events so far (grows as the run advances). */
  readonly events: TraceLine[];
  nowUs(): number;
  /** Time of the next event, or Infinity. */
  peekUs(): number;
  /** Fires the events at or before `untilUs` (at most `maxEvents`); time moves to `untilUs` when all are fired. */
  advance(untilUs: number, maxEvents: number): number;
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

export class RunError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
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
  /** Called once when the run reaches its end (sim runs save their trace here). */
  onDone?: (run: Run) => void;
}

export class Run {
  readonly id: string;
  readonly createdAt = new Date().toISOString();
  readonly topology: Topology | null;
  private stateValue: RunState;
  private speedValue: Speed;
  private errorText: string | null = null;
  // Kept apart: clearImmediate() on a Timeout (or the reverse) corrupts Node's immediate queue.
  private timer: { kind: 'timeout'; handle: ReturnType<typeof setTimeout> } | { kind: 'immediate'; handle: ReturnType<typeof setImmediate> } | null = null;
  private anchor = { simUs: 0, wallMs: 0 };
  private flushed = 0;
  private lastStatusMs = -Infinity;
  private readonly listeners = new Set<RunListener>();
  traceFile: string | null;

  constructor(private readonly source: Source, readonly opts: RunOptions) {
    this.id = opts.id ?? randomUUID().slice(0, 8);
    this.topology = opts.topology;
    this.speedValue = opts.speed;
    this.traceFile = opts.traceFile ?? null;
    this.stateValue = opts.paused ? 'paused' : 'running';
    // Events before the first listener are past events: a stream sends them itself. After
    // every advance flush() runs, so outside an advance flushed === events.length.
    this.flushed = source.events.length;
    this.reanchor();
    this.schedule();
  }

  get kind(): 'sim' | 'replay' {
    return this.source.kind;
  }

  get state(): RunState {
    return this.stateValue;
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
      events: this.source.events.length, createdAt: this.createdAt, error: this.errorText,
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
    this.stopTimer();
    this.stateValue = 'paused';
    this.flush(true);
  }

  resume(): void {
    this.assertActive('resume');
    if (this.stateValue === 'running') return;
    this.stateValue = 'running';
    this.reanchor();
    this.flush(true);
    this.schedule();
  }

  setSpeed(speed: Speed): void {
    this.speedValue = speed;
    this.reanchor();
    if (this.stateValue === 'running') {
      this.stopTimer();
      this.schedule();
    }
    this.flush(true);
  }

  /** Pauses, then runs to the next instant that adds to the trace (or advances by `us`). Returns the new time. */
  step(us?: number): number {
    this.assertActive('step');
    this.stopTimer();
    this.stateValue = 'paused';
    const until = this.opts.untilUs;
    this.guard(() => {
      if (us !== undefined) {
        this.source.advance(Math.min(until, this.source.nowUs() + us), Infinity);
      } else {
        // The next instant that shows something: instants whose events change nothing in the
        // trace (a quiet probe, a timer) are run through.
        const seen = this.source.events.length;
        for (let i = 0; i < MAX_QUIET_INSTANTS && this.source.events.length === seen && this.source.nowUs() < until; i++) {
          const next = this.source.peekUs();
          this.source.advance(next > until ? until : next, Infinity);
        }
      }
    });
    this.afterAdvance();
    this.flush(true);
    return this.source.nowUs();
  }

  /** Injects a fault into a sim run at its current simulated time. */
  injectFault(f: FaultSpec): number {
    const sim = this.sim;
    if (!sim) throw new RunError(409, `run ${this.id} is a replay of a saved trace: faults can only be injected into sim runs`);
    this.assertActive('take a fault');
    const nowUs = sim.kernel.nowUs();
    this.guard(() => {
      // In a kernel event of its own, like the scenario's faults; then run that instant through.
      sim.kernel.at(nowUs, () => sim.world.injectFault(f));
      sim.kernel.run({ untilUs: nowUs });
    });
    this.flush(true);
    return nowUs;
  }

  /** Stops the run's timer (the server is closing, or the run is evicted). */
  dispose(): void {
    this.stopTimer();
    this.listeners.clear();
  }

  private assertActive(what: string): void {
    if (this.stateValue === 'done' || this.stateValue === 'error') {
      throw new RunError(409, `run ${this.id} has ended (${this.stateValue}${this.errorText ? `: ${this.errorText}` : ''}); it cannot ${what}`);
    }
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

  private schedule(): void {
    if (this.stateValue !== 'running' || this.timer !== null) return;
    this.timer = this.speedValue === 'max'
      ? { kind: 'immediate', handle: setImmediate(() => this.tick()) }
      : { kind: 'timeout', handle: setTimeout(() => this.tick(), TICK_MS) };
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.stopTimer();
      this.stateValue = 'error';
      this.errorText = (e as Error).message;
    }
  }

  private atEnd(): boolean {
    return this.source.nowUs() >= this.opts.untilUs || (this.source.kind === 'replay' && this.source.peekUs() === Infinity);
  }

  private tick(): void {
    this.timer = null;
    if (this.stateValue !== 'running') return;
    const until = this.opts.untilUs;
    this.guard(() => {
      if (this.speedValue === 'max') {
        const t0 = performance.now();
        do this.source.advance(until, 5_000);
        while (!this.atEnd() && performance.now() - t0 < MAX_SLICE_MS);
      } else {
        const target = Math.floor(this.anchor.simUs + (performance.now() - this.anchor.wallMs) * 1000 * this.speedValue);
        this.source.advance(Math.min(until, target), MAX_EVENTS_PER_TICK);
      }
    });
    this.afterAdvance();
    this.flush(false);
    this.schedule();
  }

  private afterAdvance(): void {
    if (this.stateValue === 'error' || this.stateValue === 'done' || !this.atEnd()) return;
    this.stopTimer();
    this.stateValue = 'done';
    try {
      this.opts.onDone?.(this);
    } catch (e) {
      this.errorText = `run finished, but: ${(e as Error).message}`;
    }
    this.flush(true);
  }

  /** Sends the new events (and the status when it changed or is due) to the listeners. */
  private flush(statusNow: boolean): void {
    const evs = this.source.events;
    const msgs: RunMessage[] = [];
    for (let i = this.flushed; i < evs.length; i++) msgs.push({ type: 'trace', index: i, event: evs[i] });
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

export interface RunManagerOptions {
  /** Finished sim runs are saved to <outDir>/web-runs/. */
  outDir: string;
  /** Runs kept in memory; the oldest finished ones go first. */
  maxRuns?: number;
}

export class RunManager {
  private readonly runs = new Map<string, Run>();
  constructor(private readonly opts: RunManagerOptions) {}

  get(id: string): Run | undefined {
    return this.runs.get(id);
  }

  list(): RunInfo[] {
    return [...this.runs.values()].map((r) => r.info()).reverse();
  }

  startSim(sim: Simulation, o: Omit<RunOptions, 'onDone'>): Run {
    return this.add(new Run(new SimSource(sim), {
      ...o,
      onDone: (run) => {
        const name = `${(o.scenario ?? 'run').replace(/[^A-Za-z0-9_.-]+/g, '-')}-seed${o.seed ?? 0}-${run.id}.ndjson`;
        const file = join(this.opts.outDir, 'web-runs', name);
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.tmp-${process.pid}`;
        writeFileSync(tmp, toNdjson(run.events));
        renameSync(tmp, file);
        run.traceFile = join('web-runs', name);
      },
    }));
  }

  startReplay(events: TraceLine[], o: Omit<RunOptions, 'onDone'>): Run {
    return this.add(new Run(new ReplaySource(events), o));
  }

  private add(run: Run): Run {
    this.runs.set(run.id, run);
    const max = this.opts.maxRuns ?? 50;
    if (this.runs.size > max) {
      for (const r of this.runs.values()) {
        if (this.runs.size <= max) break;
        if ((r.state === 'done' || r.state === 'error') && r.listenerCount === 0) {
          r.dispose();
          this.runs.delete(r.id);
        }
      }
    }
    return run;
  }

  dispose(): void {
    for (const r of this.runs.values()) r.dispose();
  }
}
