// What every command module of the CLI shares: option parsers, atomic file writes, number
// formats, the guarded-action wrapper (error printing), markdown tables and the recoveries /
// disconnections tables of a trace.
import { InvalidArgumentError } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ScenarioError } from '../sim/scenario/load.ts';
import { parseDurationUs } from '../sim/kernel/time.ts';
import { recoveries, disconnections, type TraceLine } from '../trace/metrics.ts';

// ---------- option parsers (commander) ----------

/** An integer option named `name`. */
export const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return n;
};

/** An integer option >= 1. */
export const positiveInt = (name: string) => (v: string): number => {
  const n = int(name)(v);
  if (n < 1) throw new InvalidArgumentError(`${name} must be >= 1, got "${v}"`);
  return n;
};

/** A duration option (`250ms`, `10s`, `5m`, or seconds), in µs. */
export const duration = (v: string): number => {
  try {
    return parseDurationUs(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** A TCP port option, 0..65535 (0: any free port). */
export const port = (v: string): number => {
  const n = int('port')(v);
  if (n < 0 || n > 65535) throw new InvalidArgumentError(`port must be 0..65535, got "${v}"`);
  return n;
};

// ---------- files ----------

/** Writes `text` to `path` (creating its folder) through a temporary file and a rename. */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

// ---------- messages and errors ----------

/** Seconds with two decimals, or — when there is no value. */
export const fmtS = (x: number | null): string => (x === null ? '—' : x.toFixed(2));

/** A logger writing `[tag] message` lines to stderr. */
export const sayer = (tag: string) => (msg: string): void => console.error(`[${tag}] ${msg}`);

/**
 * Wraps command actions: a scenario or lab file error goes up (bin/cli.ts prints it with
 * file:line and exits 2); any other error is printed through `log` as one line, without a
 * stack, and the exit code is 1.
 */
export function guardedWith(log: (msg: string) => void) {
  return <A extends unknown[]>(fn: (...args: A) => Promise<void>): ((...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await fn(...args);
      } catch (e) {
        if (e instanceof ScenarioError) throw e;
        log(`error: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    };
}

// ---------- tables ----------

/** A markdown table's lines; `align` has one letter per column: `l` left, `r` right. */
export function markdownTable(head: readonly string[], align: string, rows: readonly (readonly string[])[]): string[] {
  if (align.length !== head.length) throw new Error(`markdownTable: ${head.length} columns but alignment "${align}"`);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), `|${[...align].map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`, ...rows.map(line)];
}

export interface RecoveryTablesOptions {
  /** A blank line before the first table (`hatwin sim`: after its summary line). */
  leadingBlankLine: boolean;
  /** The recoveries table's header even when the trace has no recovery (`hatwin live`: shows none was seen). */
  showEmptyRecoveries: boolean;
}

/**
 * Prints the recoveries (detection, function and target recovery) and the clients'
 * disconnections of a trace as markdown tables on stdout; the disconnections table only when
 * there is one, after a blank line.
 */
export function printRecoveryTables(events: TraceLine[], o: RecoveryTablesOptions): void {
  const rec = recoveries(events);
  if (rec.length || o.showEmptyRecoveries) {
    const table = markdownTable(
      ['target', 'fault', 'detected at s', 'function recovery s', 'target recovery s', 'fault -> function s'],
      'llrrrr',
      rec.map((r) => [r.target, r.fault ?? '—', (r.detectedUs / 1e6).toFixed(2), fmtS(r.functionRecoveryS), fmtS(r.targetRecoveryS), fmtS(r.faultToFunctionS)]),
    );
    if (o.leadingBlankLine) console.log('');
    for (const l of table) console.log(l);
  }
  const dis = disconnections(events);
  if (dis.length) {
    const table = markdownTable(
      ['client', 'vip', 'from s', 'disconnection s'],
      'llrr',
      dis.map((d) => [d.client, d.vip, (d.fromUs / 1e6).toFixed(2), d.durationS === null ? 'still down' : d.durationS.toFixed(2)]),
    );
    console.log('');
    for (const l of table) console.log(l);
  }
}
