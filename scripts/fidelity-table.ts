// The README's fidelity table from the conformance suite's report, never by hand.
//
//   node bin/tsnode.js scripts/fidelity-table.ts [--from out/conform-suite] [--check]
//
// --from DIR: collect the suite's results (DIR/suite-<scenario>.json, written by the live lab
// tests through test/helpers/live/conform-suite.ts) into docs/conform-suite.json first. Then the
// table that experiments/conform-suite.ts makes from docs/conform-suite.json is written into
// README.md between its markers; --check only says whether README.md has it (exit 1 if not).
// test/fidelity-table.test.ts checks that README.md has it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../adapters/lab/schema.ts';
import { fidelityTable, liveScenarioFiles, replaceTable, type SuiteEntry, type SuiteReport } from '../experiments/conform-suite.ts';

export const REPORT_FILE = join(REPO_DIR, 'docs/conform-suite.json');
const README = join(REPO_DIR, 'README.md');

/** The suite's results in `dir` as one report (entries in scenario-file order). */
export function collectSuite(dir: string): SuiteReport {
  const parts = readdirSync(dir).filter((f) => /^suite-.*\.json$/.test(f)).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { source: string; entry: SuiteEntry });
  if (parts.length === 0) throw new Error(`no suite results (suite-*.json) in ${dir}: run the live lab tests first`);
  const entries = parts.map((p) => p.entry).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { source: [...new Set(parts.map((p) => p.source))].join('; '), entries };
}

/** README.md's text with the table made from `report`. */
export function readmeWithTable(readme: string, report: SuiteReport): string {
  return replaceTable(readme, fidelityTable(report, liveScenarioFiles(REPO_DIR)));
}

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

if (process.argv[1] && /fidelity-table\.ts$/.test(process.argv[1])) process.exitCode = main(process.argv.slice(2));
