// The host-power baselines (decide.ts) as one engine process on the management server. Every
// interval it samples each running VM's load (LoadSampler, inside the guest) and each powered-on
// host's capacity, keeps each host's utilisation history, asks the rule (DPM or oVirt) and carries
// the action out: live migrations one after another, then the emptied host suspended (standby), or
// a standby host woken (power.resume) and VMs moved to it. The histories start again after each
// action (a host's load changes with its VMs). It keeps the PSS's Table 1 files that the MSBS reads
// (policies/pss/files.ts): the operation file (each VM with its VIP and host) and the real server /
// suspension real files, so that the MSBS leaves a host in standby alone, as it does for the PSS.
import { S, now, sleep, trace, type Op, type Process } from '../../engine/runtime/effects.ts';
import { call, portErrorOf } from '../../engine/ports/index.ts';
import { editFile, PSS_KEYS, type RealRow, type VmRow } from '../pss/files.ts';
import {
  dpmDecide, dpmRebalance, dpmUtilisation, heldFor, ovirtDecide, utilisation, windowMean,
  type Action, type DpmRules, type HostView, type Move, type OvirtRules, type VmView,
} from './decide.ts';

export interface ManagedVm {
  name: string;
  group: string;
  /** The VIP it serves (its row in the operation file), or '' for none. */
  vip: string;
}

export interface HostPowerConfig {
  manager: string;
  /** Real servers, in order. */
  hosts: string[];
  macs: Record<string, string>;
  vms: ManagedVm[];
  intervalUs: number;
  rule: { kind: 'dpm'; rules: DpmRules; powerOnWindowUs: number; powerOffWindowUs: number } | { kind: 'ovirt'; rules: OvirtRules; durationUs: number };
}

type History = Map<string, Array<{ t: number; v: number }>>;

function* observe(c: HostPowerConfig, standby: ReadonlySet<string>, broken: ReadonlySet<string>): Op<HostView[] | null> {
  const placed = yield* call('hypervisor', 'list');
  const views: HostView[] = [];
  for (const h of c.hosts) {
    if (broken.has(h)) continue;
    const on = !standby.has(h);
    let cores = 1;
    let memMb = 0;
    let allocatedMb = 0;
    let usedHostMb = 0;
    const vms: VmView[] = [];
    for (const m of c.vms) {
      const info = placed.find((v) => v.name === m.name);
      if (!on || info?.host !== h || info.state !== 'running') continue;
      try {
        const s = yield* call('load', 'sample', m.name);
        const memAlloc = s.memTotalKb / 1024;
        allocatedMb += memAlloc;
        vms.push({ name: m.name, group: m.group, memMb: memAlloc, usedMemMb: (s.memTotalKb - s.memFreeKb) / 1024, cpuCores: Math.max(0, s.cores - s.cpuIdlePct / 100) });
      } catch {
        return null; // a VM not measured: no decision this time (as the PSS, Fig. 13)
      }
    }
    if (on) {
      try {
        const s = yield* call('load', 'sample', h);
        cores = s.cores;
        memMb = s.memTotalKb / 1024;
        usedHostMb = (s.memTotalKb - s.memFreeKb) / 1024;
      } catch {
        return null;
      }
    }
    // The host's own use: what it uses beyond the memory its running guests are given.
    views.push({ name: h, on, cores, memMb, baseMemMb: Math.max(0, usedHostMb - allocatedMb), vms });
  }
  return views;
}

function* writeFiles(c: HostPowerConfig, standby: ReadonlySet<string>, hostOf: ReadonlyMap<string, string>): Op<void> {
  const rows: VmRow[] = c.vms.filter((m) => m.vip !== '').map((m) => ({ group: m.group, realServer: hostOf.get(m.name) ?? '', vip: m.vip, host: m.name }));
  yield* editFile<VmRow>(PSS_KEYS.operation, (cur) => {
    // A VM the MSBS separated is served by its backup: the MSBS's row stays.
    const separated = cur.filter((r) => !c.vms.some((m) => m.name === r.host));
    return [...rows.filter((r) => !separated.some((s) => s.vip === r.vip)), ...separated];
  });
  yield* editFile<RealRow>(PSS_KEYS.realServer, () => c.hosts.filter((h) => !standby.has(h)).map((h) => ({ realServer: h, mac: c.macs[h] ?? '' })));
  yield* editFile<RealRow>(PSS_KEYS.suspensionReal, () => c.hosts.filter((h) => standby.has(h)).map((h) => ({ realServer: h, mac: c.macs[h] ?? '' })));
}

