// The multiple-server backup system (MSBS) of kitamura-2019 §2.8-3.3 as engine processes, all on
// the management server:
//   DBSS (one per virtual server): examines the target's network and services each interval;
//     on trouble it activates the target's backup VM on the management server, sets the target's
//     VIPs on it (function recovered), then brings the target back in the background (daemon
//     restart; VM restart on its real server) and hands the VIPs back. A target whose real server
//     is down is left to that server's DSRS.
//   DSRS (one per real server): examines the network and the virtualization software (hypervisor
//     list); on trouble it waits for a restart to finish, else wakes the server by Wake-on-LAN,
//     re-creates its VMs one after another, hands their VIPs back from the backups and suspends them.
//   SIF: the DBSSs and DSRSs send it messages; it edits the PSS files (files.ts of policies/pss)
//     with compare-and-set (Fig. 9's A1-A5, B1-B4) and, told by the PSS that a spare started,
//     starts a DBSS for the spare (Fig. 10(b)).
// A1/B1 (before each examination) and A2/B2 (after trouble is seen) read the PSS files directly:
// an access-stopped VM or a suspended real server is not in trouble.
import { S, cancel, join, now, receive, sleep, spawn, trace, type JoinResult, type Op, type Process } from '../../engine/runtime/effects.ts';
import { call, isGone, mailboxOf, portErrorOf } from '../../engine/ports/index.ts';
import type { AgentMessage } from '../../engine/ports/messenger.ts';
import type { ProbeSpec } from '../../engine/ports/probe.ts';
import { editFile, moveRows, moveVip, PSS_KEYS, readFile, vipsHeldBy, type RealRow, type VmRow } from '../pss/files.ts';
import { storeCall } from '../store.ts';

export interface DbssConfig {
  manager: string;
  target: string;
  services: string[];
  /** The backup VM (activated on the management server); none for a spare. */
  backup?: string;
  /** The real server the target normally runs on (its DBSS data's 8th line). */
  realServer: string;
  intervalUs: number;
  networkTimeoutUs: number;
  serviceTimeoutUs: number;
  /** Longest wait for the target to come back after a restart. */
  recoveryWaitUs: number;
  /**
   * A service check that timed out (its network answered) is examined once more, the services
   * given up to half the monitoring interval, before the target is declared in trouble (absent:
   * false, the paper's DBSS, which re-examines only the network after detection). A slow answer
   * from a loaded machine is then not a trouble unless the second is too slow as well.
   */
  reexamineService?: boolean;
  /** paper: kitamura-2019's MSBS; hardened (default): docs/safety.md. */
  safety?: 'paper' | 'hardened';
}

export interface DsrsConfig {
  manager: string;
  target: string;
  mac: string;
  /** The VMs it creates (the DSRS data's 4th line), with their DBSS data. */
  vms: DbssConfig[];
  intervalUs: number;
  networkTimeoutUs: number;
  /** Longest wait for a restart of the real server to finish before waking it. */
  restartWaitUs: number;
  /** Longest wait after the wake-up packet. */
  bootWaitUs: number;
  /** paper: kitamura-2019's DSRS; hardened (default): it also brings back the spares handed to it. */
  safety?: 'paper' | 'hardened';
}

export const SIF_BOX = 'sif';
/** Store record of a VM whose recovery its DBSS handed to the DSRS of its real server. */
export const handoverKey = (vm: string) => `msbs/handover/${vm}`;

function* toSif(manager: string, type: string, body: Record<string, unknown>): Op<void> {
  try {
    yield* call('messenger', 'send', manager, SIF_BOX, { from: manager, to: manager, type, body });
  } catch (e) {
    yield* trace('msbs.error', manager, { step: `sif ${type}`, reason: portErrorOf(e).message });
  }
}

/** The examination of the target; `round`: the loop's periodic one (ProbeSpec). */
const examine = (c: DbssConfig, serviceTimeoutUs = c.serviceTimeoutUs, round = false): ProbeSpec => ({ kind: 'examine', target: c.target, services: c.services, networkTimeoutUs: c.networkTimeoutUs, serviceTimeoutUs, ...(round ? { round } : {}) });

/** A1 / A2: is the target access-stopped (or separated and being handled)? */
function* accessStopped(target: string): Op<boolean> {
  const rows = yield* readFile<VmRow>(PSS_KEYS.accessStop);
  return rows.some((r) => r.host === target);
}

