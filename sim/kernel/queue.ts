// Event queue of the DES kernel: a two-level timing wheel of FIFO buckets plus a side heap.
//
// Ordering key: (key, tie) where key = 2 * timeUs + lane. Lane 0 holds ordinary events, lane 1
// "late" events that run after every ordinary event of the same instant (probe instants of the
// `watch` effect use it, so a probe at t sees every change made at t). Within one key, ties go
// by `tie`: the global schedule sequence for ordinary events, a caller-chosen stable number
// (the process id) for late events. Both halves are integers held exactly in float64 up to
// 2^53: times up to 2^52 us (~142 years) are exact. Events with equal (key, tie) pop in an
// order that depends only on the sequence of operations (deterministic), not necessarily FIFO.
//
// Structure (chosen for the hold model at N = 1e5 and similar dense workloads, where about 100
// events share each microsecond and a comparison heap is memory-bound):
// - L0, the near wheel: W0 buckets of one key each, covering the aligned block [b0, b0 + W0).
//   A bucket is a FIFO list of slots kept in tie order: an event is appended only if its tie is
//   >= the bucket's last tie (always true for ordinary events, whose tie is the schedule
//   sequence). The first non-empty bucket at or after the cursor holds the wheel's minimum.
// - L1, the far wheel: W1 buckets of one L0 block each (blocks B0+1 .. B0+W1, circular). A
//   bucket is an unordered FIFO list; when L0 runs empty the next non-empty L1 bucket is
//   distributed into L0 ("cascade"), in the order its events were pushed.
// - The side heap: a 4-ary heap with (key, tie) stored in heap order, holding everything else:
//   keys beyond the L1 horizon (W0 * W1 keys ahead), keys before b0, non-integer keys, and
//   events whose tie is smaller than the last tie of their L0 bucket (late events pushed out of
//   tie order). Popping takes the smaller of the L0 minimum and the heap top, so correctness
//   never depends on which structure holds an event; the split only decides the speed.
// Push, pop and cancel are O(1) in the wheels (plus a bitmap scan for the next bucket) and
// O(log n) in the side heap.
//
// Storage: each pending event lives in a slot (key, tie, argument, handler, and an int32 record
// of list links, location and generation). Slots are recycled through a free list, so
// steady-state scheduling allocates nothing. A token carries the slot's generation so a stale
// token never cancels a later event in the same slot.
//
// Speed notes (hold model, N = 1e5: ~4.4 MB of slot data, mostly L3): a pop costs about three
// cache misses (the slot's int32 record, its handler, its argument) and a push one (the link of
// the bucket's previous tail); keyOf() of the slot just popped is answered from the bucket
// index, not from keys[]. Packing all slot fields into one interleaved record measured slower
// than these separate arrays.

export type EventHandler = (arg: number) => void;

/** Opaque handle of a scheduled event: slot + generation * SLOT_LIMIT. */
export type EventToken = number;

const SLOT_LIMIT = 1 << 24; // at most 16.7 M pending events
const GEN_MASK = (1 << 29) - 1; // generation wraps so tokens stay below 2^53 (exact)

// loc[slot]: >= 0 position in the side heap, or one of these.
const FREE = -1;
const IN_L0 = -2;
const IN_L1 = -3;
const NIL = -1;

const W0_LOG = 15;
const W0 = 1 << W0_LOG; // keys per L0 block (16.4 ms of simulated time)
const INV_W0 = 1 / W0;
const W1_LOG = 12;
const W1 = 1 << W1_LOG; // L0 blocks covered by L1 (W0 * W1 keys, ~67 s)
const M1 = W1 - 1;

/** Wheel sizes in keys, for tests that aim at each part of the queue. */
export const QUEUE_GEOMETRY = { l0Keys: W0, l1Keys: W0 * W1 } as const;

// Results of locate().
const SRC_L0 = 0;
const SRC_HEAP = 1;
const SRC_NONE = 2;

