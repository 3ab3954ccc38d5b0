// Service examination by request and reply, bounded by a timeout: the lab's client, `lab status`
// and the tests use it. A frozen (SIGSTOPped) daemon still completes TCP connects from its
// backlog, so only an answer counts.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Protocol } from './schema.ts';

export interface CheckResult {
  ok: boolean;
  /** 'ok' | 'timeout' | 'refused' | 'unreachable' | 'bad-reply' | 'closed' | an errno */
  detail: string;
  latencyMs: number;
  /** Who answered (HTTP body, second word of the banner), when the protocol tells. */
  servedBy?: string;
}

export interface CheckSpec {
  protocol: Protocol;
  address: string;
  port: number;
  timeoutMs: number;
  /** http: expected status (default "200"); banner: expected greeting prefix (default "220"). */
  expect?: string;
}

export function checkService(spec: CheckSpec): Promise<CheckResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let buf = '';
    let sock: Socket;
    const finish = (ok: boolean, detail: string, servedBy?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, detail, latencyMs: Math.round((performance.now() - t0) * 10) / 10, ...(servedBy ? { servedBy } : {}) });
    };
    const timer = setTimeout(() => finish(false, 'timeout'), spec.timeoutMs);
    const token = `hatwin-${randomBytes(6).toString('hex')}`;
    sock = connect({ host: spec.address, port: spec.port });
    sock.setEncoding('utf8');
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? 'error';
      finish(false, code === 'ECONNREFUSED' ? 'refused' : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'unreachable' : code.toLowerCase());
    });
    sock.on('connect', () => {
      if (spec.protocol === 'http') sock.write(`GET / HTTP/1.0\r\nHost: ${spec.address}\r\nUser-Agent: hatwin-lab\r\n\r\n`);
      if (spec.protocol === 'echo') sock.write(`${token}\n`);
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65536) return finish(false, 'bad-reply');
      if (spec.protocol === 'banner') {
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl).trim();
        if (!line.startsWith(spec.expect ?? '220')) return finish(false, 'bad-reply');
        sock.write('QUIT\r\n');
        finish(true, 'ok', line.split(/\s+/)[1]);
      } else if (spec.protocol === 'echo') {
        if (buf.includes(token)) finish(true, 'ok');
        else if (buf.includes('\n')) finish(false, 'bad-reply');
      }
    });
    sock.on('end', () => {
      if (spec.protocol !== 'http') return finish(false, 'closed');
      const m = /^HTTP\/\d\.\d (\d{3})/.exec(buf);
      if (!m) return finish(false, 'bad-reply');
      if (m[1] !== (spec.expect ?? '200')) return finish(false, `http-${m[1]}`);
      const body = buf.slice(buf.indexOf('\r\n\r\n') + 4).trim();
      finish(true, 'ok', body.split(/\s+/)[0] || undefined);
    });
  });
}
