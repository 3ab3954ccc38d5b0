// An agent's Hypervisor port that needs the network path to the host it acts on, as a remote
// hypervisor does (`qemu+ssh://HOST` opens an SSH connection to HOST before every call it
// makes). The mini-lab's agents all reach one local libvirtd, so without this a partition's drop
// rules never cut a manager's VM control: a manager cut off from Web1 still resumed a VM "on"
// Web1, where the sim's port refused it (Web1 is unreachable from FTP). Each call that names its
// host first opens a TCP connection to that host's sshd from the agent's own namespace; one that
// does not open within the timeout fails as 'unreachable' without touching libvirt.
import { connect } from 'node:net';
import type { Hypervisor, VmInfo } from '../../engine/ports/hypervisor.ts';
import { PortError } from '../../engine/ports/errors.ts';

/**
 * Whether `address:port` answers a TCP connection within `timeoutMs`. A refusal counts as an
 * answer: the host is there, only nothing listens. A timer that fires late (a stalled event loop)
 * looks once more, after the loop's poll, before it says no.
 */
export function tcpReach(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'));
    const timer = setTimeout(() => setImmediate(() => done(false)), timeoutMs);
  });
}

export interface ReachGateOptions {
  /** The agent's own host: its calls on itself need no network. */
  self: string;
  /** Whether the agent reaches `host` now (the lab's: `tcpReach` to the host's sshd). */
  reach: (host: string) => Promise<boolean>;
}

/**
 * `inner` with its host-naming calls (define, start, resume, and a move's destination) gated on
 * the path to that host, as the sim's Hypervisor port gates them. A suspend and a destroy name
 * only the VM: the lab's record of where a VM runs is each agent's own bookkeeping (one libvirtd
 * for every host), not something another agent's process can be asked, so they are not gated.
 */
export class ReachGatedHypervisor implements Hypervisor {
  constructor(private readonly inner: Hypervisor, private readonly opts: ReachGateOptions) {}

  private async gate(host: string): Promise<void> {
    if (host === this.opts.self) return;
    if (!(await this.opts.reach(host))) throw new PortError('unreachable', `${host} is unreachable from ${this.opts.self}`, { target: host });
  }

  async define(vm: string, host: string): Promise<void> {
    await this.gate(host);
    return this.inner.define(vm, host);
  }

  async start(vm: string, host: string): Promise<void> {
    await this.gate(host);
    return this.inner.start(vm, host);
  }

  async resume(vm: string, host: string): Promise<void> {
    await this.gate(host);
    return this.inner.resume(vm, host);
  }

  async migrate(vm: string, toHost: string): Promise<void> {
    await this.gate(toHost);
    return this.inner.migrate(vm, toHost);
  }

  async suspend(vm: string): Promise<void> {
    return this.inner.suspend(vm);
  }

  async destroy(vm: string): Promise<void> {
    return this.inner.destroy(vm);
  }

  async list(host?: string): Promise<VmInfo[]> {
    return this.inner.list(host);
  }

  async get(vm: string): Promise<VmInfo | undefined> {
    return this.inner.get(vm);
  }
}
