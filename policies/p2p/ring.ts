// Who manages whom: the operation file built from the group file, the dynamic management
// extension, and the paper's analytical comparison with a single management server (MSBS).
// Source: kitamura-2018, §2.1 (Tables 1, 2), §2.2 (Fig. 2), §2.6 (Fig. 6), §3.2-3.3 (Figs. 8-10).
//
// The ring, read from the paper's examples:
// - Fig. 2 (six servers): Server 1 manages Server 2 with P1 and Server 6 with P2; Server 2 is
//   managed by Server 1 with P1 and by Server 3 with P2. So in group order, server i manages its
//   successor i+1 with P1 and its predecessor i-1 with P2, cyclically.
// - Fig. 6: the mail server manages the web server with P1 and a login server with P2, i.e. the
//   group file lists ..., Login, Mail, Web, ...
// - Dynamic management extension (§3.1-3.3): when a server fails, its P1 manager takes over the
//   failed server's P1 target, and that target's P2 program now watches the P1 manager. In every
//   example of Figs. 8, 9 and 10 the result is exactly the ring rebuilt over the servers still in
//   the group file, in their original order (the failed ones moved to the separation file):
//     Fig. 8 / 9(a), S2 down:        S1 manages S3 with P1, S3 manages S1 with P2;
//     Fig. 9(b), S2, S3 down:        S1 manages S4 with P1, S4 manages S1 with P2;
//     Fig. 9(c), S2, S4 down:        S1 manages S3 (P1), S5 manages S3 (P2);
//                then S3 down too:   S1 manages S5 (P1), S5 manages S1 (P2);
//     Fig. 10(a), S2 back (S3 down): S4 manages S2 with P2, S1 no longer manages S4 with P1;
//     Fig. 10(b), S1 back (S2 down): S3 no longer manages S6 with P2, S6 no longer manages S3
//                with P1.
//   A recovered server goes back to its original place in the group file (§2.6).

import { markDeepFrozen } from '../../engine/ports/store.ts';
import { ChunkedList, asList, commonEnds, listArray, listAt, type ListOf } from '../../trace/chunked-list.ts';

/** Server management priority (§2.2): P1 acts on trouble; P2 waits and takes over if P1 fails. */
export type Priority = 'P1' | 'P2';

/**
 * One line of the group file (§2.6): the target server's host name and the file name of its
 * management data. The line number of the group file is the entry's 1-based position.
 */
export interface GroupEntry {
  host: string;
  dataFile: string;
}

/** A group given either as entries or as bare host names (data file `<host>.dat`, per Fig. 4). */
export type Group = readonly GroupEntry[] | readonly string[];
/** A group as the store's group file holds it: names in a chunked list (see trace/chunked-list.ts), or any `Group`. */
export type GroupList = Group | ChunkedList<string>;

/**
 * The operation file as the store holds it: a chunked list of rows (written by `operationFile`)
 * or, as JSON gives it back (a live store, a trace), a plain array.
 */
export type OperationFile = ListOf<OperationRow>;

/** One line of the operation file (§2.6): `manager` runs a management program on `target`. */
export interface OperationRow {
  priority: Priority;
  manager: string;
  target: string;
  /** The target's management data, the argument of the management program (Fig. 4). */
  dataFile: string;
}

/** Management data file of a host: host name Mail -> Mail.dat (§2.4, Fig. 4). */
export function managementDataFile(host: string): string {
  return `${host}.dat`;
}

/** Group entries from bare host names, in the given order. */
export function groupFromHosts(hosts: readonly string[]): GroupEntry[] {
  return hosts.map((host) => ({ host, dataFile: managementDataFile(host) }));
}

/**
 * The operation file for a group, in group order: for each server i, a P1 row for its successor
 * and then a P2 row for its predecessor (Fig. 2).
 *
 * Sizes (Table 1, "targets per management server"):
 * - n = 0 or 1: no rows; a lone server has nobody to manage and nobody to manage it.
 * - n = 2: successor and predecessor are the same server. Table 1 gives one target per management
 *   server, so each server manages the other once, with P1. We emit no P2 row: P2 exists to take
 *   over when the P1 manager is itself down, and with two servers there is no third one to do it.
 *   The surviving one of the pair must act, which is P1's role.
 * - n >= 3: two rows per server; each server is the target of exactly one P1 and one P2 manager.
 */
