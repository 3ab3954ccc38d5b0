// Exec over a real OpenSSH server (127.0.0.1, high port, its own host key): argv with hostile
// arguments arrives unchanged and runs nothing else; a host presenting an unpinned key is
// refused before any command; the Services, Power and LoadSampler ports do their work over it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client } from 'ssh2';
import { ExecError, HostKeyMismatchError, SshExec, run } from '../adapters/ssh/exec.ts';
import { LiveServices } from '../adapters/ssh/services.ts';
import { LivePower } from '../adapters/power/power.ts';
import { LiveLoadSampler } from '../adapters/ssh/load.ts';
import { LiveProber } from '../adapters/probe/prober.ts';
import { ServiceRegistry } from '../adapters/probe/registry.ts';
import { keygen, startSshd, type Sshd } from './helpers/live/sshd.ts';
import { freePort, median, tempDir } from './helpers/live/procs.ts';
import { NODE, alive, defineService, killService, servicePid, svcCalls, svcctlCommands } from './helpers/live/services.ts';
import { HOSTILE } from './helpers/live/hostile.ts';

let sshd: Sshd;
let exec: SshExec;
let tmp: { dir: string; remove: () => void };
const hostCfg = () => ({ name: 'h1', address: '127.0.0.1', port: sshd.port, user: 'root', keyFile: sshd.clientKeyFile });

beforeAll(async () => {
  tmp = tempDir('ssh-test');
  sshd = await startSshd({ port: await freePort(), tag: 'sshd-ssh' });
  exec = new SshExec({ hosts: [hostCfg()], knownHosts: sshd.knownHostsLine });
});

afterAll(async () => {
  exec?.close();
  killService(tmp.dir, 'web');
  await sshd?.stop();
  tmp?.remove();
});

