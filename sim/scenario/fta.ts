// Availability traces in the Failure Trace Archive's `event_trace.tab` format (Kondo et al., "The
// Failure Trace Archive", CCGrid 2010; Javadi et al., JPDC 2013): one row per event, tab-separated
// columns event_id, component_id, node_id, platform_id, node_name, event_type (0 = unavailable,
// 1 = available), event_start_time, event_stop_time (epoch seconds), event_end_reason. A
// scenario's `churn: {kind: trace}` replays one (sim/world: scheduleChurn).
import type { TraceChurnEvent } from './schema.ts';
import { US_PER_S } from '../kernel/time.ts';

export interface FtaProblem {
  /** 1-based line of the file. */
  line: number;
  message: string;
}

/** The most problems reported for one file (the rest are counted). */
const MAX_PROBLEMS = 50;

/**
 * Parses the text of an event_trace.tab. Blank lines and lines starting with `#` are skipped, and
 * so is a first line that names the columns (it starts with "event_id"). Every other line must
 * have at least the eight columns up to event_stop_time, an event_type of 0 or 1, and times with
 * 0 <= start <= stop; a bad line is a problem with its line number (the file's other rows are
 * still checked, so all problems come at once).
 */
export function parseFtaTrace(text: string): { events: TraceChurnEvent[]; problems: FtaProblem[]; more: number } {
  const events: TraceChurnEvent[] = [];
  const problems: FtaProblem[] = [];
  let more = 0;
  const bad = (line: number, message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ line, message });
    else more++;
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const cols = raw.split('\t').map((c) => c.trim());
    if (i === 0 && /^event_id$/i.test(cols[0] ?? '')) return;
    if (cols.length < 8) {
      bad(line, `expected at least 8 tab-separated columns (event_id, component_id, node_id, platform_id, node_name, event_type, event_start_time, event_stop_time), found ${cols.length}`);
      return;
    }
    const node = cols[4] !== '' ? cols[4] : cols[2];
    if (node === '') {
      bad(line, 'node_name and node_id are both empty');
      return;
    }
    if (node.length > 200) {
      bad(line, 'node_name longer than 200 characters');
      return;
    }
    const type = cols[5];
    if (type !== '0' && type !== '1') {
      bad(line, `event_type must be 0 (unavailable) or 1 (available), found "${type.slice(0, 20)}"`);
      return;
    }
    const start = Number(cols[6]);
    const stop = Number(cols[7]);
    if (cols[6] === '' || !Number.isFinite(start) || start < 0) {
      bad(line, `event_start_time must be seconds >= 0, found "${cols[6].slice(0, 30)}"`);
      return;
    }
    if (cols[7] === '' || !Number.isFinite(stop) || stop < 0) {
      bad(line, `event_stop_time must be seconds >= 0, found "${cols[7].slice(0, 30)}"`);
      return;
    }
    if (stop < start) {
      bad(line, `event_stop_time ${stop} is before event_start_time ${start}`);
      return;
    }
    events.push({ node, available: type === '1', start, stop });
  });
  return { events, problems, more };
}

/** The trace's node names in code-unit order (the default order hosts follow). */
export function traceNodes(events: readonly TraceChurnEvent[]): string[] {
  return [...new Set(events.map((e) => e.node))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * For each host, the power changes the trace makes, in run time (µs from `origin`, default the
 * earliest start), sorted; changes before time 0 are dropped. At a row's start the node becomes
 * available as the row says, at its stop the opposite. Of changes at one instant the last in
 * file order wins (an "up" row starting where a "down" row stops leaves the node up).
 */
export function traceTransitions(
  c: { hosts: readonly string[]; nodes?: readonly string[]; origin?: number; events?: readonly TraceChurnEvent[] },
): Map<string, Array<{ tUs: number; on: boolean }>> {
  const events = c.events ?? [];
  const nodes = c.nodes ?? traceNodes(events);
  let origin = c.origin;
  if (origin === undefined) {
    origin = Infinity;
    for (const e of events) if (e.start < origin) origin = e.start;
    if (origin === Infinity) origin = 0;
  }
  const hostOf = new Map<string, string>();
  c.hosts.forEach((h, i) => {
    if (i < nodes.length) hostOf.set(nodes[i], h);
  });
  const out = new Map<string, Array<{ tUs: number; on: boolean; seq: number }>>();
  for (const h of c.hosts) out.set(h, []);
  let seq = 0;
  const push = (h: string, s: number, on: boolean) => {
    const tUs = Math.round((s - origin!) * US_PER_S);
    if (tUs >= 0) out.get(h)!.push({ tUs, on, seq: seq++ });
  };
  for (const e of events) {
    const h = hostOf.get(e.node);
    if (h === undefined) continue;
    push(h, e.start, e.available);
    if (e.stop > e.start) push(h, e.stop, !e.available);
  }
  const result = new Map<string, Array<{ tUs: number; on: boolean }>>();
  for (const [h, xs] of out) {
    xs.sort((a, b) => a.tUs - b.tUs || a.seq - b.seq);
    // Of several changes at one instant only the last counts.
    const kept: Array<{ tUs: number; on: boolean }> = [];
    for (const x of xs) {
      if (kept.length > 0 && kept[kept.length - 1].tUs === x.tUs) kept[kept.length - 1] = { tUs: x.tUs, on: x.on };
      else kept.push({ tUs: x.tUs, on: x.on });
    }
    result.set(h, kept);
  }
  return result;
}
