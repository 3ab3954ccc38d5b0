// Store lines carry changes, not records: the records are rebuilt from the trace (trace/store.ts).
// Property: on random swarm schedules of every policy that uses the store (failover and lbcluster
// do not), the rebuilt value of the written key equals the sim store's own value at every store
// line, and at the end every key the store holds is rebuilt (and no other).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildSimulation } from '../run/sim.ts';
import { scheduleArb, scheduleScenario } from '../run/swarm.ts';
import { scenarioSchema } from '../sim/scenario/schema.ts';
import jsonPatch from 'fast-json-patch';
import { asJson, jsonDiff, storeChange, StoreReplica } from '../trace/store.ts';
import type { TraceEvent } from '../trace/event.ts';
import { fcParams } from './helpers/fc-params.ts';

describe('storeChange', () => {
  it('a creation, a scalar or a type change is the whole value; an edit of a large record is a patch', () => {
    expect(storeChange(undefined, { a: 1 })).toEqual({ value: { a: 1 } });
    expect(storeChange(3, 4)).toEqual({ value: 4 });
    expect(storeChange([1], { a: 1 })).toEqual({ value: { a: 1 } });
    const big = { group: ['Web1', 'Web2', 'FTP', 'Login', 'Mail'], separation: [] as string[], order: ['Web1', 'Web2', 'FTP', 'Login', 'Mail'] };
    const next = { ...big, separation: ['Mail'], group: big.group.slice(0, 4) };
    const c = storeChange(big, next);
    expect(c).toHaveProperty('patch');
    expect(JSON.stringify(c).length).toBeLessThan(JSON.stringify(next).length);
  });

  it('a line is a copy: changing the written object afterwards does not change it', () => {
    const base = ['RS1'];
    const whole = storeChange(undefined, [{ baseServers: base }]);
    const patch = storeChange([{ baseServers: [] as string[], n: 'a long enough row to patch' }], [{ baseServers: base, n: 'a long enough row to patch' }]);
    base.push('RS2');
    expect(whole).toEqual({ value: [{ baseServers: ['RS1'] }] });
    expect(patch).toEqual({ patch: [{ op: 'add', path: '/0/baseServers/0', value: 'RS1' }] });
  });

  it('a field set to undefined is diffed as JSON has it: no field', () => {
    const rows = (x: string | undefined) => [{ host: 'M1', realServer: 'RS1', vip: 'VIP1', note: x }, { host: 'M2', realServer: 'RS2', vip: 'VIP2', note: undefined }];
    const r = new StoreReplica();
    r.apply({ t: 0, kind: 'store.write', subject: 'k', data: { version: 1, expect: 0, ...storeChange(undefined, asJson(rows(undefined))) } });
    const line = JSON.parse(JSON.stringify({ t: 1, kind: 'store.write', subject: 'k', data: { version: 2, expect: 1, ...storeChange(rows(undefined), rows('moved')) } })) as TraceEvent;
    expect(line.data).toHaveProperty('patch');
    expect(r.apply(line)).toEqual(asJson(rows('moved')));
  });

  it('jsonDiff takes the old value to the new one (random JSON values, edits of random records)', () => {
    const edit = fc.jsonValue().chain((a) => fc.tuple(fc.constant(a), fc.oneof(fc.jsonValue(), fc.constant(a).map((v) => mutate(v)))));
    fc.assert(
      fc.property(edit, ([a, b]) => {
        // fast-json-patch refuses paths through __proto__: storeChange traces such a change whole.
        const protoFree = !JSON.stringify([a, b]).includes('"__proto__"') && !JSON.stringify([a, b]).includes('"prototype"');
        const patch = protoFree ? jsonDiff(a, b) : [];
        // Compared as JSON has them (-0 is 0 in a trace line).
        if (protoFree) expect(asJson(jsonPatch.applyPatch(structuredClone(a), patch, true, false).newDocument)).toEqual(asJson(b));
        const c = storeChange(a, b);
        if ('patch' in c) expect(asJson(jsonPatch.applyPatch(structuredClone(a), c.patch, true, false).newDocument)).toEqual(asJson(b));
        else expect(c.value).toEqual(asJson(b));
        // The whole value only when the patch is not shorter (or the types differ).
        if (protoFree && 'value' in c && a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
          expect(JSON.stringify(patch).length).toBeGreaterThanOrEqual(JSON.stringify(b).length);
        }
      }),
      fcParams(300),
    );
  });

  it('one name taken out of a list of 10,000 (and one row rewritten) is a patch of a few operations', () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
    const before = { group: names, separation: [] as string[], order: names, claims: {} as Record<string, string> };
    const after = { ...before, group: names.filter((n) => n !== 's4321'), separation: ['s4321'], claims: { s4321: 's4320' } };
    const c = storeChange(before, after);
    expect(c).toEqual({ patch: [
      { op: 'remove', path: '/group/4321' },
      { op: 'add', path: '/separation/0', value: 's4321' },
      { op: 'add', path: '/claims/s4321', value: 's4320' },
    ] });
    const rows = names.map((n, i) => ({ manager: n, target: names[(i + 1) % names.length] }));
    const moved = rows.map((r) => (r.manager === 's7' ? { ...r, target: 's9' } : r));
    expect(storeChange(rows, moved)).toEqual({ patch: [{ op: 'replace', path: '/7/target', value: 's9' }] });
  });

  it('the replica refuses a write that does not follow (strict) and forgets the key otherwise', () => {
    const w = (t: number, data: Record<string, unknown>): TraceEvent => ({ t, kind: 'store.write', subject: 'k', data });
    const strict = new StoreReplica();
    strict.apply(w(1, { version: 1, expect: 0, value: { a: [1, 2] } }));
    expect(strict.apply(w(2, { version: 2, expect: 1, patch: [{ op: 'add', path: '/a/2', value: 3 }] }))).toEqual({ a: [1, 2, 3] });
    expect(() => strict.apply(w(3, { version: 3, expect: 1, value: {} }))).toThrow(/expected version 1, the trace has 2/);
    const loose = new StoreReplica(false);
    loose.apply(w(1, { version: 1, expect: 0, value: { a: 1 } }));
    loose.apply(w(2, { version: 5, expect: 4, patch: [] }));
    expect(loose.value('k')).toBeUndefined();
  });
});

