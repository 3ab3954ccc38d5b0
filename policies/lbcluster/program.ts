// The lbcluster policy's processes: keepalived on each director, as engine processes over ports.
//
// One `director` process per director host runs the VRRP router of one instance (vrrp.ts's pure
// `vrrpStep`): adverts go to the peers as messages (Messenger port), the one timer is the
// receive timeout of the director's mailbox, and the master holds the VIP (Network port: assigned
// after the gratuitous-ARP delay on becoming master, removed on leaving). Its children:
// - `daemon`: watches the director's own keepalived daemon (Prober, a quiet watch): refused (the
//   daemon was stopped: SIGTERM) is a graceful stop, one advert of priority 0 and the VIP removed;
//   no answer (hung) is a halt like SIGKILL: nothing more is sent and the VIP stays where it is. A
//   director whose host fails or restarts loses the process with the host (the runtime ends it);
// - `link`: watches the director's own interface: down is VRRP's fault state, up is backup again;
// - `vip`: applies VIP changes in order (an add waits for the gratuitous-ARP delay);
// - `check/<server>`: keepalived's TCP checker against each real server's service (checker.ts:
//   connect_timeout, retry, delay_before_retry, delay_loop, alpha), run on every director as
//   keepalived does, whatever its VRRP state;
// - `pool`: the pool model (weights, inhibit_on_failure, quorum with hysteresis and sorry server)
//   made real: while this director is master, the world's pool (Network.poolAdd/poolRemove) is
//   kept equal to `poolMembers` of its model; on becoming master it writes the whole pool.
// Live (the lb-mini lab), the real keepalived runs VRRP, and the manifest binds `poolKeeper`
// instead: the same checkers and pool worker, each director keeping its own pool (nftables).
import { cancel, now, receive, send, sleep, sleepUntil, spawn, trace, watch, type Process } from '../../engine/runtime/effects.ts';
import { call, mailboxOf, portErrorOf, type AgentMessage } from '../../engine/ports/index.ts';
import { initialRouter, vrrpStep, type VrrpAction, type VrrpConfig, type VrrpEvent, type VrrpRouter } from './vrrp.ts';
import { checkerResult, checkerStart, poolMembers, poolSetAlive, poolStart, type CheckerConfig, type PoolState, type VirtualServerConfig } from './checker.ts';

export interface DirectorConfig {
  /** The VRRP instance's name (trace subject). */
  instance: string;
  /** This director's host and its router. */
  host: string;
  router: VrrpConfig;
  /** The other directors of the instance (unicast peers). */
  peers: string[];
  vip: string;
  /** Wait between becoming master and the VIP's assignment (the gratuitous ARP goes with it). */
  garpDelayUs: number;
  /** The director's keepalived daemon (a service of its host), watched for stops; null: not watched. */
  daemon: string | null;
  daemonWatchUs: number;
  /** The world's pool the master keeps. */
  pool: string;
  /** The service each real server's checker examines. */
  checkService: string;
  checker: CheckerConfig;
  virtualServer: VirtualServerConfig;
  /** Trace every advert sent (vrrp.advert). */
  traceAdverts: boolean;
  /** Trace every checker try (lb.try). */
  traceChecks?: boolean;
  /** paper: the first behaviour; hardened (default): docs/safety.md. */
  safety?: 'paper' | 'hardened';
}

/** A VRRP advert as an agent message's body. */
export interface AdvertBody {
  [k: string]: unknown;
  instance: string;
  priority: number;
  /** The sender's address (tie-break between equal priorities). */
  address: number;
  advertIntUs: number;
}

type Inbox =
  | AgentMessage
  | { type: 'vrrp.stop'; how: 'graceful' | 'kill'; detail: string }
  | { type: 'vrrp.link'; up: boolean };

interface Shared {
  master: boolean;
  pool: PoolState;
}

export const vrrpBox = (instance: string) => `vrrp/${instance}`;

