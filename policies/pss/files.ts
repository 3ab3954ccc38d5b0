// The PSS configuration files of kitamura-2019 Table 1, as store records. Each file is one record
// (a list of rows); every edit is a read then a compare-and-set, retried on conflict: the paper's
// file lock, without a lock that a dead editor could leave held.
import { call } from '../../engine/ports/index.ts';
import { S, now, sleep, trace, type Op } from '../../engine/runtime/effects.ts';
import { storeCall } from '../store.ts';
import type { Condition } from './decide.ts';

export const PSS_KEYS = {
  /** Operation file: VMs serving clients. */
  operation: 'pss/operation',
  /** Access stop file: VMs that hold no VIP now. */
  accessStop: 'pss/access-stop',
  /** Separation file: VMs in trouble (written by the MSBS through the SIF). */
  separation: 'pss/separation',
  /** Spare server file: spares not in use (their real server and VIP are set when used). */
  spare: 'pss/spare',
  /** Real server file: running real servers with their MAC. */
  realServer: 'pss/real-server',
  /** Suspension real file: suspended real servers. */
  suspensionReal: 'pss/suspension-real',
  /** State file: each group's condition and its base servers. */
  state: 'pss/state',
} as const;

/** A row of the operation, access stop, separation and spare files. */
export interface VmRow {
  group: string;
  /** The real server the VM runs on ('' for an unused spare). */
  realServer: string;
  /** The VIP it holds ('' when none). */
  vip: string;
  host: string;
}

export interface RealRow {
  realServer: string;
  mac: string;
}

export interface StateRow {
  group: string;
  condition: Condition;
  baseServers: string[];
}

/** Reads a file (an absent record is an empty file). */
export function* readFile<T>(key: string): Op<T[]> {
  const r = yield* storeCall('get', key);
  return ((r?.value as T[] | undefined) ?? []).slice();
}

/** Edits a file with compare-and-set: `f` gets the current rows and returns the new ones. */
export function* editFile<T>(key: string, f: (rows: T[]) => T[]): Op<T[]> {
  for (;;) {
    const cur = yield* storeCall('get', key);
    const next = f(((cur?.value as T[] | undefined) ?? []).slice());
    const r = yield* storeCall('cas', key, cur?.version ?? 0, next);
    if (r.ok) return next;
  }
}

/** Moves the rows matching `which` from one file to another (each file edited with CAS). */
export function* moveRows<T>(fromKey: string, toKey: string, which: (r: T) => boolean, change: (r: T) => T = (r) => r): Op<T[]> {
  let moved: T[] = [];
  yield* editFile<T>(fromKey, (rows) => {
    moved = rows.filter(which);
    return rows.filter((r) => !which(r));
  });
  if (moved.length > 0) yield* editFile<T>(toKey, (rows) => [...rows, ...moved.map(change)]);
  return moved;
}

/**
 * Who holds a VIP, for the PSS and the MSBS that both move VIPs (one record per VIP). A mover
 * claims it with compare-and-set (`moving: true`), moves the VIP, and releases it: a second mover
 * waits for the first and then sees the holder it left, so the two never both set the VIP.
 */
export const vipKey = (vip: string) => `pss/vip/${vip}`;
interface VipRecord {
  holder: string;
  moving: boolean;
  /** A claim's target and when it was made (absent in records written before claims carried them). */
  to?: string;
  since?: number;
}

/**
 * A claim older than this is a dead mover's: every mover runs on the management server, and one
 * that restarts (or fails) mid-move leaves its claim behind, which held every later mover of the
 * VIP, the PSS's transitions and the DBSSs', for good. A move is one removal and one assignment
 * (with a rollback at most one more), each bounded by its port's timeout (10 s live), so a live
 * claim is never this old.
 */
export const VIP_CLAIM_STALE_US = 60_000_000;

/** How a move under the VIP's record treats the old holder (the hardened policies' options; none: the paper's move). */
export interface MoveOptions {
  /**
   * The old holder must be fenced: a removal that fails (the holder is up but out of the mover's
   * reach: it may still answer its clients) cancels the move ('unfenced'), the VIP stays with it.
   */
  fence?: boolean;
  /** An assignment that fails puts the VIP back on the holder it came off (else nobody holds it). */
  rollback?: boolean;
}

