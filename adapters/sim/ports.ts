// The engine's ports over the sim world, bound to one agent (the host a management program runs
// on). Every operation takes simulated time and fails the way its real counterpart would, with a
// PortError (sim/ knows nothing of the engine: WorldErrors are converted here, messages kept):
// 'unreachable' when the target cannot be reached from the agent (at the call, or when the world
// refuses or aborts the operation because the target went away) and for a lost message;
// 'failed' for anything else the world refuses.
import type { Ports, ProbeResult, ProbeSpec, Versioned, VmInfo, LoadSample, AgentMessage } from '../../engine/ports/index.ts';
import type { SharedQuietOracle, StorePart } from '../../engine/ports/probe.ts';
import { mailboxOf, PortError } from '../../engine/ports/index.ts';
import { isMarkedDeepFrozen, lowerBound, markDeepFrozen } from '../../engine/ports/store.ts';
import type { Runtime } from '../../engine/runtime/runtime.ts';
import { SimFuture } from '../../sim/world/future.ts';
import { World, WorldError, type VmState as WorldVmState } from '../../sim/world/world.ts';
import { storeOf } from '../../sim/scenario/schema.ts';
import type { VmState as PortVmState } from '../../engine/ports/hypervisor.ts';
import { sToUs } from '../../sim/kernel/time.ts';
import { storeWriteData } from '../../trace/store.ts';
import { noteReplaced } from '../../trace/list-edits.ts';
import { ChunkedList } from '../../trace/chunked-list.ts';
import { sample, type Dist } from '../../sim/kernel/distributions.ts';
import type { DistSpec } from '../../sim/scenario/schema.ts';

// The world's VM states are the Hypervisor port's: sim/ and engine/ may not import each other, so
// each declares the union, and this line stops the build if the two ever differ.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const VM_STATES_AGREE: Same<WorldVmState, PortVmState> = true;

/**
 * Management records shared by all agents (the papers' NFS-shared files; etcd in live mode). Its
 * trace lines are trace/store.ts's: each write as its change from the previous value, each
 * refused compare-and-set with the version it expected and the one it found.
 */
export class SimStore {
  private readonly records = new Map<string, Versioned<unknown>>();
  /** Per key: the whole record's subscribers, and the parts' by their `changed` function and name. */
  private readonly watchers = new Map<string, KeyWatchers>();
  private seq = 0;
  private version = 0;
  constructor(private readonly emit: (kind: string, subject: string, data: Record<string, unknown>) => void) {}

  /**
   * Calls `onChange` after every write or delete of `key` (the runtime's quiet loops); with
   * `part`, only after a delete or a write whose `part.changed` names `part.name`. Call backs run
   * in the order of their subscriptions, as if every subscriber were called and the others
   * found nothing to do.
   */
  subscribe(key: string, onChange: () => void, part?: StorePart): () => void {
    let w = this.watchers.get(key);
    if (!w) {
      w = { all: new Map(), parts: new Map(), n: 0 };
      this.watchers.set(key, w);
    }
    const kw = w;
    const entry: Watcher = { seq: this.seq++, cb: onChange };
    let set: Map<Watcher, true>;
    if (part === undefined) set = kw.all;
    else {
      let byName = kw.parts.get(part.changed);
      if (!byName) {
        byName = new Map();
        kw.parts.set(part.changed, byName);
      }
      let s = byName.get(part.name);
      if (!s) {
        s = new Map();
        byName.set(part.name, s);
      }
      set = s;
    }
    set.set(entry, true);
    kw.n++;
    return () => {
      if (!set.delete(entry)) return;
      kw.n--;
      if (part !== undefined && set.size === 0) {
        const byName = kw.parts.get(part.changed);
        if (byName?.get(part.name) === set) byName.delete(part.name);
        if (byName?.size === 0) kw.parts.delete(part.changed);
      }
      if (kw.n === 0 && this.watchers.get(key) === kw) this.watchers.delete(key);
    };
  }
  private changed(key: string, before: unknown, after: unknown, deleted: boolean): void {
    const w = this.watchers.get(key);
    if (w === undefined) return;
    const due: Watcher[] = [...w.all.keys()];
    let mixed = false;
    for (const [changed, byName] of w.parts) {
      if (deleted) {
        for (const s of byName.values()) for (const e of s.keys()) due.push(e);
      } else {
        for (const name of changed(before, after)) {
          const s = byName.get(name);
          if (s !== undefined) for (const e of s.keys()) due.push(e);
        }
      }
      mixed = true;
    }
    if (mixed) due.sort((a, b) => a.seq - b.seq);
    // One call per call back (a function subscribed twice is called once), as a set of them would.
    const called = new Set<() => void>();
    for (const e of due) {
      if (called.has(e.cb)) continue;
      called.add(e.cb);
      e.cb();
    }
  }

