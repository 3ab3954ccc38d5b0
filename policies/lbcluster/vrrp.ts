// keepalived's VRRPv2 router as a pure, deterministic state machine (one per router and
// instance), plus the timing formulas and a small event-driven runner for a set of routers.
//
// Timing (RFC 3768 section 6.1, as keepalived 2.2.7 computes it in integer microseconds):
//   skew           = floor((256 - priority) * 1e6 / 256) us      (VRRPv2: seconds, not scaled by advert_int)
//   master down    = 3 * advert_int + skew
// A backup restarts its master-down timer on every advert it accepts and becomes master when it
// expires. A master that stops gracefully (SIGTERM) sends one advert with priority 0; a backup
// receiving it sets its timer to `skew` only. A killed master sends nothing, so the backup takes
// over master-down after the last advert it received: between master-down - advert_int and
// master-down after the kill, depending on where in its advert cycle the master died.
//
// The rules below follow keepalived's vrrp_state_backup / vrrp_state_master_rx / vrrp_init_state
// (keepalived/vrrp/vrrp.c and vrrp_scheduler.c, v2.2.7):
// - backup, advert with priority 0: timer := skew.
// - backup, advert accepted (nopreempt, or its priority >= ours, or a preempt_delay still
//   running or not yet started): timer := master down; a lower-priority advert starts the
//   preempt delay, a higher or equal one cancels it.
// - backup, lower-priority advert otherwise (preempt, delay over): ignored, so the timer keeps
//   running down and we take over when it expires.
// - master, advert with priority 0 or a lower priority (or equal priority from a lower address):
//   answer with an advert of our own and stay master.
// - master, higher priority (or equal from a higher address): back to backup, timer := master down.
// - start: `state MASTER` with priority 255 becomes master at once; otherwise a router starts as
//   backup with a full master-down timer, whatever its `state` keyword (vrrp_init_state shortens
//   it to advert_int + 1/256 s only for a member of a sync group held in backup; measured here:
//   a `state MASTER` priority-200 keepalived took its VIP 3.2-3.6 s after it was started, not 1 s).
// - interface down: fault (a master drops its VIP; nothing can be sent); interface up: backup
//   with a full master-down timer.
// - VRRPv2 adverts carry the sender's advert_int; one that differs from ours is dropped.
// - `nopreempt` (backup only) keeps a lower-priority master in place; keepalived accepts it only
//   with `state BACKUP`.

export const US_PER_S = 1_000_000;

/** The priority of the address owner (becomes master at once, is never preempted). */
export const PRIORITY_OWNER = 255;

/** keepalived's skew time for VRRPv2, in us: (256 - priority) / 256 s, rounded down. */
export function skewUs(priority: number): number {
  return Math.floor(((256 - priority) * US_PER_S) / 256);
}

/** The smallest skew (priority 255): 1/256 s rounded down, 3906 us. */
export const SKEW_MIN_US = Math.floor(US_PER_S / 256);

/** Master-down interval: 3 advert intervals plus the skew of the backup's priority. */
export function masterDownUs(priority: number, advertIntUs: number): number {
  return 3 * advertIntUs + skewUs(priority);
}

/**
 * How long after the master is killed (SIGKILL, no priority-0 advert) a backup of `priority`
 * takes over, when the kill came `phaseUs` after the master's last advert (0 <= phase <
 * advert_int) and adverts take `latencyUs` to arrive.
 */
export function killTakeoverUs(priority: number, advertIntUs: number, phaseUs: number, latencyUs = 0): number {
  return masterDownUs(priority, advertIntUs) - phaseUs + latencyUs;
}

/** The range of kill takeover times over all phases: (down - advert_int, down] (+ latency). */
export function killTakeoverRangeUs(priority: number, advertIntUs: number, latencyUs = 0): { min: number; max: number; mean: number } {
  const down = masterDownUs(priority, advertIntUs);
  return { min: down - advertIntUs + latencyUs, max: down + latencyUs, mean: down - advertIntUs / 2 + latencyUs };
}

/** How long after a graceful stop (priority-0 advert) a backup of `priority` takes over. */
export function gracefulTakeoverUs(priority: number, latencyUs = 0): number {
  return skewUs(priority) + latencyUs;
}

/**
 * The first timer of a router that starts, in us from the start: 0 for the address owner
 * (priority 255) configured `state MASTER`, else a full master down.
 */
export function startTimerUs(c: Pick<VrrpConfig, 'priority' | 'advertIntUs' | 'initialState'>): number {
  if (c.initialState === 'MASTER' && c.priority === PRIORITY_OWNER) return 0;
  return masterDownUs(c.priority, c.advertIntUs);
}

