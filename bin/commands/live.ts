// `hatwin agent`, `live`, `calibrate` and `conform`: the policies against the mini-lab. They need
// the Debian packages of scripts/apt/lab.txt (the lab: sshd, etcd, libvirt, qemu, ip, ping, ...).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { startAgent } from '../../run/agent.ts';
import { runLive } from '../../run/live.ts';
import { calibrate, calibrateMachine, conform } from '../../run/calibrate.ts';
import { conformReport, repeatConform, repeatMarkdown } from '../../experiments/conform.ts';
import { writeReport } from '../../experiments/report.ts';
import { existsSync, readFileSync } from 'node:fs';
import { loadLab, type Lab } from '../../adapters/lab/schema.ts';
import { checkOutputPath, duration, exitBadInput, guardedWith, port, printRecoveryTables, sayer, writeAtomic } from '../output.ts';
import { ensureNeeds } from '../needs.ts';

const say = sayer('live');
const guarded = guardedWith(say);

/**
 * The lab file (its errors first: exit 2), then the lab's Debian packages. An agent only says
 * what is missing: it runs inside a host's namespace, one per host, started by `hatwin live`,
 * which has installed them.
 */
function openLab(file: string, o: { install: boolean; log?: (msg: string) => void }): Lab {
  const lab = loadLab(file);
  ensureNeeds('lab', { log: o.log ?? say, install: o.install });
  return lab;
}

const epoch = (v: string) => {
  if (!/^[0-9]{1,17}$/.test(v)) throw new InvalidArgumentError(`--epoch-us: µs since 1970 as digits, got "${v}"`);
  return Number(v);
};

