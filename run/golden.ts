// Golden traces: test/golden/<case>/scenario.yaml is replayed (seed from its `seed`, default 1;
// until its `until`, which a golden case must have) and compared byte for byte with
// trace.expect.ndjson. Shared by test/golden.test.ts and scripts/golden-update.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSimulation, readScenario } from './sim.ts';
import { toNdjson } from '../trace/ndjson.ts';

export const GOLDEN_DIR = fileURLToPath(new URL('../test/golden/', import.meta.url));
export const SCENARIO_FILE = 'scenario.yaml';
export const EXPECT_FILE = 'trace.expect.ndjson';

/** Names of the golden cases (directories holding a scenario.yaml), sorted. */
export function goldenCases(): string[] {
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(GOLDEN_DIR, d.name, SCENARIO_FILE)))
    .map((d) => d.name)
    .sort();
}

export const scenarioPath = (name: string): string => join(GOLDEN_DIR, name, SCENARIO_FILE);
export const expectPath = (name: string): string => join(GOLDEN_DIR, name, EXPECT_FILE);

/** Replays a case in the default (skipping) watch mode and returns its NDJSON trace. */
export function renderGolden(name: string): string {
  const scenario = readScenario(scenarioPath(name));
  if (scenario.until === undefined) throw new Error(`${scenarioPath(name)}: a golden case needs "until"`);
  const sim = buildSimulation(scenario, { seed: scenario.seed ?? 1 });
  sim.run();
  return toNdjson(sim.events);
}

export function readExpected(name: string): string | null {
  const p = expectPath(name);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** A readable account of the first differing line of two traces, or null when equal. */
export function describeTraceDiff(expected: string, actual: string): string | null {
  if (expected === actual) return null;
  const lines = (text: string) => (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const a = lines(expected);
  const b = lines(actual);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return [
        `first difference at line ${i + 1} (expected ${a.length} lines, got ${b.length}):`,
        `  expected: ${a[i] ?? '<end of trace>'}`,
        `  actual:   ${b[i] ?? '<end of trace>'}`,
      ].join('\n');
    }
  }
  return 'the traces differ only in line endings';
}
