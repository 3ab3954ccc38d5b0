// Agent messages over real TCP on loopback between two runtimes on the wall-clock scheduler:
// an R/U/D/S report sent by one agent's process arrives in the other agent's mailbox; a frame
// with a bad MAC, a replayed frame, a stale sequence number or a misaddressed one is dropped and
// traced, and never reaches a mailbox. The key comes from a mode-600 file.
import { Socket } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../engine/runtime/runtime.ts';
import { S, receive, trace, type Process } from '../engine/runtime/effects.ts';
import { call, mailboxOf, type AgentMessage, type TraceEvent } from '../engine/ports/index.ts';
import { RealtimeScheduler } from '../adapters/realtime/scheduler.ts';
import { MessengerServer, TcpMessenger } from '../adapters/messenger/messenger.ts';
import { encodeMessage } from '../adapters/messenger/frame.ts';
import { readHmacKey } from '../adapters/messenger/key.ts';
import { freePort, tempDir, until } from './helpers/live/procs.ts';

let tmp: { dir: string; remove: () => void };
let key: Buffer;
let sched: RealtimeScheduler;
let rtB: Runtime;
let server: MessengerServer;
let portB: number;
const traced: TraceEvent[] = [];
const received: AgentMessage[] = [];

function* inbox(): Process<void> {
  for (;;) {
    const m = yield* receive<AgentMessage>(mailboxOf('Web1', 'p2/Login'));
    if (!m) continue;
    received.push(m);
    yield* trace('report.received', 'Web1', { type: m.type, from: m.from });
  }
}

beforeAll(async () => {
  tmp = tempDir('msg');
  const keyFile = join(tmp.dir, 'agents.key');
  writeFileSync(keyFile, 'f3c1a9e4b7d2086e5a4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d\n', { mode: 0o600 });
  key = readHmacKey(keyFile);
  sched = new RealtimeScheduler();
  const sink = { emit: (ev: TraceEvent) => traced.push(ev) };
  rtB = new Runtime({ scheduler: sched, ports: () => ({}), trace: sink, watchMode: 'naive' });
  rtB.start('inbox', inbox(), 'Web1');
  portB = await freePort();
  server = new MessengerServer({ agent: 'Web1', listen: { address: '127.0.0.1', port: portB }, key, deliver: (mb, msg) => rtB.deliver(mb, msg), trace: sink, nowUs: () => sched.nowUs() });
  await server.start();
});

afterAll(async () => {
  await server?.close();
  sched?.close();
  tmp?.remove();
});

/** Writes raw lines to the receiver and returns what it answers within `ms`. */
async function rawExchange(lines: string[], ms = 300): Promise<string> {
  const sock = new Socket();
  let answer = '';
  sock.on('data', (d) => (answer += d.toString()));
  sock.on('error', () => undefined);
  await new Promise<void>((r) => sock.connect({ host: '127.0.0.1', port: portB }, () => r()));
  for (const l of lines) sock.write(l);
  await new Promise((r) => setTimeout(r, ms));
  sock.destroy();
  return answer;
}

const report = (type: string, from = 'Mail'): AgentMessage => ({ from, to: 'Web1', type, body: { target: 'Login', detectedUs: 1 } });