  get<T>(key: string): Versioned<T> | null {
    return (this.records.get(key) as Versioned<T> | undefined) ?? null;
  }
  cas<T>(key: string, expectVersion: number, value: T, by?: string): { ok: boolean; version: number } {
    const prev = this.records.get(key);
    const cur = prev?.version ?? 0;
    if (cur !== expectVersion) {
      this.emit('store.conflict', key, { op: 'cas', expect: expectVersion, version: cur, ...byOf(by) });
      return { ok: false, version: cur };
    }
    const version = ++this.version;
    const next = copyRecord(value);
    if (prev === undefined) this.sorted.splice(firstAtOrAfter(this.sorted, key), 0, key);
    this.records.set(key, { value: next, version });
    this.listed(key, prev !== undefined);
    this.emit('store.write', key, { ...storeWriteData({ version, expect: expectVersion, by, prev: prev?.value, next: value }) });
    this.changed(key, prev?.value ?? null, next, false);
    return { ok: true, version };
  }
  /** A call from `by`, cut off from the store, that failed: traced like the live agent's. */
  unreachable(op: string, key: string, by: string, error: string): void {
    this.emit('store.error', by, { op, key, kind: 'unreachable', error });
  }
  del(key: string, expectVersion: number, by?: string): boolean {
    const cur = this.records.get(key)?.version ?? 0;
    if (cur === 0 || cur !== expectVersion) {
      this.emit('store.conflict', key, { op: 'del', expect: expectVersion, version: cur, ...byOf(by) });
      return false;
    }
    this.records.delete(key);
    this.sorted.splice(firstAtOrAfter(this.sorted, key), 1);
    this.listed(key, false);
    this.emit('store.delete', key, { version: cur, ...byOf(by) });
    this.changed(key, null, null, true);
    return true;
  }
  /**
   * The records under `prefix`, in key order. Like `get`, the values are the store's own (a
   * reader must not change them; every write replaces a record with a copy). The keys are kept
   * sorted (re-sorted only after a key was added or deleted), so a list costs a binary search and
   * the records it returns. A list is kept (frozen: array and entries) until a record under its
   * prefix changes: the records rewritten since the last list get new entries in one copy (the
   * other entries shared), a new or deleted key drops it. So listing N records that did not
   * change costs nothing, and after a few rewrites a copy of N references.
   */
  list<T>(prefix: string): Array<{ key: string } & Versioned<T>> {
    const kept = this.lists.get(prefix);
    if (kept !== undefined) {
      if (kept.changed.size > 0) {
        // Records rewritten since the last call: one copy for all of them (a spread: V8's `slice`
        // of a frozen array takes a slow path, ~40x slower for N = 10,000).
        const copy = [...kept.list];
        const at: number[] = [];
        for (const key of kept.changed) {
          const r = this.records.get(key)!;
          const i = lowerBound(copy.length, (j) => copy[j].key < key);
          copy[i] = Object.freeze({ key, value: r.value, version: r.version });
          at.push(i);
        }
        kept.changed.clear();
        // The places of the new entries, for readers that carry something over from the last listing.
        noteReplaced(copy, kept.list, at);
        kept.list = Object.freeze(copy);
      }
      return kept.list as Array<{ key: string } & Versioned<T>>;
    }
    const keys = this.sorted;
    const out: Array<{ key: string } & Versioned<T>> = [];
    for (let i = firstAtOrAfter(keys, prefix); i < keys.length && keys[i].startsWith(prefix); i++) {
      const r = this.records.get(keys[i])!;
      out.push(Object.freeze({ key: keys[i], value: r.value as T, version: r.version }));
    }
    this.lists.set(prefix, { list: Object.freeze(out), changed: new Set() });
    return out;
  }
  private readonly lists = new Map<string, { list: ReadonlyArray<{ key: string } & Versioned<unknown>>; changed: Set<string> }>();
  /** The kept lists after `key` was rewritten (`rewritten`: its entry is made again at the next list) or created or deleted. */
  private listed(key: string, rewritten: boolean): void {
    for (const [prefix, kept] of this.lists) {
      if (!key.startsWith(prefix)) continue;
      if (rewritten) kept.changed.add(key);
      else this.lists.delete(prefix);
    }
  }
  /** Every key, sorted (a key is inserted at its place when created, taken out when deleted). */
  private readonly sorted: string[] = [];
}

/**
 * The store's own copy of a written value: structuredClone's result for plain data (objects,
 * arrays, primitives), made by a plain recursive copy (structuredClone took ~15x longer on an
 * operation file of 20,000 rows); anything else goes through structuredClone.
 */
function copyRecord<T>(v: T): T {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol')) return v;
  if (deepFrozen(v)) return v;
  // A chunked list (trace/chunked-list.ts) of values that are not all deep-frozen: one of copies.
  if (v instanceof ChunkedList) return ChunkedList.from([...(v as ChunkedList<unknown>)].map(copyRecord)) as T;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyRecord(v[i] as unknown);
    return out as T;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const x = copyRecord((v as Record<string, unknown>)[k]);
      if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else out[k] = x;
    }
    return out as T;
  }
  return structuredClone(v);
}

/**
 * Plain data nobody can change (frozen arrays and plain objects of such values, down to the
 * primitives; or marked so by its writer, `markDeepFrozen`): the store keeps it as it is, shared
 * with the writer, instead of a copy.
 */
function deepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'function' && typeof v !== 'symbol';
  if (isMarkedDeepFrozen(v)) return true;
  if (!Object.isFrozen(v)) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!deepFrozen(v[i])) return false;
  } else if (v instanceof ChunkedList) {
    // Frozen as made, its chunks never change: deep-frozen when its elements are.
    for (const x of v as ChunkedList<unknown>) if (!deepFrozen(x)) return false;
  } else {
    if (Object.getPrototypeOf(v) !== Object.prototype) return false;
    for (const k of Object.keys(v)) if (!deepFrozen((v as Record<string, unknown>)[k])) return false;
  }
  // Found deep-frozen: remembered, so a value shared by later records is not walked again.
  markDeepFrozen(v);
  return true;
}

/** The index of the first of the sorted `keys` that is not less than `key` (binary search). */
function firstAtOrAfter(keys: readonly string[], key: string): number {
  return lowerBound(keys.length, (i) => keys[i] < key);
}

interface Watcher {
  seq: number;
  cb: () => void;
}
interface KeyWatchers {
  all: Map<Watcher, true>;
  parts: Map<StorePart['changed'], Map<string, Map<Watcher, true>>>;
  /** Subscriptions in all. */
  n: number;
}

