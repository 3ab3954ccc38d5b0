// The power-saving server system (PSS) of kitamura-2019 as an engine process. Each examination
// period it samples the load inside every VM of the operation file (LoadSampler, the paper's
// `free`/`sar`), predicts and weights each service group's load, classifies it with hysteresis,
// steps the group's condition (moderate, PS1, PS2; PS2 on the clients' access count) and, when the
// layout the conditions ask for differs from the present one, changes the server system:
//   1. wake the real servers it needs (Wake-on-LAN from suspension), in parallel;
//   2. activate the spares it needs on their base servers, in parallel;
//   3. move the VIPs, one after another (off the old holder, onto the new one);
//   4. suspend the spares no longer needed (in the background: they are out of service already);
//   5. suspend the real servers no longer needed, in parallel.
// `pss.transition.done` is traced when steps 1-3 and 5 are over (the new configuration serves the
// clients and its power state is reached); `pss.transition.settled` when step 4 is over too.
// The configuration files (files.ts) are written after each change.
import { S, join, now, sleep, spawn, trace, type Op, type Process } from '../../engine/runtime/effects.ts';
import { call, portErrorOf } from '../../engine/ports/index.ts';
import type { LoadSample } from '../../engine/ports/load.ts';
import {
  averageReading, clientAccesses, groupLoad, INITIAL_GROUP_STATE, predictVm, stepGroup, weightedLoad,
  type Condition, type ConditionRules, type GroupState, type ServerType, type Thresholds, type VmCapacity, type VmReading,
} from './decide.ts';
import { accessStopped, activeHosts, layoutFor, planIsEmpty, planTransition, vmHost, withoutHosts, type Layout, type Plan, type Topology } from './layout.ts';
import { editFile, moveVip, PSS_KEYS, readFile, recordedHolder, setRecordedHolder, type RealRow, type StateRow, type VmRow } from './files.ts';

export interface PssConfig {
  manager: string;
  topology: Topology;
  types: Record<string, ServerType>;
  /** MAC address of each real server (Wake-on-LAN). */
  macs: Record<string, string>;
  /** Examination period. */
  intervalUs: number;
  /** Readings per period (evenly spaced). */
  samples: number;
  /**
   * serial (default): a reading's VMs are sampled one after another, as the paper's program does.
   * parallel: all at once, so that the period stays near `intervalUs` when a sample is slow (live,
   * through a loaded machine's guest agents).
   */
  sampling?: 'serial' | 'parallel';
  thresholds: Thresholds;
  rules: ConditionRules;
  /** y: the window over which client accesses are counted. */
  accessWindowUs: number;
  /** k: requests per second of the load balancer's monitoring program to each VIP holder. */
  monitorPerS: number;
  /** Agent whose SIF hears of spares started and stopped (msbs), or none. */
  sif?: string;
  /** false: no PS2 (a group in PS1 stays there). */
  ps2?: boolean;
  /** paper: kitamura-2019's PSS; hardened (default): a restarted PSS resumes from its files (docs/safety.md). */
  safety?: 'paper' | 'hardened';
}

const conditionsOf = (st: Record<string, GroupState>): Record<string, Condition> =>
  Object.fromEntries(Object.entries(st).map(([g, s]) => [g, s.condition]));

function readingOf(s: LoadSample): { reading: VmReading; capacity: VmCapacity } {
  const cores = Math.max(1, s.cores);
  return {
    reading: { memUsedKb: s.memTotalKb - s.memFreeKb, cpuPct: Math.max(0, 100 - s.cpuIdlePct / cores), netKb: s.netBytesPerS / 1000 },
    capacity: { memKb: s.memTotalKb, cores, netRatedKb: s.netRatedBytesPerS / 1000 },
  };
}

