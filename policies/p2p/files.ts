// The P2P management files (kitamura-2018 §2.4, §2.6, Fig. 4, Fig. 6) as typed Store records.
// Group and separation live in ONE record so moving a server between them is one atomic
// compare-and-set: a server is in exactly one of the two at every instant.
import type { Op } from '../../engine/runtime/effects.ts';
import { lowerBound, markDeepFrozen } from '../../engine/ports/store.ts';
import { storeCall } from '../store.ts';
import { ChunkedList, asList, commonEnds, listArray, listAt, type ListOf } from '../../trace/chunked-list.ts';
import type { ServerType, LoadMeasurement, ServerCapacity } from './placement.ts';
import { changedManagers, operationFile, type OperationFile, type OperationRow } from './ring.ts';

/** Management data, one per target server (Fig. 4, eight lines). */
export interface ManagementData {
  /** 1: virtual IP address the clients use. */
  vip: string;
  /** 2: host name of the target server. */
  host: string;
  /** 3: its real address (IPR). */
  ip: string;
  /** 4: its MAC, for Wake-on-LAN. */
  mac: string;
  /** 5: service daemons, in examination order. */
  daemons: string[];
  /** 6: server type for placement (Fig. 5b). */
  serverType: ServerType;
  /** 7: the backup virtual server. */
  vm: string;
  /** 8: the virtual server's address (IPV). */
  vmIp: string;
}

/** Group file + separation file (+ the original order, to put a recovered server back in place). */
export interface Membership {
  /**
   * The group file: a chunked list as written here (a separation or a return makes a new list
   * sharing every chunk but one with the last), a plain array as JSON gives it back (a live store).
   */
  group: ListOf<string>;
  separation: string[];
  order: string[];
  /** Who is recovering each separated server (so a dead claimant can be replaced). */
  claims?: Record<string, string>;
}

/** Trouble file row: which VM stands in for which target, on which management server (§2.6). */
export interface TroubleRecord {
  vm: string;
  target: string;
  host: string;
  manager: string;
}

/** What the load subprogram of a management server records for the real server condition file. */
export interface ConditionRecord {
  server: string;
  capacity: ServerCapacity;
  previous: LoadMeasurement[];
  current: LoadMeasurement[];
}

export const KEYS = {
  membership: 'p2p/membership',
  operation: 'p2p/operation',
  data: (target: string) => `p2p/data/${target}`,
  trouble: (target: string) => `p2p/trouble/${target}`,
  troublePrefix: 'p2p/trouble/',
  condition: (server: string) => `p2p/condition/${server}`,
  conditionPrefix: 'p2p/condition/',
};

/** Reads, changes and writes a record with compare-and-set, retrying on a concurrent write. */
export function* update<T>(key: string, change: (cur: T | null) => T | null): Op<T | null> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const cur = yield* storeCall('get', key);
    const curVal = (cur?.value ?? null) as T | null;
    const next = change(curVal);
    if (next === null) {
      if (!cur) return null;
      if (yield* storeCall('del', key, cur.version)) return null;
      continue;
    }
    const r = yield* storeCall('cas', key, cur?.version ?? 0, next);
    if (r.ok) return next;
  }
  throw new Error(`store record ${key}: 100 concurrent-write retries, giving up`);
}

/**
 * Is `server` in the group file (`inGroup`) or the separation file (`isSeparated`)? Each record
 * is indexed once (records are replaced, never changed in place), so a check is O(1), not a scan
 * of N names; the length guards against a caller that changes a list in place.
 */
export function inGroup(m: Membership, server: string): boolean {
  // A group known to follow the order file (`ordered`): a binary search over the places in the
  // order file (indexed once), no set of N names per new group file.
  if (orderedGroups.get(m.group) === m.order) return groupIndexOf(m, server) >= 0;
  return setOf(m.group).has(server);
}

/**
 * `m.group.indexOf(server)`: for a group known to follow the order file (`ordered`: each server
 * once, in the order file's order) a binary search over the places in the order file, else the
 * walk (`indexOf` compares up to N names, which are not the same string objects).
 */
