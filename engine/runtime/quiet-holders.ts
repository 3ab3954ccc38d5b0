// `awaitHoldersChange` (effects.ts): a VIP audit that polls a VIP's holders each interval while
// its inputs (the program's flags, store records, the holders) say nothing is to be done. In
// live mode the caller's plain loop; in sim a loop ticking in the late lane (naive) or no event
// at all while the inputs stay quiet (skip), with the same readings at the same instants.
import type { HoldersOracle, StoreOracle } from '../ports/probe.ts';
import type { Effect, Op, QuietGuard, RaceResult, StoreCheck } from './effects.ts';
import type { Runtime } from './runtime.ts';
import { QuietLoop } from './quiet-loop.ts';

export interface QuietHoldersArgs {
  /** null: no reading (`awaitReconcile`): the loop only waits while its inputs hold. */
  vip: string | null;
  /** A mailbox whose next message ends the wait (`awaitReconcile`): returned as { message }. */
  box: string | null;
  intervalUs: number;
  expect: readonly string[];
  guard: QuietGuard;
  checks: readonly StoreCheck[];
}

const sameHolders = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The inputs other than the holders: the guard and every store check (the store answering). */
const inputsHold = (a: QuietHoldersArgs, store: StoreOracle): boolean => a.guard.ok() && a.checks.every((c) => store.holds(c.key, (v) => c.holds(v)));

function sleepLate(atUs: number): Effect {
  return { kind: 'sleepUntil', atUs, late: true } as Effect;
}

/** Internal: the value `read()` gives in a late-lane event at atUs (the caller resumes after, held if paused). */
function readLate(atUs: number, read: () => unknown): Effect {
  return { kind: 'readLate', atUs, read } as unknown as Effect;
}

const NOW: Effect = { kind: 'now' };

export type QuietResult = string[] | null | { message: unknown };

/** Waits for `eff`, or for the next message of the loop's mailbox (when it has one), whichever comes first. */
function* orMessage(a: QuietHoldersArgs, eff: Effect): Op<{ message: unknown } | { value: unknown }> {
  if (a.box === null) return { value: yield eff };
  const r = (yield { kind: 'race', effects: [{ kind: 'receive', mailbox: a.box }, eff] }) as RaceResult;
  return r.index === 0 ? { message: r.value } : { value: r.value };
}

/** Sim, ticking: each wake-up and each reading in the late lane. */
export function* naiveQuietHolders(a: QuietHoldersArgs, holders: HoldersOracle, store: StoreOracle): Op<QuietResult> {
  const latencyUs = holders.latencyUs();
  for (;;) {
    const w = yield* orMessage(a, sleepLate(((yield NOW) as number) + a.intervalUs));
    if ('message' in w) return w;
    if (!inputsHold(a, store)) return null;
    if (a.vip === null) continue;
    const vip = a.vip;
    const h = (yield readLate(((yield NOW) as number) + latencyUs, () => holders.now(vip))) as string[];
    if (!sameHolders(h, a.expect)) return h;
  }
}

type Msg = { kind: 'change' } | { kind: 'call' } | { kind: 'reading'; holders: string[] };

/**
 * Sim, skipping: while the guard and the checks hold and the holders read as `expect`, no event.
 * From the anchor (the instant the naive loop last had control, unpaused) its wake-ups fall at
 * c_k = anchor + I + k (I + L) and its readings at e_k = c_k + L (late). When an input stops
 * holding (a notification, handled at its instant tc), the first naive step that can see it is
 * the first reading e_k >= tc: if its wake-up c_k is still to come, this loop wakes there and
 * looks for real (inputs, then the reading); else (tc inside a reading's latency: the inputs
 * held at c_k) it reads at e_k. A reading equal to `expect` anchors a new quiet stretch. An
 * input that changes and changes back between two steps is never seen by the naive loop either.
 * A pause of the agent hands over to the naive loop's state at that instant (as skipSteadyLoad
 * does): a late event at the next naive wake-up, or at the reading with the holders read then,
 * wakes this loop, held until the agent resumes as the naive loop would be.
 */
export function* skipQuietHolders(rt: Runtime, agent: string, a: QuietHoldersArgs, holders: HoldersOracle, store: StoreOracle, tie: number): Op<QuietResult> {
  const vip = a.vip;
  const latencyUs = vip === null ? 0 : holders.latencyUs();
  const stride = a.intervalUs + latencyUs;
  const pid = (yield { kind: 'self' }) as number;
  let anchor = (yield NOW) as number;
  const read = () => (vip === null ? a.expect : holders.now(vip));
  const quietNow = () => inputsHold(a, store) && sameHolders(read(), a.expect);
  /** The first naive reading at or after `t`: its wake-up c and reading e. */
  const readingFrom = (t: number): { c: number; e: number } => {
    const k = Math.max(0, Math.ceil((t - latencyUs - anchor - a.intervalUs) / stride));
    const c = anchor + a.intervalUs + k * stride;
    return { c, e: c + latencyUs };
  };
  const loop = new QuietLoop<Msg>(rt, agent, `#holders/${pid}`, tie, (nowUs) => {
    const { c, e } = readingFrom(nowUs);
    return c >= nowUs ? { at: c, message: () => ({ kind: 'call' }) } : { at: e, message: () => ({ kind: 'reading', holders: read() as string[] }) };
  });
  try {
    for (;;) {
      let msg: Msg = { kind: 'change' };
      if (quietNow()) {
        const post = loop.begin();
        // Looked at in the notifier (the world, the store or the flag has changed by then): a
        // change that leaves every input as it was costs no event; one that does not is seen at
        // its instant, in an event of its own (notifications come in the middle of an update).
        const onChange = () => {
          if (loop.posted || quietNow()) return;
          loop.posted = true;
          post({ kind: 'change' });
        };
        loop.listen(a.guard.subscribe(onChange), ...a.checks.map((c) => store.subscribe(c.key, onChange, c.part)));
        if (vip !== null) loop.listen(holders.subscribe(vip, onChange));
        // A notification whose change left every input as it was (or was undone at once) is no step of the naive loop.
        do {
          const w = yield* orMessage(a, { kind: 'receive', mailbox: loop.box });
          if ('message' in w) return w;
          msg = w.value as Msg;
          loop.posted = false;
        } while (msg.kind === 'change' && quietNow());
        loop.stop();
      }
      let h: string[];
      if (msg.kind === 'reading') h = msg.holders;
      else {
        const nowUs = (yield NOW) as number;
        const { c, e } = msg.kind === 'call' ? { c: nowUs, e: -1 } : readingFrom(nowUs);
        if (c >= nowUs) {
          if (msg.kind === 'change') {
            const w = yield* orMessage(a, sleepLate(c));
            if ('message' in w) return w;
          }
          if (!inputsHold(a, store)) return null;
          // Without a VIP the wake-up is the whole step (the grid goes on from it).
          h = vip === null ? [...a.expect] : ((yield readLate(((yield NOW) as number) + latencyUs, read)) as string[]);
        } else h = (yield readLate(e, read)) as string[];
      }
      if (!sameHolders(h, a.expect)) return h;
      anchor = (yield NOW) as number;
    }
  } finally {
    loop.close();
  }
}
