// Scale (docs/scale.md): the indexes that replaced scans answer what the scans answered, the
// quiet subscription of a VIP ping follows its holders, and the scale experiment's scenarios,
// table and plot. Speed is measured by `bench/scale.ts`, never here.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import YAML from 'yaml';
import { fcParams } from './helpers/fc-params.ts';
import { managersOf, operationRows, targetsOf, type OperationRow } from '../policies/p2p/ring.ts';
import { parseScenario } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';
import { SimStore } from '../adapters/sim/ports.ts';
import { sameCondition } from '../policies/p2p/program.ts';
import { groupChanged, groupIndexOf, inGroup, operationChanged, ordered, returned, type Membership } from '../policies/p2p/files.ts';
import { changedManagers, operationFile, sameTargetsOf } from '../policies/p2p/ring.ts';
import { replacedSince } from '../trace/list-edits.ts';
import { ChunkedList } from '../trace/chunked-list.ts';
import { replayGrid } from '../engine/runtime/quiet-rounds.ts';
import { runScale, scaleDocument, scaleScenario, scaleSvg, scaleTable, DAY_US, type ScaleRow } from '../experiments/scale.ts';

const byPriority = (a: OperationRow, b: OperationRow) => (a.priority === b.priority ? 0 : a.priority === 'P1' ? -1 : 1);

describe('ring.ts: indexed operation files', () => {
  it('targetsOf and managersOf equal a filter and a stable sort of the rows (random files, also after an in-place push)', () => {
    const row = fc.record({
      priority: fc.constantFrom('P1' as const, 'P2' as const),
      manager: fc.constantFrom('a', 'b', 'c', 'd'),
      target: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      dataFile: fc.string({ maxLength: 3 }),
    });
    fc.assert(fc.property(fc.array(row, { maxLength: 30 }), row, (rows, extra) => {
      const check = () => {
        for (const who of ['a', 'b', 'c', 'd', 'e', 'zz']) {
          expect(targetsOf(rows, who)).toEqual(rows.filter((r) => r.manager === who).sort(byPriority));
          expect(managersOf(rows, who)).toEqual(rows.filter((r) => r.target === who).sort(byPriority));
        }
      };
      check();
      rows.push(extra);
      check();
    }), fcParams(200));
  });

  it('a caller that changes the returned list does not change the next answer', () => {
    const rows = operationRows(['s1', 's2', 's3', 's4']);
    targetsOf(rows, 's1').pop();
    expect(targetsOf(rows, 's1').map((r) => `${r.priority}:${r.target}`)).toEqual(['P1:s2', 'P2:s4']);
  });
});

describe('SimStore.list: kept sorted keys', () => {
  it('lists what a filter and sort of every record gives, after random writes and deletes', () => {
    const key = fc.constantFrom('a/', 'a/b', 'a/c', 'ab', 'b/1', 'b/10', 'b/2', 'c', '', 'a');
    const op = fc.record({ del: fc.boolean(), key, value: fc.integer() });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(key, { minLength: 1, maxLength: 5 }), (ops, prefixes) => {
        const store = new SimStore(() => {});
        const model = new Map<string, number>();
        for (const o of ops) {
          const cur = store.get<number>(o.key);
          if (o.del) {
            if (cur) store.del(o.key, cur.version);
            model.delete(o.key);
          } else {
            store.cas(o.key, cur?.version ?? 0, o.value);
            model.set(o.key, o.value);
          }
          for (const p of prefixes) {
            const want = [...model].filter(([k]) => k.startsWith(p)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v]);
            expect(store.list<number>(p).map((r) => [r.key, r.value])).toEqual(want);
          }
        }
      }),
      fcParams(200),
    );
  });
});

