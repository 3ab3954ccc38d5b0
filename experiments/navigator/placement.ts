// Beyond the thesis: where should Navigator put its secondary container? wong-2014 (§4.3) picks the
// PC up longest. Here that rule runs beside a random PC, the PC up shortest and the PC with the
// longest expected remaining up time under a model of the churn, with and without the store
// lease, under three kinds of churn: the teaching lab's sessions (as navigator-lab12d assumes) and
// two desktop availability traces of the Failure Trace Archive as fitted Weibull up/down periods.
// Check intervals and the image transfer rate are swept for the thesis's rule.
import { Samples, replicated, type Experiment, type Sample } from '../report.ts';
import { buildSimulation } from '../../run/sim.ts';
import type { Scenario } from '../../sim/scenario/schema.ts';
import type { TraceLine } from '../../trace/metrics.ts';
import { dayOutcome, LAB_CASES, navigatorScenario } from './lab12d.ts';
import * as W from './params.ts';

const SOURCE = 'beyond wong-2014 (placement §4.3); churn: the teaching lab (navigator-lab12d\'s assumptions) and Weibull fits of the Failure Trace Archive (Javadi et al., JPDC 73(8), 2013), as OpenDC\'s failure prefabs quote them';
const S = 1_000_000;
const H = 3600;

/**
 * Weibull fits (shape, scale in hours) of availability (up) and unavailability (down) periods of
 * two desktop traces of the Failure Trace Archive, as quoted by OpenDC's failure prefabs
 * (Microsoft99Wbl, Nd07cpuWbl): Microsoft's corporate desktops (1999) and Notre Dame's desktop
 * grid CPU availability (2007).
 */
export const FTA_FITS = {
  microsoft99: { up: { shape: 0.55, scaleH: 35.30 }, down: { shape: 0.60, scaleH: 9.34 } },
  notre_dame07: { up: { shape: 0.45, scaleH: 4.16 }, down: { shape: 0.51, scaleH: 0.74 } },
} as const;
type FtaName = keyof typeof FTA_FITS;

export const PLACEMENTS = ['longest-uptime', 'random', 'shortest-uptime', 'expected-remaining'] as const;
type PlacementName = (typeof PLACEMENTS)[number];

/** PCs and days of a trace-churn run. */
export const FTA_PCS = 16;
export const FTA_DAYS = 7;
const LAB_DAY_S = 10 * H;

type Churn = 'lab' | FtaName;

interface Case {
  name: string;
  churn: Churn;
  placement: PlacementName;
  lease: boolean;
  primaryCheckS?: number;
  transferRateBps?: number;
}

export function placementCases(): Case[] {
  const out: Case[] = [];
  for (const churn of ['lab', 'microsoft99', 'notre_dame07'] as const) {
    for (const placement of PLACEMENTS) {
      for (const lease of [false, true]) out.push({ name: `${churn} / ${placement}${lease ? ' + lease' : ''}`, churn, placement, lease });
    }
  }
  // The thesis's rule under the fastest churn, with the check interval and the transfer rate swept.
  for (const primaryCheckS of [1, 30]) out.push({ name: `notre_dame07 / longest-uptime / check ${primaryCheckS} s`, churn: 'notre_dame07', placement: 'longest-uptime', lease: false, primaryCheckS });
  for (const mbps of [10, 940]) out.push({ name: `notre_dame07 / longest-uptime / transfer ${mbps} Mb/s`, churn: 'notre_dame07', placement: 'longest-uptime', lease: false, transferRateBps: mbps * 1e6 });
  return out;
}

const pc = (i: number) => `pc${String(i + 1).padStart(2, '0')}`;

/** The model of up periods the expected-remaining placement uses (the churn's own). */
function upModel(churn: Churn): Record<string, unknown> {
  if (churn === 'lab') return { kind: 'uniform', min: LAB_CASES[0].sessionMinS, max: LAB_CASES[0].sessionMaxS };
  const f = FTA_FITS[churn].up;
  return { kind: 'weibull', shape: f.shape, scale: f.scaleH * H };
}

