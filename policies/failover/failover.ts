// A minimal active/backup failover, the demo policy: one manager watches a target's service;
// on trouble it confirms with a network examination, activates the suspended backup VM, moves the
// VIP to it, then restarts the target (daemon, then the server) and falls back once it answers.
// It is written only against ports and effects, so it runs in sim and live alike.
import { S, join, now, sleep, spawn, trace, watch, type Op, type Process } from '../../engine/runtime/effects.ts';
import { call, isGone, portErrorOf } from '../../engine/ports/index.ts';
import type { ProbeSpec } from '../../engine/ports/probe.ts';

export interface FailoverConfig {
  manager: string;
  target: string;
  service: string;
  vip: string;
  backupVm: string;
  /** Host on which the backup VM is activated. */
  backupHost: string;
  intervalUs: number;
  /** Service examination timeout (Tsw). */
  serviceTimeoutUs: number;
  /** Network examination timeout (Tnd). */
  networkTimeoutUs: number;
  /** How long to wait for the target to come back before giving up this round. */
  recoveryWaitUs: number;
  /** paper (when omitted): the behaviour as first written; hardened (the manifest's default): docs/safety.md. */
  safety?: Safety;
}

export type Safety = 'paper' | 'hardened';

export function* failover(c: FailoverConfig): Process<void> {
  if (c.safety === 'hardened') return yield* failoverHardened(c);
  return yield* failoverPaper(c);
}

/** The failover as first written (safety: paper): kept as it was, for the experiments. */
function* failoverPaper(c: FailoverConfig): Process<void> {
  const svc: ProbeSpec = { kind: 'service', target: c.target, service: c.service, timeoutUs: c.serviceTimeoutUs };
  const ping: ProbeSpec = { kind: 'network', target: c.target, timeoutUs: c.networkTimeoutUs };
  for (;;) {
    const bad = yield* watch(svc, c.intervalUs);
    yield* trace('trouble.detected', c.target, { manager: c.manager, detail: bad.detail });
    // Network examination: is it the daemon or the whole server?
    const net = yield* call('prober', 'probe', ping);
    if (net.ok && bad.detail === 'refused') {
      // The daemon stopped: restarting it is enough (no backup needed).
      if (yield* restartService(c, svc)) continue;
    }
    try {
      yield* call('hypervisor', 'resume', c.backupVm, c.backupHost);
      yield* call('network', 'assignVip', c.vip, c.backupVm);
    } catch (e) {
      // The backup could not take over (its host is unreachable, ...): say so, watch again.
      yield* trace('function.unrecoverable', c.target, { manager: c.manager, reason: portErrorOf(e).message });
      continue;
    }
    yield* trace('function.recovered', c.target, { manager: c.manager, holder: c.backupVm });
    // Bring the target back: reboot it if it answers pings, else wait for it to return.
    if (net.ok) {
      try {
        yield* call('network', 'removeVip', c.vip, c.target);
        yield* call('power', 'reboot', c.target);
      } catch (e) {
        // It went away meanwhile: waiting below covers it. Any other failure is worth saying
        // (the waiting still decides whether the target came back).
        if (!isGone(e)) {
          const pe = portErrorOf(e);
          yield* trace('failover.error', c.target, { manager: c.manager, step: 'restart target', kind: pe.kind, reason: pe.message });
        }
      }
    }
    let back = false;
    const deadline = (yield* now()) + c.recoveryWaitUs;
    while (!back && (yield* now()) < deadline) {
      yield* sleep(1 * S);
      back = (yield* call('prober', 'probe', svc)).ok;
    }
    if (!back) {
      yield* trace('target.down', c.target, { manager: c.manager });
      return;
    }
    // Fallback: the VIP leaves the VM, then goes back to the target (never two live holders).
    try {
      yield* call('network', 'removeVip', c.vip, c.backupVm);
      yield* call('network', 'assignVip', c.vip, c.target);
      yield* call('hypervisor', 'suspend', c.backupVm);
    } catch (e) {
      yield* trace('failover.error', c.target, { manager: c.manager, step: 'fallback', reason: portErrorOf(e).message });
      continue;
    }
    yield* trace('target.recovered', c.target, { manager: c.manager, how: 'fallback' });
  }
}

// ---------------------------------------------------------------------------------------------
// safety: hardened (docs/safety.md: each change and the swarm case that showed it)

interface Shared {
  /** A recovery is in progress: the VIP audit keeps off. */
  busy: boolean;
}

function* failoverHardened(c: FailoverConfig): Process<void> {
  const svc: ProbeSpec = { kind: 'service', target: c.target, service: c.service, timeoutUs: c.serviceTimeoutUs };
  const ping: ProbeSpec = { kind: 'network', target: c.target, timeoutUs: c.networkTimeoutUs };
  const shared: Shared = { busy: false };
  // A VIP lost while nobody watched (a restart quicker than one interval drops run-time
  // addresses) is set again on the healthy target.
  yield* spawn(`failover/${c.target}/vip-audit`, vipAudit(c, svc, shared));
  for (;;) {
    const bad = yield* watch(svc, c.intervalUs);
    shared.busy = true;
    try {
      yield* recover(c, svc, ping, bad.detail);
    } finally {
      shared.busy = false;
    }
  }
}

