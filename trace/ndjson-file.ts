// An NDJSON trace file written as events happen (Node only; the formats are in ndjson.ts).
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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

/**
 * A whole trace streamed to a file as a simulation runs (`hatwin sim --trace`): lines are
 * buffered and appended in chunks to `<path>.tmp-<pid>`, renamed to `path` by `finish()`, so
 * a run never holds its trace in memory and a failed run leaves no partial file behind.
 */
export class NdjsonStream {
  private fd: number | null;
  private readonly tmp: string;
  private buf: string[] = [];
  private bytes = 0;
  lines = 0;
  constructor(private readonly path: string, private readonly chunkBytes = 1 << 20) {
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, 'w', 0o644);
  }

  emit = (e: TraceEvent): void => {
    if (this.fd === null) return;
    const line = ndjsonLine(e);
    this.buf.push(line);
    this.bytes += line.length;
    this.lines++;
    if (this.bytes >= this.chunkBytes) this.flush();
  };

  private flush(): void {
    if (this.fd !== null && this.buf.length > 0) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.bytes = 0;
  }

  /** Writes what is left and moves the file into place. */
  finish(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.path);
  }

  /** Drops the partial file. */
  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }
}