export function operationRows(group: Group): OperationRow[] {
  const entries = toEntries(group);
  const n = entries.length;
  if (n < 2) return [];
  const rows: OperationRow[] = [];
  for (let i = 0; i < n; i++) {
    const self = entries[i];
    const next = entries[(i + 1) % n];
    const prev = entries[(i - 1 + n) % n];
    rows.push({ priority: 'P1', manager: self.host, target: next.host, dataFile: next.dataFile });
    if (n >= 3) rows.push({ priority: 'P2', manager: self.host, target: prev.host, dataFile: prev.dataFile });
  }
  return rows;
}

/**
 * The operation file for a group as written to the store: the rows of `operationRows` in a
 * chunked list (trace/chunked-list.ts; JSON: the array of rows), frozen (list and rows, marked
 * deep-frozen so the store keeps it without walking it), each row the same object as the equal
 * row of `before` (the file it replaces) when there is one. A rewrite after a separation or a
 * return changes a few rows; the others stay shared, so the store keeps the file without copying
 * it and the old file's rows are not garbage.
 *
 * When `before` was itself made here (its group is remembered) the new file is derived from it:
 * only the rows of the servers between the two groups' common head and tail (and their ring
 * neighbours) are made and spliced into `before` (every chunk outside them shared, not copied),
 * and `before`'s row index is moved to the new file and updated for those rows (a separation or a
 * return: ~3 servers' rows) instead of being rebuilt from 2 N rows by every reader.
 */
export function operationFile(group: GroupList, before: OperationFile, chunk?: number): ChunkedList<OperationRow> {
  const derived = before instanceof ChunkedList ? deriveFile(group, before) : null;
  // `chunk`: the chunk size of a file built whole (tests use small ones; a derived file keeps its predecessor's).
  const rows = derived ?? ChunkedList.from(shareRows(operationRows(listArray<string | GroupEntry>(group) as Group), listArray(before)), chunk ?? (before instanceof ChunkedList ? before.chunkSize : undefined));
  // A copy unless frozen: a caller that changed its group in place would mislead the next derivation.
  fileGroups.set(rows, Object.isFrozen(group) ? group : (group as Group).slice());
  // The list is frozen as made, and its rows are (shared from `before` or frozen by `shareRows`/`deriveFile`).
  return markDeepFrozen(rows);
}

/** The group each file made by `operationFile` was made from (what `deriveFile` compares with). */
const fileGroups = new WeakMap<OperationFile, GroupList>();

const hostOf = (e: string | GroupEntry): string => (typeof e === 'string' ? e : e.host);
const dataOf = (e: string | GroupEntry): string => (typeof e === 'string' ? managementDataFile(e) : e.dataFile);
function hostAt(g: GroupList, i: number): string {
  return hostOf(listAt<string | GroupEntry>(g, i)!);
}
function dataAt(g: GroupList, i: number): string {
  return dataOf(listAt<string | GroupEntry>(g, i)!);
}
const sameRow = (o: OperationRow, r: OperationRow) => o.priority === r.priority && o.manager === r.manager && o.target === r.target && o.dataFile === r.dataFile && Object.isFrozen(o);

/** `rows` (fresh from `operationRows`) with every row equal to one of `before`'s replaced by it. */
function shareRows(rows: OperationRow[], before: readonly OperationRow[]): OperationRow[] {
  const nb = before.length;
  const na = rows.length;
  // The common head and tail in place, then the rows between them (a few after a separation or a
  // return) by manager among the old file's rows between them (a ring's rows are unique, so an
  // equal row elsewhere in the old file would be a second copy of a head or tail row).
  let h = 0;
  for (; h < nb && h < na && sameRow(before[h], rows[h]); h++) rows[h] = before[h];
  let t = 0;
  for (; t < nb - h && t < na - h && sameRow(before[nb - 1 - t], rows[na - 1 - t]); t++) rows[na - 1 - t] = before[nb - 1 - t];
  const old = new Map<string, OperationRow[]>();
  for (let i = h; i < nb - t; i++) addRow(old, before[i].manager, before[i]);
  for (let i = h; i < na - t; i++) {
    const r = rows[i];
    rows[i] = old.get(r.manager)?.find((o) => sameRow(o, r)) ?? Object.freeze(r);
  }
  return rows;
}

