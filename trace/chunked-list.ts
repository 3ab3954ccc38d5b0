// A list that shares its unchanged parts with the list it was made from (a persistent vector of
// chunks): the P2P group file (N names) and operation file (2 N rows) are rewritten at every
// separation and return, one server out or back; as plain arrays each write allocated a new array
// of N (80 KB) and one of 2 N (160 KB) references, and the garbage they became was a third of the
// CPU of 10,000 servers x 1 year. A `ChunkedList` is a spine of chunks (arrays of up to
// 2 x CHUNK elements, CHUNK = 64); an edit makes a new spine (N / CHUNK references and chunk
// ends) and new chunks for the ones it touches only: every other chunk is the very same object in
// both lists, so a reader looking for what changed (the trace's diff of a store write, the P2P
// readers of the group and operation files) skips equal chunks by reference (`commonEnds`).
//
// A value once made never changes (the instance is frozen; its arrays are private, handed out
// read-only, and never written after construction: V8 takes slow paths for `slice` and spread of
// frozen arrays, so they are not frozen). JSON gives it as the plain array of its elements
// (`toJSON`), so a record holding one is written to a trace or a live store exactly as the array
// would be. No element is `undefined` (JSON could not carry it as itself).
//
// Not immutable's `List`: it is persistent for get/set/push/pop, but an insert or removal in the
// middle (a return, a separation) is a splice that rebuilds the list after the index, and its
// trie nodes are private, so a diff could not pass the shared ones by reference.

/** The chunk size of a list made by `from` unless told (chunks hold up to twice as many). */
export const CHUNK = 64;

export class ChunkedList<T> implements Iterable<T> {
  readonly length: number;
  /** The chunks' size (CHUNK unless told to `from`; lists made from this one keep it). */
  readonly chunkSize: number;
  /** The chunks, in order (none empty). */
  private readonly parts: readonly T[][];
  /** ends[k]: the index after chunk k's last element. */
  private readonly ends: readonly number[];

  private constructor(parts: T[][], ends: number[], chunkSize: number) {
    this.chunkSize = chunkSize;
    this.parts = parts;
    this.ends = ends;
    this.length = ends.length === 0 ? 0 : ends[ends.length - 1];
    Object.freeze(this);
  }

  /** A list of `items`, in order (chunks of `chunk` elements: CHUNK unless told; tests use small ones). */
  static from<T>(items: Iterable<T>, chunk = CHUNK): ChunkedList<T> {
    if (!(Number.isInteger(chunk) && chunk >= 1)) throw new RangeError(`ChunkedList: chunk size ${chunk}`);
    const all = Array.isArray(items) ? (items as readonly T[]) : [...items];
    checkDefined(all, 0, all.length);
    const parts: T[][] = [];
    const ends: number[] = [];
    for (let i = 0; i < all.length; i += chunk) {
      const part: T[] = [];
      for (let j = i; j < all.length && j < i + chunk; j++) part.push(all[j]);
      parts.push(part);
      ends.push(i + part.length);
    }
    return new ChunkedList(parts, ends, chunk);
  }