function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** First set bit at index >= from in a two-level bitmap (bm, summary), or -1. */
function nextSet(bm: Int32Array, sum: Int32Array, from: number): number {
  let w = from >>> 5;
  if (w >= bm.length) return -1;
  const bits = bm[w] & (-1 << (from & 31));
  if (bits !== 0) return (w << 5) + ctz(bits);
  w++;
  let sw = w >>> 5;
  if (sw >= sum.length) return -1;
  let sb = sum[sw] & (-1 << (w & 31));
  while (sb === 0) {
    if (++sw >= sum.length) return -1;
    sb = sum[sw];
  }
  w = (sw << 5) + ctz(sb);
  return (w << 5) + ctz(bm[w]);
}

export class EventQueue {
  private cap: number;
  private size = 0;

  // slots
  private keys: Float64Array;
  private ties: Float64Array;
  private args: Float64Array;
  private handlers: (EventHandler | null)[];
  private lnk: Int32Array; // 4 per slot: next, prev, loc, gen
  private free: Int32Array;
  private freeTop = 0;
  private nextFresh = 0;
  private lastSlot = -1; // slot and key of the last pop (keyOf without touching keys[])
  private lastKey = 0;

  // L0: buckets of one key, block [b0, b0 + W0)
  private b0 = 0;
  private cur0 = 0; // every L0 bucket before cur0 is empty
  private n0 = 0;
  private readonly head0 = new Int32Array(W0).fill(NIL);
  private readonly tail0 = new Int32Array(W0);
  private readonly tailTie0 = new Float64Array(W0);
  private readonly bm0 = new Int32Array(W0 >>> 5);
  private readonly sum0 = new Int32Array(Math.max(1, W0 >>> 10));

  // L1: buckets of one L0 block; bucket (B0idx + j) & M1 holds block B0 + j, j = 1..W1
  private b0idx = 0;
  private n1 = 0;
  private readonly head1 = new Int32Array(W1).fill(NIL);
  private readonly tail1 = new Int32Array(W1);
  private readonly bm1 = new Int32Array(W1 >>> 5);
  private readonly sum1 = new Int32Array(Math.max(1, W1 >>> 10));

  // side heap, 4-ary, (key, tie, slot) by heap position
  private hn = 0;
  private hk: Float64Array;
  private ht: Float64Array;
  private hs: Int32Array;

  constructor(initialCapacity = 1024) {
    this.cap = Math.min(SLOT_LIMIT, Math.max(16, initialCapacity));
    const cap = this.cap;
    this.keys = new Float64Array(cap);
    this.ties = new Float64Array(cap);
    this.args = new Float64Array(cap);
    this.handlers = new Array<EventHandler | null>(cap).fill(null);
    this.lnk = new Int32Array(4 * cap);
    for (let i = 0; i < cap; i++) this.lnk[4 * i + 2] = FREE;
    this.free = new Int32Array(cap);
    this.hk = new Float64Array(cap);
    this.ht = new Float64Array(cap);
    this.hs = new Int32Array(cap);
  }

  get length(): number {
    return this.size;
  }

  /** Key of the earliest pending event, or Infinity. */
  peekKey(): number {
    const src = this.locate();
    if (src === SRC_L0) return this.b0 + this.cur0;
    if (src === SRC_HEAP) return this.hk[0];
    return Infinity;
  }

  push(key: number, tie: number, handler: EventHandler, arg: number): EventToken {
    let slot: number;
    if (this.freeTop > 0) slot = this.free[--this.freeTop];
    else {
      if (this.nextFresh === this.cap) this.grow();
      slot = this.nextFresh++;
    }
    this.keys[slot] = key;
    this.ties[slot] = tie;
    this.args[slot] = arg;
    this.handlers[slot] = handler;
    this.size++;
    const d = key - this.b0;
    const i = d | 0;
    if (i === d && i >= 0) {
      if (i < W0) {
        if (!this.insert0(slot, i, tie)) this.heapPush(slot, key, tie);
      } else {
        const off = Math.floor(d * INV_W0);
        if (off <= W1) this.insert1(slot, (this.b0idx + off) & M1);
        else this.heapPush(slot, key, tie);
      }
    } else if (d >= W0 && d === Math.floor(d)) {
      // integer key beyond int32 range from b0
      const off = Math.floor(d * INV_W0);
      if (off <= W1) this.insert1(slot, (this.b0idx + off) & M1);
      else this.heapPush(slot, key, tie);
    } else this.heapPush(slot, key, tie);
    return slot + this.lnk[4 * slot + 3] * SLOT_LIMIT;
  }