export function groupIndexOf(m: Membership, server: string): number {
  if (orderedGroups.get(m.group) !== m.order) return m.group.indexOf(server);
  const at = orderIndex(m.order);
  const pos = at.get(server);
  if (pos === undefined) return -1;
  const g = m.group;
  const i = g instanceof ChunkedList ? g.lowerBound((x) => at.get(x)! < pos) : lowerBound(g.length, (k) => at.get(g[k])! < pos);
  return i < g.length && listAt(g, i) === server ? i : -1;
}
export function isSeparated(m: Membership, server: string): boolean {
  return setOf(m.separation).has(server);
}
const nameSets = new WeakMap<ListOf<string>, { n: number; set: Set<string> }>();
function setOf(names: ListOf<string>): Set<string> {
  let s = nameSets.get(names);
  if (!s || s.n !== names.length) {
    s = { n: names.length, set: new Set(names) };
    nameSets.set(names, s);
  }
  return s.set;
}

/**
 * The servers whose place in the group file (in it or not) a write from `before` to `after`
 * may change (records as stored, null: none): the names between the group lists' longest common
 * head and tail (one name for a separation or a return). The part that `inGroup` reads.
 */
export function groupChanged(before: unknown, after: unknown): string[] {
  const ga = (before as Membership | null)?.group ?? [];
  const gb = (after as Membership | null)?.group ?? [];
  if (ga === gb) return [];
  // One list made from the other: the chunks they share are passed over.
  const a = asList(ga);
  const b = asList(gb);
  const { head, tail } = commonEnds(a, b, (x, y) => x === y);
  const out: string[] = [];
  for (let i = head; i < a.length - tail; i++) out.push(a.get(i)!);
  for (let i = head; i < b.length - tail; i++) out.push(b.get(i)!);
  return out;
}

/** The managers whose own rows of the operation file a write changes (`changedManagers`): the part `sameTargetsOf` reads. */
export function operationChanged(before: unknown, after: unknown): Set<string> {
  return changedManagers((before ?? []) as OperationFile, (after ?? []) as OperationFile);
}

export function* readMembership(): Op<Membership> {
  const r = yield* storeCall('get', KEYS.membership);
  if (!r) throw new Error('P2P: no group file in the store (was the system initialised?)');
  return r.value as Membership;
}

/**
 * Moves `server` from the group file to the separation file, claimed by `manager`. The
 * compare-and-set makes this the claim on the recovery: `claimed` is false when another manager
 * separated it first. `changed`: the managers whose rows of the operation file this write changed.
 */
export function* separate(server: string, manager: string): Op<{ membership: Membership; claimed: boolean; changed: ReadonlySet<string> }> {
  let claimed = false;
  const m = yield* update<Membership>(KEYS.membership, (cur) => {
    if (!cur) throw new Error('P2P: no group file');
    const i = groupIndexOf(cur, server);
    claimed = i >= 0;
    if (!claimed) return cur;
    return {
      ...cur,
      // A group that follows the order file lists the server once (at i).
      group: keepOrdered(cur, frozenNames(without(cur.group, server, orderedGroups.get(cur.group) === cur.order ? i : undefined))),
      separation: [...cur.separation, server],
      claims: { ...(cur.claims ?? {}), [server]: manager },
    };
  });
  const changed = claimed ? yield* writeOperation(m!) : new Set<string>();
  return { membership: m!, claimed, changed };
}

/** Takes over the recovery of a separated server from a claimant that is gone. */
export function* reclaim(server: string, from: string, to: string): Op<boolean> {
  let ok = false;
  yield* update<Membership>(KEYS.membership, (cur) => {
    if (!cur) throw new Error('P2P: no group file');
    ok = cur.separation.includes(server) && (cur.claims ?? {})[server] === from;
    return ok ? { ...cur, claims: { ...(cur.claims ?? {}), [server]: to } } : cur;
  });
  return ok;
}