export function* director(c: DirectorConfig): Process<void> {
  const me = `lbcluster/${c.instance}/${c.host}`;
  const box = mailboxOf(c.host, vrrpBox(c.instance));
  const vipBox = mailboxOf(c.host, `lbcluster-vip/${c.instance}`);
  const poolBox = mailboxOf(c.host, `lbcluster-pool/${c.instance}`);
  // Messages left from before a restart mean nothing now.
  while ((yield* receive(box, 0)) !== undefined) { /* drained */ }
  while ((yield* receive(vipBox, 0)) !== undefined) { /* drained */ }
  while ((yield* receive(poolBox, 0)) !== undefined) { /* drained */ }

  const alphaDown = c.checker.alpha ? c.virtualServer.realServers.map((r) => r.id) : [];
  const shared: Shared = { master: false, pool: poolStart(c.virtualServer, alphaDown) };
  const children: number[] = [];
  children.push(yield* spawn(`${me}/vip`, vipWorker(c, shared, vipBox)));
  children.push(yield* spawn(`${me}/pool`, poolWorker(c, shared, poolBox)));
  for (const rs of c.virtualServer.realServers) children.push(yield* spawn(`${me}/check/${rs.id}`, checkerProc(c, shared, rs.id, poolBox)));
  if (c.daemon !== null) children.push(yield* spawn(`${me}/daemon`, daemonWatch(c, c.daemon, box)));
  children.push(yield* spawn(`${me}/link`, linkWatch(c, box)));

  let r: VrrpRouter = initialRouter();
  /** Applies one event; returns the actions for the caller to finish (stop). */
  function* step(ev: VrrpEvent, t: number): Process<VrrpAction[]> {
    const out = vrrpStep(c.router, r, ev, t);
    r = out.router;
    for (const a of out.actions) {
      if (a.kind === 'state') {
        yield* trace('vrrp.state', c.instance, { router: c.host, from: a.from, to: a.to, priority: c.router.priority });
        const wasMaster = shared.master;
        shared.master = a.to === 'master';
        if (shared.master && !wasMaster) yield* send(poolBox, { force: true });
      } else if (a.kind === 'send' && ev.kind !== 'stop') {
        yield* advertise(a.priority);
      } else if (a.kind === 'vip' && ev.kind !== 'stop') {
        yield* send(vipBox, a.op);
      }
    }
    return out.actions;
  }
  function* advertise(priority: number): Process<void> {
    if (c.traceAdverts) yield* trace('vrrp.advert', c.instance, { router: c.host, priority });
    for (const peer of c.peers) yield* spawn(`${me}/advert`, sendAdvert(c, peer, priority));
  }

  // Ended by the runtime (the host stopped): the children go with it (the runtime cancels them).
  yield* step({ kind: 'start' }, yield* now());
  for (;;) {
    const t0 = yield* now();
    const wait = r.timerAtUs === null ? undefined : Math.max(0, r.timerAtUs - t0);
    const msg = yield* receive<Inbox>(box, wait);
    const t = yield* now();
    if (msg === undefined) {
      yield* step({ kind: 'timer' }, t);
    } else if (msg.type === 'vrrp.advert') {
      const b = (msg as AgentMessage).body as AdvertBody;
      if (b.instance !== c.instance) continue;
      const wasMaster = shared.master;
      yield* step({ kind: 'advert', priority: b.priority, from: b.address, advertIntUs: b.advertIntUs }, t);
      // Backups send no adverts: a master that hears one and stays master has met another master
      // (a partition healed, a paused director resumed), which wrote the world's pool from its own
      // checkers. Written again from this one's (the swarm: a server dead for 40 s kept in the pool).
      if (c.safety !== 'paper' && wasMaster && shared.master && b.priority > 0) yield* send(poolBox, { force: true });
    } else if (msg.type === 'vrrp.link') {
      const up = (msg as { up: boolean }).up;
      yield* trace('vrrp.link', c.instance, { router: c.host, up });
      yield* step({ kind: 'link', up }, t);
    } else if (msg.type === 'vrrp.stop') {
      const how = (msg as { how: 'graceful' | 'kill' }).how;
      yield* trace('vrrp.stop', c.instance, { router: c.host, how, state: r.state });
      for (const pid of children) yield* cancel(pid);
      const actions = yield* step({ kind: 'stop', how }, t);
      // SIGTERM: the priority-0 advert goes out and the VIP comes off before the daemon exits.
      for (const a of actions) {
        if (a.kind === 'send') {
          if (c.traceAdverts) yield* trace('vrrp.advert', c.instance, { router: c.host, priority: a.priority });
          for (const peer of c.peers) yield* sendAdvert(c, peer, a.priority);
        } else if (a.kind === 'vip' && a.op === 'del') yield* vipOp(c, 'del');
      }
      return;
    }
  }
}