  /** The element at `i` (undefined outside 0..length-1). */
  get(i: number): T | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    const k = this.chunkOf(i);
    return this.parts[k][k === 0 ? i : i - this.ends[k - 1]];
  }

  /** How many chunks; chunk k (read-only: never change it) and the index of its first element. */
  get chunkCount(): number {
    return this.parts.length;
  }
  chunk(k: number): readonly T[] {
    return this.parts[k];
  }
  chunkStart(k: number): number {
    return k === 0 ? 0 : this.ends[k - 1];
  }

  /** The chunk holding index i (0 <= i < length): the first whose end is above i. */
  private chunkOf(i: number): number {
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid] <= i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const part of this.parts) for (let j = 0; j < part.length; j++) yield part[j];
  }

  /** The elements as a new plain array. */
  toArray(): T[] {
    const out = new Array<T>(this.length);
    let i = 0;
    for (const part of this.parts) for (let j = 0; j < part.length; j++) out[i++] = part[j];
    return out;
  }

  /** JSON carries the list as the array of its elements. */
  toJSON(): T[] {
    return this.toArray();
  }

  /** The first index of `x` (===) at or after `from`, else -1. */
  indexOf(x: T, from = 0): number {
    for (let k = from <= 0 ? 0 : this.chunkOf(Math.min(from, this.length - 1)); k < this.parts.length; k++) {
      const part = this.parts[k];
      const s = this.chunkStart(k);
      for (let j = Math.max(0, from - s); j < part.length; j++) if (part[j] === x) return s + j;
    }
    return -1;
  }

  /**
   * The first index i for which `before(this.get(i))` is false, where `before` is true for a prefix
   * of the list and false after it (a binary search over the chunks' last elements, then within one
   * chunk); `length` when it is true for all.
   */
  lowerBound(before: (x: T) => boolean): number {
    const parts = this.parts;
    let lo = 0;
    let hi = parts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const part = parts[mid];
      if (before(part[part.length - 1])) lo = mid + 1;
      else hi = mid;
    }
    if (lo === parts.length) return this.length;
    const part = parts[lo];
    let a = 0;
    let b = part.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (before(part[mid])) a = mid + 1;
      else b = mid;
    }
    return this.chunkStart(lo) + a;
  }

  /**
   * A new list: this one with `deleteCount` elements from `start` replaced by `items` (as
   * `Array.prototype.splice` would leave the array). The chunks before and after the edit are
   * shared with this list; the edited ones are made again (split when above 2 x CHUNK elements,
   * merged with a neighbour when below CHUNK / 2).
   */
  splice(start: number, deleteCount: number, items: readonly T[] = []): ChunkedList<T> {
    const n = this.length;
    if (!(Number.isInteger(start) && Number.isInteger(deleteCount) && start >= 0 && deleteCount >= 0 && start + deleteCount <= n)) {
      throw new RangeError(`ChunkedList.splice(${start}, ${deleteCount}) of a list of ${n}`);
    }
    checkDefined(items, 0, items.length);
    if (deleteCount === 0 && items.length === 0) return this;
    const chunk = this.chunkSize;
    if (n === 0) return ChunkedList.from(items, chunk);
    const parts = this.parts;
    // The chunks the edit touches: from the one holding `start` (the last one for an append) to
    // the one holding the last element deleted.
    let ka = start === n ? parts.length - 1 : this.chunkOf(start);
    let kb = deleteCount === 0 ? ka : this.chunkOf(start + deleteCount - 1);
    let size = this.ends[kb] - this.chunkStart(ka) - deleteCount + items.length;
    // A small result takes in a neighbour (the next, else the previous) so chunks stay large.
    if (size < chunk / 2 && parts.length > kb - ka + 1) {
      if (kb + 1 < parts.length) kb++;
      else ka--;
      size = this.ends[kb] - this.chunkStart(ka) - deleteCount + items.length;
    }
    const sa = this.chunkStart(ka);
    const merged: T[] = new Array<T>(size);
    let w = 0;
    for (let k = ka, i = sa; k <= kb; k++) {
      const part = parts[k];
      for (let j = 0; j < part.length; j++, i++) {
        if (i === start) for (const x of items) merged[w++] = x;
        if (i < start || i >= start + deleteCount) merged[w++] = part[j];
      }
    }
    if (start === this.ends[kb]) for (const x of items) merged[w++] = x;
    // The new spine: the chunks before ka, the edited ones, the chunks after kb.
    const pieces = Math.ceil(size / (2 * chunk)) === 1 ? 1 : Math.ceil(size / chunk);
    const outParts = parts.slice(0, ka);
    const outEnds = this.ends.slice(0, ka);
    let end = sa;
    if (size > 0) {
      for (let p = 0; p < pieces; p++) {
        const from = Math.floor((p * size) / pieces);
        const to = Math.floor(((p + 1) * size) / pieces);
        const part = new Array<T>(to - from);
        for (let j = from; j < to; j++) part[j - from] = merged[j];
        outParts.push(part);
        end += to - from;
        outEnds.push(end);
      }
    }
    const shift = end - this.ends[kb];
    for (let k = kb + 1; k < parts.length; k++) {
      outParts.push(parts[k]);
      outEnds.push(this.ends[k] + shift);
    }
    return new ChunkedList(outParts, outEnds, chunk);
  }
}

