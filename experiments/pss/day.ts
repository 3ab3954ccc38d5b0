// pss-day (beyond the paper): the kitamura-2019 experimental system through days of client load
// (busy working days, quiet evenings and weekends, idle nights, a few faults), under five power
// policies, each with the MSBS recovering the faults:
//   always-on   the PSS with a light threshold of 0 (Ls is never below 0): the moderate layout throughout
//   pss-ps1     the PSS with PS2 turned off (a light group stays in PS1)
//   pss         the PSS with PS1 and PS2 (the paper's)
//   dpm         VMware DPM's rule and defaults (policies/hostpower)
//   ovirt       oVirt's power_saving rule and defaults (policies/hostpower)
// Energy of the three real servers, time in each condition, the clients' availability and
// disconnection, and the wakes from standby (and those that failed).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSimulation, readScenario } from '../../run/sim.ts';
import type { TraceEvent } from '../../trace/event.ts';
import type { FaultSpec, Scenario } from '../../sim/scenario/schema.ts';
import { availability, disconnections, energyWh } from '../../trace/metrics.ts';
import { replicated, Samples, type Sample } from '../report.ts';
import * as K from '../params/kitamura2019.ts';
import { REAL } from './conditions.ts';
import { stateColor, timelineSvg, type Lane } from './timeline.ts';

const SCENARIO = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios', 'pss-msbs.yaml');
const US = 1_000_000;
const H = 3600 * US;
const DAY = 24 * H;
export const CASES = ['always-on', 'pss-ps1', 'pss', 'dpm', 'ovirt'] as const;
export type DayCase = (typeof CASES)[number];
/**
 * Days simulated, Monday on: 2 by default (a working day and its night twice: every fault below
 * but the last happens), so that `npm start` stays quick; HATWIN_PSS_DAYS=7 runs the week.
 */
export function daysToRun(env: Record<string, string | undefined> = process.env): number {
  const v = env.HATWIN_PSS_DAYS;
  if (v === undefined || v === '') return 2;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 28) throw new RangeError(`HATWIN_PSS_DAYS must be a whole number of days from 1 to 28, got "${v}"`);
  return n;
}

/**
 * Load inside each VM (added to the idle level of pss-msbs.yaml: 256 MB, 5 % CPU, 100 kB/s).
 * Busy: 1,536 MB in use of 2,048, 80 % of its vCPU, 4 MB/s: Ls (NETWORK) = 0.5*75 + 0.1*80 +
 * 0.4*1.6 = 46 %, above the 30 % threshold; idle Ls = 6.8 %, below 20 %. Client accesses per
 * second per VM: busy 5, quiet 0.5 (light, but above x = 0: PS1, not PS2), night 0 (PS2).
 */
export const LOAD = {
  busy: { memMb: 1280, cpuPct: 75, netBytesPerS: 3_900_000 },
  accessesPerS: { busy: 5, quiet: 0.5, night: 0 },
  /** Working days Monday-Friday: busy 08:00-20:00, quiet 20:00-24:00, night 00:00-08:00. Weekend: quiet 08:00-24:00. */
  busyFromH: 8,
  busyUntilH: 20,
} as const;

/**
 * Live migration of a 2,048 MB VM over the 1 Gb/s server LAN (hatwin's default link): one pass
 * over its memory, 2048 * 8 * 2^20 bits / 1e9 b/s = 17.2 s (dirty pages resent are not modelled).
 * NOT PRINTED in the paper: derived from Table 3's VM size and the link rate.
 */
export const MIGRATE_S = (K.vmSpec.memMb * 8 * 2 ** 20) / 1e9;

/** The faults, by day (d, 0 = Monday) and hour: only those inside the run are made. */
export function faultsFor(days: number): FaultSpec[] {
  const at = (d: number, h: number) => d * DAY + h * H;
  const all: FaultSpec[] = [
    { kind: 'St1', target: 'W1', service: 'httpd', at: at(0, 11) }, // Monday 11:00, busy: a daemon stops
    { kind: 'host-fail', target: 'RS3', at: at(1, 3) }, // Tuesday 03:00, at night: RS3 (in standby under the power policies) breaks
    { kind: 'vm-crash', target: 'M1', at: at(1, 14) }, // Tuesday 14:00, busy
    { kind: 'vm-crash', target: 'W1', at: at(3, 22) }, // Thursday 22:00, quiet
  ];
  return all.filter((f) => (f.at as number) < days * DAY);
}

const MEMBERS = [
  { vm: 'M1', group: 'Mail', vip: 'VIP1' }, { vm: 'W1', group: 'Web', vip: 'VIP2' }, { vm: 'F1', group: 'FTP', vip: 'VIP3' },
  { vm: 'M2', group: 'Mail', vip: 'VIP4' }, { vm: 'W2', group: 'Web', vip: 'VIP5' }, { vm: 'F2', group: 'FTP', vip: 'VIP6' },
];