export function* pss(c: PssConfig): Process<void> {
  const t = c.topology;
  const state: Record<string, GroupState> = Object.fromEntries(t.groups.map((g) => [g.name, { ...INITIAL_GROUP_STATE }]));
  // Where the next period's first samples are timed from: the start (the files read and written
  // first), then the previous period's examinations; the steps the sim models (a transition, a
  // repair, a stand-in's move) are left out.
  let fromUs = yield* now();
  // Hardened: a PSS that restarts (its manager rebooted) resumes the conditions of its state file
  // and puts the VIPs and spares where they say (a restart mid-transition left them half moved);
  // the paper's program starts from the moderate condition whatever the server system is in.
  const stored = c.safety === 'paper' ? [] : yield* readFile<StateRow>(PSS_KEYS.state);
  for (const r of stored) if (state[r.group]) state[r.group] = { ...INITIAL_GROUP_STATE, condition: r.condition, cls: r.condition === 'moderate' ? 'moderate' : 'light' };
  let layout = layoutFor(t, conditionsOf(state));
  const r0 = yield* now();
  let dirty = stored.length > 0 && !(yield* reconcile(c, layout, conditionsOf(state)));
  fromUs += (yield* now()) - r0;
  yield* writeFiles(c, layout, conditionsOf(state));
  const previous = new Map<string, VmReading>();
  /** Real servers that did not come back from suspension when woken. */
  const unavailable = new Set<string>();
  const spareMissed = new Map<string, number>();
  const orphaned = new Map<string, number>();
  const gapUs = Math.max(1, Math.floor(c.intervalUs / c.samples));
  for (;;) {
    // One measurement period over the VMs of the operation file.
    const operation = yield* readFile<VmRow>(PSS_KEYS.operation);
    const vms = [...new Set(operation.map((r) => r.host))];
    const readings = new Map<string, { rs: VmReading[]; cap: VmCapacity | null; failed: boolean }>(vms.map((v) => [v, { rs: [], cap: null, failed: false }]));
    for (let k = 0; k < c.samples; k++) {
      // When the samples are due: what the machine spent besides (live, the file reads between
      // periods, a late wake-up) counts in each sample's time, which a paired sim replays.
      const dueUs = (k === 0 ? fromUs : yield* now()) + gapUs;
      yield* sleep(gapUs);
      const one = function* (vm: string): Op<void> {
        const r = readings.get(vm)!;
        try {
          const x = readingOf(yield* call('load', 'sample', vm));
          r.rs.push(x.reading);
          r.cap = x.capacity;
        } catch {
          r.failed = true;
        }
        // How long the machine took to answer (the period's length follows it): a paired sim replays it.
        yield* trace('pss.sampled', vm, { manager: c.manager, tookUs: (yield* now()) - dueUs, ok: !r.failed });
      };
      if (c.sampling === 'parallel') {
        const pids: number[] = [];
        for (const vm of vms) pids.push(yield* spawn(`pss/sample/${vm}`, (function* (): Process<void> { yield* one(vm); })()));
        for (const pid of pids) yield* join(pid);
      } else {
        for (const vm of vms) yield* one(vm);
      }
    }
    // Hardened: a spare of the layout that cannot be measured two periods in a row (its base
    // server failed, or it crashed; it has no backup) takes its group back to the moderate
    // condition: the members' own servers are woken and the VIPs go back to them. The paper's PSS
    // only skips the group (Fig. 13), and the spare's VIPs stay lost while its server is down.
    if (c.safety !== 'paper') {
      for (const g of t.groups) {
        const lost = layout.spares[g.spare] !== undefined && readings.get(g.spare)?.failed === true;
        spareMissed.set(g.name, lost ? (spareMissed.get(g.name) ?? 0) + 1 : 0);
        if (lost && spareMissed.get(g.name)! >= 2 && state[g.name].condition !== 'moderate') {
          state[g.name] = { ...INITIAL_GROUP_STATE };
          spareMissed.set(g.name, 0);
          yield* trace('pss.spare-lost', g.name, { manager: c.manager, spare: g.spare, condition: 'moderate' });
        }
      }
    }
    for (const g of t.groups) {
      const mine = [...new Set(operation.filter((r) => r.group === g.name).map((r) => r.host))];
      const bad = mine.filter((vm) => readings.get(vm)!.failed || readings.get(vm)!.rs.length === 0);
      if (mine.length === 0 || bad.length > 0) {
        // Fig. 13: a VM whose load could not be measured: no examination of its group this time.
        yield* trace('pss.skip', g.name, { manager: c.manager, unmeasured: bad });
        continue;
      }
      const loads = mine.map((vm) => {
        const r = readings.get(vm)!;
        const avg = averageReading(r.rs);
        const predicted = predictVm(avg, previous.get(vm) ?? null, r.cap!);
        previous.set(vm, avg);
        return { predicted, capacity: r.cap! };
      });
      const ls = weightedLoad(groupLoad(loads), c.types[g.name] ?? 'CPU_NET');
      let accesses: number | null = null;
      if (state[g.name].condition !== 'moderate' && c.ps2 !== false) {
        try {
          let total = 0;
          for (const vm of mine) total += yield* counted(c.manager, vm, c.accessWindowUs);
          accesses = clientAccesses(total, c.monitorPerS * mine.length, c.accessWindowUs / S);
        } catch {
          accesses = null;
        }
      }
      const before = state[g.name];
      state[g.name] = stepGroup(before, ls, accesses, c.thresholds, c.rules);
      yield* trace('pss.examine', g.name, {
        manager: c.manager, ls: Math.round(ls * 1000) / 1000, cls: state[g.name].cls, condition: state[g.name].condition, lightRun: state[g.name].lightRun,
        ...(accesses !== null ? { accesses } : {}),
      });
    }
    fromUs = yield* now();
    if (c.sif && c.safety !== 'paper') {
      const before = layout;
      const t0 = yield* now();
      layout = yield* standIns(c, layout, operation, readings, orphaned);
      if (layout !== before) {
        yield* writeFiles(c, layout, conditionsOf(state));
        fromUs += (yield* now()) - t0;
      }
    }
    // Hardened: a layout not fully reached (a step failed) is put right each period, until it is.
    if (dirty) {
      const t0 = yield* now();
      dirty = !(yield* reconcile(c, layout, conditionsOf(state)));
      yield* writeFiles(c, layout, conditionsOf(state));
      fromUs += (yield* now()) - t0;
    }
    const target = layoutFor(t, conditionsOf(state));
    // A real server that did not wake is not asked again: its part of the plan waits (and is traced once).
    const plan = withoutHosts(t, layout, target, planTransition(layout, target), unavailable);
    if (planIsEmpty(plan)) continue;
    const t0 = yield* now();
    const ok = yield* change(c, layout, target, plan, conditionsOf(state), unavailable);
    layout = ok;
    yield* writeFiles(c, layout, conditionsOf(state));
    fromUs += (yield* now()) - t0;
  }
}