/** Returns `server` from the separation file to its place in the group file (`changed` as for `separate`). */
export function* rejoin(server: string): Op<{ membership: Membership; changed: ReadonlySet<string> }> {
  const m = yield* update<Membership>(KEYS.membership, (cur) => {
    if (!cur) throw new Error('P2P: no group file');
    const claims = { ...(cur.claims ?? {}) };
    delete claims[server];
    if (groupIndexOf(cur, server) >= 0) return { ...cur, claims };
    return { ...cur, group: frozenNames(returned(cur, server)), separation: cur.separation.filter((s) => s !== server), claims };
  });
  const changed = yield* writeOperation(m!);
  return { membership: m!, changed };
}

/**
 * The group file with `server` back at its place: the servers of the order file that are in the
 * group or are `server`, in the order file's order. For a group known to list servers of the
 * order file in its order (one written here: `ordered`), `server` is put in by a binary search
 * over the places in the order file (indexed once per order file, which never changes); for any
 * other, the order file is filtered.
 */
export function returned(m: Membership, server: string): ChunkedList<string> {
  const g = asList(m.group);
  const pos = orderedGroups.get(m.group) === m.order ? orderIndex(m.order).get(server) : undefined;
  if (pos === undefined) {
    const inGroup = new Set([...g, server]);
    return ordered(ChunkedList.from(m.order.filter((s) => inGroup.has(s))), m.order);
  }
  const at = orderIndex(m.order);
  // One chunk made again, the others shared with the last group file.
  return ordered(g.splice(g.lowerBound((x) => at.get(x)! < pos), 0, [server]), m.order);
}

/**
 * `names` without `name`, sharing every chunk but the one it was in. `once`: the place of `name`,
 * known to be listed there only (no search for it, or for a second copy).
 */
function without(names: ListOf<string>, name: string, once?: number): ChunkedList<string> {
  const list = asList(names);
  const i = once ?? list.indexOf(name);
  if (i < 0) return list;
  if (once !== undefined || list.indexOf(name, i + 1) < 0) return list.splice(i, 1);
  return ChunkedList.from(listArray(names).filter((s) => s !== name)); // listed twice: every copy out
}
/** `group`, known to list servers of `order` once each, in its order (what `returned` relies on). */
export function ordered<G extends ListOf<string>>(group: G, order: readonly string[]): G {
  orderedGroups.set(group, order);
  return group;
}
const orderedGroups = new WeakMap<ListOf<string>, readonly string[]>();
const orderIndexes = new WeakMap<readonly string[], { n: number; at: Map<string, number> }>();
function orderIndex(order: readonly string[]): Map<string, number> {
  let ix = orderIndexes.get(order);
  if (!ix || ix.n !== order.length) {
    const at = new Map<string, number>();
    for (let i = order.length - 1; i >= 0; i--) at.set(order[i], i);
    ix = { n: order.length, at };
    orderIndexes.set(order, ix);
  }
  return ix.at;
}

/** `group`, made from `m.group` by taking servers out, is in order if `m.group` was. */
function keepOrdered(m: Membership, group: ChunkedList<string>): ChunkedList<string> {
  return orderedGroups.get(m.group) === m.order ? ordered(group, m.order) : group;
}

/**
 * A list of names frozen (an array typed as the records' lists; a chunked list is frozen as made)
 * and marked deep-frozen: the store keeps it as it is written, without walking its N names.
 */
export function frozenNames<L extends string[] | ChunkedList<string>>(names: L): L {
  return markDeepFrozen(Object.freeze(names)) as L;
}

/**
 * The operation file is derived from the group file (§2.6). Returns the managers whose rows the
 * write changed, against the file it replaced (the one its compare-and-set succeeded on).
 */
function* writeOperation(m: Membership): Op<Set<string>> {
  let rows: OperationFile = [];
  let before: OperationFile = [];
  yield* update<OperationFile>(KEYS.operation, (cur) => {
    before = cur ?? [];
    rows = operationFile(m.group, before);
    return rows;
  });
  return changedManagers(before, rows);
}

export function* readOperation(): Op<OperationFile> {
  const r = yield* storeCall('get', KEYS.operation);
  return (r?.value ?? []) as OperationFile;
}

export function* readData(target: string): Op<ManagementData> {
  const r = yield* storeCall('get', KEYS.data(target));
  if (!r) throw new Error(`P2P: no management data for ${target}`);
  return r.value as ManagementData;
}
