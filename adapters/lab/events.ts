// The lab's own event log (NDJSON, in the log folder): power transitions, WOL packets, faults,
// service actions, as they happen, with wall-clock time in integer microseconds since the epoch.
// `hatwin live` can merge it into a run's trace (same shape as trace events).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './schema.ts';
import type { TraceEvent } from '../../trace/event.ts';
import { ndjsonLine } from '../../trace/ndjson.ts';

/** A lab event is a trace event with wall-clock time (µs since 1970). */
export type LabEvent = TraceEvent;

export const eventsPath = (lab: Pick<Lab, 'logDir'>) => join(lab.logDir, 'events.ndjson');

export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** Appends one line (short lines with O_APPEND: writers in several processes do not interleave). */
export function appendEvent(lab: Pick<Lab, 'logDir'>, ev: Omit<LabEvent, 't'> & { t?: number }): void {
  const line = ndjsonLine({ t: ev.t ?? nowUs(), kind: ev.kind, subject: ev.subject, ...(ev.data ? { data: ev.data } : {}) });
  try {
    appendFileSync(eventsPath(lab), line);
  } catch {
    // The log folder may be gone during teardown; events are best effort.
  }
}
