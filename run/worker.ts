// Sweeps across machines: the tasks of a sweep (run/sweep.ts) go on a BullMQ queue in Redis;
// `hatwin worker --queue redis://HOST:PORT` on any number of machines takes them, runs each on a
// kept worker thread and returns its samples. The coordinator (`hatwin sweep --queue`) gathers
// the results by task and summarises them exactly as a local run does, so the files are the same.
//
// A worker that dies (SIGKILL, power) stops renewing the lock of its jobs; after `lockMs` another
// worker's stalled-job check (every `stalledMs`) puts them back in the queue, and some worker
// runs them again (BullMQ's stalled-job handling). A job whose simulation throws fails for good
// after a second attempt (a simulation is deterministic: the same task fails again).
//
// Workers run tasks as data: a scenario as YAML text, validated by the scenario loader, and a
// seed. Results come from the worker's code, so the queue's name carries a fingerprint of the code
// that simulations depend on (`codeFingerprint`): a coordinator and a worker of different code
// never share a queue, and both print its name. Redis must be reachable only by machines you
// trust to run hatwin's tasks.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job, Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { threadPool } from './pool.ts';
import type { SweepTask, SweepTaskResult } from './sweep.ts';

/** The prefix of the queues of sweep tasks (`hatwin-sweep-<code fingerprint>`). */
export const QUEUE_PREFIX = 'hatwin-sweep';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What a simulation's result depends on: our code below experiments/, and the packages' versions. */
const CODE_DIRS = ['trace', 'sim', 'engine', 'policies', 'adapters', 'run'];
let fingerprint: string | undefined;

/** 12 hex digits of a hash of the .ts files of CODE_DIRS (paths and contents) and package-lock.json. */
export function codeFingerprint(): string {
  if (fingerprint) return fingerprint;
  const h = createHash('sha256');
  const walk = (dir: string): string[] => readdirSync(dir).sort().flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
  for (const file of [...CODE_DIRS.flatMap((d) => walk(join(REPO, d))), join(REPO, 'package-lock.json')]) {
    h.update(relative(REPO, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return (fingerprint = h.digest('hex').slice(0, 12));
}

/** The queue for this code's sweep tasks. */
export function queueName(): string {
  return `${QUEUE_PREFIX}-${codeFingerprint()}`;
}

/** Connection options from a URL: redis://[user:password@]host[:port][/db], rediss:// for TLS. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue: not a URL: "${url}" (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue: expected redis://HOST:PORT or rediss://..., got "${url}"`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue: database must be a number, got "${u.pathname.slice(1)}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers block on the queue: BullMQ needs ioredis to retry for ever rather than fail requests.
    maxRetriesPerRequest: null,
  };
}

export interface QueueRunOptions {
  /** Called once per task as its result arrives. */
  onDone?: (index: number, result: SweepTaskResult) => void;
  say?: (msg: string) => void;
  /** Aborting removes this run's jobs that have not started and rejects. */
  signal?: AbortSignal;
}

/**
 * Puts `tasks` on the queue at `url` and returns their results in task order, once workers have
 * run them all. The run's jobs are removed from Redis at the end.
 */
export async function runOnQueue(url: string, tasks: readonly SweepTask[], o: QueueRunOptions = {}): Promise<SweepTaskResult[]> {
  const connection = redisConnection(url);
  const say = o.say ?? (() => undefined);
  const name = queueName();
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const run = randomUUID();
  const ids = tasks.map((_, i) => `${run}.${i}`);
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const results: Array<SweepTaskResult | undefined> = new Array(tasks.length);
  let left = tasks.length;
  let lastNews = Date.now();
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => undefined);

  /** Looks at one job; takes its result when it is completed, fails the run when it failed for good. */
  const look = async (id: string): Promise<void> => {
    const i = indexOf.get(id);
    if (i === undefined || results[i] !== undefined) return;
    const job = await Job.fromId<SweepTask, SweepTaskResult>(queue, id);
    if (!job || results[i] !== undefined) return;
    const state = await job.getState();
    if (results[i] !== undefined) return;
    if (state === 'completed') {
      const r = job.returnvalue;
      if (!r || r.point !== tasks[i].point || r.rep !== tasks[i].rep) return fail(new Error(`job ${id}: the result does not belong to the task`));
      results[i] = r;
      left--;
      lastNews = Date.now();
      o.onDone?.(i, r);
      if (left === 0) finish();
    } else if (state === 'failed') {
      fail(new Error(`task ${i} (${tasks[i].file}, seed ${tasks[i].seed}) failed${job.processedBy ? ` on ${job.processedBy}` : ''}: ${job.failedReason}`));
    }
  };
  const onEvent = ({ jobId }: { jobId: string }) => {
    if (indexOf.has(jobId)) look(jobId).catch((e: Error) => fail(e));
  };
  const onAbort = () => fail(new Error('interrupted'));
  let timer: NodeJS.Timeout | undefined;
  try {
    await events.waitUntilReady();
    events.on('completed', onEvent);
    events.on('failed', onEvent);
    o.signal?.addEventListener('abort', onAbort);
    for (let from = 0; from < tasks.length; from += 1000) {
      await queue.addBulk(tasks.slice(from, from + 1000).map((t, k) => ({
        name: 'sim',
        data: t,
        // Removed by this coordinator once read; the ages only clean up after one that died.
        opts: { jobId: ids[from + k], attempts: 2, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 } },
      })));
    }
    say(`${tasks.length} jobs on queue ${name} at ${url}; workers: hatwin worker --queue ${url} (of this same code: the queue's name ends with its fingerprint)`);
    // Events can be missed (a reconnect): when nothing has been heard for a while, look at the jobs.
    let sweeping = false;
    timer = setInterval(() => {
      if (sweeping || Date.now() - lastNews < 5_000) return;
      sweeping = true;
      lastNews = Date.now();
      const open = ids.filter((_, i) => results[i] === undefined).slice(0, 500);
      Promise.all(open.map((id) => look(id))).catch((e: Error) => fail(e)).finally(() => (sweeping = false));
    }, 1_000);
    await done;
    return results as SweepTaskResult[];
  } finally {
    if (timer) clearInterval(timer);
    o.signal?.removeEventListener('abort', onAbort);
    events.off('completed', onEvent);
    events.off('failed', onEvent);
    // Jobs that are running cannot be removed (locked); they end on their own.
    for (let from = 0; from < ids.length; from += 500) {
      await Promise.all(ids.slice(from, from + 500).map((id) => queue.remove(id).catch(() => 0)));
    }
    await events.close();
    await queue.close();
  }
}