/**
 * The new file derived from `before` (see `operationFile`), or null when it cannot be (`before`
 * not made by `operationFile`, a ring of fewer than 3 servers before or after, a change that
 * touches most of the ring, a host listed twice or unnamed: the full build handles, or refuses,
 * those). With n >= 3 servers, server i's rows are rows 2i (P1: its successor) and 2i + 1 (P2:
 * its predecessor), so a server whose neighbours are the same in both groups keeps its two rows.
 */
function deriveFile(group: GroupList, before: ChunkedList<OperationRow>): ChunkedList<OperationRow> | null {
  const old = fileGroups.get(before);
  if (old === undefined) return null;
  const n = old.length;
  const m = group.length;
  if (n < 3 || m < 3 || before.length !== 2 * n) return null;
  const same = (a: string | GroupEntry, b: string | GroupEntry) => {
    if (a === b) return true;
    if (typeof a === 'string' && typeof b === 'string') return false;
    return hostOf(a) === hostOf(b) && dataOf(a) === dataOf(b);
  };
  // Two group files, one made from the other: their shared chunks are passed over.
  const { head: h, tail: t } = commonEnds<string | GroupEntry>(asList<string | GroupEntry>(old), asList<string | GroupEntry>(group), same);
  // Servers whose rows may differ: from the last of the head to the first of the tail, in ring
  // order (so with no head, the last server, whose successor changed; with no tail, the first).
  const lo = h - 1;
  const hiNew = m - t;
  const hiOld = n - t;
  if (hiNew - lo + 1 >= m - 1 || hiOld - lo + 1 >= n - 1) return null;
  const wrap = (i: number, k: number) => ((i % k) + k) % k;
  const changedNew: number[] = [];
  for (let i = lo; i <= hiNew; i++) changedNew.push(wrap(i, m));
  const changedOld: number[] = [];
  for (let i = lo; i <= hiOld; i++) changedOld.push(wrap(i, n));
  const ix = rowIndex(before);
  // The index without the old rows of the changed servers, then with their new rows.
  const touched = new Map<Map<string, OperationRow[]>, Set<string>>([[ix.byManager, new Set()], [ix.byTarget, new Set()]]);
  const removed = new Set<OperationRow>();
  for (const j of changedOld) {
    for (const r of [before.get(2 * j)!, before.get(2 * j + 1)!]) {
      removed.add(r);
      touched.get(ix.byManager)!.add(r.manager);
      touched.get(ix.byTarget)!.add(r.target);
    }
  }
  const oldRows = new Map<string, OperationRow[]>();
  for (const r of removed) addRow(oldRows, r.manager, r);
  const made: OperationRow[] = [];
  const madeAt = new Map<number, number>();
  const managersNew = new Set<string>();
  for (const i of changedNew) {
    const self = hostAt(group, i);
    if (typeof self !== 'string' || self.length === 0 || managersNew.has(self)) return null;
    managersNew.add(self);
    const next = wrap(i + 1, m);
    const prev = wrap(i - 1, m);
    madeAt.set(i, made.length);
    for (const r of [
      { priority: 'P1' as const, manager: self, target: hostAt(group, next), dataFile: dataAt(group, next) },
      { priority: 'P2' as const, manager: self, target: hostAt(group, prev), dataFile: dataAt(group, prev) },
    ]) made.push(oldRows.get(self)?.find((o) => sameRow(o, r)) ?? Object.freeze(r));
  }
  // A host of the changed part that also manages in the unchanged part is listed twice.
  for (const self of managersNew) {
    const kept = ix.byManager.get(self);
    if (kept !== undefined && kept.some((r) => !removed.has(r))) return null;
  }
  // The rows: unchanged servers in place (head: same index; tail: shifted by m - n), changed ones
  // new. The old rows of servers a..bOld become the new rows of servers a..bNew (one edit of the
  // chunked list: every chunk outside it is shared with `before`); a changed server outside that
  // span (the last one when the head is empty, the first when the tail is) is one more edit.
  const a = Math.max(lo, 0);
  const bOld = Math.min(hiOld, n - 1);
  const bNew = Math.min(hiNew, m - 1);
  const mid: OperationRow[] = [];
  for (let i = a; i <= bNew; i++) {
    const k = madeAt.get(i)!;
    mid.push(made[k], made[k + 1]);
  }
  let rows = before.splice(2 * a, 2 * (bOld - a + 1), mid);
  for (const i of changedNew) {
    if (i >= a && i <= bNew) continue;
    const k = madeAt.get(i)!;
    rows = rows.splice(2 * i, 2, [made[k], made[k + 1]]);
  }
  // The changed servers' rows were visited in ring order, not file order: a server's lists hold
  // at most one P1 and one P2 row in a ring of 3 or more, so P1 first is the file's order.
  for (const r of made) {
    touched.get(ix.byManager)!.add(r.manager);
    touched.get(ix.byTarget)!.add(r.target);
  }
  const addBy = (map: Map<string, OperationRow[]>, keyOf: (r: OperationRow) => string) => {
    for (const key of touched.get(map)!) {
      const list = (map.get(key) ?? []).filter((r) => !removed.has(r));
      for (const r of made) if (keyOf(r) === key) list.push(r);
      list.sort((a, b) => (a.priority === b.priority ? 0 : a.priority === 'P1' ? -1 : 1));
      if (list.length === 0) map.delete(key);
      else map.set(key, list);
    }
  };
  addBy(ix.byManager, (r) => r.manager);
  addBy(ix.byTarget, (r) => r.target);
  ix.n = rows.length;
  rowIndexes.delete(before);
  rowIndexes.set(rows, ix);
  return rows;
}

