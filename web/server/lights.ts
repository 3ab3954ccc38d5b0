// The health lights of a run over the API (GET /api/runs/:id/lights and .../lights/history): the
// page's own model (web/shared/model.ts, the rule in web/shared/lights.ts) folded over the run's
// events on the server, so the API and the page show the same lights, sim and live alike. Each
// run keeps one folded model, fed only the events that arrived since the last call, in slices.
import { LEVELS, Twin, type LightChange, type LightObject } from '../shared/model.ts';
import { FIRST_RED_MISSES, SECOND_RED_MISSES, STALE_INTERVALS, type Level } from '../shared/lights.ts';
import { yieldToOthers } from './limits.ts';
import type { Run } from './runs.ts';

/** Events folded before yielding to other requests. */
const EVENTS_PER_SLICE = 20_000;

export interface RunLights {
  run: string;
  nowUs: number;
  /** Where the lights come from: a virtual prober on the trace's state (sim, replay) or real probes (live). */
  source: 'grid' | 'probes';
  intervalUs: number;
  staleAfterUs: number;
  rule: string;
  levels: Record<Level, LightObject[]>;
}

export interface RunLightHistory {
  run: string;
  nowUs: number;
  /** The light id asked for (svc:Web1/httpd, vm:FTPb, ...), or null: the whole system. */
  object: string | null;
  changes: LightChange[];
}

export const RULE_TEXT = `first light red after ${FIRST_RED_MISSES} failed scan, second after ${SECOND_RED_MISSES} consecutive ones; stale (never green) after ${STALE_INTERVALS} intervals without a scan`;

interface Folded {
  twin: Twin;
  applied: number;
  busy: Promise<void>;
}

export class LightsBook {
  private readonly folded = new WeakMap<Run, Folded>();

  /** The run's model with every event so far applied and its clock at the run's time. */
  private async fold(r: Run): Promise<Twin> {
    let f = this.folded.get(r);
    if (!f) {
      f = { twin: new Twin(r.topology), applied: 0, busy: Promise.resolve() };
      this.folded.set(r, f);
    }
    const entry = f;
    // One fold at a time per run: a second caller waits for the first and then catches up.
    const work = entry.busy.then(async () => {
      const events = r.events;
      const n = events.length;
      while (entry.applied < n) {
        const end = Math.min(n, entry.applied + EVENTS_PER_SLICE);
        for (let i = entry.applied; i < end; i++) entry.twin.apply(events[i]);
        entry.applied = end;
        if (end < n) await yieldToOthers();
      }
      entry.twin.advance(r.info().nowUs);
      if (r.kind === 'live' && !r.live) entry.twin.markEnded(r.state === 'error' ? 'the run failed' : 'the live run has ended');
    });
    entry.busy = work.catch(() => {});
    await work;
    return entry.twin;
  }

  async lights(r: Run): Promise<RunLights> {
    const twin = await this.fold(r);
    const all = twin.lights();
    const levels = Object.fromEntries(LEVELS.map((l) => [l, all.filter((o) => o.level === l)])) as Record<Level, LightObject[]>;
    return {
      run: r.id, nowUs: twin.nowUs, source: twin.probeMode ? 'probes' : 'grid', intervalUs: twin.intervalUs,
      staleAfterUs: STALE_INTERVALS * twin.intervalUs, rule: RULE_TEXT, levels,
    };
  }

  async history(r: Run, object: string | null, limit: number): Promise<RunLightHistory> {
    const twin = await this.fold(r);
    const changes = twin.lightChanges(object ?? undefined);
    return { run: r.id, nowUs: twin.nowUs, object, changes: changes.slice(Math.max(0, changes.length - limit)) };
  }
}
