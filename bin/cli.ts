// hatwin command line: the composition root (commander). Each command group is a module of
// bin/commands/ with register(program); they share bin/output.ts.
import { Command } from 'commander';
import { ScenarioError } from '../sim/scenario/load.ts';
import * as check from './commands/check.ts';
import * as sim from './commands/sim.ts';
import * as run from './commands/run.ts';
import * as serve from './commands/serve.ts';
import * as lab from './commands/lab.ts';
import * as live from './commands/live.ts';
import * as settle from './commands/settle.ts';
import * as sweep from './commands/sweep.ts';
import * as swarm from './commands/swarm.ts';
import * as vm from './commands/vm.ts';

const program = new Command();
program.name('hatwin').description('Digital twin and executor for high-availability server systems').showHelpAfterError();
for (const m of [check, sim, run, serve, lab, live, settle, sweep, swarm, vm]) m.register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ScenarioError) {
    console.error(e.message);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
