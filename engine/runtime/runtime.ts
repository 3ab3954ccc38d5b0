// The runtime: interprets the effects processes yield. Timing goes through a Scheduler (the DES
// kernel in sim, timers in live), domain calls through Ports (sim or real adapters). The engine
// reads no clock and no randomness of its own, so one policy runs unchanged in both worlds.
import type { Ports } from '../ports/index.ts';
import type { LoadOracle, LoadSample } from '../ports/load.ts';
import type { ProbeResult, ProbeSpec, QuietOracle } from '../ports/probe.ts';
import type { TraceSink } from '../ports/trace.ts';
import { RESUME, detachEffect, type Effect, type JoinResult, type Op, type Process } from './effects.ts';
import { naiveQuietHolders, skipQuietHolders, type QuietHoldersArgs } from './quiet-holders.ts';
import { naiveClaimRounds, skipClaimRounds } from './quiet-rounds.ts';
import { QuietLoop } from './quiet-loop.ts';

export interface Scheduler {
  nowUs(): number;
  /**
   * Calls fn(arg) at `timeUs`. With `lateTie`, after every ordinary event of that instant, in
   * lateTie order (sim); live schedulers may ignore it.
   */
  at(timeUs: number, fn: (arg: number) => void, arg: number, lateTie?: number): number;
  cancel(token: number): unknown;
}

export type WatchMode = 'skip' | 'naive';

export interface RuntimeOptions {
  scheduler: Scheduler;
  /** The ports a process of `agent` uses (each agent is a management host). */
  ports: (agent: string) => Partial<Ports>;
  trace?: TraceSink;
  /** 'skip' (default) uses the ports' QuietOracle when there is one; 'naive' always ticks. */
  watchMode?: WatchMode;
  /** Called for every effect a process yields (tests record effect sequences with it). */
  onEffect?: (pid: number, effect: Effect, nowUs: number) => void;
  /** Called when a process fails and nobody joins it. Default: throw (a bug must not pass quietly). */
  onUnjoinedFailure?: (name: string, pid: number, error: unknown) => void;
}

type Wake = (value: unknown, isError: boolean) => void;

interface Waiter {
  withdraw(): void;
}

const CANCEL = Symbol('cancel');

// A process's state that a timer wake-up reads and writes (its scheduler token, wait sequence,
// status and `once` mark) lives in the runtime's slot arrays, not in its Proc: with 1e5 sleeping
// processes each wake-up touches memory at random, and each distinct object it touches costs a
// cache and TLB miss. A sleep's wake-up then touches the dense slot arrays, the generator and its
// register file, and no Proc (see docs/scale.md, section 1).

/** Slot state: the status in the low bits, ONCE when the pending effect came from a helper's shared iterator. */
const READY = 0;
const BLOCKED = 1;
const RUNNING = 2;
const STATUS = 3;
/** The pending effect came from a helper's shared iterator: resume with RESUME (effects.ts). */
const ONCE = 4;
/** Fields of a slot's record in Runtime.slotHot. */
const HOT = 4;
const TIMER = 0;
const SEQ = 1;
const STATE = 2;

class Proc {
  /** Index of this process's hot state in the runtime's slot arrays; -1 once it has finished. */
  slot = -1;
  readonly gen: Process<unknown>;
  readonly pid: number;
  readonly agent: string;
  cancelling = false;
  waiter: Waiter | null = null;
  /** Made on first use: most processes are never joined and have no children. */
  joiners: Wake[] | null = null;
  children: Set<Proc> | null = null;
  readonly name: string;
  readonly parent: Proc | null;
  /** Processes that run a `watch` use their owner's pid to order simultaneous probes. */
  readonly tiePid: number;
  constructor(pid: number, name: string, agent: string, gen: Process<unknown>, parent: Proc | null, tiePid: number) {
    this.gen = gen;
    this.pid = pid;
    this.agent = agent;
    this.name = name;
    this.parent = parent;
    this.tiePid = tiePid;
  }
}

interface Mailbox {
  messages: unknown[];
  waiters: ReceiveWaiter[];
}

class TimerWaiter implements Waiter {
  constructor(private readonly sched: Scheduler, private readonly token: number) {}
  withdraw(): void {
    this.sched.cancel(this.token);
  }
}

/** A process waiting in a mailbox, with an optional timeout timer. */
class ReceiveWaiter implements Waiter {
  token = -1;
  constructor(private readonly sched: Scheduler, private readonly box: Mailbox, private readonly wake: Wake) {}
  deliver(msg: unknown): void {
    if (this.token >= 0) this.sched.cancel(this.token);
    this.wake(msg, false);
  }
  timeout(): void {
    this.token = -1;
    this.remove();
    this.wake(undefined, false);
  }
  withdraw(): void {
    this.remove();
    if (this.token >= 0) this.sched.cancel(this.token);
  }
  private remove(): void {
    const i = this.box.waiters.indexOf(this);
    if (i >= 0) this.box.waiters.splice(i, 1);
  }
}

class JoinWaiter implements Waiter {
  constructor(private readonly target: Proc, private readonly wake: Wake) {}
  withdraw(): void {
    const js = this.target.joiners;
    const i = js === null ? -1 : js.indexOf(this.wake);
    if (i >= 0) js!.splice(i, 1);
  }
}

class CallWaiter implements Waiter {
  live = true;
  withdraw(): void {
    this.live = false;
  }
}

/** The sub-effects of a `firstOf`; the first to complete settles it. */
class RaceWaiter implements Waiter {
  settled = false;
  readonly waiters: Waiter[] = [];
  withdraw(): void {
    for (const w of this.waiters) w.withdraw();
  }
}

