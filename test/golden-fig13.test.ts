// The Fig. 13 golden cases (test/golden/p2p-fig13-*) are the p2p-fig13 experiment's scenarios,
// and their traces read like the paper's Fig. 13. test/golden.test.ts replays them byte for byte.
import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { readScenario } from '../run/sim.ts';
import { fig13Printed } from '../experiments/params/kitamura2018.ts';
import { parseNdjson, recoveries } from '../trace/metrics.ts';
import { readExpected, scenarioPath } from '../run/golden.ts';
import { FIG13_TROUBLES, fig13GoldenName, fig13GoldenScenario } from '../experiments/p2p/golden-fig13.ts';

describe('golden traces of kitamura-2018 Fig. 13 (FTP in trouble, four servers)', () => {
  for (const t of FIG13_TROUBLES) {
    const name = fig13GoldenName(t);

    it(`${name}: scenario.yaml is fig13Scenario('${t}') (else: node bin/tsnode.js scripts/golden-fig13.ts)`, () => {
      expect(isDeepStrictEqual(readScenario(scenarioPath(name)), fig13GoldenScenario(t))).toBe(true);
    });

    it(`${name}: recovery times within 2 s of the measured Fig. 13 values`, () => {
      const r = recoveries(parseNdjson(readExpected(name) ?? ''));
      expect(r.map((x) => x.target)).toEqual(['FTP']);
      const rec = r[0];
      const row = (key: keyof typeof fig13Printed) => fig13Printed[key].measuredS!;
      if (t === 'St1') {
        expect(rec.functionRecoveryS).toBeNull(); // the daemon restart is enough: no backup VM
        expect(Math.abs(rec.targetRecoveryS! - row('ts1t'))).toBeLessThan(2);
        return;
      }
      const [f, tt] = t === 'St2' ? ['ts2f', 'ts2t'] as const : t === 'Nt1' ? ['tn1f', 'tn1t'] as const : ['tn2f', 'tn2t'] as const;
      expect(Math.abs(rec.functionRecoveryS! - row(f))).toBeLessThan(2);
      expect(Math.abs(rec.targetRecoveryS! - row(tt))).toBeLessThan(2);
    });
  }
});
