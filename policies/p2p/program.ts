// P2P server management (kitamura-2018 §2-3) as engine processes.
//
// Each management server runs an executer (§2.3): a load subprogram that keeps its row of the
// real server condition file current, and a supervisor that runs the management programs the
// operation file gives it: P1 for the next server of the group file, P2 for the previous one
// (Fig. 2). A management program walks the five modes of Fig. 7: Regular, Network examination,
// Service recovery, Backup server, Target server recovery, with background jobs 1 and 2, and
// reports R/U/D to the P2 manager (Fig. 8). When the group file changes (a server separated or
// returned) every supervisor reconciles, which is the dynamic management extension (Fig. 9) and
// the fallback (Fig. 10).
import { awaitClaimRounds, awaitHoldersChange, awaitLoadChange, awaitReconcile, firstOf, E, join, now, receive, send, sleep, spawn, cancel, trace, watch, type Op, type Process, type QuietGuard, type StoreCheck, type ClaimRoundsArgs } from '../../engine/runtime/effects.ts';
import { call, isGone, mailboxOf, portErrorOf, type LoadSample, type ProbeResult, type ProbeSpec } from '../../engine/ports/index.ts';
import { nextGridUs } from '../../engine/runtime/runtime.ts';
import { storeCall } from '../store.ts';
import { KEYS, frozenNames, ordered, groupChanged, groupIndexOf, inGroup, operationChanged, isSeparated, readData, readMembership, readOperation, reclaim, rejoin, separate, update, type ConditionRecord, type ManagementData, type Membership, type TroubleRecord } from './files.ts';
import { headroom, HeadroomIndex, rankHosts, realServerConditions, type Headroom, type LoadMeasurement, type RankedHost, type ServerStages, type ServerType } from './placement.ts';
import { hasTargets, managersOf, operationFile, targetsOf, type OperationRow } from './ring.ts';
import { replacedSince } from '../../trace/list-edits.ts';
import { ChunkedList } from '../../trace/chunked-list.ts';

export interface P2pTiming {
  /** Tim: inter-monitoring time (Table 3). */
  timUs: number;
  /** Tnd: network examination time when the network is abnormal (ping timeout). */
  tndUs: number;
  /** Tsw: maximum wait of a service examination. */
  tswUs: number;
  /** Trc: longest wait for a target to finish restarting before Wake-on-LAN. */
  trcUs: number;
  /** The Target server recovery mode looks for up.file/down.file at this period ("Wait" each second, Fig. 12). */
  waitPollUs: number;
  /** Editing the management files, starting the background job and the new management program, and
   *  choosing the host, before the VM is activated (Fig. 12: 12:53:54.18 -> 12:53:54.43). */
  decisionUs: number;
  /** Pause between service re-examinations while waiting for a restarted daemon. */
  examRetryUs: number;
  /** The load subprogram samples its server this often. */
  loadIntervalUs: number;
  /** Supervisors re-read the operation file at least this often (besides being told). */
  reconcileUs: number;
}

export interface P2pConfig {
  timing: P2pTiming;
  /** paper (when omitted): kitamura-2018 as printed; hardened (the manifest's default): the swarm fixes of docs/safety.md. */
  safety?: 'paper' | 'hardened';
  /** all (when omitted): a rewrite of the operation file is told to every server; changed: to the servers whose own rows it changed. */
  nudge?: 'all' | 'changed';
}

export type Mode = 'Regular' | 'Network examination' | 'Service recovery' | 'Backup server' | 'Target server recovery';

/** The modes of Fig. 7(a) and their transitions, as data (the web view draws them). */
export const MODES: ReadonlyArray<{ mode: Mode; next: Mode[] }> = [
  { mode: 'Regular', next: ['Network examination', 'Service recovery'] },
  { mode: 'Network examination', next: ['Regular', 'Backup server'] },
  { mode: 'Service recovery', next: ['Regular', 'Backup server'] },
  { mode: 'Backup server', next: ['Target server recovery'] },
  { mode: 'Target server recovery', next: ['Regular'] },
];

/** Messages between management programs (R.file, U.file, D.file of Fig. 7-8). */
export interface P2pMessage {
  from: string;
  to: string;
  type: 'R' | 'U' | 'D' | 'reconcile';
  body: { target?: string; detectedUs?: number };
}

const P2_BOX = (target: string) => `p2p/p2/${target}`;
const RECONCILE_BOX = 'p2p/reconcile';

/** One management server's executer program (§2.3): run on each server at its start. */
export function* executer(host: string, cfg: P2pConfig): Process<void> {
  yield* trace('p2p.executer', host, { state: 'start' });
  yield* spawn(`p2p/${host}/load`, loadSubprogram(host, cfg));
  if (hardened(cfg)) {
    yield* spawn(`p2p/${host}/adoptions`, adoptions(host, cfg));
    yield* resumeOwnClaims(host, cfg);
    yield* spawn(`p2p/${host}/orphans`, orphanWatcher(host, cfg));
  }
  yield* supervisor(host, cfg);
}

/**
 * (hardened) A manager that restarts finds the recoveries it had claimed: their processes died
 * with it, so it carries them on (nobody else would: it answers pings again).
 */
function* resumeOwnClaims(host: string, cfg: P2pConfig): Op<void> {
  const m = yield* readMembership();
  for (const [orphan, claimant] of Object.entries(m.claims ?? {})) {
    if (claimant !== host || orphan === host || !isSeparated(m, orphan)) continue;
    yield* trace('p2p.takeover', orphan, { manager: host, from: host });
    yield* send(mailboxOf(host, ADOPT_BOX), { target: orphan, from: host });
  }
}

/**
 * (hardened) Recoveries whose claimant is gone (cut off or dead for good) would wait forever: the
 * paper leaves them to the target's P2 manager, whose program may have ended. Each reconcile
 * period every manager looks at the claims; a claimant that does not answer at two checks in a
 * row (while this manager's own network is up) loses its claim: a server that is itself the
 * orphan and runs well returns itself to the group file; any other orphan is adopted (the claim's
 * compare-and-set decides between managers that try at once).
 */
