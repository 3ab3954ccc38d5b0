// An NDJSON trace file written as events happen (Node only; the formats are in ndjson.ts).
import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent } from './event.ts';
import { ndjsonLine } from './ndjson.ts';

/**
 * An NDJSON trace file written as events happen, one synchronous append per event, so a process
 * that is killed leaves every line it emitted (live agents are ended by signal).
 */
export class NdjsonFile {
  private fd: number | null;
  constructor(path: string, mode: 'append' | 'truncate' = 'append') {
    this.fd = openSync(path, mode === 'append' ? 'a' : 'w', 0o644);
  }

  emit = (e: TraceEvent): void => {
    if (this.fd !== null) writeSync(this.fd, ndjsonLine(e));
  };

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
