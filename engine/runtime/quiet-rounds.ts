// `awaitClaimRounds` (effects.ts): the hardened P2P orphan watcher's rounds while they find nothing
// to do. A round wakes R after the previous one ended, reads the group file and, if other managers
// hold claims on separated servers, probes its own host, then each claimant in turn (each probe
// called when the previous one returned, its outcome the world's at the call). A round where every
// probe passes (or with no claim) changes nothing. In live mode one plain sleep and the caller's
// round; in sim a loop emulating those rounds in the late lane of their instants (naive) or no
// event at all while every input says the rounds would pass (skip), returning at the same step
// with the same claims.
import type { QuietOracle, SharedQuietOracle, StoreOracle, StorePart } from '../ports/probe.ts';
import type { Claim, ClaimRoundsArgs, ClaimRoundsResult, Effect, Op } from './effects.ts';
import type { Runtime } from './runtime.ts';
import { QuietLoop } from './quiet-loop.ts';

function sleepLate(atUs: number): Effect {
  return { kind: 'sleepUntil', atUs, late: true } as Effect;
}

const NOW: Effect = { kind: 'now' };

/** The foreign claims now, or null when the store does not answer the agent. */
function readClaims(a: ClaimRoundsArgs, store: StoreOracle): Claim[] | null {
  let claims: Claim[] = [];
  const ok = store.holds(a.key, (v) => {
    if (v === null) return false;
    claims = a.claimsOf(v);
    return true;
  });
  return ok ? claims : null;
}

/** A step of the naive loop: its wake-up (read, then probe 0), or probe j >= 1 of a round with `claims`. */
type Step = { kind: 'wake' } | { kind: 'probe'; claims: Claim[]; j: number } | { kind: 'end' };

/**
 * The naive loop from `step`, at the present instant (a late-lane event of it): 'done' at the end
 * of a round that found nothing to do (the caller sleeps R from there), else what the caller does.
 */
function* runRound(a: ClaimRoundsArgs, oracle: QuietOracle, store: StoreOracle, passUs: number, step: Step): Op<ClaimRoundsResult | 'done'> {
  if (step.kind === 'end') return 'done';
  let claims: Claim[];
  let j: number;
  if (step.kind === 'wake') {
    const c = readClaims(a, store);
    if (c === null) return null;
    if (c.length === 0) return 'done';
    claims = c;
    j = 0;
  } else ({ claims, j } = step);
  for (; j <= claims.length; j++) {
    if (!oracle.wouldPass(a.probeOf(j === 0 ? a.self : claims[j - 1][1]))) return { claims, from: j };
    yield sleepLate(((yield NOW) as number) + passUs);
  }
  return 'done';
}

/** Sim, ticking: each wake-up and each probe in the late lane of its instant. */
export function* naiveClaimRounds(a: ClaimRoundsArgs, oracle: QuietOracle, store: StoreOracle): Op<ClaimRoundsResult> {
  const passUs = Math.max(1, oracle.passLatencyUs(a.probeOf(a.self)));
  for (;;) {
    yield sleepLate(((yield NOW) as number) + a.intervalUs);
    const r = yield* runRound(a, oracle, store, passUs, { kind: 'wake' });
    if (r !== 'done') return r;
  }
}

type Msg = { kind: 'change' } | { kind: 'step'; step: Step };

/** A part of the record no write changes: the subscription hears the agent's reach of the store (and deletes). */
const NO_PART: StorePart = { name: '', changed: () => [] };

const sameClaims = (x: readonly Claim[], y: readonly Claim[]): boolean =>
  x.length === y.length && x.every(([t, c], i) => y[i][0] === t && y[i][1] === c);

/**
 * A quiet watcher's wake-up grid replayed through epochs [from, to) of a claim history (each at
 * `times[i]`, after which `counts[i]` claims hold): at each epoch's time t, a next wake-up nw
 * before t moves to the first one at or after t, nw + k s with s = `stride(count)` for the count
 * of claims before that epoch (`count0` before `from`), as `advanceTo` does one epoch at a time.
 * Returns the next wake-up, the last wake-up passed (`lastW`) and the epoch at which it was
 * passed (`jumpAt`; -1 when none was). One pass over numbers, no object per epoch: a watcher
 * looked at after a long quiet stretch replays every epoch since (the hub keeps them while it
 * has members), so this loop runs through the whole history many times over a long run.
 */
