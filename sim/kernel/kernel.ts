// The DES kernel: simulated time in integer microseconds and an event queue.
// It reads no wall clock; time moves only when an event is popped.
import { EventQueue, type EventHandler, type EventToken } from './queue.ts';

export type { EventHandler, EventToken };

export interface RunOptions {
  /** Stop before the first event later than this time (us); the clock is then set to it. */
  untilUs?: number;
  /** Stop after this many events (a guard against runaway models). */
  maxEvents?: number;
}

export class Kernel {
  private queue: EventQueue;
  private clockUs = 0;
  private seq = 0;
  private fired = 0;

  constructor(initialCapacity = 1024) {
    this.queue = new EventQueue(initialCapacity);
  }

  nowUs(): number {
    return this.clockUs;
  }

  /** Events fired so far. */
  get eventCount(): number {
    return this.fired;
  }

  get pending(): number {
    return this.queue.length;
  }

  /**
   * Schedules `handler(arg)` at absolute time `timeUs` (integer, not in the past).
   * With `lateTie` the event runs after all ordinary events of that instant, ordered by lateTie.
   */
  at(timeUs: number, handler: EventHandler, arg = 0, lateTie?: number): EventToken {
    if (!Number.isSafeInteger(timeUs) || timeUs < this.clockUs) {
      throw new RangeError(`Kernel.at: time ${timeUs} us is not an integer >= now (${this.clockUs} us)`);
    }
    if (lateTie === undefined) return this.queue.push(2 * timeUs, this.seq++, handler, arg);
    return this.queue.push(2 * timeUs + 1, lateTie, handler, arg);
  }

  /** Schedules `handler(arg)` after `delayUs` (integer >= 0). */
  after(delayUs: number, handler: EventHandler, arg = 0): EventToken {
    return this.at(this.clockUs + delayUs, handler, arg);
  }

  cancel(token: EventToken): boolean {
    return this.queue.cancel(token);
  }

  isPending(token: EventToken): boolean {
    return this.queue.isPending(token);
  }

  /** Time of the next event, or Infinity. */
  peekUs(): number {
    const k = this.queue.peekKey();
    return k === Infinity ? Infinity : Math.floor(k / 2);
  }

  /** Fires the next event. Returns false when none is pending. */
  step(): boolean {
    const q = this.queue;
    if (q.length === 0) return false;
    const slot = q.popSlot();
    const key = q.keyOf(slot);
    const handler = q.handlerOf(slot);
    const arg = q.argOf(slot);
    q.release(slot);
    this.clockUs = (key - (key % 2)) / 2;
    this.fired++;
    handler(arg);
    return true;
  }

  /** Runs events in order; returns the number fired. */
  run(opts: RunOptions = {}): number {
    const until = opts.untilUs ?? Infinity;
    const max = opts.maxEvents ?? Infinity;
    const untilKey = 2 * until + 1;
    const q = this.queue;
    let n = 0;
    while (n < max && q.length > 0 && q.peekKey() <= untilKey) {
      this.step();
      n++;
    }
    if (until !== Infinity && n < max && until > this.clockUs) this.clockUs = until;
    return n;
  }
}
