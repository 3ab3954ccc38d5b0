// The Service Depot (wong-2014's Navigator) live: a host's depot copies the container image from
// its own disk to another host's by SFTP over the pinned SSH connection, or to a local backup,
// paced at the rate the policy gives (the lab's links have no rate of their own; as the lab's
// bootDelay plays a boot, the pacing plays the PCs' measured transfer rate), and reports how long
// its host has been up from the boot record the lab's power supervisor writes. The monitoring
// service's database is a real SQLite file on the host's disk (the `sqlite3` shell, argv only): a
// row per sample, a `.dump` shipped by SFTP to the secondary's depot, restored there at takeover.
import { readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PortError } from '../../engine/ports/errors.ts';
import type { DatabaseSummary, Depot, MonitorSample } from '../../engine/ports/depot.ts';
import { run } from '../lab/run.ts';
import { pace } from '../ssh/exec.ts';

export interface LiveDepotConfig {
  /** This agent's host: a depot copies from its own disk and reports its own uptime. */
  agent: string;
  /** Where each host keeps the container image. */
  images: Record<string, string>;
  /** Where this host's local backup of the image goes. */
  backup: string;
  /** This host's boot record: the time it last booted, epoch milliseconds (written at power on, removed at power off). */
  bootFile: string;
  /** This host's monitoring database (SQLite). */
  database: string;
  /** Where each host's depot keeps the last database dump it received (SQL text). */
  dumps: Record<string, string>;
  /** The sqlite3 shell (default: `sqlite3` on PATH). */
  sqlite?: string;
}

export interface FileCopier {
  putFile(host: string, localPath: string, remotePath: string, opts?: { rateBps?: number; timeoutMs?: number }): Promise<number>;
}

/** Room given to a paced copy beyond its nominal duration before it counts as timed out. */
const SLACK_MS = 30_000;

/** The monitoring database's one table. */
const SCHEMA = 'CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY, t_us INTEGER NOT NULL, host TEXT NOT NULL, item TEXT NOT NULL, value REAL NOT NULL);';
const SAFE_NAME = /^[A-Za-z0-9._:-]{1,64}$/;

export class LiveDepot implements Depot {
  constructor(private readonly cfg: LiveDepotConfig, private readonly copier: FileCopier, private readonly nowMs: () => number = Date.now) {}

  async copyImage(from: string, to: string, bytes: number, rateBps: number): Promise<void> {
    if (from !== this.cfg.agent) throw new PortError('failed', `depot on ${this.cfg.agent}: copies only from its own disk, not from ${from}`);
    const src = this.cfg.images[from];
    const dst = from === to ? this.cfg.backup : this.cfg.images[to];
    if (!src) throw new PortError('failed', `depot on ${from}: no image path for ${from}`);
    if (!dst) throw new PortError('failed', `depot on ${from}: no image path for ${to}`);
    let size: number;
    try {
      size = (await stat(src)).size;
    } catch {
      throw new PortError('failed', `depot on ${from}: no container image at ${src}`);
    }
    // The copy moves what is on disk; `bytes` (the policy's image size) only sets the time allowed.
    const timeoutMs = (Math.max(size, bytes) * 8 * 1000) / rateBps * 2 + SLACK_MS;
    if (from === to) {
      await localCopy(src, dst, rateBps, timeoutMs);
      return;
    }
    await this.copier.putFile(to, src, dst, { rateBps, timeoutMs });
  }

  async recordSample(host: string, x: MonitorSample): Promise<void> {
    this.own(host, 'writes its own database');
    if (!SAFE_NAME.test(x.host) || !SAFE_NAME.test(x.item)) throw new PortError('failed', `depot on ${host}: bad sample names ${JSON.stringify([x.host, x.item])}`);
    const nums = [x.seq, x.tUs, x.value];
    if (!nums.every(Number.isFinite)) throw new PortError('failed', `depot on ${host}: bad sample numbers ${JSON.stringify(nums)}`);
    // Names are checked against SAFE_NAME and numbers are finite: the statement holds no quote a value could close.
    await this.sql(host, [this.cfg.database, `${SCHEMA} INSERT INTO samples VALUES (${Math.trunc(x.seq)}, ${Math.trunc(x.tUs)}, '${x.host}', '${x.item}', ${x.value});`]);
  }

