// Store lines of the trace, and the store rebuilt from them.
//
// Every store operation that changes or tries to change a record is one line (subject: the key):
//   store.write     a compare-and-set that succeeded: { version, expect, by?, value | patch }.
//                   `expect` is the version the writer expected (0: the key was absent), `version`
//                   the record's new one. The new value is given whole (`value`) when the key was
//                   absent, when the old or new value is not a JSON object or array, or when the
//                   change is not smaller than the value; otherwise as `patch`, a JSON Patch
//                   (RFC 6902) from the record's previous value (`jsonDiff`: objects key by key,
//                   arrays by their common head and tail, so one name taken out of a list of N
//                   is one `remove`, not N shifted `replace`s).
//   store.delete    a delete that succeeded: { version, by? } (the version it removed).
//   store.conflict  a compare-and-set or delete that found another version: { op: 'cas' | 'del',
//                   expect, version, by? }, `version` the record's actual one (0: absent). A lost
//                   update shows as a write whose `expect` is older than the key's last version:
//                   it cannot happen, the store refuses it with this line.
//   store.unreachable  a store call from a host cut off from the store: { op, by } (subject: the
//                   key or list prefix).
// StoreReplica folds these lines into the records they describe: the value of every key at every
// point of the trace is reconstructible from the trace alone.
import jsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { TraceEvent } from './event.ts';
import { ChunkedList, commonEnds, listArray } from './chunked-list.ts';

const { applyPatch } = jsonPatch;

export type { Operation as StorePatchOp };

/** A store.write line's data. */
export interface StoreWriteData {
  version: number;
  expect: number;
  by?: string;
  value?: unknown;
  patch?: Operation[];
}

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';
/** A value as JSON would carry it (undefined fields dropped, ...): what a trace line holds. */
export const asJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/**
 * The change part of a store.write line: `{ value }` or `{ patch }` (see the header). `prev` is
 * the record's value before the write (undefined: absent), `next` its new value. The cost is the
 * size of the change plus a comparison of the unchanged parts (no copy, no JSON text of the
 * record), except when the whole value is traced.
 */
export function storeChange(prev: unknown, next: unknown): { value: unknown } | { patch: Operation[] } {
  // Both as the trace holds them (a field set to undefined is no field), and copies: the line
  // must not change when the writer later changes the object it wrote.
  if (prev === undefined || !isContainer(prev) || !isContainer(next) || isList(prev) !== isList(next)) return { value: asJson(next) };
  let patch: Operation[];
  let now: unknown = next;
  try {
    try {
      patch = jsonDiff(prev, next);
    } catch (e) {
      if (e !== NOT_PLAIN) throw e;
      // A value JSON changes (a Date, NaN, undefined in an array, ...): diff the JSON forms.
      now = asJson(next);
      patch = jsonDiff(asJson(prev), now);
    }
  } catch (e) {
    if (e !== NO_PATCH) throw e;
    return { value: asJson(next) };
  }
  const patchLen = JSON.stringify(patch).length;
  if (jsonLength(now, patchLen) <= patchLen) return { value: asJson(now) };
  return { patch };
}

/** Thrown (and caught by storeChange) for a value whose JSON form is not itself. */
const NOT_PLAIN = Symbol('not plain JSON');
/** Thrown (and caught by storeChange) for a change of a `__proto__` or `prototype` field, which JSON Patch readers refuse to apply. */
const NO_PATCH = Symbol('no patch');

/** An array, or a chunked list (JSON: the array of its elements). */
const isList = (v: unknown): boolean => Array.isArray(v) || v instanceof ChunkedList;

function kindOf(v: unknown): 'prim' | 'array' | 'object' | 'skip' {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return 'prim';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw NOT_PLAIN;
    return 'prim';
  }
  if (v === undefined) return 'skip';
  if (Array.isArray(v) || v instanceof ChunkedList) return 'array';
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto === Object.prototype || proto === null) return 'object';
  }
  throw NOT_PLAIN;
}

const pointer = (key: string): string => {
  if (key === '__proto__' || key === 'prototype') throw NO_PATCH;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
};