/**
 * The VIPs the target holds according to the operation file (the PSS may have moved them, Fig. 8(a)).
 * Hardened: also those whose record names it (the PSS writes its files only after a whole
 * transition: a VIP it has just moved onto the target is not in the operation file yet).
 */
function* vipsOf(target: string, hardened: boolean): Op<string[]> {
  const listed = (yield* readFile<VmRow>(PSS_KEYS.operation)).filter((r) => r.host === target && r.vip !== '').map((r) => r.vip);
  if (!hardened) return listed;
  return [...new Set([...listed, ...(yield* vipsHeldBy(target))])];
}

/** Hardened moves under the VIP's record: the old holder fenced, the VIP put back when the new one cannot take it. */
const FENCED = { fence: true, rollback: true } as const;

export function* dbss(first: DbssConfig): Process<void> {
  let c = first;
  // What the DBSS last logged of its target (Fig. 12): normal, or access-stopped by the PSS.
  let seen: 'normal' | 'access-stop' | null = null;
  const status = function* (s: 'normal' | 'access-stop'): Op<void> {
    if (s === seen) return;
    seen = s;
    yield* trace('dbss.status', c.target, { manager: c.manager, status: s });
  };
  for (;;) {
    // When the round is due (live, a loaded machine wakes the loop late: that counts in the round).
    const dueUs = (yield* now()) + c.intervalUs;
    yield* sleep(c.intervalUs);
    if (yield* accessStopped(c.target)) { // A1
      yield* status('access-stop');
      continue;
    }
    const handed = yield* storeCall('get', handoverKey(c.target));
    if (handed !== null) {
      // The DSRS has it. Hardened: the backup that stands in meanwhile is watched like a target.
      // A record without a backup (none took over: the target could not be fenced, or the backup
      // failed) leaves the target to this DBSS too, which examines it and takes over when it can.
      const rec = handed.value as { backup: string | null };
      if (c.safety !== 'paper' && rec.backup) yield* keepBackup(c.manager, c.target, rec.backup);
      if (c.safety === 'paper' || rec.backup || !c.backup) continue;
    }
    // Hardened: the VIP audit runs beside the examination (it costs the loop no time).
    const audit = c.safety !== 'paper' ? yield* spawn(`msbs/dbss/${c.target}/vips`, unheldVips(c.target)) : null;
    let r = yield* call('prober', 'probe', examine(c, c.serviceTimeoutUs, true));
    if (!r.ok && c.reexamineService && r.detail.startsWith('service:') && r.detail.endsWith(':timeout')) {
      // The second examination gives the services up to half the monitoring interval (at least
      // their timeout): a machine-wide stall of the guests outlasted two 3 s checks in a row live.
      const again = yield* call('prober', 'probe', examine(c, Math.max(c.serviceTimeoutUs, Math.round(c.intervalUs / 2))));
      yield* trace('dbss.reexamined', c.target, { manager: c.manager, first: r.detail, again: again.detail });
      r = again;
    }
    // The round's time, from when it was due to its end (a failing round: to the verdict): the
    // wake-up, the file reads, the examination, the VIP audit beside it. It sets when the next
    // round starts, so a paired sim replays it.
    const examined = function* (ok: boolean): Op<void> {
      yield* trace('dbss.examined', c.target, { manager: c.manager, tookUs: (yield* now()) - dueUs, ok });
    };
    if (audit !== null && !r.ok) yield* cancel(audit);
    if (r.ok) {
      yield* status('normal');
      if (audit !== null) yield* restoreVips(c, yield* join<string[]>(audit));
      // Hardened: a healthy target still in the separation file, with no handover, had its recovery
      // cut short (the manager restarted or was paused): its VIPs come back from the backup now.
      const cutShort = c.safety !== 'paper' && c.backup && handed === null && (yield* readFile<VmRow>(PSS_KEYS.separation)).some((x) => x.host === c.target);
      // A passing round ends here (live, the audit's VIPs asked again and the file read take time too).
      yield* examined(true);
      if (cutShort && c.backup) {
        const backup = c.backup;
        const vips = [...new Set([...(yield* readFile<VmRow>(PSS_KEYS.operation)).filter((x) => x.host === backup).map((x) => x.vip), ...(yield* vipsHeldBy(backup))])];
        yield* trace('msbs.resume', c.target, { manager: c.manager, backup, vips });
        yield* handBack(c.manager, c.target, backup, vips, true);
      }
      continue;
    }
    yield* examined(false);
    seen = null;
    if (yield* accessStopped(c.target)) continue; // A2
    yield* trace('trouble.detected', c.target, { manager: c.manager, detail: r.detail });
    // Re-examination of the network. Hardened: beside it, the manager's own network (a manager
    // cut off sees every target in trouble and must not act on what it cannot see).
    const self = c.safety !== 'paper' ? yield* spawn(`msbs/dbss/${c.target}/self`, selfReachable(c)) : null;
    const net = yield* call('prober', 'probe', { kind: 'network', target: c.target, timeoutUs: c.networkTimeoutUs });
    if (self !== null) {
      const j = yield* join<boolean>(self);
      if (j.status === 'done' && !j.value) {
        yield* trace('msbs.isolated', c.manager, { target: c.target });
        continue;
      }
    }
    if (net.ok && r.detail.endsWith(':refused')) {
      // The daemon stopped: restarting it recovers the target, no backup needed (Table 5, first row).
      let ok = false;
      try {
        for (const s of c.services) yield* call('services', 'restart', c.target, s);
        ok = (yield* call('prober', 'probe', examine(c))).ok;
      } catch {
        ok = false;
      }
      if (ok) {
        yield* trace('target.recovered', c.target, { manager: c.manager, how: 'service restart' });
        continue;
      }
    }
    const hardened = c.safety !== 'paper';
    let vips = yield* vipsOf(c.target, hardened);
    let holder: string | null = null;
    if (c.backup && vips.length > 0) {
      const backup = c.backup;
      try {
        if (hardened) yield* activate(backup, c.manager);
        else yield* call('hypervisor', 'resume', backup, c.manager);
        // Each VIP through its record (files.ts moveVip): only one the target still holds (the
        // PSS may have moved it meanwhile, Fig. 8).
        const taken: string[] = [];
        // Hardened: also one the target's row lists that nobody holds (a takeover whose assignment failed left it so).
        for (const vip of vips) if ((yield* moveVip(vip, c.target, backup, (h) => h === c.target || (hardened && h === ''), undefined, hardened ? FENCED : {})) === 'moved') taken.push(vip);
        vips = taken;
        if (taken.length > 0) {
          holder = backup;
          yield* trace('function.recovered', c.target, { manager: c.manager, holder, vips });
          yield* toSif(c.manager, 'replace', { target: c.target, backup, backupHost: c.manager }); // A4
        } else {
          yield* call('hypervisor', 'suspend', backup);
        }
      } catch (e) {
        yield* trace('function.unrecoverable', c.target, { manager: c.manager, reason: portErrorOf(e).message });
      }
    }
    // A3: the real server of the target; down -> its DSRS recovers the target.
    const rs = yield* call('prober', 'probe', { kind: 'network', target: c.realServer, timeoutUs: c.networkTimeoutUs });
    if (!rs.ok) {
      // Hardened: the record names the real server, so that its DSRS also brings back a spare (which has no backup).
      if (c.safety === 'paper') yield* storeCall('cas', handoverKey(c.target), 0, { backup: holder, vips });
      else {
        // Hardened: a record there already (handed over before, no backup then) now names the backup.
        for (;;) {
          const cur = yield* storeCall('get', handoverKey(c.target));
          const was = cur?.value as { backup: string | null; vips: string[] } | undefined;
          const rec = was && holder === null ? was : { backup: holder, vips, realServer: c.realServer };
          if ((yield* storeCall('cas', handoverKey(c.target), cur?.version ?? 0, rec)).ok) break;
        }
      }
      yield* trace('msbs.handover', c.target, { manager: c.manager, to: `dsrs/${c.realServer}` });
      continue;
    }
    yield* trace('msbs.background', c.target, { manager: c.manager, step: 'start' });
    const back = yield* restoreTarget(c, net.ok, r.detail);
    if (!back) {
      yield* trace('target.down', c.target, { manager: c.manager });
      if (holder !== null) {
        // Fig. 7(b), A5: the backup moves to the real server by live migration (off the
        // management server) and this DBSS manages it from now on, as DBSS(backup).
        try {
          // Hardened: the target it replaces goes first when it is still on the real server (restarted
          // but out of reach, a one-way partition): the two would not fit there together.
          if (c.safety !== 'paper') {
            const st = (yield* call('hypervisor', 'list')).find((v) => v.name === c.target);
            if (st !== undefined && st.host === c.realServer && st.state !== 'crashed' && st.state !== 'stopped' && st.state !== 'defined') {
              yield* trace('msbs.background', c.target, { manager: c.manager, step: 'destroy before the backup moves in' });
              yield* call('hypervisor', 'destroy', c.target);
            }
          }
          yield* call('hypervisor', 'migrate', holder, c.realServer);
          yield* toSif(c.manager, 'migrated', { backup: holder, realServer: c.realServer });
          yield* trace('msbs.migrated', holder, { manager: c.manager, from: c.manager, to: c.realServer, replaces: c.target });
          c = { ...c, target: holder, realServer: c.realServer };
          delete c.backup;
        } catch (e) {
          yield* trace('msbs.error', holder, { manager: c.manager, step: 'migrate backup', reason: portErrorOf(e).message });
        }
      }
      continue;
    }
    if (holder !== null && !(yield* handBack(c.manager, c.target, holder, vips, c.safety !== 'paper'))) {
      // Hardened: the target went again during the hand back; its DSRS brings it back, the
      // backup keeps serving (watched) meanwhile.
      yield* storeCall('cas', handoverKey(c.target), 0, { backup: holder, vips, realServer: c.realServer });
      yield* trace('msbs.handover', c.target, { manager: c.manager, to: `dsrs/${c.realServer}` });
      continue;
    }
    yield* trace('target.recovered', c.target, { manager: c.manager });
  }
}

