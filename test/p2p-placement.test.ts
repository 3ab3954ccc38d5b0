import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fcParams } from './helpers/fc-params.ts';
import {
  averageLoad,
  bestHost,
  headroom,
  HeadroomIndex,
  type Headroom,
  chooseHost,
  nonSelectValue,
  normalizeLoads,
  normalizedLoad,
  predictedLoad,
  rankHosts,
  realServerConditions,
  SERVER_TYPES,
  type RealServerCondition,
  type ServerCapacity,
  type ServerLoad,
} from '../policies/p2p/placement.ts';
import {
  extendedOperationRows,
  groupFromHosts,
  managersOf,
  maxVmStartsPerManagementServer,
  operationRows,
  targetsOf,
  targetsPerManagementServer,
  type OperationRow,
} from '../policies/p2p/ring.ts';
import {
  clockToS,
  FIG13_ROWS,
  fig12Log,
  fig13Analytical,
  fig13Printed,
  managementServerSpec,
  timingFor,
  trcS,
  trrS,
} from '../experiments/params/kitamura2018.ts';

const S = (k: number) => `S${k}`;
const servers = (n: number) => Array.from({ length: n }, (_, i) => S(i + 1));
/** "manager -> target" strings of one priority, for compact expectations. */
const edges = (rows: readonly OperationRow[], p: 'P1' | 'P2') =>
  rows.filter((r) => r.priority === p).map((r) => `${r.manager}->${r.target}`);

const testbed: ServerCapacity = {
  physicalMemoryKb: managementServerSpec.memoryMb * 1024,
  cpuCores: managementServerSpec.cpuCores,
  ratedTransferKbPerS: managementServerSpec.ratedTransferKbPerS,
};

describe('Fig. 5(b): FTP (NETWORK) fails, the virtual server starts on Web', () => {
  const rows: RealServerCondition[] = [
    { server: 'Web', vms: 0, nm: 40, nc: 30, nn: 50 },
    { server: 'Mail', vms: 1, nm: 30, nc: 20, nn: 40 },
  ];

  it('computes V_NE_web = 43 and V_NE_mail = 133 as printed', () => {
    expect(nonSelectValue(rows[0], 'NETWORK')).toBe(43);
    expect(nonSelectValue(rows[1], 'NETWORK')).toBe(133);
  });

  it('chooses Web, the lowest non-select value', () => {
    expect(chooseHost(rows, 'NETWORK')).toBe('Web');
    expect(rankHosts(rows, 'NETWORK')).toEqual([
      { server: 'Web', value: 43 },
      { server: 'Mail', value: 133 },
    ]);
  });

  it('weights CPU and CPU_NET targets as Fig. 5(b) prints', () => {
    expect(nonSelectValue(rows[0], 'CPU')).toBe(20 + 12 + 5);
    expect(nonSelectValue(rows[0], 'CPU_NET')).toBe(20 + 7.5 + 12.5);
  });

  it('skips excluded hosts and returns undefined when nobody is left', () => {
    expect(chooseHost(rows, 'NETWORK', ['Web'])).toBe('Mail');
    expect(chooseHost(rows, 'NETWORK', new Set(['Web', 'Mail']))).toBeUndefined();
  });

  it('breaks ties by host name', () => {
    const tied: RealServerCondition[] = [
      { server: 'b', vms: 0, nm: 10, nc: 10, nn: 10 },
      { server: 'a', vms: 0, nm: 10, nc: 10, nn: 10 },
      { server: 'c', vms: 0, nm: 10, nc: 10, nn: 10 },
    ];
    expect(chooseHost(tied, 'CPU')).toBe('a');
  });

  it('rejects a condition row outside [0, 100] with the field named', () => {
    expect(() => nonSelectValue({ server: 'X', vms: 0, nm: 101, nc: 0, nn: 0 }, 'CPU')).toThrow(/"X": nm/);
  });
});

