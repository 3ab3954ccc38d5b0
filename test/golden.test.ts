// Golden traces: each test/golden/<case>/scenario.yaml replays to exactly its
// trace.expect.ndjson. After a reviewed change of the model or a policy, regenerate them with
// `npm run golden:update` and read the diff before committing.
import { describe, expect, it } from 'vitest';
import { describeTraceDiff, expectPath, goldenCases, readExpected, renderGolden } from './helpers/golden.ts';

const cases = goldenCases();

describe('golden traces', () => {
  it('has the cases the design promises', () => {
    for (const c of ['demo-st2', 'demo-nt2', 'st1-service-restart', 'partition-oneway', 'pause-and-resume']) expect(cases).toContain(c);
  });

  for (const name of cases) {
    it(`${name} replays to its expected trace`, () => {
      const expected = readExpected(name);
      expect(expected, `${expectPath(name)} is missing: run npm run golden:update ${name}`).not.toBeNull();
      const diff = describeTraceDiff(expected!, renderGolden(name));
      expect(diff, `${name}: ${diff}\n(if the change is intended: npm run golden:update ${name})`).toBeNull();
    });
  }
});

describe('golden trace diff message', () => {
  it('names the first differing line with both versions', () => {
    const expected = '{"t":0,"kind":"a","subject":"x"}\n{"t":5,"kind":"b","subject":"x"}\n';
    const actual = '{"t":0,"kind":"a","subject":"x"}\n{"t":6,"kind":"b","subject":"x"}\n';
    expect(describeTraceDiff(expected, actual)).toBe(
      'first difference at line 2 (expected 2 lines, got 2):\n' +
        '  expected: {"t":5,"kind":"b","subject":"x"}\n' +
        '  actual:   {"t":6,"kind":"b","subject":"x"}',
    );
    expect(describeTraceDiff(expected, expected.split('\n')[0] + '\n')).toContain('actual:   <end of trace>');
    expect(describeTraceDiff(expected, expected)).toBeNull();
  });
});
