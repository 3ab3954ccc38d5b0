// The live Power port's resume with resumeWait: the magic packet (to a UDP listener on loopback),
// then a command over the Exec until the host answers, the packet sent again meanwhile; a host
// that never answers is a 'timeout' PortError. A fake Exec plays the host.
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { LivePower } from '../adapters/power/power.ts';
import { PortError } from '../engine/ports/errors.ts';
import type { Exec, ExecResult } from '../adapters/ssh/exec.ts';

const MAC = '02:77:10:00:00:13';
let sock: Socket | null = null;

/** A UDP listener on 127.0.0.1 counting magic packets; resolves with its port and the count. */
async function listener(): Promise<{ port: number; count: () => number }> {
  let n = 0;
  sock = createSocket('udp4');
  sock.on('message', () => n++);
  await new Promise<void>((r) => sock!.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, count: () => n };
}

/** A host that answers `true` after `failures` failed tries. */
function fakeHost(failures: number): Exec & { tries: string[][] } {
  const tries: string[][] = [];
  return {
    tries,
    async exec(_host: string, argv: readonly string[]): Promise<ExecResult> {
      tries.push([...argv]);
      if (tries.length <= failures) throw new PortError('timeout', 'connect timed out');
      return { code: 0, signal: null, stdout: '', stderr: '', durationMs: 1 };
    },
    close() {},
  };
}

afterEach(() => {
  sock?.close();
  sock = null;
});

describe('LivePower.resume with resumeWait', () => {
  it('resolves once the host answers, after sending the magic packet (again while it does not)', async () => {
    const l = await listener();
    const exec = fakeHost(4);
    const power = new LivePower({ exec, wol: { broadcast: '127.0.0.1', port: l.port }, macs: { RS3: MAC }, resumeWait: { timeoutMs: 5_000, pollMs: 30, resendMs: 60 } });
    await power.resume('RS3');
    expect(exec.tries).toEqual(Array.from({ length: 5 }, () => ['true']));
    await new Promise((r) => setTimeout(r, 50));
    expect(l.count()).toBeGreaterThanOrEqual(2);
  });

  it('drops the connection kept from before the suspension, probes the SSH port every pollMs, then runs the command once on a new connection', async () => {
    const l = await listener();
    const log: string[] = [];
    const probes: number[] = [];
    const t0 = Date.now();
    const exec: Exec = {
      async exec(_h, argv) {
        log.push(`exec ${argv.join(' ')}`);
        return { code: 0, signal: null, stdout: '', stderr: '', durationMs: 1 };
      },
      close() {},
      forget: (h) => void log.push(`forget ${h}`),
      // The port opens 150 ms after the wake; a probe before that hangs until its time-out, as a
      // SYN into a cut cable does.
      reachable: (h, timeoutMs) => {
        probes.push(Date.now() - t0);
        const opensIn = 150 - (Date.now() - t0);
        return new Promise((r) => setTimeout(() => r(opensIn <= 0), opensIn <= 0 ? 0 : Math.min(timeoutMs, 10_000)));
      },
    };
    await new LivePower({ exec, wol: { broadcast: '127.0.0.1', port: l.port }, macs: { RS3: MAC }, resumeWait: { timeoutMs: 5_000, pollMs: 20 } }).resume('RS3');
    const took = Date.now() - t0;
    expect(log).toEqual(['forget RS3', 'exec true']);
    // Probes overlap (each its own SYN): the first after the port opened ends the wait, not the
    // time-outs of those before it.
    expect(probes.length).toBeGreaterThanOrEqual(5);
    expect(took).toBeLessThan(900);
  });

  it('a host that never answers: a timeout PortError naming it', async () => {
    const l = await listener();
    const power = new LivePower({ exec: fakeHost(Infinity), wol: { broadcast: '127.0.0.1', port: l.port }, macs: { RS3: MAC }, resumeWait: { timeoutMs: 200, pollMs: 20 } });
    const e = await power.resume('RS3').then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(PortError);
    expect((e as PortError).kind).toBe('timeout');
    expect((e as PortError).message).toMatch(/^power\.resume RS3: not answering 200 ms after the magic packet/);
  });

  it('without resumeWait, resume is the magic packet alone (nothing run on the host)', async () => {
    const l = await listener();
    const exec = fakeHost(0);
    await new LivePower({ exec, wol: { broadcast: '127.0.0.1', port: l.port }, macs: { RS3: MAC } }).resume('RS3');
    expect(exec.tries).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.count()).toBeGreaterThanOrEqual(1);
  });
});
