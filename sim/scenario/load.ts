// Reads a scenario file: YAML -> zod. Every problem is reported with the file, line, field and
// what was expected; nothing runs on an invalid file. Bad input never crashes, hangs or blocks
// the reader: files are read with a size cap and only when they are regular files, text that is
// not UTF-8 is refused, YAML nesting and alias expansion are capped, and the error text is
// capped too (at most MAX_PROBLEMS_SHOWN lines of at most MAX_LINE_CHARS characters).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { LineCounter, parseDocument, isAlias, isCollection, isNode, isPair, isScalar, type Node, type Document } from 'yaml';
import type { z } from 'zod';
import { salvageScenario, scenarioProblems, scenarioSchema, type Scenario } from './schema.ts';
import { DIST_EXPECTED } from './units.ts';
import { parseFtaTrace, traceNodes } from './fta.ts';

/** The largest file (and text) a scenario or lab may be. */
export const MAX_FILE_BYTES = 1024 * 1024;
const MAX_FILE_TEXT = '1 MiB';
/** The deepest nesting of YAML collections (a scenario needs about 6). */
export const MAX_DEPTH = 64;
/**
 * The most values (scalars and collections) a document may hold once its aliases are expanded:
 * a "billion laughs" file exceeds it at once, while any file of MAX_FILE_BYTES without aliases
 * stays below (an alias shares its anchor's value: counting is linear in the file).
 */
export const MAX_VALUES = 500_000;
/** Problems printed in an error; the rest are counted. */
export const MAX_PROBLEMS_SHOWN = 50;
/** The longest line of an error. */
export const MAX_LINE_CHARS = 400;

export interface Problem {
  file: string;
  /** 1-based; 0 when the problem is with the file as a whole (it cannot be read). */
  line: number;
  column: number;
  field: string;
  message: string;
}

export class ScenarioError extends Error {
  constructor(readonly problems: Problem[]) {
    super(formatProblems(problems));
  }
}