describe('SimStore.cas: the store keeps its own copy', () => {
  it('a stored value equals structuredClone of the written one and shares nothing with it', () => {
    const plain = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 5 }),
      object: fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constant('__proto__')), tie('value'), { maxKeys: 5 }),
    })).value;
    fc.assert(fc.property(plain, (v) => {
      const store = new SimStore(() => {});
      const want = structuredClone(v);
      store.cas('k', 0, v);
      const got = store.get('k')!.value;
      expect(got).toStrictEqual(want);
      // Changing the written value afterwards leaves the record as it was written.
      const mutate = (x: unknown): void => {
        if (Array.isArray(x)) { x.push('changed'); x.forEach(mutate); } else if (x !== null && typeof x === 'object') {
          for (const k of Object.keys(x)) mutate((x as Record<string, unknown>)[k]);
          (x as Record<string, unknown>).changed = 1;
        }
      };
      mutate(v);
      expect(got).toStrictEqual(want);
    }), fcParams(300));
  });
});

describe('frozen records: the store keeps what nobody can change as it is', () => {
  it('a deep-frozen value is stored as written; one with anything unfrozen in it is copied', () => {
    const store = new SimStore(() => {});
    const row = Object.freeze({ priority: 'P1', manager: 'a', target: 'b', dataFile: 'b.dat' });
    const frozen = Object.freeze([row, Object.freeze({ ...row, target: 'c' })]);
    store.cas('k', 0, frozen);
    expect(store.get('k')!.value).toBe(frozen);
    const open: Record<string, string> = { ...row };
    const half = Object.freeze([row, open]);
    store.cas('k', 1, half);
    const got = store.get('k')!.value as Array<Record<string, unknown>>;
    expect(got).not.toBe(half);
    expect(got).toStrictEqual(half);
    open.target = 'changed';
    expect(got[1].target).toBe('b');
  });

  it('operationFile: the rows of operationRows, frozen, each equal row of the replaced file shared; changedManagers as if computed afresh', () => {
    const names = fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 0, maxLength: 12 }).map((xs) => xs.map((x) => `s${x}`));
    fc.assert(fc.property(names, names, fc.integer({ min: 1, max: 4 }), (g1, g2, chunk) => {
      const first = operationFile(g1, [], chunk);
      const next = operationFile(g2, first);
      expect(next.toArray()).toStrictEqual(operationRows(g2));
      expect(Object.isFrozen(next) && [...next].every((r) => Object.isFrozen(r))).toBe(true);
      for (const r of next) {
        const old = first.toArray().find((o) => o.priority === r.priority && o.manager === r.manager && o.target === r.target && o.dataFile === r.dataFile);
        if (old !== undefined) expect(r).toBe(old);
      }
      const fresh = changedManagers([...first], [...next]);
      expect(changedManagers(first, next)).toStrictEqual(fresh);
      // The memo: asked again (and its answer changed by a caller), still the same answer.
      changedManagers(first, next).add('zzz');
      expect(changedManagers(first, next)).toStrictEqual(fresh);
      expect(changedManagers(next, next)).toStrictEqual(new Set());
    }), fcParams(300));
  });
});