/** One run's scenario: the lab's day from PC `start` (others off), or FTA_PCS PCs on for FTA_DAYS days. */
export function placementScenario(c: Case, start: number, seed: number): Scenario {
  const lab = c.churn === 'lab';
  const n = lab ? W.labPcs : FTA_PCS;
  const hosts = Array.from({ length: n }, (_, i) => ({ name: pc(i), state: lab && i !== start ? 'off' : 'on' }));
  const fit = c.churn === 'lab' ? null : FTA_FITS[c.churn];
  const churn = fit === null
    ? { hosts: hosts.map((h) => h.name), days: 1, openAt: 0, closeAt: `${LAB_DAY_S}s`, sessionsPerDay: LAB_CASES[0].sessionsPerDay, session: { kind: 'uniform', min: LAB_CASES[0].sessionMinS, max: LAB_CASES[0].sessionMaxS } }
    : {
      kind: 'renewal', hosts: hosts.map((h) => h.name),
      up: { kind: 'weibull', shape: fit.up.shape, scale: fit.up.scaleH * H },
      down: { kind: 'weibull', shape: fit.down.shape, scale: fit.down.scaleH * H },
    };
  return navigatorScenario({
    name: 'navigator-placement',
    untilS: lab ? LAB_DAY_S : FTA_DAYS * 24 * H,
    hosts,
    start: pc(start),
    churn,
    policy: {
      transferRateBps: c.transferRateBps ?? W.transferRateBps,
      primaryCheck: c.primaryCheckS ?? W.primaryCheckS,
      lease: c.lease, placement: c.placement,
      ...(c.placement === 'random' ? { placementSeed: seed % 2 ** 31 } : {}),
      ...(c.placement === 'expected-remaining' ? { placementModel: upModel(c.churn) } : {}),
    },
  });
}

/** Failovers (primary and secondary) in a run's trace before `endUs`. */
function failovers(ev: TraceLine[], endUs: number): number {
  const o = dayOutcome(ev, endUs);
  return o.primaryFailovers + o.secondaryFailovers;
}

const TITLE = 'Navigator: where to put the secondary (placement x lease x churn; beyond wong-2014)';

export const placement: Experiment = replicated<Sample[]>({
  id: 'navigator-placement',
  title: TITLE,
  defaultRuns: 5,
  units: ({ runs }) => placementCases().length * runs,
  unit({ seed, runs }, i) {
    const cases = placementCases();
    const c = cases[Math.floor(i / runs)];
    const r = i % runs;
    // The same start PC and churn draws for every case of a run (common random numbers).
    const runSeed = seed + 7919 * r;
    const lab = c.churn === 'lab';
    const start = lab ? Math.abs((runSeed * 2654435761) | 0) % W.labPcs : 0;
    const scenario = placementScenario(c, start, runSeed);
    const sim = buildSimulation(scenario, { seed: runSeed });
    sim.run();
    const endUs = scenario.until!;
    const o = dayOutcome(sim.events, endUs);
    const days = endUs / (24 * H * S);
    const out: Sample[] = [
      [c.name, undefined, 'availabilityPct', o.availability === null ? null : 100 * o.availability],
      [c.name, undefined, 'failoversPerDay', failovers(sim.events, endUs) / (lab ? 1 : days)],
      [c.name, undefined, 'lostPct', o.lost ? 100 : 0],
    ];
    return out;
  },
  combine({ seed, runs }, values) {
    const samples = new Samples();
    for (const v of values) samples.addAll(v);
    return {
      id: 'navigator-placement', title: TITLE, source: SOURCE,
      params: { seed, runs, labPcs: W.labPcs, labDayS: LAB_DAY_S, ftaPcs: FTA_PCS, ftaDays: FTA_DAYS, fits: FTA_FITS, placements: PLACEMENTS },
      rows: samples.rows(),
      notes: [
        'Prediction beyond the thesis; nothing here is in it. Placement: longest-uptime is the thesis\'s rule; random hashes the query\'s time and the PC\'s name; expected-remaining ranks PCs by E[T - age | T > age] under the churn\'s own model of up periods (the lab\'s uniform sessions; the trace\'s Weibull up fit).',
        `Churn "lab": ${W.labPcs} PCs for one day of ${LAB_DAY_S / H} h, sessions as navigator-lab12d assumes (${LAB_CASES[0].case}), the container started on a random PC. Churn "microsoft99" / "notre_dame07": ${FTA_PCS} PCs on at the start, each then alternating Weibull up and down periods (FTA fits as OpenDC quotes them, hours: microsoft99 up 0.55/35.30, down 0.60/9.34; notre_dame07 up 0.45/4.16, down 0.51/0.74) for ${FTA_DAYS} days; the container\'s first PC joins the churn too.`,
        'availabilityPct: share of the time from the service\'s first answer to the end during which the client was served; lostPct: runs in which the service was down at the end (both container hosts gone before a new secondary was ready; Navigator has no way back from that); failoversPerDay: primary and secondary failovers per day.',
        'A Weibull shape below 1 means a PC that has been up long is likely to stay up: the expected remaining up time grows with age, so expected-remaining and longest-uptime choose alike; the lab\'s sessions shrink with age, so there the two rules disagree (the thesis\'s rule picks the PC whose session is oldest).',
      ],
    };
  },
});
