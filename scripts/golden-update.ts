// Regenerates every golden trace: test/golden/<case>/trace.expect.ndjson from its scenario.yaml.
// Run it only on purpose, after reviewing why a trace changed: npm run golden:update [case...]
import { writeFileSync } from 'node:fs';
import { describeTraceDiff, expectPath, goldenCases, readExpected, renderGolden } from '../run/golden.ts';

const wanted = process.argv.slice(2);
const all = goldenCases();
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`no golden case ${unknown.map((u) => `"${u}"`).join(', ')} (cases: ${all.join(', ')})`);
  process.exit(2);
}
let changed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  const actual = renderGolden(name);
  const before = readExpected(name);
  if (before === actual) {
    console.log(`unchanged  ${name}`);
    continue;
  }
  writeFileSync(expectPath(name), actual);
  changed++;
  if (before === null) console.log(`created    ${name} (${actual.split('\n').length - 1} lines)`);
  else console.log(`CHANGED    ${name}\n${describeTraceDiff(before, actual)!.replace(/^/gm, '           ')}`);
}
console.log(`${changed} of ${wanted.length > 0 ? wanted.length : all.length} golden traces written`);
