// `hatwin check`: validate scenario files.
import type { Command } from 'commander';
import { ScenarioError } from '../../sim/scenario/load.ts';
import { readScenario } from '../../run/sim.ts';
import { exitBadInput } from '../output.ts';

export function register(program: Command): void {
  program
    .command('check')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('validate scenario files (exit 0 valid, 2 invalid)')
    .argument('<files...>')
    .action((files: string[]) => {
      let bad = 0;
      for (const f of files) {
        try {
          readScenario(f);
          console.log(`${f}: ok`);
        } catch (e) {
          if (!(e instanceof ScenarioError)) throw e;
          console.error(e.message);
          bad++;
        }
      }
      process.exitCode = bad ? 2 : 0;
    });
}
