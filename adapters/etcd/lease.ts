// Liveness of management programs through etcd leases: each program puts an "alive" record
// under a lease it keeps alive; if the program (or its host) dies, the keep-alives stop and etcd
// deletes the record when the TTL runs out, so the others see it is gone without a timeout
// protocol of their own. (etcd 3.4 raises TTLs below ~2 s to its minimum.)
import type { Namespace } from 'etcd3';

export interface LeaseHold {
  leaseId: string;
  /** Resolves if etcd says the lease is gone (expired or revoked elsewhere). */
  lost: Promise<Error>;
  /** Stops keeping the lease alive without revoking it: the record expires ~TTL later (a crash). */
  stop(): void;
  /** Revokes the lease now: the record disappears at once (a clean exit). */
  revoke(): Promise<void>;
}

export async function holdLease(ns: Namespace, key: string, value: unknown, ttlS: number): Promise<LeaseHold> {
  if (!Number.isInteger(ttlS) || ttlS < 1) throw new RangeError(`lease TTL must be a whole number of seconds >= 1, got ${ttlS}`);
  const lease = ns.lease(ttlS, { autoKeepAlive: true });
  let onLost!: (e: Error) => void;
  const lost = new Promise<Error>((resolve) => (onLost = resolve));
  lease.on('lost', (err) => onLost(err));
  try {
    await lease.put(key).value(JSON.stringify(value));
    const leaseId = await lease.grant();
    return {
      leaseId,
      lost,
      stop: () => lease.release(),
      revoke: () => lease.revoke(),
    };
  } catch (e) {
    lease.release();
    throw e;
  }
}