describe('eq. (1)-(3): predicted load is extrapolated and clamped', () => {
  it('averages the samples of a stage (Fig. 5(a))', () => {
    expect(
      averageLoad([
        { availableMemoryKb: 100, cpuIdlePct: 300, networkKb: 10 },
        { availableMemoryKb: 200, cpuIdlePct: 100, networkKb: 30 },
      ]),
    ).toEqual({ memoryKb: 150, cpuPct: 200, networkKb: 20 });
    expect(() => averageLoad([])).toThrow(/at least one sample/);
  });

  it('extrapolates L_n = 2*A_n - A_{n-1} inside the bounds', () => {
    const l = predictedLoad(
      { memoryKb: 4000, cpuPct: 250, networkKb: 1000 },
      { memoryKb: 3000, cpuPct: 300, networkKb: 500 },
      testbed,
    );
    expect(l).toEqual({ memoryKb: 5000, cpuPct: 200, networkKb: 1500 });
  });

  it('clamps negative predictions to 0', () => {
    const l = predictedLoad(
      { memoryKb: 1000, cpuPct: 10, networkKb: 100 },
      { memoryKb: 5000, cpuPct: 90, networkKb: 900 },
      testbed,
    );
    expect(l).toEqual({ memoryKb: 0, cpuPct: 0, networkKb: 0 });
  });

  it('clamps at physical memory, cores*100 and rated speed * 2', () => {
    const l = predictedLoad(
      { memoryKb: 8_000_000, cpuPct: 390, networkKb: 250_000 },
      { memoryKb: 1_000, cpuPct: 10, networkKb: 1_000 },
      testbed,
    );
    expect(l).toEqual({ memoryKb: 8192 * 1024, cpuPct: 400, networkKb: 256_000 });
  });
});

describe('eq. (4)-(9): normalization across the management servers', () => {
  const load = (server: string, memoryKb: number, cpuPct: number, networkKb: number, cap = testbed): ServerLoad => ({
    server,
    vms: 0,
    capacity: cap,
    predicted: { memoryKb, cpuPct, networkKb },
  });

  it('gives 100 to every server when max == min (eq. (5), (7), (9))', () => {
    expect(normalizedLoad(5, 5, 5)).toBe(100);
    const rows = normalizeLoads([load('A', 1000, 200, 10), load('B', 1000, 200, 10)]);
    for (const r of rows) expect([r.nm, r.nc, r.nn]).toEqual([100, 100, 100]);
    expect(normalizeLoads([load('only', 1, 2, 3)])[0]).toMatchObject({ nm: 100, nc: 100, nn: 100 });
  });

  it('puts the most headroom at 0 and the least at 100', () => {
    // A: most free memory, most idle CPU, least traffic -> 0s; C the opposite -> 100s.
    const rows = normalizeLoads([load('A', 6000, 380, 0), load('B', 4000, 200, 128_000), load('C', 2000, 20, 256_000)]);
    expect(rows.map((r) => [r.server, r.nm, r.nc, r.nn])).toEqual([
      ['A', 0, 0, 0],
      ['B', 50, 50, 50],
      ['C', 100, 100, 100],
    ]);
  });

  it('weighs idle CPU by core count and traffic against each rated total (eq. (6), (8))', () => {
    const small: ServerCapacity = { physicalMemoryKb: 1e6, cpuCores: 2, ratedTransferKbPerS: 12_800 };
    // Same 100 % idle: 4 cores * 100 beats 2 cores * 100. Same 0 KB traffic: 256e3 spare beats 25.6e3.
    const rows = normalizeLoads([load('big', 500, 100, 0), load('small', 500, 100, 0, small)]);
    expect(rows[0]).toMatchObject({ nc: 0, nn: 0 });
    expect(rows[1]).toMatchObject({ nc: 100, nn: 100 });
  });

  it('runs the whole Fig. 5(a) pipeline from two stages of samples', () => {
    const flat = (m: number, c: number, n: number) => [{ availableMemoryKb: m, cpuIdlePct: c, networkKb: n }];
    const rows = realServerConditions([
      { server: 'Web', vms: 0, capacity: testbed, previous: flat(4000, 300, 100), current: flat(5000, 350, 100) },
      { server: 'Mail', vms: 1, capacity: testbed, previous: flat(4000, 300, 100), current: flat(3000, 250, 900) },
    ]);
    expect(rows).toEqual([
      { server: 'Web', vms: 0, nm: 0, nc: 0, nn: 0 },
      { server: 'Mail', vms: 1, nm: 100, nc: 100, nn: 100 },
    ]);
    expect(chooseHost(rows, 'CPU')).toBe('Web');
  });

  it('rejects duplicate server rows', () => {
    expect(() => normalizeLoads([load('A', 1, 1, 1), load('A', 2, 2, 2)])).toThrow(/"A" appears twice/);
  });

  it('property: normalized values always lie in [0, 100]', () => {
    const cap = fc.record({
      physicalMemoryKb: fc.integer({ min: 1, max: 64 * 1024 * 1024 }),
      cpuCores: fc.integer({ min: 1, max: 64 }),
      ratedTransferKbPerS: fc.integer({ min: 1, max: 10_000_000 }),
    });
    const stage = fc.record({
      memoryKb: fc.double({ min: -1e9, max: 1e9, noNaN: true }),
      cpuPct: fc.double({ min: -1e5, max: 1e5, noNaN: true }),
      networkKb: fc.double({ min: -1e9, max: 1e9, noNaN: true }),
    });
    const server = fc.record({ cap, prev: stage, cur: stage, vms: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(server, { minLength: 1, maxLength: 12 }), (xs) => {
        const rows = normalizeLoads(
          xs.map((x, i) => ({
            server: `S${i}`,
            vms: x.vms,
            capacity: x.cap,
            predicted: predictedLoad(x.cur, x.prev, x.cap),
          })),
        );
        for (const r of rows) {
          for (const v of [r.nm, r.nc, r.nn]) {
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(100);
          }
        }
      }),
    );
  });
});

