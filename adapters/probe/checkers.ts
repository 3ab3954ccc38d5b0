// Service examination by request and reply, one checker per protocol the lab uses. A bare TCP
// connect is not a check: a SIGSTOPped daemon's kernel still completes the handshake until the
// backlog fills (LAB-NOTES), so every checker waits for an answer from the daemon itself.
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type ServiceCheck =
  /** GET `path`; a status line "HTTP/1.x NNN" with NNN in `okStatus` (default 200-399). */
  | { protocol: 'http'; path?: string; hostHeader?: string; okStatus?: [number, number] }
  /**
   * SMTP/FTP-style greeting: the first line starts with `expect` (default "220"). With `send`,
   * that line is sent next and the reply must start with `expectReply` (default "2").
   */
  | { protocol: 'banner'; expect?: string; send?: string; expectReply?: string }
  /** Plain TCP echo: a fresh random line comes back unchanged. */
  | { protocol: 'echo' };

/**
 * 'ok'; 'refused' (connection refused or reset, or a wrong or missing answer: the daemon is
 * there but not serving); 'timeout' (no answer in time: frozen or lost); 'unreachable' (the
 * network said so).
 */
export type CheckOutcome = 'ok' | 'refused' | 'timeout' | 'unreachable';

export interface CheckResult {
  outcome: CheckOutcome;
  latencyUs: number;
  /** What went wrong, for traces and errors. */
  reason: string;
}

const MAX_REPLY_BYTES = 8192;

type Verdict = 'ok' | 'bad' | 'more';

interface Dialog {
  /** Sent once connected (may be empty). */
  hello: string;
  /** Looks at everything received so far; may write more. */
  judge(received: string, write: (s: string) => void): Verdict;
}

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/** Connects, talks, and reports the outcome within `timeoutMs` overall. */
function exchange(address: string, port: number, timeoutMs: number, dialog: Dialog): Promise<CheckResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = new Socket();
    let received = '';
    let done = false;
    const finish = (outcome: CheckOutcome, reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ outcome, reason, latencyUs: Math.max(1, Math.round((performance.now() - t0) * 1000)) });
    };
    const timer = setTimeout(() => finish('timeout', `no answer within ${timeoutMs} ms`), timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => {
      if (dialog.hello) sock.write(dialog.hello);
    });
    sock.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      if (received.length > MAX_REPLY_BYTES) return finish('refused', 'reply too long');
      const v = dialog.judge(received, (s) => sock.write(s));
      if (v === 'ok') finish('ok', 'ok');
      else if (v === 'bad') finish('refused', `unexpected reply ${JSON.stringify(received.slice(0, 80))}`);
    });
    sock.on('end', () => finish('refused', received ? `closed after ${JSON.stringify(received.slice(0, 80))}` : 'closed without a reply'));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (UNREACHABLE.has(e.code ?? '')) finish('unreachable', e.code!);
      else finish('refused', e.code ?? e.message);
    });
    sock.connect({ host: address, port });
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
    judge(received) {
      const line = firstLine(received);
      if (line === null) return 'more';
      const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(line);
      if (!m) return 'bad';
      const status = Number(m[1]);
      return status >= lo && status <= hi ? 'ok' : 'bad';
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
      if (!greeting.startsWith(expect)) return 'bad';
      if (send === undefined) {
        write('QUIT\r\n');
        return 'ok';
      }
      if (!sent) {
        sent = true;
        write(`${send}\r\n`);
      }
      const reply = firstLine(received, received.indexOf('\n') + 1);
      if (reply === null) return 'more';
      if (!reply.startsWith(expectReply)) return 'bad';
      write('QUIT\r\n');
      return 'ok';
    },
  };
}

function echoDialog(): Dialog {
  const line = `hatwin-${randomBytes(8).toString('hex')}\n`;
  return {
    hello: line,
    judge(received) {
      if (received.length < line.length) return line.startsWith(received) ? 'more' : 'bad';
      return received.startsWith(line) ? 'ok' : 'bad';
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
 * both prove the host is up; only silence or an ICMP error means it is not.
 */
export function tcpReach(address: string, port: number, timeoutMs: number): Promise<CheckResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = new Socket();
    let done = false;
    const finish = (outcome: CheckOutcome, reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ outcome, reason, latencyUs: Math.max(1, Math.round((performance.now() - t0) * 1000)) });
    };
    const timer = setTimeout(() => finish('timeout', `no answer within ${timeoutMs} ms`), timeoutMs);
    sock.on('connect', () => finish('ok', 'connected'));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') finish('ok', 'refused: the host answered');
      else if (UNREACHABLE.has(e.code ?? '')) finish('unreachable', e.code!);
      else finish('unreachable', e.code ?? e.message);
    });
    sock.connect({ host: address, port });
  });
}