/**
 * Hardened: the backup activated (resumed; started afresh when it crashed or was stopped: it has
 * no suspended image then). The paper only resumes it, and a crashed backup is never used again.
 */
function* activate(backup: string, host: string): Op<void> {
  try {
    yield* call('hypervisor', 'resume', backup, host);
  } catch (e) {
    const st = (yield* call('hypervisor', 'list')).find((v) => v.name === backup)?.state;
    if (st === 'running') return;
    if (st !== 'crashed' && st !== 'stopped' && st !== 'defined') throw e;
    yield* call('hypervisor', 'start', backup, host);
  }
}

/**
 * Hardened: a backup standing in for a target handed over to its DSRS is kept serving: when it
 * crashed it is started again and given back the VIPs whose record names it (a crash drops them).
 */
function* keepBackup(manager: string, target: string, backup: string): Op<void> {
  const vips = yield* vipsHeldBy(backup);
  if (vips.length === 0) return;
  try {
    const st = (yield* call('hypervisor', 'list')).find((v) => v.name === backup)?.state;
    if (st !== 'crashed' && st !== 'stopped') return;
    yield* trace('msbs.backup-restart', backup, { manager, replaces: target });
    yield* activate(backup, manager);
    // Through each VIP's record: not one the DSRS handed back meanwhile.
    for (const vip of vips) yield* moveVip(vip, backup, backup, (h) => h === backup, undefined, FENCED);
  } catch (e) {
    yield* trace('msbs.error', backup, { manager, step: 'restart backup', reason: portErrorOf(e).message });
  }
}

