import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIG12_PRINTED, FIG12_TARGET, fig12Log, fig12Scenario, logCsv, pssFig12 } from '../experiments/pss/fig12.ts';
import * as K from '../experiments/params/kitamura2019.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import type { TraceEvent } from '../trace/event.ts';

const FILE = join(import.meta.dirname, '..', 'experiments', 'scenarios', 'pss-msbs.yaml');

describe('pss-fig12: the PSS and DBSS(F2) logs of Fig. 12', () => {
  const sim = buildSimulation(fig12Scenario(readScenario(FILE)), { seed: 1 });
  sim.run();
  const log = fig12Log(sim.events as TraceEvent[], FIG12_TARGET);
  const at = (source: string, event: string, detail = '', from = 0): number => {
    const l = log.find((x) => x.tS >= from && x.source === source && x.event === event && x.detail.includes(detail));
    if (!l) throw new Error(`no log line ${source} ${event} ${detail} after ${from}`);
    return l.tS;
  };

  it('tells the story of Fig. 12 in its order', () => {
    const dbss = `DBSS(${FIG12_TARGET})`;
    const normal = at(dbss, 'normal');
    const toPs1 = at('PSS', 'configuration change started', 'ps1');
    const fs = at('PSS', 'spare running', 'Fs on RS1');
    const ws = at('PSS', 'spare running', 'Ws on RS2');
    const vip5 = at('PSS', 'VIP set', 'VIP5 on Ws');
    const vip6 = at('PSS', 'VIP set', 'VIP6 on Fs');
    const rs3Off = at('PSS', 'real server suspended', 'RS3');
    const stopped = at(dbss, 'access stop');
    const toMod = at('PSS', 'configuration change started', 'moderate');
    const rs3On = at('PSS', 'real server on', 'RS3', toMod);
    const back5 = at('PSS', 'VIP set', 'VIP5 on W2', toMod);
    const back6 = at('PSS', 'VIP set', 'VIP6 on F2', toMod);
    const again = at(dbss, 'normal', '', toMod);
    expect(normal).toBeLessThan(toPs1);
    expect(Math.max(fs, ws)).toBeLessThan(Math.min(vip5, vip6));
    expect(toPs1).toBeLessThan(fs);
    expect(Math.max(vip5, vip6)).toBeLessThan(rs3Off);
    expect(rs3Off).toBeLessThan(stopped);
    expect(stopped).toBeLessThan(toMod);
    expect(rs3On).toBeLessThan(Math.min(back5, back6));
    expect(Math.max(back5, back6)).toBeLessThan(again);
    // No DBSS(F2) line between access stop and normal again: F2 is not examined while stopped.
    expect(log.filter((l) => l.source === dbss && l.tS > stopped && l.tS < again)).toEqual([]);
  });

  it('the DBSS sees the change within one of its intervals after the change is done (the paper\'s delays too)', () => {
    const r = pssFig12.run({ seed: 1, runs: 1, outDir: mkdtempSync(join(tmpdir(), 'fig12-')) });
    const row = (c: string, m: string) => r.rows.find((x) => x.case === c && x.metric === m)!;
    const iv = K.monitoringIntervalS;
    for (const [c, m] of [['moderate-to-ps1', 'dbssSeesAccessStopS'], ['ps1-to-moderate', 'dbssSeesNormalS']] as const) {
      const tr = row(c, 'transitionS').value;
      const d = row(c, m).value;
      expect(d).toBeGreaterThanOrEqual(tr);
      expect(d).toBeLessThan(tr + iv);
      // The printed delays with the printed transition times obey the same bounds.
      const printedTr = c === 'moderate-to-ps1' ? K.printedTransitionS.moderateToPs1 : K.printedTransitionS.ps1ToModerate;
      const printed = m === 'dbssSeesAccessStopS' ? FIG12_PRINTED.dbssSeesAccessStopS : FIG12_PRINTED.dbssSeesNormalS;
      expect(row(c, m).paper).toBeCloseTo(printed, 9);
      expect(printed).toBeGreaterThanOrEqual(printedTr);
      expect(printed).toBeLessThan(printedTr + iv);
    }
    expect(Object.keys(r.traces ?? {}).sort()).toEqual(['pss-fig12.log.csv', 'pss-fig12.log.txt', 'pss-fig12.timeline.svg']);
    expect(r.traces!['pss-fig12.timeline.svg']).toMatch(/^<svg[\s\S]*RS3[\s\S]*DBSS\(F2\)[\s\S]*<\/svg>\n$/);
    expect(r.traces!['pss-fig12.log.csv']).toBe(logCsv(log));
  });
});
