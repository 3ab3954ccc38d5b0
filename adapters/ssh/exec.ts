// Commands on managed hosts over SSH (npm ssh2): key authentication with a key read from a file,
// host keys pinned from known-hosts data (a host presenting any other key is refused), and
// commands given as argv, each argument quoted on its own (quote.ts), never a shell string built
// from names. One connection per host is kept and reused; a command that times out drops it (a
// frozen host keeps a dead TCP connection open).
//
// Failures are ExecErrors, which are PortErrors (engine/ports/errors.ts) of the kind that says
// what happened: 'refused' (connection refused, or authentication refused), 'unreachable' (no
// route, host down, name unknown, connection lost before the command ended), 'timeout' (the
// handshake or the command took too long), 'failed' (a non-zero exit status, a channel that
// could not be opened, a configuration error). A host presenting an unpinned key is a
// HostKeyMismatchError ('failed'; never retried as if the host were merely away).
import { createHash } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { errorCodeOf, kindOfErrorCode, PortError, type PortErrorKind } from '../../engine/ports/errors.ts';
import { assertIpv4, assertName, assertPort } from './names.ts';
import { commandLine } from './quote.ts';
import { hostKeyAlgorithms, keyIsPinned, parseKnownHosts, pinnedKeysFor, type PinnedKey } from './known-hosts.ts';
import { readSecretFile } from './secret-file.ts';

export interface ExecResult {
  /** Exit code, or null when the command ended by a signal or the connection closed first. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ExecOptions {
  /** Whole command, including connecting if needed. */
  timeoutMs?: number;
  stdin?: string;
}

