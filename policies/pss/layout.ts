// Where each service group's VIPs live in each condition (kitamura-2019 Figs. 2-4), and the plan
// that moves the server system from one layout to another. Pure: no ports, no time.
//
// moderate: every member VM holds its own VIP.
// PS1: a member on a PS1 base server keeps its VIP; a member elsewhere hands its VIP to the
//   group's spare, started on a base server that holds no other VIP of the group (redundancy
//   across real servers kept: Ws on RS2 beside W1 on RS1, Fs on RS1 beside F1 on RS2).
// PS2: every VIP of the group goes to one VM of the group on the PS2 base server: a member there,
//   else the spare (started there).
// A real server whose VMs hold no VIP and that is not a base server in use is suspended (RS3 once
// web and FTP are both PS1, Fig. 3(g); RS2 once every group is PS2, Fig. 4(h)).
import type { Condition } from './decide.ts';

export interface Member {
  vm: string;
  host: string;
  vip: string;
}

export interface Group {
  name: string;
  members: Member[];
  /** The spare VM (suspended, image on the management server's file system). */
  spare: string;
}

export interface Topology {
  groups: Group[];
  /** Real servers, in order (each may be suspended). */
  realServers: string[];
  /** Base servers of PS1 (RS1, RS2 in the paper). */
  ps1Base: string[];
  /** The base server of PS2 (RS1). */
  ps2Base: string;
}

export interface Layout {
  /** VIP -> the VM that holds it. */
  holders: Record<string, string>;
  /** Running spare -> its host. */
  spares: Record<string, string>;
  /** Real servers that must be running. */
  active: string[];
}

function hostOfVm(t: Topology, g: Group, vm: string, spares: Record<string, string>): string | null {
  if (vm === g.spare) return spares[vm] ?? null;
  return g.members.find((m) => m.vm === vm)?.host ?? null;
}

/** The layout the conditions ask for. */
export function layoutFor(t: Topology, conditions: Readonly<Record<string, Condition>>): Layout {
  const holders: Record<string, string> = {};
  const spares: Record<string, string> = {};
  for (const g of t.groups) {
    const c = conditions[g.name] ?? 'moderate';
    if (c === 'moderate') {
      for (const m of g.members) holders[m.vip] = m.vm;
    } else if (c === 'ps1') {
      const onBase = g.members.filter((m) => t.ps1Base.includes(m.host));
      for (const m of onBase) holders[m.vip] = m.vm;
      const used = new Set(onBase.map((m) => m.host));
      for (const m of g.members) {
        if (t.ps1Base.includes(m.host)) continue;
        if (spares[g.spare] === undefined) spares[g.spare] = t.ps1Base.find((h) => !used.has(h)) ?? t.ps1Base[0];
        holders[m.vip] = g.spare;
      }
    } else {
      const local = g.members.find((m) => m.host === t.ps2Base);
      let holder: string;
      if (local) holder = local.vm;
      else {
        spares[g.spare] = t.ps2Base;
        holder = g.spare;
      }
      for (const m of g.members) holders[m.vip] = holder;
    }
  }
  return { holders, spares, active: activeHosts(t, holders, spares) };
}

/** The real servers that the VIP holders run on, in the topology's order. */
export function activeHosts(t: Topology, holders: Readonly<Record<string, string>>, spares: Readonly<Record<string, string>>): string[] {
  const activeSet = new Set<string>();
  for (const g of t.groups) for (const vm of new Set(g.members.map((m) => holders[m.vip]))) {
    const h = vm ? hostOfVm(t, g, vm, spares) : null;
    if (h) activeSet.add(h);
  }
  return t.realServers.filter((h) => activeSet.has(h));
}

/** The host a VM of the topology runs on in a layout (a spare: where it was started), or null. */
export function vmHost(t: Topology, l: Pick<Layout, 'spares'>, vm: string): string | null {
  const g = t.groups.find((x) => x.spare === vm || x.members.some((m) => m.vm === vm));
  return g ? hostOfVm(t, g, vm, l.spares) : null;
}

export interface Plan {
  /** Phase 1: real servers to wake (Wake-on-LAN from suspension). */
  resumeHosts: string[];
  /** Phase 2: spares to activate, in parallel. */
  startSpares: Array<{ vm: string; host: string }>;
  /** Spares that stay running but on another host (live migration), phase 2 too. */
  moveSpares: Array<{ vm: string; host: string }>;
  /** Phase 3: VIP moves, one after another. */
  vipMoves: Array<{ vip: string; from: string; to: string }>;
  /** Phase 4: spares no longer needed. */
  suspendSpares: string[];
  /** Phase 5: real servers no longer needed. */
  suspendHosts: string[];
}

export function planTransition(from: Layout, to: Layout): Plan {
  const resumeHosts = to.active.filter((h) => !from.active.includes(h));
  const startSpares: Plan['startSpares'] = [];
  const moveSpares: Plan['moveSpares'] = [];
  for (const [vm, host] of Object.entries(to.spares)) {
    const was = from.spares[vm];
    if (was === undefined) startSpares.push({ vm, host });
    else if (was !== host) moveSpares.push({ vm, host });
  }
  const vipMoves: Plan['vipMoves'] = [];
  for (const [vip, to2] of Object.entries(to.holders)) {
    const f = from.holders[vip];
    if (f !== to2) vipMoves.push({ vip, from: f, to: to2 });
  }
  const suspendSpares = Object.keys(from.spares).filter((vm) => to.spares[vm] === undefined);
  const suspendHosts = from.active.filter((h) => !to.active.includes(h));
  return { resumeHosts, startSpares, moveSpares, vipMoves, suspendSpares, suspendHosts };
}

/**
 * The part of a plan that does not need the real servers in `unavailable` (servers that did not
 * wake): no wake of them, no spare started on them, no VIP moved to a VM on them; spares and
 * servers that then still hold VIPs stay as they are.
 */
export function withoutHosts(t: Topology, from: Layout, to: Layout, p: Plan, unavailable: ReadonlySet<string>): Plan {
  if (unavailable.size === 0) return p;
  const vipMoves = p.vipMoves.filter((m) => !unavailable.has(vmHost(t, to, m.to) ?? ''));
  const holders = { ...from.holders };
  for (const m of vipMoves) holders[m.vip] = m.to;
  const holding = new Set(Object.values(holders));
  const spares = { ...from.spares, ...Object.fromEntries([...p.startSpares, ...p.moveSpares].filter((s) => !unavailable.has(s.host)).map((s) => [s.vm, s.host])) };
  const active = activeHosts(t, holders, spares);
  return {
    resumeHosts: p.resumeHosts.filter((h) => !unavailable.has(h)),
    startSpares: p.startSpares.filter((s) => !unavailable.has(s.host)),
    moveSpares: p.moveSpares.filter((s) => !unavailable.has(s.host)),
    vipMoves,
    suspendSpares: p.suspendSpares.filter((vm) => !holding.has(vm)),
    suspendHosts: p.suspendHosts.filter((h) => !active.includes(h) && !unavailable.has(h)),
  };
}

export function planIsEmpty(p: Plan): boolean {
  return p.resumeHosts.length + p.startSpares.length + p.moveSpares.length + p.vipMoves.length + p.suspendSpares.length + p.suspendHosts.length === 0;
}

/** VMs of the group that hold no VIP in the layout: the access-stop state (§2.3). */
export function accessStopped(t: Topology, l: Layout): string[] {
  const holding = new Set(Object.values(l.holders));
  return t.groups.flatMap((g) => g.members.map((m) => m.vm)).filter((vm) => !holding.has(vm));
}
