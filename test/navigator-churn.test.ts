// The churn section of a scenario (users switching lab PCs on and off, all off at closing time)
// and the navigator-lab12d experiment built on it.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildSimulation, parseScenario, readScenario } from '../run/sim.ts';
import { SCENARIO_DIR, findExperiment } from '../experiments/registry.ts';
import { scenarioProblems, scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import fc from 'fast-check';
import { fcParams } from './helpers/fc-params.ts';
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

describe('navigator under a churn burst (property)', () => {
  const VIP = 'vip-rms';
  const PCS = ['pc1', 'pc2', 'pc3', 'pc4', 'pc5', 'pc6'];
  // The thesis's numbers (the policy's defaults): a new secondary takes the uptime query (1 s), the
  // image transfer (1.25 GB at 66 Mb/s: 151.5 s), its backup (96 Mb/s: 104.2 s) and the container
  // start (42.84 s): 300 s. A lost secondary is seen within a check (300 s) and a ping timeout
  // (4 s); with no candidate left the primary asks again a check later. So the surviving container
  // PC is on "long enough for a transfer" when the next loss comes at least that long after:
  const NEW_SECONDARY_S = 1 + 151.5 + 104.2 + 42.84;
  const ENOUGH_S = Math.ceil(300 + 4 + 300 + NEW_SECONDARY_S + 60);
  // The first fault comes once the first secondary runs: backup + start, then a new secondary.
  const FIRST_S = Math.ceil(104.2 + 42.84 + NEW_SECONDARY_S + 60);

  const caseArb = fc.integer({ min: 3, max: 6 }).chain((n) => fc.record({
    n: fc.constant(n),
    lease: fc.boolean(),
    // Each loss hits any PC (the primary's, the secondary's, a candidate in the middle of its
    // setup, one already off), switched off for good or restarted; at least two PCs stay on.
    losses: fc.array(fc.record({ target: fc.constantFrom(...PCS.slice(0, n)), restart: fc.boolean(), gapS: fc.integer({ min: ENOUGH_S, max: ENOUGH_S + 600 }) }), { minLength: 1, maxLength: 5 })
      .filter((ls) => new Set(ls.filter((l) => !l.restart).map((l) => l.target)).size <= n - 2),
  }));

  function burstScenario(c: { n: number; lease: boolean; losses: Array<{ target: string; restart: boolean; gapS: number }> }): Scenario {
    let at = FIRST_S;
    const faults = c.losses.map((l, i) => {
      if (i > 0) at += l.gapS;
      return { kind: l.restart ? 'host-restart' : 'host-shutdown', target: l.target, at: `${at}s` };
    });
    return scenarioSchema.parse({
      name: 'navigator-churn-burst-property',
      until: `${at + ENOUGH_S}s`,
      hosts: PCS.slice(0, c.n).map((name) => ({ name })),
      vms: [
        { name: 'nav-a', state: 'defined', services: [{ name: 'zabbix' }] },
        { name: 'nav-b', state: 'defined', services: [{ name: 'zabbix' }] },
      ],
      vips: [{ name: VIP, service: 'zabbix' }],
      clients: [{ name: 'user', vip: VIP }],
      faults,
      policies: [{ kind: 'navigator', start: 'pc1', containers: ['nav-a', 'nav-b'], service: 'zabbix', vip: VIP, lease: c.lease }],
    }) as Scenario;
  }

  it('property: the service always returns after a churn burst when a container PC stays on long enough for a new secondary after each loss', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const s = burstScenario(c);
        const sim = buildSimulation(s, { seed: 11 });
        sim.run(s.until!);
        const last = sim.events.filter((e) => e.kind === 'client.access').at(-1);
        const holders = sim.world.liveVipHolders(VIP);
        if (last?.data?.log !== 'OK' || holders.length !== 1) {
          throw new Error(`service not back at ${s.until! / S} s: last access ${JSON.stringify(last?.data)} at ${(last?.t ?? 0) / S} s, holders ${JSON.stringify(holders)}; faults ${JSON.stringify(s.faults)}`);
        }
      }),
      fcParams(30),
    );
  });
});