function* orphanWatcher(host: string, cfg: P2pConfig): Process<void> {
  const suspects = new Map<string, string>(); // target -> claimant found gone once
  let selfFix = 0; // rounds this server, orphaned, found itself unwell
  // A round that left no suspect: the next rounds find nothing to do while the group file shows
  // no claim, or this server and every claimant answer (in sim without ticking through that time).
  let steady = false;
  const rounds: ClaimRoundsArgs = {
    intervalUs: cfg.timing.reconcileUs,
    key: KEYS.membership,
    claimsOf: (v) => foreignClaims(v as Membership, host),
    allClaims: (v) => separatedClaims(v as Membership),
    self: host,
    probeOf: (target) => ({ kind: 'network', target, timeoutUs: cfg.timing.tndUs }),
  };
  for (;;) {
    const resume = steady ? yield* awaitClaimRounds(rounds) : (yield* sleep(cfg.timing.reconcileUs), null);
    steady = false;
    let claims: ReadonlyArray<readonly [string, string]>;
    let from = 0;
    if (resume !== null) ({ claims, from } = resume);
    else {
      claims = yield* readForeignClaims(host);
      for (const target of [...suspects.keys()]) if (!claims.some(([t, c]) => t === target && c === suspects.get(target))) suspects.delete(target);
      if (claims.length === 0) {
        steady = suspects.size === 0;
        continue;
      }
    }
    if (from === 0 && !(yield* call('prober', 'probe', { kind: 'network', target: host, timeoutUs: cfg.timing.tndUs })).ok) {
      steady = suspects.size === 0;
      continue;
    }
    for (const [target, claimant] of claims.slice(Math.max(0, from - 1))) {
      if ((yield* call('prober', 'probe', { kind: 'network', target: claimant, timeoutUs: cfg.timing.tndUs })).ok) {
        suspects.delete(target);
        continue;
      }
      if (suspects.get(target) !== claimant) {
        suspects.set(target, claimant);
        continue;
      }
      suspects.delete(target);
      const d = yield* readData(target);
      if (target === host) {
        if (!(yield* call('prober', 'probe', examSpec(d, cfg.timing))).ok) {
          // Nobody will recover this server: it restarts its own daemons, then itself.
          suspects.set(target, claimant);
          selfFix++;
          yield* trace('p2p.self-repair', host, { manager: host, step: selfFix === 1 ? 'restart daemons' : 'reboot' });
          if (selfFix === 1) {
            for (const daemon of d.daemons) {
              try {
                yield* call('services', 'restart', host, daemon);
              } catch {
                // examined again next round
              }
            }
          } else {
            selfFix = 0;
            yield* call('power', 'reboot', host);
          }
          continue;
        }
        selfFix = 0;
        // The claim first (the claimant, if it still acts, stops at its next check), then the fallback.
        if (!(yield* reclaim(host, claimant, host))) continue;
        yield* trace('p2p.rejoin', host, { manager: host, from: claimant });
        yield* fallback(host, 'P1', d, cfg, function* () { /* the claimant is gone: nobody to tell */ });
      } else {
        if (!(yield* reclaim(target, claimant, host))) continue;
        yield* trace('p2p.takeover', target, { manager: host, from: claimant });
        yield* send(mailboxOf(host, ADOPT_BOX), { target, from: claimant });
      }
    }
    steady = suspects.size === 0;
  }
}

/**
 * Reads of the group file by loops that then wait long (the orphan watcher, the VIP audit): in a
 * generator of their own, so the waiting loop's frame keeps the small answer, not the group file
 * of N names it was read from (one old file per loop, up to N of them alive).
 */
function* readForeignClaims(host: string): Op<Array<[string, string]>> {
  return foreignClaims(yield* readMembership(), host);
}
function* readInGroup(target: string): Op<boolean> {
  return inGroup(yield* readMembership(), target);
}

/** The claims on separated servers held by other managers than `host` (what its orphan watcher looks at). */
function foreignClaims(m: Membership, host: string): Array<[string, string]> {
  return separatedClaims(m).filter(([, claimant]) => claimant !== host);
}

/** Every claim on a separated server, in the record's order. */
function separatedClaims(m: Membership): Array<[string, string]> {
  return Object.entries(m.claims ?? {}).filter(([target]) => isSeparated(m, target));
}

/**
 * Tells servers to re-read the operation file after `from` rewrote it, one message after the
 * other, in group-file then separation-file order: every one of them (the paper's design), or
 * with `nudge: changed` only those whose own P1/P2 rows the rewrite changed (`changed`): the
 * others run what they ran, and their periodic reconcile finds nothing to do.
 */
function* nudge(from: string, changed: ReadonlySet<string>, cfg: P2pConfig): Op<void> {
  const m = yield* readMembership();
  const all = cfg.nudge !== 'changed';
  for (const to of all ? [...m.group, ...m.separation] : fileOrder(m, changed)) {
    try {
      yield* call('messenger', 'send', to, RECONCILE_BOX, { from, to, type: 'reconcile', body: {} });
    } catch (e) {
      // A server that cannot be reached reconciles when it comes back (at its start); one that
      // refused the message (or a send that failed) is worth a warning: it reconciles on its
      // periodic check.
      if (!isGone(e)) yield* trace('p2p.warning', to, { manager: from, note: `reconcile message: ${portErrorOf(e).message}` });
    }
  }
}

/**
 * The servers of `names` that are in the group or the separation file, in group-file then
 * separation-file order (what a walk over both files keeping `names` gives), found by a search
 * for each of the few names instead of a walk over both files with a look-up per server.
 */
function fileOrder(m: Membership, names: ReadonlySet<string>): string[] {
  const at = (x: string) => {
    const g = groupIndexOf(m, x);
    if (g >= 0) return g;
    const s = m.separation.indexOf(x);
    return s >= 0 ? m.group.length + s : -1;
  };
  return [...names].map((x) => [x, at(x)] as const).filter(([, i]) => i >= 0).sort((a, b) => a[1] - b[1]).map(([x]) => x);
}

function* supervisor(host: string, cfg: P2pConfig): Op<void> {
  const running = new Map<string, number>(); // "P1:FTP" -> pid
  const busy = new BusyMarks();
  const ended = new EndMarks();
  // While the programs running are the ones the operation file asks for, a periodic reconcile
  // does nothing until the file is rewritten or one of them ends: the wait goes on through such
  // timeouts (in sim without an event; `awaitReconcile`).
  const allRunning: QuietGuard = {
    ok: () => {
      for (const pid of running.values()) if (ended.has(pid)) return false;
      return true;
    },
    subscribe: (onChange) => ended.subscribe(onChange),
  };
  let first = true;
  for (;;) {
    // Only this server's own rows are kept while it waits (not the file: a file of 2 N rows per
    // waiting supervisor, and its index, would stay alive for as long as it waits).
    const mine = targetsOf(yield* readOperation(), host);
    const desired = new Map<string, OperationRow>(mine.map((r) => [`${r.priority}:${r.target}`, r]));
    for (const [key, pid] of [...running]) {
      const alive = !(yield* isDone(pid));
      if (!alive) {
        running.delete(key);
        ended.forget(pid);
      }
      else if (!desired.has(key) && !busy.has(key)) {
        yield* cancel(pid);
        running.delete(key);
        ended.forget(pid);
        yield* trace('p2p.program', host, { program: key, state: 'stop' });
      }
    }
    for (const [key, row] of desired) {
      if (running.has(key)) continue;
      // A program started by the dynamic extension examines its new target at once (§4.3, Fig. 15).
      const body = row.priority === 'P1' ? p1Program(host, row.target, cfg, busy, !first) : p2Program(host, row.target, cfg, busy, !first);
      const cell = { pid: -1 };
      cell.pid = yield* spawn(`p2p/${host}/${key}`, marked(body, ended, cell));
      ended.follow(cell.pid);
      running.set(key, cell.pid);
      yield* trace('p2p.program', host, { program: key, state: 'start' });
    }
    first = false;
    // Wait to be told (or the slow periodic check).
    let settled = true;
    for (const key of running.keys()) if (!desired.has(key)) settled = false;
    if (settled) {
      // A rewrite that leaves this server's own rows as they are gives its reconcile nothing to do.
      const ops: StoreCheck[] = [{ key: KEYS.operation, holds: (v) => v !== null && hasTargets(v as OperationRow[], host, mine), part: { name: host, changed: operationChanged } }];
      yield* awaitReconcile(mailboxOf(host, RECONCILE_BOX), cfg.timing.reconcileUs, ops, allRunning);
    } else yield* receive(mailboxOf(host, RECONCILE_BOX), cfg.timing.reconcileUs);
    while ((yield* receive(mailboxOf(host, RECONCILE_BOX), 0)) !== undefined) { /* coalesce */ }
  }
}