describe('operationFile derived from the file it replaces (its rows and its row index updated, not rebuilt)', () => {
  const deepFrozen = (v: unknown): boolean => v === null || typeof v !== 'object' || (Object.isFrozen(v) && Object.values(v).every(deepFrozen));
  it('on random sequences of separations, returns and arbitrary regroupings: each file equals operationRows, its index a fresh one', () => {
    const order = Array.from({ length: 14 }, (_, i) => `s${i}`);
    // A step: separate one server, return one (to its place in the original order), or a new group.
    const step = fc.oneof(
      fc.record({ kind: fc.constant('separate' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('return' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('regroup' as const), group: fc.uniqueArray(fc.constantFrom(...order), { maxLength: 14 }) }),
      fc.record({ kind: fc.constant('entries' as const), pick: fc.nat() }),
    );
    // `list`: the group as a chunked list (of `chunk` names a chunk), separations and returns made
    // by splicing it as files.ts does, so the group lists and the files share chunks.
    fc.assert(fc.property(fc.integer({ min: 0, max: 14 }), fc.array(step, { maxLength: 25 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), (n0, steps, list, chunk) => {
      type G = string[] | Array<{ host: string; dataFile: string }> | ChunkedList<string>;
      let group: G = list ? ChunkedList.from(order.slice(0, n0), chunk) : order.slice(0, n0);
      let file = operationFile(group, [], chunk);
      for (const s of steps) {
        const hosts: string[] = [...group].map((g) => (typeof g === 'string' ? g : g.host));
        const g0: G = group;
        if (s.kind === 'separate' && hosts.length > 0) group = g0 instanceof ChunkedList ? g0.splice(s.pick % hosts.length, 1) : hosts.filter((_, i) => i !== s.pick % hosts.length);
        else if (s.kind === 'return') {
          const out = order.filter((h) => !hosts.includes(h));
          if (out.length > 0) {
            const server = out[s.pick % out.length];
            const back = new Set([...hosts, server]);
            const want = order.filter((h) => back.has(h));
            group = g0 instanceof ChunkedList ? g0.splice(want.indexOf(server), 0, [server]) : want;
          }
        } else if (s.kind === 'regroup') group = list ? ChunkedList.from(s.group, chunk) : s.group;
        else if (s.kind === 'entries') group = hosts.map((h, i) => ({ host: h, dataFile: i === s.pick % Math.max(1, hosts.length) ? `${h}.alt` : `${h}.dat` }));
        const before = file;
        file = operationFile(group, before);
        const plainGroup = group instanceof ChunkedList ? group.toArray() : group;
        expect(file.toArray()).toStrictEqual(operationRows(plainGroup));
        expect(JSON.stringify(file)).toBe(JSON.stringify(operationRows(plainGroup)));
        expect(Object.isFrozen(file) && [...file].every(deepFrozen)).toBe(true);
        // Rows equal to the replaced file's are its objects.
        for (const r of file) {
          const old = before.toArray().find((o) => o.priority === r.priority && o.manager === r.manager && o.target === r.target && o.dataFile === r.dataFile);
          if (old !== undefined) expect(r).toBe(old);
        }
        // A separation or a return of a chunked group: the file shares all its chunks but those
        // of the changed servers' rows (three servers, and the ring's ends when they change).
        if (g0 instanceof ChunkedList && group instanceof ChunkedList && g0 !== group) {
          const old = new Set(Array.from({ length: before.chunkCount }, (_, k) => before.chunk(k)));
          let fresh = 0;
          for (let k = 0; k < file.chunkCount; k++) if (!old.has(file.chunk(k))) fresh += file.chunk(k).length;
          expect(fresh).toBeLessThanOrEqual(2 * 5 + 2 * 4 * 2 * chunk);
        }
        // The index carried over answers as one built afresh from a copy of the rows.
        const copy = [...file];
        for (const who of [...order, 'zz']) {
          expect(targetsOf(file, who)).toStrictEqual(targetsOf(copy, who));
          expect(managersOf(file, who)).toStrictEqual(managersOf(copy, who));
        }
        expect(changedManagers(before, file)).toStrictEqual(changedManagers([...before], copy));
        // The replaced file still answers (its index rebuilt when asked).
        const beforeCopy = [...before];
        for (const who of order) expect(targetsOf(before, who)).toStrictEqual(targetsOf(beforeCopy, who));
      }
    }), fcParams(300));
  });

  it('a host listed twice is refused as the full build refuses it, also when only the changed part names it', () => {
    const g = ['a', 'b', 'c', 'd', 'e', 'f'];
    const first = operationFile(g, []);
    expect(() => operationFile(['a', 'b', 'e', 'd', 'e', 'f'], first)).toThrow(/listed twice/);
    expect(() => operationFile(['a', 'b', 'c', 'a', 'e', 'f'], first)).toThrow(/listed twice/);
  });
});

describe('SimStore.list kept between writes', () => {
  it('equals a fresh listing of the records after random writes, creations and deletions; a kept list never changes; its replaced places are noted', () => {
    const key = fc.constantFrom('a/1', 'a/2', 'a/3', 'ab/1', 'b/1', 'b/2', 'a');
    const op = fc.oneof(
      fc.record({ op: fc.constant('cas' as const), key, value: fc.integer() }),
      fc.record({ op: fc.constant('del' as const), key }),
      fc.record({ op: fc.constant('list' as const), prefix: fc.constantFrom('a/', 'a', 'b/', '', 'c/') }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const store = new SimStore(() => {});
      const model = new Map<string, { value: number; version: number }>();
      const seen: Array<{ list: unknown[]; copy: string }> = [];
      // The last listing of each prefix, forgotten when a key under it is created or deleted.
      const last = new Map<string, ReadonlyArray<{ key: string }>>();
      const keysBefore = new Set<string>();
      for (const o of ops) {
        if (o.op === 'cas') {
          const r = store.cas(o.key, store.get(o.key)?.version ?? 0, o.value);
          model.set(o.key, { value: o.value, version: r.version });
        } else if (o.op === 'del') {
          const cur = store.get(o.key);
          if (cur) store.del(o.key, cur.version);
          model.delete(o.key);
        } else {
          const got = store.list(o.prefix);
          const want = [...model].filter(([k]) => k.startsWith(o.prefix)).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => ({ key: k, ...v }));
          expect(got).toStrictEqual(want);
          // The places noted as replaced since the last listing of that prefix: every other place
          // holds the very same entry; a rewritten record's entry is noted (rewrites happened: a list of the same keys, new entries).
          const prev = last.get(o.prefix);
          if (prev !== undefined && prev !== got) {
            const at = replacedSince(got, prev);
            if (at !== null) {
              expect(got.length).toBe(prev.length);
              for (let i = 0; i < got.length; i++) if (!at.includes(i)) expect(got[i]).toBe(prev[i]);
            } else expect(got.map((e) => e.key)).not.toStrictEqual(prev.map((e) => e.key)); // only a new or deleted key goes unnoted (no walk can be skipped then)
          }
          last.set(o.prefix, got);
          seen.push({ list: got, copy: JSON.stringify(got) });
        }
        if (o.op === 'del' || (o.op === 'cas' && !keysBefore.has(o.key))) for (const p of [...last.keys()]) if (o.key.startsWith(p)) last.delete(p);
        keysBefore.clear();
        for (const k of model.keys()) keysBefore.add(k);
      }
      for (const x of seen) expect(JSON.stringify(x.list)).toBe(x.copy);
    }), fcParams(500));
  });

  it('a listing after rewrites of existing records notes the places of its new entries: every other place holds the last listing\'s entry', () => {
    const keys = ['a/1', 'a/2', 'a/3', 'ab/1', 'b/1', 'b/2', 'a'];
    const op = fc.oneof(
      fc.record({ op: fc.constant('cas' as const), key: fc.constantFrom(...keys), value: fc.integer() }),
      fc.record({ op: fc.constant('list' as const), prefix: fc.constantFrom('a/', 'a', 'b/', '') }),
    );
    let noted = 0;
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const store = new SimStore(() => {});
      for (const k of keys) store.cas(k, 0, 0);
      const last = new Map<string, ReadonlyArray<{ key: string; value: unknown }>>();
      const rewritten = new Map<string, Set<string>>();
      for (const o of ops) {
        if (o.op === 'cas') {
          store.cas(o.key, store.get(o.key)!.version, o.value);
          for (const [p, r] of rewritten) if (o.key.startsWith(p)) r.add(o.key);
          continue;
        }
        const got = store.list(o.prefix);
        const prev = last.get(o.prefix);
        if (prev !== undefined && (rewritten.get(o.prefix)?.size ?? 0) > 0) {
          // Rewrites only (no key created or deleted): the list is made from the last one, and noted.
          const at = replacedSince(got, prev);
          expect(at).not.toBeNull();
          expect(got.length).toBe(prev.length);
          for (let i = 0; i < got.length; i++) {
            if (at!.includes(i)) expect(got[i].value).toBe(store.get(got[i].key)!.value);
            else expect(got[i]).toBe(prev[i]);
          }
          // Every rewritten record's place is noted.
          for (const k of rewritten.get(o.prefix)!) expect(at).toContain(got.findIndex((e) => e.key === k));
          noted++;
        }
        last.set(o.prefix, got);
        rewritten.set(o.prefix, new Set());
      }
    }), fcParams(300));
    expect(noted).toBeGreaterThan(0);
  });
});