/**
 * The group file after moving the given servers to the separation file (§2.6): the remaining
 * entries in their original order. Every name in `separated` must be in the group.
 */
export function survivingGroup(group: Group, separated: Iterable<string>): GroupEntry[] {
  const entries = toEntries(group);
  const gone = new Set(separated);
  const known = new Set(entries.map((e) => e.host));
  for (const host of gone) {
    if (!known.has(host)) {
      throw new RangeError(
        `server "${host}" is marked failed/separated but is not in the group (${[...known].join(', ')}); ` +
          'check the spelling of the host name',
      );
    }
  }
  return entries.filter((e) => !gone.has(e.host));
}

/**
 * Dynamic management extension (§3.1-3.3, Fig. 9): the operation file over the servers that are
 * neither failed nor separated, keeping the original group order. With S1..S6 and S2 failed this
 * gives S1 -> S3 with P1 and S3 -> S1 with P2, as in Fig. 9(a). Size rules as `operationRows`.
 */
export function extendedOperationRows(group: Group, failed: Iterable<string>): OperationRow[] {
  return operationRows(survivingGroup(group, failed));
}

/** The targets a manager runs programs on, P1 first. */
export function targetsOf(rows: OperationFile, manager: string): OperationRow[] {
  return [...(rowIndex(rows).byManager.get(manager) ?? [])];
}

/** The managers watching a target, P1 first. */
export function managersOf(rows: OperationFile, target: string): OperationRow[] {
  return [...(rowIndex(rows).byTarget.get(target) ?? [])];
}

/**
 * The managers whose own rows (the programs they run: priority and target) differ between two
 * operation files: the supervisors a rewrite of the file concerns. Others run exactly what they
 * ran before. O(N) map look-ups, no copy of either file.
 */
