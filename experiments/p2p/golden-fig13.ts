// The golden cases of kitamura-2018 Fig. 13: test/golden/p2p-fig13-{st1,st2,nt1,nt2}/scenario.yaml
// as YAML text from fig13Scenario(trouble) (experiments/p2p/experiments.ts), the scenarios the
// p2p-fig13 experiment runs, so the golden traces replay exactly those. Times are written in
// seconds; fields equal to the schema's defaults are left out; the text is checked to parse back
// (parseScenario) to the same scenario. Written by scripts/golden-fig13.ts.
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import { fig13Scenario } from './experiments.ts';
import type { Trouble } from './model.ts';
import { parseScenario } from '../../run/sim.ts';
import type { Scenario } from '../../sim/scenario/schema.ts';

export const FIG13_TROUBLES: readonly Trouble[] = ['St1', 'St2', 'Nt1', 'Nt2'];
export const fig13GoldenName = (t: Trouble): string => `p2p-fig13-${t.toLowerCase()}`;

/** The golden case's scenario: the experiment's, with the seed the golden replay uses. */
export function fig13GoldenScenario(t: Trouble): Scenario {
  return { ...fig13Scenario(t), seed: 1 };
}

const WHAT: Record<Trouble, string> = {
  St1: 'the FTP daemon stops; the P1 manager restarts it',
  St2: 'the FTP daemon stops for good; FTPb takes the VIP, FTP is rebooted',
  Nt1: 'the FTP server restarts; FTPb takes the VIP until FTP is back',
  Nt2: 'the FTP server shuts down; FTPb takes the VIP, WOL after Trc',
};

const seconds = (us: number): string => `${us / 1_000_000}s`;

/** A scenario file object (times in seconds) for a parsed scenario. */
function toFileObject(s: Scenario): Record<string, unknown> {
  const o = structuredClone(s) as unknown as Record<string, unknown> & { faults: Array<Record<string, unknown>>; load: Array<Record<string, unknown>> };
  if (s.until !== undefined) o.until = seconds(s.until);
  for (const f of o.faults) {
    if (typeof f.at === 'number') f.at = seconds(f.at);
    if (typeof f.duration === 'number') f.duration = seconds(f.duration);
  }
  for (const l of o.load) {
    if (typeof l.start === 'number') l.start = seconds(l.start);
    if (typeof l.end === 'number') l.end = seconds(l.end);
  }
  return o;
}

const parses = (o: unknown, want: Scenario): boolean => {
  try {
    return isDeepStrictEqual(parseScenario(YAML.stringify(o)), want);
  } catch {
    return false;
  }
};

/** Constant distributions as plain numbers of seconds (how a scenario file writes them). */
function plainConstants(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainConstants);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.kind === 'constant' && typeof o.value === 'number' && Object.keys(o).length === 2) return o.value;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plainConstants(x)]));
  }
  return v;
}

/** Drops every field, at any depth, whose removal still parses to `want` (a default). */
function minimize(root: Record<string, unknown>, want: Scenario): Record<string, unknown> {
  const walk = (holder: Record<string, unknown>) => {
    for (const key of Object.keys(holder)) {
      const v = holder[key];
      if (Array.isArray(v)) {
        for (const item of v) if (item && typeof item === 'object') walk(item as Record<string, unknown>);
      } else if (v && typeof v === 'object') {
        walk(v as Record<string, unknown>);
      }
      delete holder[key];
      if (!parses(root, want)) holder[key] = v;
    }
  };
  walk(root);
  return root;
}

/** The YAML text of a Fig. 13 golden case, checked to parse back to the experiment's scenario. */
export function fig13GoldenYaml(t: Trouble): string {
  const want = fig13GoldenScenario(t);
  const { name, seed, until, ...rest } = minimize(plainConstants(toFileObject(want)) as Record<string, unknown>, want);
  const doc = new YAML.Document({ name, seed, until, ...rest });
  for (const list of ['hosts', 'vms', 'vips', 'clients', 'faults']) {
    const seq = doc.get(list, true);
    if (YAML.isSeq(seq)) for (const item of seq.items) if (YAML.isMap(item)) item.flow = true;
  }
  const group = doc.getIn(['policies', 0, 'group'], true);
  if (YAML.isSeq(group)) group.flow = true;
  // MACs quoted: YAML 1.1 readers take 00:00:... for a base-60 number.
  YAML.visit(doc, { Scalar: (_k, node) => { if (typeof node.value === 'string' && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(node.value)) node.type = 'QUOTE_DOUBLE'; } });
  doc.commentBefore = [
    ` kitamura-2018 Fig. 13, ${t}: ${WHAT[t]}.`,
    ' Four servers in the group order Mail, FTP, Login, Web1 (Table 3 timings); the trouble comes',
    ' 5 s into the 7th monitoring interval. Generated from fig13Scenario(trouble) in',
    ' experiments/p2p/experiments.ts by scripts/golden-fig13.ts: regenerate, do not edit.',
  ].join('\n');
  const text = doc.toString({ lineWidth: 0 });
  const back = parseScenario(text, `${fig13GoldenName(t)}/scenario.yaml`);
  if (!isDeepStrictEqual(back, want)) throw new Error(`${fig13GoldenName(t)}: the YAML does not parse back to fig13Scenario('${t}')`);
  return text;
}

