// `hatwin sim`: one scenario in simulation; a trace and a summary.
import type { Command } from 'commander';
import { ScenarioError } from '../../sim/scenario/load.ts';
import { readScenario, buildSimulation } from '../../run/sim.ts';
import { NdjsonStream } from '../../trace/ndjson-file.ts';
import type { TraceEvent } from '../../engine/ports/trace.ts';
import { availability, energyWh } from '../../trace/metrics.ts';
import { checkOutputPath, duration, exitBadInput, guardedWith, int, printRecoveryTables, sayer } from '../output.ts';

/** The trace lines the summary reads (trace/metrics.ts: recoveries, disconnections, availability, energy). */
const SUMMARY_KINDS = new Set(['fault', 'trouble.detected', 'function.recovered', 'target.recovered', 'target.down', 'client.access', 'host.state']);

export function register(program: Command): void {
  program
    .command('sim')
    .description('run one scenario in simulation and print a summary; writes the trace only with --trace')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .argument('<scenario>')
    .option('--seed <n>', 'master seed (default: the scenario\'s seed, else 1)', int('seed'))
    .option('--until <duration>', 'simulated time to run, e.g. 10m (default: the scenario\'s until)', duration)
    .option('--trace <file>', 'write the trace as NDJSON here')
    .option('--naive-watch', 'tick every monitoring probe and steady load sample instead of skipping quiet ones')
    .action(guardedWith(sayer('sim'))(async (file: string, o: { seed?: number; until?: number; trace?: string; naiveWatch?: boolean }) => {
      const scenario = readScenario(file);
      const seed = o.seed ?? scenario.seed ?? 1;
      const until = o.until ?? scenario.until;
      if (until === undefined) throw new ScenarioError([{ file, line: 1, column: 1, field: 'until', message: 'no `until` in the scenario: give --until (e.g. --until 10m)' }]);
      if (o.trace !== undefined) checkOutputPath(o.trace, 'file');
      // The trace goes to its file as it happens; only the lines the summary reads stay in memory.
      const out = o.trace ? new NdjsonStream(o.trace) : null;
      const ev: TraceEvent[] = [];
      let lines = 0;
      const sim = buildSimulation(scenario, {
        seed,
        watchMode: o.naiveWatch ? 'naive' : 'skip',
        keepEvents: false,
        onEvent: (e) => {
          lines++;
          out?.emit(e);
          if (SUMMARY_KINDS.has(e.kind)) ev.push(e);
        },
      });
      try {
        sim.run(until);
        out?.finish();
      } catch (e) {
        out?.abort();
        throw e;
      }
      const end = sim.kernel.nowUs();
      console.log(`scenario ${scenario.name ?? file}  seed ${seed}  simulated ${(end / 1e6).toFixed(1)} s  kernel events ${sim.kernel.eventCount}  trace lines ${lines}${o.trace ? `  -> ${o.trace}` : ''}`);
      printRecoveryTables(ev, { leadingBlankLine: true, showEmptyRecoveries: false });
      const av = availability(ev, end);
      const en = energyWh(ev, end);
      console.log(`\navailability: ${Object.entries(av).map(([c, a]) => `${c} ${(100 * a).toFixed(3)}%`).join(', ') || '—'}   energy: ${en.total.toFixed(2)} Wh`);
    }));
}
