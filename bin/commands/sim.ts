// `hatwin sim`: one scenario in simulation; a trace and a summary.
import type { Command } from 'commander';
import { ScenarioError } from '../../sim/scenario/load.ts';
import { readScenario, buildSimulation } from '../../run/sim.ts';
import { toNdjson } from '../../trace/ndjson.ts';
import { availability, energyWh } from '../../trace/metrics.ts';
import { checkOutputPath, duration, exitBadInput, guardedWith, int, printRecoveryTables, sayer, writeAtomic } from '../output.ts';

export function register(program: Command): void {
  program
    .command('sim')
    .description('run one scenario in simulation and print a summary; writes the trace only with --trace')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .argument('<scenario>')
    .option('--seed <n>', 'master seed (default: the scenario\'s seed, else 1)', int('seed'))
    .option('--until <duration>', 'simulated time to run, e.g. 10m (default: the scenario\'s until)', duration)
    .option('--trace <file>', 'write the trace as NDJSON here')
    .option('--naive-watch', 'tick every monitoring probe instead of skipping quiet ones')
    .action(guardedWith(sayer('sim'))(async (file: string, o: { seed?: number; until?: number; trace?: string; naiveWatch?: boolean }) => {
      const scenario = readScenario(file);
      const seed = o.seed ?? scenario.seed ?? 1;
      const until = o.until ?? scenario.until;
      if (until === undefined) throw new ScenarioError([{ file, line: 1, column: 1, field: 'until', message: 'no `until` in the scenario: give --until (e.g. --until 10m)' }]);
      if (o.trace !== undefined) checkOutputPath(o.trace, 'file');
      const sim = buildSimulation(scenario, { seed, watchMode: o.naiveWatch ? 'naive' : 'skip' });
      sim.run(until);
      const ev = sim.events;
      if (o.trace) writeAtomic(o.trace, toNdjson(ev));
      const end = sim.kernel.nowUs();
      console.log(`scenario ${scenario.name ?? file}  seed ${seed}  simulated ${(end / 1e6).toFixed(1)} s  kernel events ${sim.kernel.eventCount}  trace lines ${ev.length}${o.trace ? `  -> ${o.trace}` : ''}`);
      printRecoveryTables(ev, { leadingBlankLine: true, showEmptyRecoveries: false });
      const av = availability(ev, end);
      const en = energyWh(ev, end);
      console.log(`\navailability: ${Object.entries(av).map(([c, a]) => `${c} ${(100 * a).toFixed(3)}%`).join(', ') || '—'}   energy: ${en.total.toFixed(2)} Wh`);
    }));
}