function* isDone(pid: number): Op<boolean> {
  const r = yield* firstOf(E.join(pid), E.sleep(0));
  return r.index === 0;
}

function examSpec(d: ManagementData, t: P2pTiming): ProbeSpec {
  return { kind: 'examine', target: d.host, services: d.daemons, networkTimeoutUs: t.tndUs, serviceTimeoutUs: t.tswUs };
}

function* mode(manager: string, target: string, priority: 'P1' | 'P2', m: Mode): Op<void> {
  yield* trace('p2p.mode', manager, { target, priority, mode: m });
}

/** Waits for the next trouble of `target`: on the synchronized grid (the S.file broadcast), or at once. */
function* nextTrouble(d: ManagementData, cfg: P2pConfig, immediate: boolean): Op<ProbeResult> {
  if (immediate) {
    const r = yield* call('prober', 'probe', examSpec(d, cfg.timing));
    if (!r.ok) return r;
  }
  // Every management program probes on the same grid: S.file is broadcast every Tim from the
  // head of the group file (§3.2); the grid's phase is the system's start.
  return yield* watch(examSpec(d, cfg.timing), cfg.timing.timUs, 0);
}

function* p1Program(manager: string, target: string, cfg: P2pConfig, busy: BusyMarks, immediate: boolean): Process<void> {
  const key = `P1:${target}`;
  const alive = new AliveMark();
  try {
    if (hardened(cfg)) yield* spawn(`p2p/${manager}/vip-audit/${target}`, vipAudit(manager, target, cfg, busy, key, alive));
    yield* p1Loop(manager, target, cfg, busy, immediate, key);
  } finally {
    alive.end();
  }
}

/**
 * (hardened) Each Tim while no recovery of the target runs: its VIP must be on it alone. A VIP
 * lost while nobody looked (a restart quicker than Tim drops run-time addresses) or left on the
 * backup is set on the target again when it examines well and is in the group file. A poll, not
 * a watch: it writes nothing to the trace unless it acts. Once a poll finds the VIP on the target
 * alone, the next polls go through `awaitHoldersChange` (in sim, no event until the holders, the
 * target's data, its membership or this program's busy/alive marks change).
 */
function* vipAudit(manager: string, target: string, cfg: P2pConfig, busy: BusyMarks, key: string, alive: AliveMark): Process<void> {
  const guard: QuietGuard = {
    ok: () => alive.on && !busy.has(key),
    subscribe(onChange) {
      const offs = [busy.subscribe(onChange), alive.subscribe(onChange)];
      return () => offs.forEach((off) => off());
    },
  };
  // After a quiet poll: the data it read (the record itself: a write replaces it) and the VIP.
  let steady: ManagementData | null = null;
  for (;;) {
    let d: ManagementData;
    let holders: string[];
    const seen = steady === null ? null : yield* awaitHoldersChange(steady.vip, cfg.timing.timUs, [target], guard, quietChecks(steady, target));
    if (seen !== null) {
      d = steady!;
      holders = seen;
      steady = null;
    } else {
      if (steady === null) yield* sleep(cfg.timing.timUs);
      steady = null;
      if (!alive.on) return;
      if (busy.has(key)) continue;
      d = yield* readData(target);
      if (!d.vip || !(yield* readInGroup(target))) continue;
      holders = yield* call('network', 'vipHolders', d.vip);
      if (holders.length === 1 && holders[0] === target) {
        steady = d;
        continue;
      }
    }
    if (!(yield* call('prober', 'probe', examSpec(d, cfg.timing))).ok) continue;
    if (!alive.on || busy.has(key) || !(yield* readInGroup(target))) continue;
    try {
      for (const h of holders) if (h !== target) yield* call('network', 'removeVip', d.vip, h);
      if (!holders.includes(target)) yield* call('network', 'assignVip', d.vip, target);
      yield* trace('p2p.vip-restored', target, { manager, holders });
      if (holders.includes(d.vm)) yield* call('hypervisor', 'suspend', d.vm);
    } catch (e) {
      yield* trace('p2p.warning', target, { manager, note: `VIP audit: ${portErrorOf(e).message}` });
    }
  }
}

/** What a quiet VIP poll read from the store: the target's data (this very record) and its place in the group file. */
function quietChecks(d: ManagementData, target: string): StoreCheck[] {
  return [
    { key: KEYS.data(target), holds: (v) => v === d },
    { key: KEYS.membership, holds: (v) => v !== null && inGroup(v as Membership, target), part: { name: target, changed: groupChanged } },
  ];
}

/** A flag with call backs on its changes (what a quiet loop's guard subscribes to). */
class Notifier {
  private readonly subs = new Set<() => void>();
  subscribe(cb: () => void): () => void {
    this.subs.add(cb);
    return () => this.subs.delete(cb);
  }
  protected notify(): void {
    for (const cb of [...this.subs]) cb();
  }
}

/** The running programs' busy marks ("P1:S3" while P1 of S3 recovers it), telling each change. */
class BusyMarks extends Notifier {
  private readonly keys = new Set<string>();
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.notify();
  }
  delete(key: string): void {
    if (this.keys.delete(key)) this.notify();
  }
}

/** The pids of the supervisor's programs that have ended (marked in their last `finally`, as they finish). */
class EndMarks extends Notifier {
  /** Followed pids: true once ended. A pid the supervisor forgot (it cancelled it) is not marked. */
  private readonly pids = new Map<number, boolean>();
  has(pid: number): boolean {
    return this.pids.get(pid) === true;
  }
  follow(pid: number): void {
    this.pids.set(pid, false);
  }
  mark(pid: number): void {
    if (!this.pids.has(pid)) return;
    this.pids.set(pid, true);
    this.notify();
  }
  forget(pid: number): void {
    this.pids.delete(pid);
  }
}

/** Runs a program and marks its end (the supervisor's quiet wait learns of it at once). */
function* marked(body: Process<void>, ended: EndMarks, cell: { pid: number }): Process<void> {
  try {
    yield* body;
  } finally {
    ended.mark(cell.pid);
  }
}

/** A management program's life (its VIP audit stops when it ends). */
class AliveMark extends Notifier {
  on = true;
  end(): void {
    if (!this.on) return;
    this.on = false;
    this.notify();
  }
}

function* p1Loop(manager: string, target: string, cfg: P2pConfig, busy: BusyMarks, immediate: boolean, key: string): Op<void> {
  let first = immediate;
  for (;;) {
    const d = yield* readData(target);
    const bad = yield* nextTrouble(d, cfg, first);
    first = false;
    busy.add(key);
    try {
      const rows = yield* readOperation();
      const p2 = managersOf(rows, target).find((r) => r.priority === 'P2')?.manager ?? null;
      yield* trace('trouble.detected', target, { manager, priority: 'P1', detail: bad.detail });
      const outcome = yield* recoverTarget(manager, 'P1', d, bad, p2, cfg);
      // Down, or handled by another manager: this program ends; the supervisor starts a new one
      // when the target is back in the group file.
      if (outcome === 'down' || outcome === 'deferred') return;
    } finally {
      busy.delete(key);
    }
    yield* mode(manager, target, 'P1', 'Regular');
  }
}

