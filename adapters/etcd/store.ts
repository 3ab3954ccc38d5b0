// The Store port over etcd (npm etcd3): the papers' management files as JSON values under one
// key prefix, changed only by compare-and-set transactions on the record's mod revision. The
// version the engine sees is etcd's mod_revision: it changes on every write and is never 0 for a
// present key, so 0 keeps meaning "absent" (engine/ports/store.ts). A call that fails rejects
// with a PortError (etcdPortError): 'timeout' past the call's deadline, 'refused' or
// 'unreachable' when no etcd member answers, 'failed' for anything else (an invalid key, a
// value that is not JSON, etcd's own refusals); the message is etcd3's.
import { Etcd3, GRPCDeadlineExceededError, GRPCUnavailableError, type Namespace, type IOptions } from 'etcd3';
import { asPortError, errorCodeOf, kindOfErrorCode, PortError, type PortErrorKind } from '../../engine/ports/errors.ts';
import type { Store, Versioned } from '../../engine/ports/store.ts';
import { holdLease, type LeaseHold } from './lease.ts';
import { storeWriteData } from '../../trace/store.ts';

export interface EtcdStoreOptions {
  /** etcd client endpoints, e.g. ["http://127.0.0.1:23790"]. */
  hosts: string[];
  /** Key prefix of this lab's records, e.g. "hatwin/p2p-mini/". */
  prefix: string;
  /** Trace hook (the sim store's lines, trace/store.ts: store.write as a change, store.delete, store.conflict). */
  emit?: (kind: string, subject: string, data: Record<string, unknown>) => void;
  /** The host this client runs on (the `by` of its store lines). */
  agent?: string;
  /** Per-call deadline. */
  timeoutMs?: number;
  /** Extra etcd3 client options (credentials, ...). */
  client?: Omit<IOptions, 'hosts'>;
}

/** etcd revisions are int64 decimal strings; they stay far below 2^53 in any real cluster. */
function rev(s: string | number | undefined | null): number {
  const n = Number(s ?? 0);
  if (!Number.isSafeInteger(n)) throw new RangeError(`etcd revision ${s} is beyond 2^53`);
  return n;
}

function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || /[\0-\x1f]/.test(key)) {
    throw new RangeError(`store key ${JSON.stringify(key)}: expected 1..1024 printable characters`);
  }
  return key;
}

/** The kind of an etcd3 client error (see the header). */
export function etcdErrorKind(e: unknown): PortErrorKind {
  if (e instanceof PortError) return e.kind;
  if (e instanceof GRPCDeadlineExceededError) return 'timeout';
  const byCode = kindOfErrorCode(errorCodeOf(e));
  if (byCode) return byCode;
  const msg = e instanceof Error ? e.message : '';
  // gRPC says UNAVAILABLE for any connection trouble; the reason is only in its text.
  if (e instanceof GRPCUnavailableError) return /ECONNREFUSED|connection refused/i.test(msg) ? 'refused' : 'unreachable';
  // Every member failed recently: the client's circuit breaker does not even try (cockatiel).
  if ((e as { isBrokenCircuitError?: unknown } | null)?.isBrokenCircuitError === true) return 'unreachable';
  return 'failed';
}

/** An etcd3 client error as a PortError with the same message. */
export function etcdPortError(e: unknown, key?: string): PortError {
  if (e instanceof PortError) return e;
  const p = asPortError(e, undefined, key === undefined ? {} : { key });
  const kind = etcdErrorKind(e);
  return kind === p.kind ? p : new PortError(kind, p.message, p.detail, { cause: e });
}

/** Runs one store call, its failure as a PortError. */
async function storeCall<T>(key: string | undefined, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw etcdPortError(e, key);
  }
}

export class EtcdStore implements Store {
  readonly client: Etcd3;
  private readonly ns: Namespace;

  constructor(private readonly opts: EtcdStoreOptions) {
    if (!opts.prefix || !opts.prefix.endsWith('/')) throw new RangeError(`etcd prefix ${JSON.stringify(opts.prefix)}: expected a non-empty prefix ending in "/"`);
    this.client = new Etcd3({ ...opts.client, hosts: opts.hosts, defaultCallOptions: () => ({ deadline: Date.now() + (opts.timeoutMs ?? 5_000) }) });
    this.ns = this.client.namespace(opts.prefix);
  }

