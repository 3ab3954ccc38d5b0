// `hatwin sim --trace` streams the trace to disk (issue 17): the file must be exactly the trace a
// run holds in memory, whatever the chunking, and a failed run leaves no file behind.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { toNdjson } from '../trace/ndjson.ts';
import { NdjsonStream } from '../trace/ndjson-file.ts';
import { spawnSync } from 'node:child_process';

const ROOT = resolve(import.meta.dirname, '..');
const P2P = join(ROOT, 'experiments/scenarios/p2p-fig13-nt2.yaml');

describe('trace streamed to disk', () => {
  it('NdjsonStream with small chunks writes the in-memory trace byte for byte; abort leaves nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-stream-'));
    const scenario = readScenario(P2P);
    const held = buildSimulation(scenario, { seed: 1 });
    held.run();
    const out = join(dir, 't.ndjson');
    const stream = new NdjsonStream(out, 97);
    const sim = buildSimulation(scenario, { seed: 1, keepEvents: false, onEvent: stream.emit });
    sim.run();
    stream.finish();
    expect(sim.events).toHaveLength(0);
    expect(stream.lines).toBe(held.events.length);
    expect(readFileSync(out, 'utf8')).toBe(toNdjson(held.events));
    const gone = new NdjsonStream(join(dir, 'u.ndjson'));
    gone.emit(held.events[0]);
    gone.abort();
    expect(readdirSync(dir)).toEqual(['t.ndjson']);
  });

  it('hatwin sim --trace writes the same file as the in-memory trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-stream-'));
    const out = join(dir, 'p2p.ndjson');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/hatwin.js'), 'sim', P2P, '--trace', out], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const held = buildSimulation(readScenario(P2P), { seed: readScenario(P2P).seed ?? 1 });
    held.run();
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe(toNdjson(held.events));
    expect(r.stdout).toContain(`trace lines ${held.events.length}`);
  }, 90_000);
});