const byOf = (by: string | undefined) => (by === undefined ? {} : { by });

/**
 * One simulation's shared quiet oracle (every agent's ports hold the same one). A network probe
 * from A of H depends on `net`, `node:A` and `node:H` (World.subjectsFor), A's probe of itself on
 * the first two: H's part is `node:H`.
 */
const sharedQuiets = new WeakMap<SimStore, SharedQuietOracle>();
function sharedQuiet(world: World, store: SimStore): SharedQuietOracle {
  let s = sharedQuiets.get(store);
  if (s === undefined) {
    s = {
      peek: (key) => store.get(key)?.value ?? null,
      onWrite: (key, onChange) => store.subscribe(key, onChange),
      subscribeHost: (host, onChange) => world.subscribe(`node:${host}`, onChange),
      // Without a partition, an agent whose own host answers reaches `host` both ways iff it is up.
      passesForAll: (host) => (world.hasPartition() || world.vips.has(host) ? null : !world.isNode(host) || world.nodeUp(host)),
    };
    sharedQuiets.set(store, s);
  }
  return s;
}

/**
 * How often an unanswered connection is tried again: Linux retransmits a SYN every second for
 * its first retries (net.ipv4.tcp_syn_linear_timeouts, 4 by default since kernel 6.5), so a
 * connection to a host cut off by drop rules opens within a second of the rules going.
 */
const CONNECT_RETRY_US = 1_000_000;