describe('HMAC-signed agent messages over TCP', () => {
  it('a process on one agent sends a U report; the other agent\'s process receives it from its mailbox', async () => {
    const schedA = new RealtimeScheduler();
    const mA = new TcpMessenger({ agent: 'Mail', key, peers: { Web1: { address: '127.0.0.1', port: portB } } });
    const rtA = new Runtime({ scheduler: schedA, ports: () => ({ messenger: mA }), watchMode: 'naive' });
    const done: string[] = [];
    function* p1(): Process<void> {
      for (const type of ['U', 'D', 'R']) yield* call('messenger', 'send', 'Web1', 'p2/Login', report(type));
      done.push('sent');
    }
    rtA.start('p1', p1(), 'Mail');
    await until(() => received.length >= 3, 5_000, 'three reports received');
    expect(received.map((m) => m.type)).toEqual(['U', 'D', 'R']);
    expect(received[0]).toEqual(report('U'));
    await until(() => done.length === 1, 2_000, 'sender resumed after the last acknowledgement');
    expect(traced.filter((e) => e.kind === 'report.received').map((e) => e.data?.type)).toEqual(['U', 'D', 'R']);
    mA.close();
    schedA.close();
  });

  it('drops and traces a bad MAC, a replay, a stale sequence number and a misaddressed frame', async () => {
    const before = received.length;
    const mA = new TcpMessenger({ agent: 'FTP', key, peers: { Web1: { address: '127.0.0.1', port: portB } } });
    const seq = mA.nextSeq();
    const good = encodeMessage(key, seq, { from: 'FTP', to: 'Web1', box: 'p2/Login', msg: report('S', 'FTP') });
    expect(await mA.sendFrame('Web1', good, seq)).toBe(true);
    await until(() => received.length === before + 1, 2_000, 'good frame delivered');

    // The same frame again (a replay), and an older sequence number, are refused.
    expect(await mA.sendFrame('Web1', good, seq)).toBe(false);
    const older = encodeMessage(key, seq - 1, { from: 'FTP', to: 'Web1', box: 'p2/Login', msg: report('S', 'FTP') });
    expect(await mA.sendFrame('Web1', older, seq - 1)).toBe(false);
    // Signed with another key: no answer at all, nothing delivered.
    const forged = encodeMessage(Buffer.from('x'.repeat(64)), seq + 10, { from: 'FTP', to: 'Web1', box: 'p2/Login', msg: report('D', 'FTP') });
    expect(await rawExchange([forged])).toBe('');
    // A payload changed after signing.
    const f = JSON.parse(good);
    const tampered = `${JSON.stringify({ ...f, seq: seq + 20, p: f.p.replace('"S"', '"D"') })}\n`;
    expect(await rawExchange([tampered])).toBe('');
    // A sender restarting with an old captured frame after the receiver forgot it: too old.
    const ancient = Math.floor((Date.now() - 10 * 60_000) * 1000);
    const stale = encodeMessage(key, ancient, { from: 'Login', to: 'Web1', box: 'p2/Login', msg: report('U', 'Login') });
    expect(await mA.sendFrame('Web1', stale, ancient)).toBe(false);
    // Addressed to another agent.
    const s2 = mA.nextSeq();
    const wrongTo = encodeMessage(key, s2, { from: 'FTP', to: 'Mail', box: 'p2/Login', msg: report('U', 'FTP') });
    expect(await mA.sendFrame('Web1', wrongTo, s2)).toBe(false);
    // Garbage closes the connection.
    expect(await rawExchange(['{"v":1,"seq":"x"}\n'])).toBe('');

    await new Promise((r) => setTimeout(r, 50));
    expect(received.length).toBe(before + 1);
    const drops = traced.filter((e) => e.kind === 'msg.dropped').map((e) => e.data?.reason);
    expect(drops).toEqual(['replay', 'replay', 'bad-mac', 'bad-mac', 'stale', 'misaddressed', 'malformed']);
    expect(traced.find((e) => e.kind === 'msg.dropped')).toMatchObject({ subject: 'Web1', data: { from: 'FTP', seq } });
    // After all that, the honest sender still gets through (its sequence keeps increasing).
    await mA.send('Web1', 'p2/Login', report('R', 'FTP'));
    await until(() => received.length === before + 2, 2_000, 'later good message delivered');
    mA.close();
  });

  it('send rejects when the receiver refuses or is not there', async () => {
    const wrongKey = new TcpMessenger({ agent: 'Mail', key: Buffer.from('y'.repeat(64)), peers: { Web1: { address: '127.0.0.1', port: portB } }, timeoutMs: 400 });
    await expect(wrongKey.send('Web1', 'p2/Login', report('U'))).rejects.toThrow(/no acknowledgement/);
    wrongKey.close();
    const nobody = new TcpMessenger({ agent: 'Mail', key, peers: { Web1: { address: '127.0.0.1', port: await freePort() } }, timeoutMs: 400 });
    await expect(nobody.send('Web1', 'p2/Login', report('U'))).rejects.toThrow(/ECONNREFUSED/);
    await expect(nobody.send('Elsewhere', 'p2/Login', report('U'))).rejects.toThrow(/no messenger address/);
    nobody.close();
  });

  it('reads the key from a file only when only its owner can read it, and only a long one', () => {
    const f = join(tmp.dir, 'lax.key');
    writeFileSync(f, 'z'.repeat(64));
    chmodSync(f, 0o644);
    expect(() => readHmacKey(f)).toThrow(/too open.*chmod 600/);
    chmodSync(f, 0o600);
    expect(readHmacKey(f).length).toBe(64);
    writeFileSync(f, '1111\n');
    expect(() => readHmacKey(f)).toThrow(/at least 32/);
    expect(() => readHmacKey(join(tmp.dir, 'missing.key'))).toThrow(/cannot read it \(ENOENT\)/);
  });

  it('measures a signed message round trip (send until acknowledged)', async () => {
    const mA = new TcpMessenger({ agent: 'Login', key, peers: { Web1: { address: '127.0.0.1', port: portB } } });
    const xs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await mA.send('Web1', 'timing', report('S', 'Login'));
      xs.push(performance.now() - t0);
    }
    mA.close();
    xs.sort((a, b) => a - b);
    console.log(`[timing] messenger: first send (connect) ${xs[xs.length - 1].toFixed(1)} ms max, median ${xs[5].toFixed(2)} ms`);
    expect(xs[5]).toBeLessThan(200);
  });
});