  /** Removes the earliest event; returns its slot (valid until the next push). */
  popSlot(): number {
    const src = this.locate();
    let slot: number;
    if (src === SRC_L0) {
      const i = this.cur0;
      slot = this.head0[i];
      const nx = this.lnk[4 * slot];
      if (nx === NIL) {
        this.head0[i] = NIL;
        this.clearBit0(i);
      } else this.head0[i] = nx;
      this.n0--;
      this.lastKey = this.b0 + i;
    } else if (src === SRC_HEAP) {
      slot = this.hs[0];
      this.lastKey = this.hk[0];
      this.heapRemoveAt(0);
    } else throw new Error('EventQueue.popSlot on empty queue');
    this.lastSlot = slot;
    this.lnk[4 * slot + 2] = FREE;
    this.size--;
    return slot;
  }

  keyOf(slot: number): number {
    return slot === this.lastSlot ? this.lastKey : this.keys[slot];
  }
  handlerOf(slot: number): EventHandler {
    return this.handlers[slot] as EventHandler;
  }
  argOf(slot: number): number {
    return this.args[slot];
  }

  /** Releases a popped slot so it can be reused. Call after reading its fields. */
  release(slot: number): void {
    this.lastSlot = -1;
    this.handlers[slot] = null;
    this.lnk[4 * slot + 3] = (this.lnk[4 * slot + 3] + 1) & GEN_MASK;
    this.free[this.freeTop++] = slot;
  }

  cancel(token: EventToken): boolean {
    const slot = token % SLOT_LIMIT;
    const gen = (token - slot) / SLOT_LIMIT;
    if (!(slot >= 0 && slot < this.nextFresh) || this.lnk[4 * slot + 3] !== gen) return false;
    const where = this.lnk[4 * slot + 2];
    if (where === FREE) return false;
    if (where >= 0) this.heapRemoveAt(where);
    else if (where === IN_L0) this.unlink0(slot);
    else this.unlink1(slot);
    this.lnk[4 * slot + 2] = FREE;
    this.size--;
    this.release(slot);
    return true;
  }

  isPending(token: EventToken): boolean {
    const slot = token % SLOT_LIMIT;
    const gen = (token - slot) / SLOT_LIMIT;
    return slot >= 0 && slot < this.nextFresh && this.lnk[4 * slot + 3] === gen && this.lnk[4 * slot + 2] !== FREE;
  }

  // ------------------------------------------------------------------ finding the minimum

  /**
   * Where the earliest event is: SRC_L0 (head of L0 bucket cur0), SRC_HEAP (heap top) or
   * SRC_NONE. May cascade L1 into L0 or move the (empty) L0 window; never changes the order.
   */
  private locate(): number {
    if (this.n0 > 0) {
      let i = this.cur0;
      if (this.head0[i] === NIL) this.cur0 = i = nextSet(this.bm0, this.sum0, i);
      if (this.hn === 0) return SRC_L0;
      const k = this.b0 + i;
      const hk = this.hk[0];
      if (k < hk || (k === hk && this.ties[this.head0[i]] <= this.ht[0])) return SRC_L0;
      return SRC_HEAP;
    }
    return this.locateSlow();
  }