function* p2Program(manager: string, target: string, cfg: P2pConfig, busy: BusyMarks, immediate: boolean): Process<void> {
  const key = `P2:${target}`;
  let first = immediate;
  const box = mailboxOf(manager, P2_BOX(target));
  for (;;) {
    const d = yield* readData(target);
    const bad = yield* nextTrouble(d, cfg, first);
    first = false;
    const detectedUs = yield* now();
    busy.add(key);
    try {
      const p1 = managersOf(yield* readOperation(), target).find((r) => r.priority === 'P1')?.manager ?? null;
      yield* trace('trouble.detected', target, { manager, priority: 'P2', detail: bad.detail });
      yield* trace('p2p.wait', target, { manager, priority: 'P2', p1 });
      // Wait for R/U/D from the P1 manager; examine the P1 manager of the moment at once and
      // then at each S.file instant (every Tim), and take over if it is abnormal (Fig. 8). The
      // first examination is immediate: in §3.3's Fig. 9(b)/(c) a P2 manager whose P1 manager
      // is down starts the backup beside the other P1 managers' recoveries, before any dynamic
      // extension reaches its target (docs/p2p-predictions.md).
      let verdict: 'resume' | 'end' | 'takeover' = 'resume';
      let atOnce = true;
      for (;;) {
        if (!atOnce) {
          const checkAt = nextGridUs(0, cfg.timing.timUs, yield* now());
          const msg = yield* receive<P2pMessage>(box, checkAt - (yield* now()));
          if (msg) {
            if ((msg.body.detectedUs ?? 0) < detectedUs - cfg.timing.timUs) continue; // about an older trouble
            yield* trace('p2p.message', target, { manager, type: msg.type, from: msg.from });
            verdict = msg.type === 'D' ? 'end' : 'resume';
            break;
          }
        }
        const initial = atOnce;
        atOnce = false;
        const m = yield* readMembership();
        if (isSeparated(m, target)) {
          // Claimed by another manager: wait for its report, unless that manager is gone (its
          // recovery died with it), in which case this program takes the recovery over.
          const claimant = m.claims?.[target];
          if (!claimant || claimant === manager) continue;
          const self = hardened(cfg) ? yield* spawn(`p2p/${manager}/self`, selfReachable(manager, cfg)) : null;
          const alive = yield* call('prober', 'probe', { kind: 'network', target: claimant, timeoutUs: cfg.timing.tndUs });
          if (alive.ok) continue;
          if (self !== null && !(yield* joined(self))) continue;
          if (yield* reclaim(target, claimant, manager)) {
            yield* trace('p2p.takeover', target, { manager, from: claimant });
            const outcome = yield* recoverTarget(manager, 'P2', d, bad, null, cfg, claimant);
            if (outcome === 'down' || outcome === 'deferred') return;
            verdict = 'resume';
            break;
          }
          continue;
        }
        const p1 = managersOf(yield* readOperation(), target).find((r) => r.priority === 'P1')?.manager ?? null;
        if (p1 === null || p1 === manager) {
          verdict = 'takeover';
          break;
        }
        const self = hardened(cfg) ? yield* spawn(`p2p/${manager}/self`, selfReachable(manager, cfg)) : null;
        const ping = yield* call('prober', 'probe', { kind: 'network', target: p1, timeoutUs: cfg.timing.tndUs });
        if (!ping.ok) {
          // (hardened) A P2 manager cut off itself does not take over.
          if (self !== null && !(yield* joined(self))) continue;
          verdict = 'takeover';
          break;
        }
        // The P1 manager answers: it handles the trouble it detected beside us.
        if (initial) continue;
        // The P1 manager answers but has not reported: is the target still in trouble?
        const again = yield* call('prober', 'probe', examSpec(d, cfg.timing));
        if (again.ok) break;
      }
      if (verdict === 'end') return;
      if (verdict === 'takeover') {
        // The P1 manager is abnormal: this program performs the recovery with P1 (Fig. 8).
        yield* trace('p2p.takeover', target, { manager });
        const outcome = yield* recoverTarget(manager, 'P2', d, bad, null, cfg);
        if (outcome === 'down' || outcome === 'deferred') return;
      }
    } finally {
      busy.delete(key);
    }
    // Drop reports of the trouble just handled.
    while ((yield* receive(box, 0)) !== undefined) { /* drain */ }
  }
}

type Outcome = 'ok' | 'up' | 'down' | 'deferred';

const hardened = (cfg: P2pConfig) => cfg.safety === 'hardened';

/**
 * (hardened) Is this manager's own network up? A manager whose link is down sees every target
 * as gone and must not act on them (it would separate and reboot healthy servers). Run beside the
 * examination it guards (spawned, then joined), so it costs the paper's timeline nothing.
 */
function* selfReachable(manager: string, cfg: P2pConfig): Process<boolean> {
  return (yield* call('prober', 'probe', { kind: 'network', target: manager, timeoutUs: cfg.timing.tndUs })).ok;
}

function* joined(pid: number): Op<boolean> {
  const r = yield* join<boolean>(pid);
  return r.status === 'done' ? r.value === true : true;
}

/** (hardened) The recovery of `target` is still this manager's (a manager that was paused may find it taken over). */
function* stillMine(target: string, manager: string): Op<boolean> {
  const m = yield* readMembership();
  return isSeparated(m, target) && (m.claims ?? {})[target] === manager;
}

/** (hardened) Removes the target's VIP before its backup may get it; false when the target is up but out of reach. */
function* fenceVip(d: ManagementData): Process<boolean> {
  try {
    yield* call('network', 'removeVip', d.vip, d.host);
    return true;
  } catch {
    return false;
  }
}

/**
 * From a detected trouble to the target's return (or its end): modes 2-5 of Fig. 7. With
 * `takenFrom`, the target is already separated and claimed from a manager that is gone: the
 * examination is skipped and the recovery resumes where that manager may have left it.
 */