function* selfReachable(c: DbssConfig): Process<boolean> {
  return (yield* call('prober', 'probe', { kind: 'network', target: c.manager, timeoutUs: c.networkTimeoutUs })).ok;
}

/**
 * Hardened, the DBSS's VIP audit: the VIPs its target should hold (operation file, records) that
 * no VM holds at all. A VM re-created or rebooted with nobody taking its VIPs over (the DSRS
 * re-creates a VM that crashed while the manager was cut off; a guest reboot quicker than one
 * interval) comes back without them, and the examination (host and daemons) finds it healthy.
 */
function* unheldVips(target: string): Process<string[]> {
  const out: string[] = [];
  try {
    for (const vip of yield* vipsOf(target, true)) if ((yield* call('network', 'vipHolders', vip)).length === 0) out.push(vip);
  } catch {
    // asked again at the next examination
  }
  return out;
}

/** Hardened: sets each VIP the audit found held by nobody on the healthy target, through its record. */
function* restoreVips(c: DbssConfig, j: JoinResult<string[]>): Op<void> {
  if (j.status !== 'done') return;
  for (const vip of j.value) {
    try {
      // Still held by nobody, and only while its record names the target (or nobody): not one
      // the PSS or a DBSS moved meanwhile.
      if ((yield* call('network', 'vipHolders', vip)).length > 0) continue;
      if ((yield* moveVip(vip, c.target, c.target, (h) => h === c.target || h === '', undefined, FENCED)) === 'moved') {
        yield* trace('msbs.vip-restored', c.target, { manager: c.manager, vip });
      }
    } catch (e) {
      yield* trace('msbs.error', c.target, { manager: c.manager, step: 'vip audit', vip, reason: portErrorOf(e).message });
    }
  }
}