// ---------- one router ----------

export interface VrrpConfig {
  name: string;
  /** The router's own address as a number: breaks ties between equal priorities (higher wins). */
  address: number;
  /** 1..255 */
  priority: number;
  advertIntUs: number;
  /** keepalived's `state` keyword: where the router starts. */
  initialState: 'MASTER' | 'BACKUP';
  nopreempt: boolean;
  /** keepalived's preempt_delay (0: none). */
  preemptDelayUs: number;
}

export type VrrpStateName = 'init' | 'backup' | 'master' | 'fault';

export interface VrrpRouter {
  state: VrrpStateName;
  /** When the one timer fires: master-down expiry in backup, next advert in master; null: none. */
  timerAtUs: number | null;
  /** When a running preempt delay ends; null: not running. */
  preemptAtUs: number | null;
  /** The priority of the master we last accepted an advert from. */
  masterPriority: number | null;
  /** The interface is up (false: fault). */
  linkUp: boolean;
}

export type VrrpEvent =
  | { kind: 'start' }
  | { kind: 'stop'; how: 'graceful' | 'kill' }
  /** `advertIntUs`: the sender's advert interval, carried in a VRRPv2 advert. */
  | { kind: 'advert'; priority: number; from: number; advertIntUs: number }
  | { kind: 'timer' }
  | { kind: 'link'; up: boolean };

export type VrrpAction =
  /** Send an advert with this priority to the peers. */
  | { kind: 'send'; priority: number }
  /** The router changed state. */
  | { kind: 'state'; from: VrrpStateName; to: VrrpStateName }
  /** Add (with gratuitous ARP) or delete the virtual addresses. */
  | { kind: 'vip'; op: 'add' | 'del' };

export function initialRouter(): VrrpRouter {
  return { state: 'init', timerAtUs: null, preemptAtUs: null, masterPriority: null, linkUp: true };
}

function go(r: VrrpRouter, to: VrrpStateName, out: VrrpAction[]): VrrpRouter {
  if (r.state !== to) out.push({ kind: 'state', from: r.state, to });
  return { ...r, state: to };
}

/**
 * One step of a router: its new state and what it does. Pure; `nowUs` is the time of the event.
 * A `timer` event that is not due (stale) changes nothing, so a driver may deliver every timer it
 * ever set.
 */
export function vrrpStep(c: VrrpConfig, r0: VrrpRouter, ev: VrrpEvent, nowUs: number): { router: VrrpRouter; actions: VrrpAction[] } {
  const out: VrrpAction[] = [];
  let r = r0;
  const down = masterDownUs(c.priority, c.advertIntUs);
  const becomeMaster = () => {
    r = go(r, 'master', out);
    out.push({ kind: 'send', priority: c.priority }, { kind: 'vip', op: 'add' });
    r = { ...r, timerAtUs: nowUs + c.advertIntUs, preemptAtUs: null };
  };
  switch (ev.kind) {
    case 'start': {
      if (r.state !== 'init') break;
      if (!r.linkUp) {
        r = { ...go(r, 'fault', out), timerAtUs: null };
        break;
      }
      r = { ...go(r, 'backup', out), timerAtUs: nowUs + startTimerUs(c), preemptAtUs: null, masterPriority: null };
      break;
    }
    case 'stop': {
      if (r.state === 'init') break;
      if (r.state === 'master' && ev.how === 'graceful') out.push({ kind: 'send', priority: 0 }, { kind: 'vip', op: 'del' });
      // A killed master leaves its VIP on the interface (nothing removes it).
      r = { ...go(r, 'init', out), timerAtUs: null, preemptAtUs: null };
      break;
    }
    case 'link': {
      r = { ...r, linkUp: ev.up };
      if (r.state === 'init') break;
      if (!ev.up && r.state !== 'fault') {
        if (r.state === 'master') out.push({ kind: 'vip', op: 'del' });
        r = { ...go(r, 'fault', out), timerAtUs: null, preemptAtUs: null };
      } else if (ev.up && r.state === 'fault') {
        r = { ...go(r, 'backup', out), timerAtUs: nowUs + down, masterPriority: null };
      }
      break;
    }
    case 'timer': {
      if (r.timerAtUs === null || nowUs < r.timerAtUs) break;
      if (r.state === 'backup') becomeMaster();
      else if (r.state === 'master') {
        out.push({ kind: 'send', priority: c.priority });
        r = { ...r, timerAtUs: nowUs + c.advertIntUs };
      }
      break;
    }
    case 'advert': {
      // VRRPv2: an advert whose interval differs from ours is dropped (keepalived's
      // "advertisement interval mismatch"), so routers configured with different advert_int
      // never hear each other and each becomes master.
      if (ev.advertIntUs !== c.advertIntUs) break;
      if (r.state === 'backup') {
        if (ev.priority === 0) {
          r = { ...r, timerAtUs: nowUs + skewUs(c.priority) };
        } else if (
          c.nopreempt ||
          ev.priority >= c.priority ||
          (c.preemptDelayUs > 0 && (r.preemptAtUs === null || r.preemptAtUs > nowUs))
        ) {
          let preemptAtUs = r.preemptAtUs;
          if (c.preemptDelayUs > 0) {
            if (ev.priority >= c.priority) preemptAtUs = null;
            else if (preemptAtUs === null) preemptAtUs = nowUs + c.preemptDelayUs;
          }
          r = { ...r, timerAtUs: nowUs + down, masterPriority: ev.priority, preemptAtUs };
        }
        // else: a lower-priority advert we may preempt: ignored, the timer runs on.
      } else if (r.state === 'master') {
        const higher = ev.priority > c.priority || (ev.priority === c.priority && ev.from > c.address);
        if (ev.priority === 0 || !higher) {
          // Answer with our own advert; keepalived then restarts the advert timer.
          out.push({ kind: 'send', priority: c.priority });
          r = { ...r, timerAtUs: nowUs + c.advertIntUs };
        } else {
          out.push({ kind: 'vip', op: 'del' });
          r = { ...go(r, 'backup', out), timerAtUs: nowUs + down, masterPriority: ev.priority };
        }
      }
      break;
    }
  }
  return { router: r, actions: out };
}

