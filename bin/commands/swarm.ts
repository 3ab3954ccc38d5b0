// `hatwin swarm`: random fault schedules over the registered policies, each run checked against
// the safety and liveness properties (trace/checkers.ts); failing schedules are shrunk and
// written as scenario files; a summary table at the end.
import type { Command } from 'commander';
import { POLICIES } from '../../policies/registry.ts';
import { runSwarm, summaryTable } from '../../run/swarm.ts';
import { int, positiveInt, sayer } from '../output.ts';

export function register(program: Command): void {
  program
    .command('swarm')
    .description('random fault schedules over the policies, each run checked (S1-S5 safety, L1-L2 liveness; docs/safety.md); failures shrunk to out/swarm/')
    .option('--policy <name>', `a registered policy or "all" (${Object.keys(POLICIES).join(', ')})`, 'all')
    .option('--schedules <n>', 'schedules per policy', positiveInt('schedules'), 200)
    .option('--seed <n>', 'swarm seed (the same seed gives the same schedules)', int('seed'), 1)
    .option('--jobs <n>', 'worker threads running the simulations', positiveInt('jobs'), 1)
    .option('--out <dir>', 'where shrunk failing schedules go', 'out/swarm')
    .option('--no-shrink', 'count only: do not shrink failing schedules')
    .option('--safety <mode>', 'run the policies with safety: paper or hardened (default: the policy\'s default, hardened)')
    .action(async (o: { policy: string; schedules: number; seed: number; jobs: number; out: string; shrink: boolean; safety?: string }) => {
      if (o.safety !== undefined && o.safety !== 'paper' && o.safety !== 'hardened') throw new Error(`--safety: paper or hardened, not "${o.safety}"`);
      const policies = o.policy === 'all' ? Object.keys(POLICIES) : [o.policy];
      const say = sayer('swarm');
      const started = Date.now();
      const rows = await runSwarm({ policies, schedules: o.schedules, seed: o.seed, jobs: o.jobs, outDir: o.out, shrink: o.shrink, safety: o.safety as 'paper' | 'hardened' | undefined, progress: say });
      for (const r of rows) for (const f of r.written) say(`${r.policy}: wrote ${f}`);
      console.log(`swarm seed ${o.seed}, ${o.schedules} schedules per policy${o.safety ? `, safety ${o.safety}` : ''}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(summaryTable(rows));
      if (rows.some((r) => r.failing > 0)) process.exitCode = 1;
    });
}
