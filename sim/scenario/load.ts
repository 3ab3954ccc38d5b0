// Reads a scenario file: YAML -> zod. Every problem is reported with the file, line, field and
// what was expected; nothing runs on an invalid file.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Node } from 'yaml';
import type { z } from 'zod';
import { scenarioSchema, type Scenario } from './schema.ts';

export interface Problem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

export class ScenarioError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export type ExtraCheck<T> = (value: T) => Array<{ path: (string | number)[]; message: string }>;

/**
 * Parses YAML text against a zod schema (then `extra` checks), mapping each issue to a line of
 * the text.
 */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, file: string, extra?: ExtraCheck<z.output<S>>): z.output<S> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (offset: number) => lc.linePos(offset);
  if (doc.errors.length > 0) {
    throw new ScenarioError(doc.errors.map((e) => {
      const { line, col } = at(e.pos[0]);
      return { file, line, column: col, field: '', message: `YAML: ${e.message.split('\n')[0]}` };
    }));
  }
  const result = schema.safeParse(doc.toJS());
  const issues: Array<{ path: (string | number)[]; message: string }> = result.success
    ? (extra?.(result.data) ?? [])
    : result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((k) => ({ path: [...(issue.path as (string | number)[]), k], message: `unknown field "${k}"` }))
          : [{ path: issue.path as (string | number)[], message: describeIssue(issue) }]);
  if (result.success && issues.length === 0) return result.data;
  const problems = issues.map(({ path, message }): Problem => {
    // Walk down as far as the document has nodes: a missing field points at its parent.
    let node: unknown = undefined;
    for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
    const range = isNode(node) ? (node as Node).range : undefined;
    const { line, col } = at(range ? range[0] : 0);
    return { file, line, column: col, field: path.join('.'), message };
  });
  throw new ScenarioError(problems);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray((issue as { options?: unknown[] }).options)) {
    const opts = (issue as unknown as { options: unknown[] }).options;
    return `unknown ${String((issue as unknown as { discriminator?: string }).discriminator ?? 'kind')}: expected one of ${opts.map(String).join(', ')}`;
  }
  if (issue.code === 'invalid_union') return 'expected seconds (a number, or a string like "10s") or a distribution such as {kind: normal, mean: 4.67, sd: 0.3} (kinds: constant, uniform, normal, exponential, lognormal, empirical)';
  return issue.message;
}

export function loadScenarioText(text: string, file = '<scenario>', extra?: ExtraCheck<Scenario>): Scenario {
  return parseYamlWith(scenarioSchema, text, file, extra);
}

export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioError([{ file: path, line: 0, column: 0, field: '', message: `cannot read: ${(e as Error).message}` }]);
  }
}

export function loadScenario(path: string, extra?: ExtraCheck<Scenario>): Scenario {
  return loadScenarioText(readTextFile(path), path, extra);
}
