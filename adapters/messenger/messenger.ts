// The Messenger port between agents over TCP: the papers' R/U/D/S reports, each signed with
// HMAC-SHA256 over (sender, sequence number, payload) under a key read from a file. Sequence
// numbers are per sender, strictly increasing and close to wall time (max(last + 1, now in µs)),
// so they keep increasing across a sender's restarts and a receiver can refuse stale ones even
// after its own restart. The receiver drops, and traces, a bad MAC, a replayed or old sequence
// number, a malformed or misaddressed frame; it hands good ones to the runtime's mailbox
// (`deliver(mailboxOf(to, box), msg)`) and acknowledges them, so `send` resolves once delivered.
// A send that fails rejects with a PortError: 'refused' (connection refused, or the receiver
// refused the frame), 'unreachable' (no route, or the connection went down before the
// acknowledgement), 'timeout' (no connection or no acknowledgement in time), 'failed' (no address
// for the peer, an invalid mailbox, the messenger closed).
import { createServer, Socket, type Server } from 'node:net';
import type { AgentMessage, Messenger } from '../../engine/ports/messenger.ts';
import { asPortError, PortError } from '../../engine/ports/errors.ts';
import { mailboxOf } from '../../engine/ports/messenger.ts';
import type { TraceSink } from '../../engine/ports/trace.ts';
import { assertIpv4, assertName, assertPort } from '../ssh/names.ts';
import { encodeAck, encodeMessage, MAX_FRAME_BYTES, openAck, openMessage, validBox } from './frame.ts';

export interface PeerAddress {
  address: string;
  port: number;
}

/** Splits a stream into lines; calls `onOversize` (and stops) when a line exceeds the limit. */
function lineReader(sock: Socket, onLine: (line: string) => void, onOversize: () => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.length > 0) onLine(line);
      if (sock.destroyed) return;
    }
    if (buf.length > MAX_FRAME_BYTES) {
      buf = '';
      onOversize();
    }
  });
}

export type DropReason = 'malformed' | 'bad-mac' | 'replay' | 'stale' | 'misaddressed' | 'oversize';

export interface MessengerServerOptions {
  /** This agent's name: only messages addressed to it are delivered. */
  agent: string;
  listen: PeerAddress;
  key: Buffer;
  /** Puts a message into a mailbox of the agent's runtime (runtime.deliver). */
  deliver: (mailbox: string, msg: AgentMessage) => void;
  trace?: TraceSink;
  /** Clock for trace events (the runtime's scheduler). */
  nowUs?: () => number;
  /**
   * Sequence numbers older than this (as wall time) are refused: a replay after this receiver
   * restarted (and forgot the last numbers) is too old by then. Agents' clocks must agree to
   * well within it (NTP in a real lab; one clock in the mini-lab). Default 60 s.
   */
  maxAgeMs?: number;
  /** Wall clock in ms (tests replace it). */
  wallMs?: () => number;
}

export class MessengerServer {
  private server: Server | null = null;
  private readonly lastSeq = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  /** The last 1000 dropped frames (the trace has them all). */
  readonly drops: Array<{ from?: string; seq?: number; reason: DropReason }> = [];

  constructor(private readonly o: MessengerServerOptions) {
    assertName('agent name', o.agent);
    assertIpv4('messenger listen address', o.listen.address);
    assertPort('messenger listen port', o.listen.port);
  }