/** The network's holders of each VIP. */
function* holdersOf(vips: string[]): Process<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const v of vips) out[v] = yield* call('network', 'vipHolders', v);
  return out;
}

/** Background job: daemon restart when only a service stopped, else a restart of the VM. */
function* restoreTarget(c: DbssConfig, netOk: boolean, detail: string): Op<boolean> {
  void netOk;
  void detail;
  try {
    const vm = (yield* call('hypervisor', 'list')).find((v) => v.name === c.target);
    if (vm?.state === 'starting') {
      // Already booting (a guest reboot): wait for it rather than start it again.
      yield* trace('msbs.background', c.target, { manager: c.manager, step: 'wait for boot' });
    } else {
      if (vm?.state === 'running') yield* call('hypervisor', 'destroy', c.target);
      yield* trace('msbs.background', c.target, { manager: c.manager, step: 'restart' });
      yield* call('hypervisor', 'start', c.target, c.realServer);
    }
  } catch (e) {
    if (!isGone(e)) yield* trace('msbs.error', c.target, { manager: c.manager, step: 'restart target', reason: portErrorOf(e).message });
  }
  const deadline = (yield* now()) + c.recoveryWaitUs;
  while ((yield* now()) < deadline) {
    if ((yield* call('prober', 'probe', examine(c))).ok) return true;
    yield* sleep(1 * S);
  }
  return false;
}

/**
 * The VIPs go back from the backup to the target; the backup is suspended again (A5 / B4).
 * Hardened: only the VIPs the operation file still gives the backup (the PSS may have moved one
 * to a spare meanwhile: handing it back made two holders).
 */
function* handBack(manager: string, target: string, backup: string, vips: string[], hardened = false): Op<boolean> {
  if (hardened) {
    const held = new Set((yield* readFile<VmRow>(PSS_KEYS.operation)).filter((r) => r.host === backup).map((r) => r.vip));
    vips = vips.filter((v) => held.has(v));
  }
  let kept = false;
  for (const vip of vips) {
    try {
      yield* moveVip(vip, backup, target, (h) => h === backup, undefined, hardened ? FENCED : {}); // not one the PSS moved meanwhile
    } catch (e) {
      kept = true;
      yield* trace('msbs.error', target, { manager, step: 'hand back', vip, reason: portErrorOf(e).message });
    }
  }
  // Hardened: a VIP that could not go back stays on the backup (put back by the move), which keeps
  // serving: not restored, not suspended; the caller tries again later.
  if (hardened && kept) return false;
  yield* toSif(manager, 'restore', { target, backup });
  try {
    yield* call('hypervisor', 'suspend', backup);
  } catch (e) {
    yield* trace('msbs.error', backup, { manager, step: 'suspend backup', reason: portErrorOf(e).message });
  }
  return true;
}

/** B1 / B2: is the real server in the suspension real file? */
function* suspended(target: string): Op<boolean> {
  return (yield* readFile<RealRow>(PSS_KEYS.suspensionReal)).some((r) => r.realServer === target);
}

