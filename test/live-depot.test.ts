// The Navigator's Service Depot live (adapters/live/depot.ts) over a real OpenSSH server on
// 127.0.0.1: the container image goes by SFTP over the pinned connection, paced at the policy's
// rate, whole or not at all; a local backup the same way; uptime from the host's boot record.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshExec, pace } from '../adapters/ssh/exec.ts';
import { LiveDepot } from '../adapters/live/depot.ts';
import { PortError } from '../engine/ports/errors.ts';
import { startSshd, type Sshd } from './helpers/live/sshd.ts';
import { freePort, tempDir } from './helpers/live/procs.ts';

let sshd: Sshd;
let exec: SshExec;
let tmp: { dir: string; remove: () => void };
const IMAGE_BYTES = 256 * 1024;

beforeAll(async () => {
  tmp = tempDir('depot-test');
  sshd = await startSshd({ port: await freePort(), tag: 'sshd-depot' });
  exec = new SshExec({ hosts: [{ name: 'pc2', address: '127.0.0.1', port: sshd.port, user: 'root', keyFile: sshd.clientKeyFile }], knownHosts: sshd.knownHostsLine });
  writeFileSync(join(tmp.dir, 'pc1.img'), randomBytes(IMAGE_BYTES));
});

afterAll(async () => {
  exec?.close();
  await sshd?.stop();
  tmp?.remove();
});

/** PIDs of every descendant of `pid` (from /proc: parent PIDs), deepest last. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const depot = (now?: () => number) => new LiveDepot({
  agent: 'pc1',
  images: { pc1: join(tmp.dir, 'pc1.img'), pc2: join(tmp.dir, 'pc2.img'), pc3: join(tmp.dir, 'pc3.img') },
  backup: join(tmp.dir, 'pc1.img.bak'),
  bootFile: join(tmp.dir, 'pc1.booted-at'),
  ...dbPaths('pc1'),
}, exec, now);

/** Each PC's monitoring database and received dump under the test's directory. */
const dbPaths = (agent: string) => ({
  database: join(tmp.dir, `${agent}.db`),
  dumps: { pc1: join(tmp.dir, 'pc1.sql'), pc2: join(tmp.dir, 'pc2.sql'), pc3: join(tmp.dir, 'pc3.sql') },
});
const sqlite = (db: string, query: string) => execFileSync('sqlite3', ['-readonly', '-separator', ' ', db, query], { encoding: 'utf8' }).trim();

