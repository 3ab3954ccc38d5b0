// Navigator (wong-2014): a monitoring service in a container that moves between ordinary PCs.
// Every PC runs a Service Depot with its Depot Agent (`depot`): it reports its host's uptime and
// starts a Pilot Agent when asked. One Pilot Agent program (`pilot`) takes the primary or the
// secondary role and changes role on failover:
//   primary   backs up the container image (at start), starts the container, the monitoring
//             service and the service IP; asks the depots for uptimes and puts the secondary on
//             the host up longest (copies the image and the pilot there, starts the pilot); checks
//             the secondary container every 5 min and synchronises the database every minute.
//   secondary backs up the image it received, starts its container with the service idle, and
//             checks the primary container every 5 s; when it stops answering it becomes primary
//             (service IP, monitoring service) and finds a new secondary.
// Every container start in a role is a tracking record (`navigator.track`: role, host, failover).
// With `lease` a pilot serves the service IP only while it holds the lease record in the store,
// which closes the split brain the thesis admits (a secondary cut off from a live primary starts a
// second primary).
import { S, now, receive, sleep, spawn, trace, watch, type Op, type Process } from '../../engine/runtime/effects.ts';
import { call, isGone, mailboxOf, portErrorOf, type AgentMessage, type ProbeSpec } from '../../engine/ports/index.ts';
import { chooseSecondary, type Placement, type UptimeReport } from './decisions.ts';
import { storeOutOfReach } from '../store.ts';

export interface NavigatorConfig {
  /** The PCs with a Service Depot (candidates for the containers). */
  hosts: string[];
  /** The two container slots (VM names): the primary's and the secondary's. */
  containers: [string, string];
  /** The monitoring service inside the container. */
  service: string;
  /** The service IP. */
  vip: string;
  imageBytes: number;
  backupRateBps: number;
  transferRateBps: number;
  syncBytes: number;
  syncRateBps: number;
  syncIntervalUs: number;
  primaryCheckUs: number;
  secondaryCheckUs: number;
  pingTimeoutUs: number;
  /** How long the primary waits for uptime replies. */
  uptimeWaitUs: number;
  lease: boolean;
  leaseTtlUs: number;
  /** How the secondary's host is chosen (the thesis: the PC up longest). */
  placement: Placement;
  /** paper: the thesis's pilots; hardened (default): a primary keeps its own service (absent: hardened). */
  safety?: 'paper' | 'hardened';
}

export const DEPOT_BOX = 'navigator-depot';
const UPTIME_BOX = 'navigator-uptime';
const READY_BOX = 'navigator-ready';
export const LEASE_KEY = 'navigator/lease';

interface Lease {
  holder: string;
  vm: string;
  expiresUs: number;
}

/** What one pilot knows. */
interface PilotState {
  host: string;
  vm: string;
  secondary: { host: string; vm: string } | null;
  /** The secondary said its container runs. */
  ready: boolean;
  /** A lease-holding primary that lost its lease stops serving. */
  deposed: boolean;
  /** When the lease this pilot last took or renewed runs out (µs; 0: it holds none). */
  leaseExpiresUs?: number;
  /** The last row this primary wrote to the monitoring database (a new primary goes on from the restored dump's). */
  seq: number;
}

const otherSlot = (c: NavigatorConfig, vm: string) => (c.containers[0] === vm ? c.containers[1] : c.containers[0]);

function* track(role: 'primary' | 'secondary', host: string, vm: string, failover: boolean): Op<void> {
  yield* trace('navigator.track', host, { role, host, vm, failover });
}

function* error(host: string, step: string, e: unknown): Op<void> {
  const pe = portErrorOf(e);
  yield* trace('navigator.error', host, { step, kind: pe.kind, reason: pe.message });
}

/** The Service Depot and Depot Agent of one PC: uptime reports and pilot starts. */
export function* depot(c: NavigatorConfig, host: string): Process<void> {
  for (;;) {
    const m = yield* receive<AgentMessage>(mailboxOf(host, DEPOT_BOX));
    if (!m) continue;
    if (m.type === 'uptime?') {
      try {
        // Whole seconds, as `uptime` reports them: PCs booted together tie whatever the order of the replies.
        const uptimeS = Math.floor(yield* call('depot', 'uptime', host));
        yield* call('messenger', 'send', m.from, UPTIME_BOX, { from: host, to: m.from, type: 'uptime', body: { host, uptimeS, round: m.body.round } });
      } catch {
        // the asker is gone: it will not count on this reply
      }
    } else if (m.type === 'start-pilot') {
      const b = m.body as { vm: string; primaryHost: string; primaryVm: string };
      yield* spawn(`navigator/pilot@${host}`, secondaryPilot(c, host, b.vm, b.primaryHost, b.primaryVm));
    }
  }
}

