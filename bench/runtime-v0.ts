// The runtime as it was before the one-shot effect helpers (engine/runtime/runtime.ts and the
// `sleep` helper of effects.ts at commit 3130736), frozen for `npm run bench -- --only=...,runtime0`:
// the before/after comparison is then measured in the same run, on the same machine.
// Not used by anything else; do not fix it, delete it when the comparison is no longer wanted.
/* eslint-disable */
import type { Ports } from '../engine/ports/index.ts';
import type { ProbeResult, ProbeSpec, QuietOracle } from '../engine/ports/probe.ts';
import type { TraceSink } from '../engine/ports/trace.ts';
import type { Effect, JoinResult, Op, Process } from '../engine/runtime/effects.ts';

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

class Proc {
  status: 'ready' | 'blocked' | 'running' | 'done' = 'ready';
  cancelling = false;
  /** Increments at every block; a wake carrying an older number is stale and ignored. */
  waitSeq = 0;
  timer = -1;
  waiter: Waiter | null = null;
  joiners: Wake[] = [];
  children = new Set<Proc>();
  constructor(
    readonly pid: number,
    readonly name: string,
    readonly agent: string,
    readonly gen: Process<unknown>,
    readonly parent: Proc | null,
    /** Processes that run a `watch` use their owner's pid to order simultaneous probes. */
    readonly tiePid: number,
  ) {}
}

interface Mailbox {
  messages: unknown[];
  waiters: Wake[];
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
  private current: Proc | null = null;
  /** Processes by pid (a dense array: the timer path looks them up on every wake-up). */
  private readonly byPid: Array<Proc | undefined> = [];
  private readonly onTimer = (pid: number): void => {
    const p = this.byPid[pid];
    if (p === undefined) return;
    p.timer = -1;
    if (this.draining || (this.pausedAgents.size > 0 && this.pausedAgents.has(p.agent))) {
      this.enqueue(p, undefined, false, p.waitSeq);
      this.drain();
      return;
    }
    // Fast path: run the woken process at once, then whatever it made ready.
    this.draining = true;
    try {
      this.step(p, undefined, false);
    } finally {
      this.draining = false;
    }
    if (this.readyTail > 0) this.drain();
  };

  constructor(private readonly opts: RuntimeOptions) {
    this.sched = opts.scheduler;
    this.portsOf = opts.ports;
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
    const victims = [...this.procs.values()].filter((p) => p.agent === agent && (p.parent === null || p.parent.agent !== agent));
    for (const p of victims.sort((a, b) => a.pid - b.pid)) this.cancelProc(p.pid);
    this.unpark(agent);
    this.drain();
  }