/** `o[k]` if `k` is `o`'s own field (not one of Object.prototype's: `valueOf`, ...). */
const own = (o: Record<string, unknown>, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

/** Are two plain JSON values equal as JSON (fields set to undefined are no fields)? */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || ka === 'prim' || ka === 'skip') return false;
  if (ka === 'array') {
    const x = listArray(a as unknown[]);
    const y = listArray(b as unknown[]);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      if (x[i] === undefined || y[i] === undefined) throw NOT_PLAIN;
      if (!jsonEqual(x[i], y[i])) return false;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    n++;
    if (own(y, k) === undefined || !jsonEqual(x[k], own(y, k))) return false;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

/**
 * A JSON Patch taking `a` to `b` (both plain JSON values, fields set to undefined read as absent):
 * objects key by key (removed keys, changed ones recursively, then added ones in `b`'s order);
 * arrays by their longest common head and tail, the rest element by element recursively where
 * both have one, then removals or additions at its end; anything else a `replace`. Values in the
 * patch are copies (asJson). Throws for a change under a `__proto__` or `prototype` key
 * (storeChange then traces the whole value).
 */
export function jsonDiff(a: unknown, b: unknown): Operation[] {
  const ops: Operation[] = [];
  diffInto(a, b, '', ops);
  return ops;
}

function diffInto(a: unknown, b: unknown, path: string, ops: Operation[]): void {
  if (a === b) return; // the same value, or the same object (records are replaced, not changed in place)
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || ka === 'prim') {
    ops.push({ op: 'replace', path, value: asJson(b) });
    return;
  }
  if (ka === 'array') {
    if (a instanceof ChunkedList && b instanceof ChunkedList) {
      diffLists(a, b, path, ops);
      return;
    }
    // A chunked list beside a plain array: compared as two arrays.
    const x = listArray(a as unknown[]);
    const y = listArray(b as unknown[]);
    // No `undefined` in either array (not plain JSON), checked on the way: an element of the
    // common head or tail equals the other array's (both undefined, or neither), the others are
    // checked one by one. Equal elements are mostly the same object (a record's rows shared with
    // the one it replaces), so the head and tail cost a comparison each.
    let head = 0;
    for (; head < x.length && head < y.length; head++) {
      const v = x[head];
      if (v === undefined) throw NOT_PLAIN;
      if (v !== y[head] && !jsonEqual(v, y[head])) break;
    }
    let tail = 0;
    for (; tail < x.length - head && tail < y.length - head; tail++) {
      const v = x[x.length - 1 - tail];
      if (v === undefined) throw NOT_PLAIN;
      if (v !== y[y.length - 1 - tail] && !jsonEqual(v, y[y.length - 1 - tail])) break;
    }
    const nx = x.length - head - tail;
    const ny = y.length - head - tail;
    for (let i = head; i < head + nx; i++) if (x[i] === undefined) throw NOT_PLAIN;
    for (let i = head; i < head + ny; i++) if (y[i] === undefined) throw NOT_PLAIN;
    const both = Math.min(nx, ny);
    for (let i = head; i < head + both; i++) diffInto(x[i], y[i], `${path}/${i}`, ops);
    for (let i = both; i < nx; i++) ops.push({ op: 'remove', path: `${path}/${head + both}` });
    for (let i = both; i < ny; i++) ops.push({ op: 'add', path: `${path}/${head + i}`, value: asJson(y[head + i]) });
    return;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) {
    if (x[k] === undefined) continue;
    const yk = own(y, k);
    if (yk === undefined) ops.push({ op: 'remove', path: `${path}/${pointer(k)}` });
    else diffInto(x[k], yk, `${path}/${pointer(k)}`, ops);
  }
  for (const k in y) if (y[k] !== undefined && own(x, k) === undefined) ops.push({ op: 'add', path: `${path}/${pointer(k)}`, value: asJson(y[k]) });
}

/**
 * `diffInto` for two chunked lists: the same operations as for the arrays of their elements
 * (their longest common head and tail, then the rest element by element), with the chunks the
 * two lists share passed over by reference (`commonEnds`). A chunked list holds no `undefined`,
 * so no element needs that check.
 */