// ---------- a set of routers (one VRRP instance) ----------

export type VrrpScriptEvent =
  | { atUs: number; kind: 'start'; router: string }
  | { atUs: number; kind: 'stop'; router: string; how: 'graceful' | 'kill' }
  | { atUs: number; kind: 'link'; router: string; up: boolean }
  /** Routers in different groups cannot hear each other; routers in no group form one more group. `groups: []` heals. */
  | { atUs: number; kind: 'partition'; groups: string[][] };

export interface VrrpRun {
  routers: VrrpConfig[];
  /** Time an advert takes from sender to receiver. */
  latencyUs: number;
  events: VrrpScriptEvent[];
  untilUs: number;
  /** Each advert is lost on its way with this probability (independently; default 0: none). */
  lossProb?: number;
  /** Seed of the loss draws (a run with the same seed loses the same adverts). */
  lossSeed?: number;
}

/** mulberry32: a small seeded generator of uniforms in [0, 1) (the model's advert losses; the lb experiments' draws). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Expected false takeovers per advert interval of a backup of `priority` whose master keeps
 * running, when each advert is lost with probability `p`: the backup's master-down timer
 * (3 a + skew), restarted by a received advert, runs out when the k adverts sent before it
 * expires are all lost, k = ceil(down / a) - 1: (1 - p) p^k per advert.
 */
export function falseTakeoverRate(priority: number, advertIntUs: number, p: number): number {
  const down = masterDownUs(priority, advertIntUs);
  const k = Math.ceil(down / advertIntUs) - 1;
  return (1 - p) * p ** k;
}

export interface VrrpTransition {
  tUs: number;
  router: string;
  from: VrrpStateName;
  to: VrrpStateName;
}

export interface VrrpRunResult {
  transitions: VrrpTransition[];
  /** Every advert sent: time, sender, priority. */
  adverts: Array<{ tUs: number; router: string; priority: number }>;
  final: Record<string, VrrpRouter>;
  /** Each router's group at the end (partition). */
  finalGroup: Record<string, number>;
}

type Pending =
  | { t: number; seq: number; kind: 'script'; ev: VrrpScriptEvent }
  | { t: number; seq: number; kind: 'timer'; router: number }
  | { t: number; seq: number; kind: 'advert'; router: number; from: number; priority: number };

