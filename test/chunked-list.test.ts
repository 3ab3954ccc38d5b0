// The chunked list (trace/chunked-list.ts) against plain arrays: random edits with small chunks
// (so spines of many chunks, splits and merges), every reader, the shared chunks, `commonEnds`,
// and the trace's diff of records holding chunked lists (the same lines as for the arrays).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fcParams } from './helpers/fc-params.ts';
import { ChunkedList, commonEnds } from '../trace/chunked-list.ts';
import { asJson, storeChange } from '../trace/store.ts';
import jsonPatch from 'fast-json-patch';

const item = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.record({ k: fc.constantFrom(1, 2) }));
const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 6 }), ins: fc.array(item, { maxLength: 7 }) });
// Two values only: repeated values around an edit, where a common head and tail meet.
const few = fc.constantFrom('a', 'b');
const fewEdit = fc.record({ at: fc.nat(), del: fc.nat({ max: 6 }), ins: fc.array(few, { maxLength: 7 }) });

/** Applies `e` to both (fitted to the length), returning the new list and array. */
function apply<T>(l: ChunkedList<T>, a: T[], e: { at: number; del: number; ins: T[] }): [ChunkedList<T>, T[]] {
  const at = e.at % (a.length + 1);
  const del = Math.min(e.del, a.length - at);
  const b = a.slice();
  b.splice(at, del, ...e.ins);
  return [l.splice(at, del, e.ins), b];
}

/**
 * A list of up to 30 elements (`start`, chunks of 1-4) and the list made from it by up to
 * `maxEdits` random splices (`l`; `a`: the same splices on an array).
 */
const editedPair = (maxEdits: number) =>
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.array(fc.oneof(item, few), { maxLength: 30 }), fc.array(fc.oneof(edit, fewEdit), { maxLength: maxEdits })).map(([chunk, start, edits]) => {
    const l0 = ChunkedList.from(start, chunk);
    let l = l0;
    let a = start.slice();
    for (const e of edits) [l, a] = apply(l, a, e);
    return { chunk, start, l0, l, a };
  });

/** The chunks of `l`, each with its start, checked against the list's invariants. */
function chunksOf<T>(l: ChunkedList<T>): Array<readonly T[]> {
  const out: Array<readonly T[]> = [];
  let at = 0;
  for (let k = 0; k < l.chunkCount; k++) {
    const c = l.chunk(k);
    expect(l.chunkStart(k)).toBe(at);
    expect(c.length).toBeGreaterThan(0);
    expect(c.length).toBeLessThanOrEqual(2 * l.chunkSize);
    at += c.length;
    out.push(c);
  }
  expect(at).toBe(l.length);
  return out;
}

function expectSame<T>(l: ChunkedList<T>, a: readonly T[]): void {
  expect(l.length).toBe(a.length);
  expect(l.toArray()).toEqual(a);
  expect([...l]).toEqual(a);
  expect(JSON.stringify(l)).toBe(JSON.stringify(a));
  for (let i = -1; i <= a.length; i++) expect(l.get(i)).toBe(a[i]);
  for (const x of new Set(a)) {
    expect(l.indexOf(x)).toBe(a.indexOf(x));
    const i = a.indexOf(x);
    expect(l.indexOf(x, i + 1)).toBe(a.indexOf(x, i + 1));
  }
  chunksOf(l);
}