describe('Fig. 2 and Fig. 6: ring assignment from the group file', () => {
  it('six servers: S1 manages S2 with P1 and S6 with P2; S2 is managed by S1 (P1) and S3 (P2)', () => {
    const rows = operationRows(servers(6));
    expect(targetsOf(rows, 'S1').map((r) => [r.priority, r.target])).toEqual([
      ['P1', 'S2'],
      ['P2', 'S6'],
    ]);
    expect(managersOf(rows, 'S2').map((r) => [r.priority, r.manager])).toEqual([
      ['P1', 'S1'],
      ['P2', 'S3'],
    ]);
    expect(edges(rows, 'P1')).toEqual(['S1->S2', 'S2->S3', 'S3->S4', 'S4->S5', 'S5->S6', 'S6->S1']);
    expect(edges(rows, 'P2')).toEqual(['S1->S6', 'S2->S1', 'S3->S2', 'S4->S3', 'S5->S4', 'S6->S5']);
  });

  it('Fig. 6: mail manages web with P1 and login with P2, with each target\'s data file', () => {
    const rows = operationRows(groupFromHosts(['Login', 'Mail', 'Web', 'FTP', 'Print']));
    expect(targetsOf(rows, 'Mail')).toEqual([
      { priority: 'P1', manager: 'Mail', target: 'Web', dataFile: 'Web.dat' },
      { priority: 'P2', manager: 'Mail', target: 'Login', dataFile: 'Login.dat' },
    ]);
  });

  it('n = 1 gives no rows; n = 2 gives each server the other with P1 only (Table 1: one target)', () => {
    expect(operationRows(['S1'])).toEqual([]);
    expect(operationRows([])).toEqual([]);
    const two = operationRows(servers(2));
    expect(two.map((r) => `${r.priority} ${r.manager}->${r.target}`)).toEqual(['P1 S1->S2', 'P1 S2->S1']);
  });

  it.each([3, 4, 5, 6, 7])('n = %i: successor with P1, predecessor with P2, counts as Table 1', (n) => {
    const rows = operationRows(servers(n));
    expect(rows).toHaveLength(2 * n);
    for (let i = 1; i <= n; i++) {
      const next = S((i % n) + 1);
      const prev = S(((i - 2 + n) % n) + 1);
      expect(targetsOf(rows, S(i)).map((r) => [r.priority, r.target])).toEqual([
        ['P1', next],
        ['P2', prev],
      ]);
      expect(targetsOf(rows, S(i))).toHaveLength(targetsPerManagementServer(n, 'P2P'));
    }
  });

  it('rejects a host listed twice and a failed host not in the group', () => {
    expect(() => operationRows(['A', 'B', 'A'])).toThrow(/line 3: host "A" is listed twice/);
    expect(() => extendedOperationRows(servers(3), ['S9'])).toThrow(/"S9" .* not in the group/);
  });

  it('property: for n in 3..12 every server has two targets and one P1 and one P2 manager', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 12 }), (n) => {
        assertFullRing(operationRows(servers(n)), servers(n));
      }),
    );
  });
});