describe('returned: a server put back in the group file at its place', () => {
  it('equals the order file filtered to the group and the server (groups in order, and arbitrary ones)', () => {
    const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
    const case_ = fc.tuple(fc.shuffledSubarray(names), fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), fc.nat(), fc.uniqueArray(fc.constantFrom(...names, 'x'), { maxLength: 6 }), fc.boolean(), fc.integer({ min: 0, max: 3 }));
    fc.assert(fc.property(case_, ([order, keep, pick, other, arbitrary, chunk]) => {
      const inOrder = order.filter((_, i) => keep[i]);
      // chunk 0: a plain array (as JSON gives the record back), else a chunked list of that chunk size.
      const listed = (g: string[]) => (chunk === 0 ? g : ChunkedList.from(g, chunk));
      const groupList = arbitrary ? listed(other) : ordered(listed(inOrder), order);
      const group = arbitrary ? other : inOrder;
      const out = order.filter((s) => !group.includes(s));
      if (out.length === 0) return;
      const server = out[pick % out.length];
      const m: Membership = { group: groupList, separation: [server], order };
      const want = order.filter((s) => new Set([...group, server]).has(s));
      const back = returned(m, server);
      expect(back.toArray()).toStrictEqual(want);
      // Put in by a splice of a chunked group in order: all its chunks but one are shared.
      if (groupList instanceof ChunkedList && !arbitrary) {
        const old = new Set(Array.from({ length: groupList.chunkCount }, (_, k) => groupList.chunk(k)));
        let fresh = 0;
        for (let k = 0; k < back.chunkCount; k++) if (!old.has(back.chunk(k))) fresh++;
        expect(fresh).toBeLessThanOrEqual(3);
      }
      // inGroup, by a binary search for a group known to follow the order, as the list says.
      for (const s of [...order, 'x', 'zz']) {
        expect(inGroup(m, s)).toBe(group.includes(s));
        expect(groupIndexOf(m, s)).toBe(group.indexOf(s));
      }
    }), fcParams(1000));
  });
});

