// Independent simulation runs on every core: a kept pool of worker threads (tinypool: thread
// start-up, task queueing and teardown are not ours to write), and the progress display that
// `hatwin run --jobs`, `hatwin sweep` and `hatwin worker` share.
//
// A task goes to an exported function of one of our modules: each worker thread registers the
// TypeScript loader (tsx), imports the module once and calls the function for every task it gets.
// Tasks and results cross threads by structured cloning: plain data only.
import { fileURLToPath } from 'node:url';

export interface TaskPool<T, R> {
  /** Runs one task on a free thread (queued while all are busy). */
  run(task: T): Promise<R>;
  /** Ends the threads (after their current task). */
  destroy(): Promise<void>;
  readonly threads: number;
}

/**
 * A pool of `threads` kept worker threads running `exportName` of the module at `moduleUrl`
 * (an `import.meta.url`). The export gets the task and returns the result (or a promise of it).
 */
export async function threadPool<T, R>(moduleUrl: string, exportName: string, threads: number): Promise<TaskPool<T, R>> {
  if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`threads must be an integer >= 1, got ${threads}`);
  const { Tinypool } = await import('tinypool');
  // The entry is a small module given inline: the loader first, then our module.
  // A module that fails to load fails every task with its own error (tinypool would report the
  // entry as a missing file instead).
  const entry = [
    `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};`,
    'register();',
    'let fn;',
    'let failure;',
    `try { fn = (await import(${JSON.stringify(moduleUrl)}))[${JSON.stringify(exportName)}]; } catch (e) { failure = e; }`,
    `if (!failure && typeof fn !== 'function') failure = new Error(${JSON.stringify(`${fileURLToPath(moduleUrl)} has no function export ${exportName}`)});`,
    'export default (task) => { if (failure) throw failure; return fn(task); };',
  ].join('\n');
  const pool = new Tinypool({
    filename: `data:text/javascript,${encodeURIComponent(entry)}`,
    minThreads: threads,
    maxThreads: threads,
    // Kept for the whole run: a thread pays the loader and module start-up once.
    idleTimeout: 24 * 3600 * 1000,
  });
  // A thread that dies fails its task (the promise carries the error); without a listener the
  // pool's 'error' event would end the process.
  pool.on('error', () => undefined);
  return {
    threads,
    run: (task: T) => pool.run(task) as Promise<R>,
    destroy: () => pool.destroy(),
  };
}

/**
 * Runs `tasks` and returns their results in task order; `onDone(i, result)` is called in this
 * thread as each task finishes. Without a pool, in this thread, in order. With a pool, on its
 * threads and on this one (`here`, between which it lets the pool's results in): `--jobs N` is a
 * pool of N - 1 threads plus this thread, which would otherwise only wait. The first failure
 * stops handing out tasks and rejects once the running ones have ended.
 */
export async function runAll<T, R>(
  tasks: readonly T[],
  pool: TaskPool<T, R> | null,
  here: (task: T) => R,
  onDone: (index: number, result: R) => void = () => undefined,
): Promise<R[]> {
  const results: R[] = new Array(tasks.length);
  let next = 0;
  let failed = false;
  const lane = async (run: (task: T) => R | Promise<R>, breathe: boolean): Promise<void> => {
    try {
      while (!failed && next < tasks.length) {
        const i = next++;
        results[i] = await run(tasks[i]);
        onDone(i, results[i]);
        if (breathe) await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const lanes: Array<Promise<void>> = [];
  // The pool's lanes first: they hand their first tasks over before this thread starts on one.
  for (let k = 0; pool !== null && k < pool.threads; k++) lanes.push(lane((t) => pool.run(t), false));
  lanes.push(lane(here, pool !== null));
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return results;
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal; otherwise (logs, CI) one line per
 * tenth of the work and at least every `everyMs`.
 */
export class ProgressBar {
  private done = 0;
  private readonly startMs = Date.now();
  private lastLineMs = Date.now();
  private lastTenth = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly everyMs = 10_000,
  ) {}

  /** One more unit done; `note` (a short word: what finished) is shown with it. */
  tick(note = ''): void {
    this.done++;
    const secs = ((Date.now() - this.startMs) / 1000).toFixed(1);
    if (this.out.isTTY === true) {
      const w = 30;
      const filled = Math.round((w * this.done) / Math.max(1, this.total));
      this.out.write(`\r\x1b[K${this.label} [${'#'.repeat(filled)}${'.'.repeat(w - filled)}] ${this.done}/${this.total} ${secs}s ${note}`);
      if (this.done >= this.total) this.out.write('\n');
      return;
    }
    const tenth = Math.floor((10 * this.done) / Math.max(1, this.total));
    const now = Date.now();
    if (tenth > this.lastTenth || this.done >= this.total || now - this.lastLineMs >= this.everyMs) {
      this.lastTenth = tenth;
      this.lastLineMs = now;
      this.out.write(`${this.label}: ${this.done}/${this.total} (${secs} s)${note ? ` ${note}` : ''}\n`);
    }
  }

  /** A message on its own line (the bar is redrawn by the next tick). */
  say(msg: string): void {
    this.out.write(this.out.isTTY === true ? `\r\x1b[K${msg}\n` : `${msg}\n`);
  }
}