/** pss-msbs.yaml run for `days` days under case `c`. */
export function dayScenario(base: Scenario, c: DayCase, days: number): Scenario {
  const loaded = new Set((base.vmLoad ?? []).map((l) => l.vm));
  const idle = (base.vmLoad ?? []).filter((l) => l.memMb === 256 && l.end === undefined);
  const vmLoad = [...idle];
  for (const vm of loaded) {
    for (let d = 0; d < days; d++) {
      const working = d % 7 < 5;
      const from = d * DAY + LOAD.busyFromH * H;
      const until = d * DAY + LOAD.busyUntilH * H;
      if (working) {
        vmLoad.push({ vm, start: from, end: until, ...LOAD.busy, accessesPerS: 0 });
        vmLoad.push({ vm, start: from, end: until, memMb: 0, cpuPct: 0, netBytesPerS: 0, accessesPerS: LOAD.accessesPerS.busy });
        vmLoad.push({ vm, start: until, end: (d + 1) * DAY, memMb: 0, cpuPct: 0, netBytesPerS: 0, accessesPerS: LOAD.accessesPerS.quiet });
      } else {
        vmLoad.push({ vm, start: from, end: (d + 1) * DAY, memMb: 0, cpuPct: 0, netBytesPerS: 0, accessesPerS: LOAD.accessesPerS.quiet });
      }
    }
  }
  const pss = base.policies.find((p) => p.kind === 'pss')!;
  const msbs = base.policies.find((p) => p.kind === 'msbs')!;
  const hostPower = (kind: 'dpm' | 'ovirt') => ({ kind, manager: 'mgmt', hosts: REAL, vms: MEMBERS });
  const power = c === 'always-on' ? { ...pss, thresholds: { light: 0, moderate: 30 } }
    : c === 'pss-ps1' ? { ...pss, ps2: false }
    : c === 'pss' ? pss
    : hostPower(c);
  return {
    ...base,
    name: `pss-day-${c}`,
    until: days * DAY,
    vms: base.vms.map((v) => (MEMBERS.some((m) => m.vm === v.name) ? { ...v, migrateS: { kind: 'constant' as const, value: MIGRATE_S } } : v)),
    clients: MEMBERS.map((m) => ({ name: `client-${m.vip}`, vip: m.vip, intervalS: K.clientAccessIntervalS, phaseS: 0 })),
    vmLoad,
    faults: faultsFor(days),
    policies: [power, msbs],
  };
}

/** Real servers running (on, booting or restarting) over time: [from, count]. */
function hostsOnSteps(ev: readonly TraceEvent[]): Array<[number, number]> {
  const st = new Map(REAL.map((h) => [h, 'on']));
  const out: Array<[number, number]> = [[0, REAL.length]];
  for (const e of ev) {
    if (e.kind !== 'host.state' || !REAL.includes(e.subject)) continue;
    st.set(e.subject, String(e.data?.state));
    const n = [...st.values()].filter((s) => s === 'on' || s === 'booting' || s === 'restarting').length;
    if (out.at(-1)![1] !== n) out.push([e.t, n]);
  }
  return out;
}

/**
 * The condition of all groups together over time, from the PSS's examinations (a condition it
 * decides holds from then, whether or not the layout had to change): 'mixed' when they differ.
 */
export function conditionSteps(ev: readonly TraceEvent[]): Array<[number, string]> {
  const cur = new Map<string, string>();
  const out: Array<[number, string]> = [[0, 'moderate']];
  for (let i = 0; i < ev.length; i++) {
    const e = ev[i];
    if (e.kind !== 'pss.examine') continue;
    cur.set(e.subject, String(e.data?.condition));
    if (ev[i + 1]?.t === e.t && ev[i + 1]?.kind === 'pss.examine') continue;
    const v = [...cur.values()];
    const all = v.every((x) => x === v[0]) ? v[0] : 'mixed';
    if (out.at(-1)![1] !== all) out.push([e.t, all]);
  }
  return out;
}

/** Shares of [0, end] in each state of a step function, percent. */
function shares<T extends string>(steps: ReadonlyArray<[number, T]>, endUs: number): Map<T, number> {
  const out = new Map<T, number>();
  steps.forEach(([t, s], i) => {
    const until = i + 1 < steps.length ? steps[i + 1][0] : endUs;
    out.set(s, (out.get(s) ?? 0) + (100 * (until - t)) / endUs);
  });
  return out;
}

export interface DayUnit {
  samples: Sample[];
  lanes: Lane[];
}