export function replayGrid(times: readonly number[], counts: readonly number[], from: number, to: number, nw: number, count0: number, stride: (n: number) => number): { nw: number; lastW: number; jumpAt: number } {
  let n = nw;
  let count = count0;
  let lastW = 0;
  let jumpAt = -1;
  for (let i = from; i < to; i++) {
    const t = times[i];
    if (n < t) {
      const s = stride(count);
      const k = Math.ceil((t - n) / s);
      lastW = n + (k - 1) * s;
      n += k * s;
      jumpAt = i;
    }
    count = counts[i];
  }
  return { nw: n, lastW, jumpAt };
}

/** A quiet watcher that shares the hub's reading of the record. */
interface Member {
  readonly host: string;
  /**
   * The claims changed (the hub's last epoch): `added`, the claimants that were not ones before
   * (empty: none), or null when the record is gone.
   */
  onEpoch(added: readonly string[] | null): void;
  /** Something that may change a probe of a claimant (or the watcher's reach of the record) changed. */
  onChange(): void;
}

/**
 * The quiet watchers of one record (one simulation, one key, one interval and probe latency) that
 * hold no claim themselves all see the same claims: the hub reads the record once per write and
 * keeps the claims' history (epochs: from when, which claims), and one subscription per claimant
 * for all of them. A member replays its wake-up grid through the epochs when it is looked at, so
 * a write costs the members nothing unless it adds a claimant (each checks it passes) or makes a
 * member a claimant (that one leaves). A claimant stays watched after it stops being one for as
 * long as a round that began before may still probe it.
 */
class ClaimHub {
  claims: Claim[];
  private claimants: Set<string>;
  // The epochs (from `base` on) in parallel arrays: a member's replay reads only the times and
  // the claims' counts (contiguous numbers), and the claims of the last epoch it passes.
  private times: number[] = [];
  private counts: number[] = [];
  private claimLists: Claim[][] = [];
  private base = 0;
  private maxN: number;
  private readonly members = new Set<Member>();
  /** The members whose own host's probe fails (as of their last notification of it). */
  private readonly selfDown = new Set<Member>();
  private readonly byHost = new Map<string, Set<Member>>();
  private readonly watched = new Map<string, { off: () => void; until: number }>();

  constructor(
    private readonly rt: Runtime,
    private readonly shared: SharedQuietOracle,
    private readonly key: string,
    private readonly allClaims: (value: unknown) => Claim[],
    private readonly passUs: number,
  ) {
    this.claims = this.read();
    this.claimants = new Set(this.claims.map(([, c]) => c));
    this.maxN = this.claims.length;
    for (const c of this.claimants) this.watch(c);
    shared.onWrite(key, () => this.onWrite());
  }

  get end(): number {
    return this.base + this.times.length;
  }

  epoch(i: number): { t: number; claims: Claim[] } {
    return { t: this.times[i - this.base], claims: this.claimLists[i - this.base] };
  }

  /** The claims of epoch i. */
  claimsAt(i: number): Claim[] {
    return this.claimLists[i - this.base];
  }

  /** A member's wake-up grid replayed through epochs [from, to) (`replayGrid`). */
  replay(from: number, to: number, nw: number, count0: number, stride: (n: number) => number): { nw: number; lastW: number; jumpAt: number } {
    const r = replayGrid(this.times, this.counts, from - this.base, to - this.base, nw, count0, stride);
    return r.jumpAt < 0 ? r : { ...r, jumpAt: r.jumpAt + this.base };
  }

  holds(host: string): boolean {
    return this.claimants.has(host);
  }

  join(m: Member): number {
    this.members.add(m);
    let s = this.byHost.get(m.host);
    if (s === undefined) this.byHost.set(m.host, (s = new Set()));
    s.add(m);
    return this.end;
  }

  /** A member's own host's probe passes (`ok`) or not, told at its join and at each change of it. */
  selfOk(m: Member, ok: boolean): void {
    if (ok) this.selfDown.delete(m);
    else if (this.members.has(m)) this.selfDown.add(m);
  }

  leave(m: Member): void {
    this.selfDown.delete(m);
    if (!this.members.delete(m)) return;
    const s = this.byHost.get(m.host);
    s?.delete(m);
    if (s?.size === 0) this.byHost.delete(m.host);
    if (this.members.size === 0) {
      this.base = this.end;
      this.times = [];
      this.counts = [];
      this.claimLists = [];
    }
  }