/** A VM's client accesses over the window, traced with the time the machine took to count them (a paired sim replays it). */
function* counted(manager: string, vm: string, windowUs: number): Op<number> {
  const t0 = yield* now();
  const done = function* (ok: boolean): Op<void> {
    yield* trace('pss.counted', vm, { manager, tookUs: (yield* now()) - t0, ok });
  };
  let n: number;
  try {
    n = yield* call('load', 'accesses', vm, windowUs);
  } catch (e) {
    yield* done(false);
    throw e;
  }
  yield* done(true);
  return n;
}

/**
 * Hardened, beside the MSBS: a VIP whose holder could not be measured two periods in a row (or
 * that nobody holds) goes to a VM of its group that was measured and is not separated, the
 * layout's holder first, then the PS2 holder: served rather than lost while neither the layout
 * can be reached (its server failed, a wake failed) nor the MSBS has a backup for it (a spare; a
 * member whose backup failed). The next transition moves it on as usual.
 */
function* standIns(c: PssConfig, layout: Layout, operation: VmRow[], readings: ReadonlyMap<string, { rs: VmReading[]; failed: boolean }>, orphaned: Map<string, number>): Op<Layout> {
  const t = c.topology;
  const measured = (vm: string) => { const r = readings.get(vm); return r !== undefined && !r.failed && r.rs.length > 0; };
  let separated: Set<string> | null = null;
  let out = layout;
  for (const g of t.groups) {
    for (const m of g.members) {
      const holder = (yield* recordedHolder(m.vip)) || (operation.find((r) => r.vip === m.vip)?.host ?? '');
      // Only a spare's VIP (the MSBS has no backup for a spare) or one nobody holds.
      const lost = (holder === '' || (holder === g.spare && readings.get(holder)?.failed === true));
      orphaned.set(m.vip, lost ? (orphaned.get(m.vip) ?? 0) + 1 : 0);
      if (!lost || orphaned.get(m.vip)! < 2) continue;
      // Not when a VM that answers holds it after all (a repair set it without its record).
      if ((yield* call('network', 'vipHolders', m.vip)).some((h) => h !== holder)) continue;
      separated ??= new Set((yield* readFile<VmRow>(PSS_KEYS.separation)).map((r) => r.host));
      const ps2 = layoutFor(t, { [g.name]: 'ps2' }).holders[m.vip];
      const to = [out.holders[m.vip], ps2, ...g.members.map((x) => x.vm), g.spare].find((vm) => vm !== undefined && vm !== holder && measured(vm) && !separated!.has(vm));
      if (to === undefined) continue;
      try {
        if ((yield* moveVip(m.vip, holder, to, (cur) => cur === holder || cur === '', undefined, { fence: true, rollback: true })) !== 'moved') continue;
      } catch {
        continue;
      }
      orphaned.set(m.vip, 0);
      yield* trace('pss.stand-in', m.vip, { manager: c.manager, from: holder, to });
      const holders = { ...out.holders, [m.vip]: to };
      out = { holders, spares: out.spares, active: activeHosts(t, holders, out.spares) };
    }
  }
  return out;
}