export class ProcessError extends Error {
  constructor(readonly processName: string, readonly pid: number, override readonly cause: unknown) {
    super(`process ${processName} (pid ${pid}) failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class Runtime {
  private readonly sched: Scheduler;
  private readonly portsOf: (agent: string) => Partial<Ports>;
  private readonly procs = new Map<number, Proc>();
  /** Live processes by agent (stopping an agent touches its processes only, not every process). */
  private readonly procsOf = new Map<string, Set<Proc>>();
  private readonly results = new Map<number, JoinResult<unknown>>();
  private readonly boxes = new Map<string, Mailbox>();
  private nextPid = 1;
  // Ready queue (struct of arrays).
  private readyProc: Proc[] = [];
  private readyVal: unknown[] = [];
  private readyErr: boolean[] = [];
  private readySeq: number[] = [];
  private readyHead = 0;
  private readyTail = 0;
  private draining = false;
  private readonly pausedAgents = new Set<string>();
  private readonly pauseStart = new Map<string, number>();
  private readonly pauseLog = new Map<string, Array<[number, number]>>();
  private parked: Array<[Proc, unknown, boolean, number]> = [];
  /** Called when an agent is paused (a quiet load sampler hands its naive state over to the kernel). */
  private readonly pauseHooks = new Map<string, Set<() => void>>();
  /** Events scheduled by postWhen and atLate: what the skipping loops pay for listening (tests compare costs with it). */
  private noticeCount = 0;
  /** Slot of the process whose generator is running, or -1. */
  private currentSlot = -1;
  // Live processes' hot state by slot (struct of arrays; a finished process's slot is reused).
  private slotCap = 0;
  private slotCount = 0;
  private readonly freeSlots: number[] = [];
  private readonly slotGen: Array<Process<unknown> | undefined> = [];
  private readonly slotProc: Array<Proc | undefined> = [];
  /**
   * Per slot s, at HOT * s: TIMER the scheduler token of the pending sleep or -1; SEQ the wait
   * sequence (increments at every block; a wake carrying an older number is stale and ignored);
   * STATE the status | ONCE. One aligned 32-byte record: a wake-up touches one cache line.
   */
  private slotHot = new Float64Array(0);
  /**
   * A `sleep` ends. The kernel's argument is 2 * slot + 1 if the sleep came from a helper's shared
   * iterator (ONCE), else 2 * slot: the fast path below only writes the slot's record before the
   * generator runs, so its cache miss overlaps the generator's instead of stalling before it.
   */
  private readonly onTimer = (arg: number): void => {
    const s = arg >> 1;
    if (this.slotGen[s] === undefined) return;
    this.slotHot[HOT * s + TIMER] = -1;
    if (this.draining || (this.pausedAgents.size > 0 && this.pausedAgents.has(this.slotProc[s]!.agent))) {
      this.enqueue(this.slotProc[s]!, undefined, false, this.slotHot[HOT * s + SEQ]);
      this.drain();
      return;
    }
    // Fast path: run the woken process at once, then whatever it made ready.
    this.draining = true;
    try {
      this.step(s, undefined, false, (arg & 1) !== 0);
    } finally {
      this.draining = false;
    }
    if (this.readyTail > 0) this.drain();
  };

  private readonly onEffect: RuntimeOptions['onEffect'];

  constructor(private readonly opts: RuntimeOptions) {
    this.sched = opts.scheduler;
    this.portsOf = opts.ports;
    this.onEffect = opts.onEffect;
  }

  nowUs(): number {
    return this.sched.nowUs();
  }

  /** Starts a top-level process for `agent`; returns its pid. */
  start(name: string, body: Process<unknown>, agent = 'main'): number {
    const p = this.newProc(name, body, agent, null);
    this.drain();
    return p.pid;
  }

  /** Cancels a process from outside (tests, CLI, fault injection of management programs). */
  stop(pid: number): void {
    this.cancelProc(pid);
    this.drain();
  }

  /** Result of a finished process, or undefined while it runs. */
  resultOf(pid: number): JoinResult<unknown> | undefined {
    return this.results.get(pid);
  }

  isAlive(pid: number): boolean {
    return this.procs.has(pid);
  }

  get liveProcessCount(): number {
    return this.procs.size;
  }

  /** Ends every process of `agent` (its host lost power); their `finally` blocks run. */
  stopAgent(agent: string): void {
    this.pausedAgents.delete(agent);
    const victims = [...(this.procsOf.get(agent) ?? [])].filter((p) => p.parent === null || p.parent.agent !== agent);
    for (const p of victims.sort((a, b) => a.pid - b.pid)) this.cancelProc(p.pid);
    this.unpark(agent);
    this.drain();
  }

  /** Freezes every process of `agent` (SIGSTOP of its host): nothing of it runs until resumeAgent. */
  pauseAgent(agent: string): void {
    if (this.pausedAgents.has(agent)) return;
    this.pausedAgents.add(agent);
    this.pauseStart.set(agent, this.sched.nowUs());
    const hooks = this.pauseHooks.get(agent);
    if (hooks !== undefined) for (const h of [...hooks]) h();
  }

  /** Calls `cb` (synchronously, inside pauseAgent) each time `agent` is paused. */
  onPause(agent: string, cb: () => void): () => void {
    let set = this.pauseHooks.get(agent);
    if (set === undefined) {
      set = new Set();
      this.pauseHooks.set(agent, set);
    }
    set.add(cb);
    return () => set!.delete(cb);
  }

  /** Runs fn at `timeUs` in the late lane of that instant, ordered by `tie` (sim). */
  atLate(timeUs: number, tie: number, fn: () => void): number {
    this.noticeCount++;
    return this.sched.at(timeUs, () => fn(), 0, tie);
  }

  /** Events scheduled so far by postWhen and atLate (the skipping loops' notifications and hand-overs). */
  get notices(): number {
    return this.noticeCount;
  }

  isPaused(agent: string): boolean {
    return this.pausedAgents.has(agent);
  }

  resumeAgent(agent: string): void {
    if (!this.pausedAgents.delete(agent)) return;
    const log = this.pauseLog.get(agent) ?? [];
    log.push([this.pauseStart.get(agent)!, this.sched.nowUs()]);
    this.pauseLog.set(agent, log);
    this.unpark(agent);
    this.drain();
  }

  private unpark(agent: string): void {
    const keep: Array<[Proc, unknown, boolean, number]> = [];
    for (const e of this.parked) {
      if (e[0].agent === agent) this.enqueue(e[0], e[1], e[2], e[3]);
      else keep.push(e);
    }
    this.parked = keep;
  }

  /** Finished pauses [from, to) of an agent, in order (the skipping `watch` replays them). */
  pausesOf(agent: string): ReadonlyArray<readonly [number, number]> {
    return this.pauseLog.get(agent) ?? [];
  }

  /** Puts a message into a mailbox (adapters deliver agent messages with this). */
  deliver(mailbox: string, msg: unknown): void {
    this.put(mailbox, msg);
    this.drain();
  }

  // ---- internals ----

  private newProc(name: string, body: Process<unknown>, agent: string, parent: Proc | null, tiePid?: number): Proc {
    const pid = this.nextPid++;
    const p = new Proc(pid, name, agent, body, parent, tiePid ?? pid);
    this.procs.set(pid, p);
    const mine = this.procsOf.get(agent);
    if (mine) mine.add(p);
    else this.procsOf.set(agent, new Set([p]));
    const s = this.takeSlot();
    p.slot = s;
    this.slotGen[s] = body;
    this.slotProc[s] = p;
    this.slotHot[HOT * s + TIMER] = -1;
    this.slotHot[HOT * s + SEQ] = 0;
    this.slotHot[HOT * s + STATE] = READY;
    if (parent !== null) (parent.children ??= new Set()).add(p);
    this.enqueue(p, undefined, false, 0);
    return p;
  }

  private takeSlot(): number {
    if (this.freeSlots.length > 0) return this.freeSlots.pop()!;
    if (this.slotCount === this.slotCap) {
      const cap = Math.max(64, 2 * this.slotCap);
      const hot = new Float64Array(HOT * cap);
      hot.set(this.slotHot);
      this.slotHot = hot;
      this.slotCap = cap;
    }
    return this.slotCount++;
  }

  private freeSlot(p: Proc): void {
    const s = p.slot;
    p.slot = -1;
    this.slotGen[s] = undefined;
    this.slotProc[s] = undefined;
    this.slotHot[HOT * s + TIMER] = -1;
    this.freeSlots.push(s);
  }

  private enqueue(p: Proc, value: unknown, isError: boolean, seq: number): void {
    const i = this.readyTail++;
    this.readyProc[i] = p;
    this.readyVal[i] = value;
    this.readyErr[i] = isError;
    this.readySeq[i] = seq;
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.readyHead < this.readyTail) {
        const i = this.readyHead++;
        const p = this.readyProc[i];
        const v = this.readyVal[i];
        const e = this.readyErr[i];
        const s = this.readySeq[i];
        this.readyVal[i] = undefined;
        if (p.slot < 0 || s !== this.slotHot[HOT * p.slot + SEQ]) continue;
        if (this.pausedAgents.size > 0 && this.pausedAgents.has(p.agent) && v !== CANCEL) {
          this.parked.push([p, v, e, s]);
          continue;
        }
        this.step(p.slot, v, e, (this.slotHot[HOT * p.slot + STATE] & ONCE) !== 0);
      }
    } finally {
      // Reset by index, keeping the arrays' storage (setting length = 0 would free it).
      this.readyTail = 0;
      this.readyHead = 0;
      this.draining = false;
    }
  }

  private wakeFor(p: Proc): Wake {
    const seq = this.slotHot[HOT * p.slot + SEQ];
    return (value, isError) => {
      const s = p.slot;
      if (s < 0 || (this.slotHot[HOT * s + STATE] & STATUS) !== BLOCKED || this.slotHot[HOT * s + SEQ] !== seq) return;
      p.waiter = null;
      this.enqueue(p, value, isError, seq);
      this.drain();
    };
  }

  /**
   * Runs the process in slot `s` until it blocks or ends. A `sleep` (the common effect) touches
   * only the slot arrays and the generator; the Proc is read for the other effects.
   */
  private step(s: number, value: unknown, isError: boolean, resumeOnce: boolean): void {
    let v = value;
    let err = isError;
    const sched = this.sched;
    const gen = this.slotGen[s]!;
    let once = resumeOnce;
    this.slotHot[HOT * s + STATE] = RUNNING;
    for (;;) {
      let r: IteratorResult<Effect, unknown>;
      this.currentSlot = s;
      try {
        if (v === CANCEL) r = gen.return(undefined);
        else if (err) r = gen.throw(v);
        else if (once) {
          RESUME.value = v;
          r = gen.next(RESUME);
        } else r = gen.next(v);
      } catch (e) {
        this.currentSlot = -1;
        this.finish(this.slotProc[s]!, { status: 'failed', error: e });
        return;
      }
      this.currentSlot = -1;
      if (r.done) {
        const p = this.slotProc[s]!;
        this.finish(p, p.cancelling ? { status: 'cancelled' } : { status: 'done', value: r.value });
        return;
      }
      const eff = r.value;
      once = (eff as { once?: boolean }).once === true;
      if (this.onEffect !== undefined) this.onEffect(this.slotProc[s]!.pid, detachEffect(eff), sched.nowUs());
      err = false;
      switch (eff.kind) {
        case 'sleep': {
          if (!(eff.us >= 0) || !Number.isSafeInteger(eff.us)) {
            v = new RangeError(`sleep(${eff.us}): microseconds must be a non-negative integer`);
            err = true;
            continue;
          }
          this.slotHot[HOT * s + STATE] = once ? BLOCKED | ONCE : BLOCKED;
          this.slotHot[HOT * s + SEQ]++;
          this.slotHot[HOT * s + TIMER] = sched.at(sched.nowUs() + eff.us, this.onTimer, once ? 2 * s + 1 : 2 * s);
          return;
        }
        case 'now':
          v = sched.nowUs();
          continue;
        case 'self':
          v = this.slotProc[s]!.pid;
          continue;
        case 'trace':
          this.opts.trace?.emit({ t: sched.nowUs(), ...eff.record });
          v = undefined;
          continue;
        case 'spawn': {
          const p = this.slotProc[s]!;
          v = this.newProc(eff.name, eff.body, eff.agent ?? p.agent, p).pid;
          continue;
        }
        case 'send':
          this.put(eff.to, eff.msg);
          v = undefined;
          continue;
        case 'cancel': {
          const pid = eff.pid;
          if (pid === this.slotProc[s]!.pid) {
            v = new Error('a process cannot cancel itself: return instead');
            err = true;
            continue;
          }
          this.cancelProc(pid);
          v = undefined;
          continue;
        }
        default: {
          const p = this.slotProc[s]!;
          this.slotHot[HOT * s + STATE] = once ? BLOCKED | ONCE : BLOCKED;
          this.slotHot[HOT * s + SEQ]++;
          p.waiter = this.block(p, eff, this.wakeFor(p));
          return;
        }
      }
    }
  }

  /**
   * Starts a blocking effect; `wake` is called (maybe at once) with its result.
   *
   * Waiters are class instances and callbacks are passed as unnamed arrows: tsx compiles with
   * esbuild's keepNames, which wraps every function whose name is inferred (`const w = () => ...`,
   * `{ withdraw: () => ... }`) in an Object.defineProperty per creation; here that was ~10 % of
   * an experiment's run time.
   */
  private block(p: Proc, eff: Effect, wake: Wake): Waiter {
    const sched = this.sched;
    switch (eff.kind) {
      case 'sleep':
      case 'sleepUntil': {
        const at = eff.kind === 'sleep' ? sched.nowUs() + eff.us : Math.max(sched.nowUs(), eff.atUs);
        const late = eff.kind === 'sleepUntil' && (eff as { late?: boolean }).late === true;
        return new TimerWaiter(sched, sched.at(at, () => wake(undefined, false), 0, late ? p.tiePid : undefined));
      }
      case 'receive': {
        const timeoutUs = eff.timeoutUs;
        const box = this.box(eff.mailbox);
        if (box.messages.length > 0) {
          wake(box.messages.shift(), false);
          return NO_WAITER;
        }
        if (timeoutUs === 0) {
          wake(undefined, false);
          return NO_WAITER;
        }
        const w = new ReceiveWaiter(sched, box, wake);
        box.waiters.push(w);
        if (timeoutUs !== undefined) w.token = sched.at(sched.nowUs() + timeoutUs, () => w.timeout(), 0);
        return w;
      }
      case 'join': {
        const pid = eff.pid;
        const done = this.results.get(pid);
        if (done) {
          wake(done, false);
          return NO_WAITER;
        }
        const target = this.procs.get(pid);
        if (!target) {
          wake(new Error(`join: no process ${pid}`), true);
          return NO_WAITER;
        }
        (target.joiners ??= []).push(wake);
        return new JoinWaiter(target, wake);
      }
      case 'call': {
        const { port: portName, op, args } = eff;
        const port = this.portsOf(p.agent)[portName as keyof Ports] as Record<string, unknown> | undefined;
        const fn = port?.[op];
        if (typeof fn !== 'function') {
          wake(new Error(`port ${portName}.${op} is not bound for agent ${p.agent}`), true);
          return NO_WAITER;
        }
        let result: unknown;
        try {
          result = (fn as (...a: unknown[]) => unknown).apply(port, args);
        } catch (e) {
          wake(e, true);
          return NO_WAITER;
        }
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          const w = new CallWaiter();
          (result as PromiseLike<unknown>).then(
            (val) => w.live && wake(val, false),
            (e) => w.live && wake(e, true),
          );
          return w;
        }
        wake(result, false);
        return NO_WAITER;
      }
      case 'watch': {
        const { probe, intervalUs, phaseUs } = eff;
        const oracle = this.opts.watchMode === 'naive' ? undefined : this.portsOf(p.agent).quiet;
        const body = oracle
          ? skipWatch(this, p.agent, probe, intervalUs, phaseUs, oracle, p.tiePid)
          : naiveWatch(probe, intervalUs, phaseUs);
        return this.joinChild(p, `${p.name}/watch`, body, wake);
      }
      case 'steadyLoad': {
        const { host, intervalUs, last } = eff;
        const oracle = p.agent === host ? this.portsOf(p.agent).quiet?.load : undefined;
        const body = oracle === undefined
          ? liveSteadyLoad(host, intervalUs, last)
          : this.opts.watchMode === 'naive'
            ? naiveSteadyLoad(host, intervalUs, last, oracle)
            : skipSteadyLoad(this, p.agent, host, intervalUs, last, oracle, p.tiePid);
        return this.joinChild(p, `${p.name}/steady`, body, wake);
      }
      case 'quietHolders': {
        // The quiet waits of awaitHoldersChange and awaitReconcile
        // (engine/runtime/quiet-holders.ts); without an oracle (live), one plain sleep (or
        // receive with its timeout) and the caller's own loop.
        const q = this.portsOf(p.agent).quiet;
        if (q?.holders === undefined || q.store === undefined) {
          if (eff.box !== null) return this.block(p, { kind: 'receive', mailbox: eff.box, timeoutUs: eff.intervalUs }, (v, isErr) => wake(isErr || v === undefined ? (isErr ? v : null) : { message: v }, isErr));
          return this.block(p, { kind: 'sleep', us: eff.intervalUs }, (v, isErr) => wake(isErr ? v : null, isErr));
        }
        const a: QuietHoldersArgs = { vip: eff.vip, box: eff.box, intervalUs: eff.intervalUs, expect: eff.expect, guard: eff.guard, checks: eff.checks };
        const body = this.opts.watchMode === 'naive' ? naiveQuietHolders(a, q.holders, q.store) : skipQuietHolders(this, p.agent, a, q.holders, q.store, p.tiePid);
        return this.joinChild(p, `${p.name}/holders`, body, wake);
      }
      case 'claimRounds': {
        // The orphan watcher's quiet rounds (engine/runtime/quiet-rounds.ts); live: one plain sleep.
        const q = this.portsOf(p.agent).quiet;
        if (q?.store === undefined) return this.block(p, { kind: 'sleep', us: eff.args.intervalUs }, (v, isErr) => wake(isErr ? v : null, isErr));
        const body = this.opts.watchMode === 'naive' ? naiveClaimRounds(eff.args, q, q.store) : skipClaimRounds(this, p.agent, eff.args, q, q.store, p.tiePid);
        return this.joinChild(p, `${p.name}/rounds`, body, wake);
      }
      case 'readLate' as Effect['kind']: {
        // Internal (quietHolders in sim): what read() gives in a late-lane event at atUs.
        const { atUs, read } = eff as unknown as { atUs: number; read: () => unknown };
        return new TimerWaiter(sched, sched.at(atUs, () => wake(read(), false), 0, p.tiePid));
      }
      case 'sampleLate' as Effect['kind']: {
        // Internal (steadyLoad in sim): the load read by a late-lane event at atUs, as the
        // port's completion would read it; the process resumes after (parked if paused).
        const { host, atUs, oracle } = eff as unknown as { host: string; atUs: number; oracle: LoadOracle };
        return new TimerWaiter(sched, sched.at(atUs, () => wake(oracle.now(host), false), 0, p.tiePid));
      }
      case 'race': {
        const effects = eff.effects;
        if (effects.length === 0) throw new Error('firstOf() needs at least one effect');
        const race = new RaceWaiter();
        for (let index = 0; index < effects.length && !race.settled; index++) {
          race.waiters.push(this.block(p, effects[index], (value, isError) => {
            if (race.settled) return;
            race.settled = true;
            race.withdraw();
            if (isError) wake(value, true);
            else wake({ index, value }, false);
          }));
        }
        if (race.settled) race.withdraw();
        return race;
      }
      default:
        throw new Error(`effect ${(eff as Effect).kind} cannot be used here`);
    }
  }

  /** Runs `body` as a child of `p` (same agent and tie) and wakes `p` with its result. */
  private joinChild(p: Proc, name: string, body: Process<unknown>, wake: Wake): Waiter {
    const child = this.newProc(name, body, p.agent, p, p.tiePid);
    const joinW = this.block(p, { kind: 'join', pid: child.pid }, (res, isErr) => {
      if (isErr) return wake(res, true);
      const jr = res as JoinResult<unknown>;
      if (jr.status === 'done') wake(jr.value, false);
      else if (jr.status === 'failed') wake(jr.error, true);
    });
    const rt = this;
    return {
      withdraw() {
        joinW.withdraw();
        rt.cancelProc(child.pid);
      },
    };
  }

  private box(name: string): Mailbox {
    let b = this.boxes.get(name);
    if (!b) {
      b = { messages: [], waiters: [] };
      this.boxes.set(name, b);
    }
    return b;
  }

  private put(mailbox: string, msg: unknown): void {
    const b = this.box(mailbox);
    const w = b.waiters.shift();
    if (w) w.deliver(msg);
    else b.messages.push(msg);
  }

  /** Delivers a message in an event of its own at the current instant (safe to call from anywhere). */
  post(mailbox: string, msg: unknown): void {
    this.sched.at(this.sched.nowUs(), () => this.deliver(mailbox, msg), 0);
  }

  /** Like post, but the message is dropped if `live()` is false when its event runs. */
  postWhen(mailbox: string, msg: unknown, live: () => boolean): void {
    this.noticeCount++;
    this.sched.at(this.sched.nowUs(), () => {
      if (live()) this.deliver(mailbox, msg);
    }, 0);
  }

  /** Number of messages waiting in a mailbox (used by the skipping watch). */
  queued(mailbox: string): number {
    return this.boxes.get(mailbox)?.messages.length ?? 0;
  }

  /** Drops a mailbox and its messages. */
  dropMailbox(mailbox: string): void {
    this.boxes.delete(mailbox);
  }

  private cancelProc(pid: number): void {
    const p = this.procs.get(pid);
    if (!p || p.cancelling) return;
    if (p.slot === this.currentSlot) throw new Error('a process cannot cancel itself');
    p.cancelling = true;
    if (p.children !== null) for (const c of [...p.children].sort((a, b) => a.pid - b.pid)) this.cancelProc(c.pid);
    const s = p.slot;
    if (this.slotHot[HOT * s + TIMER] >= 0) {
      this.sched.cancel(this.slotHot[HOT * s + TIMER]);
      this.slotHot[HOT * s + TIMER] = -1;
    }
    p.waiter?.withdraw();
    p.waiter = null;
    this.slotHot[HOT * s + SEQ]++;
    this.slotHot[HOT * s + STATE] = READY;
    this.enqueue(p, CANCEL, false, this.slotHot[HOT * s + SEQ]);
  }

  private finish(p: Proc, result: JoinResult<unknown>): void {
    this.freeSlot(p);
    this.procs.delete(p.pid);
    this.procsOf.get(p.agent)?.delete(p);
    p.parent?.children?.delete(p);
    this.results.set(p.pid, result);
    const joiners = p.joiners;
    p.joiners = null;
    if (result.status === 'failed' && (joiners === null || joiners.length === 0)) {
      if (this.opts.onUnjoinedFailure) this.opts.onUnjoinedFailure(p.name, p.pid, result.error);
      else throw new ProcessError(p.name, p.pid, result.error);
    }
    if (joiners !== null) for (const j of joiners) j(result, false);
  }
}

const NO_WAITER: Waiter = {
  withdraw() {
    // nothing to withdraw
  },
};

/** Probe grid: the first instant origin + k * interval strictly after `afterUs`. */
export function nextGridUs(originUs: number, intervalUs: number, afterUs: number): number {
  return originUs + (Math.floor((afterUs - originUs) / intervalUs) + 1) * intervalUs;
}

function sleepLate(atUs: number): Effect {
  return { kind: 'sleepUntil', atUs, late: true } as Effect;
}

/** `watch` by ticking: one real probe per grid instant. Live mode always runs this. */
function* naiveWatch(spec: ProbeSpec, intervalUs: number, phaseUs: number | undefined): Op<ProbeResult> {
  assertInterval(intervalUs);
  const startUs = (yield { kind: 'now' }) as number;
  const origin = phaseUs ?? startUs;
  let last = phaseUs === undefined ? startUs : -Infinity;
  for (;;) {
    const nowUs = (yield { kind: 'now' }) as number;
    const at = nextGridUs(origin, intervalUs, Math.max(last, nowUs - 1));
    yield sleepLate(at);
    last = at;
    const r = (yield { kind: 'call', port: 'prober', op: 'probe', args: [spec] }) as ProbeResult;
    if (!r.ok) return r;
    yield { kind: 'trace', record: { kind: 'probe.ok', subject: spec.target, data: { probe: spec.kind } } };
  }
}

/**
 * `watch` in sim: makes only the probes that can fail, at the instants the naive loop would make
 * them. The naive loop aims at a_{k+1} = nextGrid(max(a_k, r_k - 1)) where r_k is when it got
 * control back after probe k (its completion, later if the agent was paused then), and calls at
 * a_k, or at the end of a pause that covers a_k. While the target passes, a probe lasts the
 * oracle's fixed pass latency, so between pauses the instants form an arithmetic sequence with
 * stride T * ceil(d / T). On a change at tc (the oracle calls back; the change time rides in the
 * message) this loop replays that sequence through the agent's pauses (closed form between them)
 * and probes for real at the first call at or after tc: in the late lane, so it sees every change
 * of its instant. The trace therefore differs from ticking only by the omitted "probe.ok" lines.
 *
 * A pause of the agent while this loop is quiet hands over to the naive loop's next step: a
 * late event at the naive loop's first call at or after the pause's start wakes this loop, held
 * until the agent resumes, so it runs among the agent's held processes in the naive loop's place
 * (what it does at the resume, a probe's call among them, comes in the naive order: a
 * notification of a change during the pause would wake it in the notification's place). Until
 * then notifications only note the earliest change; the loop goes on from the hand-over as on a
 * notification of that change, calling at once if the naive loop calls there.
 */
function* skipWatch(rt: Runtime, agent: string, spec: ProbeSpec, intervalUs: number, phaseUs: number | undefined, oracle: QuietOracle, tie: number): Op<ProbeResult> {
  assertInterval(intervalUs);
  const startUs = (yield { kind: 'now' }) as number;
  const pid = (yield { kind: 'self' }) as number;
  const box = `#watch/${pid}`;
  const origin = phaseUs ?? startUs;
  const passUs = () => Math.max(1, oracle.passLatencyUs(spec));
  // The instant the naive loop aims its next probe at, with no probe in flight.
  let aim = nextGridUs(origin, intervalUs, Math.max(phaseUs === undefined ? startUs : -Infinity, startUs - 1));
  let changeUs: number | null = oracle.wouldPass(spec) ? null : startUs;
  // Notifications arrive in the middle of a world update: deliver them as an event of their own
  // (dropped once this loop has ended: a delivery after its `finally` would make the mailbox
  // again, with that message, for the rest of the run).
  let live = true;
  // Blocked waiting for a change (no probe in flight, none aimed at).
  let quiet = false;
  // A pause's hand-over is pending: the earliest change noted meanwhile (Infinity: none).
  let handing = false;
  let missedUs = Infinity;
  // This wake-up is the hand-over's: the loop runs in the naive loop's place.
  let handedOver = false;
  const unsubscribe = oracle.subscribe(spec, () => {
    const t = rt.nowUs();
    rt.postWhen(box, t, () => {
      if (!live) return false;
      if (!handing) return true;
      if (t < missedUs) missedUs = t;
      return false;
    });
  });
  const unhook = rt.onPause(agent, () => {
    if (!quiet || handing) return;
    const t = rt.nowUs();
    handing = true;
    missedUs = Infinity;
    const { callAt } = firstCallFrom(aim, t, origin, intervalUs, passUs(), rt.pausesOf(agent));
    rt.atLate(callAt, tie, () => {
      if (!live) return;
      handing = false;
      handedOver = true;
      rt.deliver(box, missedUs);
    });
  });
  try {
    for (;;) {
      if (changeUs === null) {
        quiet = true;
        changeUs = (yield { kind: 'receive', mailbox: box }) as number;
        quiet = false;
        const more = yield* takeChanges(rt, box, -Infinity);
        if (more !== null && more < changeUs) changeUs = more;
        if (changeUs === Infinity) {
          // A hand-over with no change: the naive loop's probe passes, nothing to do.
          changeUs = null;
          handedOver = false;
          continue;
        }
      }
      const { aimAt, callAt } = firstCallFrom(aim, changeUs, origin, intervalUs, passUs(), rt.pausesOf(agent));
      const nowUs = (yield { kind: 'now' }) as number;
      // Woken by the hand-over where the naive loop calls: the call is now, in its place.
      const inPlace = handedOver && callAt <= nowUs;
      handedOver = false;
      if (!inPlace) {
        // A call delayed by a pause happens as soon as the agent runs again (that is now).
        if (callAt === aimAt && aimAt >= nowUs) yield sleepLate(aimAt);
        // A call that a pause delayed (its aim passed while the agent was paused), reached without
        // a hand-over: the delayed calls of this instant go through the late lane in process-id order.
        else if (aimAt < nowUs) yield sleepLate(nowUs);
      }
      const callUs = (yield { kind: 'now' }) as number;
      yield* takeChanges(rt, box, Infinity); // changes up to now are seen by this probe
      const r = (yield { kind: 'call', port: 'prober', op: 'probe', args: [spec] }) as ProbeResult;
      if (!r.ok) return r;
      yield { kind: 'trace', record: { kind: 'probe.ok', subject: spec.target, data: { probe: spec.kind } } };
      const backUs = (yield { kind: 'now' }) as number;
      aim = nextGridUs(origin, intervalUs, Math.max(aimAt, backUs - 1));
      changeUs = yield* takeChanges(rt, box, callUs);
    }
  } finally {
    live = false;
    unsubscribe();
    unhook();
    rt.dropMailbox(box);
  }
}

/** The pause [from, to) of `pauses` that covers `t`, if any. */
function pauseAt(pauses: ReadonlyArray<readonly [number, number]>, t: number): readonly [number, number] | undefined {
  for (const p of pauses) if (p[0] <= t && t < p[1]) return p;
  return undefined;
}

/**
 * Replays passing naive probes (each lasting `d`) from `aim` to the first one called at or after
 * `tc`, through the agent's finished pauses.
 */
function firstCallFrom(
  aim: number,
  tc: number,
  origin: number,
  intervalUs: number,
  d: number,
  pauses: ReadonlyArray<readonly [number, number]>,
): { aimAt: number; callAt: number } {
  const stride = intervalUs * Math.ceil(d / intervalUs);
  for (let guard = 0; guard < 1_000_000; guard++) {
    let next: readonly [number, number] | undefined;
    for (const p of pauses) {
      if (p[1] > aim) {
        next = p;
        break;
      }
    }
    // Probes at aim, aim + stride, ... are untouched by pauses while a + d <= next pause start.
    const firstTouched = next ? Math.max(0, Math.ceil((next[0] - d + 1 - aim) / stride)) : Infinity;
    const firstSeeing = Math.max(0, Math.ceil((tc - aim) / stride));
    if (firstSeeing <= firstTouched) {
      const a = aim + stride * firstSeeing;
      return { aimAt: a, callAt: a };
    }
    aim += stride * firstTouched;
    const callPause = pauseAt(pauses, aim);
    const callAt = callPause ? callPause[1] : aim;
    if (callAt >= tc) return { aimAt: aim, callAt };
    const donePause = pauseAt(pauses, callAt + d);
    const back = donePause ? donePause[1] : callAt + d;
    aim = nextGridUs(origin, intervalUs, Math.max(aim, back - 1));
  }
  throw new Error('skipWatch: replay did not converge');
}

/** Earliest change time among queued notifications later than `afterUs`; empties the mailbox. */
function* takeChanges(rt: Runtime, box: string, afterUs: number): Op<number | null> {
  let earliest: number | null = null;
  while (rt.queued(box) > 0) {
    const t = (yield { kind: 'receive', mailbox: box, timeoutUs: 0 }) as number;
    if (t > afterUs && (earliest === null || t < earliest)) earliest = t;
  }
  return earliest;
}

/** Would two load samples give the same condition record (each field as JSON text reads it)? */
export function sameLoadSample(a: LoadSample, b: LoadSample): boolean {
  const same = (x: number, y: number) => x === y || (!Number.isFinite(x) && !Number.isFinite(y));
  return same(a.memFreeKb, b.memFreeKb) && same(a.memTotalKb, b.memTotalKb) && same(a.cpuIdlePct, b.cpuIdlePct)
    && same(a.cores, b.cores) && same(a.netBytesPerS, b.netBytesPerS) && same(a.netRatedBytesPerS, b.netRatedBytesPerS);
}

/** `awaitLoadChange` in live mode (and for another host's load): the plain loop of real samples. */
function* liveSteadyLoad(host: string, intervalUs: number, last: LoadSample): Op<LoadSample> {
  for (;;) {
    yield { kind: 'sleep', us: intervalUs };
    const s = (yield { kind: 'call', port: 'load', op: 'sample', args: [host] }) as LoadSample;
    if (!sameLoadSample(s, last)) return s;
  }
}

function sampleLate(host: string, atUs: number, oracle: LoadOracle): Effect {
  return { kind: 'sampleLate', host, atUs, oracle } as unknown as Effect;
}

/** `awaitLoadChange` in sim, ticking: each wake-up and each reading in the late lane. */
function* naiveSteadyLoad(host: string, intervalUs: number, last: LoadSample, oracle: LoadOracle): Op<LoadSample> {
  const latencyUs = oracle.latencyUs(host);
  for (;;) {
    yield sleepLate((yield { kind: 'now' }) as number + intervalUs);
    const s = (yield sampleLate(host, ((yield { kind: 'now' }) as number) + latencyUs, oracle)) as LoadSample;
    if (!sameLoadSample(s, last)) return s;
  }
}

/**
 * `awaitLoadChange` in sim, skipping: while the load stays as `last`, no event at all. From the
 * anchor (the instant the naive loop last had control, unpaused) its calls fall at
 * c_k = anchor + I + k (I + L) and its readings at e_k = c_k + L, both late. On a change at tc
 * (the world calls back; an ordinary event of tc) the first reading that can see it is the first
 * e_k >= tc: this loop takes the naive loop's place there (its call at c_k if that is still to
 * come, else its reading at e_k) and reads for real; a reading equal to `last` anchors a new quiet
 * stretch. A pause of the agent (the runtime calls back at its start, before any late event of
 * that instant) hands over to the naive loop's state at that instant: a late event at the next
 * naive wake-up (c_k, or e_k with the reading taken then) wakes this loop, held until the agent
 * resumes as the naive one would be. Each quiet stretch starts from the world's load now: if it
 * reads differently from `last` (it changed after the reading, while a pause held the owner or
 * this loop), the next naive reading sees it. Readings are therefore taken at the same instants,
 * in the same lane and order as ticking, and the owner resumes at the same point of the event order.
 */
function* skipSteadyLoad(rt: Runtime, agent: string, host: string, intervalUs: number, last: LoadSample, oracle: LoadOracle, tie: number): Op<LoadSample> {
  type Msg = { kind: 'change'; t: number } | { kind: 'call' } | { kind: 'reading'; sample: LoadSample };
  const latencyUs = oracle.latencyUs(host);
  const stride = intervalUs + latencyUs;
  const pid = (yield { kind: 'self' }) as number;
  let anchor = (yield { kind: 'now' }) as number;
  /** The first naive reading at or after `t`: its call c and reading e. */
  const readingFrom = (t: number): { c: number; e: number } => {
    const k = Math.max(0, Math.ceil((t - latencyUs - anchor - intervalUs) / stride));
    const c = anchor + intervalUs + k * stride;
    return { c, e: c + latencyUs };
  };
  const loop = new QuietLoop<Msg>(rt, agent, `#steady/${pid}`, tie, (nowUs) => {
    const { c, e } = readingFrom(nowUs);
    return c >= nowUs ? { at: c, message: () => ({ kind: 'call' }) } : { at: e, message: () => ({ kind: 'reading', sample: oracle.now(host) }) };
  });
  try {
    for (;;) {
      let msg: Msg;
      // The load may have changed since the reading that gave `last` (the owner or this loop was
      // held by a pause meanwhile): the naive loop's next reading sees it.
      if (!sameLoadSample(oracle.now(host), last)) msg = { kind: 'change', t: anchor };
      else {
        const post = loop.begin();
        loop.listen(oracle.subscribe(host, () => post({ kind: 'change', t: rt.nowUs() })));
        msg = (yield { kind: 'receive', mailbox: loop.box }) as Msg;
        loop.stop();
      }
      let s: LoadSample;
      if (msg.kind === 'reading') s = msg.sample;
      else if (msg.kind === 'call') s = (yield sampleLate(host, ((yield { kind: 'now' }) as number) + latencyUs, oracle)) as LoadSample;
      else {
        const nowUs = (yield { kind: 'now' }) as number;
        const { c, e } = readingFrom(msg.t);
        if (c >= nowUs) {
          yield sleepLate(c);
          s = (yield sampleLate(host, ((yield { kind: 'now' }) as number) + latencyUs, oracle)) as LoadSample;
        } else s = (yield sampleLate(host, e, oracle)) as LoadSample;
      }
      if (!sameLoadSample(s, last)) return s;
      anchor = (yield { kind: 'now' }) as number;
    }
  } finally {
    loop.close();
  }
}

function assertInterval(intervalUs: number): void {
  if (!Number.isSafeInteger(intervalUs) || intervalUs <= 0) {
    throw new RangeError(`watch interval must be a positive integer of microseconds, got ${intervalUs}`);
  }
}
