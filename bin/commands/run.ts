// `hatwin run`: the experiments, each written to DIR/<id>.{json,csv,md,svg}.
//
// With --jobs N the work goes to N threads (this one and N - 1 worker threads, run/pool.ts): the
// units of experiments made with `replicated` (experiments/report.ts; typically one replication
// each) and every other experiment whole. Units are combined in unit order in this thread, so the files are the same
// as with one job; experiments are printed and written in the order asked for.
import type { Command } from 'commander';
import { join } from 'node:path';
import { EXPERIMENTS, findExperiment } from '../../experiments/registry.ts';
import { hideProgress, writeReport, toMarkdown, type Experiment, type ExperimentOutput, type RunOptions } from '../../experiments/report.ts';
import { ProgressBar, runAll, threadPool, type TaskPool } from '../../run/pool.ts';
import { checkOutputPath, exitBadInput, guardedWith, int, positiveInt, sayer, writeAtomic } from '../output.ts';

/** What a worker thread is asked: a whole experiment, or unit `unit` of one. */
export interface ExperimentTask {
  id: string;
  opts: RunOptions;
  unit?: number;
}

/** Runs a task (worker-thread entry, run/pool.ts), without the experiment's own progress output. */
export function experimentTask(t: ExperimentTask): unknown {
  hideProgress();
  const exp = findExperiment(t.id);
  if (!exp) throw new Error(`no experiment ${t.id}`);
  if (t.unit === undefined) return exp.run(t.opts);
  if (!exp.parallel) throw new Error(`experiment ${t.id} has no units`);
  return exp.parallel.unit(t.opts, t.unit);
}

function write(result: ExperimentOutput, outDir: string): void {
  const { traces, ...report } = result;
  const files = writeReport(report, outDir);
  for (const [name, text] of Object.entries(traces ?? {})) {
    writeAtomic(join(outDir, name), text);
    files.push(join(outDir, name));
  }
  console.log(toMarkdown(report));
  console.log(`wrote ${files.join(', ')}\n`);
}

/**
 * Runs the experiments on `jobs` threads (this one and a pool of jobs - 1); writes and prints each
 * (in the order given) as soon as it and every one before it are done.
 */
export async function runParallel(chosen: Array<{ exp: Experiment; opts: RunOptions }>, jobs: number, outDir: string): Promise<void> {
  // Whole experiments first: the big indivisible pieces start early, units fill the gaps.
  const tasks: ExperimentTask[] = [
    ...chosen.filter((c) => !c.exp.parallel).map((c) => ({ id: c.exp.id, opts: c.opts })),
    ...chosen.flatMap((c) => (c.exp.parallel ? Array.from({ length: c.exp.parallel.units(c.opts) }, (_, unit) => ({ id: c.exp.id, opts: c.opts, unit })) : [])),
  ];
  const bar = new ProgressBar(`run (${jobs} jobs)`, tasks.length);
  // This thread runs tasks too: the experiments' own progress bars would interleave with ours.
  hideProgress();
  const threads = Math.min(jobs - 1, tasks.length - 1);
  const pool: TaskPool<ExperimentTask, unknown> | null = threads >= 1 ? await threadPool(import.meta.url, 'experimentTask', threads) : null;
  const taskIndexes = new Map<string, number[]>();
  tasks.forEach((t, i) => taskIndexes.set(t.id, [...(taskIndexes.get(t.id) ?? []), i]));
  const values: unknown[] = new Array(tasks.length);
  const done: boolean[] = new Array(tasks.length).fill(false);
  let written = 0;
  const writeReady = () => {
    for (; written < chosen.length; written++) {
      const { exp, opts } = chosen[written];
      const mine = taskIndexes.get(exp.id)!;
      if (!mine.every((i) => done[i])) return;
      const vs = mine.map((i) => values[i]);
      write(exp.parallel ? exp.parallel.combine(opts, vs) : (vs[0] as ExperimentOutput), outDir);
    }
  };
  try {
    await runAll(tasks, pool, experimentTask, (i, v) => {
      values[i] = v;
      done[i] = true;
      bar.tick(tasks[i].unit === undefined ? tasks[i].id : `${tasks[i].id}#${tasks[i].unit}`);
      writeReady();
    });
  } finally {
    await pool?.destroy();
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description(`run experiments and write DIR/<id>.{json,csv,md,svg} (ids: ${EXPERIMENTS.map((e) => e.id).join(', ')}; default: all)`)
    .argument('[ids...]')
    .option('--seed <n>', 'first seed (run i uses seed + i)', int('seed'), 1)
    .option('--runs <r>', 'replications per experiment (default: each experiment\'s own)', positiveInt('runs'))
    .option('--out <dir>', 'output directory', 'out')
    .option('--jobs <n>', 'threads: replications and experiments in parallel (the files are the same as with 1)', positiveInt('jobs'), 1)
    .action(guardedWith(sayer('run'))(async (ids: string[], o: { seed: number; runs?: number; out: string; jobs: number }) => {
      const chosenIds = ids.length ? ids : EXPERIMENTS.map((e) => e.id);
      const unknown = chosenIds.filter((id) => !findExperiment(id));
      if (unknown.length) {
        console.error(`unknown experiment(s): ${unknown.join(', ')} (known: ${EXPERIMENTS.map((e) => e.id).join(', ')})`);
        process.exitCode = 2;
        return;
      }
      checkOutputPath(o.out, 'dir');
      const chosen = [...new Set(chosenIds)].map((id) => {
        const exp = findExperiment(id)!;
        return { exp, opts: { seed: o.seed, runs: o.runs ?? exp.defaultRuns, outDir: o.out } };
      });
      if (o.jobs > 1) {
        await runParallel(chosen, o.jobs, o.out);
        return;
      }
      for (const { exp, opts } of chosen) write(exp.run(opts), o.out);
    }));
}