  /** L0 is empty. */
  private locateSlow(): number {
    if (this.n1 > 0) {
      let r = nextSet(this.bm1, this.sum1, (this.b0idx + 1) & M1);
      if (r < 0) r = nextSet(this.bm1, this.sum1, 0);
      const off = ((r - this.b0idx - 1) & M1) + 1; // block B0 + off, 1..W1
      const start = this.b0 + off * W0;
      if (this.hn > 0 && this.hk[0] < start) {
        // The heap top comes first; move the empty L0 window to its block so that the events
        // its handler schedules nearby land in L0.
        const kt = this.hk[0];
        if (kt >= this.b0 + W0) {
          const o = Math.floor((kt - this.b0) * INV_W0); // < off
          this.b0 += o * W0;
          this.b0idx = (this.b0idx + o) & M1;
          this.cur0 = 0;
        }
        return SRC_HEAP;
      }
      this.b0 = start;
      this.b0idx = r;
      this.cur0 = 0;
      this.cascade(r);
      return this.locate(); // n0 > 0 now: the first event of a bucket always enters L0
    }
    if (this.hn > 0) {
      // Both wheels are empty: rebase L0 on the block of the heap top.
      const kt = this.hk[0];
      if (Number.isFinite(kt) && (kt < this.b0 || kt >= this.b0 + W0)) {
        this.b0 = Math.floor(kt * INV_W0) * W0;
        this.cur0 = 0;
      }
      return SRC_HEAP;
    }
    return SRC_NONE;
  }

  /** Moves every event of L1 bucket j (the block now at b0) into L0, in push order. */
  private cascade(j: number): void {
    let s = this.head1[j];
    this.head1[j] = NIL;
    const w = j >>> 5;
    this.bm1[w] &= ~(1 << (j & 31));
    if (this.bm1[w] === 0) this.sum1[w >>> 5] &= ~(1 << (w & 31));
    const keys = this.keys;
    while (s !== NIL) {
      const nx = this.lnk[4 * s];
      this.n1--;
      const key = keys[s];
      const tie = this.ties[s];
      const d = key - this.b0;
      const i = d | 0;
      if (!(i === d && i >= 0 && i < W0 && this.insert0(s, i, tie))) this.heapPush(s, key, tie);
      s = nx;
    }
  }

  // ------------------------------------------------------------------ wheels

  /** Appends to L0 bucket i if that keeps the bucket in tie order. */
  private insert0(slot: number, i: number, tie: number): boolean {
    const h = this.head0[i];
    if (h === NIL) {
      this.head0[i] = slot;
      const w = i >>> 5;
      if (this.bm0[w] === 0) this.sum0[w >>> 5] |= 1 << (w & 31);
      this.bm0[w] |= 1 << (i & 31);
      if (i < this.cur0) this.cur0 = i;
    } else {
      if (tie < this.tailTie0[i]) return false;
      const t = this.tail0[i];
      this.lnk[4 * t] = slot;
      this.lnk[4 * slot + 1] = t;
    }
    this.lnk[4 * slot] = NIL;
    this.tail0[i] = slot;
    this.tailTie0[i] = tie;
    this.lnk[4 * slot + 2] = IN_L0;
    this.n0++;
    return true;
  }

  private clearBit0(i: number): void {
    const w = i >>> 5;
    const v = this.bm0[w] & ~(1 << (i & 31));
    this.bm0[w] = v;
    if (v === 0) this.sum0[w >>> 5] &= ~(1 << (w & 31));
  }

  private unlink0(slot: number): void {
    const i = (this.keys[slot] - this.b0) | 0;
    const nx = this.lnk[4 * slot];
    if (this.head0[i] === slot) {
      // (the head's prev link is stale by design)
      this.head0[i] = nx;
      if (nx === NIL) this.clearBit0(i);
    } else {
      const p = this.lnk[4 * slot + 1];
      this.lnk[4 * p] = nx;
      if (nx === NIL) {
        this.tail0[i] = p;
        this.tailTie0[i] = this.ties[p];
      } else this.lnk[4 * nx + 1] = p;
    }
    this.n0--;
  }

  private insert1(slot: number, j: number): void {
    if (this.head1[j] === NIL) {
      this.head1[j] = slot;
      const w = j >>> 5;
      if (this.bm1[w] === 0) this.sum1[w >>> 5] |= 1 << (w & 31);
      this.bm1[w] |= 1 << (j & 31);
    } else {
      const t = this.tail1[j];
      this.lnk[4 * t] = slot;
      this.lnk[4 * slot + 1] = t;
    }
    this.lnk[4 * slot] = NIL;
    this.tail1[j] = slot;
    this.lnk[4 * slot + 2] = IN_L1;
    this.n1++;
  }