export function simPorts(world: World, runtime: Runtime, store: SimStore, agent: string): Ports {
  const k = world.kernel;
  const net = world.scenario.network;
  const latencyUs = sToUs(net.latencyS);
  const commandUs = sToUs(net.commandS);
  /** A Hypervisor port call's own cost before the VM's time: hypervisorCallS when given, else commandS. */
  const hvCallUs = net.hypervisorCallS === undefined ? commandUs : sToUs(net.hypervisorCallS);
  const vipSetUs = sToUs(net.vipSetS);
  // Calibrated costs (scenario network, from `hatwin calibrate`): each drawn from its own stream
  // of this agent, so a scenario without them draws nothing and runs as before.
  const draw = (d: DistSpec | undefined, stream: string): number | null => (d === undefined ? null : Math.max(1, sToUs(sample(d as Dist, world.rng.stream(`net/${agent}/${stream}`)))));
  /** A VIP set (or removed) on `holder`: in a guest (guest agent) or a host (SSH), else vipSetS. */
  const vipUs = (holder: string, remove = false): number => {
    const guest = world.vms.has(holder);
    const d = guest ? (remove ? net.guestVipRemoveS ?? net.guestVipSetS : net.guestVipSetS) : remove ? net.hostVipRemoveS ?? net.hostVipSetS : net.hostVipSetS;
    return draw(d, `${guest ? 'guest' : 'host'}Vip${remove ? 'Remove' : ''}`) ?? vipSetUs;
  };
  /**
   * SSH connections the agent keeps, by host: the host's boot time when it was opened. A command
   * to a host with none (or one opened before the host last booted: the reboot dropped it) pays
   * an SSH connect first, when the scenario gives `sshConnectS`. Kept whenever either field that
   * reads them is given (`sshRetransmit` retransmits over a kept connection, connects anew
   * otherwise); with neither, nothing is tracked (the paper experiments at scale).
   */
  const sshKept = new Map<string, number>();
  const tracksSsh = net.sshConnectS !== undefined || net.sshRetransmit !== undefined;
  const sshUs = (host: string): number => {
    if (!tracksSsh || host === agent || !world.hosts.has(host)) return 0;
    const up = world.hostUptimeUs(host);
    if (up === null) return 0; // not up: the command fails; nothing is kept
    const bootedAt = k.nowUs() - up;
    if (sshKept.get(host) === bootedAt) return 0;
    sshKept.set(host, bootedAt);
    return net.sshConnectS === undefined ? 0 : (draw(net.sshConnectS, 'sshConnect') ?? 0);
  };

  /**
   * A paired replication's replayed response times (`responsesS`): the k-th call of a series by
   * this agent, the k-th recorded time (µs) and whether live's call failed then; null past the
   * list. Every call counts, replayed or not.
   */
  const replayed = new Map<string, number>();
  const replayOf = (series: string): { us: number; failed: boolean } | null => {
    const list = net.responsesS?.[series];
    if (list === undefined) return null;
    const k = replayed.get(series) ?? 0;
    replayed.set(series, k + 1);
    const s = list[k];
    if (s === undefined) return null;
    return typeof s === 'number' ? { us: Math.max(1, sToUs(s)), failed: false } : { us: Math.max(1, sToUs(s.failedS)), failed: true };
  };
  /** A call that succeeded live takes live's time; one that failed live, or past the list, the sim's own. */
  const replayUs = (series: string): number | null => {
    const r = replayOf(series);
    return r === null || r.failed ? null : r.us;
  };
  /** A VIP call's series: this agent's own (`…@AGENT`, run/calibrate.ts) where the pairing has it. */
  const vipSeries = (kind: string, vip: string, holder: string): string => {
    const own = `${kind}/${vip}/${holder}@${agent}`;
    return net.responsesS?.[own] !== undefined ? own : `${kind}/${vip}/${holder}`;
  };

  /** A pool change on the director the agent runs on (poolWriteS), else the LAN delay. */
  const poolWriteUs = (): number => draw(net.poolWriteS, 'poolWrite') ?? latencyUs;

  /**
   * With `sshRetransmit.queryTimeoutS`, an agent that reads VIP holders over SSH (live asks every
   * host, every audit poll) loses its kept connection to a host cut off from it (up, the path
   * closed either way) queryTimeoutS after the cut: the poll's query there times out and the SSH
   * client drops the connection. `cutAt` holds, per host, when its path closed (tracked from the
   * agent's first holders reading on); a connection is taken as dropped once the cut has lasted
   * queryTimeoutS (the poll in flight at the cut: live's next poll may come up to one audit
   * interval later).
   */
  const cutAt = new Map<string, number>();
  let auditing = false;
  const auditCuts = (): void => {
    const qt = net.sshRetransmit?.queryTimeoutS;
    if (qt === undefined || auditing) return;
    auditing = true;
    const update = () => {
      for (const host of world.hosts.keys()) {
        if (host === agent) continue;
        const cut = world.hostUptimeUs(host) !== null && !pathOpen(host);
        const since = cutAt.get(host);
        if (cut && since === undefined) cutAt.set(host, k.nowUs());
        else if (!cut && since !== undefined) {
          cutAt.delete(host);
          if (k.nowUs() - since >= sToUs(qt)) sshKept.delete(host);
        }
      }
    };
    update();
    for (const s of ['net', ...[...world.hosts.keys()].map((h) => `node:${h}`)]) world.subscribe(s, update);
  };
  /** When the audit's query drops the kept connection to `host`, cut off now (null: no audit, or not cut). */
  const auditDropUs = (host: string): number | null => {
    const since = cutAt.get(host);
    return since === undefined ? null : since + sToUs(net.sshRetransmit!.queryTimeoutS!);
  };

  /**
   * Live asks every configured host over SSH for a VIP's holders (adapters/net/vip.ts), so a
   * holders reading leaves the agent a kept connection to each host it reaches: a later command
   * there (St1's restart request) pays no connect. Only real readings count (the first poll of a
   * VIP audit's quiet stretch, every poll that is not quiet); the quiet polls read the world
   * without the port in both the naive and the skipping loop, and keep what is kept.
   */
  const keepAllSsh = (): void => {
    auditCuts();
    if (!tracksSsh) return;
    for (const host of world.hosts.keys()) {
      if (host === agent || !world.reachable(agent, host)) continue;
      const up = world.hostUptimeUs(host);
      if (up !== null) sshKept.set(host, k.nowUs() - up);
    }
  };

  /** A service command's time to its target: in a guest through its agent (a start: guestStartS, else guestCommandS), else over SSH. */
  const serviceCmdUs = (target: string, start = false): number => {
    if (!world.vms.has(target)) return commandUs + sshUs(target);
    return (start ? draw(net.guestStartS, 'guestStart') : null) ?? draw(net.guestCommandS, 'guestCommand') ?? commandUs;
  };

  /** A remote node the agent cannot reach now (its own host always is, while it runs). */
  const outOfReach = (target: string | null | undefined) => target != null && target !== agent && !world.reachable(agent, target);
  /**
   * A failure as the port's error: a WorldError becomes a PortError with the same message,
   * 'unreachable' when one of the operation's `targets` is out of reach by now (the world refused
   * or aborted it because the target went away), else 'failed'. Anything else is not converted.
   */
  const portError = (e: unknown, targets: ReadonlyArray<string | null | undefined>): unknown =>
    e instanceof WorldError ? new PortError(targets.some(outOfReach) ? 'unreachable' : 'failed', e.message, {}, { cause: e }) : e;
  const isPortFailure = (e: unknown) => e instanceof WorldError || e instanceof PortError;

  /** Resolves `f()` after `us`; a WorldError or PortError thrown by f rejects (as a PortError). */
  const after = <T>(us: number, f: () => T, targets: ReadonlyArray<string | null | undefined> = []): SimFuture<T> => {
    const fut = new SimFuture<T>();
    k.after(us, () => {
      try {
        fut.resolve(f());
      } catch (e) {
        if (isPortFailure(e)) fut.reject(portError(e, targets));
        else throw e;
      }
    });
    return fut;
  };
  const chain = <T>(us: number, f: () => SimFuture<T>, targets: () => ReadonlyArray<string | null | undefined> = () => []): SimFuture<T> => {
    const fut = new SimFuture<T>();
    k.after(us, () => {
      const on = targets();
      let inner: SimFuture<T>;
      try {
        inner = f();
      } catch (e) {
        if (isPortFailure(e)) return fut.reject(portError(e, on));
        throw e;
      }
      inner.then((v) => fut.resolve(v), (e) => fut.reject(portError(e, on)));
    });
    return fut;
  };
  /**
   * The store is a node (the scenario's `store`): a call from an agent that cannot reach it both
   * ways fails as unreachable after the store's timeout (an etcd client's deadline), traced as
   * store.error; one that can is answered at once, as before (the papers' shared files). A
   * scenario that does not place the store keeps the shared files' reach: only a partition naming
   * "store" cuts an agent off (its own link down does not).
   */
  const storeAt = storeOf(world.scenario);
  const storeReached = (): boolean => {
    if (agent === storeAt.node) return true;
    if (storeAt.placed) return world.reachable(agent, storeAt.node) && world.reachable(storeAt.node, agent);
    // The default store: only a partition naming it cuts it off (as the shared files always were).
    return !world.partitioned(agent, storeAt.node) && !world.partitioned(storeAt.node, agent);
  };
  const storeCall = <T>(op: string, key: string, f: () => T): T | SimFuture<T> => {
    if (storeReached()) return f();
    const fut = new SimFuture<T>();
    k.after(storeAt.timeoutUs, () => {
      const error = `store ${op} ${key}: the store (${storeAt.node}) is unreachable from ${agent}`;
      store.unreachable(op, key, agent, error);
      fut.reject(new PortError('unreachable', error, { key, store: storeAt.node }));
    });
    return fut;
  };
  /** Commands reach a remote host only when it answers (SSH in live mode). */
  const requireReach = (target: string) => {
    if (outOfReach(target)) throw new PortError('unreachable', `${target} is unreachable from ${agent}`, { target });
  };
  /** The path to `host` is open both ways (the agent's own host always is). */
  const pathOpen = (host: string) => host === agent || (world.reachable(agent, host) && world.reachable(host, agent));
  /**
   * `f()` at the first try that finds the path to `host` open both ways; when none does before
   * `timeoutUs`, `fail()` rejects then. The call itself is the try at 0 and is the caller's;
   * `next(t)` is the try after the one at t (µs from the call, increasing). Each wait is scheduled
   * from the try before it, one at a time, so a long timeout costs nothing up front.
   */
  const onPathOpen = <T>(host: string, next: (t: number) => number, timeoutUs: number, f: () => SimFuture<T>, fail: () => unknown): SimFuture<T> => {
    const fut = new SimFuture<T>();
    const step = (prev: number) => {
      const t = next(prev);
      if (t >= timeoutUs) {
        k.after(timeoutUs - prev, () => fut.reject(fail()));
        return;
      }
      k.after(t - prev, () => {
        if (!pathOpen(host)) return step(t);
        try {
          f().then((v) => fut.resolve(v), (e) => fut.reject(e));
        } catch (e) {
          if (isPortFailure(e)) fut.reject(e);
          else throw e;
        }
      });
    };
    step(0);
    return fut;
  };
  /** A connection's SYN sent again every CONNECT_RETRY_US (Linux's linear SYN timeouts). */
  const synNext = (t: number): number => t + CONNECT_RETRY_US;
  /**
   * A Hypervisor call on `host`. Without `network.hypervisorUnreachableS`: `f()` when the agent
   * reaches the host, else a failure as unreachable at once. With it, the call first opens a
   * connection to the host, as a remote hypervisor does (live: the lab's gate,
   * adapters/lab/reach-gate.ts): it tries when called and again every CONNECT_RETRY_US (a SYN
   * retransmitted), and goes on with `f()` at the first try that finds the path open both ways;
   * when none does before the drawn timeout, it fails as unreachable then.
   */
  const onReachedHost = <T>(host: string, f: () => SimFuture<T>): SimFuture<T> => {
    if (net.hypervisorUnreachableS === undefined) {
      requireReach(host);
      return f();
    }
    if (pathOpen(host)) return f();
    const timeoutUs = draw(net.hypervisorUnreachableS, 'hypervisorUnreachable')!;
    return onPathOpen(host, synNext, timeoutUs, f, () => new PortError('unreachable', `${host} is unreachable from ${agent}`, { target: host }));
  };
  /**
   * An SSH command to `host`: `go()` makes the call as it is made on a path that is open (its
   * costs, `sshUs` included, and its check of the reach at the end). With
   * `network.sshRetransmit`, a call to a host that is up but cut off from the agent (a partition,
   * a cable pulled; a host that is off or crashed is left to `go`, which refuses it at once)
   * waits as live's SSH client does. Over a kept connection, TCP retransmits the command after
   * rtoMinS, then after twice as long each time (at 0.2, 0.6, 1.4, 3.0, 6.2 s ... for Linux's
   * 0.2 s): `go()` at the first retransmission that finds the path open both ways, else a
   * failure as 'timeout' at commandTimeoutS, which drops the connection (the SSH client drops a
   * connection whose command timed out). Without one, the connection's SYN is sent again every
   * second (`onPathOpen`, as a Hypervisor call's gate), `go()` (which pays the connect) at the
   * first that gets through, else a failure as 'timeout' at connectTimeoutS (the handshake's
   * timeout). Guests (reached through their guest agent) and the agent's own host are `go()`.
   */
  const overSsh = <T>(host: string, go: () => SimFuture<T>): SimFuture<T> => {
    const rt = net.sshRetransmit;
    if (rt === undefined || host === agent || !world.hosts.has(host) || pathOpen(host)) return go();
    const up = world.hostUptimeUs(host);
    if (up === null) return go();
    const dropUs = auditDropUs(host);
    // The audit's query has timed out there already: the connection is gone.
    if (dropUs !== null && dropUs <= k.nowUs()) sshKept.delete(host);
    const kept = sshKept.get(host) === k.nowUs() - up;
    if (!kept) {
      const timeoutUs = sToUs(rt.connectTimeoutS);
      return onPathOpen(host, synNext, timeoutUs, go, () => new PortError('timeout', `ssh to ${host}: no connection within ${rt.connectTimeoutS} s (cut off from ${agent})`, { target: host }));
    }
    // The command's own timeout, or the audit's query timing out first: the connection dropped
    // under the command ends it (live: its channel closes, 'unreachable').
    const commandUs = sToUs(rt.commandTimeoutS);
    const dropped = dropUs !== null && dropUs - k.nowUs() < commandUs;
    const timeoutUs = dropped ? dropUs - k.nowUs() : commandUs;
    // Retransmissions at rto, 3 rto, 7 rto, ...: each after twice the wait before it.
    const rtoUs = Math.max(1, sToUs(rt.rtoMinS));
    const bootedAt = sshKept.get(host);
    return onPathOpen(host, (t) => 2 * t + rtoUs, timeoutUs, go, () => {
      if (sshKept.get(host) === bootedAt) sshKept.delete(host);
      return dropped
        ? new PortError('unreachable', `ssh to ${host}: connection dropped (the VIP audit's query timed out; cut off from ${agent})`, { target: host })
        : new PortError('timeout', `${host}: command timed out after ${rt.commandTimeoutS} s (cut off from ${agent})`, { target: host });
    });
  };
  /**
   * A call that answers before its work is done (`first`): settled at once, the work going on
   * meanwhile (its failure then reaches no one, as live's reply came first); otherwise, or when
   * the work has already settled (refused at once), `work` itself.
   */
  const replyFirst = (work: SimFuture<void>, first: boolean): SimFuture<void> => {
    if (!first || work.settled) return work;
    work.then(undefined, () => undefined);
    return SimFuture.resolved<void>(undefined);
  };
  /** A VIP set on `holder` (`replay`: live's time for it in a paired replication). */
  const vipSet = (vip: string, holder: string, replay: number | null): SimFuture<void> => {
    // A real host serves the address once it is on its interface (hostVipAddS), a guest once
    // its gratuitous ARP is sent (guestVipServedS); the call returns after the rest of the set.
    // Paired: live's own instant (`vip.effect`, from the call's start: an SSH connect included,
    // so the sim's connect stays within it).
    const served = replayUs(vipSeries('vipServed', vip, holder));
    const connect = sshUs(holder);
    const ssh = replay === null ? connect : Math.min(connect, replay - 1, served === null ? Infinity : Math.max(0, served - 1));
    const setUs = replay === null ? vipUs(holder) : replay - ssh;
    const addUs = served !== null ? Math.max(1, served - ssh) : world.vms.has(holder) ? draw(net.guestVipServedS, 'guestVipServed') : draw(net.hostVipAddS, 'hostVipAdd');
    if (addUs === null || addUs >= setUs) {
      return after(setUs + ssh, () => {
        requireReach(holder);
        world.assignVip(vip, holder);
      }, [holder]);
    }
    return chain(ssh + addUs, () => {
      requireReach(holder);
      world.assignVip(vip, holder);
      return after<void>(setUs - addUs, () => undefined);
    }, () => [holder]);
  };
  /** A VIP removed from `holder` (`replay`: live's time for it in a paired replication). */
  const vipRemove = (vip: string, holder: string, replay: number | null): SimFuture<void> => {
    const ssh = world.nodeUp(holder) ? sshUs(holder) : 0;
    const removeUs = replay ?? vipUs(holder, true) + ssh;
    const remove = () => {
      // Removing from a dead holder (off or crashed) is a no-op for the network: it no longer
      // answers. A host whose link is down is up, only cut off: that removal waits (overSsh).
      if (world.nodeUp(holder)) requireReach(holder);
      world.removeVip(vip, holder);
    };
    // A guest's address is gone once `ip addr del` runs (guestVipGoneS; paired, live's
    // instant); the call returns after the status poll that sees it end.
    const goneUs = world.vms.has(holder) ? (replayUs(vipSeries('vipGone', vip, holder)) ?? draw(net.guestVipGoneS, 'guestVipGone')) : null;
    if (goneUs === null || goneUs >= removeUs) return after(removeUs, remove);
    return chain(goneUs, () => {
      remove();
      return after<void>(removeUs - goneUs, () => undefined);
    });
  };

  /** The host a VM is on now (null when it is not placed or unknown). */
  const hostOf = (vm: string) => world.vms.get(vm)?.host ?? null;

  /**
   * A ping answered both ways. A VIP's name pings the VIP's address: its answerer (the last live
   * holder) answers if it is reachable both ways; a VIP nobody holds does not answer.
   */
  const pingOk = (target: string): boolean => {
    if (world.vips.has(target)) {
      const who = world.vipAnswerer(target);
      return who !== null && pingOk(who);
    }
    return world.reachable(agent, target) && world.reachable(target, agent);
  };
  const examUs = (target: string, service: string) => sToUs(world.services.get(`${target}/${service}`)?.spec.examS ?? net.examS);

  /** Outcome and duration of a probe, from the world's state now (no randomness). */
  const evaluate = (spec: ProbeSpec): { detail: string; us: number } => {
    switch (spec.kind) {
      case 'network':
        return pingOk(spec.target) ? { detail: 'ok', us: sToUs(net.examS) } : { detail: 'unreachable', us: spec.timeoutUs };
      case 'service': {
        const a = world.serviceAnswer(agent, spec.target, spec.service);
        return { detail: a, us: a === 'ok' || a === 'refused' ? examUs(spec.target, spec.service) : spec.timeoutUs };
      }
      case 'examine': {
        if (!pingOk(spec.target)) return { detail: 'network', us: spec.networkTimeoutUs };
        let us = sToUs(net.examS);
        for (const s of spec.services) {
          const a = world.serviceAnswer(agent, spec.target, s);
          if (a === 'ok') {
            us += examUs(spec.target, s);
            continue;
          }
          us += a === 'refused' ? examUs(spec.target, s) : spec.serviceTimeoutUs;
          return { detail: `service:${s}:${a === 'refused' ? 'refused' : 'timeout'}`, us };
        }
        return { detail: 'ok', us };
      }
    }
  };

  /**
   * A VIP's ping depends on its holders (`vip:V`), on each holder's state and reachability
   * (`node:H`; a host emits it for its VMs as well), on the agent's and on the network: the
   * subscription follows the holders as they change (a node that is not a holder cannot change
   * the answer; one that becomes a holder does so through `vip:V`). O(holders), not O(nodes).
   */
  const subscribeVip = (vip: string, onChange: () => void): (() => void) => {
    const fixed = ['net', `node:${agent}`].map((s) => world.subscribe(s, onChange));
    const held = new Map<string, () => void>();
    const follow = () => {
      const now = new Set(world.vipHolders(vip));
      for (const [h, off] of held) if (!now.has(h)) {
        off();
        held.delete(h);
      }
      for (const h of now) if (h !== agent && !held.has(h)) held.set(h, world.subscribe(`node:${h}`, onChange));
    };
    follow();
    const offVip = world.subscribe(`vip:${vip}`, () => {
      follow();
      onChange();
    });
    return () => {
      for (const off of fixed) off();
      offVip();
      for (const off of held.values()) off();
    };
  };

  return {
    prober: {
      probe(spec: ProbeSpec) {
        const replay = spec.kind === 'examine' && spec.round === true ? replayOf(`examine/${spec.target}`) : null;
        // An examination round that failed live (a timeout, a re-examination on a loaded machine)
        // took that long to fail: the sim's takes as long and examines its world at the end.
        if (replay !== null && replay.failed) {
          return after(replay.us, (): ProbeResult => {
            const detail = evaluate(spec).detail;
            return { ok: detail === 'ok', detail, latencyUs: replay.us };
          });
        }
        const { detail, us } = evaluate(spec);
        // One that passed live takes live's time when it passes here too (failing here: its timeout).
        const latencyUs = detail === 'ok' && replay !== null ? replay.us : Math.max(1, us);
        const result: ProbeResult = { ok: detail === 'ok', detail, latencyUs };
        return after(latencyUs, () => result);
      },
    },
    quiet: {
      wouldPass: (spec) => evaluate(spec).detail === 'ok',
      passLatencyUs: (spec) => {
        const netUs = sToUs(net.examS);
        if (spec.kind === 'network') return netUs;
        if (spec.kind === 'service') return examUs(spec.target, spec.service);
        return spec.services.reduce((sum, s) => sum + examUs(spec.target, s), netUs);
      },
      subscribe(spec, onChange) {
        const services = spec.kind === 'service' ? [spec.service] : spec.kind === 'examine' ? spec.services : [];
        if (world.vips.has(spec.target)) return subscribeVip(spec.target, onChange);
        const subjects = [...world.subjectsFor(agent, spec.target), ...services.map((s) => `svc:${spec.target}/${s}`)];
        const offs = subjects.map((s) => world.subscribe(s, onChange));
        return () => offs.forEach((off) => off());
      },
      // The agent's own host only (the runtime checks): `load.sample` of it never fails.
      load: {
        now: (host) => world.load(host),
        latencyUs: () => latencyUs,
        subscribe: (host, onChange) => world.subscribeLoad(host, onChange),
      },
      holders: {
        now: (vip) => world.vipHolders(vip),
        latencyUs: () => latencyUs,
        subscribe: (vip, onChange) => world.subscribe(`vip:${vip}`, onChange),
      },
      shared: sharedQuiet(world, store),
      store: {
        holds: (key, holds) => storeReached() && holds(store.get(key)?.value ?? null),
        subscribe(key, onChange, part) {
          // The record's writes, and whatever can move storeReached(): the network, the agent, the store's node.
          const offs = [store.subscribe(key, onChange, part), ...world.subjectsFor(agent, storeAt.node).map((s) => world.subscribe(s, onChange))];
          return () => offs.forEach((off) => off());
        },
      },
    },
    hypervisor: {
      define: (vm, host) => after(latencyUs, () => {
        requireReach(host);
        world.vm(vm);
      }, [host]),
      // vmStartReplyFirst: the call returns once the VM is launched (live: `virsh create` returns
      // when qemu runs) and the guest boots meanwhile; else once it is running.
      start: (vm, host) => chain(hvCallUs, () => onReachedHost(host, () => replyFirst(world.startVm(vm, host), net.vmStartReplyFirst === true)), () => [host]),
      suspend: (vm) => chain(hvCallUs, () => {
        const h = world.vm(vm).host;
        if (h) requireReach(h);
        return world.suspendVm(vm);
      }, () => [hostOf(vm)]),
      resume: (vm, host) => chain(hvCallUs, () => onReachedHost(host, () => world.resumeVm(vm, host)), () => [host]),
      destroy: (vm) => chain(hvCallUs, () => world.destroyVm(vm), () => [hostOf(vm)]),
      migrate: (vm, toHost) => chain(hvCallUs, () => onReachedHost(toHost, () => {
        // A VM with a live-migration model (migrateS) keeps running while it moves.
        if (world.vm(vm).spec.migrateS !== undefined) return world.migrateVm(vm, toHost);
        const done = new SimFuture<void>();
        world.suspendVm(vm).then(() => world.resumeVm(vm, toHost).then(() => done.resolve(), (e) => done.reject(e)), (e) => done.reject(e));
        return done;
      }), () => [hostOf(vm), toHost]),
      get: (vm) => after(latencyUs, () => world.vmRow(vm) as VmInfo | undefined),
      list: (host) => after(latencyUs, () => {
        // Every VM: the world's kept rows (frozen, shared by every caller until a VM changes).
        if (host === undefined) return world.vmRows() as VmInfo[];
        const out: VmInfo[] = [];
        for (const [name, v] of world.vms) if (v.host === host) out.push({ name, host: v.host, state: v.state });
        return out;
      }),
    },
    power: {
      // A magic packet is a broadcast on the LAN: it needs no route to the (off) target.
      wake: (mac) => after(latencyUs, () => world.wake(mac)),
      shutdown: (host) => overSsh(host, () => after(commandUs + sshUs(host), () => {
        requireReach(host);
        world.shutdownHost(host);
      }, [host])),
      reboot: (host) => overSsh(host, () => after(commandUs + sshUs(host), () => {
        requireReach(host);
        void world.restartHost(host);
      }, [host])),
      // powerReplyFirst: the call returns once the host took the request (as a real
      // `systemctl suspend` and the lab's supervisor do) and the host suspends meanwhile; else
      // once it is suspended.
      suspend: (host) => overSsh(host, () => chain(commandUs, () => {
        requireReach(host);
        // Refused at once (the host is not on): the call fails either way.
        return replyFirst(world.suspendHost(host), net.powerReplyFirst === true);
      }, () => [host])),
      // Resuming a suspended server is a wake-up packet too: a suspended host is out of reach by
      // nature, so the world's refusal (it is not suspended) is 'failed'.
      // The Power port's resume returns when the host is on and, where the scenario gives
      // resumeAnswerS, when it answers after that (live: a command over a new SSH connection,
      // adapters/power/power.ts).
      resume: (host) => {
        const on = chain(latencyUs, () => world.resumeHost(host));
        if (net.resumeAnswerS === undefined) return on;
        const answered = new SimFuture<void>();
        on.then(() => k.after(draw(net.resumeAnswerS, 'resumeAnswer') ?? 0, () => answered.resolve()), (e) => answered.reject(e));
        return answered;
      },
    },
    network: {
      // A paired replication's VIP set or removal takes live's time, an SSH connect included
      // (the kept connections are counted as before; a connect comes first, within live's time).
      assignVip: (vip, holder) => {
        const replay = replayUs(vipSeries('vipSet', vip, holder));
        // A replayed set took live's time, any wait for the path included: not gated again.
        return replay === null ? overSsh(holder, () => vipSet(vip, holder, replay)) : vipSet(vip, holder, replay);
      },
      removeVip: (vip, holder) => {
        const replay = replayUs(vipSeries('vipRemove', vip, holder));
        return replay === null ? overSsh(holder, () => vipRemove(vip, holder, replay)) : vipRemove(vip, holder, replay);
      },
      vipHolders: (vip) => after(latencyUs, () => {
        keepAllSsh();
        return world.vipHolders(vip);
      }),
      poolAdd: (pool, member, weight) => after(poolWriteUs(), () => world.poolSet(pool, member, weight ?? 1)),
      poolRemove: (pool, member) => after(poolWriteUs(), () => world.poolSet(pool, member, null)),
    },
    load: {
      sample: (host) => {
        // Counted when called (every call counts, in order), even if it then waits for the path.
        const replay = replayUs(`sample/${host}`);
        return overSsh(host, () => after(replay ?? latencyUs, (): LoadSample => {
          requireReach(host);
          return world.load(host);
        }, [host]));
      },
      accesses: (node, windowUs) => after(replayUs(`accesses/${node}`) ?? latencyUs, () => {
        requireReach(node);
        return world.accesses(node, windowUs);
      }, [node]),
    },
    store: {
      get: (key) => storeCall('get', key, () => store.get(key)),
      cas: (key, expectVersion, value) => storeCall('cas', key, () => store.cas(key, expectVersion, value, agent)),
      del: (key, expectVersion) => storeCall('del', key, () => store.del(key, expectVersion, agent)),
      list: (prefix) => storeCall('list', prefix, () => store.list(prefix)),
    } as Ports['store'],
    messenger: {
      send(to: string, box: string, msg: AgentMessage) {
        // Delivered after the LAN delay if the path is open both at sending and at arrival.
        if (!world.reachable(agent, to)) {
          return after(draw(net.messageTimeoutS, 'messageTimeout') ?? latencyUs, () => {
            throw new PortError('unreachable', `message ${msg.type} to ${to}: unreachable`, { to });
          });
        }
        return after(latencyUs, () => {
          if (!world.reachable(agent, to)) throw new PortError('unreachable', `message ${msg.type} to ${to}: lost`, { to });
          runtime.deliver(mailboxOf(to, box), msg);
        });
      },
    },
    depot: {
      copyImage: (from, to, bytes, rateBps) => overSsh(from, () => overSsh(to, () => chain(commandUs, () => {
        requireReach(from);
        requireReach(to);
        return world.copyImage(from, to, bytes, rateBps);
      }, () => [from, to]))),
      uptime: (host) => overSsh(host, () => after(latencyUs, () => {
        requireReach(host);
        const us = world.hostUptimeUs(host);
        if (us === null) throw new PortError('unreachable', `${host} is not up`, { target: host });
        return us / 1e6;
      }, [host])),
      recordSample: (host, sample) => overSsh(host, () => after(commandUs, () => {
        requireReach(host);
        world.recordSample(host, sample);
      }, [host])),
      syncDatabase: (from, to, bytes, rateBps) => overSsh(from, () => overSsh(to, () => chain(commandUs, () => {
        requireReach(from);
        requireReach(to);
        return world.shipDatabase(from, to, bytes, rateBps);
      }, () => [from, to]))),
      restoreDatabase: (host) => overSsh(host, () => after(commandUs, () => {
        requireReach(host);
        return world.restoreDatabase(host);
      }, [host])),
    },
    services: {
      start: (target, service) => overSsh(target, () => chain(serviceCmdUs(target, true), () => {
        requireReach(target);
        // A start in a guest timed as a command (guestStartS: the daemon put in the background, as
        // live's guest-agent start returns) returns with the command; the service answers its
        // restartS later. Otherwise the call returns once the service is up.
        return replyFirst(world.restartService(target, service), net.guestStartS !== undefined && world.vms.has(target));
      }, () => [target])),
      stop: (target, service) => overSsh(target, () => after(serviceCmdUs(target), () => {
        requireReach(target);
        world.stopService(target, service);
      }, [target])),
      restart: (target, service) => overSsh(target, () => chain(serviceCmdUs(target), () => {
        requireReach(target);
        return world.restartService(target, service);
      }, () => [target])),
    },
  };
}