function diffLists(x: ChunkedList<unknown>, y: ChunkedList<unknown>, path: string, ops: Operation[]): void {
  const { head, tail } = commonEnds(x, y, (u, v) => u === v || jsonEqual(u, v));
  const nx = x.length - head - tail;
  const ny = y.length - head - tail;
  const both = Math.min(nx, ny);
  for (let i = head; i < head + both; i++) diffInto(x.get(i), y.get(i), `${path}/${i}`, ops);
  for (let i = both; i < nx; i++) ops.push({ op: 'remove', path: `${path}/${head + both}` });
  for (let i = both; i < ny; i++) ops.push({ op: 'add', path: `${path}/${head + i}`, value: asJson(y.get(head + i)) });
}

/**
 * The length of `v`'s JSON text (a plain JSON value), or some number above `limit` as soon as it
 * exceeds it: the cost is bounded by the limit, not by the value.
 */
function jsonLength(v: unknown, limit: number): number {
  const k = kindOf(v);
  if (k === 'prim' || k === 'skip') return JSON.stringify(v ?? null).length;
  let n = 2;
  if (k === 'array') {
    if (v instanceof ChunkedList) {
      let i = 0;
      for (const e of v) {
        if (n > limit) break;
        n += (i++ > 0 ? 1 : 0) + jsonLength(e, limit - n);
      }
      return n;
    }
    const x = v as unknown[];
    for (let i = 0; i < x.length && n <= limit; i++) n += (i > 0 ? 1 : 0) + jsonLength(x[i], limit - n);
    return n;
  }
  const x = v as Record<string, unknown>;
  let first = true;
  for (const key in x) {
    if (n > limit) break;
    if (x[key] === undefined) continue;
    n += (first ? 0 : 1) + JSON.stringify(key).length + 1 + jsonLength(x[key], limit - n);
    first = false;
  }
  return n;
}

/** The data of a store.write line for a write of `next` over `prev` (see storeChange). */
export function storeWriteData(o: { version: number; expect: number; by?: string; prev: unknown; next: unknown }): StoreWriteData {
  return { version: o.version, expect: o.expect, ...(o.by === undefined ? {} : { by: o.by }), ...storeChange(o.prev, o.next) };
}

export const isStoreLine = (e: TraceEvent): boolean => e.kind.startsWith('store.');

/** The store's records as a trace describes them, line by line. */
export class StoreReplica {
  private readonly records = new Map<string, { value: unknown; version: number }>();

  /**
   * `strict`: throw on a line that cannot follow what came before (a patch for an absent key, an
   * `expect` that is not the key's version): a trace that does not hold its records. Otherwise
   * (a part of a trace, lines merged from several agents) such a write leaves the key absent.
   */
  constructor(private readonly strict = true) {}

  /**
   * Folds one trace line in (lines of other kinds are ignored). Returns the key's new value for a
   * store.write, undefined otherwise.
   */
  apply(e: TraceEvent): unknown {
    if (e.kind === 'store.write') {
      const d = (e.data ?? {}) as unknown as StoreWriteData;
      const cur = this.records.get(e.subject);
      const broken = (why: string) => {
        if (this.strict) throw new Error(`store.write ${e.subject} at t=${e.t}: ${why}`);
        this.records.delete(e.subject);
        return undefined;
      };
      if (typeof d.expect === 'number' && d.expect !== (cur?.version ?? 0)) return broken(`expected version ${d.expect}, the trace has ${cur?.version ?? 0}`);
      let value: unknown;
      if (d.patch !== undefined) {
        if (!cur) return broken('a patch for an absent key');
        value = applyPatch(structuredClone(cur.value), d.patch, true, true).newDocument;
      } else value = structuredClone(d.value);
      this.records.set(e.subject, { value, version: d.version });
      return value;
    }
    if (e.kind === 'store.delete') this.records.delete(e.subject);
    return undefined;
  }

  /** The key's value now (undefined: absent). Do not change it: it is the replica's own. */
  value(key: string): unknown {
    return this.records.get(key)?.value;
  }

  version(key: string): number {
    return this.records.get(key)?.version ?? 0;
  }

  keys(): string[] {
    return [...this.records.keys()].sort();
  }
}

/** The records a whole trace leaves behind, key by key. */
export function storeAtEnd(events: Iterable<TraceEvent>): Map<string, unknown> {
  const r = new StoreReplica();
  for (const e of events) r.apply(e);
  return new Map(r.keys().map((k) => [k, r.value(k)]));
}
