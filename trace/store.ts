// Store lines of the trace, and the store rebuilt from them.
//
// Every store operation that changes or tries to change a record is one line (subject: the key):
//   store.write     a compare-and-set that succeeded: { version, expect, by?, value | patch }.
//                   `expect` is the version the writer expected (0: the key was absent), `version`
//                   the record's new one. The new value is given whole (`value`) when the key was
//                   absent, when the old or new value is not a JSON object or array, or when the
//                   change is not smaller than the value; otherwise as `patch`, a JSON Patch
//                   (RFC 6902, fast-json-patch's diff) from the record's previous value.
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

const { compare, applyPatch } = jsonPatch;

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
 * the record's value before the write (undefined: absent), `next` its new value.
 */
export function storeChange(prev: unknown, next: unknown): { value: unknown } | { patch: Operation[] } {
  // Both as the trace holds them (a field set to undefined is no field), and copies: the line
  // must not change when the writer later changes the object it wrote.
  const now = asJson(next);
  if (prev === undefined || !isContainer(prev) || !isContainer(now) || Array.isArray(prev) !== Array.isArray(now)) return { value: now };
  const patch = compare(asJson(prev) as object, now);
  if (JSON.stringify(patch).length >= JSON.stringify(now).length) return { value: now };
  return { patch };
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