/** A binary min-heap on (t, seq): deterministic order for simultaneous events. */
class Queue {
  private h: Pending[] = [];
  private less = (a: Pending, b: Pending) => a.t < b.t || (a.t === b.t && a.seq < b.seq);
  push(p: Pending): void {
    const h = this.h;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const j = (i - 1) >> 1;
      if (!this.less(h[i], h[j])) break;
      [h[i], h[j]] = [h[j], h[i]];
      i = j;
    }
  }
  pop(): Pending | undefined {
    const h = this.h;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, rr = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (rr < h.length && this.less(h[rr], h[m])) m = rr;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Runs the routers of one VRRP instance (unicast peers: every router sends to every other) through
 * a script of starts, stops, link changes and partitions until `untilUs`. Deterministic: events at
 * the same instant run in the order they were scheduled.
 */
export function runVrrp(run: VrrpRun): VrrpRunResult {
  const n = run.routers.length;
  const index = new Map(run.routers.map((c, i) => [c.name, i]));
  if (index.size !== n) throw new Error('runVrrp: router names must be unique');
  const routers = run.routers.map(() => initialRouter());
  const group = new Array<number>(n).fill(0);
  const q = new Queue();
  let seq = 0;
  for (const ev of [...run.events].sort((a, b) => a.atUs - b.atUs)) {
    if (ev.kind !== 'partition' && !index.has(ev.router)) throw new Error(`runVrrp: no router "${ev.router}"`);
    q.push({ t: ev.atUs, seq: seq++, kind: 'script', ev });
  }
  const transitions: VrrpTransition[] = [];
  const adverts: VrrpRunResult['adverts'] = [];
  const lose = run.lossProb !== undefined && run.lossProb > 0 ? mulberry32(run.lossSeed ?? 1) : null;
  const apply = (i: number, ev: VrrpEvent, t: number) => {
    const before = routers[i].timerAtUs;
    const { router, actions } = vrrpStep(run.routers[i], routers[i], ev, t);
    routers[i] = router;
    for (const a of actions) {
      if (a.kind === 'state') transitions.push({ tUs: t, router: run.routers[i].name, from: a.from, to: a.to });
      else if (a.kind === 'send') {
        adverts.push({ tUs: t, router: run.routers[i].name, priority: a.priority });
        if (!routers[i].linkUp) continue;
        for (let j = 0; j < n; j++) {
          if (j === i || group[j] !== group[i]) continue;
          q.push({ t: t + run.latencyUs, seq: seq++, kind: 'advert', router: j, from: i, priority: a.priority });
        }
      }
    }
    if (router.timerAtUs !== null && router.timerAtUs !== before) q.push({ t: router.timerAtUs, seq: seq++, kind: 'timer', router: i });
  };
  for (let p = q.pop(); p && p.t <= run.untilUs; p = q.pop()) {
    if (p.kind === 'timer') apply(p.router, { kind: 'timer' }, p.t);
    else if (p.kind === 'advert') {
      // Lost when the receiver's link is down or a partition came between, or on the way (lossProb).
      if (lose !== null && lose() < run.lossProb!) continue;
      if (routers[p.router].linkUp && group[p.router] === group[p.from]) {
        const from = run.routers[p.from];
        apply(p.router, { kind: 'advert', priority: p.priority, from: from.address, advertIntUs: from.advertIntUs }, p.t);
      }
    } else {
      const ev = p.ev;
      if (ev.kind === 'partition') {
        group.fill(0);
        ev.groups.forEach((g, k) => g.forEach((name) => {
          const i = index.get(name);
          if (i === undefined) throw new Error(`runVrrp: no router "${name}"`);
          group[i] = k + 1;
        }));
      } else {
        const i = index.get(ev.router)!;
        apply(i, ev.kind === 'start' ? { kind: 'start' } : ev.kind === 'stop' ? { kind: 'stop', how: ev.how } : { kind: 'link', up: ev.up }, p.t);
      }
    }
  }
  return {
    transitions,
    adverts,
    final: Object.fromEntries(run.routers.map((c, i) => [c.name, routers[i]])),
    finalGroup: Object.fromEntries(run.routers.map((c, i) => [c.name, group[i]])),
  };
}

/**
 * How long a set of routers needs at most to settle after its last change: the longest start
 * timer or master-down interval, plus the longest preempt delay and a few adverts for the
 * election round trips.
 */
export function convergenceBoundUs(routers: readonly VrrpConfig[], latencyUs = 0): number {
  let worst = 0;
  for (const c of routers) {
    worst = Math.max(worst, masterDownUs(c.priority, c.advertIntUs) + c.preemptDelayUs + 3 * c.advertIntUs + 4 * latencyUs);
  }
  return 2 * worst;
}

/**
 * Who is master after convergence in one group of connected, running routers with their links
 * up, when every one of them preempts: the one with the highest priority. When several share it,
 * the incumbent keeps it (a backup yields only to a strictly higher priority); with no incumbent
 * among them, timing decides (undefined here). `incumbent`: the master before the last change.
 * With `nopreempt`, a lower-priority incumbent stays: only "exactly one master" holds.
 */
export function electedMaster(group: readonly VrrpConfig[], incumbent?: string): string | undefined {
  if (group.length === 0) return undefined;
  const top = Math.max(...group.map((c) => c.priority));
  const tied = group.filter((c) => c.priority === top);
  if (tied.length === 1) return tied[0].name;
  return tied.find((c) => c.name === incumbent)?.name;
}