function* sendAdvert(c: DirectorConfig, peer: string, priority: number): Process<void> {
  const body: AdvertBody = { instance: c.instance, priority, address: c.router.address, advertIntUs: c.router.advertIntUs };
  try {
    yield* call('messenger', 'send', peer, vrrpBox(c.instance), { from: c.host, to: peer, type: 'vrrp.advert', body });
  } catch {
    // Lost (peer down, partition): VRRP adverts are not acknowledged.
  }
}

function* vipOp(c: DirectorConfig, op: 'add' | 'del'): Process<boolean> {
  try {
    if (op === 'add') yield* call('network', 'assignVip', c.vip, c.host);
    else yield* call('network', 'removeVip', c.vip, c.host);
    return true;
  } catch (e) {
    yield* trace('lbcluster.error', c.instance, { router: c.host, step: `vip ${op}`, reason: portErrorOf(e).message });
    return false;
  }
}

/**
 * VIP changes in the order the router made them; an add waits for the gratuitous-ARP delay. An
 * add that fails is tried again every advert interval while this director is master and no other
 * change is queued (the swarm: a director paused during its gratuitous-ARP delay came back
 * master without the VIP, and nobody held it again).
 */
function* vipWorker(c: DirectorConfig, shared: Shared, vipBox: string): Process<void> {
  for (;;) {
    const op = yield* receive<'add' | 'del'>(vipBox);
    if (op === 'add' && c.garpDelayUs > 0) yield* sleep(c.garpDelayUs);
    if ((yield* vipOp(c, op ?? 'del')) || op !== 'add' || c.safety === 'paper') continue;
    for (;;) {
      const next = yield* receive<'add' | 'del'>(vipBox, c.router.advertIntUs);
      if (next !== undefined) {
        yield* send(vipBox, next);
        break;
      }
      if (!shared.master || (yield* vipOp(c, 'add'))) break;
    }
  }
}

/**
 * The director's own daemon: stopped is SIGTERM (graceful), hung is a halt (no more adverts).
 * Unreachable is the director's own link (linkWatch's business): wait until it answers again.
 */
function* daemonWatch(c: DirectorConfig, daemon: string, box: string): Process<void> {
  const spec = { kind: 'service' as const, target: c.host, service: daemon, timeoutUs: c.daemonWatchUs };
  for (;;) {
    let bad = yield* watch(spec, c.daemonWatchUs, 0);
    while (bad.detail === 'unreachable') {
      yield* sleep(c.daemonWatchUs);
      bad = yield* call('prober', 'probe', spec);
    }
    if (bad.ok) continue;
    yield* send(box, { type: 'vrrp.stop', how: bad.detail === 'refused' ? 'graceful' : 'kill', detail: bad.detail });
    return;
  }
}

/**
 * The director's own interface (keepalived tracks it): down is VRRP's fault state (a master drops
 * the VIP), up is backup again with a full master-down timer. Seen by pinging itself: quiet while
 * it answers, then every daemonWatch until it answers again.
 */
function* linkWatch(c: DirectorConfig, box: string): Process<void> {
  const ping = { kind: 'network' as const, target: c.host, timeoutUs: c.daemonWatchUs };
  for (;;) {
    yield* watch(ping, c.daemonWatchUs, 0);
    yield* send(box, { type: 'vrrp.link', up: false });
    do yield* sleep(c.daemonWatchUs);
    while (!(yield* call('prober', 'probe', ping)).ok);
    yield* send(box, { type: 'vrrp.link', up: true });
  }
}

