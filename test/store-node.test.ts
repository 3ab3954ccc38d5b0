// The store is a node on the network (scenario `store`): a host cut off from it cannot read or
// write; its calls fail as `unreachable` after the store's timeout and are traced (store.error).
// Without `store` in the scenario, only a partition naming "store" cuts a host off.
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { PortError, type Ports } from '../engine/ports/index.ts';
import { join } from 'node:path';
import { buildSimulation, parseScenario, readScenario } from '../run/sim.ts';
import { StoreReplica } from '../trace/store.ts';
import { checkModel, checkTrace } from '../trace/checkers.ts';
import { Simulation } from '../adapters/sim/simulation.ts';
import { scenarioSchema, type Scenario } from '../sim/scenario/schema.ts';
import { storeOutOfReach } from '../policies/store.ts';

const S = 1_000_000;
const base = {
  hosts: [{ name: 'm' }, { name: 'h1' }, { name: 'h2' }],
  vms: [{ name: 'v1', host: 'h2', state: 'running' }],
  clients: [{ name: 'c1', vip: 'vip' }],
  vips: [{ name: 'vip', service: 'httpd', holder: null }],
  until: '100s',
};
const scenarioOf = (extra: Record<string, unknown>): Scenario => parseScenario(YAML.stringify({ ...base, ...extra }), '<store-node>');

