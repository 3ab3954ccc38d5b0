// The README's fidelity table is what scripts/fidelity-table.ts makes from the committed suite
// report (docs/conform-suite.json), never a hand-typed table; and the suite's rule puts every
// live scenario on exactly one lab.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR } from '../adapters/lab/schema.ts';
import { collectSuite, fidelityTable, gapsOf, GAPS_FILE, liveScenarioFiles, parseGaps, readmeWithTable, replaceTable, REPORT_FILE, suitePlan, tableIn, TABLE_END, TABLE_START, type SuiteEntry, type SuiteReport } from '../experiments/conform-suite.ts';
import { repeatConform } from '../experiments/conform.ts';

const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');

function entry(file: string, live: number, sim: number): SuiteEntry {
  const rep = repeatConform(file.replace(/^.*\/|\.yaml$/g, ''), 'p2p-mini', [[{ metric: 'function recovery s', server: 'FTP', live, sim: null }]], [[{ metric: 'function recovery s', server: 'FTP', live: null, sim }]]);
  return { ...rep, file, wallS: 12.5, load: [3.5, 2, 1] };
}

describe('the README\'s fidelity table', () => {
  it('is the table the committed suite report makes (run node bin/tsnode.js scripts/fidelity-table.ts after a suite run)', () => {
    const report = JSON.parse(readFileSync(REPORT_FILE, 'utf8')) as SuiteReport;
    expect(report.entries.length).toBeGreaterThan(0);
    expect(readmeWithTable(readme, report)).toBe(readme);
    // Each scenario the report has is a live scenario file of this repository.
    const files = liveScenarioFiles(REPO_DIR);
    for (const e of report.entries) expect(files, e.file).toContain(e.file);
  });

  it('every timed row of the committed report outside 10 % has what was measured about it, and no explanation names a row that is not outside', () => {
    const report = JSON.parse(readFileSync(REPORT_FILE, 'utf8')) as SuiteReport;
    const { outside, stale } = gapsOf(report, parseGaps(readFileSync(GAPS_FILE, 'utf8')));
    expect(outside.filter((o) => o.gap === null).map((o) => `${o.scenario} | ${o.row} | ${o.server} (${o.errPct} %)`)).toEqual([]);
    expect(stale.map((g) => `${g.scenario} | ${g.row} | ${g.server}`)).toEqual([]);
    // Each names a file of this repository that writes the measurement up.
    for (const g of parseGaps(readFileSync(GAPS_FILE, 'utf8'))) expect(existsSync(join(REPO_DIR, g.see.split(/\s/)[0])), g.see).toBe(true);
  });

  it('a scenario the report lacks is listed as not run; the numbers are the report\'s', () => {
    const t = fidelityTable({ source: 'a test', entries: [entry('experiments/scenarios/live-x.yaml', 2, 2.2)] }, ['experiments/scenarios/live-x.yaml', 'experiments/scenarios/live-y.yaml']);
    expect(t).toContain('| live-x | p2p-mini | 1 | 3.5 | 1 | 10 | 1 | — | function recovery s (FTP) 10 % |');
    expect(t).toContain('| live-y | — | 0 | — | — | not run by the suite yet | — | — | — |');
    expect(t).toContain('| live-x | function recovery s | FTP | 2 | 2–2 | 2.2 | 10 |');
  });

  it('lists every timed row outside 10 % with what was measured about it, or says it is not explained yet; a gap whose row is back within 10 % is stale', () => {
    const report: SuiteReport = { source: 'a test', entries: [entry('experiments/scenarios/live-x.yaml', 2, 2.5), entry('experiments/scenarios/live-y.yaml', 2, 2.1), entry('experiments/scenarios/live-z.yaml', 2, 1.5)] };
    const gaps = parseGaps([
      '- { scenario: live-x, row: function recovery s, server: FTP, cause: "live\'s guest agent took 0.6 s against calibrate\'s 0.2 s", see: docs/fidelity.md §4 }',
      '- { scenario: live-y, row: function recovery s, server: FTP, cause: "a gap of 5 % that is no longer outside at all here", see: docs/fidelity.md §4 }',
    ].join('\n'), 'gaps.yaml');
    const { outside, stale } = gapsOf(report, gaps);
    // live-x +25 % (explained), live-z -25 % (not); live-y +5 % is within 10 %, so its entry is stale.
    expect(outside.map((o) => [o.scenario, o.errPct, o.gap?.scenario ?? null])).toEqual([['live-x', 25, 'live-x'], ['live-z', -25, null]]);
    expect(stale.map((g) => g.scenario)).toEqual(['live-y']);
    const t = fidelityTable(report, report.entries.map((e) => e.file), gaps);
    expect(t).toContain('| live-x | p2p-mini | 1 | 3.5 | 1 | 25 | 0 | 1 of 1 | function recovery s (FTP) 25 % |');
    expect(t).toContain('| live-y | p2p-mini | 1 | 3.5 | 1 | 5 | 1 | — | function recovery s (FTP) 5 % |');
    expect(t).toContain('| live-x | function recovery s | FTP | 25 | live\'s guest agent took 0.6 s against calibrate\'s 0.2 s (docs/fidelity.md §4) |');
    expect(t).toContain('| live-z | function recovery s | FTP | -25 | not explained yet |');
  });

  it('a gap entry says what was measured, with its numbers and where it is written up; each row once', () => {
    const one = (cause: string, see = 'docs/fidelity.md §4') => `- { scenario: live-x, row: r, server: s, cause: "${cause}", see: "${see}" }`;
    expect(() => parseGaps(one('the machine was slower than at calibration time, surely'), 'g')).toThrow(/its numbers/);
    expect(() => parseGaps(one('short 1'), 'g')).toThrow(/g: entry 1 cause: /);
    expect(() => parseGaps(one('live took 0.6 s against the sim\'s 0.2 s in both runs', 'somewhere'), 'g')).toThrow(/written up/);
    expect(() => parseGaps([one('live took 0.6 s against the sim\'s 0.2 s in both runs'), one('live took 0.6 s against the sim\'s 0.2 s in both runs')].join('\n'), 'g')).toThrow(/twice/);
    expect(() => parseGaps(one('live took 0.6 s | the sim 0.2 s, in both of the runs'), 'g')).toThrow(/table cell/);
  });

  it('is written between its markers only; markers missing or twice are an error', () => {
    const text = `a\n${TABLE_START}\nold\n${TABLE_END}\nb\n`;
    const out = replaceTable(text, 'new table');
    expect(out).toBe(`a\n${TABLE_START}\nnew table\n${TABLE_END}\nb\n`);
    expect(tableIn(out)).toBe('new table');
    expect(() => replaceTable('no markers', 'x')).toThrow(/markers/);
    expect(() => replaceTable(`${text}${TABLE_START}`, 'x')).toThrow(/once/);
  });

  it('collects the suite\'s result files in scenario-file order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-suite-'));
    try {
      writeFileSync(join(dir, 'suite-b.json'), JSON.stringify({ source: 's1', entry: entry('experiments/scenarios/live-b.yaml', 1, 1) }));
      writeFileSync(join(dir, 'suite-a.json'), JSON.stringify({ source: 's1', entry: entry('experiments/scenarios/live-a.yaml', 1, 1) }));
      const r = collectSuite(dir);
      expect(r.entries.map((e) => e.file)).toEqual(['experiments/scenarios/live-a.yaml', 'experiments/scenarios/live-b.yaml']);
      expect(r.source).toBe('s1');
      rmSync(join(dir, 'suite-a.json'));
      rmSync(join(dir, 'suite-b.json'));
      expect(() => collectSuite(dir)).toThrow(/no suite results/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the suite\'s rule: a live scenario runs on the lab whose hosts include all of its own', () => {
  it('every live scenario has exactly one lab', () => {
    const plan = suitePlan(REPO_DIR);
    expect([...plan.values()].flat().sort()).toEqual(liveScenarioFiles(REPO_DIR));
    expect(plan.get('experiments/labs/p2p-mini.yaml')).toContain('experiments/scenarios/live-p2p-nt2.yaml');
    expect(plan.get('experiments/labs/p2p-mini.yaml')).toContain('experiments/scenarios/live-failover-nt2.yaml');
    expect(plan.get('experiments/labs/lb-mini.yaml')).toEqual(['experiments/scenarios/live-lb-faults.yaml', 'experiments/scenarios/live-lb-kill.yaml']);
  });
});