/** The metrics of one case's trace. */
export function dayMetrics(c: DayCase, ev: readonly TraceEvent[], endUs: number): Sample[] {
  const s: Sample[] = [];
  const e = energyWh(ev as TraceEvent[], endUs);
  s.push([c, undefined, 'energyWh', REAL.reduce((a, h) => a + (e.perHost[h] ?? 0), 0)]);
  for (const [n, pct] of shares(hostsOnSteps(ev).map(([t, k]) => [t, `${k} on`] as [number, string]), endUs)) s.push([`${c}/${n}`, undefined, 'timePct', pct]);
  if (c.startsWith('pss') || c === 'always-on') {
    for (const [cond, pct] of shares(conditionSteps(ev), endUs)) s.push([`${c}/${cond}`, undefined, 'timePct', pct]);
  }
  const av = Object.values(availability(ev as TraceEvent[], endUs));
  s.push([c, undefined, 'availabilityPct', av.length ? (100 * av.reduce((a, x) => a + x, 0)) / av.length : NaN]);
  s.push([c, undefined, 'clientDisconnectionS', disconnections(ev as TraceEvent[]).reduce((a, d) => a + (d.durationS ?? (endUs - d.fromUs) / US), 0)]);
  // Wakes: a real server from suspended to on. Attempts: the power policy's Wake-on-LAN / resume
  // (pss.wol, hostpower.wake); those not followed by the host on are the failures.
  const prev = new Map<string, string>();
  let wakes = 0;
  for (const x of ev) {
    if (x.kind !== 'host.state' || !REAL.includes(x.subject)) continue;
    if (prev.get(x.subject) === 'suspended' && x.data?.state === 'on') wakes++;
    prev.set(x.subject, String(x.data?.state));
  }
  const attempts = ev.filter((x) => x.kind === 'pss.wol' || x.kind === 'hostpower.wake').length;
  s.push([c, undefined, 'wakes', wakes]);
  s.push([c, undefined, 'wakeFailures', Math.max(0, attempts - wakes)]);
  return s;
}

function hostLanes(c: DayCase, ev: readonly TraceEvent[], endUs: number): Lane[] {
  return REAL.map((h) => {
    const segs: Lane['segments'] = [{ fromS: 0, toS: endUs / US, text: 'on', color: stateColor('on') }];
    for (const e of ev) {
      if (e.kind !== 'host.state' || e.subject !== h || e.t === 0) continue;
      const st = String(e.data?.state);
      segs.at(-1)!.toS = e.t / US;
      segs.push({ fromS: e.t / US, toS: endUs / US, text: st, color: stateColor(st) });
    }
    return { label: `${c} ${h}`, segments: segs.filter((x) => x.toS > x.fromS) };
  });
}

let base: Scenario | undefined;

const TITLE = 'Beyond kitamura-2019: days of day/night load under PSS, PSS without PS2, always-on, DPM and oVirt policies';

export const pssDay = replicated<DayUnit>({
  id: 'pss-day',
  title: TITLE,
  defaultRuns: 1,
  units: ({ runs }) => runs * CASES.length,
  unit({ seed }, i) {
    base ??= readScenario(SCENARIO);
    const c = CASES[i % CASES.length];
    const run = Math.floor(i / CASES.length);
    const sim = buildSimulation(dayScenario(base, c, daysToRun()), { seed: seed + run });
    sim.run();
    const ev = sim.events as TraceEvent[];
    const end = sim.kernel.nowUs();
    return { samples: dayMetrics(c, ev, end), lanes: run === 0 ? hostLanes(c, ev, end) : [] };
  },
  combine({ seed, runs }, values) {
    const samples = new Samples();
    for (const v of values) samples.addAll(v.samples);
    const title = 'pss-day: real servers per power policy over the week (blue on, grey suspended, red failed)';
    return {
      id: 'pss-day',
      title: TITLE,
      source: 'beyond kitamura-2019 (no printed value): experiments/scenarios/pss-msbs.yaml with day/night load (experiments/pss/day.ts); DPM and oVirt rules from their documentation (docs/pss-msbs.md)',
      params: { seed, runs, days: daysToRun(), load: LOAD, migrateS: MIGRATE_S, faults: faultsFor(daysToRun()).map((f) => `${f.kind} ${'target' in f ? f.target : ''} at ${(f.at as number) / H} h`) },
      rows: samples.rows(() => ({ paper: null, analytical: null })),
      notes: [
        'energyWh: RS1-RS3 (the management server runs in every case and is left out). Watts per state as in pss-table4 (28 W on, 3 W suspended; booting and restarting as on; a failed host 0 W).',
        'timePct: share of the run with 3, 2 or 1 real servers running; for the PSS cases also in each condition of all groups together (moderate, ps1, ps2; the moderate layout for always-on).',
        'availabilityPct: mean over the six clients (one per VIP, one access a second); clientDisconnectionS: their disconnections summed.',
        'wakes: real servers from suspended to on; wakeFailures: the power policy\'s wake attempts (PSS Wake-on-LAN, DPM/oVirt power-on) that did not bring the host on (RS3 breaks at 03:00 on Tuesday, in standby under every power policy).',
        'DPM and oVirt consolidate by live migration (17.2 s per VM, derived from 2,048 MB over 1 Gb/s), keep the two VMs of a group on different hosts and commit no more VM memory than a host has (1,024 MB for itself + 3 x 2,048 MB): two hosts at least. Their standby is the same suspend-to-RAM as the PSS\'s, so that the policies, not the power states, are compared. They write the PSS files the MSBS reads (operation, real server, suspension real).',
      ],
      traces: { 'pss-day.timeline.svg': timelineSvg(title, values.flatMap((v) => v.lanes), daysToRun() * 24 * 3600, 3600, 'hours') },
    };
  },
});
