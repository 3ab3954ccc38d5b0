// The web server's bounds: how much work one slice does before other requests get their turn,
// when a run is cut off as a runaway, how many runs and traces it keeps, how large an upload may
// be. README.md ("Web view") states them; tests shrink some through ServeOptions.limits.

import { MAX_TIME_US } from '../../sim/kernel/time.ts';

/** The latest simulated time a trace line may carry (µs): the simulator's own bound (100 years). */
export { MAX_TIME_US };

const DAY_US = 86_400_000_000;
/** The longest run (`until`), step (`by`) and injected fault (`duration`) of the web view. */
export const MAX_UNTIL_US = 365 * DAY_US;
export const MAX_UNTIL_TEXT = '365d';

const MiB = 1024 * 1024;

export interface Limits {
  /** Kernel events one slice of work fires at most before yielding (setImmediate) to other requests. */
  sliceEvents: number;
  /** Wall-clock milliseconds one slice runs at most (checked between chunks of kernel events). */
  sliceMs: number;
  /**
   * Kernel events a sim run may fire within one simulated second. More is a runaway (something
   * reschedules itself with no or a tiny delay: simulated time stops moving) and the run is cut
   * off into the `error` state. The shipped scenarios fire at most about 25 per second.
   */
  eventsPerSimSecond: number;
  /** Trace events one run may hold (memory); a run that would hold more ends in `error`. */
  runEvents: number;
  /** Runs running or paused at once; one more is refused with 429. */
  liveRuns: number;
  /** A paused run without a call (pause, resume, step, speed, fault) for this long is ended. */
  pausedIdleMs: number;
  /** Runs kept in memory (finished ones are dropped oldest first beyond this). */
  keptRuns: number;
  /** Trace events kept in memory over all finished runs (oldest finished runs dropped first). */
  keptEvents: number;
  /** Finished runs' traces kept in <out>/web-runs/ (the newest; older files are deleted). */
  savedTraces: number;
  /** Largest NDJSON upload (POST /api/replays with the trace as body); more is refused with 413. */
  uploadBytes: number;
  /** Largest saved trace a replay reads (POST /api/replays {path}); more is refused with 413. */
  savedTraceBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  sliceEvents: 20_000,
  sliceMs: 10,
  eventsPerSimSecond: 200_000,
  runEvents: 500_000,
  liveRuns: 8,
  pausedIdleMs: 10 * 60_000,
  keptRuns: 50,
  keptEvents: 2_000_000,
  savedTraces: 100,
  uploadBytes: 8 * MiB,
  savedTraceBytes: 64 * MiB,
});

export function limitsOf(partial: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}

/** "8 MiB", "512 KiB", "300 bytes". */
export function fmtBytes(n: number): string {
  if (n >= MiB && n % (MiB / 4) === 0) return `${n / MiB} MiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

/** Lets the event loop serve other work (I/O, timers, other requests) before going on. */
export const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits until a stream that refused a write takes more (drain), or is gone (close, error). */
export function writable(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
