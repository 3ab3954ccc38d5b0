// Frozen copy of the pre-wheel sim/kernel/queue.ts (indexed binary heap), kept only as the
// `kernel0` bench contender so old and new queue can be compared in the same run.
// Event queue of the DES kernel: an indexed binary heap over typed arrays.
//
// Ordering key: (key, tie) where key = 2 * timeUs + lane. Lane 0 holds ordinary events, lane 1
// "late" events that run after every ordinary event of the same instant (probe instants of the
// `watch` effect use it, so a probe at t sees every change made at t). Within one key, ties go
// by `tie`: the global schedule sequence for ordinary events, a caller-chosen stable number
// (the process id) for late events. Both halves are integers held exactly in float64 up to
// 2^53: times up to 2^52 us (~142 years) are exact.
//
// Storage: each pending event lives in a slot (time, tie, heap position, generation, handler,
// argument). Slots are recycled through a free list, so steady-state scheduling allocates
// nothing. Cancel is O(log n) through the slot's heap position; a token carries the slot's
// generation so a stale token never cancels a later event in the same slot.

export type EventHandler = (arg: number) => void;

/** Opaque handle of a scheduled event: slot + generation * SLOT_LIMIT. */
export type EventToken = number;

const SLOT_LIMIT = 1 << 24; // at most 16.7 M pending events
const NO_POS = -1;

export class EventQueue {
  private cap: number;
  private keys: Float64Array;
  private ties: Float64Array;
  private gens: Float64Array;
  private pos: Int32Array;
  private args: Float64Array;
  private handlers: (EventHandler | null)[];
  private heap: Int32Array;
  private size = 0;
  private freeTop = 0;
  private free: Int32Array;
  private nextFresh = 0;

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(16, initialCapacity);
    this.keys = new Float64Array(this.cap);
    this.ties = new Float64Array(this.cap);
    this.gens = new Float64Array(this.cap);
    this.pos = new Int32Array(this.cap).fill(NO_POS);
    this.args = new Float64Array(this.cap);
    this.handlers = new Array(this.cap).fill(null);
    this.heap = new Int32Array(this.cap);
    this.free = new Int32Array(this.cap);
  }

  get length(): number {
    return this.size;
  }

  /** Key of the earliest pending event, or Infinity. */
  peekKey(): number {
    return this.size === 0 ? Infinity : this.keys[this.heap[0]];
  }

  push(key: number, tie: number, handler: EventHandler, arg: number): EventToken {
    const slot = this.allocSlot();
    this.keys[slot] = key;
    this.ties[slot] = tie;
    this.args[slot] = arg;
    this.handlers[slot] = handler;
    const i = this.size++;
    this.heap[i] = slot;
    this.pos[slot] = i;
    this.siftUp(i);
    return slot + this.gens[slot] * SLOT_LIMIT;
  }

  /** Removes the earliest event; returns its slot (valid until the next push). */
  popSlot(): number {
    if (this.size === 0) throw new Error('EventQueue.popSlot on empty queue');
    const slot = this.heap[0];
    this.removeAt(0);
    return slot;
  }

  keyOf(slot: number): number {
    return this.keys[slot];
  }
  handlerOf(slot: number): EventHandler {
    return this.handlers[slot] as EventHandler;
  }
  argOf(slot: number): number {
    return this.args[slot];
  }

  /** Releases a popped slot so it can be reused. Call after reading its fields. */
  release(slot: number): void {
    this.handlers[slot] = null;
    this.gens[slot] += 1;
    this.free[this.freeTop++] = slot;
  }

  cancel(token: EventToken): boolean {
    const slot = token % SLOT_LIMIT;
    const gen = (token - slot) / SLOT_LIMIT;
    if (slot >= this.nextFresh || this.gens[slot] !== gen) return false;
    const p = this.pos[slot];
    if (p === NO_POS) return false;
    this.removeAt(p);
    this.release(slot);
    return true;
  }

  isPending(token: EventToken): boolean {
    const slot = token % SLOT_LIMIT;
    const gen = (token - slot) / SLOT_LIMIT;
    return slot < this.nextFresh && this.gens[slot] === gen && this.pos[slot] !== NO_POS;
  }

  private allocSlot(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop];
    if (this.nextFresh === this.cap) this.grow();
    return this.nextFresh++;
  }

  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_LIMIT) throw new Error(`EventQueue: more than ${SLOT_LIMIT} pending events`);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array, fill = 0) => {
      const b = new Int32Array(cap).fill(fill);
      b.set(a);
      return b;
    };
    this.keys = f64(this.keys);
    this.ties = f64(this.ties);
    this.gens = f64(this.gens);
    this.args = f64(this.args);
    this.pos = i32(this.pos, NO_POS);
    this.heap = i32(this.heap);
    this.free = i32(this.free);
    for (let i = this.cap; i < cap; i++) this.handlers.push(null);
    this.cap = cap;
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a];
    const kb = this.keys[b];
    return ka < kb || (ka === kb && this.ties[a] < this.ties[b]);
  }

  private removeAt(i: number): void {
    const heap = this.heap;
    const slot = heap[i];
    this.pos[slot] = NO_POS;
    const last = --this.size;
    if (i === last) return;
    const moved = heap[last];
    heap[i] = moved;
    this.pos[moved] = i;
    if (i > 0 && this.less(moved, heap[(i - 1) >> 1])) this.siftUp(i);
    else this.siftDown(i);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const slot = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const ps = heap[parent];
      if (!this.less(slot, ps)) break;
      heap[i] = ps;
      this.pos[ps] = i;
      i = parent;
    }
    heap[i] = slot;
    this.pos[slot] = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = this.size;
    const slot = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r], heap[l]) ? r : l;
      const cs = heap[c];
      if (!this.less(cs, slot)) break;
      heap[i] = cs;
      this.pos[cs] = i;
      i = c;
    }
    heap[i] = slot;
    this.pos[slot] = i;
  }
}