function checkDefined(items: readonly unknown[], from: number, to: number): void {
  for (let i = from; i < to; i++) if (items[i] === undefined) throw new TypeError(`ChunkedList: element ${i} is undefined`);
}

/** A plain array or a chunked list, read alike (`listAt`, `asList`, `listArray`). */
export type ListOf<T> = readonly T[] | ChunkedList<T>;

/** Element i of either kind of list. */
export function listAt<T>(l: ListOf<T>, i: number): T | undefined {
  return l instanceof ChunkedList ? l.get(i) : l[i];
}

/** Either kind of list as a chunked list (a plain array, as JSON gives a record back, made into one). */
export function asList<T>(l: ListOf<T>): ChunkedList<T> {
  return l instanceof ChunkedList ? l : ChunkedList.from(l);
}

/** Either kind of list as a plain array (the array itself when it is one). */
export function listArray<T>(l: ListOf<T>): readonly T[] {
  return l instanceof ChunkedList ? l.toArray() : l;
}

/**
 * The longest common head and tail of two chunked lists under `same` (head first; the tail is
 * counted in what the head leaves of the shorter one): chunks that are the same object at the
 * same place are passed over without comparing their elements, so two lists made one from the
 * other by an edit cost the spine and the edited chunks.
 */
export function commonEnds<T>(a: ChunkedList<T>, b: ChunkedList<T>, same: (x: T, y: T) => boolean): { head: number; tail: number } {
  if (a === b) return { head: a.length, tail: 0 };
  const na = a.chunkCount;
  const nb = b.chunkCount;
  // The head: two cursors (chunk, offset) walking forward together.
  let head = 0;
  let ka = 0;
  let kb = 0;
  let oa = 0;
  let ob = 0;
  while (ka < na && kb < nb) {
    const ca = a.chunk(ka);
    const cb = b.chunk(kb);
    if (oa === 0 && ob === 0 && ca === cb) {
      head += ca.length;
      ka++;
      kb++;
      continue;
    }
    if (!same(ca[oa], cb[ob])) break;
    head++;
    if (++oa === ca.length) {
      ka++;
      oa = 0;
    }
    if (++ob === cb.length) {
      kb++;
      ob = 0;
    }
  }
  // The tail, backward, within what the head left.
  const room = Math.min(a.length, b.length) - head;
  let tail = 0;
  ka = na - 1;
  kb = nb - 1;
  oa = ka >= 0 ? a.chunk(ka).length - 1 : -1;
  ob = kb >= 0 ? b.chunk(kb).length - 1 : -1;
  while (tail < room) {
    const ca = a.chunk(ka);
    const cb = b.chunk(kb);
    if (oa === ca.length - 1 && ob === cb.length - 1 && ca === cb && tail + ca.length <= room) {
      tail += ca.length;
      ka--;
      kb--;
      if (ka < 0 || kb < 0) break;
      oa = a.chunk(ka).length - 1;
      ob = b.chunk(kb).length - 1;
      continue;
    }
    if (!same(ca[oa], cb[ob])) break;
    tail++;
    if (--oa < 0) {
      if (--ka < 0) break;
      oa = a.chunk(ka).length - 1;
    }
    if (--ob < 0) {
      if (--kb < 0) break;
      ob = b.chunk(kb).length - 1;
    }
  }
  return { head, tail };
}
