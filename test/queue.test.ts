// The kernel's event queue (sim/kernel/queue.ts) against a reference model: pops in (key, tie)
// order wherever an event is held (near wheel, far wheel, side heap), cancel by token with
// generation check, peekKey, length.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue, QUEUE_GEOMETRY, type EventHandler } from '../sim/kernel/queue.ts';

const L0 = QUEUE_GEOMETRY.l0Keys;
const L1 = QUEUE_GEOMETRY.l1Keys;

interface Ev {
  id: number;
  key: number;
  tie: number;
  token: number;
}

/** Reference: a plain list; the minimum is found by a scan. */
class Model {
  live = new Map<number, Ev>();
  min(): Ev | undefined {
    let m: Ev | undefined;
    for (const e of this.live.values()) if (!m || e.key < m.key || (e.key === m.key && e.tie < m.tie)) m = e;
    return m;
  }
}

const handlers: EventHandler[] = [(a) => void a, (a) => void -a, (a) => void (a + 1)];
const handlerFor = (id: number): EventHandler => handlers[id % handlers.length];

/** Pops one event from q, checks it against the model; returns the popped key. */
function popAndCheck(q: EventQueue, m: Model): number {
  const want = m.min();
  expect(want).toBeDefined();
  expect(q.peekKey()).toBe(want!.key);
  const slot = q.popSlot();
  const id = q.argOf(slot);
  const got = m.live.get(id);
  expect(got, `popped id ${id} is not pending`).toBeDefined();
  // events with equal (key, tie) may come in any (deterministic) order
  expect([got!.key, got!.tie]).toEqual([want!.key, want!.tie]);
  expect(q.keyOf(slot)).toBe(got!.key);
  expect(q.handlerOf(slot)).toBe(handlerFor(id));
  expect(q.isPending(got!.token)).toBe(false); // popped: no longer pending, cannot be cancelled
  expect(q.cancel(got!.token)).toBe(false);
  q.release(slot);
  m.live.delete(id);
  return got!.key;
}

type Where = 'same' | 'near' | 'l0' | 'block' | 'l1' | 'edge' | 'far' | 'past' | 'huge' | 'frac';
type Op =
  | { kind: 'push'; where: Where; off: number; late: boolean; randTie: boolean; tie: number }
  | { kind: 'cancel'; pick: number; recent: boolean }
  | { kind: 'stale'; pick: number }
  | { kind: 'pop'; count: number };

function keyFor(now: number, where: Where, off: number): number {
  const f = off / 0x7fffffff; // off in [0, 2^31): a fraction
  switch (where) {
    case 'same':
      return now + (off % 2);
    case 'near':
      return now + (off % 64);
    case 'l0':
      return now + Math.floor(f * 2 * L0);
    case 'block': // a few blocks ahead: several events per far-wheel bucket
      return now + L0 * (1 + (off % 40)) + (off % 7);
    case 'l1':
      return now + L0 + Math.floor(f * (L1 + L0));
    case 'edge': // around the far wheel's horizon
      return now + L1 + L0 * ((off % 600) - 300) + (off % 5);
    case 'far':
      return now + L1 + Math.floor(f * 3 * L1);
    case 'past':
      return now - 1 - (off % 100);
    case 'huge':
      return now + 2 ** 40 + (off % 1000);
    case 'frac':
      return now + (off % 64) + 0.5;
  }
}

function opsArb(wheres: Where[], maxLength: number): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('push' as const),
        where: fc.constantFrom(...wheres),
        off: fc.nat(),
        late: fc.boolean(),
        randTie: fc.boolean(),
        tie: fc.integer({ min: 0, max: 5 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(), recent: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), pick: fc.nat() }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('pop' as const), count: fc.integer({ min: 1, max: 4 }) }) },
  );
  return fc.array(op, { maxLength });
}

const PROFILES: Record<string, Where[]> = {
  mixed: ['same', 'same', 'near', 'near', 'l0', 'block', 'l1', 'edge', 'far', 'past', 'huge', 'frac'],
  dense: ['same', 'same', 'near'],
  wheels: ['near', 'l0', 'block', 'block', 'l1', 'edge'],
  sparse: ['block', 'l1', 'edge', 'edge', 'far', 'huge'],
  heap: ['far', 'past', 'frac', 'huge', 'same'],
};