  /** Freezes every process of `agent` (SIGSTOP of its host): nothing of it runs until resumeAgent. */
  pauseAgent(agent: string): void {
    if (this.pausedAgents.has(agent)) return;
    this.pausedAgents.add(agent);
    this.pauseStart.set(agent, this.sched.nowUs());
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
    this.byPid[pid] = p;
    parent?.children.add(p);
    this.enqueue(p, undefined, false, p.waitSeq);
    return p;
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
        if (p.status === 'done' || s !== p.waitSeq) continue;
        if (this.pausedAgents.size > 0 && this.pausedAgents.has(p.agent) && v !== CANCEL) {
          this.parked.push([p, v, e, s]);
          continue;
        }
        this.step(p, v, e);
      }
    } finally {
      // Reset by index, keeping the arrays' storage (setting length = 0 would free it).
      this.readyTail = 0;
      this.readyHead = 0;
      this.draining = false;
    }
  }

  private wakeFor(p: Proc): Wake {
    const seq = p.waitSeq;
    return (value, isError) => {
      if (p.status !== 'blocked' || p.waitSeq !== seq) return;
      p.waiter = null;
      this.enqueue(p, value, isError, seq);
      this.drain();
    };
  }

  private step(p: Proc, value: unknown, isError: boolean): void {
    let v = value;
    let err = isError;
    const sched = this.sched;
    p.status = 'running';
    for (;;) {
      let r: IteratorResult<Effect, unknown>;
      this.current = p;
      try {
        if (v === CANCEL) r = p.gen.return(undefined);
        else r = err ? p.gen.throw(v) : p.gen.next(v);
      } catch (e) {
        this.current = null;
        this.finish(p, { status: 'failed', error: e });
        return;
      }
      this.current = null;
      if (r.done) {
        this.finish(p, p.cancelling ? { status: 'cancelled' } : { status: 'done', value: r.value });
        return;
      }
      const eff = r.value;
      this.opts.onEffect?.(p.pid, eff, sched.nowUs());
      err = false;
      switch (eff.kind) {
        case 'sleep': {
          if (!(eff.us >= 0) || !Number.isSafeInteger(eff.us)) {
            v = new RangeError(`sleep(${eff.us}): microseconds must be a non-negative integer`);
            err = true;
            continue;
          }
          p.status = 'blocked';
          p.waitSeq++;
          p.timer = sched.at(sched.nowUs() + eff.us, this.onTimer, p.pid);
          return;
        }
        case 'now':
          v = sched.nowUs();
          continue;
        case 'self':
          v = p.pid;
          continue;
        case 'trace':
          this.opts.trace?.emit({ t: sched.nowUs(), ...eff.record });
          v = undefined;
          continue;
        case 'spawn':
          v = this.newProc(eff.name, eff.body, eff.agent ?? p.agent, p).pid;
          continue;
        case 'send':
          this.put(eff.to, eff.msg);
          v = undefined;
          continue;
        case 'cancel':
          if (eff.pid === p.pid) {
            v = new Error('a process cannot cancel itself: return instead');
            err = true;
            continue;
          }
          this.cancelProc(eff.pid);
          v = undefined;
          continue;
        default: {
          p.status = 'blocked';
          p.waitSeq++;
          p.waiter = this.block(p, eff, this.wakeFor(p));
          return;
        }
      }
    }
  }

  /** Starts a blocking effect; `wake` is called (maybe at once) with its result. */
  private block(p: Proc, eff: Effect, wake: Wake): Waiter {
    const sched = this.sched;
    switch (eff.kind) {
      case 'sleep':
      case 'sleepUntil': {
        const at = eff.kind === 'sleep' ? sched.nowUs() + eff.us : Math.max(sched.nowUs(), eff.atUs);
        const late = eff.kind === 'sleepUntil' && (eff as { late?: boolean }).late === true;
        const token = sched.at(at, () => wake(undefined, false), 0, late ? p.tiePid : undefined);
        return { withdraw: () => sched.cancel(token) };
      }
      case 'receive': {
        const box = this.box(eff.mailbox);
        if (box.messages.length > 0) {
          wake(box.messages.shift(), false);
          return NO_WAITER;
        }
        if (eff.timeoutUs === 0) {
          wake(undefined, false);
          return NO_WAITER;
        }
        let token = -1;
        const w: Wake = (msg) => {
          if (token >= 0) sched.cancel(token);
          wake(msg, false);
        };
        box.waiters.push(w);
        const remove = () => {
          const i = box.waiters.indexOf(w);
          if (i >= 0) box.waiters.splice(i, 1);
        };
        if (eff.timeoutUs !== undefined) {
          token = sched.at(sched.nowUs() + eff.timeoutUs, () => {
            token = -1;
            remove();
            wake(undefined, false);
          }, 0);
        }
        return {
          withdraw: () => {
            remove();
            if (token >= 0) sched.cancel(token);
          },
        };
      }
      case 'join': {
        const done = this.results.get(eff.pid);
        if (done) {
          wake(done, false);
          return NO_WAITER;
        }
        const target = this.procs.get(eff.pid);
        if (!target) {
          wake(new Error(`join: no process ${eff.pid}`), true);
          return NO_WAITER;
        }
        target.joiners.push(wake);
        return {
          withdraw: () => {
            const i = target.joiners.indexOf(wake);
            if (i >= 0) target.joiners.splice(i, 1);
          },
        };
      }
      case 'call': {
        const port = this.portsOf(p.agent)[eff.port as keyof Ports] as Record<string, unknown> | undefined;
        const fn = port?.[eff.op];
        if (typeof fn !== 'function') {
          wake(new Error(`port ${eff.port}.${eff.op} is not bound for agent ${p.agent}`), true);
          return NO_WAITER;
        }
        let live = true;
        let result: unknown;
        try {
          result = (fn as (...a: unknown[]) => unknown).apply(port, eff.args);
        } catch (e) {
          wake(e, true);
          return NO_WAITER;
        }
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          (result as PromiseLike<unknown>).then(
            (val) => live && wake(val, false),
            (e) => live && wake(e, true),
          );
          return { withdraw: () => (live = false) };
        }
        wake(result, false);
        return NO_WAITER;
      }
      case 'watch': {
        const oracle = this.opts.watchMode === 'naive' ? undefined : this.portsOf(p.agent).quiet;
        const body = oracle
          ? skipWatch(this, p.agent, eff.probe, eff.intervalUs, eff.phaseUs, oracle)
          : naiveWatch(eff.probe, eff.intervalUs, eff.phaseUs);
        const child = this.newProc(`${p.name}/watch`, body, p.agent, p, p.tiePid);
        const joinW = this.block(p, { kind: 'join', pid: child.pid }, (res, isErr) => {
          if (isErr) return wake(res, true);
          const jr = res as JoinResult<ProbeResult>;
          if (jr.status === 'done') wake(jr.value, false);
          else if (jr.status === 'failed') wake(jr.error, true);
        });
        return {
          withdraw: () => {
            joinW.withdraw();
            this.cancelProc(child.pid);
          },
        };
      }
      case 'race': {
        if (eff.effects.length === 0) throw new Error('firstOf() needs at least one effect');
        let settled = false;
        const waiters: Waiter[] = [];
        const withdrawAll = () => {
          for (const w of waiters) w.withdraw();
        };
        eff.effects.forEach((sub, index) => {
          if (settled) return;
          const w = this.block(p, sub, (value, isError) => {
            if (settled) return;
            settled = true;
            withdrawAll();
            if (isError) wake(value, true);
            else wake({ index, value }, false);
          });
          waiters.push(w);
        });
        if (settled) withdrawAll();
        return { withdraw: withdrawAll };
      }
      default:
        throw new Error(`effect ${(eff as Effect).kind} cannot be used here`);
    }
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
    if (w) w(msg, false);
    else b.messages.push(msg);
  }

  /** Delivers a message in an event of its own at the current instant (safe to call from anywhere). */
  post(mailbox: string, msg: unknown): void {
    this.sched.at(this.sched.nowUs(), () => this.deliver(mailbox, msg), 0);
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
    if (p === this.current) throw new Error('a process cannot cancel itself');
    p.cancelling = true;
    for (const c of [...p.children].sort((a, b) => a.pid - b.pid)) this.cancelProc(c.pid);
    if (p.timer >= 0) {
      this.sched.cancel(p.timer);
      p.timer = -1;
    }
    p.waiter?.withdraw();
    p.waiter = null;
    p.waitSeq++;
    p.status = 'ready';
    this.enqueue(p, CANCEL, false, p.waitSeq);
  }

  private finish(p: Proc, result: JoinResult<unknown>): void {
    p.status = 'done';
    this.procs.delete(p.pid);
    this.byPid[p.pid] = undefined;
    p.parent?.children.delete(p);
    this.results.set(p.pid, result);
    const joiners = p.joiners;
    p.joiners = [];
    if (result.status === 'failed' && joiners.length === 0) {
      if (this.opts.onUnjoinedFailure) this.opts.onUnjoinedFailure(p.name, p.pid, result.error);
      else throw new ProcessError(p.name, p.pid, result.error);
    }
    for (const j of joiners) j(result, false);
  }
}

