// Service examination by request and reply, one checker per protocol the lab uses: the Prober
// port (prober.ts), the mini-lab's client and `lab status` (adapters/lab) and the tests use it. A
// bare TCP connect is not a check: a SIGSTOPped daemon's kernel still completes the handshake
// until the backlog fills (LAB-NOTES), so every checker waits for an answer from the daemon itself.
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type ServiceCheck =
  /**
   * GET `path`; a status line "HTTP/1.x NNN" with NNN in `okStatus` (default 200-399). The first
   * word of the body says who served it.
   */
  | { protocol: 'http'; path?: string; hostHeader?: string; okStatus?: [number, number] }
  /**
   * SMTP/FTP-style greeting: the first line starts with `expect` (default "220"); its second word
   * says who served it. With `send`, that line is sent next and the reply must start with
   * `expectReply` (default "2").
   */
  | { protocol: 'banner'; expect?: string; send?: string; expectReply?: string }
  /** Plain TCP echo: a fresh random line comes back unchanged. */
  | { protocol: 'echo' };

export interface CheckResult {
  ok: boolean;
  /**
   * One word (the lab's access log carries it as is): 'ok'; 'timeout' (no answer in time: frozen
   * or lost); 'unreachable' (the network said so); 'refused' (connection refused); 'closed'
   * (closed before the answer was complete); 'bad-reply' (a wrong answer, or one too long);
   * 'http-NNN' (a status outside the expected ones); another socket error's code in lower case.
   */
  detail: string;
  /** Wall time from the start to the verdict, in ms (to the µs). */
  latencyMs: number;
  /** Who answered, when the protocol tells (see ServiceCheck). */
  servedBy?: string;
}

/**
 * The outcome classes of the Prober port (as in sim): 'ok'; 'refused' (refused, reset, closed or
 * a wrong answer: the daemon is there but not serving); 'timeout'; 'unreachable'.
 */
export type CheckOutcome = 'ok' | 'refused' | 'timeout' | 'unreachable';

export function checkOutcome(r: CheckResult): CheckOutcome {
  if (r.ok) return 'ok';
  return r.detail === 'timeout' || r.detail === 'unreachable' ? r.detail : 'refused';
}

const MAX_REPLY_BYTES = 65536;

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

type Finish = (detail: string, servedBy?: string) => void;

/**
 * Opens a TCP connection to address:port and resolves once: with what `talk` finishes with, with
 * 'timeout' after `timeoutMs`, or with `onError(code)` on a socket error. The socket is
 * destroyed when it resolves.
 */
function attempt(
  address: string, port: number, timeoutMs: number,
  onError: (code: string) => string,
  talk: (sock: Socket, finish: Finish) => void,
): Promise<CheckResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = new Socket();
    let done = false;
    const finish: Finish = (detail, servedBy) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const latencyMs = Math.round((performance.now() - t0) * 1000) / 1000;
      resolve({ ok: detail === 'ok', detail, latencyMs, ...(servedBy ? { servedBy } : {}) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => finish(onError(e.code ?? 'error')));
    talk(sock, finish);
    sock.connect({ host: address, port });
  });
}

/** 'more' while the answer is incomplete; else the detail ('ok' passes) and who served it. */
type Verdict = 'more' | { detail: string; servedBy?: string };

const OK = (servedBy?: string): Verdict => ({ detail: 'ok', servedBy });
const BAD: Verdict = { detail: 'bad-reply' };

interface Dialog {
  /** Sent once connected (may be empty). */
  hello: string;
  /** Looks at everything received so far (`ended`: the peer has closed); may write more. */
  judge(received: string, write: (s: string) => void, ended: boolean): Verdict;
}

/** Connects, talks, and reports the outcome within `timeoutMs` overall. */
function exchange(address: string, port: number, timeoutMs: number, dialog: Dialog): Promise<CheckResult> {
  const onError = (code: string) => (code === 'ECONNREFUSED' ? 'refused' : UNREACHABLE.has(code) ? 'unreachable' : code.toLowerCase());
  return attempt(address, port, timeoutMs, onError, (sock, finish) => {
    let received = '';
    const verdict = (v: Verdict) => {
      if (v !== 'more') finish(v.detail, v.servedBy);
    };
    sock.setNoDelay(true);
    sock.on('connect', () => {
      if (dialog.hello) sock.write(dialog.hello);
    });
    sock.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      if (received.length > MAX_REPLY_BYTES) return finish('bad-reply');
      verdict(dialog.judge(received, (s) => sock.write(s), false));
    });
    sock.on('end', () => {
      const v = dialog.judge(received, () => {}, true);
      verdict(v === 'more' ? { detail: 'closed' } : v);
    });
  });
}