describe('Figs. 8-10: dynamic management extension', () => {
  const six = servers(6);

  it('Fig. 8 (four servers), S2 down: S1 manages S3 with P1 and S3 manages S1 with P2', () => {
    const rows = extendedOperationRows(servers(4), ['S2']);
    expect(edges(rows, 'P1')).toContain('S1->S3');
    expect(edges(rows, 'P2')).toContain('S3->S1');
  });

  it('Fig. 9(a), S2 down: S1 takes S3 with P1, S3 watches S1 with P2', () => {
    const rows = extendedOperationRows(six, ['S2']);
    expect(edges(rows, 'P1')).toEqual(['S1->S3', 'S3->S4', 'S4->S5', 'S5->S6', 'S6->S1']);
    expect(edges(rows, 'P2')).toEqual(['S1->S6', 'S3->S1', 'S4->S3', 'S5->S4', 'S6->S5']);
  });

  it('Fig. 9(b), S2 and S3 down: S1 manages S4 with P1 and S4 manages S1 with P2', () => {
    const rows = extendedOperationRows(six, ['S2', 'S3']);
    expect(edges(rows, 'P1')).toContain('S1->S4');
    expect(edges(rows, 'P2')).toContain('S4->S1');
    expect(rows.some((r) => r.target === 'S2' || r.target === 'S3')).toBe(false);
  });

  it('Fig. 9(c), S2 and S4 down: S1 and S5 both manage S3; then S3 down: S1 and S5 manage each other', () => {
    const first = extendedOperationRows(six, ['S2', 'S4']);
    expect(managersOf(first, 'S3').map((r) => `${r.priority} ${r.manager}`)).toEqual(['P1 S1', 'P2 S5']);
    const second = extendedOperationRows(six, ['S2', 'S4', 'S3']);
    expect(edges(second, 'P1')).toContain('S1->S5');
    expect(edges(second, 'P2')).toContain('S5->S1');
  });

  it('Fig. 10(a), S2 back while S3 is down: S4 manages S2 with P2, S1 stops managing S4 with P1', () => {
    const before = extendedOperationRows(six, ['S2', 'S3']);
    const after = extendedOperationRows(six, ['S3']);
    expect(edges(before, 'P1')).toContain('S1->S4');
    expect(edges(after, 'P1')).not.toContain('S1->S4');
    expect(edges(after, 'P1')).toContain('S2->S4');
    expect(edges(after, 'P2')).toContain('S4->S2');
  });

  it('Fig. 10(b), S1 back while S2 is down: S3 drops S6 (P2) and S6 drops S3 (P1)', () => {
    const before = extendedOperationRows(six, ['S1', 'S2']);
    expect(edges(before, 'P1')).toContain('S6->S3');
    expect(edges(before, 'P2')).toContain('S3->S6');
    const after = extendedOperationRows(six, ['S2']);
    expect(edges(after, 'P1')).not.toContain('S6->S3');
    expect(edges(after, 'P2')).not.toContain('S3->S6');
    expect(managersOf(after, 'S1').map((r) => `${r.priority} ${r.manager}`)).toEqual(['P1 S6', 'P2 S3']);
  });

  it('two survivors manage each other with P1; one survivor manages nobody', () => {
    expect(edges(extendedOperationRows(six, ['S2', 'S3', 'S4', 'S6']), 'P1')).toEqual(['S1->S5', 'S5->S1']);
    expect(extendedOperationRows(six, ['S1', 'S2', 'S3', 'S4', 'S6'])).toEqual([]);
  });

  it('property: over any failed subset (at most n-1) with >= 3 survivors the ring stays full', () => {
    const arb = fc
      .integer({ min: 3, max: 12 })
      .chain((n) => fc.tuple(fc.constant(n), fc.subarray(servers(n), { maxLength: n - 1 })));
    fc.assert(
      fc.property(arb, ([n, failed]) => {
        const survivors = servers(n).filter((s) => !failed.includes(s));
        const rows = extendedOperationRows(servers(n), failed);
        if (survivors.length >= 3) assertFullRing(rows, survivors);
        else expect(rows).toHaveLength(survivors.length === 2 ? 2 : 0);
        expect(rows.every((r) => survivors.includes(r.manager) && survivors.includes(r.target))).toBe(true);
      }),
    );
  });
});