describe('store lines rebuild the store', () => {
  for (const policy of ['p2p', 'pss', 'msbs', 'navigator'] as const) {
    it(`${policy}: the rebuilt value equals the store's at every write, and at the end`, () => {
      let writes = 0;
      let patches = 0;
      fc.assert(
        fc.property(scheduleArb(policy), (s) => {
          const scenario = scenarioSchema.parse(scheduleScenario(s));
          const replica = new StoreReplica();
          const sim = buildSimulation(scenario, {
            seed: scenario.seed ?? 1,
            keepEvents: false,
            onEvent: (e) => {
              if (!e.kind.startsWith('store.')) return;
              // The line is a JSON line: what a reader of the trace file gets.
              const line = JSON.parse(JSON.stringify(e)) as TraceEvent;
              const rebuilt = replica.apply(line);
              if (e.kind !== 'store.write') return;
              writes++;
              if (line.data?.patch !== undefined) patches++;
              expect(rebuilt).toEqual(asJson(sim.store.get(e.subject)?.value));
              expect(replica.version(e.subject)).toBe(sim.store.get(e.subject)?.version);
            },
          });
          try {
            sim.run();
          } catch {
            return; // a crash is the swarm's to report, not this property's
          }
          const held = sim.store.list('');
          expect(replica.keys()).toEqual(held.map((r) => r.key));
          for (const r of held) expect(replica.value(r.key)).toEqual(asJson(r.value));
        }),
        fcParams(policy === 'p2p' ? 25 : 15),
      );
      // The property saw writes, and (policies that edit records) writes as patches.
      expect(writes).toBeGreaterThan(0);
      expect(patches).toBeGreaterThan(0);
    }, 120_000);
  }
});

/** A random edit of a JSON value: an element or field dropped, added or changed, at any depth. */
function mutate(v: unknown, depth = 0): unknown {
  const h = JSON.stringify(v ?? null).length + depth;
  if (Array.isArray(v)) {
    if (v.length === 0) return [h];
    const i = h % v.length;
    const choice = h % 3;
    if (choice === 0) return v.filter((_, j) => j !== i);
    if (choice === 1) return [...v.slice(0, i), `x${h}`, ...v.slice(i)];
    return v.map((x, j) => (j === i ? mutate(x, depth + 1) : x));
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return { [`k${h}`]: h };
    const k = keys[h % keys.length];
    const choice = h % 3;
    const o = { ...(v as Record<string, unknown>) };
    if (choice === 0) delete o[k];
    else if (choice === 1) o[`k${h}`] = [h];
    else o[k] = mutate(o[k], depth + 1);
    return o;
  }
  return typeof v === 'number' ? v + 1 : `${String(v)}!`;
}