/** Runs argv on a managed host. Resolves with any exit status; rejects when it cannot run it. */
export interface Exec {
  exec(host: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  close(): void;
  /** Ends the connection kept (or being opened) to `host`: the next command opens a new one. */
  forget?(host: string): void;
  /** Whether `host`'s SSH port accepts a TCP connection within `timeoutMs` (nothing is sent on it). */
  reachable?(host: string, timeoutMs: number): Promise<boolean>;
}

/** A command could not be run on a host, or did not succeed: a PortError of the right kind. */
export class ExecError extends PortError {
  override name = 'ExecError';
  constructor(message: string, readonly host: string, readonly result?: ExecResult, kind: PortErrorKind = 'failed', options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(kind, message, { host, ...options?.detail }, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** The host presented a key other than the pinned ones: nothing ran (kind 'failed', never "gone"). */
export class HostKeyMismatchError extends ExecError {
  override name = 'HostKeyMismatchError';
}

/**
 * The kind of an ssh2 connection error: by its Node.js code (ECONNREFUSED, EHOSTUNREACH, ...),
 * its level (handshake timeout, authentication refused), else 'failed'.
 */
export function sshErrorKind(err: unknown): PortErrorKind {
  const byCode = kindOfErrorCode(errorCodeOf(err));
  if (byCode) return byCode;
  const level = (err as { level?: unknown } | null)?.level;
  if (level === 'client-timeout') return 'timeout';
  if (level === 'client-authentication') return 'refused';
  return 'failed';
}

/** Throws unless the command exited 0 (the error carries stderr). */
export function ensureOk(host: string, argv: readonly string[], r: ExecResult): ExecResult {
  if (r.code !== 0) {
    const why = r.code === null ? `ended without exit status${r.signal ? ` (signal ${r.signal})` : ''}` : `exited ${r.code}`;
    // No exit status and no signal: the connection went down under the command.
    const kind: PortErrorKind = r.code === null && r.signal === null ? 'unreachable' : 'failed';
    throw new ExecError(`${host}: ${argv[0]} ${why}: ${r.stderr.trim().slice(0, 500) || r.stdout.trim().slice(0, 200)}`, host, r, kind, { detail: { code: r.code, signal: r.signal } });
  }
  return r;
}

/** Runs argv and rejects unless it exits 0. */
export async function run(exec: Exec, host: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  return ensureOk(host, argv, await exec.exec(host, argv, opts));
}

export interface SshHostConfig {
  name: string;
  address: string;
  port?: number;
  user: string;
  /** Private key file (mode 600). */
  keyFile: string;
}

export interface SshExecOptions {
  hosts: SshHostConfig[];
  /** known_hosts text holding the pinned keys of every host (by address and port). */
  knownHosts: string;
  knownHostsSource?: string;
  connectTimeoutMs?: number;
  defaultTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Bytes of stdout/stderr kept per command. */
  maxOutputBytes?: number;
}

/** SHA256 fingerprint as OpenSSH prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

interface Conn {
  client: Client;
  ready: Promise<Client>;
}

export class SshExec implements Exec {
  private readonly hosts = new Map<string, Required<SshHostConfig> & { pinned: PinnedKey[] }>();
  private readonly conns = new Map<string, Conn>();
  private readonly connectTimeoutMs: number;
  private readonly defaultTimeoutMs: number;
  private readonly keepaliveIntervalMs: number;
  private readonly maxOutputBytes: number;
  private closed = false;

  constructor(opts: SshExecOptions) {
    const entries = parseKnownHosts(opts.knownHosts, opts.knownHostsSource);
    for (const h of opts.hosts) {
      assertName('host name', h.name);
      assertIpv4(`ssh address of ${h.name}`, h.address);
      const port = assertPort(`ssh port of ${h.name}`, h.port ?? 22);
      const pinned = pinnedKeysFor(entries, h.address, port);
      if (pinned.length === 0) {
        throw new ExecError(
          `host ${h.name}: no pinned host key for ${port === 22 ? h.address : `[${h.address}]:${port}`} in ${opts.knownHostsSource ?? 'the known-hosts data'}`,
          h.name,
        );
      }
      if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(h.user)) throw new ExecError(`host ${h.name}: invalid ssh user ${JSON.stringify(h.user)}`, h.name);
      this.hosts.set(h.name, { ...h, port, pinned });
    }
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 20_000;
    this.keepaliveIntervalMs = opts.keepaliveIntervalMs ?? 2_000;
    this.maxOutputBytes = opts.maxOutputBytes ?? 1 << 20;
  }

  hasHost(host: string): boolean {
    return this.hosts.has(host);
  }

  private connect(host: string): Conn {
    const cached = this.conns.get(host);
    if (cached) return cached;
    const h = this.hosts.get(host);
    if (!h) throw new ExecError(`unknown host ${JSON.stringify(host)}: not in the lab's ssh hosts`, host);
    const client = new Client();
    let presented: Buffer | null = null;
    const config: ConnectConfig = {
      host: h.address,
      port: h.port,
      username: h.user,
      privateKey: readSecretFile(h.keyFile, `ssh key of ${host}`),
      readyTimeout: this.connectTimeoutMs,
      keepaliveInterval: this.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(h.pinned) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      hostVerifier: (key: Buffer) => {
        presented = key;
        return keyIsPinned(h.pinned, key);
      },
    };
    const conn: Conn = {
      client,
      ready: new Promise<Client>((resolve, reject) => {
        client.once('ready', () => {
          // Commands are a few small packets each way: with Nagle's algorithm on, a request
          // written while the peer delays its ACK waits ~40 ms (a kept connection's `true` took
          // 3 ms or 48-57 ms on the lab; each restart, VIP set and hand-back paid it).
          client.setNoDelay(true);
          resolve(client);
        });
        client.once('error', (err) => {
          this.drop(host, conn);
          if (presented && !keyIsPinned(h.pinned, presented)) {
            reject(new HostKeyMismatchError(
              `host ${host} (${h.address}:${h.port}) presented host key ${fingerprint(presented)}, which is not pinned: refusing to connect`,
              host,
            ));
          } else {
            reject(new ExecError(`ssh to ${host} (${h.address}:${h.port}): ${err.message}`, host, undefined, sshErrorKind(err), { cause: err }));
          }
        });
        client.once('close', () => {
          this.drop(host, conn);
          reject(new ExecError(`ssh to ${host}: connection closed`, host, undefined, 'unreachable'));
        });
      }),
    };
    // Later errors (after ready) only drop the connection; commands in flight see their channel close.
    client.on('error', () => this.drop(host, conn));
    conn.ready.catch(() => undefined);
    this.conns.set(host, conn);
    client.connect(config);
    return conn;
  }

  private drop(host: string, conn: Conn): void {
    if (this.conns.get(host) === conn) this.conns.delete(host);
    conn.client.end();
  }

  exec(host: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new ExecError('ssh exec is closed', host));
    let cmd: string;
    let conn: Conn;
    try {
      assertName('host name', host);
      cmd = commandLine(argv);
      conn = this.connect(host);
    } catch (e) {
      // Invalid names, arguments or key files: the command cannot be run ('failed', message kept).
      return Promise.reject(e instanceof PortError ? e : new ExecError((e as Error).message ?? String(e), host, undefined, 'failed', { cause: e }));
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const t0 = performance.now();
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        // The host may be frozen: do not reuse this connection.
        this.drop(host, conn);
        reject(new ExecError(`${host}: ${argv[0]} timed out after ${timeoutMs} ms`, host, undefined, 'timeout'));
      }, timeoutMs);
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      };
      conn.ready.then((client) => {
        if (settled) return;
        client.exec(cmd, (err, stream) => {
          if (err) return fail(new ExecError(`${host}: cannot run ${argv[0]}: ${err.message}`, host, undefined, 'failed', { cause: err }));
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let outBytes = 0;
          let errBytes = 0;
          let code: number | null = null;
          let signal: string | null = null;
          stream.on('data', (d: Buffer) => {
            if (outBytes < this.maxOutputBytes) out.push(d);
            outBytes += d.length;
          });
          stream.stderr.on('data', (d: Buffer) => {
            if (errBytes < this.maxOutputBytes) errOut.push(d);
            errBytes += d.length;
          });
          stream.on('exit', (c: number | null, sig?: string) => {
            code = typeof c === 'number' ? c : null;
            signal = sig ?? null;
          });
          stream.on('close', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({
              code,
              signal,
              stdout: Buffer.concat(out).subarray(0, this.maxOutputBytes).toString('utf8'),
              stderr: Buffer.concat(errOut).subarray(0, this.maxOutputBytes).toString('utf8'),
              durationMs: performance.now() - t0,
            });
          });
          stream.end(opts.stdin ?? undefined);
        });
      }, fail);
    });
  }

  /**
   * Copies the local file `localPath` to `remotePath` on `host` by SFTP over the host's pinned
   * connection, at most `rateBps` bits per second when given (the copy is paced), to
   * `remotePath.part` first and renamed when complete, so a copy cut short leaves no image
   * behind. Resolves with the bytes copied; a host that goes away mid-copy rejects 'unreachable',
   * one that takes longer than `timeoutMs` 'timeout'.
   */
  async putFile(host: string, localPath: string, remotePath: string, opts: { rateBps?: number; timeoutMs?: number } = {}): Promise<number> {
    if (this.closed) throw new ExecError('ssh exec is closed', host);
    assertName('host name', host);
    const client = await this.connect(host).ready;
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(new ExecError(`${host}: sftp: ${err.message}`, host, undefined, 'failed', { cause: err })) : resolve(s))));
    const part = `${remotePath}.part`;
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    let timer: NodeJS.Timeout | null = null;
    const source = createReadStream(localPath, { highWaterMark: 64 * 1024 });
    const sink = sftp.createWriteStream(part, { mode: 0o600 });
    const gone = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        source.destroy();
        sink.destroy();
        this.dropHost(host);
        reject(new ExecError(`${host}: copy to ${remotePath} timed out after ${timeoutMs} ms`, host, undefined, 'timeout'));
      }, timeoutMs);
      client.once('close', () => reject(new ExecError(`${host}: connection closed during the copy to ${remotePath}`, host, undefined, 'unreachable')));
    });
    gone.catch(() => undefined);
    try {
      await Promise.race([pipeline(source, counter, ...(opts.rateBps ? [pace(opts.rateBps)] : []), sink), gone]);
      await Promise.race([new Promise<void>((resolve, reject) => {
        // OpenSSH's posix-rename replaces an older image in one step.
        sftp.ext_openssh_rename(part, remotePath, (err) => (err ? reject(new ExecError(`${host}: rename ${part}: ${err.message}`, host, undefined, 'failed', { cause: err })) : resolve()));
      }), gone]);
      return bytes;
    } catch (e) {
      sftp.unlink(part, () => undefined);
      if (e instanceof PortError) throw e;
      throw new ExecError(`${host}: copy to ${remotePath}: ${(e as Error).message}`, host, undefined, kindOfErrorCode(errorCodeOf(e)) ?? 'failed', { cause: e });
    } finally {
      if (timer) clearTimeout(timer);
      sftp.end();
    }
  }

  private dropHost(host: string): void {
    const c = this.conns.get(host);
    if (c) this.drop(host, c);
  }

  forget(host: string): void {
    this.dropHost(host);
  }

  reachable(host: string, timeoutMs: number): Promise<boolean> {
    const h = this.hosts.get(host);
    if (!h || this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const sock = tcpConnect({ host: h.address, port: h.port });
      const end = (ok: boolean) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => end(false), timeoutMs);
      sock.once('connect', () => end(true));
      sock.once('error', () => end(false));
    });
  }

  /** Ends every connection. */
  close(): void {
    this.closed = true;
    for (const [host, c] of [...this.conns]) this.drop(host, c);
  }
}

/** A pass-through stream that holds chunks back so that at most `rateBps` bits per second pass. */
export function pace(rateBps: number): Transform {
  if (!(rateBps > 0)) throw new RangeError(`rate must be positive, got ${rateBps}`);
  const t0 = performance.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      sent += chunk.length;
      const dueMs = (sent * 8 * 1000) / rateBps - (performance.now() - t0);
      if (dueMs <= 0) cb(null, chunk);
      else setTimeout(() => cb(null, chunk), dueMs);
    },
  });
}