function* recoverTarget(manager: string, priority: 'P1' | 'P2', d: ManagementData, bad: ProbeResult, p2: string | null, cfg: P2pConfig, takenFrom?: string): Op<Outcome> {
  const t = cfg.timing;
  const target = d.host;
  const detectedUs = yield* now();
  const report = (type: 'R' | 'U' | 'D') => tell(manager, p2, target, type, detectedUs);
  let job: Process<'up' | 'down'>;
  let healthy = false;
  if (takenFrom !== undefined) {
    if (hardened(cfg)) {
      // A recovery taken over may find its target healthy by now: examined, not rebooted.
      const ex = yield* call('prober', 'probe', examSpec(d, t));
      healthy = ex.ok;
      job = ex.detail !== 'network' ? backgroundJob2(manager, d, cfg) : backgroundJob1(manager, d, cfg);
    } else {
      const ping = yield* call('prober', 'probe', { kind: 'network', target, timeoutUs: t.tndUs });
      job = ping.ok ? backgroundJob2(manager, d, cfg) : backgroundJob1(manager, d, cfg);
    }
  } else if (bad.detail === 'network') {
    yield* mode(manager, target, priority, 'Network examination');
    const self = hardened(cfg) ? yield* spawn(`p2p/${manager}/self`, selfReachable(manager, cfg)) : null;
    const again = yield* call('prober', 'probe', { kind: 'network', target, timeoutUs: t.tndUs });
    if (again.ok) {
      yield* report('R');
      return 'ok';
    }
    if (self !== null && !(yield* joined(self))) {
      yield* trace('p2p.isolated', manager, { target, priority });
      return 'ok';
    }
    job = backgroundJob1(manager, d, cfg);
  } else {
    yield* mode(manager, target, priority, 'Service recovery');
    const ping = yield* call('prober', 'probe', { kind: 'network', target, timeoutUs: t.tndUs });
    if (ping.ok) {
      for (const daemon of d.daemons) {
        try {
          yield* call('services', 'restart', target, daemon);
        } catch {
          // examined below
        }
      }
    }
    // Re-examination: the restarted daemons get up to Tsw to answer.
    const again = yield* examineWithin(d, t.tswUs, cfg);
    if (again.ok) {
      yield* trace('target.recovered', target, { manager, priority, how: 'service restart' });
      yield* report('R');
      return 'ok';
    }
    job = backgroundJob2(manager, d, cfg);
  }
  // Trouble confirmed: separate the target (the claim), start the background job and (by telling
  // every supervisor) the new management programs of the dynamic extension.
  let changed: ReadonlySet<string> = new Set(); // the managers whose rows the separation changed
  if (takenFrom === undefined && !({ changed } = yield* separate(target, manager)).claimed) {
    // Another manager (a P1 after the dynamic extension, or the P2) already handles this target.
    yield* trace('p2p.deferred', target, { manager, priority });
    return 'deferred';
  }
  if (healthy) {
    // (hardened) Nothing to recover: straight to the fallback (the files, the VIP, the VM).
    yield* trace('p2p.healthy', target, { manager, priority, from: takenFrom });
    return yield* fallback(manager, priority, d, cfg, report);
  }
  const jobPid = yield* spawn(`p2p/${manager}/bg/${target}`, job);
  yield* nudge(manager, changed, cfg);
  yield* sleep(t.decisionUs);

  if (hardened(cfg) && !(yield* stillMine(target, manager))) {
    // A manager that was paused resumes a recovery another one took over: it stops here.
    yield* cancel(jobPid);
    yield* trace('p2p.stale', target, { manager, priority });
    return 'deferred';
  }
  yield* mode(manager, target, priority, 'Backup server');
  const served = takenFrom !== undefined && (yield* backupServing(d));
  if (!served) {
    const vmHost = yield* standIn(manager, d, cfg, true);
    if (vmHost !== null) yield* trace('function.recovered', target, { manager, priority, vm: d.vm, host: vmHost });
    else yield* trace('function.unrecoverable', target, { manager, priority, reason: 'no management server could activate the backup VM' });
  }
  // Fig. 9(d): backup VMs that were running on the failed server start again elsewhere; and the
  // recoveries the failed server was itself carrying out are taken over.
  // (hardened) Relocations go through the adoption: the adopted recovery holds the claim (the
  // lock on the VIP) before its backup stands in; a backup whose recovery another manager holds
  // is that manager's to keep.
  if (!hardened(cfg)) yield* relocateHostedBackups(manager, target, cfg);
  yield* adoptClaims(manager, target, cfg);

  yield* mode(manager, target, priority, 'Target server recovery');
  // (hardened) The backup is watched like a target while the target is away.
  const keeper = hardened(cfg) ? yield* spawn(`p2p/${manager}/keep/${target}`, keepBackup(manager, d, cfg)) : null;
  let result: 'up' | 'down' | null = null;
  while (result === null) {
    const r = yield* firstOf(E.join(jobPid), E.sleep(t.waitPollUs));
    if (r.index === 0) {
      const jr = r.value as { status: string; value?: 'up' | 'down' };
      result = jr.status === 'done' ? jr.value! : 'down';
    } else if (hardened(cfg) && !(yield* stillMine(target, manager))) {
      yield* cancel(jobPid);
      if (keeper !== null) yield* cancel(keeper);
      yield* trace('p2p.stale', target, { manager, priority });
      return 'deferred';
    }
  }
  if (result === 'down' && hardened(cfg)) {
    // (hardened) Declared down, but not given up: the target is watched (woken again, its
    // daemons restarted, rebooted) until it is back, while the backup keeps serving.
    yield* trace('target.down', target, { manager, priority });
    yield* report('D');
    const back = yield* awaitReturn(manager, d, cfg);
    if (!back) {
      if (keeper !== null) yield* cancel(keeper);
      yield* trace('p2p.stale', target, { manager, priority });
      return 'deferred';
    }
    result = 'up';
  }
  if (keeper !== null) yield* cancel(keeper);
  if (result === 'up') return yield* fallback(manager, priority, d, cfg, report);
  yield* trace('target.down', target, { manager, priority });
  yield* report('D');
  return 'down';
}

/** Fig. 10 / §3.1: the VIP is removed from the VM, then set on the target (never two live holders); the VM is suspended and the files returned; U.file to P2. */
function* fallback(manager: string, priority: 'P1' | 'P2', d: ManagementData, cfg: P2pConfig, report: (type: 'R' | 'U' | 'D') => Op<void>): Op<Outcome> {
  const target = d.host;
  const tr = yield* storeCall('get', KEYS.trouble(target));
  const vm = yield* call('hypervisor', 'get', d.vm);
  const vmUp = vm !== undefined && (vm.state === 'running' || vm.state === 'resuming' || vm.state === 'starting');
  for (;;) {
    try {
      yield* call('network', 'removeVip', d.vip, d.vm);
      break;
    } catch (e) {
      yield* trace('p2p.warning', target, { manager, note: `fallback: ${portErrorOf(e).message}` });
      if (!hardened(cfg)) break;
    }
    // (hardened) The VM still answers its clients but not this manager: the VIP stays with it
    // (never two live holders) and the removal is tried again each Tim.
    yield* sleep(cfg.timing.timUs);
    if (!(yield* stillMine(target, manager))) return 'deferred';
  }
  try {
    yield* call('network', 'assignVip', d.vip, target);
    yield* trace('target.recovered', target, { manager, priority, how: 'fallback' });
  } catch (e) {
    yield* trace('p2p.warning', target, { manager, note: `fallback: ${portErrorOf(e).message}` });
  }
  if (vmUp) {
    try {
      yield* call('hypervisor', 'suspend', d.vm);
    } catch (e) {
      yield* trace('p2p.warning', target, { manager, note: `fallback: ${portErrorOf(e).message}` });
    }
  }
  if (tr || hardened(cfg)) yield* update<TroubleRecord>(KEYS.trouble(target), () => null);
  yield* nudge(manager, (yield* rejoin(target)).changed, cfg);
  yield* report('U');
  return 'up';
}

/**
 * (hardened) After the background job gave up: each Tim, a target that does not answer is woken
 * (every Trc), one that answers with a daemon down gets its daemons restarted and, after Trc,
 * a reboot; true once it examines well. False when the recovery is no longer this manager's.
 */
