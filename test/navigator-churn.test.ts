// The churn section of a scenario (users switching lab PCs on and off, all off at closing time)
// and the navigator-lab12d experiment built on it.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildSimulation, parseScenario, readScenario } from '../run/sim.ts';
import { SCENARIO_DIR, findExperiment } from '../experiments/registry.ts';
import { scenarioProblems } from '../sim/scenario/schema.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { dayOutcome } from '../experiments/navigator/lab12d.ts';

const S = 1_000_000;
const CLOSE = 10 * 3600 * S;

describe('churn', () => {
  const scenario = readScenario(join(SCENARIO_DIR, 'navigator-lab-day.yaml'));
  const sim = buildSimulation(scenario, { seed: 3 });
  sim.run();
  const ev = sim.events;

  it('switches PCs on only during opening hours, and every PC is off at closing time', () => {
    const power = ev.filter((e) => e.kind === 'churn.power');
    expect(power.length).toBeGreaterThan(4);
    for (const e of power) expect(e.t).toBeLessThanOrEqual(CLOSE);
    for (const e of power.filter((x) => x.data?.on === true)) expect(e.t).toBeLessThan(CLOSE);
    for (const h of scenario.hosts) expect(sim.world.host(h.name).state).toBe('off');
    // A PC switched on boots first.
    const on = power.find((e) => e.data?.on === true)!;
    expect(ev.find((e) => e.kind === 'host.state' && e.subject === on.subject && e.t === on.t)?.data?.state).toBe('booting');
  });

  it('navigator follows the PCs: failovers happen and the day ends with the lab', () => {
    const o = dayOutcome(ev, CLOSE);
    expect(o.availability).not.toBeNull();
    expect(o.primaryFailovers + o.secondaryFailovers).toBeGreaterThan(0);
    expect(ev.filter((e) => e.kind === 'navigator.track').length).toBeGreaterThan(2);
  });

  it('is deterministic, and absent churn adds no event', () => {
    const again = buildSimulation(scenario, { seed: 3 });
    again.run();
    expect(toNdjson(again.events)).toBe(toNdjson(ev));
    const plain = buildSimulation({ ...scenario, churn: undefined }, { seed: 3 });
    plain.run();
    expect(plain.events.some((e) => e.kind === 'churn.power')).toBe(false);
  });

  it('names in churn must be hosts; closing must follow opening', () => {
    expect(scenarioProblems({ ...scenario, churn: { ...scenario.churn!, hosts: ['pc1', 'nope'] } }).map((p) => p.path.join('.'))).toContain('churn.hosts.1');
    expect(() => parseScenario('hosts: [{name: a}]\nchurn: {hosts: [a], openAt: 5h, closeAt: 4h}\n')).toThrow(/closeAt/);
  });

  it('navigator-lab12d runs and reports the thesis log beside its prediction', () => {
    const r = findExperiment('navigator-lab12d')!.run({ seed: 1, runs: 1, outDir: '/nonexistent' });
    const row = (c: string, m: string) => r.rows.find((x) => x.case === c && x.metric === m)!;
    expect(row('sessions 45m-4h', 'primaryFailovers').paper).toBe(2);
    expect(row('left on until 6pm', 'daysLost').value).toBe(0);
    expect(row('left on until 6pm', 'primaryFailovers').value).toBe(0);
  });
});