/**
 * Moves `vip` to `to` under its record: `assumed` is its holder when no record says otherwise,
 * `may(current holder)` whether to move it at all. Without `fence`, removal from an old holder out
 * of reach is not an error (the paper's view: it no longer answers for the VIP). 'skipped' when
 * `may` said no, 'unfenced' when a fenced move found the old holder out of reach.
 */
export function* moveVip(vip: string, assumed: string, to: string, may: (holder: string) => boolean, waitUs = 100_000, o: MoveOptions = {}): Op<'moved' | 'skipped' | 'unfenced'> {
  for (;;) {
    const r = yield* storeCall('get', vipKey(vip));
    const rec = r?.value as VipRecord | undefined;
    const t = yield* now();
    const stale = rec?.moving === true && rec.since !== undefined && t - rec.since >= VIP_CLAIM_STALE_US;
    if (rec?.moving && !stale) {
      yield* sleep(waitUs);
      continue;
    }
    let cur = rec?.holder ?? assumed;
    let held: string[] = [];
    if (stale && rec) {
      // Its mover died mid-move: the VIP may be on the old holder, on the mover's target, or on
      // nobody. The network says which; the move takes it off every holder it names.
      held = yield* call('network', 'vipHolders', vip);
      cur = rec.to !== undefined && held.includes(rec.to) ? rec.to : held.includes(rec.holder) ? rec.holder : '';
      yield* trace('pss.vip-claim-expired', vip, { holder: rec.holder, to: rec.to ?? '', claimedS: (rec.since ?? 0) / S, held });
    }
    if (!may(cur)) {
      if (stale) yield* storeCall('cas', vipKey(vip), r?.version ?? 0, { holder: cur, moving: false } satisfies VipRecord);
      return 'skipped';
    }
    const claim = yield* storeCall('cas', vipKey(vip), r?.version ?? 0, { holder: cur, moving: true, to, since: t } satisfies VipRecord);
    if (!claim.ok) continue;
    const removed: string[] = [];
    let unfenced = false;
    for (const old of new Set([cur, assumed, ...held])) {
      if (old === '' || old === to) continue;
      try {
        yield* call('network', 'removeVip', vip, old);
        removed.push(old);
      } catch {
        // out of reach: the paper takes it as no longer answering for the VIP
        if (o.fence) unfenced = true;
      }
    }
    if (unfenced) {
      // Hardened: a holder that could not be fenced keeps the VIP (those removed from go back).
      for (const old of removed) {
        try {
          yield* call('network', 'assignVip', vip, old);
        } catch {
          // gone meanwhile
        }
      }
      yield* storeCall('cas', vipKey(vip), claim.version, { holder: cur, moving: false } satisfies VipRecord);
      return 'unfenced';
    }
    try {
      yield* call('network', 'assignVip', vip, to);
    } catch (e) {
      let back = '';
      if (o.rollback && cur !== '' && cur !== to && removed.includes(cur)) {
        try {
          yield* call('network', 'assignVip', vip, cur);
          back = cur;
        } catch {
          // the old holder is gone too
        }
      }
      yield* storeCall('cas', vipKey(vip), claim.version, { holder: back, moving: false } satisfies VipRecord);
      throw e;
    }
    yield* storeCall('cas', vipKey(vip), claim.version, { holder: to, moving: false } satisfies VipRecord);
    return 'moved';
  }
}

/** The VIPs whose record names `holder` (a move under way counts for its old holder). */
export function* vipsHeldBy(holder: string): Op<string[]> {
  return (yield* storeCall('list', 'pss/vip/')).filter((r) => (r.value as VipRecord).holder === holder).map((r) => r.key.slice('pss/vip/'.length));
}

/** The holder the VIP's record names ('' when none or no record). */
export function* recordedHolder(vip: string): Op<string> {
  return ((yield* storeCall('get', vipKey(vip)))?.value as VipRecord | undefined)?.holder ?? '';
}

/** Writes the VIP's record as held by `holder` (a repair that set the VIP without a move); not while a move is under way. */
export function* setRecordedHolder(vip: string, holder: string): Op<void> {
  for (;;) {
    const r = yield* storeCall('get', vipKey(vip));
    const rec = r?.value as VipRecord | undefined;
    if ((rec?.moving && !(rec.since !== undefined && (yield* now()) - rec.since >= VIP_CLAIM_STALE_US)) || (rec?.holder === holder && !rec.moving)) return;
    if ((yield* storeCall('cas', vipKey(vip), r?.version ?? 0, { holder, moving: false } satisfies VipRecord)).ok) return;
  }
}