/** Runs a plan; returns the layout reached (the target, or as far as it got: the next period plans the rest). */
function* change(c: PssConfig, from: Layout, to: Layout, plan: Plan, conditions: Record<string, Condition>, unavailable: Set<string>): Op<Layout> {
  const t0 = yield* now();
  yield* trace('pss.transition', c.manager, { conditions, plan: plan as unknown as Record<string, unknown> });
  const failures: string[] = [];
  /** `${step} ${what}` of the steps that failed. */
  const failed = new Set<string>();
  const parallel = function* (name: string, bodies: Array<[string, () => Op<unknown>]>): Op<void> {
    const pids: number[] = [];
    for (const [what, body] of bodies) {
      pids.push(yield* spawn(`pss/${name}/${what}`, (function* (): Process<void> {
        try {
          yield* body();
        } catch (e) {
          failed.add(`${name} ${what}`);
          failures.push(`${name} ${what}: ${portErrorOf(e).message}`);
        }
      })()));
    }
    for (const pid of pids) yield* join(pid);
  };
  // 1. Real servers back from suspension (the real server file's MAC: Wake-on-LAN).
  yield* parallel('wake', plan.resumeHosts.map((h) => [h, function* () {
    yield* trace('pss.wol', h, { manager: c.manager, mac: c.macs[h] ?? '' });
    try {
      yield* call('power', 'resume', h);
    } catch (e) {
      // Hardened: a server that is on already (an earlier wake whose VIP moves did not all go
      // through) is not one that failed to wake.
      if (c.safety === 'paper' || !(yield* call('prober', 'probe', { kind: 'network', target: h, timeoutUs: c.intervalUs / 4 })).ok) throw e;
    }
  }]));
  // 2. Spares activated on their base servers; spares that change base migrate live.
  yield* parallel('spare', [
    ...plan.startSpares.map(({ vm, host }): [string, () => Op<unknown>] => [vm, function* () {
      yield* call('hypervisor', 'resume', vm, host);
      if (c.sif) yield* call('messenger', 'send', c.sif, 'sif', { from: c.manager, to: c.sif, type: 'spare-started', body: { vm, host } });
    }]),
    ...plan.moveSpares.map(({ vm, host }): [string, () => Op<unknown>] => [vm, () => call('hypervisor', 'migrate', vm, host)]),
  ]);
  // What is reached: a spare that did not start (or move) and a real server that did not wake
  // take no VIP; their VIPs stay where they were, and so do the servers those need.
  const t = c.topology;
  const reached: Layout = { holders: { ...from.holders }, spares: { ...from.spares }, active: [] };
  for (const h of plan.resumeHosts) if (failed.has(`wake ${h}`)) unavailable.add(h);
  for (const { vm, host } of [...plan.startSpares, ...plan.moveSpares]) if (!failed.has(`spare ${vm}`)) reached.spares[vm] = host;
  // 3. VIPs: off the old holder, onto the new one. With the MSBS beside it (sif), through the
  // VIP's record (files.ts moveVip): off whoever holds it now, a backup the MSBS set it on too.
  // Hardened, beside the MSBS: no VIP goes to a VM the MSBS separated (it or its real server is in
  // trouble; its backup stands in for it), and a move fences the old holder and puts the VIP back
  // on it when the new one cannot take it: the VIP stays where it is, and so does its server.
  const hardened = c.sif !== undefined && c.safety !== 'paper';
  const separated = hardened ? new Set((yield* readFile<VmRow>(PSS_KEYS.separation)).map((r) => r.host)) : new Set<string>();
  for (const m of plan.vipMoves) {
    const host = vmHost(t, reached, m.to);
    if (host === null || failed.has(`wake ${host}`) || (reached.spares[m.to] === undefined && t.groups.some((g) => g.spare === m.to))) {
      failures.push(`vip ${m.vip} ${m.from} -> ${m.to}: not moved, ${m.to} is not running`);
      continue;
    }
    if (separated.has(m.to)) {
      failures.push(`vip ${m.vip} ${m.from} -> ${m.to}: not moved, ${m.to} is separated`);
      continue;
    }
    let removed = false;
    try {
      if (c.sif) {
        removed = true;
        const r = yield* moveVip(m.vip, m.from, m.to, () => true, undefined, hardened ? { fence: true, rollback: true } : {});
        if (r === 'unfenced') {
          failures.push(`vip ${m.vip} ${m.from} -> ${m.to}: not moved, its holder is out of reach`);
          continue;
        }
      } else {
        if (m.from) yield* call('network', 'removeVip', m.vip, m.from);
        removed = true;
        yield* call('network', 'assignVip', m.vip, m.to);
      }
      reached.holders[m.vip] = m.to;
    } catch (e) {
      let err = e;
      // Hardened, beside the MSBS: a member that crashed while access-stopped (its DBSS skips it,
      // A1; its suspended server's DSRS too, B1) is started on its server, and the move tried again.
      if (hardened && (yield* startMember(c, m.to, host))) {
        try {
          if ((yield* moveVip(m.vip, m.from, m.to, () => true, undefined, { fence: true, rollback: true })) === 'moved') {
            reached.holders[m.vip] = m.to;
            continue;
          }
          err = new Error('its holder is out of reach');
        } catch (e2) {
          err = e2;
        }
      }
      if (removed) reached.holders[m.vip] = hardened ? yield* recordedHolder(m.vip) : '';
      failures.push(`vip ${m.vip} ${m.from} -> ${m.to}: ${portErrorOf(err).message}`);
    }
  }
  const holding = new Set(Object.values(reached.holders));
  const suspendSpares = plan.suspendSpares.filter((vm) => !holding.has(vm));
  for (const vm of suspendSpares) delete reached.spares[vm];
  reached.active = activeHosts(t, reached.holders, reached.spares);
  // 4. Spares out of service: suspended in the background.
  const spareJob = suspendSpares.length === 0 ? null : yield* spawn(`pss/suspend-spares`, (function* (): Process<void> {
    for (const vm of suspendSpares) {
      if (c.sif) {
        try {
          yield* call('messenger', 'send', c.sif, 'sif', { from: c.manager, to: c.sif, type: 'spare-stopped', body: { vm } });
        } catch {
          // the SIF hears of it at its next look at the files
        }
      }
    }
    const pids: number[] = [];
    for (const vm of suspendSpares) {
      pids.push(yield* spawn(`pss/suspend/${vm}`, (function* (): Process<void> {
        try {
          yield* call('hypervisor', 'suspend', vm);
        } catch (e) {
          yield* trace('pss.error', vm, { manager: c.manager, step: 'suspend spare', reason: portErrorOf(e).message });
        }
      })()));
    }
    for (const pid of pids) yield* join(pid);
  })());
  // 5. Real servers whose VMs are all in the access-stop state.
  yield* parallel('suspend', plan.suspendHosts.filter((h) => !reached.active.includes(h)).map((h) => [h, () => call('power', 'suspend', h)]));
  const t1 = yield* now();
  yield* trace('pss.transition.done', c.manager, { conditions, durationS: (t1 - t0) / S, ...(failures.length ? { failures } : {}) });
  if (spareJob !== null) {
    yield* join(spareJob);
    const t2 = yield* now();
    yield* trace('pss.transition.settled', c.manager, { durationS: (t2 - t0) / S });
  }
  if (failures.length > 0) yield* trace('pss.error', c.manager, { step: 'transition', failures });
  return reached;
}