describe('changedManagers: the managers whose lists differ, from the rows between the common head and tail', () => {
  it('names exactly the managers sameTargetsOf finds different, on arbitrary files and on ring rewrites', () => {
    const row = fc.record({ priority: fc.constantFrom<'P1' | 'P2'>('P1', 'P2'), manager: fc.constantFrom('a', 'b', 'c', 'd'), target: fc.constantFrom('a', 'b', 'c', 'd', 'e'), dataFile: fc.constantFrom('x', 'y') });
    const file = fc.array(row, { maxLength: 12 });
    // Pairs that share a head and a tail (one edit in the middle), ring rewrites, and unrelated files.
    const edited = fc.tuple(file, file, file, file).map(([h, m1, m2, t]) => [[...h, ...m1, ...t], [...h, ...m2, ...t]] as const);
    const ring = fc.tuple(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 6 }), fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 6 })).map(([g1, g2]) => [operationRows(g1), operationRows(g2)] as const);
    fc.assert(fc.property(fc.oneof(edited, ring, fc.tuple(file, file)), ([before, after]) => {
      const managers = new Set([...before, ...after].map((r) => r.manager));
      const want = new Set([...managers].filter((m) => !sameTargetsOf([...before], [...after], m)));
      expect(changedManagers([...before], [...after])).toStrictEqual(want);
      // As chunked lists: unrelated ones, and the second made from the first by one splice
      // (shared chunks passed over), and mixed with a plain array.
      for (const chunk of [1, 2, 3]) {
        const b = ChunkedList.from(before, chunk);
        expect(changedManagers(b, ChunkedList.from(after, chunk))).toStrictEqual(want);
        expect(changedManagers(b, [...after])).toStrictEqual(want);
        let h = 0;
        while (h < before.length && h < after.length && before[h] === after[h]) h++;
        let t = 0;
        while (t < before.length - h && t < after.length - h && before[before.length - 1 - t] === after[after.length - 1 - t]) t++;
        expect(changedManagers(b, b.splice(h, before.length - h - t, after.slice(h, after.length - t)))).toStrictEqual(want);
      }
    }), fcParams(1000));
  });
});