/** The first pilot, placed by the administrator with the container on `host`. */
export function* initialPilot(c: NavigatorConfig, host: string): Process<void> {
  const st: PilotState = { host, vm: c.containers[0], secondary: null, ready: false, deposed: false, seq: 0 };
  try {
    yield* call('depot', 'copyImage', host, host, c.imageBytes, c.backupRateBps);
    yield* call('hypervisor', 'start', st.vm, host);
  } catch (e) {
    yield* error(host, 'primary container', e);
    return;
  }
  if (!(yield* serve(c, st, false))) return;
  yield* primaryLoop(c, st);
}

/** A pilot started by a primary on `host` for the secondary container `vm`. */
export function* secondaryPilot(c: NavigatorConfig, host: string, vm: string, primaryHost: string, primaryVm: string): Process<void> {
  try {
    yield* call('depot', 'copyImage', host, host, c.imageBytes, c.backupRateBps);
    yield* call('hypervisor', 'start', vm, host);
    // The secondary's monitoring service stays idle.
    yield* call('services', 'stop', vm, c.service);
  } catch (e) {
    yield* error(host, 'secondary container', e);
    // Hardened: no container is left running without its pilot (it would block the slot).
    if (c.safety !== 'paper') {
      try {
        yield* call('hypervisor', 'destroy', vm);
      } catch {
        // never started, or gone already
      }
    }
    return;
  }
  yield* track('secondary', host, vm, false);
  try {
    yield* call('messenger', 'send', primaryHost, READY_BOX, { from: host, to: primaryHost, type: 'secondary-ready', body: { host, vm } });
  } catch {
    // The primary is gone already: the check below finds it.
  }
  const ping: ProbeSpec = { kind: 'network', target: primaryVm, timeoutUs: c.pingTimeoutUs };
  for (;;) {
    const bad = yield* watch(ping, c.primaryCheckUs);
    yield* trace('navigator.primary-lost', host, { primaryHost, primaryVm, detail: bad.detail });
    const st: PilotState = { host, vm, secondary: null, ready: false, deposed: false, seq: 0 };
    if (c.lease && !(yield* acquireLease(c, st))) {
      // A live primary holds the lease (it is cut off from here, not dead): stay secondary.
      yield* trace('navigator.lease-denied', host, { vm });
      yield* sleep(c.primaryCheckUs);
      continue;
    }
    // Hardened: the service IP comes off the old primary's container in the same instant as it is
    // set on this one (a paused primary would return still holding it). Started first, it lands
    // first; it takes the time the assignment takes, so the failover is no longer.
    if (c.safety !== 'paper') yield* spawn(`navigator/fence@${host}`, fence(c, host, primaryVm));
    if (!(yield* serve(c, st, true))) {
      if (c.safety === 'paper') return;
      // Hardened: a secondary that could not take over (its own link down, say) stays secondary
      // and gives the lease back, instead of ending with nobody watching the primary.
      yield* releaseLease(c, host);
      yield* sleep(c.primaryCheckUs);
      continue;
    }
    return yield* primaryLoop(c, st);
  }
}

/** Takes the service IP off the old primary's container; one that is up but out of reach keeps it (the lease deposes it). */
function* fence(c: NavigatorConfig, host: string, oldVm: string): Process<void> {
  try {
    yield* call('network', 'removeVip', c.vip, oldVm);
  } catch (e) {
    yield* error(host, `fence ${oldVm}`, e);
  }
}

/**
 * Makes `st.vm` the primary container: the service IP (with the lease, once it is held), the
 * monitoring service, the tracking record. False when it could not.
 */
function* serve(c: NavigatorConfig, st: PilotState, failover: boolean): Op<boolean> {
  if (c.lease && !(yield* acquireLease(c, st))) {
    yield* trace('navigator.lease-denied', st.host, { vm: st.vm });
    return false;
  }
  // A pilot taking over restores the last database dump the primary sent (§4.7) before its
  // monitoring service starts: the data written up to that sync is kept.
  if (failover) yield* restoreDatabase(st);
  try {
    yield* call('network', 'assignVip', c.vip, st.vm);
    yield* call('services', 'start', st.vm, c.service);
  } catch (e) {
    yield* error(st.host, 'take the primary role', e);
    return false;
  }
  yield* track('primary', st.host, st.vm, failover);
  return true;
}