function* awaitReturn(manager: string, d: ManagementData, cfg: P2pConfig): Op<boolean> {
  const t = cfg.timing;
  let wakeAt = yield* now();
  let rebootAt: number | null = null;
  for (;;) {
    if (!(yield* stillMine(d.host, manager))) return false;
    const ex = yield* call('prober', 'probe', examSpec(d, t));
    if (ex.ok) return true;
    const at = yield* now();
    if (ex.detail === 'network') {
      rebootAt = null;
      if (at >= wakeAt) {
        try {
          yield* call('power', 'wake', d.mac);
        } catch {
          // tried again later
        }
        wakeAt = at + t.trcUs;
      }
    } else if (rebootAt === null) {
      for (const daemon of d.daemons) {
        try {
          yield* call('services', 'restart', d.host, daemon);
        } catch {
          // examined again
        }
      }
      rebootAt = at + t.trcUs;
    } else if (at >= rebootAt) {
      try {
        yield* call('network', 'removeVip', d.vip, d.host);
        yield* call('power', 'reboot', d.host);
      } catch {
        // examined again
      }
      rebootAt = null;
    }
    yield* sleep(t.timUs);
  }
}

/** (hardened) While the target is away its backup must serve: one that crashed (or lost its host) is activated again. */
function* keepBackup(manager: string, d: ManagementData, cfg: P2pConfig): Process<void> {
  for (;;) {
    yield* sleep(cfg.timing.timUs);
    if (!(yield* stillMine(d.host, manager))) return;
    const vm = yield* call('hypervisor', 'get', d.vm);
    if (vm && (vm.state === 'resuming' || vm.state === 'starting' || vm.state === 'suspending')) continue;
    if (vm?.state === 'running' && (yield* call('network', 'vipHolders', d.vip)).includes(d.vm)) {
      // Serving, unless a daemon of the VM stopped: restart it.
      const r = yield* call('prober', 'probe', { ...examSpec(d, cfg.timing), target: d.vm });
      if (r.ok || !r.detail.endsWith(':refused')) continue;
      for (const daemon of d.daemons) {
        try {
          yield* call('services', 'restart', d.vm, daemon);
        } catch {
          // tried again at the next check
        }
      }
      yield* trace('p2p.backup-daemon', d.host, { manager, vm: d.vm, how: 'restart' });
      continue;
    }
    const host = yield* standIn(manager, d, cfg, true, true);
    if (host !== null) yield* trace('function.recovered', d.host, { manager, vm: d.vm, host, again: true });
  }
}

/** The failed server was recovering other servers: this manager carries those recoveries on. */
function* adoptClaims(manager: string, failed: string, cfg: P2pConfig): Op<void> {
  const m = yield* readMembership();
  for (const [orphan, claimant] of Object.entries(m.claims ?? {})) {
    if (claimant !== failed || orphan === manager) continue;
    if (!(yield* reclaim(orphan, failed, manager))) continue;
    yield* trace('p2p.takeover', orphan, { manager, from: failed });
    if (hardened(cfg)) {
      // (hardened) The adopted recovery runs under the executer, not under this program: the
      // supervisor may stop this program (the ring changed) while the adopted one goes on.
      yield* send(mailboxOf(manager, ADOPT_BOX), { target: orphan, from: failed });
      continue;
    }
    const d = yield* readData(orphan);
    yield* spawn(`p2p/${manager}/adopt/${orphan}`, (function* (): Process<void> {
      yield* recoverTarget(manager, 'P1', d, { ok: false, detail: 'network', latencyUs: 0 }, null, cfg, failed);
    })());
  }
}

const ADOPT_BOX = 'p2p/adopt';

/** (hardened) Runs the recoveries this manager adopts (one per target at a time), under its executer. */
function* adoptions(host: string, cfg: P2pConfig): Process<void> {
  const running = new Map<string, number>();
  for (;;) {
    const msg = yield* receive<{ target: string; from: string }>(mailboxOf(host, ADOPT_BOX));
    if (!msg) continue;
    const pid = running.get(msg.target);
    if (pid !== undefined && !(yield* isDone(pid))) continue;
    const d = yield* readData(msg.target);
    running.set(msg.target, yield* spawn(`p2p/${host}/adopt/${msg.target}`, (function* (): Process<void> {
      yield* recoverTarget(host, 'P1', d, { ok: false, detail: 'network', latencyUs: 0 }, null, cfg, msg.from);
    })()));
  }
}

/** Is the target's backup VM running with the VIP on it (left so by a manager that is gone)? */
function* backupServing(d: ManagementData): Op<boolean> {
  const vm = yield* call('hypervisor', 'get', d.vm);
  if (!vm || vm.state !== 'running') return false;
  const holders = yield* call('network', 'vipHolders', d.vip);
  return holders.includes(d.vm);
}

/** Backup server mode: activate the VM somewhere and set the VIP on it, trying the next host on failure. */
function* standIn(manager: string, d: ManagementData, cfg: P2pConfig, claimed = false, fenceFirst = false): Op<string | null> {
  const failed = new Set<string>([d.host]);
  // (hardened) Only a separated target's backup stands in (a relocation may find it back).
  if (hardened(cfg) && !isSeparated(yield* readMembership(), d.host)) return null;
  // (hardened) The VIP leaves the target before the VM may get it (a paused target keeps it
  // otherwise); the fence runs while the VM is activated.
  const fence = hardened(cfg) ? yield* spawn(`p2p/${manager}/fence/${d.host}`, fenceVip(d)) : null;
  // (hardened) Off the paper's timeline (a backup stood in again), the fence is waited for first:
  // an unfenceable target's backup is not activated at all.
  if (fence !== null && fenceFirst && !(yield* joined(fence))) return null;
  for (let attempt = 0; attempt < 16; attempt++) {
    // Another manager may be activating the VM right now (a relocation, a takeover): wait for it.
    let vm = yield* call('hypervisor', 'get', d.vm);
    for (let waited = 0; vm && (vm.state === 'resuming' || vm.state === 'starting') && waited < 120; waited++) {
      yield* sleep(cfg.timing.waitPollUs);
      vm = yield* call('hypervisor', 'get', d.vm);
    }
    // A manager that is gone may have left the VM running without its VIP: use it as it is.
    const host = vm?.state === 'running' && vm.host !== null && !failed.has(vm.host) ? vm.host : yield* activateBackup(manager, d, cfg, failed);
    if (host === null) return null;
    if (fence !== null && !(yield* joined(fence))) {
      // The target is up but out of reach: it may be serving clients this manager cannot see.
      yield* trace('p2p.warning', d.host, { manager, note: `cannot fence ${d.host} (up, out of reach): ${d.vm} does not take its VIP` });
      try {
        yield* call('hypervisor', 'suspend', d.vm);
      } catch {
        // left running without the VIP; a later stand-in uses it
      }
      yield* update<TroubleRecord>(KEYS.trouble(d.host), () => null);
      return null;
    }
    if (hardened(cfg) && (claimed ? !(yield* stillMine(d.host, manager)) : !isSeparated(yield* readMembership(), d.host))) {
      // This manager was paused meanwhile and another took the recovery over, or the target
      // came back while its backup was being relocated.
      yield* trace('p2p.stale', d.host, { manager, note: `${d.vm} does not take its VIP` });
      if (!claimed) {
        try {
          yield* call('hypervisor', 'suspend', d.vm);
        } catch {
          // not running
        }
      }
      return null;
    }
    if (hardened(cfg) && vm?.state === 'running' && vm.host === host) {
      // A VM left running (by a manager that is gone, or a fallback that could not suspend it)
      // is used as it is: the trouble file says where it runs.
      yield* update<TroubleRecord>(KEYS.trouble(d.host), () => ({ vm: d.vm, target: d.host, host, manager }));
    }
    try {
      yield* call('network', 'assignVip', d.vip, d.vm);
      return host;
    } catch (e) {
      yield* trace('p2p.warning', d.host, { manager, note: `VIP on ${d.vm} failed: ${portErrorOf(e).message}` });
      failed.add(host);
    }
  }
  return null;
}

