// Traces the web view reads: NDJSON checked like a scenario (every line, with its number) and
// parsed in slices so a large one never holds the event loop; saved traces under the out
// directory (listed, resolved without telling what exists outside it, retained newest first).
import { existsSync, readdirSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { TraceEvent } from '../../trace/event.ts';
import type { SavedTrace } from '../shared/api.ts';
import { MAX_TIME_US, yieldToOthers } from './limits.ts';

/** Lines parsed per slice before yielding to other requests. */
const LINES_PER_SLICE = 5_000;
/** Problems listed in one answer (the rest are counted). */
const MAX_PROBLEMS = 10;
/** data fields that are numbers wherever they appear (power, job ids, store versions, latencies). */
const NUMERIC_FIELDS = ['watts', 'job', 'version', 'nonSelect', 'latencyMs'] as const;

export interface TraceProblem {
  line: number;
  message: string;
}

/** A trace that does not validate: every problem (the first few) with its line number. */
export class TraceError extends Error {
  constructor(readonly what: string, readonly problems: TraceProblem[], readonly more: number) {
    super(`${what} is not a hatwin trace: ${problems.map((p) => `trace line ${p.line}: ${p.message}`).join('; ')}${more ? ` (and ${more} more problems)` : ''}`);
  }
}

const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}...` : s);
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(clip(v)) : clip(String(JSON.stringify(v) ?? v)));

/** The problems of one parsed line (empty when it is a good trace event after `prevT`). */
export function checkTraceLine(v: unknown, prevT: number | null): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['expected an object {t, kind, subject, data?}'];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  if (typeof o.t !== 'number' || !Number.isInteger(o.t) || o.t < 0 || o.t > MAX_TIME_US) {
    out.push(`t must be an integer number of microseconds from 0 to ${MAX_TIME_US} (got ${show(o.t)})`);
  } else if (prevT !== null && o.t < prevT) {
    out.push(`t = ${o.t} us goes back (the line before has ${prevT} us)`);
  }
  if (typeof o.kind !== 'string' || o.kind === '') out.push(`kind must be a non-empty string (got ${show(o.kind)})`);
  if (typeof o.subject !== 'string') out.push(`subject must be a string (got ${show(o.subject)})`);
  if (o.data !== undefined) {
    if (typeof o.data !== 'object' || o.data === null || Array.isArray(o.data)) {
      out.push(`data must be an object (got ${show(o.data)})`);
    } else {
      const d = o.data as Record<string, unknown>;
      for (const f of NUMERIC_FIELDS) {
        if (d[f] !== undefined && (typeof d[f] !== 'number' || !Number.isFinite(d[f]))) out.push(`data.${f} must be a number (got ${show(d[f])})`);
      }
      if (typeof d.watts === 'number' && d.watts < 0) out.push(`data.watts cannot be negative (got ${d.watts})`);
    }
  }
  for (const k of Object.keys(o)) {
    if (k !== 't' && k !== 'kind' && k !== 'subject' && k !== 'data') out.push(`unknown field "${clip(k)}" (a trace line has t, kind, subject, data)`);
  }
  return out;
}

/**
 * Parses and checks an NDJSON trace in slices of LINES_PER_SLICE lines, yielding between them.
 * Throws a TraceError listing the problems with their line numbers.
 */
export async function parseTrace(text: string, what: string): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  const problems: TraceProblem[] = [];
  let more = 0;
  const problem = (line: number, message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ line, message });
    else more++;
  };
  let prevT: number | null = null;
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    for (let k = 0; k < LINES_PER_SLICE && pos < text.length; k++) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      const raw = text.slice(pos, end);
      pos = end + 1;
      line++;
      if (raw.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch (e) {
        problem(line, `not JSON (${(e as Error).message})`);
        continue;
      }
      const bad = checkTraceLine(v, prevT);
      for (const m of bad) problem(line, m);
      const t = (v as { t?: unknown } | null)?.t;
      if (typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= MAX_TIME_US && (prevT === null || t >= prevT)) prevT = t;
      if (bad.length === 0) events.push(v as TraceEvent);
    }
    if (pos < text.length) await yieldToOthers();
  }
  if (problems.length === 0 && events.length === 0) problems.push({ line: Math.max(1, line), message: 'no events' });
  if (problems.length) throw new TraceError(what, problems, more);
  return events;
}

/** NDJSON traces under the out directory (two levels deep), newest first. */
export function listTraces(outDir: string): SavedTrace[] {
  const out: SavedTrace[] = [];
  const walk = (dir: string, depth: number) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 2) walk(p, depth + 1);
      // A live run's partial trace (run/live.ts) is in arrival order: its final trace is the one to open.
      else if (e.isFile() && e.name.endsWith('.ndjson') && !e.name.endsWith('.partial.ndjson')) {
        const st = statSync(p);
        out.push({ path: relative(outDir, p).split(sep).join('/'), bytes: st.size, modified: st.mtime.toISOString() });
      }
    }
  };
  walk(outDir, 0);
  return out.sort((a, b) => b.modified.localeCompare(a.modified));
}

/** Why a saved-trace path is refused: `lexical` before any look at the disk, `missing` after. */
export class SavedTraceError extends Error {
  constructor(readonly reason: 'lexical' | 'missing', message: string) {
    super(message);
  }
}

/**
 * A saved trace's real path, inside the out directory. A path that is absolute or has a ".."
 * part is refused before the disk is looked at; any other path that does not name a regular
 * file inside the directory (missing, a directory, a link leading out) gets one and the same
 * answer, so nothing tells what exists outside the out directory.
 */
export function resolveSavedTrace(outDir: string, path: string): string {
  const rel = path.replace(/^\.?\/?out\//, '');
  const parts = rel.split(/[\\/]+/);
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || parts.includes('..') || rel.includes('\0')) {
    throw new SavedTraceError('lexical', `path "${clip(path)}" must be relative to the out directory and stay inside it (no "..")`);
  }
  const missing = () => new SavedTraceError('missing', `no saved trace "${clip(path)}" (GET /api/traces lists them)`);
  let base: string;
  let real: string;
  try {
    base = realpathSync(resolve(outDir));
    real = realpathSync(resolve(base, rel));
  } catch {
    throw missing();
  }
  if (!real.startsWith(base + sep)) throw missing();
  let isFile = false;
  try {
    isFile = statSync(real).isFile();
  } catch {
    // gone meanwhile
  }
  if (!isFile) throw missing();
  return real;
}

/**
 * Keeps the newest `keep` NDJSON files of a directory (by modification time), deletes the rest;
 * `newest` (the file just written) is kept whatever the clock says.
 */
export function retainNewest(dir: string, keep: number, newest?: string): string[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ndjson') && e.name !== newest)
    .map((e) => {
      const p = join(dir, e.name);
      let mtimeMs = 0;
      try {
        mtimeMs = statSync(p).mtimeMs;
      } catch {
        // gone meanwhile
      }
      return { p, mtimeMs };
    })
    .sort((a, b) => b.mtimeMs - a.mtimeMs || b.p.localeCompare(a.p));
  const removed: string[] = [];
  for (const f of files.slice(Math.max(0, newest === undefined ? keep : keep - 1))) {
    try {
      unlinkSync(f.p);
      removed.push(f.p);
    } catch {
      // already gone
    }
  }
  return removed;
}
