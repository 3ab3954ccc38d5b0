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
import { collectSuite, readmeWithTable, REPORT_FILE, type SuiteReport } from '../experiments/conform-suite.ts';

const README = join(REPO_DIR, 'README.md');

function main(argv: string[]): number {
  const from = argv.includes('--from') ? argv[argv.indexOf('--from') + 1] : undefined;
  if (from !== undefined) {
    const report = collectSuite(from);
    writeFileSync(REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${REPORT_FILE} (${report.entries.length} scenarios)`);
  }
  const report = JSON.parse(readFileSync(REPORT_FILE, 'utf8')) as SuiteReport;
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
