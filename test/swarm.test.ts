// The CI swarm: a fixed seed's random fault schedules over every policy with a system generator
// (at least 10,000 in all: HATWIN_SWARM_N per policy, default 1,667 x 8), run on two worker
// threads and each checked by trace/checkers.ts. Any violation of a class in FIXED fails the test
// and prints the swarm seed, the schedule's index and seed, its violations and its scenario; the
// classes still open (docs/safety.md, "OPEN") are counted and printed, not failed on. The same
// schedules: npx hatwin swarm --policy <p> --schedules <N> --seed 2026.
import { describe, expect, it } from 'vitest';
import { runRaw, runSwarm, sampleSchedules, scheduleScenario, summaryTable, SWARM_POLICIES, validScenario, type SwarmKey, type SwarmPolicy } from '../run/swarm.ts';
import { scenarioSchema } from '../sim/scenario/schema.ts';
import { stringify } from 'yaml';

const SEED = Number(process.env.HATWIN_SWARM_SEED ?? 2026);
const N = Number(process.env.HATWIN_SWARM_N ?? 1667);
const JOBS = Number(process.env.HATWIN_SWARM_JOBS ?? 2);

const ALL: readonly SwarmKey[] = ['S1', 'S2', 'S3', 'S4', 'S5', 'L1', 'L2', 'crash'];
/** Violation classes that must not occur, per policy (every class but those docs/safety.md lists as OPEN). */
const FIXED: Record<SwarmPolicy, readonly SwarmKey[]> = {
  failover: ALL,
  p2p: ALL,
  pss: ALL,
  msbs: ALL,
  navigator: ALL,
  lbcluster: ALL,
  dpm: ALL,
  ovirt: ALL,
};

describe('swarm (CI size)', () => {
  it(`${N} random schedules per policy (${N * SWARM_POLICIES.length} in all), seed ${SEED}: no violation of a fixed class`, async () => {
    const started = Date.now();
    const rows = await runSwarm({ policies: [...SWARM_POLICIES], schedules: N, seed: SEED, jobs: JOBS, shrink: false });
    const wallS = (Date.now() - started) / 1000;
    console.log(`swarm seed ${SEED}, ${rows.reduce((a, r) => a + r.schedules, 0)} schedules, ${JOBS} worker thread(s), ${wallS.toFixed(1)} s\n${summaryTable(rows)}`);
    const failures: string[] = [];
    for (const r of rows) {
      const policy = r.policy as SwarmPolicy;
      for (const k of FIXED[policy]) {
        const i = r.firstIndex[k];
        if (i === undefined) continue;
        // Run the first failing schedule of the class again here to say what it broke.
        const s = sampleSchedules(policy, i + 1, SEED)[i];
        const raw = scheduleScenario(s);
        const v = runRaw(raw);
        failures.push([
          `${policy} ${k}: ${r.byKey[k]} schedule(s); the first is schedule ${i} of swarm seed ${SEED} (its run seed ${s.seed}):`,
          ...v.violations.filter((x) => x.key === k).slice(0, 5).map((x) => `  ${x.key} ${(x.t / 1e6).toFixed(6)}s ${x.subject}: ${x.detail}`),
          ...(v.crash ? [`  crash: ${v.crash}`] : []),
          `  shrink and write it: npx hatwin swarm --policy ${policy} --schedules ${i + 1} --seed ${SEED}`,
          stringify(raw),
        ].join('\n'));
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 1_800_000);

  it('schedules of each policy are valid scenario files (every loader check), the same scenarios the swarm runs, run until their grace bound has passed', () => {
    for (const policy of SWARM_POLICIES) {
      for (const s of sampleSchedules(policy, 20, 7)) {
        const raw = scheduleScenario(s);
        const scenario = validScenario(raw);
        expect(scenario.until, policy).toBeGreaterThan(0);
        expect(JSON.stringify(scenario), policy).toBe(JSON.stringify(scenarioSchema.parse(raw)));
      }
      expect(runRaw(scheduleScenario(sampleSchedules(policy, 1, 7)[0])).livenessChecked, policy).toBe(true);
    }
  });
});