describe('ChunkedList against a plain array', () => {
  it('random splices (chunk sizes 1-5): every reader answers as the array, the old list is unchanged, unchanged chunks are shared', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(item, { maxLength: 40 }), fc.array(edit, { maxLength: 12 }), (chunk, start, edits) => {
      let l = ChunkedList.from(start, chunk);
      let a = start.slice();
      expectSame(l, a);
      for (const e of edits) {
        const before = l;
        const beforeArray = a.slice();
        const beforeChunks = new Set(chunksOf(before));
        [l, a] = apply(l, a, e);
        expectSame(l, a);
        expectSame(before, beforeArray); // persistent: the old list reads as before
        expect(l.chunkSize).toBe(chunk);
        // New chunks: only those the edit touched (its elements, and at most a neighbour on each side).
        const fresh = chunksOf(l).filter((c) => !beforeChunks.has(c)).reduce((n, c) => n + c.length, 0);
        expect(fresh).toBeLessThanOrEqual(Math.min(e.del, beforeArray.length) + e.ins.length + 4 * 2 * chunk);
        expect(Object.isFrozen(l)).toBe(true);
      }
    }), fcParams(400));
  });

  it('lowerBound over a sorted list equals the first index not before the value', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }), fc.integer({ min: -1, max: 51 }), (chunk, xs, v) => {
      const sorted = xs.slice().sort((p, q) => p - q);
      const l = ChunkedList.from(sorted, chunk);
      const want = sorted.findIndex((x) => !(x < v));
      expect(l.lowerBound((x) => x < v)).toBe(want < 0 ? sorted.length : want);
    }), fcParams(400));
  });

  it('commonEnds equals the longest common head, then tail, of the two arrays (lists made from each other and unrelated)', () => {
    fc.assert(fc.property(editedPair(4), fc.boolean(), ({ chunk, start, l0, l, a }, fresh) => {
      // `fresh`: the second list built anew from its elements (no chunk shared).
      const other = fresh ? ChunkedList.from(a, chunk) : l;
      const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
      let head = 0;
      while (head < start.length && head < a.length && same(start[head], a[head])) head++;
      let tail = 0;
      while (tail < start.length - head && tail < a.length - head && same(start[start.length - 1 - tail], a[a.length - 1 - tail])) tail++;
      expect(commonEnds(l0, other, same)).toEqual({ head, tail });
      expect(commonEnds(other, l0, same)).toEqual({ head, tail });
    }), fcParams(1000));
  });

  it('commonEnds: a shared chunk at the end is not counted in the tail beyond what the head left', () => {
    // Chunks [x,x] [a,a] [a,b]; one `a` out of the middle chunk: the head runs into the last
    // chunk (x x a a), which both lists share; the tail may take one element of it only.
    const l0 = ChunkedList.from(['x', 'x', 'a', 'a', 'a', 'b'], 2);
    const l = l0.splice(2, 1);
    expect(l.chunk(l.chunkCount - 1)).toBe(l0.chunk(l0.chunkCount - 1));
    expect(commonEnds(l0, l, (p, q) => p === q)).toEqual({ head: 4, tail: 1 });
    expect(storeChange(l0, l)).toEqual(storeChange(l0.toArray(), l.toArray()));
  });

  it('a store write of records holding chunked lists traces what the plain arrays would, and the patch rebuilds the new value', () => {
    fc.assert(fc.property(editedPair(3), fc.boolean(), ({ start, l0, l, a }, mixed) => {
      const prev = { group: mixed ? start : l0, n: 1 };
      const next = { group: l, n: 1 };
      const plain = storeChange({ group: start, n: 1 }, { group: a, n: 1 });
      const got = storeChange(prev, next);
      expect(JSON.stringify(got)).toBe(JSON.stringify(plain));
      // A file that is itself a list (the operation file).
      expect(JSON.stringify(storeChange(l0, l))).toBe(JSON.stringify(storeChange(start, a)));
      if ('patch' in got) expect(jsonPatch.applyPatch(asJson(prev), got.patch, true, false).newDocument).toEqual(asJson(next));
      else expect(got.value).toEqual(asJson(next));
    }), fcParams(400));
  });

  it('refuses undefined elements and splices outside the list', () => {
    expect(() => ChunkedList.from(['a', undefined])).toThrow(/undefined/);
    const l = ChunkedList.from(['a', 'b', 'c'], 2);
    expect(() => l.splice(1, 0, [undefined as unknown as string])).toThrow(/undefined/);
    expect(() => l.splice(2, 2)).toThrow(RangeError);
    expect(() => l.splice(-1, 0)).toThrow(RangeError);
    expect(l.splice(1, 0)).toBe(l);
  });
});
