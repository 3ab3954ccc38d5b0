// Real-time scheduler: wall-clock timers and a monotonic clock, for live mode.
// `speedup` runs engine time faster than real time (tests run a 10 s monitor in 10 ms with 1000).
import { performance } from 'node:perf_hooks';
import type { Scheduler } from '../../engine/runtime/runtime.ts';

export class RealtimeScheduler implements Scheduler {
  private readonly originMs = performance.now();
  private nextToken = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  constructor(private readonly speedup = 1) {
    if (!(speedup > 0)) throw new RangeError(`speedup must be > 0, got ${speedup}`);
  }

  /** Engine time: real microseconds since start, times the speed-up, as an integer. */
  nowUs(): number {
    return Math.floor((performance.now() - this.originMs) * 1000 * this.speedup);
  }

  at(timeUs: number, fn: (arg: number) => void, arg: number): number {
    const token = this.nextToken++;
    const delayMs = Math.max(0, (timeUs - this.nowUs()) / 1000 / this.speedup);
    const h = setTimeout(() => {
      this.timers.delete(token);
      fn(arg);
    }, delayMs);
    this.timers.set(token, h);
    return token;
  }

  cancel(token: number): boolean {
    const h = this.timers.get(token);
    if (!h) return false;
    clearTimeout(h);
    this.timers.delete(token);
    return true;
  }

  /** Timers still pending (a clean shutdown leaves none). */
  get pending(): number {
    return this.timers.size;
  }

  /** Cancels every pending timer. */
  close(): void {
    for (const h of this.timers.values()) clearTimeout(h);
    this.timers.clear();
  }
}