export function* dsrs(c: DsrsConfig): Process<void> {
  const ping: ProbeSpec = { kind: 'network', target: c.target, timeoutUs: c.networkTimeoutUs };
  const healthy = function* (): Op<boolean> {
    if (!(yield* call('prober', 'probe', ping)).ok) return false;
    try {
      yield* call('hypervisor', 'list', c.target); // the virtualization software answers
      return true;
    } catch {
      return false;
    }
  };
  for (;;) {
    yield* sleep(c.intervalUs);
    if (yield* suspended(c.target)) continue; // B1
    if (yield* healthy()) {
      // Hardened: VMs a DBSS handed over while this server answered (its probe failed, this one's
      // did not) are brought back now; the paper's DSRS looks at handovers only after a trouble.
      if (c.safety !== 'paper' && (yield* handedHere(c))) yield* bringBack(c);
      continue;
    }
    if (yield* suspended(c.target)) continue; // B2
    yield* trace('trouble.detected', c.target, { manager: c.manager, detail: 'real server' });
    yield* toSif(c.manager, 'real-down', { target: c.target }); // B3
    // Restarting? Wait for it; else wake it.
    let up = yield* waitUp(ping, c.restartWaitUs);
    if (!up) {
      yield* trace('msbs.wol', c.target, { manager: c.manager, mac: c.mac });
      try {
        yield* call('power', 'wake', c.mac);
      } catch (e) {
        yield* trace('msbs.error', c.target, { manager: c.manager, step: 'wake', reason: portErrorOf(e).message });
      }
      up = yield* waitUp(ping, c.bootWaitUs);
    }
    if (!up) {
      yield* trace('target.down', c.target, { manager: c.manager });
      continue;
    }
    yield* bringBack(c);
    yield* toSif(c.manager, 'real-up', { target: c.target });
    yield* trace('target.recovered', c.target, { manager: c.manager });
  }
}

/** Is a VM of this real server (its own, or a spare on it) handed over to its DSRS? */
function* handedHere(c: DsrsConfig): Op<boolean> {
  const own = new Set(c.vms.map((v) => v.target));
  return (yield* storeCall('list', 'msbs/handover/')).some((h) => own.has(h.key.slice('msbs/handover/'.length)) || (h.value as { realServer?: string }).realServer === c.target);
}

/** B4: the server's VMs re-created one after another, their VIPs handed back from the backups. */
function* bringBack(c: DsrsConfig): Op<void> {
  {
    for (const vm of c.vms) {
      try {
        const info = (yield* call('hypervisor', 'list')).find((v) => v.name === vm.target);
        if (info?.state !== 'running') yield* call('hypervisor', 'start', vm.target, c.target);
        yield* trace('msbs.vm-started', vm.target, { manager: c.manager, host: c.target });
      } catch (e) {
        yield* trace('msbs.error', vm.target, { manager: c.manager, step: 'start vm', reason: portErrorOf(e).message });
      }
    }
    for (const vm of c.vms) {
      const h = yield* storeCall('get', handoverKey(vm.target));
      const rec = h?.value as { backup: string | null; vips: string[] } | undefined;
      if (h && rec) {
        if (rec.backup) {
          if (!(yield* handBack(c.manager, vm.target, rec.backup, rec.vips, vm.safety !== 'paper'))) continue; // kept: tried again
        } else for (const vip of rec.vips) {
          try {
            // Hardened: also one nobody holds (a takeover whose assignment failed left it so).
            yield* moveVip(vip, vm.target, vm.target, (h) => h === vm.target || (vm.safety !== 'paper' && h === ''));
          } catch {
            // said by the DBSS at its next examination
          }
        }
        yield* storeCall('del', handoverKey(vm.target), h.version);
      }
      yield* trace('target.recovered', vm.target, { manager: c.manager, by: `dsrs/${c.target}` });
    }
    if (c.safety !== 'paper') yield* sparesBack(c);
  }
}

/**
 * Hardened: the spares (no backup) that ran on this real server and were handed over to its DSRS
 * are started on it again and get back the VIPs the operation file still gives them (the paper's
 * DSRS re-creates only the server's own VMs: a spare's VIPs were lost with it).
 */
function* sparesBack(c: DsrsConfig): Op<void> {
  const own = new Set(c.vms.map((v) => v.target));
  for (const h of yield* storeCall('list', 'msbs/handover/')) {
    const rec = h.value as { backup: string | null; vips: string[]; realServer?: string };
    const vm = h.key.slice('msbs/handover/'.length);
    if (rec.realServer !== c.target || own.has(vm) || rec.backup !== null) continue;
    try {
      const info = (yield* call('hypervisor', 'list')).find((v) => v.name === vm);
      if (info?.state !== 'running') yield* call('hypervisor', 'start', vm, c.target);
      const held = new Set((yield* readFile<VmRow>(PSS_KEYS.operation)).filter((r) => r.host === vm).map((r) => r.vip));
      for (const vip of rec.vips) if (held.has(vip)) yield* call('network', 'assignVip', vip, vm);
      yield* trace('msbs.vm-started', vm, { manager: c.manager, host: c.target });
    } catch (e) {
      yield* trace('msbs.error', vm, { manager: c.manager, step: 'start spare', reason: portErrorOf(e).message });
    }
    yield* storeCall('del', h.key, h.version);
  }
}