function* recover(c: FailoverConfig, svc: ProbeSpec, ping: ProbeSpec, detail: string): Op<void> {
  yield* trace('trouble.detected', c.target, { manager: c.manager, detail });
  const net = yield* call('prober', 'probe', ping);
  if (net.ok) {
    if (detail === 'refused') {
      if (yield* restartService(c, svc)) return;
    } else if ((yield* call('prober', 'probe', svc)).ok) {
      // The failed probe is stale (the target answers ping and its service again): no action.
      yield* trace('trouble.cleared', c.target, { manager: c.manager, detail });
      return;
    }
  }
  // Fence: the VIP leaves the target before the backup gets it. A target that is down or paused
  // loses it at once; one that is up but out of reach cannot be fenced, and then the backup does
  // not take over (the target could be serving clients this manager cannot see). The fence runs
  // while the backup is activated, so a fence with nothing to do costs no time.
  const fence = yield* spawn(`failover/${c.target}/fence`, fenceTarget(c));
  const took = yield* takeOver(c, fence);
  if (took === 'unfenced') return;
  if (took === 'ok') yield* trace('function.recovered', c.target, { manager: c.manager, holder: c.backupVm });
  else yield* trace('function.unrecoverable', c.target, { manager: c.manager, reason: took });
  // Bring the target back (even when the backup could not take over): reboot it if it answers
  // pings, then wait for it; after recoveryWait say so, and keep waiting (and keep the backup
  // serving) for as long as it takes.
  if (net.ok) yield* rebootTarget(c);
  let back = false;
  const deadline = (yield* now()) + c.recoveryWaitUs;
  while (!back && (yield* now()) < deadline) {
    yield* sleep(1 * S);
    back = (yield* call('prober', 'probe', svc)).ok;
  }
  if (!back) {
    yield* trace('target.down', c.target, { manager: c.manager });
    let rebootAt = (yield* now()) + c.recoveryWaitUs;
    while (!back) {
      yield* keepBackup(c);
      yield* sleep(c.intervalUs);
      back = (yield* call('prober', 'probe', svc)).ok;
      if (!back && (yield* now()) >= rebootAt) {
        // It answers pings but not its service: reboot it again.
        if ((yield* call('prober', 'probe', ping)).ok) yield* rebootTarget(c);
        rebootAt = (yield* now()) + c.recoveryWaitUs;
      }
    }
  }
  // Fallback: the VIP leaves the VM, then goes back to the target (never two live holders). A
  // fallback that fails (the VM is out of reach) is tried again each interval while the target
  // stays healthy; a target in trouble again is the watch's to find.
  for (;;) {
    try {
      yield* call('network', 'removeVip', c.vip, c.backupVm);
      yield* call('network', 'assignVip', c.vip, c.target);
      break;
    } catch (e) {
      yield* trace('failover.error', c.target, { manager: c.manager, step: 'fallback', reason: portErrorOf(e).message });
    }
    yield* sleep(c.intervalUs);
    if (!(yield* call('prober', 'probe', svc)).ok) return;
  }
  try {
    yield* call('hypervisor', 'suspend', c.backupVm);
  } catch (e) {
    // A backup that never ran (or crashed) has nothing to suspend.
    if (took === 'ok') yield* trace('failover.error', c.target, { manager: c.manager, step: 'suspend backup', reason: portErrorOf(e).message });
  }
  yield* trace('target.recovered', c.target, { manager: c.manager, how: 'fallback' });
}

function* rebootTarget(c: FailoverConfig): Op<void> {
  try {
    yield* call('power', 'reboot', c.target);
  } catch (e) {
    if (!isGone(e)) {
      const pe = portErrorOf(e);
      yield* trace('failover.error', c.target, { manager: c.manager, step: 'restart target', kind: pe.kind, reason: pe.message });
    }
  }
}

/** Removes the VIP from the target; false when the target is up but out of reach. */
function* fenceTarget(c: FailoverConfig): Process<boolean> {
  try {
    yield* call('network', 'removeVip', c.vip, c.target);
    return true;
  } catch {
    return false;
  }
}

/**
 * Activates the backup and, once `fence` (a process) has removed the VIP from the target, sets
 * the VIP on it. A backup already running (a manager that restarted mid-way left it so) is used
 * as it is. 'ok', 'unfenced' (the backup was put back to sleep), or why it failed.
 */