/** The outcome of a store call by `agent` at `s` seconds, and when it settled (µs). */
function storeAt(sim: Simulation, s: number, agent: string, f: (st: Ports['store']) => unknown) {
  const out: { ok?: unknown; err?: unknown; atUs?: number } = {};
  sim.kernel.at(Math.round(s * S), () => {
    const r = f(sim.portsFor(agent).store);
    const settle = (k: 'ok' | 'err') => (v: unknown) => {
      out[k] = v ?? true;
      out.atUs = sim.kernel.nowUs();
    };
    if (r !== null && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(settle('ok'), settle('err'));
    else settle('ok')(r);
  });
  return out;
}
const unreachable = (o: { err?: unknown }) => o.err instanceof PortError && o.err.kind === 'unreachable';

describe('the store as a node', () => {
  it('default: a partition naming "store" cuts a host off (reads and writes), for its timeout; others go on', () => {
    const sim = new Simulation(scenarioOf({ faults: [{ kind: 'partition', a: ['h1'], b: ['store'], at: '1s', duration: '10s' }] }), { seed: 1 });
    sim.start();
    const before = storeAt(sim, 0.5, 'h1', (st) => st.cas('k', 0, { a: 1 }));
    const cut = storeAt(sim, 2, 'h1', (st) => st.get('k'));
    const cutWrite = storeAt(sim, 2, 'h1', (st) => st.cas('k', 1, { a: 2 }));
    const other = storeAt(sim, 2, 'm', (st) => st.cas('k', 1, { a: 3 }));
    const healed = storeAt(sim, 12, 'h1', (st) => st.get('k'));
    sim.run();
    expect(before.ok).toEqual({ ok: true, version: 1 });
    expect(unreachable(cut) && unreachable(cutWrite)).toBe(true);
    expect(cut.atUs).toBe(3 * S); // the default timeout, 1 s
    expect((cut.err as PortError).message).toBe('store get k: the store (store) is unreachable from h1');
    expect(storeOutOfReach(cut.err)).toBe(true);
    expect(other.ok).toEqual({ ok: true, version: 2 });
    expect(healed.ok).toEqual({ value: { a: 3 }, version: 2 });
    const errors = sim.events.filter((e) => e.kind === 'store.error');
    expect(errors.map((e) => [e.t, e.subject, e.data?.op, e.data?.kind])).toEqual([[3 * S, 'h1', 'get', 'unreachable'], [3 * S, 'h1', 'cas', 'unreachable']]);
    // The refused write never reached the store: versions 1 (h1) and 2 (m) only.
    expect(sim.events.filter((e) => e.kind === 'store.write').map((e) => [e.data?.version, e.data?.by])).toEqual([[1, 'h1'], [2, 'm']]);
  });

  it('default: a host whose own link is down still reaches the store (the shared files as they were)', () => {
    const sim = new Simulation(scenarioOf({ faults: [{ kind: 'link-down', target: 'h1', at: '1s' }] }), { seed: 1 });
    sim.start();
    const r = storeAt(sim, 2, 'h1', (st) => st.cas('k', 0, 1));
    sim.run();
    expect(r.ok).toEqual({ ok: true, version: 1 });
  });

  it('placed: a host with its link down, or all when the store\'s host is down; the store\'s own host always', () => {
    const sim = new Simulation(scenarioOf({
      store: { node: 'h2', timeoutS: 5 },
      faults: [{ kind: 'link-down', target: 'h1', at: '1s' }, { kind: 'host-fail', target: 'h2', at: '20s' }],
    }), { seed: 1 });
    sim.start();
    const linkDown = storeAt(sim, 2, 'h1', (st) => st.list(''));
    const fine = storeAt(sim, 2, 'm', (st) => st.cas('k', 0, 1));
    const own = storeAt(sim, 2, 'h2', (st) => st.get('k'));
    const storeDown = storeAt(sim, 21, 'm', (st) => st.del('k', 1));
    sim.run();
    expect(unreachable(linkDown)).toBe(true);
    expect(linkDown.atUs).toBe(7 * S);
    expect(fine.ok).toEqual({ ok: true, version: 1 });
    expect(own.ok).toEqual({ value: 1, version: 1 });
    expect(unreachable(storeDown)).toBe(true);
    expect((storeDown.err as PortError).message).toBe('store del k: the store (h2) is unreachable from m');
  });

  it('check: the store node is a host or a name of its own; partitions may name it', () => {
    const msgs = (extra: Record<string, unknown>) => {
      const r = scenarioSchema.safeParse({ ...base, ...extra });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(msgs({ store: { node: 'h1' }, faults: [{ kind: 'partition', a: ['m'], b: ['h1'], at: '1s' }] })).toEqual([]);
    expect(msgs({ faults: [{ kind: 'partition', a: ['m'], b: ['store'], at: '1s' }] })).toEqual([]);
    expect(msgs({ store: { node: 'etcd' }, faults: [{ kind: 'partition', a: ['m'], b: ['etcd'], at: '1s' }] })).toEqual([]);
    expect(msgs({ store: { node: 'etcd' }, faults: [{ kind: 'partition', a: ['m'], b: ['store'], at: '1s' }] })).toEqual(['faults.0.b.0: no host, VM or client "store"']);
    expect(msgs({ store: { node: 'v1' } })).toEqual(['store.node: the store\'s node "v1" is a VM (the store runs on a host or on a node of its own)']);
    expect(msgs({ store: { node: 'c1' } })).toEqual(['store.node: the store\'s node "c1" is a client\'s name']);
  });
});

describe('a P2P manager cut off from the store', () => {
  // kitamura-2018 Fig. 13 Nt2: FTP shut down at 65 s; Mail (its P1 manager) recovers it.
  const fig13 = () => readScenario(join(import.meta.dirname, 'golden', 'p2p-fig13-nt2', 'scenario.yaml'));
  const run = (extra: Scenario['faults']) => {
    const s = fig13();
    const sim = buildSimulation({ ...s, faults: [...s.faults, ...extra] }, { seed: 1 });
    sim.run();
    return sim.events;
  };

  it('writes nothing while cut off, and the target is still recovered (after the heal, from what the store says)', () => {
    const plain = run([]);
    const recoveredAt = (ev: typeof plain) => ev.find((e) => e.kind === 'target.recovered' && e.subject === 'FTP')?.t;
    expect(recoveredAt(plain)).toBeDefined();
    const cutFrom = 60 * S;
    const cutFor = 60 * S;
    const ev = run([{ kind: 'partition', a: ['Mail'], b: ['store'], oneWay: false, at: cutFrom, duration: cutFor }]);
    const during = (e: { t: number }) => e.t >= cutFrom && e.t < cutFrom + cutFor;
    // Mail cannot write while cut off: its calls fail (traced) and none of its writes lands.
    expect(ev.filter((e) => e.kind === 'store.error' && e.subject === 'Mail' && during(e)).length).toBeGreaterThan(0);
    expect(ev.filter((e) => e.kind === 'store.write' && e.data?.by === 'Mail' && during(e))).toEqual([]);
    // FTP is recovered in the end, later than without the cut, and the trace holds its records.
    expect(recoveredAt(ev)).toBeGreaterThan(recoveredAt(plain)!);
    const replica = new StoreReplica();
    for (const e of ev) replica.apply(e);
    expect(replica.keys().length).toBeGreaterThan(0);
    // The cut adds no violation to the run's (the paper setup's own: FTPb over Mail's memory, S4).
    const s = fig13();
    const keys = (events: typeof ev, faults: Scenario['faults']) => [...new Set(checkTrace(events, checkModel({ ...s, faults }, s.until)).violations.map((v) => v.key))];
    expect(keys(ev, [...s.faults, { kind: 'partition', a: ['Mail'], b: ['store'], oneWay: false, at: cutFrom, duration: cutFor }])).toEqual(keys(plain, s.faults));
  });
});