/**
 * Hardened: a member of a group that is not running (crashed, stopped) is started on its real
 * server; true when it was. A spare is not (the transition's step 2 starts spares).
 */
function* startMember(c: PssConfig, vm: string, host: string): Op<boolean> {
  if (!c.topology.groups.some((g) => g.members.some((x) => x.vm === vm))) return false;
  try {
    const st = (yield* call('hypervisor', 'list')).find((v) => v.name === vm)?.state;
    if (st !== 'crashed' && st !== 'stopped' && st !== 'defined') return false;
    yield* trace('pss.member-start', vm, { manager: c.manager, host, was: st });
    yield* call('hypervisor', 'start', vm, host);
    return true;
  } catch (e) {
    yield* trace('pss.error', vm, { manager: c.manager, step: 'start member', reason: portErrorOf(e).message });
    return false;
  }
}

/**
 * After a restart, or a transition some step of which failed: the real servers of the layout
 * woken, its spares running and the others suspended, each VIP on its holder and off every other
 * VM of its group (a VM in the separation file is the MSBS's: its backup keeps the VIP). True when
 * every step succeeded; else it is tried again next period.
 */
function* reconcile(c: PssConfig, l: Layout, conditions: Record<string, Condition>): Op<boolean> {
  const t = c.topology;
  const failures: string[] = [];
  const attempt = function* (what: string, body: () => Op<unknown>): Op<void> {
    try {
      yield* body();
    } catch (e) {
      failures.push(`${what}: ${portErrorOf(e).message}`);
    }
  };
  const separated = new Set((yield* readFile<VmRow>(PSS_KEYS.separation)).map((r) => r.host));
  // A server of the layout may be on already (its suspension failed, or its wake-up came through): not a failure.
  for (const h of l.active) {
    try {
      yield* call('power', 'resume', h);
    } catch {
      // on already, or out of reach: the steps below say what could not be done
    }
  }
  const running = new Set((yield* call('hypervisor', 'list')).filter((v) => v.state === 'running' || v.state === 'resuming').map((v) => v.name));
  for (const g of t.groups) {
    const host = l.spares[g.spare];
    if (host !== undefined && !running.has(g.spare)) yield* attempt(`spare ${g.spare}`, () => call('hypervisor', 'resume', g.spare, host));
  }
  for (const g of t.groups) {
    const mine = new Set([g.spare, ...g.members.map((m) => m.vm)]);
    for (const m of g.members) {
      const holder = l.holders[m.vip];
      if (holder === undefined) continue;
      if (separated.has(holder)) {
        // Its own VIP is the MSBS's to hand back; another one of the layout waits for the VM to be
        // back (tried again next period: a restarted PSS otherwise never moved it).
        if (g.members.find((x) => x.vm === holder)?.vip !== m.vip) failures.push(`vip ${m.vip} on ${holder}: ${holder} is separated`);
        continue;
      }
      // A VIP moves only onto a holder that runs (else it stays where it is), off the others first.
      const now = yield* call('network', 'vipHolders', m.vip);
      if (!now.includes(holder) && !running.has(holder) && !(yield* call('hypervisor', 'list')).some((v) => v.name === holder && v.state === 'running')) {
        failures.push(`vip ${m.vip} on ${holder}: ${holder} is not running`);
        continue;
      }
      const before = failures.length;
      for (const h of now) if (h !== holder && mine.has(h)) yield* attempt(`vip ${m.vip} off ${h}`, () => call('network', 'removeVip', m.vip, h));
      // Not set while another VM that still may answer for it keeps it (one out of reach, alive).
      if (failures.length > before) continue;
      if (!now.includes(holder)) yield* attempt(`vip ${m.vip} on ${holder}`, () => call('network', 'assignVip', m.vip, holder));
      // Beside the MSBS the VIP's record says where it is now (the MSBS and the stand-ins read it).
      if (c.sif && failures.length === before) yield* setRecordedHolder(m.vip, holder);
    }
  }
  for (const g of t.groups) {
    if (l.spares[g.spare] === undefined && running.has(g.spare)) {
      // Not a spare that still holds a VIP (its move could not be made: the new holder is
      // separated or not running): suspended, it would take the VIP out of service with it.
      let holding = '';
      for (const m of g.members) if ((yield* call('network', 'vipHolders', m.vip)).includes(g.spare)) holding = m.vip;
      if (holding !== '') failures.push(`suspend ${g.spare}: it still holds ${holding}`);
      else yield* attempt(`suspend ${g.spare}`, () => call('hypervisor', 'suspend', g.spare));
    }
  }
  yield* trace('pss.reconciled', c.manager, { conditions, ...(failures.length ? { failures } : {}) });
  return failures.length === 0;
}

