// The prober against tiny real servers on 127.0.0.1: ICMP reachability with iputils ping; one
// request/reply checker per protocol (HTTP, SMTP/FTP-style banner, TCP echo); and the reason
// for all of it: a SIGSTOPped daemon still completes TCP handshakes, so only a request that
// waits for its reply sees that it is frozen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutcome, checkService, tcpReach } from '../adapters/probe/checkers.ts';
import { ping } from '../adapters/probe/ping.ts';
import { LiveProber } from '../adapters/probe/prober.ts';
import { ServiceRegistry } from '../adapters/probe/registry.ts';
import { freePort, median, requireBinary, startChild, type Child } from './helpers/live/procs.ts';
import { NODE, TINY_SERVER } from './helpers/live/services.ts';

const servers: Record<string, { port: number; child: Child }> = {};

async function serve(name: string, protocol: string): Promise<number> {
  const port = await freePort();
  const child = startChild([NODE, TINY_SERVER, protocol, String(port), name]);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start: ${child.output()}`)), 10_000);
    child.proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) (clearTimeout(t), resolve());
    });
  });
  servers[name] = { port, child };
  return port;
}

beforeAll(async () => {
  requireBinary('/usr/bin/ping');
  await Promise.all([
    serve('web', 'http'), serve('broken', 'http500'), serve('mail', 'banner'), serve('busy', 'banner421'),
    serve('login', 'echo'), serve('silent', 'silent'), serve('frozen', 'http'),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.child.stop()));
});

const closedPort = async () => freePort();

describe('one checker per protocol, by request and reply', () => {
  it('HTTP: a 2xx/3xx status line passes, served by the body\'s first word; a 500 or a closed port fails as refused', async () => {
    expect(await checkService('127.0.0.1', servers.web.port, { protocol: 'http' }, 1000)).toMatchObject({ ok: true, detail: 'ok', servedBy: 'web' });
    expect(await checkService('127.0.0.1', servers.web.port, { protocol: 'http', okStatus: [200, 200] }, 1000)).toMatchObject({ ok: true, detail: 'ok' });
    const broken = await checkService('127.0.0.1', servers.broken.port, { protocol: 'http' }, 1000);
    expect(broken).toMatchObject({ ok: false, detail: 'http-500' });
    expect(checkOutcome(broken)).toBe('refused');
    const closed = await checkService('127.0.0.1', await closedPort(), { protocol: 'http' }, 1000);
    expect(closed).toMatchObject({ ok: false, detail: 'refused' });
    expect(checkOutcome(closed)).toBe('refused');
  });

  it('banner: the 220 greeting passes, with or without a command and its reply; 421 fails', async () => {
    expect(await checkService('127.0.0.1', servers.mail.port, { protocol: 'banner' }, 1000)).toMatchObject({ ok: true, detail: 'ok', servedBy: 'mail' });
    expect(await checkService('127.0.0.1', servers.mail.port, { protocol: 'banner', send: 'NOOP', expectReply: '250' }, 1000)).toMatchObject({ ok: true, servedBy: 'mail' });
    expect(await checkService('127.0.0.1', servers.mail.port, { protocol: 'banner', send: 'NOOP', expectReply: '354' }, 1000)).toMatchObject({ ok: false, detail: 'bad-reply' });
    const busy = await checkService('127.0.0.1', servers.busy.port, { protocol: 'banner' }, 1000);
    expect(busy).toMatchObject({ ok: false, detail: 'bad-reply' });
    expect(checkOutcome(busy)).toBe('refused');
  });

  it('echo: a fresh random line comes back; a server that never answers times out', async () => {
    const echo = await checkService('127.0.0.1', servers.login.port, { protocol: 'echo' }, 1000);
    expect(echo).toMatchObject({ ok: true, detail: 'ok' });
    expect(echo.servedBy).toBeUndefined();
    const t0 = performance.now();
    expect(await checkService('127.0.0.1', servers.silent.port, { protocol: 'echo' }, 300)).toMatchObject({ ok: false, detail: 'timeout' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('a SIGSTOPped daemon: TCP connect still succeeds, the service check times out; SIGCONT and it passes', async () => {
    const { port, child } = servers.frozen;
    process.kill(child.pid, 'SIGSTOP');
    try {
      expect(await tcpReach('127.0.0.1', port, 1000)).toMatchObject({ ok: true, detail: 'ok' });
      expect(await checkService('127.0.0.1', port, { protocol: 'http' }, 400)).toMatchObject({ ok: false, detail: 'timeout' });
    } finally {
      process.kill(child.pid, 'SIGCONT');
    }
    expect(await checkService('127.0.0.1', port, { protocol: 'http' }, 1000)).toMatchObject({ ok: true, detail: 'ok' });
    expect(await tcpReach('127.0.0.1', await closedPort(), 1000)).toMatchObject({ ok: true, detail: 'ok' });
  });
});

describe('the Prober port (details as in sim)', () => {
  const registry = () => new ServiceRegistry(
    [{ name: 'web1', address: '127.0.0.1' }, { name: 'mail', address: '127.0.0.1', reach: { method: 'tcp', port: servers.mail.port } }],
    [
      { target: 'web1', service: 'httpd', port: servers.web.port, check: { protocol: 'http' } },
      { target: 'web1', service: 'login', port: servers.login.port, check: { protocol: 'echo' } },
      { target: 'web1', service: 'frozen', port: servers.frozen.port, check: { protocol: 'http' } },
      { target: 'web1', service: 'gone', port: 1, check: { protocol: 'http' } },
      { target: 'mail', service: 'postfix', port: servers.mail.port, check: { protocol: 'banner', send: 'NOOP' } },
    ],
  );

  it('network, service and examine probes report ok / refused / timeout with measured latency', async () => {
    const p = new LiveProber(registry());
    expect(await p.probe({ kind: 'network', target: 'web1', timeoutUs: 1_000_000 })).toMatchObject({ ok: true, detail: 'ok' });
    expect(await p.probe({ kind: 'network', target: 'mail', timeoutUs: 1_000_000 })).toMatchObject({ ok: true, detail: 'ok' });
    expect(await p.probe({ kind: 'service', target: 'web1', service: 'httpd', timeoutUs: 1_000_000 })).toMatchObject({ ok: true, detail: 'ok' });
    expect(await p.probe({ kind: 'service', target: 'web1', service: 'gone', timeoutUs: 1_000_000 })).toMatchObject({ ok: false, detail: 'refused' });
    expect(await p.probe({ kind: 'service', target: 'mail', service: 'postfix', timeoutUs: 1_000_000 })).toMatchObject({ ok: true });
    const exam = { kind: 'examine', target: 'web1', networkTimeoutUs: 1_000_000, serviceTimeoutUs: 300_000 } as const;
    expect(await p.probe({ ...exam, services: ['httpd', 'login'] })).toMatchObject({ ok: true, detail: 'ok' });
    expect(await p.probe({ ...exam, services: ['httpd', 'gone', 'login'] })).toMatchObject({ ok: false, detail: 'service:gone:refused' });
    process.kill(servers.frozen.child.pid, 'SIGSTOP');
    try {
      const r = await p.probe({ ...exam, services: ['httpd', 'frozen'] });
      expect(r).toMatchObject({ ok: false, detail: 'service:frozen:timeout' });
      expect(r.latencyUs).toBeGreaterThanOrEqual(290_000);
    } finally {
      process.kill(servers.frozen.child.pid, 'SIGCONT');
    }
  });

  it('an unknown target or service is a configuration error, not a failed probe', async () => {
    const p = new LiveProber(registry());
    await expect(p.probe({ kind: 'network', target: 'nosuch', timeoutUs: 1_000_000 })).rejects.toThrow(/unknown target "nosuch"/);
    await expect(p.probe({ kind: 'examine', target: 'web1', services: ['httpd', 'ftp'], networkTimeoutUs: 1, serviceTimeoutUs: 1 })).rejects.toThrow(/unknown service "ftp"/);
    expect(() => new ServiceRegistry([{ name: 'a;b', address: '127.0.0.1' }], [])).toThrow(/invalid target name/);
    expect(() => new ServiceRegistry([{ name: 'a', address: 'example.org' }], [])).toThrow(/IPv4/);
    expect(() => new ServiceRegistry([{ name: 'a', address: '127.0.0.1' }], [{ target: 'a', service: 's', port: 80, check: { protocol: 'gopher' } as never }])).toThrow(/http, banner, echo/);
  });

  it('measures probe latencies on loopback', async () => {
    const p = new LiveProber(registry());
    const lat = async (spec: Parameters<LiveProber['probe']>[0]) => {
      const xs: number[] = [];
      for (let i = 0; i < 7; i++) xs.push((await p.probe(spec)).latencyUs / 1000);
      return median(xs);
    };
    const pingMs = await lat({ kind: 'network', target: 'web1', timeoutUs: 1_000_000 });
    const httpMs = await lat({ kind: 'service', target: 'web1', service: 'httpd', timeoutUs: 1_000_000 });
    const bannerMs = await lat({ kind: 'service', target: 'mail', service: 'postfix', timeoutUs: 1_000_000 });
    const echoMs = await lat({ kind: 'service', target: 'web1', service: 'login', timeoutUs: 1_000_000 });
    console.log(`[timing] probes (median of 7): ping ${pingMs.toFixed(1)} ms, http ${httpMs.toFixed(1)} ms, banner+NOOP ${bannerMs.toFixed(1)} ms, echo ${echoMs.toFixed(1)} ms`);
    expect(Math.max(pingMs, httpMs, bannerMs, echoMs)).toBeLessThan(1000);
  });

  it('ping takes addresses only, as argv', async () => {
    expect(() => ping('-f', 100)).toThrow(/IPv4/);
    expect(() => ping('127.0.0.1; reboot', 100)).toThrow(/IPv4/);
    expect(await ping('127.0.0.1', 1000)).toMatchObject({ ok: true, detail: 'ok' });
  });
});
