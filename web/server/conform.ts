// `hatwin conform` results the web view shows side by side: DIR/conform-<name>.json (rows
// {metric, server, live, sim, errPct}) with its two traces DIR/conform-<name>.{live,sim}.ndjson
// (run/calibrate.ts), found in folders named conform* under the out directory (three levels deep:
// out/conform/, out/lab/NAME/conform/, ...).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ConformDetail, ConformEntry, ConformRow } from '../shared/api.ts';
import { parseNdjson } from '../../trace/ndjson.ts';
import { resolveSavedTrace, SavedTraceError } from './traces.ts';
import { fmtBytes } from './limits.ts';

const JSON_RE = /^conform-(.+)\.json$/;

export function listConform(outDir: string): ConformEntry[] {
  const out: ConformEntry[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (e.isFile() && JSON_RE.test(e.name) && dir.split(sep).pop()!.startsWith('conform')) {
        try {
          const doc = JSON.parse(readFileSync(p, 'utf8')) as { scenario?: unknown; lab?: unknown; rows?: unknown };
          if (!Array.isArray(doc.rows)) continue;
          const base = p.replace(/\.json$/, '');
          out.push({
            path: relative(outDir, p).split(sep).join('/'),
            scenario: String(doc.scenario ?? JSON_RE.exec(e.name)![1]),
            lab: typeof doc.lab === 'string' ? doc.lab : null,
            modified: statSync(p).mtime.toISOString(),
            hasTraces: existsSync(`${base}.live.ndjson`) && existsSync(`${base}.sim.ndjson`),
          });
        } catch {
          // not a conform result
        }
      }
    }
  };
  walk(outDir, 0);
  return out.sort((a, b) => b.modified.localeCompare(a.modified));
}

export class ConformError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** One result with both traces (each at most `maxBytes`). */
export async function readConform(outDir: string, path: string, maxBytes: number): Promise<ConformDetail> {
  if (!JSON_RE.test(path.split('/').pop() ?? '')) throw new ConformError(400, `path "${path}": a conform result, conform-<name>.json (GET /api/conform lists them)`);
  let file: string;
  try {
    // The same rule as saved traces: relative to the out directory, inside it.
    file = resolveSavedTrace(outDir, path);
  } catch (e) {
    if (e instanceof SavedTraceError) throw new ConformError(e.reason === 'lexical' ? 400 : 404, e.message.replace('saved trace', 'conform result').replace('GET /api/traces', 'GET /api/conform'));
    throw e;
  }
  const entry = listConform(outDir).find((c) => c.path === relative(outDir, file).split(sep).join('/'));
  if (!entry) throw new ConformError(404, `no conform result "${path}" (GET /api/conform lists them)`);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { rows: ConformRow[] };
  const base = file.replace(/\.json$/, '');
  const trace = async (which: 'live' | 'sim') => {
    const f = `${base}.${which}.ndjson`;
    if (!existsSync(f)) return [];
    const size = statSync(f).size;
    if (size > maxBytes) throw new ConformError(413, `${relative(outDir, f)} has ${fmtBytes(size)}; the web view reads at most ${fmtBytes(maxBytes)}`);
    let events;
    try {
      events = parseNdjson(readFileSync(f, 'utf8'), relative(outDir, f));
    } catch (e) {
      throw new ConformError(422, (e as Error).message);
    }
    // A live trace may open with the lab's events from before the run's epoch (its reset): at 0.
    return events.map((e) => (e.t < 0 ? { ...e, t: 0 } : e)).sort((a, b) => a.t - b.t);
  };
  return { ...entry, rows: doc.rows, live: await trace('live'), sim: await trace('sim') };
}
