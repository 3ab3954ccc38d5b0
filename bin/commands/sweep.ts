// `hatwin sweep SPEC.yaml`: a scenario over a grid or a random sample of parameter values, every
// point replicated, on this machine (--jobs worker threads) or on a Redis queue (--queue) that
// `hatwin worker` processes on any number of machines. Writes DIR/<name>.{json,csv,md,svg}.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readTextFile } from '../../sim/scenario/load.ts';
import { ProgressBar, runAll, threadPool, type TaskPool } from '../../run/pool.ts';
import {
  aggregateSweep, planSweep, readSweepSpec, runSweepTask, sweepMarkdown, writeSweep,
  type SweepTask, type SweepTaskResult,
} from '../../run/sweep.ts';
import { redisConnection, runOnQueue, startQueueWorker, QUEUE_PREFIX } from '../../run/worker.ts';
import { checkOutputPath, exitBadInput, guardedWith, int, positiveInt, sayer } from '../output.ts';

/** Rows of the result table printed on stdout. */
const MAX_ROWS_SHOWN = 60;

const queueUrl = (v: string): string => {
  try {
    redisConnection(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
};

export function register(program: Command): void {
  const sweepSay = sayer('sweep');
  program
    .command('sweep')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('run a scenario over a grid or a random sample of parameter values (SPEC.yaml: base scenario, parameter paths with values or distributions, runs per point, metrics) and write DIR/<name>.{json,csv,md,svg}')
    .argument('<spec>', 'the sweep spec (YAML)')
    .option('--jobs <n>', 'threads on this machine: this one and N - 1 worker threads (the files are the same as with 1)', positiveInt('jobs'), 1)
    .option('--out <dir>', 'output directory', 'out')
    .option('--seed <n>', 'first seed instead of the spec\'s (run r of every point uses seed + r)', int('seed'))
    .option('--runs <r>', 'runs per point instead of the spec\'s', positiveInt('runs'))
    .option('--queue <url>', `put the runs on a BullMQ queue (${QUEUE_PREFIX}-<code fingerprint>) in Redis at redis://HOST:PORT; hatwin worker --queue URL of the same code runs them (on any machine)`, queueUrl)
    .action(guardedWith(sweepSay)(async (specPath: string, o: { jobs: number; out: string; seed?: number; runs?: number; queue?: string }) => {
      const spec = readSweepSpec(specPath);
      if (o.seed !== undefined) spec.seed = o.seed;
      if (o.runs !== undefined) spec.runs = o.runs;
      checkOutputPath(o.out, 'dir');
      const plan = planSweep(spec, readTextFile(spec.scenarioPath));
      const { tasks } = plan;
      const where = o.queue ? `queue ${o.queue}` : o.jobs > 1 ? `${o.jobs} threads` : 'this thread';
      sweepSay(`${spec.name}: ${plan.points.length} points x ${spec.runs} runs = ${tasks.length} simulations on ${where}`);
      const bar = new ProgressBar(`sweep ${spec.name}`, tasks.length);
      let results: SweepTaskResult[];
      if (o.queue) {
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          results = await runOnQueue(o.queue, tasks, { onDone: () => bar.tick(), say: (m) => bar.say(`[sweep] ${m}`), signal: abort.signal });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      } else {
        // --jobs N: this thread and N - 1 worker threads.
        const threads = Math.min(o.jobs - 1, tasks.length - 1);
        const pool: TaskPool<SweepTask, SweepTaskResult> | null = threads >= 1
          ? await threadPool(new URL('../../run/sweep.ts', import.meta.url).href, 'runSweepTask', threads)
          : null;
        try {
          results = await runAll(tasks, pool, runSweepTask, () => bar.tick());
        } finally {
          await pool?.destroy();
        }
      }
      const result = aggregateSweep(plan, results);
      const files = writeSweep(result, o.out);
      const md = sweepMarkdown(result).split('\n');
      // A big sweep's table stays in its .md file: the terminal gets its head.
      const shown = result.rows.length > MAX_ROWS_SHOWN ? [...md.slice(0, 6 + MAX_ROWS_SHOWN), `| ... ${result.rows.length - MAX_ROWS_SHOWN} more rows in ${files[2]} |`, ''] : md;
      console.log(shown.join('\n'));
      console.log(`wrote ${files.join(', ')}`);
    }));

  const workerSay = sayer('worker');
  program
    .command('worker')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description(`take sweep runs from the BullMQ queue ${QUEUE_PREFIX}-<code fingerprint> in Redis (hatwin sweep --queue of the same code) until stopped (SIGINT/SIGTERM: finishes the running ones)`)
    .requiredOption('--queue <url>', 'the Redis server: redis://HOST:PORT', queueUrl)
    .option('--jobs <n>', 'runs at once (worker threads)', positiveInt('jobs'), 1)
    .option('--name <name>', 'this worker\'s name in messages (default HOST:PID)')
    .option('--lock-ms <ms>', 'a job\'s lock without renewal: a dead worker\'s jobs go back to the queue after this', positiveInt('lock-ms'), 30_000)
    .option('--stalled-ms <ms>', 'how often to look for jobs of dead workers', positiveInt('stalled-ms'), 30_000)
    .action(guardedWith(workerSay)(async (o: { queue: string; jobs: number; name?: string; lockMs: number; stalledMs: number }) => {
      let name = o.name ?? '';
      const log = (m: string) => workerSay(`${name} ${m}`);
      const w = await startQueueWorker(o.queue, { jobs: o.jobs, lockMs: o.lockMs, stalledMs: o.stalledMs, name: o.name, say: log });
      name = w.name;
      log(`ready: queue ${w.queue} at ${o.queue}, ${o.jobs} thread(s), pid ${process.pid}`);
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          log(`${sig}: finishing the running jobs`);
          w.close().then(resolve, (e: Error) => {
            log(`error while closing: ${e.message}`);
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      log('stopped');
    }));
}