describe('exec over ssh2 with a pinned host key', () => {
  it('runs argv with hostile arguments: each arrives as one unchanged word, nothing else runs', async () => {
    const marker = join(tmp.dir, 'pwned');
    const args = [...HOSTILE, `$(touch ${marker})`, `; touch ${marker}`, `\`touch ${marker}\``, `\ntouch ${marker}\n`];
    const r = await run(exec, 'h1', ['printf', '%s\\0', ...args]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(args);
    expect(existsSync(marker)).toBe(false);
  });

  it('reports exit status and stderr; run() rejects on failure', async () => {
    const r = await exec.exec('h1', ['sh', '-c', 'echo oops >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, stderr: 'oops\n' });
    await expect(run(exec, 'h1', ['false'])).rejects.toThrow(/h1: false exited 1/);
    const t = await exec.exec('h1', ['cat'], { stdin: 'from stdin' });
    expect(t.stdout).toBe('from stdin');
  });

  it('refuses a host that presents a key other than the pinned one, before running anything', async () => {
    const marker = join(tmp.dir, 'ran-on-wrong-key');
    const wrong = new SshExec({ hosts: [hostCfg()], knownHosts: sshd.wrongKnownHostsLine });
    try {
      const err = await wrong.exec('h1', ['touch', marker]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyMismatchError);
      expect((err as Error).message).toMatch(/presented host key SHA256:\S+, which is not pinned/);
      expect(existsSync(marker)).toBe(false);
    } finally {
      wrong.close();
    }
    // No pinned key at all for that address and port: refused at configuration time.
    expect(() => new SshExec({ hosts: [{ ...hostCfg(), port: sshd.port + 1 }], knownHosts: sshd.knownHostsLine })).toThrow(/no pinned host key/);
  });

  it('refuses a client key the server does not authorize, and key files others can read', async () => {
    const other = join(tmp.dir, 'stranger');
    keygen(other);
    const stranger = new SshExec({ hosts: [{ ...hostCfg(), keyFile: other }], knownHosts: sshd.knownHostsLine });
    await expect(stranger.exec('h1', ['true'])).rejects.toThrow(/authentication/i);
    stranger.close();
    const open = join(tmp.dir, 'open-key');
    writeFileSync(open, readFileSync(sshd.clientKeyFile), { mode: 0o644 });
    const lax = new SshExec({ hosts: [{ ...hostCfg(), keyFile: open }], knownHosts: sshd.knownHostsLine });
    await expect(lax.exec('h1', ['true'])).rejects.toThrow(/too open.*chmod 600/);
    lax.close();
  });

  it('validates host names before use and knows only configured hosts', async () => {
    await expect(exec.exec('h1;reboot', ['true'])).rejects.toThrow(/invalid host name/);
    await expect(exec.exec('h2', ['true'])).rejects.toThrow(/unknown host "h2"/);
    await expect(exec.exec('h1', ['-oProxyCommand=id'])).rejects.toThrow(/plain command/);
  });

  it('times out a command that hangs and drops its connection; the next command reconnects', async () => {
    const err = await exec.exec('h1', ['sleep', '5'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as Error).message).toMatch(/timed out after 300 ms/);
    expect((await run(exec, 'h1', ['echo', 'back'])).stdout).toBe('back\n');
  });

  it('turns Nagle\'s algorithm off on each connection (a command\'s small packets never wait for a delayed ACK: ~40 ms each)', async () => {
    const spy = vi.spyOn(Client.prototype, 'setNoDelay');
    try {
      const fresh = new SshExec({ hosts: [hostCfg()], knownHosts: sshd.knownHostsLine });
      await run(fresh, 'h1', ['true']);
      fresh.close();
      expect(spy).toHaveBeenCalledWith(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('forget ends the kept connection (the next command opens a new one); reachable tells whether the SSH port accepts a TCP connection', async () => {
    const spy = vi.spyOn(Client.prototype, 'connect');
    try {
      const fresh = new SshExec({ hosts: [hostCfg()], knownHosts: sshd.knownHostsLine });
      await run(fresh, 'h1', ['true']);
      await run(fresh, 'h1', ['true']);
      expect(spy).toHaveBeenCalledTimes(1);
      fresh.forget('h1');
      await run(fresh, 'h1', ['true']);
      expect(spy).toHaveBeenCalledTimes(2);
      expect(await fresh.reachable('h1', 2_000)).toBe(true);
      expect(await fresh.reachable('nobody', 2_000)).toBe(false);
      fresh.close();
    } finally {
      spy.mockRestore();
    }
    // Nothing listens on this port: refused at once.
    const port = await freePort();
    const closed = new SshExec({ hosts: [{ ...hostCfg(), port }], knownHosts: sshd.knownHostsLine.replace(`]:${sshd.port} `, `]:${port} `) });
    expect(await closed.reachable('h1', 2_000)).toBe(false);
    closed.close();
  });

  it('measures: connect + exec (cold), exec on the kept connection (warm)', async () => {
    const cold: number[] = [];
    for (let i = 0; i < 2; i++) {
      const fresh = new SshExec({ hosts: [hostCfg()], knownHosts: sshd.knownHostsLine });
      const t0 = performance.now();
      await run(fresh, 'h1', ['true']);
      cold.push(performance.now() - t0);
      fresh.close();
    }
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push((await run(exec, 'h1', ['true'])).durationMs);
    // Dominated by the login shell's rc files on this machine (root's ~/.bashrc runs pyenv).
    console.log(`[timing] ssh exec: cold connect+exec median ${median(cold).toFixed(0)} ms, warm exec median ${median(warm).toFixed(0)} ms`);
    expect(median(warm)).toBeLessThan(2_000);
  });
});

describe('Services port over SSH: a daemon started, stopped and restarted by name', () => {
  it('restarts a frozen daemon so it answers again; stop makes it refuse', async () => {
    const port = await freePort();
    defineService(tmp.dir, 'web', 'http', port);
    const services = new LiveServices({ exec, commands: svcctlCommands(tmp.dir) });
    const prober = new LiveProber(new ServiceRegistry([{ name: 'h1', address: '127.0.0.1' }], [{ target: 'h1', service: 'web', port, check: { protocol: 'http' } }]));
    const probe = () => prober.probe({ kind: 'service', target: 'h1', service: 'web', timeoutUs: 500_000 });

    await services.start('h1', 'web');
    expect((await probe()).detail).toBe('ok');
    const first = servicePid(tmp.dir, 'web');
    process.kill(first, 'SIGSTOP');
    expect((await probe()).detail).toBe('timeout');
    await services.restart('h1', 'web');
    expect(alive(first)).toBe(false);
    expect(servicePid(tmp.dir, 'web')).not.toBe(first);
    expect((await probe()).detail).toBe('ok');
    await services.stop('h1', 'web');
    expect((await probe()).detail).toBe('refused');
    expect(svcCalls(tmp.dir)).toEqual([['start', 'web'], ['restart', 'web'], ['stop', 'web']]);
    await expect(services.start('h1', 'nosuch')).rejects.toThrow(/no such service: nosuch/);
  });
});

describe('Power port over SSH and LoadSampler over SSH', () => {
  it('runs the configured shutdown/reboot argv on the host; unconfigured commands are refused', async () => {
    const log = join(tmp.dir, 'power.log');
    const rec = (what: string) => [NODE, '-e', `require('fs').appendFileSync(${JSON.stringify(log)}, process.argv.slice(1).join(' ') + '\\n')`, what, '{host}'];
    const power = new LivePower({ exec, wol: { broadcast: '127.255.255.255', port: 9 }, commands: { shutdown: rec('shutdown'), reboot: rec('reboot') } });
    await power.shutdown('h1');
    await power.reboot('h1');
    expect(readFileSync(log, 'utf8')).toBe('shutdown h1\nreboot h1\n');
    await expect(power.suspend('h1')).rejects.toThrow(/power.suspend is not configured/);
    await expect(power.reboot('h1 && reboot')).rejects.toThrow(/invalid host name/);
  });

  it('a power command whose connection drops (the host went down) counts as done', async () => {
    // `kill -9 $PPID` ends the session's sshd process: the channel closes without an exit status.
    const power = new LivePower({ exec, wol: { broadcast: '127.255.255.255' }, commands: { shutdown: ['sh', '-c', 'kill -9 $PPID; sleep 2', 'x', '{host}'] } });
    await expect(power.shutdown('h1')).resolves.toBeUndefined();
    expect((await run(exec, 'h1', ['echo', 'still here'])).stdout).toBe('still here\n');
  });

  it('samples memory, CPU idle and network load from /proc over SSH', async () => {
    const load = new LiveLoadSampler({ exec, windowMs: 200, hosts: { h1: { ratedNetBytesPerS: 250_000_000 } } });
    const s = await load.sample('h1');
    const memTotal = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    expect(s.memTotalKb).toBe(memTotal);
    expect(s.memFreeKb).toBeGreaterThan(0);
    expect(s.memFreeKb).toBeLessThanOrEqual(memTotal);
    expect(s.cores).toBeGreaterThanOrEqual(1);
    expect(s.cpuIdlePct).toBeGreaterThanOrEqual(0);
    expect(s.cpuIdlePct).toBeLessThanOrEqual(100 * s.cores + 1e-9);
    expect(s.netBytesPerS).toBeGreaterThanOrEqual(0);
    expect(s.netRatedBytesPerS).toBe(250_000_000);
    // The second sample uses the first as its earlier reading (one command, no wait).
    const t0 = performance.now();
    await load.sample('h1');
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
