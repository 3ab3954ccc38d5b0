// What every command module of the CLI shares: option parsers, atomic file writes, number
// formats, the guarded-action wrapper (error printing), markdown tables and the recoveries /
// disconnections tables of a trace.
import { InvalidArgumentError, type CommanderError } from 'commander';
import { accessSync, constants, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
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

/**
 * A command's `exitOverride` (with `.showHelpAfterError(false)`: the error is one line): commander's
 * own errors (a bad option value, a missing argument) are bad input, exit 2; help exits 0.
 */
export const exitBadInput = (err: CommanderError): never => process.exit(err.exitCode === 0 ? 0 : 2);

// ---------- files ----------

/**
 * Bad input found before any work (an output path that cannot be written, a file that cannot
 * be read, an invalid address): `guardedWith` prints it as one line and the exit code is 2.
 */
export class UsageError extends Error {}

const SYSTEM_TREES = ['/proc', '/sys'];
const under = (p: string, root: string) => p === root || p.startsWith(`${root}/`);

/** Why `path` is not a place to write, or null; never recursive mkdir (Node's spins on /proc). */
function whyNotWritableDir(dir: string, what: string, probeIt = true): string | null {
  // The first existing ancestor (bounded: one step per path component).
  const missing: string[] = [];
  let d = dir;
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `${what}: cannot look at ${d} (${code ?? (e as Error).message})`;
      const up = dirname(d);
      if (up === d) return `${what}: no existing folder above it`;
      missing.unshift(d);
      d = up;
      continue;
    }
    if (!st.isDirectory()) return `${what}: ${d} is not a directory`;
    break;
  }
  let real: string;
  try {
    real = realpathSync(d);
  } catch (e) {
    return `${what}: cannot resolve ${d} (${(e as Error).message})`;
  }
  const sys = SYSTEM_TREES.find((r) => under(real, r));
  if (sys) return `${what}: in ${sys}, a kernel file system, not a place for output`;
  try {
    accessSync(d, constants.W_OK | constants.X_OK);
  } catch {
    if (missing.length) return `${what}: cannot create ${missing[0]}: ${d} is not writable`;
    return `${what}: ${d} is not writable`;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return `${what}: cannot create ${m} (${(e as Error).message})`;
    }
  }
  if (!probeIt) return null;
  // A probe file: the checks above can pass where writing still fails (read-only mounts, quotas).
  const probe = `${dir}/.hatwin-probe-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (e) {
    return `${what}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  } finally {
    rmSync(probe, { force: true });
  }
  return null;
}

/**
 * Checks an output before any work and creates its folder: `kind` 'file' is a file to be written
 * (not a directory; its folder is created and must be writable), 'dir' a folder (created when
 * missing). Refuses paths under /proc and /sys. Throws a one-line UsageError.
 */
export function checkOutputPath(path: string, kind: 'file' | 'dir'): void {
  if (path === '') throw new UsageError(`the output ${kind === 'file' ? 'file' : 'folder'} is an empty string`);
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UsageError(`${path}: cannot look at it (${code ?? (e as Error).message})`);
  }
  if (kind === 'file') {
    if (st?.isDirectory()) throw new UsageError(`${path} is a directory: give a file name (e.g. ${path.replace(/\/+$/, '')}/trace.ndjson)`);
    const why = whyNotWritableDir(dirname(abs), path);
    if (why) throw new UsageError(why);
  } else {
    if (st && !st.isDirectory()) throw new UsageError(`${path} exists and is not a directory`);
    const why = whyNotWritableDir(abs, path);
    if (why) throw new UsageError(why);
  }
}

/**
 * Writes `text` to `path` (creating its folder) through a temporary file and a rename; on a
 * failure the temporary file is removed.
 */
export function writeAtomic(path: string, text: string): void {
  const why = whyNotWritableDir(resolve(dirname(path)), path, false);
  if (why) throw new Error(why);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true, recursive: false });
    throw e;
  }
}

/** Checks that a token file can be read; else a one-line UsageError (missing, unreadable, a directory). */
export function checkTokenFile(file: string): void {
  try {
    readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : (code ?? (e as Error).message);
    throw new UsageError(`--token-file ${file}: ${why}`);
  }
}

const HOSTNAME_RE = /^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;

/** A --host option: an IPv4 or IPv6 address or a host name (a dotted quad must be a valid IPv4 address). */
export const hostAddress = (v: string): string => {
  const bare = v.startsWith('[') && v.endsWith(']') ? v.slice(1, -1) : v;
  if (isIP(bare)) return bare;
  if (/^[0-9.]+$/.test(bare)) throw new InvalidArgumentError(`"${v}" is not a valid IPv4 address`);
  if (bare.includes(':')) throw new InvalidArgumentError(`"${v}" is not a valid IPv6 address`);
  if (!HOSTNAME_RE.test(bare)) throw new InvalidArgumentError(`"${v}" is not an IP address or a host name`);
  return bare;
};

// ---------- messages and errors ----------

/** Seconds with two decimals, or — when there is no value. */
export const fmtS = (x: number | null): string => (x === null ? '—' : x.toFixed(2));

/** A logger writing `[tag] message` lines to stderr. */
export const sayer = (tag: string) => (msg: string): void => console.error(`[${tag}] ${msg}`);

/**
 * Wraps command actions: a scenario or lab file error goes up (bin/cli.ts prints it with
 * file:line and exits 2); any other error is printed through `log` as one line, without a
 * stack, and the exit code is 2 for a UsageError (bad input found before the work), else 1.
 */
export function guardedWith(log: (msg: string) => void) {
  return <A extends unknown[]>(fn: (...args: A) => Promise<void>): ((...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await fn(...args);
      } catch (e) {
        if (e instanceof ScenarioError) throw e;
        log(`error: ${(e as Error).message}`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
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
