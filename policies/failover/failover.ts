// A minimal active/backup failover, the demo policy: one manager watches a target's service;
// on trouble it confirms with a network examination, activates the suspended backup VM, moves the
// VIP to it, then restarts the target (daemon, then the server) and falls back once it answers.
// It is written only against ports and effects, so it runs in sim and live alike.
import { S, now, sleep, trace, watch, type Process } from '../../engine/runtime/effects.ts';
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
  /** paper: the behaviour before the swarm fixes; hardened (the default): docs/safety.md. */
  safety?: Safety;
}

export type Safety = 'paper' | 'hardened';

export function* failover(c: FailoverConfig): Process<void> {
  const svc: ProbeSpec = { kind: 'service', target: c.target, service: c.service, timeoutUs: c.serviceTimeoutUs };
  const ping: ProbeSpec = { kind: 'network', target: c.target, timeoutUs: c.networkTimeoutUs };
  for (;;) {
    const bad = yield* watch(svc, c.intervalUs);
    yield* trace('trouble.detected', c.target, { manager: c.manager, detail: bad.detail });
    // Network examination: is it the daemon or the whole server?
    const net = yield* call('prober', 'probe', ping);
    if (net.ok && bad.detail === 'refused') {
      // The daemon stopped: restarting it is enough (no backup needed).
      let restarted = true;
      try {
        yield* call('services', 'restart', c.target, c.service);
      } catch (e) {
        // The target went away meanwhile, or the restart failed: the backup takes over.
        restarted = false;
        if (!isGone(e)) {
          const pe = portErrorOf(e);
          yield* trace('failover.error', c.target, { manager: c.manager, step: 'service restart', kind: pe.kind, reason: pe.message });
        }
      }
      if (restarted && (yield* call('prober', 'probe', svc)).ok) {
        yield* trace('target.recovered', c.target, { manager: c.manager, how: 'service restart' });
        continue;
      }
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
