// Sweeps (run/sweep.ts, bin/commands/sweep.ts) and the worker-thread runs of `hatwin run --jobs`
// and `hatwin sweep --jobs`: specs and their errors, points (grid, random), paths into the
// scenario, order-independent summaries, and --jobs 2 giving byte-identical files to --jobs 1.
// No timing is asserted (speed is measured by `npm run bench` and docs/scale.md).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ScenarioError } from '../sim/scenario/load.ts';
import { parseScenario } from '../run/sim.ts';
import { ProgressBar, runAll } from '../run/pool.ts';
import {
  aggregateSweep, parseSweepSpec, planSweep, pointScenario, runSweepTask, sweepCsv, sweepPoints, sweepSvg,
  type SweepTaskResult,
} from '../run/sweep.ts';
import { redisConnection } from '../run/worker.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = join(ROOT, 'experiments/scenarios/demo.yaml');
const DEMO_TEXT = readFileSync(DEMO, 'utf8');

/**
 * Runs the hatwin CLI. bin/cli.ts registers the sweep commands once they are wired in; until then
 * a small entry registers bin/commands/{run,sweep}.ts the way bin/cli.ts does.
 */
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

function hatwin(dir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const argv = [...hatwinArgv(dir), ...args];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: dir, timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file of a directory, by name. */
function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

const SPEC = `# a test sweep
name: demo-grid
scenario: ${JSON.stringify(DEMO)}
seed: 3
runs: 3
parameters:
  - { path: policies.0.interval, name: interval, values: [2s, 10s] }
  - { path: vms.web1b.resumeS, name: resume, values: [2, 8] }
metrics: [detectionS, functionRecoveryS, clientDisconnectionS, availabilityPct, energyWh]
`;

describe('sweep specs', () => {
  it('a grid: the cartesian product, the first parameter varying slowest; defaults filled in', () => {
    const spec = parseSweepSpec(SPEC, '/tmp/x/spec.yaml');
    expect(spec.parameters.map((p) => p.name)).toEqual(['interval', 'resume']);
    expect(sweepPoints(spec).map((p) => p.params)).toEqual([
      { interval: '2s', resume: 2 },
      { interval: '2s', resume: 8 },
      { interval: '10s', resume: 2 },
      { interval: '10s', resume: 8 },
    ]);
    const d = parseSweepSpec('name: a\nscenario: s.yaml\nparameters: [{ path: until, values: [1h] }]\n', '/tmp/x/spec.yaml');
    expect(d).toMatchObject({ seed: 1, runs: 1, mode: 'grid', scenarioPath: '/tmp/x/s.yaml' });
    expect(d.metrics).toContain('functionRecoveryS');
  });

  it('a random sample: reproducible from sampleSeed, within the distributions, a parameter\'s draws independent of the others', () => {
    const text = (extra: string) => `name: r\nscenario: s.yaml\nmode: random\nsamples: 50\nsampleSeed: 9\nparameters:\n  - { path: a, dist: { kind: uniform, min: 2, max: 4 } }\n  - { path: b, dist: { kind: loguniform, min: 1, max: 100 }, round: 2 }\n${extra}`;
    const one = sweepPoints(parseSweepSpec(text(''), 'r.yaml'));
    const again = sweepPoints(parseSweepSpec(text(''), 'r.yaml'));
    const more = sweepPoints(parseSweepSpec(text('  - { path: c, values: [x, y, z] }\n'), 'r.yaml'));
    expect(again).toEqual(one);
    expect(one).toHaveLength(50);
    for (const p of one) {
      expect(p.params.a as number).toBeGreaterThanOrEqual(2);
      expect(p.params.a as number).toBeLessThan(4);
      expect(p.params.b as number).toBeGreaterThanOrEqual(1);
      expect(p.params.b as number).toBeLessThanOrEqual(100);
      expect(Number((p.params.b as number).toFixed(2))).toBe(p.params.b);
    }
    expect(more.map((p) => [p.params.a, p.params.b])).toEqual(one.map((p) => [p.params.a, p.params.b]));
    expect(new Set(more.map((p) => p.params.c))).toEqual(new Set(['x', 'y', 'z']));
  });

  it('mistakes are file:line errors', () => {
    const bad = (text: string) => {
      try {
        parseSweepSpec(text, 'bad.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad('name: a\nscenario: s.yaml\nparameters:\n  - { path: x }\n')).toMatch(/^bad\.yaml:4:\d+: .*values \(a list\) or dist/m);
    expect(bad('name: a\nscenario: s.yaml\nparameters:\n  - { path: x, dist: { kind: uniform, min: 1, max: 2 } }\n')).toMatch(/bad\.yaml:4:\d+: .*a grid takes values/);
    expect(bad('name: a\nscenario: s.yaml\nmode: random\nparameters: [{ path: x, values: [1] }]\n')).toMatch(/needs samples/);
    expect(bad('name: a\nscenario: s.yaml\nparameters: [{ path: x, values: [1] }]\nmetrics: [bogus]\n')).toMatch(/bad\.yaml:4:\d+: metrics\.0/);
    expect(bad('name: a\nscenario: s.yaml\nparameters: [{ path: x, values: [1] }, { path: x, values: [2] }]\n')).toMatch(/two parameters are called "x"/);
    expect(bad('name: a\nscenario: s.yaml\nbogus: 1\nparameters: [{ path: x, values: [1] }]\n')).toMatch(/bad\.yaml:3:\d+: .*bogus/);
  });

  it('paths set values in the scenario (list items by index or name), keeping the rest of the file', () => {
    const spec = parseSweepSpec(`name: a\nscenario: ${JSON.stringify(DEMO)}\nparameters:\n  - { path: hosts.web1.bootS, values: [12.5] }\n  - { path: policies.0.interval, values: [3s] }\n  - { path: contention.ioFraction, values: [0.25] }\n`, 'p.yaml');
    const text = pointScenario(spec, DEMO_TEXT, sweepPoints(spec)[0]);
    const s = parseScenario(text, 'point');
    expect(s.hosts.find((h) => h.name === 'web1')!.bootS).toEqual({ kind: 'constant', value: 12.5 });
    expect(s.policies[0]).toMatchObject({ kind: 'failover', interval: '3s' });
    expect(s.contention.ioFraction).toBe(0.25);
    expect(text).toContain('# The demo: a web server with a suspended backup VM');
    const missing = parseSweepSpec(`name: a\nscenario: s.yaml\nparameters: [{ path: hosts.web9.bootS, values: [1] }]\n`, 'p.yaml');
    expect(() => pointScenario(missing, DEMO_TEXT, sweepPoints(missing)[0])).toThrow(/no item of hosts is named "web9" \(names: web1, vmhost, mgr\)/);
  });

  it('a value the scenario rejects is reported for its point before anything runs', () => {
    const spec = parseSweepSpec(`name: a\nscenario: ${JSON.stringify(DEMO)}\nparameters: [{ path: policies.0.interval, name: interval, values: [5s, soon] }]\n`, 'p.yaml');
    expect(() => planSweep(spec, DEMO_TEXT)).toThrow(/point 1: interval=soon\]:\d+:\d+: policies\.0\.interval/);
  });

  it('redis URLs', () => {
    expect(redisConnection('redis://10.0.0.5:7000/2')).toMatchObject({ host: '10.0.0.5', port: 7000, db: 2, maxRetriesPerRequest: null });
    expect(redisConnection('rediss://u:p%40ss@h')).toMatchObject({ host: 'h', port: 6379, username: 'u', password: 'p@ss', tls: {} });
    expect(() => redisConnection('http://h:1')).toThrow(/expected redis:\/\/HOST:PORT/);
    expect(() => redisConnection('nonsense')).toThrow(/not a URL/);
  });
});

describe('sweep results', () => {
  const spec = parseSweepSpec(SPEC, join(ROOT, 'spec.yaml'));
  const plan = planSweep(spec, DEMO_TEXT);
  const results = plan.tasks.map(runSweepTask);

  it('tasks are plain data: every point x run, seeds seed + run', () => {
    expect(plan.tasks.map((t) => [t.point, t.rep, t.seed])).toEqual([0, 1, 2, 3].flatMap((p) => [0, 1, 2].map((r) => [p, r, 3 + r])));
    expect(structuredClone(plan.tasks)).toEqual(plan.tasks);
    expect(JSON.parse(JSON.stringify(results))).toEqual(results);
  });

  it('the summary does not depend on the order results arrive in', () => {
    const want = JSON.stringify(aggregateSweep(plan, results));
    fc.assert(
      fc.property(fc.shuffledSubarray(results, { minLength: results.length, maxLength: results.length }), (shuffled: SweepTaskResult[]) => {
        expect(JSON.stringify(aggregateSweep(plan, shuffled))).toBe(want);
      }),
      { numRuns: 30, seed: 5 },
    );
    expect(() => aggregateSweep(plan, results.slice(1))).toThrow(/11 results for 12 tasks/);
  });

  it('rows: a shorter check interval detects sooner; CSV and SVG carry every point', () => {
    const r = aggregateSweep(plan, results);
    const detection = (interval: string) => r.rows.filter((x) => x.metric === 'detectionS' && x.params.interval === interval).map((x) => x.value);
    expect(Math.max(...detection('2s'))).toBeLessThan(Math.min(...detection('10s')));
    for (const row of r.rows) expect(row.n).toBeGreaterThan(0);
    expect(sweepCsv(r).split('\n')[0]).toBe('point,interval,resume,metric,server,value,ci95_lo,ci95_hi,n,min,max');
    const svg = sweepSvg(r);
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<circle /g)!.length).toBe(r.rows.length);
  });

  it('runAll keeps task order and reports every task once; the progress bar writes lines off a terminal', async () => {
    const seen: number[] = [];
    expect(await runAll([3, 1, 2], null, (x) => x * 2, (i) => seen.push(i))).toEqual([6, 2, 4]);
    expect(seen).toEqual([0, 1, 2]);
    const out: string[] = [];
    const bar = new ProgressBar('t', 20, { write: (s: string) => out.push(s), isTTY: false } as unknown as NodeJS.WritableStream);
    for (let i = 0; i < 20; i++) bar.tick();
    expect(out).toHaveLength(10);
    expect(out[9]).toMatch(/^t: 20\/20 \(/);
  });
});

describe('--jobs 2 gives the same files as --jobs 1', () => {
  it('hatwin sweep', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-sweep-'));
    try {
      writeFileSync(join(dir, 'spec.yaml'), SPEC);
      const one = hatwin(dir, ['sweep', 'spec.yaml', '--out', 'one']);
      expect(one.stderr).toContain('demo-grid: 4 points x 3 runs = 12 simulations on this thread');
      expect(one.status).toBe(0);
      const two = hatwin(dir, ['sweep', 'spec.yaml', '--jobs', '2', '--out', 'two']);
      expect(two.status, two.stderr).toBe(0);
      expect(two.stderr).toContain('on 2 threads');
      expect(two.stderr).toMatch(/sweep demo-grid: 12\/12/);
      expect(Object.keys(filesOf(join(dir, 'one')))).toEqual(['demo-grid.csv', 'demo-grid.json', 'demo-grid.md', 'demo-grid.svg']);
      expect(filesOf(join(dir, 'two'))).toEqual(filesOf(join(dir, 'one')));
      expect(two.stdout.replace(/two\//g, '')).toBe(one.stdout.replace(/one\//g, ''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hatwin run (a replicated experiment and a whole one)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-run-jobs-'));
    try {
      const args = ['run', 'demo', 'p2p-fig15', '--runs', '3', '--seed', '5'];
      const one = hatwin(dir, [...args, '--out', 'one']);
      expect(one.status, one.stderr).toBe(0);
      const two = hatwin(dir, [...args, '--jobs', '2', '--out', 'two']);
      expect(two.status, two.stderr).toBe(0);
      expect(two.stderr).toMatch(/run \(2 jobs\): 4\/4/);
      const files = filesOf(join(dir, 'one'));
      expect(Object.keys(files)).toContain('demo.trace.ndjson');
      expect(Object.keys(files)).toContain('p2p-fig15.json');
      expect(filesOf(join(dir, 'two'))).toEqual(files);
      expect(two.stdout.replace(/two\//g, '')).toBe(one.stdout.replace(/one\//g, ''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