/** Runs ops on a fresh queue and the model, checking every step; returns the popped ids. */
function runOps(ops: Op[]): number[] {
  const q = new EventQueue(16);
  const m = new Model();
  const dead: number[] = [];
  const popped: number[] = [];
  let now = 0;
  let seq = 0;
  let id = 0;
  for (const o of ops) {
    if (o.kind === 'push') {
      let key = keyFor(now, o.where, o.off);
      // keep key parity = lane for integer keys, like the kernel (2 * t + lane)
      if (Number.isInteger(key) && Math.abs(key % 2) !== (o.late ? 1 : 0)) key += 1;
      const tie = o.randTie ? o.tie : seq++;
      const token = q.push(key, tie, handlerFor(id), id);
      m.live.set(id, { id, key, tie, token });
      id++;
    } else if (o.kind === 'cancel') {
      // `recent`: one of the last pushed events, often the tail of its bucket
      const ids = [...m.live.keys()].slice(o.recent ? -3 : 0);
      if (ids.length === 0) continue;
      const e = m.live.get(ids[o.pick % ids.length])!;
      expect(q.isPending(e.token)).toBe(true);
      expect(q.cancel(e.token)).toBe(true);
      expect(q.cancel(e.token)).toBe(false);
      expect(q.isPending(e.token)).toBe(false);
      m.live.delete(e.id);
      dead.push(e.token);
    } else if (o.kind === 'stale') {
      if (dead.length === 0) continue;
      const t = dead[o.pick % dead.length];
      expect(q.cancel(t)).toBe(false);
      expect(q.isPending(t)).toBe(false);
    } else {
      for (let i = 0; i < o.count && m.live.size > 0; i++) {
        const want = m.min()!;
        now = popAndCheck(q, m);
        popped.push(want.id);
        dead.push(want.token);
      }
    }
    expect(q.length).toBe(m.live.size);
    for (const e of m.live.values()) expect(q.isPending(e.token)).toBe(true);
  }
  while (m.live.size > 0) {
    const want = m.min()!;
    popAndCheck(q, m);
    popped.push(want.id);
  }
  expect(q.length).toBe(0);
  expect(q.peekKey()).toBe(Infinity);
  expect(() => q.popSlot()).toThrow(/empty/);
  return popped;
}