/** Fig. 9(d): the failed server ran backup VMs of other targets: start them on other servers. */
function* relocateHostedBackups(manager: string, failed: string, cfg: P2pConfig): Op<void> {
  const troubles = (yield* storeCall('list', KEYS.troublePrefix)) as Array<{ key: string; value: TroubleRecord }>;
  for (const tr of troubles) {
    if (tr.value.host !== failed || tr.value.target === failed) continue;
    const other = yield* readData(tr.value.target);
    yield* trace('p2p.relocate', other.host, { manager, vm: other.vm, from: failed });
    const host = yield* standIn(manager, other, cfg);
    if (host !== null) yield* trace('function.recovered', other.host, { manager, vm: other.vm, host, relocated: true });
  }
}

function* tell(from: string, to: string | null, target: string, type: 'R' | 'U' | 'D', detectedUs: number): Op<void> {
  if (to === null) return;
  try {
    yield* call('messenger', 'send', to, P2_BOX(target), { from, to, type, body: { target, detectedUs } });
  } catch (e) {
    // P2 is unreachable: it will examine us and take over if it must. A report it refused (or a
    // send that failed) is said: P2 then decides on its own examinations.
    if (!isGone(e)) yield* trace('p2p.warning', target, { manager: from, note: `${type} report to ${to}: ${portErrorOf(e).message}` });
  }
}

/**
 * The paper's placement (Fig. 5) over the condition records of the servers `eligible` accepts
 * (with samples): the host with the lowest non-select value, ties by name. Each record's headroom
 * is computed once (records are replaced, never changed in place), and the best host is found by
 * the listing's `HeadroomIndex` (servers grouped by equal headroom) instead of ranking every
 * server. Records not keyed by their own server (so possibly two for one server), or one whose
 * samples are refused, go the long way, which refuses them.
 */
function placementOf(conds: ReadonlyArray<{ key: string; value: ConditionRecord }>, eligible: (server: string) => boolean, vms: ReadonlyMap<string, number>, serverType: ServerType): RankedHost | undefined {
  const ix = headroomIndexOf(conds);
  if (ix !== null) return ix.best(eligible, vms, serverType);
  const stages: ServerStages[] = conds
    .filter((c) => eligible(c.value.server) && c.value.current.length > 0)
    .map((c) => ({ server: c.value.server, vms: vms.get(c.value.server) ?? 0, capacity: c.value.capacity, previous: c.value.previous.length ? c.value.previous : c.value.current, current: c.value.current }));
  return stages.length === 0 ? undefined : rankHosts(realServerConditions(stages), serverType)[0];
}

/**
 * The `HeadroomIndex` of a listing of the condition records (null: a record not keyed by its own
 * server, or whose samples are refused). A listing that has the keys of the one indexed last, in
 * the same places, takes its index over: only the records that are not the same objects are set
 * again (the store's kept lists share the entries of the records not rewritten).
 */
