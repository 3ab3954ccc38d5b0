// Golden traces: each test/golden/<case>/scenario.yaml replays to exactly its
// trace.expect.ndjson. After a reviewed change of the model or a policy, regenerate them with
// `npm run golden:update` and read the diff before committing.
import { describe, expect, it } from 'vitest';
import { describeTraceDiff, expectPath, goldenCases, readExpected, renderGolden } from '../run/golden.ts';
import { parseNdjson } from '../trace/metrics.ts';

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

describe('golden traces read right', () => {
  const trace = (name: string) => parseNdjson(readExpected(name) ?? '');
  const first = (name: string, kind: string) => trace(name).find((e) => e.kind === kind)?.t;

  it('demo-st2: detected at the 70 s probe, function back in seconds, web1 rebooted and back', () => {
    expect(first('demo-st2', 'trouble.detected')).toBe(73_000_000);
    expect(first('demo-st2', 'function.recovered')! - 73_000_000).toBeLessThan(10_000_000);
    expect(trace('demo-st2').filter((e) => e.kind === 'target.recovered').map((e) => e.data?.how)).toEqual(['fallback']);
  });

  it('st1-service-restart: a daemon restart is enough (no backup VM is resumed)', () => {
    const t = trace('st1-service-restart');
    expect(t.some((e) => e.kind === 'vm.state' && e.data?.state === 'resuming')).toBe(false);
    expect(t.filter((e) => e.kind === 'target.recovered').map((e) => e.data?.how)).toEqual(['service restart']);
  });

  // Regression (engine/policies/failover/failover.ts, fixed in 483d1a0): the wait loop used to
  // count only its 1 s sleeps, not the probes between them; a probe of a server that is off
  // lasts its whole timeout (3 s), so recoveryWait 5m lasted 20 min.
  it('demo-nt2: the manager gives up (target.down) one recovery wait (5 min) after failing over', () => {
    const recovered = first('demo-nt2', 'function.recovered')!;
    const down = first('demo-nt2', 'target.down');
    expect(down).toBeDefined();
    expect(down! - recovered).toBeLessThanOrEqual((300 + 3 + 1) * 1_000_000);
  });
});