  async syncDatabase(from: string, to: string, bytes: number, rateBps: number): Promise<DatabaseSummary> {
    this.own(from, 'dumps its own database');
    const dst = this.cfg.dumps[to];
    if (!dst || to === from) throw new PortError('failed', `depot on ${from}: no dump path for ${to}`);
    await this.sql(from, [this.cfg.database, SCHEMA]);
    const summary = await this.summary(from, this.cfg.database);
    const dump = await this.sql(from, ['-readonly', this.cfg.database, '.dump']);
    const local = `${this.cfg.database}.out.sql`;
    await writeFile(local, dump, { mode: 0o600 });
    try {
      const timeoutMs = (Math.max(Buffer.byteLength(dump), bytes) * 8 * 1000) / rateBps * 2 + SLACK_MS;
      await this.copier.putFile(to, local, dst, { rateBps, timeoutMs });
    } finally {
      await unlink(local).catch(() => undefined);
    }
    return summary;
  }

  async restoreDatabase(host: string): Promise<DatabaseSummary> {
    this.own(host, 'restores its own database');
    const db = this.cfg.database;
    let dump = '';
    try {
      dump = await readFile(this.cfg.dumps[host] ?? '', 'utf8');
    } catch {
      // No dump received yet: the service starts on an empty database.
    }
    // Restored into a new file, renamed over the old database when whole.
    const fresh = `${db}.restore`;
    await rm(fresh, { force: true });
    await this.sql(host, ['-bail', fresh], dump);
    await this.sql(host, [fresh, SCHEMA]);
    await rm(`${db}-journal`, { force: true });
    await rename(fresh, db);
    return this.summary(host, db);
  }

  private async summary(host: string, db: string): Promise<DatabaseSummary> {
    const [rows, lastSeq] = (await this.sql(host, ['-readonly', '-separator', ' ', db, 'SELECT count(*), coalesce(max(seq), 0) FROM samples;'])).trim().split(' ').map(Number);
    return { rows, lastSeq };
  }

  private own(host: string, what: string): void {
    if (host !== this.cfg.agent) throw new PortError('failed', `depot on ${this.cfg.agent}: ${what}, not ${host}'s`);
  }

  /** The sqlite3 shell with `args` (argv, no shell), stdin `input` (only for a shell that reads it: one given SQL as an argument does not); its output. */
  private async sql(host: string, args: string[], input?: string): Promise<string> {
    const r = await run([this.cfg.sqlite ?? 'sqlite3', ...args], { input, timeoutMs: 10_000, allowFail: true });
    if (r.code !== 0) throw new PortError('failed', `depot on ${host}: sqlite3 ${args.slice(0, -1).join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`);
    return r.stdout;
  }

  async uptime(host: string): Promise<number> {
    if (host !== this.cfg.agent) throw new PortError('failed', `depot on ${this.cfg.agent}: reports its own uptime, not ${host}'s`);
    let text: string;
    try {
      text = await readFile(this.cfg.bootFile, 'utf8');
    } catch {
      throw new PortError('failed', `depot on ${host}: no boot record at ${this.cfg.bootFile} (the host is not up)`);
    }
    const at = Number(text.trim());
    if (!Number.isFinite(at) || at <= 0) throw new PortError('failed', `depot on ${host}: unreadable boot record ${JSON.stringify(text.slice(0, 40))}`);
    return Math.max(0, (this.nowMs() - at) / 1000);
  }
}

/** A paced local copy to `dst.part`, renamed when complete. */
async function localCopy(src: string, dst: string, rateBps: number, timeoutMs: number): Promise<void> {
  const part = `${dst}.part`;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    await pipeline(createReadStream(src, { highWaterMark: 64 * 1024 }), pace(rateBps), createWriteStream(part, { mode: 0o600 }), { signal: ac.signal });
    await rename(part, dst);
  } catch (e) {
    await unlink(part).catch(() => undefined);
    if (ac.signal.aborted) throw new PortError('timeout', `local backup ${src} -> ${dst} timed out after ${Math.round(timeoutMs)} ms`);
    throw new PortError('failed', `local backup ${src} -> ${dst}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

