// Sweeps across machines (run/worker.ts): `hatwin sweep --queue` puts the runs on a BullMQ queue
// in a Redis server this test starts (Debian's redis-server, scripts/apt/queue.txt) on 127.0.0.1,
// two `hatwin worker` processes take them, one is killed (SIGKILL) in the middle of a job; the
// job is taken again by the other worker after its lock runs out, and the files equal those of a
// local run. Every process is started and ended by PID.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, startChild, until, waitForPort, type Child } from './helpers/live/procs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REDIS = '/usr/bin/redis-server';
const isRoot = process.getuid?.() === 0;

// As root, a missing redis-server is installed (scripts/apt/queue.txt); otherwise the test is
// skipped and says why.
if (!existsSync(REDIS) && isRoot) spawnSync(process.execPath, [join(ROOT, 'scripts/setup.mjs'), '--need', 'queue'], { stdio: 'inherit' });
const missing = existsSync(REDIS) ? null : `${REDIS} is missing and this is not root: install redis-server (scripts/apt/queue.txt: node scripts/setup.mjs --need queue as root)`;
if (missing) console.warn(`test/sweep-queue.test.ts skipped: ${missing}`);

/** The hatwin CLI (see test/sweep.test.ts: an entry with the sweep commands until bin/cli.ts has them). */
function hatwinArgv(dir: string): string[] {
  if (readFileSync(join(ROOT, 'bin/cli.ts'), 'utf8').includes('commands/sweep.ts')) return [process.execPath, join(ROOT, 'bin/hatwin.js')];
  const entry = join(dir, 'hatwin-entry.mjs');
  const url = (p: string) => JSON.stringify(pathToFileURL(join(ROOT, p)).href);
  writeFileSync(entry, [
    `const { register } = await import(${url('node_modules/tsx/dist/esm/api/index.mjs')}); register();`,
    `const { Command } = await import(${url('node_modules/commander/esm.mjs')});`,
    `const { ScenarioError } = await import(${url('sim/scenario/load.ts')});`,
    `const program = new Command().name('hatwin');`,
    `for (const m of [await import(${url('bin/commands/run.ts')}), await import(${url('bin/commands/sweep.ts')})]) m.register(program);`,
    'try { await program.parseAsync(process.argv); } catch (e) { if (e instanceof ScenarioError) { console.error(e.message); process.exitCode = 2; } else throw e; }',
  ].join('\n'));
  return [process.execPath, entry];
}

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/** Jobs that take a while (a simulated day each), so that a kill lands in the middle of one. */
const SPEC = `name: queue-demo
scenario: ${JSON.stringify(join(ROOT, 'experiments/scenarios/demo.yaml'))}
seed: 11
runs: 3
parameters:
  - { path: policies.0.interval, name: interval, values: [5s, 10s] }
  - { path: until, values: [2d] }
metrics: [detectionS, functionRecoveryS, clientDisconnectionS, availabilityPct]
`;

describe.skipIf(missing !== null)('hatwin sweep --queue with hatwin worker processes', () => {
  let dir = '';
  let redis: Child | null = null;
  const children: Child[] = [];
  let url = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hatwin-queue-'));
    writeFileSync(join(dir, 'spec.yaml'), SPEC);
    const port = await freePort();
    redis = startChild([REDIS, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes']);
    await waitForPort('127.0.0.1', port, 10_000, redis);
    url = `redis://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const c of children) await c.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a worker killed mid-job: its job runs on the other worker; the results equal a local run', async () => {
    const argv = hatwinArgv(dir);
    const local = spawnSync(argv[0], [...argv.slice(1), 'sweep', 'spec.yaml', '--out', 'local'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(local.status, local.stderr).toBe(0);

    // Short locks so that a dead worker's job comes back within seconds.
    const worker = (name: string) => startChild([...argv, 'worker', '--queue', url, '--name', name, '--lock-ms', '2000', '--stalled-ms', '500']);
    const a = worker('wA');
    const b = worker('wB');
    children.push(a, b);
    await until(() => a.output().includes('ready:') && b.output().includes('ready:'), 120_000, 'both workers ready');

    const coordinator = startChild([...argv, 'sweep', join(dir, 'spec.yaml'), '--queue', url, '--out', join(dir, 'queued')]);
    children.push(coordinator);
    // Coordinator and workers meet on the queue named after their code's fingerprint.
    await until(() => / jobs on queue (\S+)/.test(coordinator.output()), 60_000, 'the coordinator queues its jobs');
    const queue = / jobs on queue (\S+)/.exec(coordinator.output())![1];
    expect(queue).toMatch(/^hatwin-sweep-[0-9a-f]{12}$/);
    expect(a.output(), 'the code changed while the test ran').toContain(`ready: queue ${queue} `);
    expect(b.output()).toContain(`ready: queue ${queue} `);
    // Kill wA as soon as it has started a job (each takes a simulated day).
    await until(() => /job (\S+) started/.test(a.output()), 120_000, 'wA starts a job');
    process.kill(a.pid, 'SIGKILL');
    const killedJob = /job (\S+) started/.exec(a.output())![1];
    await until(() => a.proc.exitCode !== null || a.proc.signalCode !== null, 10_000, 'wA gone');
    expect(a.output()).not.toContain(`job ${killedJob} done`);

    await until(() => coordinator.proc.exitCode !== null, 240_000, 'the coordinator finishes');
    expect(coordinator.proc.exitCode, coordinator.output()).toBe(0);
    // The killed worker's job was run again, by wB.
    expect(b.output()).toContain(`job ${killedJob} started`);
    expect(b.output()).toContain(`job ${killedJob} done`);
    expect(filesOf(join(dir, 'queued'))).toEqual(filesOf(join(dir, 'local')));
    expect(Object.keys(filesOf(join(dir, 'local')))).toEqual(['queue-demo.csv', 'queue-demo.json', 'queue-demo.md', 'queue-demo.svg']);

    // wB ends on SIGTERM after its running jobs.
    await b.stop(30_000);
    expect(b.output()).toContain('wB stopped');
  }, 300_000);
});