describe('Tables 1 and 2: P2P against MSBS', () => {
  it('Table 1: P2P manages 1 target with 2 servers and 2 from 3 on; MSBS manages all n', () => {
    expect([2, 3, 4, 10, 50].map((n) => targetsPerManagementServer(n, 'P2P'))).toEqual([1, 2, 2, 2, 2]);
    expect([2, 3, 4, 10, 50].map((n) => targetsPerManagementServer(n, 'MSBS'))).toEqual([2, 3, 4, 10, 50]);
  });

  // The printed row, literally: 1 up to n/2, then n/2+k -> k+1, and n-1 -> n-1 (which wins where
  // the two columns coincide, see ring.ts).
  const printedP2P = (n: number, f: number) => (f === n - 1 ? n - 1 : f <= n / 2 ? 1 : f - n / 2 + 1);

  it.each([4, 6, 8, 10])('Table 2, n = %i: the even-spread formula reproduces every printed column', (n) => {
    for (let f = 1; f <= n - 1; f++) {
      expect(maxVmStartsPerManagementServer(n, f, 'P2P')).toBe(printedP2P(n, f));
      expect(maxVmStartsPerManagementServer(n, f, 'MSBS')).toBe(f);
    }
  });

  it('Table 2: P2P starts fewer than MSBS beyond n/2 failures except at n-1; §3.3: 5 of 6 down -> 5', () => {
    expect(maxVmStartsPerManagementServer(6, 5, 'P2P')).toBe(5);
    for (let n = 4; n <= 30; n++) {
      for (let f = Math.floor(n / 2) + 1; f < n - 1; f++) {
        expect(maxVmStartsPerManagementServer(n, f, 'P2P')).toBeLessThan(maxVmStartsPerManagementServer(n, f, 'MSBS'));
      }
      expect(maxVmStartsPerManagementServer(n, n - 1, 'P2P')).toBe(n - 1);
    }
    expect(() => maxVmStartsPerManagementServer(6, 6, 'P2P')).toThrow(/at most n-1 = 5/);
  });

  it('property: placing VMs by non-select value spreads them as Table 2 predicts', () => {
    const arb = fc.integer({ min: 2, max: 12 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.integer({ min: 1, max: n - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })), {
          minLength: n,
          maxLength: n,
        }),
        fc.constantFrom(...SERVER_TYPES),
      ),
    );
    fc.assert(
      fc.property(arb, ([n, f, loads, type]) => {
        // Survivors are the first n-f servers; every failure needs one virtual server.
        const rows: RealServerCondition[] = loads.slice(0, n - f).map(([nm, nc, nn], i) => ({ server: S(i + 1), vms: 0, nm, nc, nn }));
        for (let k = 0; k < f; k++) {
          const host = chooseHost(rows, type)!;
          rows.find((r) => r.server === host)!.vms += 1;
        }
        expect(Math.max(...rows.map((r) => r.vms))).toBe(maxVmStartsPerManagementServer(n, f, 'P2P'));
      }),
    );
  });
});

describe('Fig. 13: analytical times eq. (10)-(18) from Table 3', () => {
  it('reproduces every printed analytical time for FTP', () => {
    const a = fig13Analytical(timingFor('ftp'));
    for (const row of FIG13_ROWS) {
      const printed = fig13Printed[row];
      expect(printed.analyticalS, row).not.toBeNull();
      expect(a[row].centerS, row).toBeCloseTo(printed.analyticalS!, 2);
      expect(a[row].plusMinusS, row).toBe(printed.plusMinusS);
    }
  });

  it('puts every measured disconnection time inside its analytical range', () => {
    const a = fig13Analytical();
    for (const row of ['ts1c', 'ts2c', 'tn1c', 'tn2c'] as const) {
      const m = fig13Printed[row].measuredS!;
      expect(Math.abs(m - a[row].centerS), row).toBeLessThanOrEqual(a[row].plusMinusS);
    }
  });

  it('Trc is about 1.5 Ttr (Table 3)', () => {
    expect(Math.abs(trcS - 1.5 * trrS)).toBeLessThan(0.5);
  });

  it('Fig. 12 log: function back 7.09 s after detection, like Tn2f', () => {
    const dt = clockToS(fig12Log.serverFunctionRecovered) - clockToS(fig12Log.p1DetectsNetworkTrouble);
    expect(dt).toBeCloseTo(7.09, 2);
  });
});

