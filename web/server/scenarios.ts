// The scenarios the web view can run: experiments/scenarios/*.yaml (id = file name without
// .yaml) and the golden cases test/golden/<case>/scenario.yaml (id = golden/<case>). Files are
// read when listed, so an edited scenario is picked up without restarting the server.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { readScenario } from '../../run/sim.ts';
import { ScenarioError } from '../../sim/scenario/load.ts';
import { parseDurationUs } from '../../sim/kernel/time.ts';
import type { Scenario } from '../../sim/scenario/schema.ts';
import type { ScenarioEntry, Topology } from '../shared/api.ts';

export type { ScenarioEntry, Topology };

/** The default monitoring interval of the policies (Tim = 10 s, kitamura-2018 Table 3). */
export const DEFAULT_PROBE_INTERVAL_US = 10_000_000;
/** A scenario without `until` runs this long in the web view. */
export const DEFAULT_UNTIL_US = 3_600_000_000;

export function topologyOf(s: Scenario, untilUs: number): Topology {
  let probeIntervalUs = DEFAULT_PROBE_INTERVAL_US;
  for (const p of s.policies) {
    const iv = (p as Record<string, unknown>).interval;
    if (typeof iv === 'number' || typeof iv === 'string') {
      probeIntervalUs = parseDurationUs(iv);
      break;
    }
  }
  return {
    hosts: s.hosts.map((h) => ({ name: h.name, services: h.services.map((x) => x.name), state: h.state, mac: h.mac ?? null })),
    vms: s.vms.map((v) => ({ name: v.name, services: v.services.map((x) => x.name), host: v.host, fileServer: v.fileServer })),
    vips: s.vips.map((v) => ({ name: v.name, address: v.address ?? null, service: v.service, holder: v.holder })),
    clients: s.clients.map((c) => ({ name: c.name, vip: c.vip })),
    probeIntervalUs,
    untilUs,
  };
}

export class ScenarioCatalog {
  /** @param dirs directories of *.yaml scenarios, with the id prefix of each ('' or 'golden/'). */
  constructor(
    private readonly root: string,
    private readonly dirs: Array<{ dir: string; prefix: string; nested?: boolean }>,
  ) {}

  /** experiments/scenarios, the golden cases, then `extra` folders (ids: file names; an id already taken keeps its first file). */
  static standard(root: string, extra: readonly string[] = []): ScenarioCatalog {
    return new ScenarioCatalog(root, [
      { dir: join(root, 'experiments/scenarios'), prefix: '' },
      { dir: join(root, 'test/golden'), prefix: 'golden/', nested: true },
      ...extra.map((dir) => ({ dir, prefix: '' })),
    ]);
  }

  private files(): Array<{ id: string; file: string }> {
    const out: Array<{ id: string; file: string }> = [];
    for (const { dir, prefix, nested } of this.dirs) {
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).sort()) {
        if (nested) {
          const file = join(dir, f, 'scenario.yaml');
          if (statSync(join(dir, f)).isDirectory() && existsSync(file)) out.push({ id: prefix + f, file });
        } else if (f.endsWith('.yaml') || f.endsWith('.yml')) {
          out.push({ id: prefix + basename(f).replace(/\.ya?ml$/, ''), file: join(dir, f) });
        }
      }
    }
    return out;
  }

  ids(): string[] {
    return this.files().map((f) => f.id);
  }

  list(): ScenarioEntry[] {
    return this.files().map(({ id, file }) => {
      const rel = relative(this.root, file);
      try {
        const s = readScenario(file);
        return {
          id, file: rel, name: s.name ?? null, description: s.description ?? null, seed: s.seed ?? null,
          untilUs: s.until ?? null, faults: s.faults.length, policies: s.policies.map((p) => p.kind),
        };
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        return { id, file: rel, name: null, description: null, seed: null, untilUs: null, faults: 0, policies: [], error: e.message };
      }
    });
  }

  /** The parsed scenario, or null when no scenario has this id. Throws ScenarioError when invalid. */
  load(id: string): { scenario: Scenario; file: string } | null {
    const f = this.files().find((x) => x.id === id);
    if (!f) return null;
    return { scenario: readScenario(f.file), file: relative(this.root, f.file) };
  }
}
