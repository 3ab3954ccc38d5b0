// The Navigator's Service Depot live (adapters/live/depot.ts) over a real OpenSSH server on
// 127.0.0.1: the container image goes by SFTP over the pinned connection, paced at the policy's
// rate, whole or not at all; a local backup the same way; uptime from the host's boot record.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
}, exec, now);

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
    const noImage = new LiveDepot({ agent: 'pc1', images: { pc1: join(tmp.dir, 'gone.img'), pc2: join(tmp.dir, 'x.img') }, backup: join(tmp.dir, 'y'), bootFile: join(tmp.dir, 'z') }, exec);
    await expect(noImage.copyImage('pc1', 'pc2', 1, 1e6)).rejects.toThrow(/no container image at/);
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