/** Every member has exactly a P1 and a P2 target, and is the target of exactly one P1 and one P2. */
function assertFullRing(rows: readonly OperationRow[], members: readonly string[]): void {
  expect(rows).toHaveLength(2 * members.length);
  for (const s of members) {
    expect(targetsOf(rows, s).map((r) => r.priority)).toEqual(['P1', 'P2']);
    expect(managersOf(rows, s).map((r) => r.priority)).toEqual(['P1', 'P2']);
    const [t1, t2] = targetsOf(rows, s);
    expect(t1.target).not.toBe(s);
    expect(t2.target).not.toBe(s);
    expect(t1.target).not.toBe(t2.target);
  }
}

describe('bestHost: the first of rankHosts(realServerConditions(...)) without ranking every server', () => {
  it('same host and same value on random servers (equal loads and ties included)', () => {
    const sample = fc.record({
      availableMemoryKb: fc.constantFrom(0, 1e6, 4e6, 7.5e6),
      cpuIdlePct: fc.constantFrom(0, 50, 100, 400, 799),
      networkKb: fc.constantFrom(0, 10, 1e5, 3e5),
    });
    const capacity = fc.record({ physicalMemoryKb: fc.constantFrom(8e6, 16e6), cpuCores: fc.constantFrom(4, 8), ratedTransferKbPerS: fc.constantFrom(128e3, 1e4) });
    const server = fc.record({ vms: fc.nat({ max: 3 }), capacity, previous: fc.array(sample, { minLength: 1, maxLength: 3 }), current: fc.array(sample, { minLength: 1, maxLength: 3 }) });
    fc.assert(fc.property(fc.array(server, { minLength: 1, maxLength: 12 }), fc.constantFrom(...SERVER_TYPES), (xs, type) => {
      const stages = xs.map((x, i) => ({ server: `s${(i * 7) % 13}`, ...x }));
      const want = rankHosts(realServerConditions(stages), type)[0];
      const got = bestHost(stages.map((s) => ({ server: s.server, vms: s.vms, headroom: headroom(s) })), type);
      expect(got).toStrictEqual(want);
    }), fcParams(500));
  });
  it('no candidate: none', () => {
    expect(bestHost([], 'CPU')).toBeUndefined();
  });
});

describe('HeadroomIndex: bestHost over servers grouped by equal headroom', () => {
  it('after random sets and removals, best equals bestHost over every eligible server (random eligibility and VM counts)', () => {
    const names = Array.from({ length: 12 }, (_, i) => `s${(i * 5) % 12}`);
    const h = fc.record({ mem: fc.constantFrom(0, 1e6, 2e6), cpu: fc.constantFrom(0, 400, 800), net: fc.constantFrom(1e5, 2.5e5) });
    const step = fc.tuple(fc.constantFrom(...names), fc.option(h, { nil: null }));
    fc.assert(fc.property(fc.array(step, { maxLength: 40 }), fc.array(fc.constantFrom(...names), { maxLength: 12 }), fc.array(fc.tuple(fc.constantFrom(...names, 'zz'), fc.nat({ max: 2 })), { maxLength: 5 }), fc.constantFrom(...SERVER_TYPES), (steps, ineligible, vmList, type) => {
      const ix = new HeadroomIndex();
      const model = new Map<string, Headroom>();
      for (const [s, x] of steps) {
        ix.set(s, x);
        if (x === null) model.delete(s);
        else model.set(s, x);
      }
      const out = new Set(ineligible);
      const vms = new Map(vmList);
      const eligible = (s: string) => !out.has(s);
      const want = bestHost([...model].filter(([s]) => eligible(s)).map(([s, x]) => ({ server: s, vms: vms.get(s) ?? 0, headroom: x })), type);
      expect(ix.best(eligible, vms, type)).toStrictEqual(want);
    }), fcParams(1000));
  });
});