const NO_WAITER: Waiter = { withdraw: () => undefined };

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
 */
function* skipWatch(rt: Runtime, agent: string, spec: ProbeSpec, intervalUs: number, phaseUs: number | undefined, oracle: QuietOracle): Op<ProbeResult> {
  assertInterval(intervalUs);
  const startUs = (yield { kind: 'now' }) as number;
  const pid = (yield { kind: 'self' }) as number;
  const box = `#watch/${pid}`;
  const origin = phaseUs ?? startUs;
  const grid = (after: number) => nextGridUs(origin, intervalUs, after);
  // The instant the naive loop aims its next probe at, with no probe in flight.
  let aim = grid(Math.max(phaseUs === undefined ? startUs : -Infinity, startUs - 1));
  let changeUs: number | null = oracle.wouldPass(spec) ? null : startUs;
  // Notifications arrive in the middle of a world update: deliver them as an event of their own.
  const unsubscribe = oracle.subscribe(spec, () => rt.post(box, rt.nowUs()));

  /** Replays passing naive probes from `aim` to the first one called at or after `tc`. */
  const firstCallFrom = (tc: number): { aimAt: number; callAt: number } => {
    const d = Math.max(1, oracle.passLatencyUs(spec));
    const stride = intervalUs * Math.ceil(d / intervalUs);
    const pauses = rt.pausesOf(agent);
    const pauseAt = (t: number) => pauses.find(([from, to]) => from <= t && t < to);
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = pauses.find(([, to]) => to > aim);
      // Probes at aim, aim + stride, ... are untouched by pauses while a + d <= next pause start.
      const firstTouched = next ? Math.max(0, Math.ceil((next[0] - d + 1 - aim) / stride)) : Infinity;
      const firstSeeing = Math.max(0, Math.ceil((tc - aim) / stride));
      if (firstSeeing <= firstTouched) {
        const a = aim + stride * firstSeeing;
        return { aimAt: a, callAt: a };
      }
      aim += stride * firstTouched;
      const callPause = pauseAt(aim);
      const callAt = callPause ? callPause[1] : aim;
      if (callAt >= tc) return { aimAt: aim, callAt };
      const donePause = pauseAt(callAt + d);
      const back = donePause ? donePause[1] : callAt + d;
      aim = grid(Math.max(aim, back - 1));
    }
    throw new Error('skipWatch: replay did not converge');
  };

  /** Earliest change time among queued notifications later than `afterUs`; empties the mailbox. */
  function* takeChanges(afterUs: number): Op<number | null> {
    let earliest: number | null = null;
    while (rt.queued(box) > 0) {
      const t = (yield { kind: 'receive', mailbox: box, timeoutUs: 0 }) as number;
      if (t > afterUs && (earliest === null || t < earliest)) earliest = t;
    }
    return earliest;
  }
  try {
    for (;;) {
      if (changeUs === null) {
        changeUs = (yield { kind: 'receive', mailbox: box }) as number;
        const more = yield* takeChanges(-Infinity);
        if (more !== null && more < changeUs) changeUs = more;
      }
      const { aimAt, callAt } = firstCallFrom(changeUs);
      const nowUs = (yield { kind: 'now' }) as number;
      // A call delayed by a pause happens as soon as the agent runs again (that is now).
      if (callAt === aimAt && aimAt >= nowUs) yield sleepLate(aimAt);
      const callUs = (yield { kind: 'now' }) as number;
      yield* takeChanges(Infinity); // changes up to now are seen by this probe
      const r = (yield { kind: 'call', port: 'prober', op: 'probe', args: [spec] }) as ProbeResult;
      if (!r.ok) return r;
      yield { kind: 'trace', record: { kind: 'probe.ok', subject: spec.target, data: { probe: spec.kind } } };
      const backUs = (yield { kind: 'now' }) as number;
      aim = grid(Math.max(aimAt, backUs - 1));
      changeUs = yield* takeChanges(callUs);
    }
  } finally {
    unsubscribe();
    rt.dropMailbox(box);
  }
}

function assertInterval(intervalUs: number): void {
  if (!Number.isSafeInteger(intervalUs) || intervalUs <= 0) {
    throw new RangeError(`watch interval must be a positive integer of microseconds, got ${intervalUs}`);
  }
}

/** The generator `sleep` helper of that commit: a generator and an effect object per call. */
export function* sleepV0(us: number): Op<void> {
  yield { kind: 'sleep', us };
}