export interface QueueWorkerOptions {
  /** Worker threads, and jobs taken at once. */
  jobs: number;
  /** How long a job's lock lasts without renewal (BullMQ lockDuration), ms. */
  lockMs: number;
  /** How often this worker looks for stalled jobs of dead workers (BullMQ stalledInterval), ms. */
  stalledMs: number;
  /** Shown in the coordinator's messages (job.processedBy) and in this worker's log. */
  name?: string;
  say?: (msg: string) => void;
}

export interface QueueWorker {
  readonly name: string;
  /** The queue it takes jobs from. */
  readonly queue: string;
  /** Stops taking jobs, waits for the running ones, ends the threads. */
  close(): Promise<void>;
}

function isTask(x: unknown): x is SweepTask {
  const t = x as Partial<SweepTask> | null;
  return typeof t === 'object' && t !== null && Number.isSafeInteger(t.point) && Number.isSafeInteger(t.rep) && Number.isSafeInteger(t.seed) &&
    typeof t.scenario === 'string' && typeof t.file === 'string' && Array.isArray(t.metrics);
}

/** Takes sweep jobs from the queue at `url` until closed. */
export async function startQueueWorker(url: string, o: QueueWorkerOptions): Promise<QueueWorker> {
  const connection = redisConnection(url);
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const say = o.say ?? (() => undefined);
  const pool = await threadPool<SweepTask, SweepTaskResult>(new URL('./sweep.ts', import.meta.url).href, 'runSweepTask', o.jobs);
  const queue = queueName();
  const worker = new Worker<SweepTask, SweepTaskResult>(
    queue,
    async (job) => {
      if (!isTask(job.data)) throw new Error('not a sweep task');
      const t0 = Date.now();
      say(`job ${job.id} started (point ${job.data.point}, seed ${job.data.seed})`);
      const r = await pool.run(job.data);
      say(`job ${job.id} done in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      return r;
    },
    { connection, concurrency: o.jobs, lockDuration: o.lockMs, stalledInterval: o.stalledMs, maxStalledCount: 5, name },
  );
  worker.on('error', (e) => say(`error: ${e.message}`));
  worker.on('failed', (job, e) => say(`job ${job?.id ?? '?'} failed: ${e.message}`));
  await worker.waitUntilReady();
  return {
    name,
    queue,
    async close() {
      await worker.close();
      await pool.destroy();
    },
  };
}
