// An agent's Hypervisor port gated on the path to the host it acts on (adapters/lab/reach-gate.ts):
// the calls that name a host need it answered first, an unreachable one fails as the sim's port
// does without reaching libvirt; and the TCP probe itself, against real sockets on loopback.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hypervisor, VmInfo } from '../engine/ports/hypervisor.ts';
import { PortError } from '../engine/ports/errors.ts';
import { ReachGatedHypervisor, tcpReach } from '../adapters/lab/reach-gate.ts';

/** A Hypervisor that records its calls. */
function recorder(): { hv: Hypervisor; calls: string[] } {
  const calls: string[] = [];
  const rec = (op: string) => async (...a: string[]) => void calls.push([op, ...a].join(' '));
  const hv: Hypervisor = {
    define: rec('define'), start: rec('start'), suspend: rec('suspend'), resume: rec('resume'), destroy: rec('destroy'), migrate: rec('migrate'),
    list: async () => [] as VmInfo[],
    get: async () => undefined,
  };
  return { hv, calls };
}

describe('ReachGatedHypervisor', () => {
  const reachable = new Set(['FTP', 'Web1']);
  const asked: string[] = [];
  const gated = () => {
    const r = recorder();
    return { ...r, g: new ReachGatedHypervisor(r.hv, { self: 'FTP', reach: async (h) => (asked.push(h), reachable.has(h)) }) };
  };

  it('a call naming a host it reaches goes through; its own host is not asked', async () => {
    const { g, calls } = gated();
    asked.length = 0;
    await g.resume('Loginb', 'Web1');
    await g.start('Mailb', 'Web1');
    await g.define('Mailb', 'Web1');
    await g.migrate('Mailb', 'Web1');
    await g.resume('FTPb', 'FTP');
    expect(calls).toEqual(['resume Loginb Web1', 'start Mailb Web1', 'define Mailb Web1', 'migrate Mailb Web1', 'resume FTPb FTP']);
    expect(asked).toEqual(['Web1', 'Web1', 'Web1', 'Web1']);
  });

  it('a host it cannot reach: unreachable, the sim port\'s message, and libvirt never called', async () => {
    const { g, calls } = gated();
    for (const call of [() => g.resume('Loginb', 'Mail'), () => g.start('Loginb', 'Mail'), () => g.define('Loginb', 'Mail'), () => g.migrate('Loginb', 'Mail')]) {
      const e = await Promise.resolve(call()).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(PortError);
      expect((e as PortError).kind).toBe('unreachable');
      expect((e as PortError).message).toBe('Mail is unreachable from FTP');
    }
    expect(calls).toEqual([]);
  });

  it('suspend, destroy, list and get name no host: not gated', async () => {
    const { g, calls } = gated();
    asked.length = 0;
    await g.suspend('Loginb');
    await g.destroy('Loginb');
    expect(await g.list()).toEqual([]);
    expect(await g.get('Loginb')).toBeUndefined();
    expect(calls).toEqual(['suspend Loginb', 'destroy Loginb']);
    expect(asked).toEqual([]);
  });
});

describe('tcpReach on loopback', () => {
  let server: Server;
  let open = 0;
  let closed = 0;
  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open = (server.address() as { port: number }).port;
    // A port that was listening and is closed again: nothing listens there now.
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    closed = (tmp.address() as { port: number }).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a listening port answers', async () => {
    expect(await tcpReach('127.0.0.1', open, 2_000)).toBe(true);
  });

  it('a refused connection is an answer too: the host is there', async () => {
    expect(await tcpReach('127.0.0.1', closed, 2_000)).toBe(true);
  });
});