function* waitUp(ping: ProbeSpec, forUs: number): Op<boolean> {
  const deadline = (yield* now()) + forUs;
  while ((yield* now()) < deadline) {
    yield* sleep(1 * S);
    if ((yield* call('prober', 'probe', ping)).ok) return true;
  }
  return false;
}

/**
 * The SIF: edits the PSS files for the DBSSs and DSRSs, and starts (stops) the DBSS of a spare
 * the PSS started (suspended). `spareDbss` makes the DBSS of a spare.
 */
export function* sif(manager: string, spareDbss: (vm: string, host: string) => Process<void> | null, safety: 'paper' | 'hardened' = 'hardened'): Process<void> {
  const spares = new Map<string, number>();
  for (;;) {
    const m = yield* receive<AgentMessage>(mailboxOf(manager, SIF_BOX));
    if (!m) continue;
    const b = m.body as Record<string, string>;
    switch (m.type) {
      case 'replace': {
        // A4: the target's rows leave the operation file for the separation file; the backup
        // takes its VIPs in the operation file. Hardened: the operation file changes in one
        // compare-and-set (the paper's two edits left it without the VIP, or with it twice, between them).
        if (safety !== 'paper') {
          let moved: VmRow[] = [];
          yield* editFile<VmRow>(PSS_KEYS.operation, (rows) => {
            moved = rows.filter((r) => r.host === b.target);
            return [...rows.filter((r) => r.host !== b.target), ...moved.map((r) => ({ ...r, host: b.backup, realServer: b.backupHost }))];
          });
          if (moved.length > 0) yield* editFile<VmRow>(PSS_KEYS.separation, (rows) => [...rows, ...moved]);
          break;
        }
        const moved = yield* moveRows<VmRow>(PSS_KEYS.operation, PSS_KEYS.separation, (r) => r.host === b.target);
        yield* editFile<VmRow>(PSS_KEYS.operation, (rows) => [...rows, ...moved.map((r) => ({ ...r, host: b.backup, realServer: b.backupHost }))]);
        break;
      }
      case 'restore': {
        // A5 / B4: back again. Hardened: in one edit of the operation file, and only the VIPs
        // the backup still holds there (the PSS may have moved one on).
        if (safety !== 'paper') {
          let back: VmRow[] = [];
          yield* editFile<VmRow>(PSS_KEYS.separation, (rows) => {
            back = rows.filter((r) => r.host === b.target);
            return rows.filter((r) => r.host !== b.target);
          });
          yield* editFile<VmRow>(PSS_KEYS.operation, (op) => {
            const held = new Set(op.filter((r) => r.host === b.backup).map((r) => r.vip));
            const mine = back.filter((r) => held.has(r.vip));
            const vips = new Set(mine.map((r) => r.vip));
            return [...op.filter((r) => !(r.host === b.backup && vips.has(r.vip))), ...mine];
          });
          break;
        }
        const rows = yield* moveRows<VmRow>(PSS_KEYS.separation, PSS_KEYS.operation, (r) => r.host === b.target);
        const vips = new Set(rows.map((r) => r.vip));
        yield* editFile<VmRow>(PSS_KEYS.operation, (op) => op.filter((r) => !(r.host === b.backup && vips.has(r.vip))));
        break;
      }
      case 'migrated':
        // A5: the backup's row now names the real server it runs on.
        yield* editFile<VmRow>(PSS_KEYS.operation, (rows) => rows.map((r) => (r.host === b.backup ? { ...r, realServer: b.realServer } : r)));
        break;
      case 'real-down':
        yield* moveRows<RealRow>(PSS_KEYS.realServer, 'msbs/real-down', (r) => r.realServer === b.target); // B3
        break;
      case 'real-up':
        yield* moveRows<RealRow>('msbs/real-down', PSS_KEYS.realServer, (r) => r.realServer === b.target);
        break;
      case 'spare-started': {
        const body = spareDbss(b.vm, b.host);
        if (body && !spares.has(b.vm)) spares.set(b.vm, yield* spawn(`msbs/dbss/${b.vm}`, body));
        break;
      }
      case 'spare-stopped': {
        const pid = spares.get(b.vm);
        if (pid !== undefined) {
          yield* cancel(pid);
          spares.delete(b.vm);
        }
        break;
      }
    }
    yield* trace('sif.done', manager, { type: m.type, ...b });
  }
}