describe('EventQueue', () => {
  for (const [name, wheres] of Object.entries(PROFILES)) {
    it(`pops in (key, tie) order under random push / cancel / pop sequences (${name} keys)`, () => {
      fc.assert(
        fc.property(opsArb(wheres, 400), (ops) => {
          runOps(ops);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('is deterministic for equal (key, tie) pairs', () => {
    fc.assert(
      fc.property(opsArb(PROFILES.mixed, 200), (ops) => {
        expect(runOps(ops)).toEqual(runOps(ops));
      }),
      { numRuns: 50 },
    );
  });

  it('a stale token never cancels a later event in the reused slot', () => {
    const q = new EventQueue(16);
    const h: EventHandler = () => undefined;
    const a = q.push(10, 0, h, 1);
    const s = q.popSlot();
    expect(q.cancel(a)).toBe(false); // popped, not yet released
    q.release(s);
    const b = q.push(12, 1, h, 2); // same slot, next generation
    expect(b).not.toBe(a);
    expect(q.cancel(a)).toBe(false);
    expect(q.isPending(a)).toBe(false);
    expect(q.isPending(b)).toBe(true);
    expect(q.argOf(q.popSlot())).toBe(2);
    expect(q.cancel(-1)).toBe(false);
    expect(q.cancel(1.5)).toBe(false);
    expect(q.cancel(1e15)).toBe(false);
  });

  it('late events keep their tie order within a key even when pushed out of order', () => {
    const q = new EventQueue(16);
    const h: EventHandler = () => undefined;
    const ties = [7, 3, 9, 3, 1, 12, 0, 5];
    ties.forEach((t, i) => q.push(21, t, h, i));
    q.push(20, 100, h, 100); // an ordinary event of the same instant comes first
    const out: number[] = [];
    while (q.length > 0) {
      const s = q.popSlot();
      out.push(q.argOf(s));
      q.release(s);
    }
    expect(out[0]).toBe(100);
    expect(out.slice(1).map((i) => ties[i])).toEqual([...ties].sort((a, b) => a - b));
  });

  it('keeps the side heap ordered under cancels from its middle', () => {
    // keys beyond the far wheel's horizon and non-integer keys both live in the side heap
    let x = 99;
    const rnd = (): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 4294967296;
    };
    for (let round = 0; round < 20; round++) {
      const q = new EventQueue(16);
      const h: EventHandler = () => undefined;
      const live = new Map<number, Ev>();
      for (let i = 0; i < 300; i++) {
        const key = rnd() < 0.5 ? 2 * L1 + Math.floor(rnd() * 1000) : Math.floor(rnd() * 1000) + 0.25;
        const tie = Math.floor(rnd() * 10);
        live.set(i, { id: i, key, tie, token: q.push(key, tie, h, i) });
      }
      for (const e of [...live.values()]) {
        if (rnd() < 0.6) {
          expect(q.cancel(e.token)).toBe(true);
          live.delete(e.id);
        }
      }
      const want = [...live.values()].sort((a, b) => a.key - b.key || a.tie - b.tie).map((e) => [e.key, e.tie]);
      const got: number[][] = [];
      while (q.length > 0) {
        const s = q.popSlot();
        const e = live.get(q.argOf(s))!;
        got.push([e.key, e.tie]);
        q.release(s);
      }
      expect(got).toEqual(want);
    }
  });

  it('moves the empty near window to a side-heap event just before the far wheel', () => {
    // F goes to the side heap (beyond the far wheel's horizon when pushed); after time moves on,
    // B lands in the far wheel one block after F. Popping F moves the near window to F's block;
    // C (later than B, in B's block) must still pop after B.
    const q = new EventQueue(16);
    const h: EventHandler = () => undefined;
    const pop = (): number => {
      const s = q.popSlot();
      const a = q.argOf(s);
      q.release(s);
      return a;
    };
    const F = L1 + 8 * L0 + 6;
    q.push(F, 0, h, 0);
    q.push(10 * L0, 1, h, 1);
    expect(pop()).toBe(1);
    const B = L1 + 9 * L0 + 100;
    q.push(B, 2, h, 2);
    expect(pop()).toBe(0); // F
    q.push(B + 100, 3, h, 3); // C
    q.push(F + 2, 4, h, 4);
    expect([pop(), pop(), pop()]).toEqual([4, 2, 3]);
  });

  // Longer seeded runs shaped like the simulator: a hold workload (exponential delays of mean
  // `meanKeys`), ordinary and late lanes, cancels of pending timeouts and of just-pushed events,
  // occasional far events, time running past many near-wheel blocks and far-wheel turns.
  // Checked against a sorted list.
  const longRun = (meanKeys: number, steps: number, seed: number): void => {
    let s = seed;
    const rnd = (): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 4294967296;
    };
    const q = new EventQueue(64);
    const ref: Ev[] = []; // sorted by (key, tie)
    const byId = new Map<number, Ev>();
    const insert = (e: Ev): void => {
      let lo = 0;
      let hi = ref.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const r = ref[mid];
        if (r.key < e.key || (r.key === e.key && r.tie <= e.tie)) lo = mid + 1;
        else hi = mid;
      }
      ref.splice(lo, 0, e);
    };
    const h: EventHandler = () => undefined;
    let seq = 0;
    let id = 0;
    let now = 0;
    const push = (key: number, tie: number): void => {
      const e = { id, key, tie, token: q.push(key, tie, h, id) };
      id++;
      byId.set(e.id, e);
      insert(e);
    };
    const delay = (): number => 2 * Math.floor(-(meanKeys / 2) * Math.log(1 - rnd()));
    for (let i = 0; i < 2000; i++) push(delay(), seq++);
    for (let n = 0; n < steps; n++) {
      const want = ref.shift()!;
      const peek = q.peekKey();
      const slot = q.popSlot();
      const got = byId.get(q.argOf(slot));
      // (plain checks in the loop: expect() per step would dominate the run time)
      if (peek !== want.key || !got || got.key !== want.key || got.tie !== want.tie) {
        expect({ step: n, peek, key: got?.key, tie: got?.tie }).toEqual({ step: n, peek: want.key, key: want.key, tie: want.tie });
        return;
      }
      q.release(slot);
      byId.delete(got.id);
      if (got.id !== want.id) {
        // equal (key, tie): keep the reference in step with the queue
        const j = ref.indexOf(got);
        ref[j] = want;
      }
      now = want.key - (want.key % 2);
      const r = rnd();
      if (r < 0.9) push(now + delay(), seq++);
      else if (r < 0.95) push(now + 2 * Math.floor(rnd() * 3) + 1, Math.floor(rnd() * 50)); // late lane
      else if (r < 0.97) push(now + 2 * Math.floor(rnd() * 4 * L1), seq++); // far wheel / side heap
      else push(now + 2 * Math.floor(rnd() * 3000), seq++); // a timeout
      const c = rnd();
      if (c < 0.04) {
        // cancel a pending event: a random one, or the one just pushed (often a bucket's tail)
        const victim = c < 0.02 ? ref[Math.floor(rnd() * ref.length)] : byId.get(id - 1);
        if (victim) {
          if (!q.cancel(victim.token)) expect(q.cancel(victim.token)).toBe(true);
          ref.splice(ref.indexOf(victim), 1);
          byId.delete(victim.id);
        }
      }
      if (ref.length < 1000) push(now + delay(), seq++);
      if (q.length !== ref.length) expect(q.length).toBe(ref.length);
    }
    expect(q.length).toBe(ref.length);
  };

  it('matches a sorted reference over a long dense run (~10 events per key)', () => {
    longRun(200, 100_000, 12345);
  });

  it('matches a sorted reference over a long run spread over near-wheel blocks', () => {
    longRun(3 * L0, 40_000, 777);
  });

  it('matches a sorted reference over a long run spread over the far wheel', () => {
    longRun(L1 / 8, 40_000, 4242);
  });
});