/** The primary's duties: a secondary, its check, the database sync, the lease. */
function* primaryLoop(c: NavigatorConfig, st: PilotState): Process<void> {
  yield* spawn(`navigator/sync@${st.host}`, syncLoop(c, st));
  if (c.lease) {
    yield* spawn(`navigator/lease@${st.host}`, leaseLoop(c, st));
    if (c.safety !== 'paper') yield* spawn(`navigator/lease-guard@${st.host}`, leaseGuard(c, st));
  }
  if (c.safety !== 'paper') yield* spawn(`navigator/keeper@${st.host}`, keeper(c, st));
  const exclude: string[] = [];
  for (;;) {
    if (st.deposed) return;
    if (st.secondary === null) {
      const placed = yield* placeSecondary(c, st, exclude);
      if (placed === 'none') {
        // No PC to take it: ask again after a secondary check interval.
        exclude.length = 0;
        yield* sleep(c.secondaryCheckUs);
        continue;
      }
      // A candidate that failed is excluded: try the next one at once.
      if (placed === 'failed') continue;
    }
    const sec = st.secondary!;
    const ping: ProbeSpec = { kind: 'network', target: sec.vm, timeoutUs: c.pingTimeoutUs };
    const bad = yield* watch(ping, c.secondaryCheckUs);
    if (st.deposed) return;
    yield* trace('navigator.secondary-lost', st.host, { secondaryHost: sec.host, secondaryVm: sec.vm, detail: bad.detail });
    st.secondary = null;
    st.ready = false;
    exclude.length = 0;
    exclude.push(sec.host);
  }
}

/**
 * Asks every depot for its uptime, copies the image and the pilot to the host up longest and
 * starts the secondary pilot there: 'placed' once that pilot reports its container running,
 * 'failed' when the candidate failed (it is added to `exclude`), 'none' when no PC answered.
 */
function* placeSecondary(c: NavigatorConfig, st: PilotState, exclude: string[]): Op<'placed' | 'failed' | 'none'> {
  // The query's time names its round: replies to an earlier query (of this or an earlier pilot on this PC) are dropped.
  const round = yield* now();
  for (const h of c.hosts) {
    if (h === st.host || exclude.includes(h)) continue;
    try {
      yield* call('messenger', 'send', h, DEPOT_BOX, { from: st.host, to: h, type: 'uptime?', body: { round } });
    } catch {
      // off or out of reach: no candidate
    }
  }
  const reports: UptimeReport[] = [];
  const deadline = (yield* now()) + c.uptimeWaitUs;
  for (;;) {
    const left = deadline - (yield* now());
    if (left <= 0) break;
    const m = yield* receive<AgentMessage>(mailboxOf(st.host, UPTIME_BOX), left);
    if (!m) break;
    if (m.body.round === round) reports.push({ host: String(m.body.host), uptimeS: Number(m.body.uptimeS) });
  }
  const cand = chooseSecondary(reports, [st.host, ...exclude], c.placement, round);
  yield* trace('navigator.candidates', st.host, { reports: reports.map((r) => [r.host, Math.round(r.uptimeS)]), chosen: cand });
  if (cand === null) return 'none';
  exclude.push(cand);
  const vm = otherSlot(c, st.vm);
  try {
    // The image and the pilot program (a few KB) go by secure copy.
    yield* call('depot', 'copyImage', st.host, cand, c.imageBytes, c.transferRateBps);
    yield* call('messenger', 'send', cand, DEPOT_BOX, { from: st.host, to: cand, type: 'start-pilot', body: { vm, primaryHost: st.host, primaryVm: st.vm } });
  } catch (e) {
    yield* error(st.host, `secondary on ${cand}`, e);
    return 'failed';
  }
  // The new pilot backs the image up and starts its container before it says it is ready. Its
  // PC is checked each secondary check interval meanwhile (it may go away mid-way); past the
  // backup's time and half an hour more, it has failed.
  const readyBy = (yield* now()) + Math.ceil((c.imageBytes * 8 * S) / c.backupRateBps) + 30 * 60 * S;
  const pc: ProbeSpec = { kind: 'network', target: cand, timeoutUs: c.pingTimeoutUs };
  for (;;) {
    const left = readyBy - (yield* now());
    const ready = left > 0 ? yield* receive<AgentMessage>(mailboxOf(st.host, READY_BOX), Math.min(left, c.secondaryCheckUs)) : undefined;
    if (ready && ready.body.host === cand) break;
    if (ready) continue; // a stale message of an earlier candidate
    if (left > 0 && (yield* call('prober', 'probe', pc)).ok) continue;
    yield* trace('navigator.error', st.host, { step: `secondary on ${cand}`, kind: 'timeout', reason: left > 0 ? `${cand} went away` : 'no ready message' });
    return 'failed';
  }
  st.secondary = { host: cand, vm };
  st.ready = true;
  return 'placed';
}