describe('store parts: a check that reads one part of a record is told only of writes that change it', () => {
  it('subscribers of a part are called only when it changes, every subscriber in subscription order', () => {
    const store = new SimStore(() => {});
    const calls: string[] = [];
    const changed = (a: unknown, b: unknown) => Object.keys({ ...(a as object), ...(b as object) }).filter((k) => (a as Record<string, unknown> | null)?.[k] !== (b as Record<string, unknown> | null)?.[k]);
    const on = (name: string) => () => void calls.push(name);
    store.subscribe('k', on('x1'), { name: 'x', changed });
    store.subscribe('k', on('all'));
    const offY = store.subscribe('k', on('y'), { name: 'y', changed });
    store.subscribe('k', on('x2'), { name: 'x', changed });
    store.cas('k', 0, { x: 1, y: 1 });
    expect(calls).toEqual(['x1', 'all', 'y', 'x2']);
    calls.length = 0;
    store.cas('k', 1, { x: 1, y: 2 });
    expect(calls).toEqual(['all', 'y']);
    calls.length = 0;
    offY();
    store.cas('k', 2, { x: 3, y: 3 });
    expect(calls).toEqual(['x1', 'all', 'x2']);
    calls.length = 0;
    store.del('k', 3);
    expect(calls).toEqual(['x1', 'all', 'x2']);
  });

  it('groupChanged names every server whose inGroup answer differs, operationChanged every manager whose sameTargetsOf differs', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const group = fc.shuffledSubarray(names).map((g) => g);
    const membership = fc.option(group.map((g): Membership => ({ group: g, separation: names.filter((n) => !g.includes(n)), order: names })), { nil: undefined });
    // `how`: plain arrays; chunked lists made apart; or the second group spliced from the first
    // (one server out or in, at a random place), sharing its other chunks.
    fc.assert(fc.property(membership, membership, fc.constantFrom('plain', 'apart', 'spliced'), fc.integer({ min: 1, max: 3 }), fc.nat(), (m1, m2, how, chunk, pick) => {
      let a: Membership | null = m1 ?? null;
      let b: Membership | null = m2 ?? null;
      if (how !== 'plain' && a !== null) a = { ...a, group: ChunkedList.from(a.group, chunk) };
      if (how === 'apart' && b !== null) b = { ...b, group: ChunkedList.from(b.group, chunk) };
      if (how === 'spliced' && a !== null) {
        const g = a.group as ChunkedList<string>;
        const out = names.filter((n) => !g.toArray().includes(n));
        b = g.length > 0 && pick % 2 === 0 ? { ...a, group: g.splice(pick % g.length, 1) } : out.length > 0 ? { ...a, group: g.splice(pick % (g.length + 1), 0, [out[pick % out.length]]) } : a;
      }
      const named = new Set(groupChanged(a, b));
      for (const n of names) {
        const before = a !== null && inGroup(a, n);
        const after = b !== null && inGroup(b, n);
        if (before !== after) expect(named.has(n), `${n}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`).toBe(true);
      }
      const r1 = a === null ? null : operationRows([...a.group]);
      const r2 = b === null ? null : operationRows([...b.group]);
      const managers = operationChanged(r1, r2);
      for (const n of names) {
        // A supervisor that read r1 is quiet while sameTargetsOf(r1, file) holds: a change of its answer is named.
        const holdsBefore = r1 !== null;
        const holdsAfter = r1 !== null && r2 !== null && sameTargetsOf(r1, r2, n);
        if (holdsBefore !== holdsAfter && r2 !== null) expect(managers.has(n)).toBe(true);
      }
    }), fcParams(300));
  });
});

describe('P2P load subprogram: an unchanged condition record is not written again', () => {
  it('sameCondition(a, b) is exactly JSON.stringify(a) === JSON.stringify(b) (random records, -0, NaN, infinities)', () => {
    const num = fc.oneof(fc.constantFrom(0, -0, 1, 1024, NaN, Infinity, -Infinity), fc.double(), fc.integer({ min: 0, max: 3 }));
    const m = fc.record({ availableMemoryKb: num, cpuIdlePct: num, networkKb: num });
    const rec = fc.record({
      server: fc.constantFrom('a', 'b'),
      capacity: fc.record({ physicalMemoryKb: num, cpuCores: num, ratedTransferKbPerS: num }),
      previous: fc.array(m, { maxLength: 2 }),
      current: fc.array(m, { maxLength: 2 }),
    });
    // Pairs that differ in one place, and unrelated pairs.
    const pair = fc.oneof(fc.tuple(rec, rec), rec.chain((a) => fc.tuple(fc.constant(a), fc.constant(structuredClone(a)))));
    fc.assert(fc.property(pair, ([a, b]) => {
      expect(sameCondition(a, b)).toBe(JSON.stringify(a) === JSON.stringify(b));
    }), fcParams(1000));
  });
});