  private unlink1(slot: number): void {
    const j = (this.b0idx + Math.floor((this.keys[slot] - this.b0) * INV_W0)) & M1;
    const nx = this.lnk[4 * slot];
    if (this.head1[j] === slot) {
      this.head1[j] = nx;
      if (nx === NIL) {
        const w = j >>> 5;
        this.bm1[w] &= ~(1 << (j & 31));
        if (this.bm1[w] === 0) this.sum1[w >>> 5] &= ~(1 << (w & 31));
      }
    } else {
      const p = this.lnk[4 * slot + 1];
      this.lnk[4 * p] = nx;
      if (nx === NIL) this.tail1[j] = p;
      else this.lnk[4 * nx + 1] = p;
    }
    this.n1--;
  }

  // ------------------------------------------------------------------ side heap

  private heapPush(slot: number, key: number, tie: number): void {
    this.siftUp(this.hn++, key, tie, slot);
  }

  private heapRemoveAt(i: number): void {
    const last = --this.hn;
    if (i === last) return;
    const k = this.hk[last];
    const t = this.ht[last];
    const s = this.hs[last];
    if (i > 0) {
      const p = (i - 1) >> 2;
      const pk = this.hk[p];
      if (k < pk || (k === pk && t < this.ht[p])) {
        this.siftUp(i, k, t, s);
        return;
      }
    }
    this.siftDown(i, k, t, s);
  }

  private siftUp(i: number, k: number, t: number, s: number): void {
    const hk = this.hk;
    const ht = this.ht;
    const hs = this.hs;
    const lnk = this.lnk;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pk = hk[p];
      if (pk < k || (pk === k && ht[p] <= t)) break;
      hk[i] = pk;
      ht[i] = ht[p];
      const ps = hs[p];
      hs[i] = ps;
      lnk[4 * ps + 2] = i;
      i = p;
    }
    hk[i] = k;
    ht[i] = t;
    hs[i] = s;
    lnk[4 * s + 2] = i;
  }

  private siftDown(i: number, k: number, t: number, s: number): void {
    const hk = this.hk;
    const ht = this.ht;
    const hs = this.hs;
    const lnk = this.lnk;
    const n = this.hn;
    for (;;) {
      const f = 4 * i + 1;
      if (f >= n) break;
      let c = f;
      let ck = hk[f];
      let ct = ht[f];
      const e = f + 4 < n ? f + 4 : n;
      for (let j = f + 1; j < e; j++) {
        const jk = hk[j];
        if (jk < ck || (jk === ck && ht[j] < ct)) {
          c = j;
          ck = jk;
          ct = ht[j];
        }
      }
      if (k < ck || (k === ck && t <= ct)) break;
      hk[i] = ck;
      ht[i] = ct;
      const cs = hs[c];
      hs[i] = cs;
      lnk[4 * cs + 2] = i;
      i = c;
    }
    hk[i] = k;
    ht[i] = t;
    hs[i] = s;
    lnk[4 * s + 2] = i;
  }

  // ------------------------------------------------------------------ growth

  private grow(): void {
    if (this.cap >= SLOT_LIMIT) throw new Error(`EventQueue: more than ${SLOT_LIMIT} pending events`);
    const cap = Math.min(this.cap * 2, SLOT_LIMIT);
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array, fill = 0): Int32Array => {
      const b = new Int32Array(cap);
      if (fill !== 0) b.fill(fill, a.length);
      b.set(a);
      return b;
    };
    this.keys = f64(this.keys);
    this.ties = f64(this.ties);
    this.args = f64(this.args);
    const lnk = new Int32Array(4 * cap);
    lnk.set(this.lnk);
    for (let i = this.cap; i < cap; i++) lnk[4 * i + 2] = FREE;
    this.lnk = lnk;
    this.free = i32(this.free);
    this.hk = f64(this.hk);
    this.ht = f64(this.ht);
    this.hs = i32(this.hs);
    for (let i = this.cap; i < cap; i++) this.handlers.push(null);
    this.cap = cap;
  }
}
