// `hatwin conform --replay`: recorded live traces re-scored against the sim as it is now, without
// the lab. A sim run standing in for the live run it models must score 0 % (the paired
// replication replays its fault records and client grid, and the model does the rest alike).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR } from '../adapters/lab/schema.ts';
import { conform } from '../run/calibrate.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { toNdjson } from '../trace/ndjson.ts';

const SCENARIO = join(REPO_DIR, 'experiments/scenarios/live-navigator-failover.yaml');
const LAB = join(REPO_DIR, 'experiments/labs/navigator-mini.yaml');

function simTrace(dir: string, shiftUs: number): string {
  const s = readScenario(SCENARIO);
  const sim = buildSimulation({ ...s, faults: s.faults.map((f) => ({ ...f, at: (f.at as number) + shiftUs })) }, { seed: s.seed ?? 1, watchMode: 'skip' });
  sim.run(s.until!);
  const file = join(dir, `as-live-${shiftUs}.ndjson`);
  writeFileSync(file, toNdjson(sim.events));
  return file;
}

describe('conform --replay: recorded live runs re-scored without the lab', () => {
  it('a sim run replayed as the live run it models scores 0 % on every timed row; a run with its faults 1.3 s later is compared at those times', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-replay-'));
    try {
      const out = join(dir, 'out');
      const r = await conform({ scenarioFile: SCENARIO, labFile: LAB, outDir: out, paramsFile: join(dir, 'none.json'), replay: [simTrace(dir, 0), simTrace(dir, 1_300_000)] });
      expect(r.runs.live).toHaveLength(2);
      const timed = r.rows.filter((x) => typeof x.live === 'number' && typeof x.sim === 'number');
      expect(timed.length).toBeGreaterThan(3);
      for (const x of timed) expect(x.errPct, x.metric).toBe(0);
      // The second replication is paired with the shifted run: the same model, its faults 1.3 s later.
      const second = r.runs.sim[1].filter((x) => typeof x.live === 'number' && typeof x.sim === 'number');
      for (const x of second) expect(x.errPct, x.metric).toBe(0);
      // Written: the report and the sim replications; the recorded traces are inputs, never rewritten.
      expect(existsSync(join(out, 'conform-live-navigator-failover.json'))).toBe(true);
      expect(existsSync(join(out, 'conform-live-navigator-failover.sim-2.ndjson'))).toBe(true);
      expect(existsSync(join(out, 'conform-live-navigator-failover.live.ndjson'))).toBe(false);
      expect(JSON.parse(readFileSync(join(out, 'conform-live-navigator-failover.json'), 'utf8')).paired).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the command: a trace that does not exist is refused before anything is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-replay-'));
    try {
      let err = '';
      try {
        execFileSync(process.execPath, [join(REPO_DIR, 'bin/hatwin.js'), 'conform', SCENARIO, '--lab', LAB, '--out', join(dir, 'out'), '--replay', join(dir, 'missing.ndjson')], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        err = String((e as { stderr?: string }).stderr);
      }
      expect(err).toMatch(/--replay: no trace .*missing\.ndjson/);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