/** Table 1's files from the layout (separation rows are the MSBS's and are kept). */
function* writeFiles(c: PssConfig, l: Layout, conditions: Record<string, Condition>): Op<void> {
  const t = c.topology;
  const separated = new Set((yield* readFile<VmRow>(PSS_KEYS.separation)).map((r) => r.host));
  // A VM in the separation file is served by its backup (the SIF's row in the operation file).
  const current = yield* readFile<VmRow>(PSS_KEYS.operation);
  const hostOf = (vm: string): string => l.spares[vm] ?? t.groups.flatMap((g) => g.members).find((m) => m.vm === vm)?.host ?? '';
  const groupOf = (vm: string): string => t.groups.find((g) => g.spare === vm || g.members.some((m) => m.vm === vm))?.name ?? '';
  const operation: VmRow[] = [];
  for (const [vip, vm] of Object.entries(l.holders)) {
    if (!separated.has(vm)) operation.push({ group: groupOf(vm), realServer: hostOf(vm), vip, host: vm });
    else {
      const rows = current.filter((r) => r.vip === vip && r.host !== vm);
      // Hardened beside the MSBS: the VIP's record is where it is (the layout's holder was
      // separated while the transition moved the VIP onto it, after the SIF's edit).
      const rec = c.sif && c.safety !== 'paper' ? yield* recordedHolder(vip) : '';
      if (rec === vm || (rec !== '' && !rows.some((r) => r.host === rec) && groupOf(rec) !== '')) operation.push({ group: groupOf(rec), realServer: hostOf(rec), vip, host: rec });
      else operation.push(...rows);
    }
  }
  yield* editFile<VmRow>(PSS_KEYS.operation, () => operation);
  yield* editFile<VmRow>(PSS_KEYS.accessStop, () => accessStopped(t, l).map((vm) => ({ group: groupOf(vm), realServer: hostOf(vm), vip: '', host: vm })));
  yield* editFile<VmRow>(PSS_KEYS.spare, () => t.groups.filter((g) => l.spares[g.spare] === undefined).map((g) => ({ group: g.name, realServer: '', vip: '', host: g.spare })));
  yield* editFile<RealRow>(PSS_KEYS.realServer, () => l.active.map((h) => ({ realServer: h, mac: c.macs[h] ?? '' })));
  yield* editFile<RealRow>(PSS_KEYS.suspensionReal, () => t.realServers.filter((h) => !l.active.includes(h)).map((h) => ({ realServer: h, mac: c.macs[h] ?? '' })));
  yield* editFile<StateRow>(PSS_KEYS.state, () => t.groups.map((g) => {
    const cond = conditions[g.name] ?? 'moderate';
    return { group: g.name, condition: cond, baseServers: cond === 'moderate' ? [] : cond === 'ps1' ? t.ps1Base : [t.ps2Base] };
  }));
}
