// Traces as NDJSON: one event per line, keys always in the order t, kind, subject, data, so equal
// traces are equal bytes (golden traces compare bytes). One writer, one reader, used by the sim,
// the live agents and runner, the web view and the experiments. No Node APIs here: the web page
// bundles this file (the file writer is ndjson-file.ts).
import type { TraceEvent } from './event.ts';

/** One event as one NDJSON line (with its newline), keys in the fixed order. */
export function ndjsonLine(e: TraceEvent): string {
  return JSON.stringify(e.data === undefined ? { t: e.t, kind: e.kind, subject: e.subject } : { t: e.t, kind: e.kind, subject: e.subject, data: e.data }) + '\n';
}

/** A whole trace as NDJSON text. */
export function toNdjson(events: Iterable<TraceEvent>): string {
  let out = '';
  for (const e of events) out += ndjsonLine(e);
  return out;
}

/** Reads an NDJSON trace; a bad line throws with its line number (`where` names the source). */
export function parseNdjson(text: string, where = 'trace'): TraceEvent[] {
  const out: TraceEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where} line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    const o = v as TraceEvent;
    if (typeof o !== 'object' || o === null || typeof o.t !== 'number' || typeof o.kind !== 'string' || typeof o.subject !== 'string') {
      throw new Error(`${where} line ${i + 1}: expected {t: number, kind: string, subject: string, data?}`);
    }
    if (o.data !== undefined && (typeof o.data !== 'object' || o.data === null || Array.isArray(o.data))) {
      throw new Error(`${where} line ${i + 1}: data must be an object`);
    }
    out.push(o);
  });
  return out;
}