const clip = (s: string, n: number): string => {
  const one = s.replace(/[\r\n]+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 3)}...` : one;
};

/** `file:line:col: field: message`, or `file: message` for a problem with the whole file. */
export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return clip(`${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`, MAX_LINE_CHARS);
}

/** One line per problem, at most MAX_PROBLEMS_SHOWN of them, then "... and K more". */
export function formatProblems(problems: Problem[]): string {
  const lines = problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
  if (problems.length > MAX_PROBLEMS_SHOWN) lines.push(`... and ${problems.length - MAX_PROBLEMS_SHOWN} more`);
  return lines.join('\n');
}

/** A problem at a path inside the document. */
export interface PathProblem {
  path: (string | number)[];
  message: string;
}

export type ExtraCheck<T> = (value: T) => PathProblem[];

// ---------- zod issues -> messages ----------

type Issue = z.core.$ZodIssue;

const lastKey = (path: PropertyKey[]): string => String(path[path.length - 1] ?? '');

/** An issue that says only "this value is of another type" (a union option that did not apply). */
function isTypeMismatch(issue: Issue): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === 'invalid_type') return true;
  if (issue.code === 'invalid_union') {
    const errors = (issue as { errors?: Issue[][] }).errors ?? [];
    return errors.length > 0 && errors.every((b) => b.length > 0 && b.every(isTypeMismatch));
  }
  return false;
}

const valueAt = (root: unknown, path: PropertyKey[]): unknown => {
  let v = root;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
};

/**
 * zod issues as problems with plain messages: one problem per unknown key ("unknown field"),
 * "missing field" for an absent required field, and a union that failed is described by the one
 * option that applied to the value (a distribution's kind, a duration string), else by what the
 * union accepts. `input` (the parsed document) gives values for messages; `base` prefixes paths.
 */
export function zodProblems(issues: readonly Issue[], input?: unknown, base: (string | number)[] = []): PathProblem[] {
  const out: PathProblem[] = [];
  const walk = (issue: Issue, prefix: (string | number)[]) => {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: [...path, k], message: `unknown field "${k}"` });
      return;
    }
    if (issue.code === 'invalid_union') {
      const u = issue as Issue & { errors?: Issue[][]; options?: unknown[]; discriminator?: string; note?: string };
      if (Array.isArray(u.options) && u.discriminator !== undefined) {
        const v = valueAt(input, path.slice(base.length));
        const opts = u.options.map(String).join(', ');
        out.push({ path, message: v === undefined ? `missing field "${lastKey(path)}" (one of: ${opts})` : `unknown ${lastKey(path) || u.discriminator} ${JSON.stringify(v)?.slice(0, 60) ?? String(v)}: expected one of ${opts}` });
        return;
      }
      const applied = (u.errors ?? []).filter((b) => !(b.length > 0 && b.every(isTypeMismatch)));
      if (applied.length === 1) {
        for (const i of applied[0]) walk(i, path);
        return;
      }
      out.push({ path, message: u.message && u.message !== 'Invalid input' ? u.message : DIST_EXPECTED });
      return;
    }
    if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
      out.push({ path, message: `missing field "${lastKey(path)}"` });
      return;
    }
    out.push({ path, message: issue.message.replace(/^Invalid input: /, '') });
  };
  for (const i of issues) walk(i, base);
  return out;
}

// ---------- YAML text -> JS, safely ----------

const ALLOWED_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));
const showTag = (t: string) => t.replace(/^tag:yaml\.org,2002:/, '!!');

/**
 * Walks the YAML tree without recursion: the first node nested deeper than MAX_DEPTH, explicit
 * tags other than the core ones, and aliases (for a position to blame when expansion fails).
 */
function checkTree(doc: Document): { deep?: Node; tags: Array<{ node: Node; tag: string }>; firstAlias?: Node } {
  const tags: Array<{ node: Node; tag: string }> = [];
  let firstAlias: Node | undefined;
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop()!;
    if (isPair(n)) {
      stack.push([n.value, depth], [n.key, depth]);
      continue;
    }
    if (!isNode(n)) continue;
    if (n.tag !== undefined && !ALLOWED_TAGS.has(n.tag)) tags.push({ node: n, tag: n.tag });
    if (isAlias(n)) firstAlias ??= n;
    if (isCollection(n)) {
      if (depth > MAX_DEPTH) return { deep: n, tags, firstAlias };
      for (let i = n.items.length - 1; i >= 0; i--) stack.push([n.items[i], depth + 1]);
    } else if (!isScalar(n) && !isAlias(n)) {
      // (no other node types)
    }
  }
  return { tags, firstAlias };
}

/**
 * Depth and expanded size of a JS value from YAML, where aliases share (or even cycle back to)
 * their anchor's value: 'cycle', or the depth and the number of values once expanded. Stops
 * early past MAX_DEPTH or MAX_VALUES. Linear in the number of distinct objects.
 */
function jsShape(root: unknown): { depth: number; values: number } | 'cycle' {
  const sizes = new Map<object, number>();
  const depth = jsDepth(root, sizes);
  if (depth === 'cycle' || depth > MAX_DEPTH) return depth === 'cycle' ? 'cycle' : { depth, values: 0 };
  return { depth, values: typeof root === 'object' && root !== null ? sizes.get(root) ?? 1 : 1 };
}

function jsDepth(root: unknown, sizes: Map<object, number>): number | 'cycle' {
  const done = new Map<object, number>();
  const open = new Set<object>();
  const stack: Array<{ v: object; kids: unknown[]; i: number; max: number; size: number }> = [];
  const enter = (v: unknown): [number, number] | 'cycle' | null => {
    if (typeof v !== 'object' || v === null) return [0, 1];
    const d = done.get(v);
    if (d !== undefined) return [d, sizes.get(v)!];
    if (open.has(v)) return 'cycle';
    open.add(v);
    const kids = v instanceof Map ? [...v.keys(), ...v.values()] : v instanceof Set ? [...v] : Object.values(v);
    stack.push({ v, kids, i: 0, max: 0, size: 1 });
    return null;
  };
  const first = enter(root);
  if (first !== null) return first === 'cycle' ? 'cycle' : first[0];
  let result = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i < top.kids.length) {
      const r = enter(top.kids[top.i++]);
      if (r === 'cycle') return 'cycle';
      if (r !== null) {
        top.max = Math.max(top.max, r[0]);
        top.size = Math.min(MAX_VALUES + 1, top.size + r[1]);
      }
      continue;
    }
    stack.pop();
    open.delete(top.v);
    const d = top.max + 1;
    done.set(top.v, d);
    sizes.set(top.v, top.size);
    if (d > MAX_DEPTH) return d;
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.max = Math.max(parent.max, d);
      parent.size = Math.min(MAX_VALUES + 1, parent.size + top.size);
    } else result = d;
  }
  return result;
}

const typeName = (v: unknown): string => (v === null ? 'nothing (an empty document)' : Array.isArray(v) ? 'a list' : `a ${typeof v}`);

/**
 * Parses YAML text against a zod schema (then `extra` checks), mapping each issue to a line of
 * the text. When the schema fails, `salvage(raw)` may add problems found in the same pass
 * (cross-references of what did parse), so that a file's problems come all at once.
 */
export function parseYamlWith<S extends z.ZodType>(
  schema: S,
  text: string,
  file: string,
  extra?: ExtraCheck<z.output<S>>,
  salvage?: (raw: unknown) => PathProblem[],
): z.output<S> {
  const whole = (message: string, line = 1, column = 1): ScenarioError => new ScenarioError([{ file, line, column, field: '', message }]);
  if (text.length > MAX_FILE_BYTES) throw whole(`too large: ${text.length} characters, more than the ${MAX_FILE_TEXT} a file may have`);
  const nul = text.indexOf('\0');
  if (nul >= 0 || text.charCodeAt(0) === 0xfffe) throw whole(`not UTF-8 text (it holds NUL characters: UTF-16, or a binary file?)`);

  const lc = new LineCounter();
  const at = (offset: number) => lc.linePos(offset);
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, schema: 'core', uniqueKeys: true });
  } catch (e) {
    throw whole(e instanceof RangeError ? `YAML nested too deeply (at most ${MAX_DEPTH} levels)` : `YAML: ${(e as Error).message}`);
  }
  const yamlProblems: Problem[] = [];
  let deepReported = false;
  for (const e of [...doc.errors, ...doc.warnings]) {
    const { line, col } = at(e.pos[0]);
    let message: string;
    if (e.code === 'MULTIPLE_DOCS') message = 'one YAML document per file (this one has another after "---")';
    else if (e.code === 'RESOURCE_EXHAUSTION' || /call stack/i.test(e.message)) {
      if (deepReported) continue;
      deepReported = true;
      message = `YAML nested too deeply (at most ${MAX_DEPTH} levels)`;
    } else if (e.code === 'TAG_RESOLVE_FAILED') message = `YAML: unknown tag ${e.message.replace(/^Unresolved tag: /, '').split('\n')[0]} (scenario files are plain YAML, without tags)`;
    else message = `YAML: ${e.message.split('\n')[0]}`;
    yamlProblems.push({ file, line, column: col, field: '', message });
  }
  if (yamlProblems.length > 0) throw new ScenarioError(yamlProblems);

  const tree = checkTree(doc);
  if (tree.deep) {
    const { line, col } = at(tree.deep.range?.[0] ?? 0);
    throw whole(`YAML nested too deeply (at most ${MAX_DEPTH} levels)`, line, col);
  }
  if (tree.tags.length > 0) {
    throw new ScenarioError(tree.tags.map(({ node, tag }) => {
      const { line, col } = at(node.range?.[0] ?? 0);
      return { file, line, column: col, field: '', message: `YAML: tag ${showTag(tag)} is not allowed (scenario files are plain YAML, without tags)` };
    }));
  }
  const aliasAt = () => at(tree.firstAlias?.range?.[0] ?? 0);
  let raw: unknown;
  try {
    // An alias resolves to its anchor's value itself (shared, not copied): no expansion here;
    // jsShape below counts what the schema would walk.
    raw = doc.toJS({ maxAliasCount: -1 });
  } catch (e) {
    const { line, col } = aliasAt();
    throw whole(e instanceof RangeError ? `YAML nested too deeply (at most ${MAX_DEPTH} levels)` : `YAML: ${(e as Error).message}`, line, col);
  }
  const shape = jsShape(raw);
  if (shape === 'cycle' || shape.depth > MAX_DEPTH || shape.values > MAX_VALUES) {
    const { line, col } = aliasAt();
    throw whole(
      shape === 'cycle' ? 'YAML: an alias refers to a node that contains it (a cycle)'
        : shape.depth > MAX_DEPTH ? `YAML aliases nest too deeply (at most ${MAX_DEPTH} levels)`
          : tree.firstAlias ? `YAML aliases expand too much (more than ${MAX_VALUES} values; a "billion laughs" file?)`
            : `too many values (more than ${MAX_VALUES})`,
      line, col);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const { line, col } = at(isNode(doc.contents) ? doc.contents.range?.[0] ?? 0 : 0);
    throw whole(`expected a YAML mapping of fields (name: value lines); this file holds ${typeName(raw)}`, line, col);
  }

  const result = schema.safeParse(raw);
  let issues: PathProblem[];
  if (result.success) issues = extra?.(result.data) ?? [];
  else {
    issues = zodProblems(result.error.issues, raw);
    try {
      issues.push(...(salvage?.(raw) ?? []));
    } catch {
      // The salvage is a best effort: the schema's problems are reported regardless.
    }
    const seen = new Set<string>();
    issues = issues.filter((p) => {
      const k = `${p.path.join('\0')}\u0001${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  if (result.success && issues.length === 0) return result.data;
  const problems = issues.map(({ path, message }): Problem => {
    // Walk down as far as the document has nodes: a missing field points at its parent.
    let node: unknown = undefined;
    for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
    const range = isNode(node) ? (node as Node).range : undefined;
    const { line, col } = at(range ? range[0] : 0);
    return { file, line, column: col, field: path.join('.'), message };
  });
  // In the order of the file (stable: problems of one place keep the schema's order).
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  throw new ScenarioError(problems);
}

/**
 * A scenario from YAML text. A churn trace named by `file` is read only when `traceDir` is given
 * (the directory the file name is relative to): text that came from elsewhere (an upload to the
 * web server) may not make the reader open files; it gets an error asking for inline events.
 */
export function loadScenarioText(text: string, file = '<scenario>', extra?: ExtraCheck<Scenario>, traceDir?: string): Scenario {
  const s = parseYamlWith(scenarioSchema, text, file, extra, (raw) => {
    const { scenario, invalid, rawPath } = salvageScenario(raw);
    return [...scenarioProblems(scenario, invalid), ...(extra?.(scenario) ?? [])].map((p) => ({ path: rawPath(p.path), message: p.message }));
  });
  return withChurnTrace(s, file, traceDir);
}

/** The largest availability trace a scenario may replay. */
export const MAX_TRACE_BYTES = 64 * 1024 * 1024;

/** Reads and checks the event_trace.tab a `churn: {kind: trace, file}` names into its `events`. */
function withChurnTrace(s: Scenario, file: string, traceDir: string | undefined): Scenario {
  const c = s.churn;
  if (c === undefined || c.kind !== 'trace' || c.file === undefined || c.events !== undefined) return s;
  const whole = (message: string, line = 0, at = file): Problem => ({ file: at, line, column: line > 0 ? 1 : 0, field: line > 0 ? '' : 'churn.file', message });
  if (traceDir === undefined) throw new ScenarioError([whole('a trace file is read only for a scenario loaded from a file; give the trace as churn.events instead')]);
  const path = isAbsolute(c.file) ? c.file : join(traceDir, c.file);
  const { events, problems, more } = parseFtaTrace(readTextFile(path, MAX_TRACE_BYTES, 'a trace file'));
  const all = problems.map((p) => whole(p.message, p.line, path));
  if (more > 0) all.push(whole(`... and ${more} more bad rows`, 0, path));
  if (all.length > 0) throw new ScenarioError(all);
  const nodes = c.nodes ?? traceNodes(events);
  if (c.nodes === undefined && nodes.length < c.hosts.length) throw new ScenarioError([whole(`${path} has ${nodes.length} nodes, fewer than the ${c.hosts.length} hosts churn.hosts lists`)]);
  const known = new Set(traceNodes(events));
  const missing = nodes.filter((n) => !known.has(n));
  if (missing.length > 0) throw new ScenarioError([whole(`${path} has no rows for node${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((n) => `"${n}"`).join(', ')}`)]);
  return { ...s, churn: { ...c, events } };
}

// ---------- files ----------

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
};