/** First complete line of `s` (without CR), or null while it is incomplete. */
function firstLine(s: string, from = 0): string | null {
  const i = s.indexOf('\n', from);
  return i < 0 ? null : s.slice(from, i).replace(/\r$/, '');
}

function httpDialog(c: Extract<ServiceCheck, { protocol: 'http' }>, address: string): Dialog {
  const path = c.path ?? '/';
  if (!/^\/[\x21-\x7e]*$/.test(path)) throw new RangeError(`http check path ${JSON.stringify(path)}: expected /printable-ascii`);
  const host = c.hostHeader ?? address;
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new RangeError(`http check host header ${JSON.stringify(host)} is not a host name`);
  const [lo, hi] = c.okStatus ?? [200, 399];
  return {
    hello: `GET ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: hatwin-probe\r\nConnection: close\r\n\r\n`,
    judge(received, _write, ended) {
      const line = firstLine(received) ?? (ended ? received : null);
      if (line === null) return 'more';
      const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(line);
      if (!m) return BAD;
      const status = Number(m[1]);
      if (status < lo || status > hi) return { detail: `http-${m[1]}` };
      // Passed; who served it is the body's first word, once it is whole (or the reply is over).
      const head = /\r?\n\r?\n/.exec(received);
      if (!head) return ended ? OK() : 'more';
      const body = received.slice(head.index + head[0].length);
      const word = (ended ? /^\s*(\S+)/ : /^\s*(\S+)\s/).exec(body);
      return word ? OK(word[1]) : ended ? OK() : 'more';
    },
  };
}

function bannerDialog(c: Extract<ServiceCheck, { protocol: 'banner' }>): Dialog {
  const expect = c.expect ?? '220';
  const send = c.send;
  if (send !== undefined && !/^[\x20-\x7e]+$/.test(send)) throw new RangeError(`banner check command ${JSON.stringify(send)}: one printable ASCII line expected`);
  const expectReply = c.expectReply ?? '2';
  let sent = false;
  return {
    hello: '',
    judge(received, write) {
      const greeting = firstLine(received);
      if (greeting === null) return 'more';
      if (!greeting.startsWith(expect)) return BAD;
      const servedBy = greeting.trim().split(/\s+/)[1];
      if (send === undefined) {
        write('QUIT\r\n');
        return OK(servedBy);
      }
      if (!sent) {
        sent = true;
        write(`${send}\r\n`);
      }
      const reply = firstLine(received, received.indexOf('\n') + 1);
      if (reply === null) return 'more';
      if (!reply.startsWith(expectReply)) return BAD;
      write('QUIT\r\n');
      return OK(servedBy);
    },
  };
}

function echoDialog(): Dialog {
  const line = `hatwin-${randomBytes(8).toString('hex')}\n`;
  return {
    hello: line,
    judge(received) {
      if (received.length < line.length) return line.startsWith(received) ? 'more' : BAD;
      return received.startsWith(line) ? OK() : BAD;
    },
  };
}

/** Examines a service at address:port with one request/reply within `timeoutMs`. */
export function checkService(address: string, port: number, check: ServiceCheck, timeoutMs: number): Promise<CheckResult> {
  let dialog: Dialog;
  switch (check.protocol) {
    case 'http':
      dialog = httpDialog(check, address);
      break;
    case 'banner':
      dialog = bannerDialog(check);
      break;
    case 'echo':
      dialog = echoDialog();
      break;
    default:
      throw new RangeError(`unknown service protocol ${(check as { protocol: string }).protocol}: expected http, banner or echo`);
  }
  return exchange(address, port, timeoutMs, dialog);
}

/**
 * Reachability by TCP (for targets that do not answer ICMP): a completed handshake or a refusal
 * both prove the host is up ('ok'); only silence ('timeout') or an ICMP or other socket error
 * ('unreachable') means it is not.
 */
export function tcpReach(address: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return attempt(address, port, timeoutMs, (code) => (code === 'ECONNREFUSED' ? 'ok' : 'unreachable'), (sock, finish) => {
    sock.on('connect', () => finish('ok'));
  });
}