  private read(): Claim[] {
    const v = this.shared.peek(this.key);
    return v === null ? [] : this.allClaims(v);
  }

  private watch(c: string): void {
    const w = this.watched.get(c);
    if (w !== undefined) w.until = Infinity;
    else this.watched.set(c, { off: this.shared.subscribeHost(c, () => this.onHost(c)), until: Infinity });
  }

  private onHost(c: string): void {
    const w = this.watched.get(c);
    if (w === undefined || w.until < this.rt.nowUs()) return;
    for (const m of this.members) m.onChange();
  }

  private onWrite(): void {
    const t = this.rt.nowUs();
    const gone = this.shared.peek(this.key) === null;
    const g = this.read();
    if (!gone && sameClaims(g, this.claims)) return;
    const cs = new Set(g.map(([, c]) => c));
    const added = gone ? null : [...cs].filter((c) => !this.claimants.has(c));
    // A round in progress began at or before t with some earlier epoch's claims (at most maxN).
    const until = t + (this.maxN + 1) * this.passUs;
    for (const [c, w] of this.watched) {
      if (!cs.has(c) && w.until === Infinity) w.until = until;
      else if (w.until < t) {
        w.off();
        this.watched.delete(c);
      }
    }
    for (const c of cs) this.watch(c);
    this.claims = g;
    this.claimants = cs;
    this.maxN = Math.max(this.maxN, g.length);
    if (this.members.size === 0) {
      this.base = this.end;
      return;
    }
    this.times.push(t);
    this.counts.push(g.length);
    this.claimLists.push(g);
    if (added === null || added.length > 0) {
      // New claimants every answering member reaches: only the members whose own host does not
      // answer can stop being quiet (the others' checks would all pass).
      const forAll = added !== null && added.every((c) => this.shared.passesForAll(c) === true);
      if (!forAll) {
        for (const m of this.members) m.onEpoch(added);
        return;
      }
      for (const m of [...this.selfDown]) m.onEpoch(added);
    }
    for (const c of cs) {
      const s = this.byHost.get(c);
      if (s !== undefined) for (const m of [...s]) m.onEpoch(added);
    }
  }
}

const hubs = new WeakMap<SharedQuietOracle, Map<string, ClaimHub>>();
function hubFor(rt: Runtime, shared: SharedQuietOracle, a: ClaimRoundsArgs & { allClaims: (value: unknown) => Claim[] }, passUs: number): ClaimHub {
  let m = hubs.get(shared);
  if (m === undefined) hubs.set(shared, (m = new Map()));
  const id = `${a.key}\n${a.intervalUs}\n${passUs}`;
  let h = m.get(id);
  if (h === undefined) m.set(id, (h = new ClaimHub(rt, shared, a.key, a.allClaims, passUs)));
  return h;
}

/**
 * Sim, skipping. While quiet (the store answers, and with any claim to look at this host and every
 * claimant of the round in progress and of the group file would pass a ping) no event: the naive
 * wake-ups fall at nw, nw + S, ... with S = R + (n + 1) P for n claims (R without claims), P the
 * probes' pass latency; `advance` replays them lazily (a store write re-reads the claims: the
 * wake-ups before it used the old ones). When an input stops holding (a notification at tc, in an
 * event of its own), the first naive step at or after tc is a probe of the round in progress or the
 * next wake-up: this loop runs the naive steps from there, late, and is quiet again at the end of a
 * round whose inputs hold. A pause of the agent hands over to the naive loop's next step (held
 * until the agent resumes, as the naive loop is).
 */
