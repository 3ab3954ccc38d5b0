// The power supervisors' control channel: one JSON request per line on a Unix socket in the
// lab's state folder (mode 0700, root only), one JSON reply per line.
import { connect, createServer, type Server } from 'node:net';

export type PowerState = 'on' | 'off' | 'booting' | 'suspended' | 'resuming';
export type ProcState = 'running' | 'stopped' | 'frozen' | 'exited' | 'wedged';

export interface ProcStatus {
  name: string;
  kind: 'sshd' | 'service' | 'process';
  pid: number | null;
  state: ProcState;
  exitCode?: number | null;
}

export interface HostStatus {
  host: string;
  power: PowerState;
  /** The host's NIC (inside its namespace) and its cable (the bridge end). */
  link: { nic: 'up' | 'down'; cable: 'up' | 'down' };
  paused: boolean;
  procs: ProcStatus[];
  /** Every PID in the host's namespace (what `pause` stops and power-off kills). */
  nsPids: number[];
  bootAt?: string;
  supervisorPid: number;
}

export type ControlRequest =
  | { op: 'status' }
  /** detach (a cycle asked from inside the host): replied before the power goes. */
  | { op: 'power'; action: 'on' | 'off' | 'cycle' | 'suspend'; detach?: boolean }
  | { op: 'service'; action: 'start' | 'stop' | 'restart' | 'freeze' | 'thaw' | 'wedge' | 'kill'; service: string }
  | { op: 'pause' }
  | { op: 'unpause' }
  | { op: 'cable'; action: 'up' | 'down' }
  /**
   * Out-of-band fence of one address (as a BMC or a switch port would): confirmed gone when the
   * host is off or booting, taken off a paused host's interface from outside, refused while the
   * host runs (then only the host itself can drop it).
   */
  | { op: 'fence'; address: string }
  | { op: 'shutdown' };

export type ControlReply = { ok: true; status?: HostStatus; message?: string } | { ok: false; error: string };

export function serveControl(path: string, handle: (req: ControlRequest) => Promise<ControlReply>): Server {
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 1 << 16) return sock.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: ControlRequest;
        try {
          req = JSON.parse(line) as ControlRequest;
        } catch {
          sock.write(`${JSON.stringify({ ok: false, error: 'not JSON' })}\n`);
          continue;
        }
        handle(req).then(
          (reply) => sock.writable && sock.write(`${JSON.stringify(reply)}\n`),
          (e: unknown) => sock.writable && sock.write(`${JSON.stringify({ ok: false, error: (e as Error).message })}\n`),
        );
      }
    });
  });
  server.listen(path);
  return server;
}

/** Sends one request to a supervisor and waits for its reply. */
export function control(path: string, req: ControlRequest, timeoutMs = 30_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`supervisor at ${path}: no reply to ${req.op} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlReply);
      } catch (e) {
        reject(e as Error);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`supervisor at ${path}: ${e.message}`));
    });
  });
}

/** Like `control`, but throws on a refusal. */
export async function controlOk(path: string, req: ControlRequest, timeoutMs?: number): Promise<Extract<ControlReply, { ok: true }>> {
  const r = await control(path, req, timeoutMs);
  if (!r.ok) throw new Error(r.error);
  return r;
}
