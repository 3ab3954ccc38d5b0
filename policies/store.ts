// Store calls of the policies' programs that wait out a store they cannot reach.
//
// The store is a node on the network (etcd live, the scenario's `store` in sim): a host cut off
// from it gets `unreachable` (or `timeout`; `refused` when etcd itself is down) from every call.
// A program that cannot read or write its records cannot act on them either: `storeCall` retries
// the call every STORE_RETRY_US until the store answers, so the program holds where it is (as a
// process on the papers' hard-mounted NFS files did) and goes on from what the store says once
// it is back. A compare-and-set retried so still names the version it read: when another host
// wrote meanwhile it is refused, and the program reads again. Any other failure is thrown.
// Programs that must not hold (a lease holder that must give its VIP up in time) catch the
// port's error themselves instead.
import { portErrorOf, type Store } from '../engine/ports/index.ts';
import { callPort, sleep, type Op } from '../engine/runtime/effects.ts';

/** Pause between two tries of a store call that found the store out of reach. */
export const STORE_RETRY_US = 1_000_000;

/** The store could not be reached (or did not answer): the call may be tried again. */
export const storeOutOfReach = (e: unknown): boolean => {
  const k = portErrorOf(e).kind;
  return k === 'unreachable' || k === 'timeout' || k === 'refused';
};

type StoreOp = keyof Store & string;
type Fn = (...args: never[]) => unknown;

/** `call('store', op, ...args)`, tried again while the store is out of reach. */
export function* storeCall<O extends StoreOp>(op: O, ...args: Store[O] extends Fn ? Parameters<Store[O]> : never): Op<Store[O] extends Fn ? Awaited<ReturnType<Store[O]>> : never> {
  for (;;) {
    try {
      // callPort, not call: one generator per store call, as before (`call` is one itself).
      return (yield* callPort('store', op, args)) as Store[O] extends Fn ? Awaited<ReturnType<Store[O]>> : never;
    } catch (e) {
      if (!storeOutOfReach(e)) throw e;
      yield* sleep(STORE_RETRY_US);
    }
  }
}