  get<T = unknown>(key: string): Promise<Versioned<T> | null> {
    return storeCall(key, async () => {
      const r = await this.ns.get(checkKey(key)).exec();
      const kv = r.kvs[0];
      if (!kv) return null;
      return { value: JSON.parse(kv.value.toString('utf8')) as T, version: rev(kv.mod_revision) };
    });
  }

  cas<T = unknown>(key: string, expectVersion: number, value: T): Promise<{ ok: boolean; version: number }> {
    return storeCall(key, () => this.casNow(key, expectVersion, value));
  }

  private async casNow<T>(key: string, expectVersion: number, value: T): Promise<{ ok: boolean; version: number }> {
    checkKey(key);
    if (!Number.isSafeInteger(expectVersion) || expectVersion < 0) throw new RangeError(`cas ${key}: expectVersion must be an integer >= 0, got ${expectVersion}`);
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`cas ${key}: value is not JSON-serialisable`);
    // Absent means create_revision 0; present means this exact mod revision. The get before the
    // put returns the value it replaces, so the trace line can carry the change alone.
    const cmp = expectVersion === 0 ? this.ns.if(key, 'Create', '==', 0) : this.ns.if(key, 'Mod', '==', expectVersion);
    const res = await cmp.then(this.ns.get(key), this.ns.put(key).value(json)).else(this.ns.get(key)).commit();
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    if (res.succeeded) {
      const version = rev(res.header.revision);
      if (this.opts.emit) {
        const prev: unknown = kv ? JSON.parse(kv.value.toString('utf8')) : undefined;
        this.opts.emit('store.write', key, { ...storeWriteData({ version, expect: expectVersion, by: this.opts.agent, prev, next: JSON.parse(json) }) });
      }
      return { ok: true, version };
    }
    const found = kv ? rev(kv.mod_revision) : 0;
    this.opts.emit?.('store.conflict', key, { op: 'cas', expect: expectVersion, version: found, ...this.by() });
    return { ok: false, version: found };
  }

  private by(): { by?: string } {
    return this.opts.agent === undefined ? {} : { by: this.opts.agent };
  }

  del(key: string, expectVersion: number): Promise<boolean> {
    return storeCall(key, async () => {
      checkKey(key);
      if (!Number.isSafeInteger(expectVersion) || expectVersion <= 0) return false;
      const res = await this.ns.if(key, 'Mod', '==', expectVersion).then(this.ns.delete().key(key)).else(this.ns.get(key)).commit();
      if (res.succeeded) this.opts.emit?.('store.delete', key, { version: expectVersion, ...this.by() });
      else {
        const kv = res.responses[0]?.response_range?.kvs?.[0];
        this.opts.emit?.('store.conflict', key, { op: 'del', expect: expectVersion, version: kv ? rev(kv.mod_revision) : 0, ...this.by() });
      }
      return res.succeeded;
    });
  }

  list<T = unknown>(prefix: string): Promise<Array<{ key: string } & Versioned<T>>> {
    return storeCall(undefined, async () => {
      if (typeof prefix !== 'string' || /[\0-\x1f]/.test(prefix)) throw new RangeError(`list prefix ${JSON.stringify(prefix)}: printable characters expected`);
      const b = this.ns.getAll().sort('Key', 'Ascend');
      const r = await (prefix === '' ? b.all() : b.prefix(prefix)).exec();
      return r.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: JSON.parse(kv.value.toString('utf8')) as T, version: rev(kv.mod_revision) }));
    });
  }

  /**
   * Puts `key` under a lease of `ttlS` seconds that this process keeps alive: when the holder
   * dies (or `stop()`s), etcd deletes the key ~TTL later, so others see the program is gone.
   */
  holdLease(key: string, value: unknown, ttlS: number): Promise<LeaseHold> {
    return holdLease(this.ns, checkKey(key), value, ttlS);
  }

  close(): void {
    this.client.close();
  }
}