function* takeOver(c: FailoverConfig, fence?: number): Op<string> {
  let resumed = false;
  let why = 'ok';
  try {
    yield* call('hypervisor', 'resume', c.backupVm, c.backupHost);
    resumed = true;
  } catch (e) {
    // Not suspended: running already (use it), or on its way (wait for it).
    why = `backup ${c.backupVm} could not take over: ${portErrorOf(e).message}`;
    let vm = (yield* call('hypervisor', 'list')).find((v) => v.name === c.backupVm);
    for (let waited = 0; vm && (vm.state === 'resuming' || vm.state === 'starting' || vm.state === 'suspending') && waited < 120; waited++) {
      yield* sleep(1 * S);
      vm = (yield* call('hypervisor', 'list')).find((v) => v.name === c.backupVm);
    }
    if (vm?.state === 'running') why = 'ok';
    else if (vm?.state === 'suspended' || vm?.state === 'crashed') {
      try {
        yield* call('hypervisor', 'resume', c.backupVm, c.backupHost);
        resumed = true;
        why = 'ok';
      } catch {
        // said below
      }
    }
  }
  if (fence !== undefined) {
    const r = yield* join<boolean>(fence);
    if (!(r.status === 'done' && r.value === true)) {
      yield* trace('function.unrecoverable', c.target, { manager: c.manager, reason: `cannot fence ${c.target} (up, out of reach): the backup does not take over` });
      if (resumed) {
        try {
          yield* call('hypervisor', 'suspend', c.backupVm);
        } catch {
          // it stays running without the VIP: the next takeover uses it
        }
      }
      return 'unfenced';
    }
  }
  if (why !== 'ok') return why;
  try {
    yield* call('network', 'assignVip', c.vip, c.backupVm);
    return 'ok';
  } catch (e) {
    return `VIP on ${c.backupVm} failed: ${portErrorOf(e).message}`;
  }
}

/** While the target is away the backup is watched like a target: a crashed one is activated again. */
function* keepBackup(c: FailoverConfig): Op<void> {
  const vm = (yield* call('hypervisor', 'list')).find((v) => v.name === c.backupVm);
  const holders = yield* call('network', 'vipHolders', c.vip);
  if (vm?.state === 'running' && holders.includes(c.backupVm)) {
    // Serving, unless its daemon stopped: restart it.
    const r = yield* call('prober', 'probe', { kind: 'service', target: c.backupVm, service: c.service, timeoutUs: c.serviceTimeoutUs });
    if (r.ok || r.detail !== 'refused') return;
    try {
      yield* call('services', 'restart', c.backupVm, c.service);
      yield* trace('failover.backup-daemon', c.target, { manager: c.manager, vm: c.backupVm, how: 'restart' });
    } catch {
      // tried again at the next check
    }
    return;
  }
  if ((yield* takeOver(c)) === 'ok') yield* trace('function.recovered', c.target, { manager: c.manager, holder: c.backupVm, again: true });
}

/**
 * While no recovery runs, the VIP must be on the target: the audit watches the VIP's address (a
 * ping of the VIP, quiet while it answers) and, when it stops answering while the target is
 * healthy (a restart quicker than one interval drops run-time addresses), sets it on the target
 * again. A prober that cannot ping a VIP address (a live lab without VIP addresses) ends the audit.
 */
function* vipAudit(c: FailoverConfig, svc: ProbeSpec, shared: Shared): Process<void> {
  const vipPing: ProbeSpec = { kind: 'network', target: c.vip, timeoutUs: c.networkTimeoutUs };
  // Checked at the start too (a manager that restarted mid-recovery may have left the VIP on the
  // backup), and again each interval for as long as the VIP is not on the target alone.
  let check = true;
  for (;;) {
    if (!check) {
      try {
        yield* watch(vipPing, c.intervalUs);
      } catch {
        return;
      }
    }
    let holders: string[] | null = null;
    try {
      if (!shared.busy) holders = yield* call('network', 'vipHolders', c.vip);
    } catch {
      // asked again below
    }
    check = holders === null || !(holders.length === 1 && holders[0] === c.target);
    if (!check) continue;
    if (holders === null || shared.busy || !(yield* call('prober', 'probe', svc)).ok || shared.busy) {
      yield* sleep(c.intervalUs);
      continue;
    }
    try {
      for (const h of holders) if (h !== c.target) yield* call('network', 'removeVip', c.vip, h);
      if (!holders.includes(c.target)) yield* call('network', 'assignVip', c.vip, c.target);
      yield* trace('failover.vip-restored', c.target, { manager: c.manager, holders });
      check = false;
      if (holders.includes(c.backupVm)) yield* call('hypervisor', 'suspend', c.backupVm);
    } catch (e) {
      yield* trace('failover.error', c.target, { manager: c.manager, step: 'vip audit', reason: portErrorOf(e).message });
      yield* sleep(c.intervalUs);
    }
  }
}

/**
 * Restarts the target's daemon and checks it answers; true when it does (traced as recovered).
 * A restart that fails because the target went away is silent; any other failure is traced.
 * Either way a false answer means the backup takes over.
 */
function* restartService(c: FailoverConfig, svc: ProbeSpec): Process<boolean> {
  try {
    yield* call('services', 'restart', c.target, c.service);
  } catch (e) {
    if (!isGone(e)) {
      const pe = portErrorOf(e);
      yield* trace('failover.error', c.target, { manager: c.manager, step: 'service restart', kind: pe.kind, reason: pe.message });
    }
    return false;
  }
  if (!(yield* call('prober', 'probe', svc)).ok) return false;
  yield* trace('target.recovered', c.target, { manager: c.manager, how: 'service restart' });
  return true;
}
