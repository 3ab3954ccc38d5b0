// hatwin command line: the composition root (commander).
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ScenarioError } from '../sim/scenario/load.ts';
import { parseDurationUs } from '../sim/kernel/time.ts';
import { readScenario, buildSimulation } from '../run/sim.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { recoveries, disconnections, availability, energyWh } from '../trace/metrics.ts';
import { EXPERIMENTS, findExperiment } from '../experiments/registry.ts';
import { writeReport, toMarkdown } from '../experiments/report.ts';
import { registerLabCommands } from './commands/lab.ts';
import { registerLiveCommands } from './commands/live.ts';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return n;
};
const positiveInt = (name: string) => (v: string) => {
  const n = int(name)(v);
  if (n < 1) throw new InvalidArgumentError(`${name} must be >= 1, got "${v}"`);
  return n;
};
const duration = (v: string) => {
  try {
    return parseDurationUs(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const fmtS = (x: number | null) => (x === null ? '—' : x.toFixed(2));

const program = new Command();
program.name('hatwin').description('Digital twin and executor for high-availability server systems').showHelpAfterError();

program
  .command('check')
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

program
  .command('sim')
  .description('run one scenario in simulation; writes a trace and prints a summary')
  .argument('<scenario>')
  .option('--seed <n>', 'master seed (default: the scenario\'s seed, else 1)', int('seed'))
  .option('--until <duration>', 'simulated time to run, e.g. 10m (default: the scenario\'s until)', duration)
  .option('--trace <file>', 'write the trace as NDJSON here')
  .option('--naive-watch', 'tick every monitoring probe instead of skipping quiet ones')
  .action((file: string, o: { seed?: number; until?: number; trace?: string; naiveWatch?: boolean }) => {
    const scenario = readScenario(file);
    const seed = o.seed ?? scenario.seed ?? 1;
    const until = o.until ?? scenario.until;
    if (until === undefined) throw new ScenarioError([{ file, line: 1, column: 1, field: 'until', message: 'no `until` in the scenario: give --until (e.g. --until 10m)' }]);
    const sim = buildSimulation(scenario, { seed, watchMode: o.naiveWatch ? 'naive' : 'skip' });
    sim.run(until);
    const ev = sim.events;
    if (o.trace) writeAtomic(o.trace, toNdjson(ev));
    const end = sim.kernel.nowUs();
    console.log(`scenario ${scenario.name ?? file}  seed ${seed}  simulated ${(end / 1e6).toFixed(1)} s  kernel events ${sim.kernel.eventCount}  trace lines ${ev.length}${o.trace ? `  -> ${o.trace}` : ''}`);
    const rec = recoveries(ev);
    if (rec.length) {
      console.log('\n| target | fault | detected at s | function recovery s | target recovery s | fault -> function s |');
      console.log('|---|---|---:|---:|---:|---:|');
      for (const r of rec) console.log(`| ${r.target} | ${r.fault ?? '—'} | ${(r.detectedUs / 1e6).toFixed(2)} | ${fmtS(r.functionRecoveryS)} | ${fmtS(r.targetRecoveryS)} | ${fmtS(r.faultToFunctionS)} |`);
    }
    const dis = disconnections(ev);
    if (dis.length) {
      console.log('\n| client | vip | from s | disconnection s |');
      console.log('|---|---|---:|---:|');
      for (const d of dis) console.log(`| ${d.client} | ${d.vip} | ${(d.fromUs / 1e6).toFixed(2)} | ${d.durationS === null ? 'still down' : d.durationS.toFixed(2)} |`);
    }
    const av = availability(ev, end);
    const en = energyWh(ev, end);
    console.log(`\navailability: ${Object.entries(av).map(([c, a]) => `${c} ${(100 * a).toFixed(3)}%`).join(', ') || '—'}   energy: ${en.total.toFixed(2)} Wh`);
  });

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

// ---------- serve: the web view (web/server) ----------
program
  .command('serve')
  .description('serve the web view: run scenarios, watch failovers, replay saved traces (http://127.0.0.1:8080/)')
  .option('--port <n>', 'TCP port (0: any free port)', (v: string) => {
    const n = int('port')(v);
    if (n < 0 || n > 65535) throw new InvalidArgumentError(`port must be 0..65535, got "${v}"`);
    return n;
  }, 8080)
  .option('--host <addr>', 'address to bind; anything but loopback requires a bearer token for state-changing calls', '127.0.0.1')
  .option('--token-file <file>', 'read the bearer token from this file (first line) instead of generating one')
  .option('--out <dir>', 'saved traces: finished runs go to DIR/web-runs/, replays read from DIR', 'out')
  .action(async (o: { port: number; host: string; tokenFile?: string; out: string }) => {
    const { startServer } = await import('../web/server/serve.ts');
    const s = await startServer({ port: o.port, host: o.host, tokenFile: o.tokenFile, outDir: o.out, log: (l) => console.log(l) });
    console.log(`hatwin web view: ${s.url}`);
    if (s.token !== null) {
      console.log(`state-changing calls need "Authorization: Bearer ${s.token}"`);
      console.log(`open ${s.url}#token=${s.token} to pass it to the page`);
    }
    const stop = () => void s.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

// --- lab: the mini-lab on this machine (adapters/lab) ---
registerLabCommands(program);
registerLiveCommands(program);

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