describe('sim oracle: a VIP ping is woken by what can change its answer', () => {
  const world = {
    hosts: [
      { name: 'web1', mac: '02:00:00:00:00:01', services: [{ name: 'httpd' }] },
      { name: 'vmhost', mac: '02:00:00:00:00:02' },
      { name: 'mgr', mac: '02:00:00:00:00:03' },
      { name: 'other', mac: '02:00:00:00:00:04' },
    ],
    vms: [{ name: 'web1b', host: 'vmhost', state: 'running', services: [{ name: 'httpd' }] }],
    vips: [{ name: 'vip-web', service: 'httpd', holder: 'web1' }],
  };

  it('follows the holders: a new holder\'s fall wakes it, a former holder\'s or a bystander\'s does not', () => {
    const sim = new Simulation(parseScenario(YAML.stringify(world), '<scale test>'), { seed: 1 });
    sim.start();
    const quiet = sim.portsFor('mgr').quiet!;
    const spec = { kind: 'network' as const, target: 'vip-web', timeoutUs: 1000 };
    const woken: string[] = [];
    let step = '';
    const off = quiet.subscribe(spec, () => woken.push(step));
    const w = sim.world;
    step = 'bystander down';
    w.shutdownHost('other');
    step = 'vip to web1b';
    w.assignVip('vip-web', 'web1b');
    step = 'vip off web1';
    w.removeVip('vip-web', 'web1');
    step = 'former holder down';
    w.shutdownHost('web1');
    step = 'holder crashed';
    w.crashVm('web1b');
    expect(quiet.wouldPass(spec)).toBe(false);
    off();
    step = 'after unsubscribe';
    w.shutdownHost('vmhost');
    // Each wake-up is a change the ping can see; the VIP's own changes wake it once per change.
    expect([...new Set(woken)]).toEqual(['vip to web1b', 'vip off web1', 'holder crashed']);
  });
});