function* migrateAll(c: HostPowerConfig, moves: readonly Move[]): Op<boolean> {
  let ok = true;
  for (const m of moves) {
    try {
      yield* call('hypervisor', 'migrate', m.vm, m.to);
      yield* trace('hostpower.migrated', m.vm, { manager: c.manager, to: m.to });
    } catch (e) {
      ok = false;
      yield* trace('hostpower.error', m.vm, { manager: c.manager, step: 'migrate', to: m.to, reason: portErrorOf(e).message });
    }
  }
  return ok;
}

export function* hostPower(c: HostPowerConfig): Process<void> {
  const standby = new Set<string>();
  // Hosts that did not come out of standby when woken: left out of later decisions (an operator's case).
  const broken = new Set<string>();
  const history: History = new Map(c.hosts.map((h) => [h, []]));
  const hostsOf = function* (): Op<Map<string, string>> {
    const placed = yield* call('hypervisor', 'list');
    return new Map(placed.filter((v) => v.host !== null).map((v) => [v.name, v.host as string]));
  };
  yield* writeFiles(c, standby, yield* hostsOf());
  const windowUs = c.rule.kind === 'dpm' ? Math.max(c.rule.powerOnWindowUs, c.rule.powerOffWindowUs) : c.rule.durationUs;
  for (;;) {
    yield* sleep(c.intervalUs);
    const t = yield* now();
    const views = yield* observe(c, standby, broken);
    if (views === null) continue;
    for (const h of views) {
      if (!h.on) continue;
      const v = c.rule.kind === 'dpm' ? dpmUtilisation(h) : utilisation(h).cpuPct;
      const hs = history.get(h.name)!;
      hs.push({ t, v });
      while (hs.length > 0 && hs[0].t <= t - windowUs - c.intervalUs) hs.shift();
    }
    let action: Action;
    if (c.rule.kind === 'dpm') {
      const r = c.rule;
      const avg = (w: number) => new Map(views.map((h) => [h.name, windowMean(history.get(h.name)!, t, w)]));
      action = dpmDecide(views, avg(r.powerOffWindowUs), avg(r.powerOnWindowUs), r.rules);
    } else {
      const r = c.rule;
      const held = (p: (v: number) => boolean) => new Set(views.filter((h) => h.on && heldFor(history.get(h.name)!, t, r.durationUs, p)).map((h) => h.name));
      action = ovirtDecide(views, held((v) => v > r.rules.highPct), held((v) => v < r.rules.lowPct), r.rules);
    }
    if (action.kind === 'none') continue;
    yield* trace('hostpower.decide', c.manager, { rule: c.rule.kind, action: action as unknown as Record<string, unknown> });
    if (action.kind === 'migrate') yield* migrateAll(c, action.moves);
    if (action.kind === 'standby') {
      // Suspend only an emptied host: a failed migration leaves it on.
      if (yield* migrateAll(c, action.moves)) {
        standby.add(action.host);
        yield* writeFiles(c, standby, yield* hostsOf());
        try {
          yield* call('power', 'suspend', action.host);
        } catch (e) {
          standby.delete(action.host);
          yield* trace('hostpower.error', action.host, { manager: c.manager, step: 'suspend', reason: portErrorOf(e).message });
        }
      }
    }
    if (action.kind === 'wake') {
      yield* trace('hostpower.wake', action.host, { manager: c.manager, mac: c.macs[action.host] ?? '' });
      try {
        yield* call('power', 'resume', action.host);
        standby.delete(action.host);
        if (c.rule.kind === 'dpm') {
          const after = yield* observe(c, standby, broken);
          if (after !== null) yield* migrateAll(c, dpmRebalance(after, action.host, c.rule.rules));
        }
      } catch (e) {
        broken.add(action.host);
        yield* trace('hostpower.error', action.host, { manager: c.manager, step: 'wake', reason: portErrorOf(e).message });
      }
    }
    yield* writeFiles(c, standby, yield* hostsOf());
    for (const hs of history.values()) hs.length = 0;
    yield* trace('hostpower.done', c.manager, { rule: c.rule.kind, standby: [...standby], durationS: ((yield* now()) - t) / S });
  }
}