export function register(program: Command): void {
  program.command('agent')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('run the programs the scenario\'s policies place on one lab host (inside its namespace; started by `hatwin live`)')
    .requiredOption('--lab <file>', 'lab file')
    .requiredOption('--host <name>', 'the host this agent runs on')
    .option('--scenario <file>', 'scenario whose policy blocks say what runs where (default: the lab file\'s live.scenario)')
    .option('--run <id>', 'run id (etcd prefix of the management files)', 'default')
    .option('--epoch-us <us>', 'time 0 of the run, µs since 1970 (default: now)', epoch)
    .option('--trace <file>', 'append the trace here as NDJSON')
    .option('--boot', 'the host has just booted: programs that run once at the start are not run again')
    .option('--metrics-port <n>', 'serve Prometheus metrics (from this agent\'s trace) on GET /metrics at this port', port)
    .option('--metrics-host <addr>', 'address of the metrics endpoint: the host\'s lab address (default) or a loopback address')
    .option('--start-probe', 'start up as an agent does, with no program, record agent.start and exit (how `hatwin calibrate` times an agent\'s start-up)')
    .action(guarded(async (o: { lab: string; host: string; scenario?: string; run: string; epochUs?: number; trace?: string; boot?: boolean; metricsPort?: number; metricsHost?: string; startProbe?: boolean }) => {
      const log = (m: string) => console.error(`[agent ${o.host}] ${m}`);
      if (o.trace !== undefined) checkOutputPath(o.trace, 'file');
      const lab = openLab(o.lab, { install: false, log });
      const fromLab = typeof lab.live?.scenario === 'string' ? resolve(dirname(lab.file), lab.live.scenario) : undefined;
      const scenarioFile = o.scenario ?? fromLab;
      if (!scenarioFile && !o.startProbe) throw new Error('no scenario: give --scenario S.yaml (or live: { scenario: S.yaml } in the lab file)');
      const agent = await startAgent({
        labFile: o.lab, host: o.host, scenarioFile: o.startProbe ? null : scenarioFile!, runId: o.run, boot: o.boot === true, startProbe: o.startProbe === true,
        epochUs: o.epochUs ?? Math.round((performance.timeOrigin + performance.now()) * 1000), traceFile: o.trace, log,
        metrics: o.metricsPort !== undefined ? { port: o.metricsPort, host: o.metricsHost } : undefined,
      });
      if (o.startProbe) {
        await agent.stop();
        process.exit(0);
      }
      await new Promise<void>((resolve) => {
        const stop = () => void agent.stop().finally(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      process.exit(0);
    }));

  program.command('live')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('run a scenario against the mini-lab: its policies\' programs in one agent per host, its faults; write one trace (sim schema)')
    .argument('<lab>', 'lab file, e.g. experiments/labs/p2p-mini.yaml (the lab must be up)')
    .requiredOption('--scenario <file>', 'scenario (policies, faults, clients)')
    .requiredOption('--trace <file>', 'merged NDJSON trace')
    .option('--until <duration>', 'how long to run (default: the scenario\'s until)', duration)
    .action(guarded(async (lab: string, o: { scenario: string; trace: string; until?: number }) => {
      openLab(lab, { install: true });
      checkOutputPath(o.trace, 'file');
      const ac = new AbortController();
      const stop = () => {
        say('stopping: ending the agents, writing the trace');
        ac.abort();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const r = await runLive({ labFile: lab, scenarioFile: o.scenario, traceFile: o.trace, untilUs: o.until, log: say, signal: ac.signal });
      printRecoveryTables(r.events, { leadingBlankLine: false, showEmptyRecoveries: true });
    }));

  program.command('calibrate')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('measure the lab (probe and service examination, daemon restart, guest resume, power cycle; as samples: messenger delivery and timeout, guest-agent round trips, VIPs in guests and hosts, SSH connect vs kept, fault injection) and write sim parameters')
    .argument('<lab>', 'lab file (the lab must be up)')
    .option('--out <file>', 'params file (default: out/lab/NAME/calibrate.json)')
    .option('--samples <n>', 'samples per probe', (v) => Number(v), 5)
    .option('--machine', 'only what the machine costs whatever the lab models (agent start-up, the live loop\'s turn, fault injection; on a lab with depot guests, a container\'s start; on a PSS lab, the guests\' examinations, a VIP move in a guest and a real server\'s suspend and resume): for labs whose scenarios carry their own timings (lb-mini, navigator-mini, pss-mini)')
    .action(guarded(async (labFile: string, o: { out?: string; samples: number; machine?: boolean }) => {
      const lab = openLab(labFile, { install: true });
      const out = o.out ?? join(lab.logDir, '..', 'calibrate.json');
      checkOutputPath(out, 'file');
      const p = o.machine ? await calibrateMachine(labFile, { samples: o.samples, log: say }) : await calibrate(labFile, { samples: o.samples, log: say });
      writeAtomic(out, `${JSON.stringify(p, null, 2)}\n`);
      console.log(JSON.stringify(p, null, 2));
      say(`wrote ${out}`);
    }));

  program.command('conform')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('run a scenario live (mini-lab) and in sim (calibrated parameters); write DIR/conform-<name>.{json,md}')
    .argument('<scenario>')
    .requiredOption('--lab <file>', 'lab file (the lab must be up)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--params <file>', 'calibrate file (default: out/lab/NAME/calibrate.json)')
    .option('--repeat <n>', 'N live runs and N sim replications: each metric as a mean with a 95% interval on both sides, and a fidelity score (DIR/repeat-<name>.{json,csv,md,svg})', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('a whole number from 1 to 100');
      return n;
    }, 1)
    .option('--replay <traces...>', 'no live run: re-score recorded live traces (DIR/conform-NAME.live*.ndjson of an earlier conform) against the sim as it is now, one paired replication each; the lab need not be up')
    .option('--unpaired', 'compare with sim replications that draw the faults\' landing and the agents\' start-ups from the calibrated distributions (default: each replication replays its live run\'s, so only what the policies and the world do is compared)')
    .action(guarded(async (scenarioFile: string, o: { lab: string; out: string; params?: string; repeat: number; unpaired?: boolean; replay?: string[] }) => {
      if (o.replay) {
        for (const f of o.replay) if (!existsSync(f)) throw new Error(`--replay: no trace ${f}`);
        o.repeat = o.replay.length;
      } else openLab(o.lab, { install: true });
      checkOutputPath(o.out, 'dir');
      const r = await conform({ scenarioFile, labFile: o.lab, outDir: o.out, paramsFile: o.params, repeat: o.repeat, log: say, unpaired: o.unpaired === true, ...(o.replay ? { replay: o.replay } : {}) });
      // The table as written (lbcluster scenarios have their own columns: fault, model).
      console.log(readFileSync(r.md, 'utf8'));
      say(`wrote ${r.json}, ${r.md}`);
      if (o.repeat > 1) {
        const rep = repeatConform(r.runs.name, r.runs.lab, r.runs.live, r.runs.sim);
        const files = writeReport({ ...conformReport(rep), id: `repeat-${r.runs.name}` }, o.out);
        console.log(repeatMarkdown(rep));
        say(`wrote ${files.join(', ')}`);
      }
    }));
}