describe('the scale experiment', () => {
  it('builds valid scenarios for both policies, with seeded faults at about the asked rate, in time order', () => {
    for (const policy of ['p2p', 'failover'] as const) {
      const s = scaleScenario({ policy, n: 12, days: 365, faultsPerHostYear: 3, seed: 7 });
      expect(s.hosts).toHaveLength(12);
      expect(s.policies).toHaveLength(policy === 'p2p' ? 1 : 12);
      const times = s.faults.map((f) => (typeof f.at === 'number' ? f.at : NaN));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times.every((t) => t > 0 && t < 365 * DAY_US)).toBe(true);
      // 12 servers x 3 a year: 36 expected; a Poisson count is within 36 +- 4 sd (24) surely.
      expect(s.faults.length).toBeGreaterThan(12);
      expect(s.faults.length).toBeLessThan(60);
    }
    expect(scaleDocument({ policy: 'p2p', n: 5, days: 30, faultsPerHostYear: 3, seed: 1 })).toEqual(scaleDocument({ policy: 'p2p', n: 5, days: 30, faultsPerHostYear: 3, seed: 1 }));
    expect(scaleDocument({ policy: 'p2p', n: 5, days: 30, faultsPerHostYear: 0, seed: 1 }).faults).toEqual([]);
  });

  it('the orphan watchers that hold no claim share one subscription to the group file (the claim hub), however many servers', () => {
    const whole = new Map<string, number>();
    const subscribe = SimStore.prototype.subscribe;
    SimStore.prototype.subscribe = function (this: SimStore, key, onChange, part) {
      if (part === undefined) whole.set(key, (whole.get(key) ?? 0) + 1);
      return subscribe.call(this, key, onChange, part);
    };
    let r: ReturnType<typeof runScale>;
    try {
      r = runScale({ policy: 'p2p', n: 80, days: 30, faultsPerHostYear: 15, seed: 1, nudge: 'changed' }, () => 0);
    } finally {
      SimStore.prototype.subscribe = subscribe;
    }
    expect(r.faults).toBeGreaterThan(40);
    // One for the hub, and one per quiet stretch of a watcher while it holds a claim itself (42
    // with this seed); without the hub every watcher subscribed at each of its quiet stretches:
    // 80 at the start alone.
    const n = whole.get('p2p/membership') ?? 0;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(80);
  });

  it('runs a small ring and reports its events; the table and the plot show every case', () => {
    let t = 0;
    const r = runScale({ policy: 'p2p', n: 6, days: 0.01, faultsPerHostYear: 0, seed: 1 }, () => (t += 5));
    expect(r.events).toBeGreaterThan(0);
    expect(r.traceEvents).toBeGreaterThan(0);
    expect(r.events_per_host_day).toBeCloseTo(r.events / (6 * 0.01));
    expect(r.setupMs).toBe(5);
    const rows: ScaleRow[] = [
      { ...r, peakRssMB: 100 },
      { policy: 'failover', n: 100, days: 1, faultsPerHostYear: 0, setupMs: 20, runMs: 30, events: 200, events_per_host_day: 2, faults: 0, peakRssMB: 90 },
      { policy: 'p2p', n: 10_000, days: 365, faultsPerHostYear: 3, skipped: 'estimated 9,999 s' },
    ];
    const table = scaleTable(rows).split('\n');
    expect(table).toHaveLength(2 + rows.length);
    expect(table[4]).toContain('not run: estimated 9,999 s');
    const svg = scaleSvg(rows);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('goal: 60 s');
  });
});

describe('quiet-rounds.ts: the claim hub replay', () => {
  it('replayGrid equals advanceTo epoch by epoch (the next wake-up, the last one passed and the claims it used)', () => {
    // The reference: the watcher's grid as `skipClaimRounds` advanced it before, one epoch at a time.
    const naive = (times: number[], counts: number[], from: number, to: number, nw0: number, count0: number, stride: (n: number) => number) => {
      let nw = nw0;
      let count = count0;
      let cur: { w: number; count: number } | null = null;
      for (let i = from; i < to; i++) {
        const t = times[i];
        if (nw < t) {
          const s = stride(count);
          const k = Math.ceil((t - nw) / s);
          const w = nw + (k - 1) * s;
          nw += k * s;
          cur = { w, count };
        }
        count = counts[i];
      }
      return { nw, cur };
    };
    const epoch = fc.record({ gap: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 5_000 })), count: fc.integer({ min: 0, max: 3 }) });
    fc.assert(fc.property(fc.array(epoch, { maxLength: 40 }), fc.nat(), fc.nat(), fc.integer({ min: -50, max: 200 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 97 }), fc.integer({ min: 1, max: 13 }), (es, a, b, nw0, count0, R, P) => {
      const times: number[] = [];
      let t = 0;
      for (const e of es) times.push((t += e.gap));
      const counts = es.map((e) => e.count);
      const from = es.length === 0 ? 0 : a % (es.length + 1);
      const to = from + (es.length === 0 ? 0 : b % (es.length - from + 1));
      const stride = (n: number) => (n === 0 ? R : R + (n + 1) * P);
      const want = naive(times, counts, from, to, nw0, count0, stride);
      const got = replayGrid(times, counts, from, to, nw0, count0, stride);
      expect(got.nw).toBe(want.nw);
      if (want.cur === null) expect(got.jumpAt).toBe(-1);
      else {
        expect(got.jumpAt).toBeGreaterThanOrEqual(from);
        expect(got.lastW).toBe(want.cur.w);
        // The claims the round in progress used: those before the epoch that passed the wake-up.
        expect(got.jumpAt === from ? count0 : counts[got.jumpAt - 1]).toBe(want.cur.count);
      }
    }), fcParams(1000));
  });
});