describe('live Service Depot', () => {
  it('copies the image to another host by SFTP, byte for byte, no faster than the rate', async () => {
    const rate = 4e6; // 256 KiB at 4 Mb/s: 0.52 s at least
    const t0 = performance.now();
    await depot().copyImage('pc1', 'pc2', IMAGE_BYTES, rate);
    const ms = performance.now() - t0;
    expect(readFileSync(join(tmp.dir, 'pc2.img')).equals(readFileSync(join(tmp.dir, 'pc1.img')))).toBe(true);
    expect(existsSync(join(tmp.dir, 'pc2.img.part'))).toBe(false);
    // Pacing gives a lower bound that holds on any machine; no upper bound is asserted.
    expect(ms).toBeGreaterThanOrEqual((IMAGE_BYTES * 8 * 1000) / rate * 0.95);
  });

  it('backs the image up locally (from = to) the same way', async () => {
    await depot().copyImage('pc1', 'pc1', IMAGE_BYTES, 64e6);
    expect(readFileSync(join(tmp.dir, 'pc1.img.bak')).equals(readFileSync(join(tmp.dir, 'pc1.img')))).toBe(true);
  });

  it('reports uptime from the boot record; none while the host is off', async () => {
    writeFileSync(join(tmp.dir, 'pc1.booted-at'), '1000000\n');
    expect(await depot(() => 1_090_500).uptime('pc1')).toBeCloseTo(90.5, 6);
    rmSync(join(tmp.dir, 'pc1.booted-at'));
    await expect(depot().uptime('pc1')).rejects.toThrow(/no boot record/);
    await expect(depot().uptime('pc2')).rejects.toThrow(/reports its own uptime, not pc2's/);
  });

  it('refuses what a depot cannot do, with typed errors', async () => {
    const other = await depot().copyImage('pc2', 'pc1', IMAGE_BYTES, 1e6).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(PortError);
    expect((other as PortError).message).toMatch(/copies only from its own disk/);
    // pc3 is not an SSH host of this exec: a configuration failure, nothing written.
    const unknown = await depot().copyImage('pc1', 'pc3', IMAGE_BYTES, 1e9).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(PortError);
    expect(existsSync(join(tmp.dir, 'pc3.img'))).toBe(false);
    rmSync(join(tmp.dir, 'gone.img'), { force: true });
    const noImage = new LiveDepot({ agent: 'pc1', images: { pc1: join(tmp.dir, 'gone.img'), pc2: join(tmp.dir, 'x.img') }, backup: join(tmp.dir, 'y'), bootFile: join(tmp.dir, 'z'), ...dbPaths('pc1') }, exec);
    await expect(noImage.copyImage('pc1', 'pc2', 1, 1e6)).rejects.toThrow(/no container image at/);
  });

  it('keeps the monitoring data in SQLite: rows written on pc1, dumped and sent by SFTP to pc2, restored there whole', async () => {
    const pc1 = depot();
    for (let seq = 1; seq <= 3; seq++) await pc1.recordSample('pc1', { seq, tUs: seq * 1_000_000, host: 'pc1', item: 'uptime', value: 10 * seq });
    expect(sqlite(join(tmp.dir, 'pc1.db'), 'SELECT seq, t_us, host, item, value FROM samples ORDER BY seq;').split('\n')).toEqual(['1 1000000 pc1 uptime 10.0', '2 2000000 pc1 uptime 20.0', '3 3000000 pc1 uptime 30.0']);
    expect(await pc1.syncDatabase('pc1', 'pc2', 20_000, 8e6)).toEqual({ rows: 3, lastSeq: 3 });
    // The dump is SQL text on pc2's depot, whole (no .part left).
    expect(readFileSync(join(tmp.dir, 'pc2.sql'), 'utf8')).toMatch(/CREATE TABLE samples[\s\S]*INSERT INTO samples VALUES\(3,3000000,'pc1','uptime',30\.0\)/);
    expect(existsSync(join(tmp.dir, 'pc2.sql.part'))).toBe(false);
    // A row written after the sync is not in the dump.
    await pc1.recordSample('pc1', { seq: 4, tUs: 4_000_000, host: 'pc1', item: 'uptime', value: 40 });
    // pc2 had a stale database of its own: the restore replaces it with the dump.
    const pc2 = new LiveDepot({ agent: 'pc2', images: {}, backup: join(tmp.dir, 'pc2.bak'), bootFile: join(tmp.dir, 'pc2.booted-at'), ...dbPaths('pc2') }, exec);
    await pc2.recordSample('pc2', { seq: 99, tUs: 1, host: 'pc2', item: 'uptime', value: 1 });
    expect(await pc2.restoreDatabase('pc2')).toEqual({ rows: 3, lastSeq: 3 });
    expect(sqlite(join(tmp.dir, 'pc2.db'), 'SELECT group_concat(seq) FROM samples;')).toBe('1,2,3');
    await pc2.recordSample('pc2', { seq: 4, tUs: 5_000_000, host: 'pc2', item: 'uptime', value: 2 });
    expect(sqlite(join(tmp.dir, 'pc2.db'), 'SELECT count(*), max(seq) FROM samples;')).toBe('4 4');
    // No dump received (pc3): an empty database.
    const pc3 = new LiveDepot({ agent: 'pc3', images: {}, backup: join(tmp.dir, 'pc3.bak'), bootFile: join(tmp.dir, 'pc3.booted-at'), ...dbPaths('pc3') }, exec);
    expect(await pc3.restoreDatabase('pc3')).toEqual({ rows: 0, lastSeq: 0 });
    // Names that could leave their quotes are refused; another host's database is not this depot's.
    await expect(pc1.recordSample('pc1', { seq: 5, tUs: 1, host: "pc1'); DROP TABLE samples; --", item: 'x', value: 1 })).rejects.toThrow(/bad sample names/);
    await expect(pc1.recordSample('pc2', { seq: 5, tUs: 1, host: 'pc1', item: 'x', value: 1 })).rejects.toThrow(/writes its own database, not pc2's/);
    expect(sqlite(join(tmp.dir, 'pc1.db'), 'SELECT count(*) FROM samples;')).toBe('4');
  });

  it('a host that goes away mid-copy fails the copy as unreachable and leaves no image there', async () => {
    rmSync(join(tmp.dir, 'pc2.img'), { force: true });
    // 256 KiB at 1 Mb/s takes 2 s: the server is stopped half a second in.
    const copy = depot().copyImage('pc1', 'pc2', IMAGE_BYTES, 1e6).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    // The host goes away: its sshd and the session processes it forked (found by parent PID).
    const sessions = descendants(sshd.child.pid!);
    await sshd.stop();
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const err = await copy;
    expect(err).toBeInstanceOf(PortError);
    expect((err as PortError).kind).toBe('unreachable');
    expect(existsSync(join(tmp.dir, 'pc2.img'))).toBe(false);
  });
});

describe('pace', () => {
  it('passes bytes at no more than the rate', async () => {
    const p = pace(800_000); // 100 kB/s
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => p.on('data', () => undefined).on('end', () => resolve()));
    for (let i = 0; i < 5; i++) p.write(Buffer.alloc(10_000));
    p.end();
    await done;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(500 * 0.95);
    expect(() => pace(0)).toThrow(/positive/);
  });
});
