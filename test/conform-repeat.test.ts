// `hatwin conform --repeat N` statistics (experiments/conform.ts): each metric's mean and 95 %
// interval on both sides, the sim's error against live, the fidelity score, and the report.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformReport, isTimed, repeatConform, repeatMarkdown, type ConformRunRow } from '../experiments/conform.ts';
import { writeReport } from '../experiments/report.ts';

const run = (fr: number | null, disc: number, count: number, side: 'live' | 'sim'): ConformRunRow[] => [
  { metric: 'function recovery s (detection -> backup serving)', server: 'FTP', live: side === 'live' ? fr : null, sim: side === 'sim' ? fr : null },
  { metric: 'client disconnection s (total)', server: 'vip-ftp', live: side === 'live' ? disc : null, sim: side === 'sim' ? disc : null },
  { metric: 'client disconnections (count)', server: 'vip-ftp', live: side === 'live' ? count : null, sim: side === 'sim' ? count : null },
];

describe('conform --repeat statistics', () => {
  const live = [run(2.0, 5, 1, 'live'), run(2.2, 6, 1, 'live'), run(2.4, 4, 1, 'live')];
  const sim = [run(2.1, 6, 1, 'sim'), run(2.1, 6, 1, 'sim'), run(null, 6, 1, 'sim')];
  const r = repeatConform('live-p2p-nt2', 'p2p-mini', live, sim);
  const row = (m: string) => r.rows.find((x) => x.metric.startsWith(m))!;

  it('means and Student-t intervals per side; a run without the metric is left out', () => {
    const fr = row('function recovery');
    expect(fr.live).toBeCloseTo(2.2, 9);
    expect(fr.liveN).toBe(3);
    // sd 0.2, t(2) = 4.303: half-width 0.4969
    expect(fr.liveCi95![0]).toBeCloseTo(2.2 - 0.497, 3);
    expect(fr.liveCi95![1]).toBeCloseTo(2.2 + 0.497, 3);
    expect(fr.sim).toBe(2.1);
    expect(fr.simN).toBe(2);
    expect(fr.simCi95).toEqual([2.1, 2.1]);
    expect(fr.errPct).toBeCloseTo(-4.5, 1);
  });

  it('the fidelity score is the mean |error| of the timed metrics, counts left out', () => {
    expect(isTimed('fault -> detection s')).toBe(true);
    expect(isTimed('client disconnection s (total)')).toBe(true);
    expect(isTimed('client disconnections (count)')).toBe(false);
    expect(isTimed('takeover s')).toBe(true);
    expect(row('client disconnection s').errPct).toBe(20);
    expect(r.fidelity).toEqual({ timedMetrics: 2, meanAbsErrPct: round((4.5 + 20) / 2), within10Pct: 1 });
    expect(r.repeat).toBe(3);
  });

  it('writes a report with a live and a sim row per metric (JSON, CSV, MD, SVG)', () => {
    const rep = conformReport(r);
    expect(rep.rows.filter((x) => x.server === 'live')).toHaveLength(3);
    expect(rep.rows.filter((x) => x.server === 'sim')).toHaveLength(3);
    const simFr = rep.rows.find((x) => x.server === 'sim' && x.metric === 'functionRecoveryS')!;
    expect(simFr.paper).toBeCloseTo(2.2, 9);
    expect(rep.notes![0]).toMatch(/Fidelity score .*12\.\d % over 2 metrics, 1 within 10 %/);
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-conform-'));
    try {
      const files = writeReport(rep, dir);
      expect(files.map((f) => f.split('.').pop()).sort()).toEqual(['csv', 'json', 'md', 'svg']);
      const svg = readFileSync(files.find((f) => f.endsWith('.svg'))!, 'utf8');
      expect(svg).toMatch(/^<svg /);
      expect(svg).toContain('FTP live functionRecovery');
      expect(svg).toContain('live mean');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a table with both intervals and the score', () => {
    const md = repeatMarkdown(r);
    expect(md).toMatch(/Fidelity score .*: 12\.\d % over 2 timed metrics \(1 within 10 %\)/);
    expect(md).toContain('| function recovery s (detection -> backup serving) | FTP | 2.2 | 1.703–2.697 | 2.1 | 2.1–2.1 | -4.5 |');
  });

  it('load-balancer rows keep their fault apart', () => {
    const lb = repeatConform('live-lb', 'lb-mini', [[{ fault: 'Nt2 ms1', metric: 'takeover s', server: 'ms2', live: 3.1, sim: null }], [{ fault: 'St1 ms1', metric: 'takeover s', server: 'ms2', live: 0.6, sim: null }]], [[{ fault: 'Nt2 ms1', metric: 'takeover s', server: 'ms2', live: null, sim: 3.2 }]]);
    expect(lb.rows.map((x) => [x.fault, x.live, x.sim])).toEqual([['Nt2 ms1', 3.1, 3.2], ['St1 ms1', 0.6, null]]);
  });
});

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
