// `hatwin run`: the experiments, each written to DIR/<id>.{json,csv,md,svg}.
import type { Command } from 'commander';
import { join } from 'node:path';
import { EXPERIMENTS, findExperiment } from '../../experiments/registry.ts';
import { writeReport, toMarkdown } from '../../experiments/report.ts';
import { int, positiveInt, writeAtomic } from '../output.ts';

export function register(program: Command): void {
  program
    .command('run')
    .description(`run experiments and write DIR/<id>.{json,csv,md,svg} (ids: ${EXPERIMENTS.map((e) => e.id).join(', ')}; default: all)`)
    .argument('[ids...]')
    .option('--seed <n>', 'first seed (run i uses seed + i)', int('seed'), 1)
    .option('--runs <r>', 'replications per experiment (default: each experiment\'s own)', positiveInt('runs'))
    .option('--out <dir>', 'output directory', 'out')
    .action((ids: string[], o: { seed: number; runs?: number; out: string }) => {
      const chosen = ids.length ? ids : EXPERIMENTS.map((e) => e.id);
      const unknown = chosen.filter((id) => !findExperiment(id));
      if (unknown.length) {
        console.error(`unknown experiment(s): ${unknown.join(', ')} (known: ${EXPERIMENTS.map((e) => e.id).join(', ')})`);
        process.exitCode = 2;
        return;
      }
      for (const id of chosen) {
        const exp = findExperiment(id)!;
        const runs = o.runs ?? exp.defaultRuns;
        const { traces, ...result } = exp.run({ seed: o.seed, runs, outDir: o.out });
        const files = writeReport(result, o.out);
        for (const [name, text] of Object.entries(traces ?? {})) {
          writeAtomic(join(o.out, name), text);
          files.push(join(o.out, name));
        }
        console.log(toMarkdown(result));
        console.log(`wrote ${files.join(', ')}\n`);
      }
    });
}