  start(): Promise<void> {
    const server = createServer((sock) => this.onConnection(sock));
    server.maxConnections = 256;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listen.port, this.o.listen.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private drop(reason: DropReason, from?: string, seq?: number): void {
    this.drops.push({ from, seq, reason });
    if (this.drops.length > 1000) this.drops.splice(0, this.drops.length - 1000); // bounded: a flood must not grow memory
    this.o.trace?.emit({ t: this.o.nowUs?.() ?? 0, kind: 'msg.dropped', subject: this.o.agent, data: { reason, from: from ?? null, seq: seq ?? null } });
  }

  private onConnection(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setNoDelay(true);
    lineReader(sock, (line) => this.onLine(sock, line), () => {
      this.drop('oversize');
      sock.destroy();
    });
  }

  private onLine(sock: Socket, line: string): void {
    const o = this.o;
    const f = openMessage(o.key, line);
    if (!f.ok) {
      this.drop(f.reason, f.from, f.seq);
      if (f.reason === 'malformed') sock.destroy();
      // A bad MAC gets no answer at all: nothing to learn from.
      return;
    }
    const { seq, payload } = f;
    const nak = () => sock.write(encodeAck(o.key, o.agent, seq, false));
    if (payload.to !== o.agent) {
      this.drop('misaddressed', payload.from, seq);
      return void nak();
    }
    const last = this.lastSeq.get(payload.from) ?? -1;
    if (seq <= last) {
      this.drop('replay', payload.from, seq);
      return void nak();
    }
    const wallMs = o.wallMs?.() ?? Date.now();
    if (seq / 1000 < wallMs - (o.maxAgeMs ?? 60_000)) {
      this.drop('stale', payload.from, seq);
      return void nak();
    }
    this.lastSeq.set(payload.from, seq);
    sock.write(encodeAck(o.key, o.agent, seq, true));
    o.deliver(mailboxOf(o.agent, payload.box), payload.msg);
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.o.listen.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

export interface TcpMessengerOptions {
  /** The sending agent. */
  agent: string;
  key: Buffer;
  peers: Record<string, PeerAddress>;
  /** Connect + ack deadline per message. */
  timeoutMs?: number;
  /** Wall clock in ms (tests replace it). */
  wallMs?: () => number;
}

interface PeerConn {
  sock: Socket;
  ready: Promise<void>;
  waiting: Map<number, { resolve: (ok: boolean) => void; reject: (e: Error) => void }>;
}

export class TcpMessenger implements Messenger {
  private lastSeq = 0;
  private readonly conns = new Map<string, PeerConn>();
  /** Sends to one peer go one at a time, so they arrive in sequence order. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly o: TcpMessengerOptions) {
    assertName('agent name', o.agent);
    for (const [name, p] of Object.entries(o.peers)) {
      assertName('peer name', name);
      assertIpv4(`messenger address of ${name}`, p.address);
      assertPort(`messenger port of ${name}`, p.port);
    }
  }

  /** Strictly increasing, at least the wall clock in µs. */
  nextSeq(): number {
    const wallUs = Math.floor((this.o.wallMs?.() ?? Date.now()) * 1000);
    this.lastSeq = Math.max(this.lastSeq + 1, wallUs);
    return this.lastSeq;
  }

  send(to: string, mailbox: string, msg: AgentMessage): Promise<void> {
    const prev = this.queues.get(to) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.sendNow(to, mailbox, msg));
    this.queues.set(to, next);
    void next.finally(() => {
      if (this.queues.get(to) === next) this.queues.delete(to);
    }).catch(() => undefined);
    return next;
  }

  /** Sends one raw frame line and waits for its ack (tests use it to replay or forge frames). */
  async sendFrame(to: string, line: string, seq: number): Promise<boolean> {
    const c = this.connect(to);
    await c.ready;
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.waiting.delete(seq);
        const why = `message to ${to}: no acknowledgement within ${this.o.timeoutMs ?? 5_000} ms`;
        this.dropConn(to, c, new PortError('timeout', why, { to }));
        reject(new PortError('timeout', why, { to }));
      }, this.o.timeoutMs ?? 5_000);
      c.waiting.set(seq, {
        resolve: (ok) => (clearTimeout(timer), resolve(ok)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      c.sock.write(line);
    });
  }

  /** One message: resolves once acknowledged; rejects with a PortError (see the header). */
  private async sendNow(to: string, box: string, msg: AgentMessage): Promise<void> {
    try {
      if (this.closed) throw new PortError('failed', 'messenger is closed', { to });
      assertName('recipient', to);
      if (!validBox(box)) {
        throw new PortError('failed', `mailbox ${JSON.stringify(box)}: expected 1..200 printable characters`, { to });
      }
      if (!this.o.peers[to]) throw new PortError('failed', `message ${msg.type} to ${to}: no messenger address for that agent`, { to });
      const seq = this.nextSeq();
      const line = encodeMessage(this.o.key, seq, { from: this.o.agent, to, box, msg });
      const ok = await this.sendFrame(to, line, seq);
      if (!ok) throw new PortError('refused', `message ${msg.type} to ${to}: refused by the receiver (sequence, address or key)`, { to });
    } catch (e) {
      throw asPortError(e, undefined, { to });
    }
  }

  private connect(to: string): PeerConn {
    const have = this.conns.get(to);
    if (have && !have.sock.destroyed) return have;
    const peer = this.o.peers[to];
    if (!peer) throw new PortError('failed', `no messenger address for ${to}`, { to });
    const sock = new Socket();
    const waiting: PeerConn['waiting'] = new Map();
    const c: PeerConn = {
      sock,
      waiting,
      ready: new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new PortError('timeout', `message to ${to}: cannot connect to ${peer.address}:${peer.port} within ${this.o.timeoutMs ?? 5_000} ms`, { to }));
          sock.destroy();
        }, this.o.timeoutMs ?? 5_000);
        sock.once('connect', () => (clearTimeout(timer), resolve()));
        // ECONNREFUSED -> refused, EHOSTUNREACH/ENETUNREACH/... -> unreachable, ETIMEDOUT -> timeout.
        sock.once('error', (e) => (clearTimeout(timer), reject(asPortError(e, `message to ${to} (${peer.address}:${peer.port}): ${e.message}`, { to }))));
      }),
    };
    c.ready.catch((e: unknown) => this.dropConn(to, c, new PortError(asPortError(e).kind, `message to ${to}: connection failed`, { to })));
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    sock.on('close', () => this.dropConn(to, c, new PortError('unreachable', `message to ${to}: connection closed before the acknowledgement`, { to })));
    lineReader(sock, (line) => {
      const a = openAck(this.o.key, line, to);
      if (!a) return; // not from the peer we called: ignore
      const w = waiting.get(a.seq);
      if (!w) return;
      waiting.delete(a.seq);
      w.resolve(a.ok);
    }, () => sock.destroy());
    sock.connect({ host: peer.address, port: peer.port });
    this.conns.set(to, c);
    return c;
  }

  private dropConn(to: string, c: PeerConn, why: Error): void {
    if (this.conns.get(to) === c) this.conns.delete(to);
    c.sock.destroy();
    for (const w of c.waiting.values()) w.reject(why);
    c.waiting.clear();
  }

  close(): void {
    this.closed = true;
    for (const [to, c] of [...this.conns]) this.dropConn(to, c, new PortError('failed', 'messenger closed', { to }));
  }
}