/** The new primary's database: the last dump received, restored (none received: an empty one). */
function* restoreDatabase(st: PilotState): Op<void> {
  try {
    const d = yield* call('depot', 'restoreDatabase', st.host);
    st.seq = d.lastSeq;
    yield* trace('navigator.db-restore', st.host, { rows: d.rows, lastSeq: d.lastSeq });
  } catch (e) {
    yield* error(st.host, 'database restore', e);
  }
}

/**
 * The primary's monitoring data and its sync (§4.7): every syncInterval one row (the primary
 * PC's uptime, as the monitoring service samples the lab's PCs) goes into the database on the
 * primary's PC, and a dump of it to the secondary's depot.
 */
function* syncLoop(c: NavigatorConfig, st: PilotState): Process<void> {
  for (;;) {
    yield* sleep(c.syncIntervalUs);
    if (st.deposed) return;
    try {
      const uptimeS = Math.floor(yield* call('depot', 'uptime', st.host));
      const seq = st.seq + 1;
      yield* call('depot', 'recordSample', st.host, { seq, tUs: yield* now(), host: st.host, item: 'uptime', value: uptimeS });
      st.seq = seq;
    } catch (e) {
      if (!isGone(e)) yield* error(st.host, 'monitoring record', e);
    }
    const sec = st.secondary;
    if (!sec || !st.ready) continue;
    try {
      const d = yield* call('depot', 'syncDatabase', st.host, sec.host, c.syncBytes, c.syncRateBps);
      yield* trace('navigator.db-sync', st.host, { to: sec.host, rows: d.rows, lastSeq: d.lastSeq });
    } catch (e) {
      if (!isGone(e)) yield* error(st.host, 'database sync', e);
    }
  }
}

/**
 * Takes or renews the lease for `st`; false when another pilot holds an unexpired one, null when
 * the store is out of reach (the pilot cannot take or renew a lease then).
 */
function* acquireLease(c: NavigatorConfig, st: PilotState): Op<boolean | null> {
  const t = yield* now();
  try {
    const cur = yield* call('store', 'get', LEASE_KEY);
    const lease = (cur?.value ?? null) as Lease | null;
    if (lease && lease.holder !== st.host && lease.expiresUs > t) return false;
    const r = yield* call('store', 'cas', LEASE_KEY, cur?.version ?? 0, { holder: st.host, vm: st.vm, expiresUs: t + c.leaseTtlUs } satisfies Lease);
    if (r.ok) st.leaseExpiresUs = t + c.leaseTtlUs;
    return r.ok;
  } catch (e) {
    if (!storeOutOfReach(e)) throw e;
    yield* trace('navigator.store-unreachable', st.host, { vm: st.vm });
    return null;
  }
}

/**
 * Hardened: the primary keeps its own container's service (the thesis's secondary only pings the
 * container, so a stopped service or a crashed container under a live pilot went unnoticed, and
 * with the lease that pilot kept renewing it). Checked every primary check; a failed check
 * restarts the service; when that does not bring it back, the primary steps down: the service IP
 * off, its container destroyed (the secondary's ping then fails), the lease given up.
 */
function* keeper(c: NavigatorConfig, st: PilotState): Process<void> {
  const spec: ProbeSpec = { kind: 'service', target: st.vm, service: c.service, timeoutUs: c.pingTimeoutUs };
  for (;;) {
    const bad = yield* watch(spec, c.primaryCheckUs);
    if (st.deposed) return;
    yield* trace('navigator.primary-trouble', st.host, { vm: st.vm, detail: bad.detail });
    if (yield* restore(c, st, spec, false)) continue;
    if (st.deposed) return;
    // A crashed or hung container: started again on this PC, the service IP set on it again.
    if (yield* restore(c, st, spec, true)) {
      yield* trace('navigator.container-restarted', st.host, { vm: st.vm });
      continue;
    }
    if (st.deposed) return;
    st.deposed = true;
    yield* trace('navigator.step-down', st.host, { vm: st.vm, detail: bad.detail });
    return yield* stepDown(c, st);
  }
}

/** A primary leaves its role: the service IP off, its container destroyed (the secondary's ping then fails), the lease given up. */
function* stepDown(c: NavigatorConfig, st: PilotState): Op<void> {
  try {
    yield* call('network', 'removeVip', c.vip, st.vm);
  } catch (e) {
    yield* error(st.host, 'step down: service IP', e);
  }
  try {
    yield* call('hypervisor', 'destroy', st.vm);
  } catch (e) {
    if (!isGone(e)) yield* error(st.host, 'step down: container', e);
  }
  yield* releaseLease(c, st.host);
}