export function* skipClaimRounds(rt: Runtime, agent: string, a: ClaimRoundsArgs, oracle: QuietOracle, store: StoreOracle, tie: number): Op<ClaimRoundsResult> {
  const R = a.intervalUs;
  const passUs = Math.max(1, oracle.passLatencyUs(a.probeOf(a.self)));
  const pid = (yield { kind: 'self' }) as number;
  // The grid while quiet: the next wake-up, the round in progress (its wake-up and claims), the claims in the store.
  let nw = 0;
  let cur: { w: number; claims: Claim[] } | null = null;
  let claimsNow: Claim[] | null = [];
  const watched = new Map<string, () => void>();
  const stride = (n: number) => (n === 0 ? R : R + (n + 1) * passUs);
  // Through the hub (a quiet stretch of a watcher that holds no claim): the claims come from the
  // hub's epochs, from `idx` on, replayed when the grid is looked at.
  const allClaims = a.allClaims;
  const hub = allClaims !== undefined && oracle.shared !== undefined ? hubFor(rt, oracle.shared, { ...a, allClaims }, passUs) : null;
  let inHub = false;
  let idx = 0;
  /** Replays the hub's epochs this watcher has not seen. */
  const sync = (upTo = hub?.end ?? 0) => {
    if (!inHub || hub === null) return;
    if (idx >= upTo) return;
    if (claimsNow === null) {
      // The grid stays put until an epoch's claims are known (`advanceTo` does nothing without claims).
      const e = hub.epoch(idx++);
      advanceTo(e.t);
      claimsNow = e.claims;
      if (idx >= upTo) return;
    }
    // As `advanceTo(t)` then the epoch's claims, for each epoch; the round in progress is the
    // one of the last wake-up passed, with the claims before the epoch that passed it.
    const r = hub.replay(idx, upTo, nw, claimsNow.length, stride);
    if (r.jumpAt >= 0) {
      const claims = r.jumpAt === idx ? claimsNow : hub.claimsAt(r.jumpAt - 1);
      cur = claims.length === 0 ? null : { w: r.lastW, claims };
    }
    nw = r.nw;
    claimsNow = hub.claimsAt(upTo - 1);
    idx = upTo;
  };
  /** Replays the naive wake-ups before t (with the claims in the store until now). */
  const advance = (t: number) => {
    sync();
    advanceTo(t);
  };
  const advanceTo = (t: number) => {
    if (nw >= t || claimsNow === null) return;
    const s = stride(claimsNow.length);
    const k = Math.ceil((t - nw) / s);
    const w = nw + (k - 1) * s;
    nw += k * s;
    cur = claimsNow.length === 0 ? null : { w, claims: claimsNow };
  };
  const claimants = (): Set<string> => {
    const out = new Set<string>();
    for (const [, c] of claimsNow ?? []) out.add(c);
    for (const [, c] of cur?.claims ?? []) out.add(c);
    return out;
  };
  const passes = (host: string) => oracle.wouldPass(a.probeOf(host));
  const quietNow = (): boolean => {
    if (inHub) {
      sync();
      if (!store.holds(a.key, (v) => v !== null)) return false;
    }
    if (claimsNow === null) return false;
    const cs = claimants();
    if (cs.size === 0) return true;
    if (!passes(a.self)) return false;
    for (const c of cs) if (!passes(c)) return false;
    return true;
  };
  const follow = (onChange: () => void) => {
    const want = claimants();
    for (const [c, off] of watched) if (!want.has(c)) {
      off();
      watched.delete(c);
    }
    for (const c of want) if (!watched.has(c)) watched.set(c, oracle.subscribe(a.probeOf(c), onChange));
  };
  /** The naive loop's first step at or after t (the grid advanced to t). */
  const stepFrom = (t: number, withEnd: boolean): { at: number; step: Step } => {
    advance(t);
    if (cur !== null) {
      const c = cur;
      const j = Math.max(1, Math.ceil((t - c.w) / passUs));
      if (j <= c.claims.length) return { at: c.w + j * passUs, step: { kind: 'probe', claims: c.claims, j } };
      const end = c.w + (c.claims.length + 1) * passUs;
      if (withEnd && end >= t) return { at: end, step: { kind: 'end' } };
    }
    return { at: nw, step: { kind: 'wake' } };
  };
  // At a pause, the naive loop's step then (the grid advanced to it), taken as it is now.
  const loop = new QuietLoop<Msg>(rt, agent, `#claims/${pid}`, tie, (nowUs) => {
    const { at, step } = stepFrom(nowUs, true);
    return { at, message: () => ({ kind: 'step', step }) };
  }, () => {
    if (inHub) {
      sync();
      inHub = false;
      hub!.leave(member);
    }
    for (const off of watched.values()) off();
    watched.clear();
  });
  // Set at each quiet stretch: its notification, and the hand-over from the hub to the watcher's own subscriptions.
  let onChange = () => {};
  let alone = () => {};
  const member: Member = {
    host: a.self,
    onEpoch: (added) => {
      if (!inHub) return;
      if (hub!.holds(a.self)) alone();
      // Quiet before this epoch: the claimants it knew passed if it knew any (and then so did
      // this host); so only this host and the new claimants can break it.
      else if (added === null || (added.length > 0 && (!passes(a.self) || !added.every(passes)))) onChange();
    },
    onChange: () => onChange(),
  };
  try {
    let step: Step | null = null; // null: at the start of a sleep R (the end of a round)
    for (;;) {
      if (step === null) {
        const nowUs = (yield NOW) as number;
        claimsNow = readClaims(a, store);
        cur = null;
        nw = nowUs + R;
        if (quietNow()) {
          const post = loop.begin();
          onChange = () => {
            if (loop.posted || quietNow()) return;
            loop.posted = true;
            post({ kind: 'change' });
          };
          // Alone (this watcher's own reading of the record and subscriptions to the claimants):
          // its subscription to the record's writes and to its own host's probe.
          let ownStore: (() => void) | null = null;
          let ownSelf: (() => void) | null = null;
          // In the hub's part of the stretch: the subscriptions the hub relies on (reach of the
          // record, own host's probe told to the hub), made once per stretch.
          let hubSubs = false;
          const onSelf = () => {
            if (inHub) hub!.selfOk(member, passes(a.self));
            onChange();
          };
          /** Joins the hub: the claims now are the hub's (this watcher holds none). */
          const enterHub = (h: ClaimHub) => {
            ownStore?.();
            ownSelf?.();
            ownStore = ownSelf = null;
            for (const off of watched.values()) off();
            watched.clear();
            claimsNow = h.claims;
            inHub = true;
            idx = h.join(member);
            h.selfOk(member, passes(a.self));
            if (!hubSubs) {
              hubSubs = true;
              loop.listen(store.subscribe(a.key, onChange, NO_PART), oracle.subscribe(a.probeOf(a.self), onSelf));
            }
          };
          const onStore = () => {
            advance(rt.nowUs());
            claimsNow = readClaims(a, store);
            // No claim of its own any more: back to the hub's reading (the hub has read this write:
            // it subscribed to the record before any watcher alone did).
            if (hub !== null && claimsNow !== null && !hub.holds(a.self)) enterHub(hub);
            else follow(onChange);
            onChange();
          };
          const once = (off: () => void) => {
            let done = false;
            return () => {
              if (!done) (done = true), off();
            };
          };
          /** Alone: its own reading of the record and subscriptions. */
          const goAlone = () => {
            ownStore = once(store.subscribe(a.key, onStore));
            loop.listen(ownStore);
            if (!hubSubs) {
              ownSelf = once(oracle.subscribe(a.probeOf(a.self), onChange));
              loop.listen(ownSelf);
            }
            follow(onChange);
          };
          if (hub !== null) {
            alone = () => {
              // This watcher became a claimant at the hub's last epoch: the epochs before it, then
              // its own reading and subscriptions, as from the start of a stretch.
              sync(hub.end - 1);
              inHub = false;
              hub.leave(member);
              advanceTo(rt.nowUs());
              claimsNow = readClaims(a, store);
              goAlone();
              onChange();
            };
          }
          // The claims are the hub's while this watcher holds none: no subscription of its own to
          // the record's writes or to the claimants.
          if (hub !== null && claimsNow !== null && !hub.holds(a.self)) enterHub(hub);
          else goAlone();
          let msg: Msg;
          do {
            msg = (yield { kind: 'receive', mailbox: loop.box }) as Msg;
            loop.posted = false;
          } while (msg.kind === 'change' && quietNow());
          if (msg.kind === 'step') step = msg.step;
          else {
            const t = (yield NOW) as number;
            const next = stepFrom(t, false);
            loop.stop();
            yield sleepLate(next.at);
            step = next.step;
          }
          loop.stop();
        } else {
          yield sleepLate(nw);
          step = { kind: 'wake' };
        }
      }
      const r = yield* runRound(a, oracle, store, passUs, step);
      if (r !== 'done') return r;
      // The end of a round: the naive loop sleeps R from here (from the resumption after a pause).
      step = null;
    }
  } finally {
    loop.close();
  }
}