function headroomIndexOf(conds: ReadonlyArray<{ key: string; value: ConditionRecord }>): HeadroomIndex | null {
  const known = headroomIndexes.get(conds);
  if (known !== undefined) return known;
  const last = lastIndexed;
  let ix: HeadroomIndex | null;
  try {
    if (last !== null && last.conds.length === conds.length && last.ix !== null) {
      ix = last.ix;
      const lastConds = last.conds;
      const carry = (i: number) => {
        const c = conds[i];
        const o = lastConds[i];
        if (c === o) return;
        if (c.key !== o.key) throw REBUILD;
        if (c.value === o.value) return;
        setHeadroom(ix!, c);
      };
      // A listing the store made from the last one notes where its entries are new (the same
      // entries elsewhere): those places only, in order; else every place.
      const at = replacedSince(conds, lastConds);
      if (at !== null) for (const i of [...at].sort((a, b) => a - b)) carry(i);
      else for (let i = 0; i < conds.length; i++) carry(i);
      headroomIndexes.delete(last.conds);
    } else ix = buildHeadroomIndex(conds);
  } catch (e) {
    if (e !== REBUILD && !(e instanceof RangeError)) throw e;
    if (last !== null) headroomIndexes.delete(last.conds);
    ix = e === REBUILD ? tryBuild(conds) : null;
  }
  headroomIndexes.set(conds, ix);
  lastIndexed = { conds, ix };
  return ix;
}
const REBUILD = new Error('rebuild the headroom index');
const headroomIndexes = new WeakMap<ReadonlyArray<{ key: string; value: ConditionRecord }>, HeadroomIndex | null>();
let lastIndexed: { conds: ReadonlyArray<{ key: string; value: ConditionRecord }>; ix: HeadroomIndex | null } | null = null;
function tryBuild(conds: ReadonlyArray<{ key: string; value: ConditionRecord }>): HeadroomIndex | null {
  try {
    return buildHeadroomIndex(conds);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}
function buildHeadroomIndex(conds: ReadonlyArray<{ key: string; value: ConditionRecord }>): HeadroomIndex {
  const ix = new HeadroomIndex();
  for (const c of conds) setHeadroom(ix, c);
  return ix;
}
/** Sets one record's server in `ix`; a RangeError for a record not keyed by its server or refused samples. */
function setHeadroom(ix: HeadroomIndex, c: { key: string; value: ConditionRecord }): void {
  const v = c.value;
  if (c.key.length !== KEYS.conditionPrefix.length + v.server.length || !c.key.startsWith(KEYS.conditionPrefix) || !c.key.endsWith(v.server)) throw new RangeError(`condition record ${c.key} is not keyed by its server ${v.server}`);
  ix.set(v.server, v.current.length > 0 ? headroomOf(v) : null);
}
const headrooms = new WeakMap<ConditionRecord, Headroom>();
function headroomOf(v: ConditionRecord): Headroom {
  let h = headrooms.get(v);
  if (h === undefined) {
    h = headroom({ server: v.server, capacity: v.capacity, previous: v.previous.length ? v.previous : v.current, current: v.current });
    headrooms.set(v, h);
  }
  return h;
}

/**
 * Activates the target's suspended VM on the management server with the lowest non-select value
 * (Fig. 5), re-reading the files before each attempt (other managers place VMs at the same time).
 */
function* activateBackup(manager: string, d: ManagementData, cfg: P2pConfig, exclude: Set<string>): Op<string | null> {
  void cfg;
  for (let attempt = 0; attempt < 16; attempt++) {
    const m = yield* readMembership();
    const troubles = (yield* storeCall('list', KEYS.troublePrefix)) as Array<{ key: string; value: TroubleRecord }>;
    const vms = new Map<string, number>();
    for (const x of troubles) if (x.value.target !== d.host) vms.set(x.value.host, (vms.get(x.value.host) ?? 0) + 1);
    const conds = (yield* storeCall('list', KEYS.conditionPrefix)) as Array<{ key: string; value: ConditionRecord }>;
    const cand = placementOf(conds, (s) => inGroup(m, s) && !exclude.has(s), vms, d.serverType);
    if (!cand) break;
    yield* update<TroubleRecord>(KEYS.trouble(d.host), () => ({ vm: d.vm, target: d.host, host: cand.server, manager }));
    yield* trace('p2p.placement', d.host, { manager, vm: d.vm, host: cand.server, nonSelect: Math.round(cand.value * 100) / 100 });
    try {
      yield* call('hypervisor', 'resume', d.vm, cand.server);
      return cand.server;
    } catch (e) {
      yield* trace('p2p.warning', d.host, { manager, note: `activation on ${cand.server} failed: ${portErrorOf(e).message}` });
      exclude.add(cand.server);
    }
  }
  yield* update<TroubleRecord>(KEYS.trouble(d.host), () => null);
  return null;
}

/** Examines the target repeatedly until it answers or `withinUs` has passed. */
function* examineWithin(d: ManagementData, withinUs: number, cfg: P2pConfig): Op<ProbeResult> {
  const deadline = (yield* now()) + withinUs;
  for (;;) {
    const r = yield* call('prober', 'probe', examSpec(d, cfg.timing));
    if (r.ok || (yield* now()) >= deadline) return r;
    yield* sleep(Math.min(cfg.timing.examRetryUs, Math.max(0, deadline - (yield* now()))));
  }
}

/** Pings until the target answers or `deadlineUs` passes. */
function* pingUntil(target: string, deadlineUs: number, t: P2pTiming): Op<boolean> {
  for (;;) {
    const r = yield* call('prober', 'probe', { kind: 'network', target, timeoutUs: t.tndUs });
    if (r.ok) return true;
    if ((yield* now()) >= deadlineUs) return false;
  }
}

/**
 * Examines the target's services (after its network came back): up.file or down.file. A booting
 * server answers ping before its daemons are up (seen in the mini-lab: NIC up, then the
 * daemons), so they get up to Tsw to answer, as after a daemon restart.
 */
function* examineAfterRestart(d: ManagementData, cfg: P2pConfig): Op<'up' | 'down'> {
  const r = yield* examineWithin(d, cfg.timing.tswUs, cfg);
  return r.ok ? 'up' : 'down';
}

/**
 * Background job 1 (network trouble, Fig. 7b): is the target restarting? Wait up to Trc for its
 * network; if it never answers, wake it with WOL (MAC from the management data) and wait again.
 */
function* backgroundJob1(manager: string, d: ManagementData, cfg: P2pConfig): Process<'up' | 'down'> {
  const t = cfg.timing;
  const start = yield* now();
  if (!(yield* pingUntil(d.host, start + t.trcUs, t))) {
    yield* trace('p2p.bg', d.host, { manager, job: 1, step: 'not restarting: wake-on-lan', mac: d.mac });
    yield* call('power', 'wake', d.mac);
    if (!(yield* pingUntil(d.host, (yield* now()) + t.trcUs, t))) return 'down';
  }
  return yield* examineAfterRestart(d, cfg);
}

/** Background job 2 (service trouble): VIP off the target, restart the target, examine it. */
function* backgroundJob2(manager: string, d: ManagementData, cfg: P2pConfig): Process<'up' | 'down'> {
  const t = cfg.timing;
  try {
    yield* call('network', 'removeVip', d.vip, d.host);
    yield* call('power', 'reboot', d.host);
  } catch (e) {
    yield* trace('p2p.bg', d.host, { manager, job: 2, step: `restart failed: ${portErrorOf(e).message}` });
  }
  yield* trace('p2p.bg', d.host, { manager, job: 2, step: 'restarting target' });
  // Give the restart a moment to take the network down before watching for its return.
  yield* sleep(t.tndUs);
  if (!(yield* pingUntil(d.host, (yield* now()) + t.trcUs, t))) return 'down';
  return yield* examineAfterRestart(d, cfg);
}

/**
 * The load subprogram (Fig. 3): samples its own server each interval for the condition file.
 * Once two samples in a row read the same, the record reads the same until the load changes:
 * `awaitLoadChange` waits for the first sample that differs (in sim without ticking through
 * the quiet time; the same samples at the same instants).
 */
function* loadSubprogram(host: string, cfg: P2pConfig): Process<void> {
  let previous: LoadMeasurement[] = [];
  let last: ConditionRecord | null = null;
  let next: LoadSample | null = null;
  for (;;) {
    try {
      const s: LoadSample = next ?? (yield* call('load', 'sample', host));
      next = null;
      const m: LoadMeasurement = { availableMemoryKb: s.memFreeKb, cpuIdlePct: s.cpuIdlePct, networkKb: s.netBytesPerS / 1024 };
      const capacity = { physicalMemoryKb: s.memTotalKb, cpuCores: s.cores, ratedTransferKbPerS: s.netRatedBytesPerS / 2 / 1024 };
      const rec: ConditionRecord = { server: host, capacity, previous, current: [m] };
      // The record is written when it reads differently (compared field by field as its JSON text would be).
      if (last === null || !sameCondition(rec, last)) {
        yield* update<ConditionRecord>(KEYS.condition(host), () => rec);
        last = rec;
      }
      previous = [m];
      // Steady: the same sample again would write nothing.
      if (sameCondition(last, { server: host, capacity, previous, current: [m] })) {
        next = yield* awaitLoadChange(host, cfg.timing.loadIntervalUs, s);
        continue;
      }
    } catch {
      // sampling failed this round; try again next interval
      next = null;
    }
    yield* sleep(cfg.timing.loadIntervalUs);
  }
}

/** Numbers as JSON text compares them (-0 reads as 0; NaN and the infinities all as null). */
const sameNumber = (a: number, b: number): boolean => a === b || (!Number.isFinite(a) && !Number.isFinite(b));
const sameMeasurements = (a: readonly LoadMeasurement[], b: readonly LoadMeasurement[]): boolean =>
  a.length === b.length && a.every((x, i) => sameNumber(x.availableMemoryKb, b[i].availableMemoryKb) && sameNumber(x.cpuIdlePct, b[i].cpuIdlePct) && sameNumber(x.networkKb, b[i].networkKb));

/** Would the two condition records read the same (JSON.stringify of each is equal)? No text is built per sample. */
export function sameCondition(a: ConditionRecord, b: ConditionRecord): boolean {
  return a.server === b.server && sameNumber(a.capacity.physicalMemoryKb, b.capacity.physicalMemoryKb) && sameNumber(a.capacity.cpuCores, b.capacity.cpuCores)
    && sameNumber(a.capacity.ratedTransferKbPerS, b.capacity.ratedTransferKbPerS) && sameMeasurements(a.previous, b.previous) && sameMeasurements(a.current, b.current);
}

/** Writes the initial management files (the administrator's set-up on the file server). */
export function* initialise(group: string[], data: ManagementData[]): Op<void> {
  // Frozen lists: the store keeps them as written (no copy of N names per write), and the order
  // list is the same one in every later record. The group file is a chunked list, so each later
  // write shares all of it but the chunk it changes (trace/chunked-list.ts; JSON: the same array).
  const names = frozenNames([...group]);
  const list = frozenNames(ChunkedList.from(names));
  if (new Set(names).size === names.length) ordered(list, names);
  yield* update(KEYS.membership, () => ({ group: list, separation: [], order: names }));
  yield* update(KEYS.operation, () => operationFile(list, []));
  for (const d of data) yield* update(KEYS.data(d.host), () => d);
}