/** The keeper's repair: the service restarted, or (`container`) the container started again with the service IP. */
function* restore(c: NavigatorConfig, st: PilotState, spec: ProbeSpec, container: boolean): Op<boolean> {
  try {
    if (container) {
      const vm = (yield* call('hypervisor', 'list')).find((v) => v.name === st.vm);
      if (vm?.state === 'running') yield* call('hypervisor', 'destroy', st.vm);
      yield* call('hypervisor', 'start', st.vm, st.host);
      // The lease is the lease loop's: a primary deposed meanwhile does not take the IP back, and
      // destroys the container it started (its step-down could not while it was starting: a
      // running container would answer the secondary's pings, which then never takes over).
      if (st.deposed) {
        if (c.safety !== 'paper') yield* call('hypervisor', 'destroy', st.vm);
        return false;
      }
      yield* call('network', 'assignVip', c.vip, st.vm);
      if (st.deposed) {
        yield* call('network', 'removeVip', c.vip, st.vm);
        return false;
      }
    }
    yield* call('services', 'restart', st.vm, c.service);
    return (yield* call('prober', 'probe', spec)).ok;
  } catch {
    return false;
  }
}

/** Gives the lease back when `host` holds it. */
function* releaseLease(c: NavigatorConfig, host: string): Op<void> {
  if (!c.lease) return;
  try {
    const cur = yield* call('store', 'get', LEASE_KEY);
    if (cur && (cur.value as Lease).holder === host) yield* call('store', 'del', LEASE_KEY, cur.version);
  } catch (e) {
    // Out of reach: the lease runs out by itself.
    if (!storeOutOfReach(e)) throw e;
  }
}

/**
 * Hardened: the holder steps down on its own clock. A renewal is a call to the store, and a call
 * to a store out of reach may hang longer than the lease has left (live, etcd's client waited
 * 15 s with 4 s left); so when the lease comes within a sixth of its time of running out
 * unrenewed, the primary steps down without waiting for the call, before another pilot may take
 * the lease and the service IP.
 */
function* leaseGuard(c: NavigatorConfig, st: PilotState): Process<void> {
  // Renewals start when two thirds of the lease are left; one still under way with a sixth left has hung.
  const margin = Math.max(1, Math.floor(c.leaseTtlUs / 6));
  for (;;) {
    if (st.deposed) return;
    const left = (st.leaseExpiresUs ?? 0) - margin - (yield* now());
    if (left > 0) {
      yield* sleep(left);
      continue;
    }
    st.deposed = true;
    yield* trace('navigator.lease-lost', st.host, { vm: st.vm, reason: 'not renewed in time' });
    return yield* stepDown(c, st);
  }
}

/** Renews the lease every third of its time; a primary that loses it stops serving the IP. */
function* leaseLoop(c: NavigatorConfig, st: PilotState): Process<void> {
  const period = Math.max(1, Math.floor(c.leaseTtlUs / 3));
  let ok = true;
  for (;;) {
    // A period after the lease was last taken or renewed (taking the primary role may have taken
    // seconds since), or a period after a failed try.
    const t = yield* now();
    yield* sleep(ok ? Math.max(1, (st.leaseExpiresUs ?? t) - c.leaseTtlUs + period - t) : period);
    if (st.deposed) return;
    const renewed = yield* acquireLease(c, st);
    ok = renewed === true;
    // Deposed while the call was under way (the guard saw the lease run out): a renewal that got
    // through late is given back.
    if (st.deposed) {
      if (renewed) yield* releaseLease(c, st.host);
      return;
    }
    if (renewed) continue;
    // Out of reach of the store: the paper's pilot goes on serving; the hardened one keeps trying
    // while its lease would outlive the next try, and steps down before it runs out (by then
    // another pilot may take the lease and the service IP).
    if (renewed === null && (c.safety === 'paper' || (yield* now()) + period < (st.leaseExpiresUs ?? 0))) continue;
    st.deposed = true;
    yield* trace('navigator.lease-lost', st.host, { vm: st.vm });
    // Hardened: the container goes too (as when the keeper steps down): a deposed primary whose
    // container still answered pings kept the secondary from ever taking over, and held the slot.
    if (c.safety !== 'paper') return yield* stepDown(c, st);
    try {
      yield* call('network', 'removeVip', c.vip, st.vm);
      yield* call('services', 'stop', st.vm, c.service);
    } catch (e) {
      yield* error(st.host, 'step down', e);
    }
    return;
  }
}