export function changedManagers(before: OperationFile, after: OperationFile): Set<string> {
  // The writer and the store's call backs ask about the same pair of files: computed once (only
  // the last pair is kept, so no file holds on to the one it replaced).
  if (lastPair !== null && lastPair.before === before && lastPair.after === after) return new Set(lastPair.changed);
  const changed = diffManagers(before, after);
  lastPair = { before, after, changed: new Set(changed) };
  return changed;
}
let lastPair: { before: OperationFile; after: OperationFile; changed: ReadonlySet<string> } | null = null;

/**
 * The files' common head and tail hold the same rows (manager, priority, target) in the same
 * order, so a manager's list (its P1 rows, then the others, each in file order) differs exactly
 * when its rows between them differ: only the managers of those rows are compared, with no index
 * of either file (a separation or a return changes a few rows in the middle).
 */
function diffManagers(beforeFile: OperationFile, afterFile: OperationFile): Set<string> {
  const nb = beforeFile.length;
  const na = afterFile.length;
  const same = (x: OperationRow, y: OperationRow) => x === y || (x.manager === y.manager && x.priority === y.priority && x.target === y.target);
  const before = asList(beforeFile);
  const after = asList(afterFile);
  const { head: h, tail: t } = commonEnds(before, after, same);
  const mid = new Map<string, [OperationRow[], OperationRow[]]>();
  const add = (r: OperationRow, side: 0 | 1) => {
    let m = mid.get(r.manager);
    if (m === undefined) mid.set(r.manager, (m = [[], []]));
    insertRow(m[side], r);
  };
  for (let i = h; i < nb - t; i++) add(before.get(i)!, 0);
  for (let i = h; i < na - t; i++) add(after.get(i)!, 1);
  const changed = new Set<string>();
  for (const [manager, [x, y]] of mid) if (!sameTargets(x, y)) changed.add(manager);
  return changed;
}

/** Does `manager` run the same programs (priority and target) under both operation files? */
export function sameTargetsOf(before: OperationFile, after: OperationFile, manager: string): boolean {
  return before === after || sameTargets(rowIndex(before).byManager.get(manager), rowIndex(after).byManager.get(manager));
}

/** Does `manager` run the programs `mine` (priority and target, as `targetsOf` lists them) under `rows`? */
export function hasTargets(rows: OperationFile, manager: string, mine: readonly OperationRow[]): boolean {
  return sameTargets(mine, rowIndex(rows).byManager.get(manager));
}

function sameTargets(a: readonly OperationRow[] | undefined, b: readonly OperationRow[] | undefined): boolean {
  const n = a?.length ?? 0;
  if (n !== (b?.length ?? 0)) return false;
  for (let i = 0; i < n; i++) if (a![i].priority !== b![i].priority || a![i].target !== b![i].target) return false;
  return true;
}

/**
 * An operation file's rows by manager and by target (each list in file order, P1 first), built
 * once per file: every supervisor reads the same stored file, so a reconcile of N supervisors
 * costs O(N) in all instead of O(N) each. Files are never changed in place (a new one is
 * written); the row count guards against a caller that does.
 */
interface RowIndex {
  n: number;
  byManager: Map<string, OperationRow[]>;
  byTarget: Map<string, OperationRow[]>;
}
const rowIndexes = new WeakMap<OperationFile, RowIndex>();
function rowIndex(rows: OperationFile): RowIndex {
  let ix = rowIndexes.get(rows);
  if (ix && ix.n === rows.length) return ix;
  ix = { n: rows.length, byManager: new Map(), byTarget: new Map() };
  for (const r of rows) {
    addRow(ix.byManager, r.manager, r);
    addRow(ix.byTarget, r.target, r);
  }
  rowIndexes.set(rows, ix);
  return ix;
}

/** Appends `r` to `key`'s list, keeping P1 rows before P2 rows (a stable sort by priority). */
function addRow(map: Map<string, OperationRow[]>, key: string, r: OperationRow): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [r]);
  else insertRow(list, r);
}