function fileKind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'not a regular file (a FIFO)';
  if (st.isCharacterDevice()) return 'not a regular file (a character device)';
  if (st.isBlockDevice()) return 'not a regular file (a block device)';
  if (st.isSocket()) return 'not a regular file (a socket)';
  return 'not a regular file';
}

/**
 * The text of a regular file of at most MAX_FILE_BYTES, UTF-8. Anything else is a ScenarioError
 * naming the file: `file: cannot read: no such file`, `... not a regular file (a FIFO)`, too large,
 * not UTF-8 text. Never blocks: the file is opened non-blocking and checked before it is read.
 */
export function readTextFile(path: string, maxBytes = MAX_FILE_BYTES, what = 'a scenario file'): string {
  const capText = maxBytes === MAX_FILE_BYTES ? MAX_FILE_TEXT : `${Math.round(maxBytes / 1024 / 1024)} MiB`;
  const fail = (message: string): ScenarioError => new ScenarioError([{ file: path, line: 0, column: 0, field: '', message }]);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw fail(`cannot read: ${READ_ERRORS[code] ?? (e as Error).message}`);
  }
  let buf: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail(`cannot read: ${fileKind(st)}`);
    if (st.size > maxBytes) throw fail(`too large: ${st.size} bytes, more than the ${capText} ${what} may have`);
    // Read one byte past the cap: files whose size stat does not tell (/proc) are capped too.
    buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 64 * 1024)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length > maxBytes) throw fail(`too large: more than the ${capText} ${what} may have`);
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    buf = buf.subarray(0, n);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw fail(`cannot read: ${READ_ERRORS[code] ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) throw fail('not UTF-8 text (it starts with a UTF-16 byte-order mark)');
  if (buf.includes(0)) throw fail('not UTF-8 text (it holds NUL bytes: UTF-16, or a binary file?)');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw fail('not UTF-8 text (it holds byte sequences that are not UTF-8)');
  }
}

export function loadScenario(path: string, extra?: ExtraCheck<Scenario>): Scenario {
  return loadScenarioText(readTextFile(path), path, extra, dirname(path));
}
