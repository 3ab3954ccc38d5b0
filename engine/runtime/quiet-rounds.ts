// `awaitClaimRounds` (effects.ts): the hardened P2P orphan watcher's rounds while they find nothing
// to do. A round wakes R after the previous one ended, reads the group file and, if other managers
// hold claims on separated servers, probes its own host, then each claimant in turn (each probe
// called when the previous one returned, its outcome the world's at the call). A round where every
// probe passes (or with no claim) changes nothing. In live mode one plain sleep and the caller's
// round; in sim a loop emulating those rounds in the late lane of their instants (naive) or no
// event at all while every input says the rounds would pass (skip), returning at the same step
// with the same claims.
import type { QuietOracle, StoreOracle } from '../ports/probe.ts';
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
  /** Replays the naive wake-ups before t (with the claims in the store until now). */
  const advance = (t: number) => {
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
    for (const off of watched.values()) off();
    watched.clear();
  });
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
          const onChange = () => {
            if (loop.posted || quietNow()) return;
            loop.posted = true;
            post({ kind: 'change' });
          };
          const onStore = () => {
            advance(rt.nowUs());
            claimsNow = readClaims(a, store);
            follow(onChange);
            onChange();
          };
          loop.listen(store.subscribe(a.key, onStore), oracle.subscribe(a.probeOf(a.self), onChange));
          follow(onChange);
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
