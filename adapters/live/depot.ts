// The Service Depot (wong-2014's Navigator) live: a host's depot copies the container image from
// its own disk to another host's by SFTP over the pinned SSH connection, or to a local backup,
// paced at the rate the policy gives (the lab's links have no rate of their own; as the lab's
// bootDelay plays a boot, the pacing plays the PCs' measured transfer rate), and reports how long
// its host has been up from the boot record the lab's power supervisor writes.
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PortError } from '../../engine/ports/errors.ts';
import type { Depot } from '../../engine/ports/depot.ts';
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
}

export interface FileCopier {
  putFile(host: string, localPath: string, remotePath: string, opts?: { rateBps?: number; timeoutMs?: number }): Promise<number>;
}

/** Room given to a paced copy beyond its nominal duration before it counts as timed out. */
const SLACK_MS = 30_000;

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

