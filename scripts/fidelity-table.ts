// The README's fidelity table from the conformance suite's report, never by hand.
//
//   node bin/tsnode.js scripts/fidelity-table.ts [--from out/conform-suite] [--check]
//
// --from DIR: collect the suite's results (DIR/suite-<scenario>.json, written by the live lab
// tests through test/helpers/live/conform-suite.ts) into docs/conform-suite.json first. Then the
// table that experiments/conform-suite.ts makes from docs/conform-suite.json is written into
// README.md between its markers; --check only says whether README.md has it (exit 1 if not).
// test/fidelity-table.test.ts checks that README.md has it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../adapters/lab/schema.ts';
import { collectSuite, gapsOf, GAPS_FILE, parseGaps, readmeWithTable, REPORT_FILE, type SuiteReport } from '../experiments/conform-suite.ts';

const README = join(REPO_DIR, 'README.md');

function main(argv: string[]): number {
  const from = argv.includes('--from') ? argv[argv.indexOf('--from') + 1] : undefined;
  if (from !== undefined) {
    const report = collectSuite(from);
    writeFileSync(REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${REPORT_FILE} (${report.entries.length} scenarios)`);
  }
  const report = JSON.parse(readFileSync(REPORT_FILE, 'utf8')) as SuiteReport;
  // Every timed row outside 10 % wants its measured cause in experiments/fidelity-gaps.yaml
  // (test/fidelity-table.test.ts fails without one); entries whose row is back within 10 % go.
  const { outside, stale } = gapsOf(report, parseGaps(readFileSync(GAPS_FILE, 'utf8')));
  for (const o of outside.filter((x) => x.gap === null)) console.error(`not explained yet: ${o.scenario} | ${o.row} | ${o.server} (${o.errPct} %)`);
  for (const g of stale) console.error(`stale in ${GAPS_FILE}: ${g.scenario} | ${g.row} | ${g.server} (no such row outside 10 %)`);
  const before = readFileSync(README, 'utf8');
  const after = readmeWithTable(before, report);
  if (argv.includes('--check')) {
    if (after !== before) {
      console.error('README.md\'s fidelity table is not the one docs/conform-suite.json makes: run node bin/tsnode.js scripts/fidelity-table.ts');
      return 1;
    }
    return 0;
  }
  if (after !== before) writeFileSync(README, after);
  console.log(after !== before ? 'README.md: fidelity table written' : 'README.md: fidelity table unchanged');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