/** keepalived's checker of one real server (checker.ts): up/down transitions go to the pool model. */
function* checkerProc(c: DirectorConfig, shared: Shared, id: string, poolBox: string): Process<void> {
  const cc = c.checker;
  let s = checkerStart(cc, yield* now());
  for (;;) {
    yield* sleepUntil(s.nextTryUs);
    const r = yield* call('prober', 'probe', { kind: 'service', target: id, service: c.checkService, timeoutUs: cc.connectTimeoutUs });
    const end = yield* now();
    if (c.traceChecks) yield* trace('lb.try', id, { director: c.host, ok: r.ok, startUs: s.nextTryUs, detail: r.detail });
    const out = checkerResult(cc, s, r.ok, end);
    s = out.state;
    if (out.transition !== null) {
      yield* trace('lb.check', id, { director: c.host, instance: c.instance, up: out.transition === 'up', detail: r.detail });
      shared.pool = poolSetAlive(c.virtualServer, shared.pool, id, out.transition === 'up');
      yield* send(poolBox, { force: false });
    }
  }
}

/**
 * The live binding (the mini-lab, where the real keepalived runs VRRP on each director): the
 * checkers of every real server and this director's own pool, kept whatever its VRRP state, as
 * keepalived's checker process keeps each director's IPVS table. The same checker and pool code
 * as `director`; the pool is written whole at start.
 */
export function* poolKeeper(c: DirectorConfig): Process<void> {
  const me = `lbcluster/${c.instance}/${c.host}`;
  const poolBox = mailboxOf(c.host, `lbcluster-pool/${c.instance}`);
  while ((yield* receive(poolBox, 0)) !== undefined) { /* drained */ }
  const alphaDown = c.checker.alpha ? c.virtualServer.realServers.map((r) => r.id) : [];
  const shared: Shared = { master: true, pool: poolStart(c.virtualServer, alphaDown) };
  yield* spawn(`${me}/pool`, poolWorker(c, shared, poolBox));
  yield* send(poolBox, { force: true });
  for (const rs of c.virtualServer.realServers) yield* spawn(`${me}/check/${rs.id}`, checkerProc(c, shared, rs.id, poolBox));
  // Lives as long as the agent (its children are ended with it).
  const idle = mailboxOf(c.host, `lbcluster-idle/${c.instance}`);
  for (;;) yield* receive(idle);
}

/** Keeps the world's pool equal to the model's members while this director is master. */
function* poolWorker(c: DirectorConfig, shared: Shared, poolBox: string): Process<void> {
  const applied = new Map<string, number>();
  const everyone = [...c.virtualServer.realServers.map((r) => r.id), ...(c.virtualServer.sorryServer ? [c.virtualServer.sorryServer] : [])];
  let quorumUp: boolean | null = null;
  for (;;) {
    let msg = yield* receive<{ force: boolean }>(poolBox);
    let force = msg?.force === true;
    // Take every request queued by now: one pass writes the latest model.
    while ((msg = yield* receive<{ force: boolean }>(poolBox, 0)) !== undefined) force ||= msg.force;
    if (!shared.master) continue;
    if (quorumUp !== shared.pool.quorumUp) {
      quorumUp = shared.pool.quorumUp;
      yield* trace('lb.quorum', c.pool, { director: c.host, up: quorumUp });
    }
    const want = new Map(poolMembers(c.virtualServer, shared.pool).map((m) => [m.id, m.weight]));
    for (const id of everyone) {
      const w = want.get(id);
      try {
        if (w === undefined) {
          if (force || applied.has(id)) yield* call('network', 'poolRemove', c.pool, id);
          applied.delete(id);
        } else if (force || applied.get(id) !== w) {
          yield* call('network', 'poolAdd', c.pool, id, w);
          applied.set(id, w);
        }
      } catch (e) {
        yield* trace('lbcluster.error', c.instance, { router: c.host, step: `pool ${id}`, reason: portErrorOf(e).message });
      }
    }
  }
}