/** Adds `r` to a manager's or a target's list: its P1 rows, then the others, each in file order. */
function insertRow(list: OperationRow[], r: OperationRow): void {
  if (list.length === 0 || r.priority === 'P2' || list[list.length - 1].priority === 'P1') list.push(r);
  else {
    // A P1 row after other rows: after the P1 rows already there.
    let i = list.length;
    while (i > 0 && list[i - 1].priority !== 'P1') i--;
    list.splice(i, 0, r);
  }
}

// ---------------------------------------------------------------------------------------------
// Table 1 and Table 2: the analytical comparison with MSBS (§2.1)

/** P2P: the proposed method; MSBS: one dedicated management server for all targets (ref. [13]). */
export type ManagementMethod = 'P2P' | 'MSBS';

/**
 * Table 1: target servers managed by one management server when there are n target servers.
 * P2P: 1 when n = 2, 2 when n >= 3 (and 0 for a lone server, which the table does not list).
 * MSBS: n, since its single management server watches every target.
 */
export function targetsPerManagementServer(n: number, method: ManagementMethod): number {
  assertCount('n (target servers)', n, 1);
  if (method === 'MSBS') return n;
  return Math.min(2, n - 1);
}

/**
 * Table 2: the largest number of virtual servers one management server must start when `failed`
 * of the n target servers are down (0 <= failed <= n-1; at least one server must survive).
 *
 * MSBS: its one management server starts all of them, so `failed`.
 *
 * P2P: ceil(failed / (n - failed)). Reasoning: the virtual servers run on the surviving servers,
 * and the non-select value charges 100 per running virtual server while the load part is at most
 * 100 (Fig. 5(b)), so the choice spreads virtual servers evenly over the survivors. With at least
 * as many survivors as failures (failed <= n/2) nobody starts more than one, which is Table 2's
 * run of 1s; with one survivor it starts all n-1, the table's last column and the §3.3 example
 * (five of six down: the one running server starts five).
 *
 * Reconciling with the printed row (1 ... 1 | n/2+1 -> 2 | n/2+2 -> 3 | ... | n-1 -> n-1):
 * read as "f = n/2 + k gives k + 1" the row contradicts its own last column (k = n/2 - 1 would
 * give n/2, not n-1), and for n = 6 the columns n/2+2 and n-1 are the same column, printed as
 * both 3 and 5. So the middle columns are a sketch, not a formula; where they collide with n-1 we
 * follow n-1 (it is backed by §3.3). The even-spread formula matches every other printed column
 * for even n from 4 to 10 (n/2+1 -> 2 for n >= 6; n/2+2 -> 3 for n = 8, 10). For larger n it
 * grows more slowly than k + 1, e.g. n = 12, f = 8: 8 failures over 4 survivors is 2 each, not 3.
 */
export function maxVmStartsPerManagementServer(n: number, failed: number, method: ManagementMethod): number {
  assertCount('n (target servers)', n, 1);
  assertCount('failed (troubled servers)', failed, 0);
  if (failed > n - 1) {
    throw new RangeError(`failed must be at most n-1 = ${n - 1} (someone must survive to start virtual servers), got ${failed}`);
  }
  if (method === 'MSBS') return failed;
  if (failed === 0) return 0;
  return Math.ceil(failed / (n - failed));
}

// ---------------------------------------------------------------------------------------------
// helpers

function toEntries(group: Group): GroupEntry[] {
  const entries = group.map((g: string | GroupEntry) =>
    typeof g === 'string' ? { host: g, dataFile: managementDataFile(g) } : { host: g.host, dataFile: g.dataFile },
  );
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    if (typeof e.host !== 'string' || e.host.length === 0) {
      throw new RangeError(`group line ${i + 1}: host name must be a non-empty string`);
    }
    if (seen.has(e.host)) {
      throw new RangeError(`group line ${i + 1}: host "${e.host}" is listed twice; each server appears once in the group file`);
    }
    seen.add(e.host);
  }
  return entries;
}

function assertCount(field: string, x: number, min: number): void {
  if (!Number.isSafeInteger(x) || x < min) throw new RangeError(`${field} must be a whole number >= ${min}, got ${x}`);
}
