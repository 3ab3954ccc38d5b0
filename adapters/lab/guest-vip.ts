// VIPs inside the mini-lab's backup guests, which have no sshd: through the qemu guest agent
// (`virsh qemu-agent-command DOMAIN guest-exec`), busybox `ip addr add VIP/LEN dev eth0` then a
// gratuitous ARP (`arping -U`), as LAB-NOTES measured (the VIP answers ~70 ms after the command).
// Plugs into the live Network adapter as the VipDriver of a guest.
import type { VipDriver } from '../net/vip.ts';
import type { Exec, ExecResult } from '../ssh/exec.ts';
import { inCidr } from './ipv4.ts';
import { virsh } from './libvirt.ts';
import { domainName } from './names.ts';
import type { Lab } from './schema.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ExecStatus { exited: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string }

/**
 * Runs argv in the guest (busybox applets) and waits for it; returns stdout. `onLaunched` is
 * called once the guest agent has started the command (its pid came back): from then on the
 * command runs in the guest, and what is left is the status polls that wait for its end.
 */
export async function guestExec(lab: Lab, vm: string, args: string[], timeoutMs = 5_000, onLaunched?: () => void): Promise<string> {
  if (!lab.backupVms.some((v) => v.name === vm)) throw new Error(`lab "${lab.name}" has no backup VM "${vm}"`);
  const dom = domainName(lab, vm);
  // A paused or stopped guest's agent would only time out: say so at once.
  const state = (await virsh(['domstate', dom], { allowFail: true })).stdout.trim();
  if (state !== 'running') throw new Error(`${vm} is ${state || 'not defined'}: its guest agent cannot be asked`);
  const agent = async (cmd: object) => {
    const r = await virsh(['qemu-agent-command', '--timeout', String(Math.ceil(timeoutMs / 1000)), dom, JSON.stringify(cmd)], { timeoutMs: timeoutMs + 2_000 });
    return (JSON.parse(r.stdout) as { return: unknown }).return;
  };
  const { pid } = (await agent({ execute: 'guest-exec', arguments: { path: '/bin/busybox', arg: args, 'capture-output': true } })) as { pid: number };
  onLaunched?.();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = (await agent({ execute: 'guest-exec-status', arguments: { pid } })) as ExecStatus;
    if (st.exited) {
      const out = st['out-data'] ? Buffer.from(st['out-data'], 'base64').toString('utf8') : '';
      if (st.exitcode !== 0) {
        const err = st['err-data'] ? Buffer.from(st['err-data'], 'base64').toString('utf8') : '';
        throw new Error(`${vm}: busybox ${args.join(' ')} exited ${st.exitcode}: ${err.trim() || out.trim()}`);
      }
      return out;
    }
    if (Date.now() > deadline) throw new Error(`${vm}: busybox ${args.join(' ')} did not finish within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/**
 * When a VIP change in a guest takes effect for a client: an add once its gratuitous ARP is sent
 * (the arping launched; a client that has been talking to the old holder keeps that holder's MAC
 * until then, and its accesses go nowhere), a removal once `ip addr del` is launched. Each call
 * returns later, after the guest agent's status polls have seen the command end: 15-35 % of an
 * add's time, 20-130 ms, in the PSS's lab at load 1-6 (more where the polls are slow).
 */
export type VipEffect = (vip: string, op: 'add' | 'remove') => void;

export class GuestAgentVipDriver implements VipDriver {
  constructor(private readonly lab: Lab, private readonly vm: string, private readonly iface = 'eth0', private readonly onEffect?: VipEffect) {}

  private check(vip: string): string {
    if (!inCidr(this.lab.cidr, vip)) throw new Error(`VIP ${vip} is outside the lab subnet ${this.lab.subnet}`);
    return vip;
  }

  async add(vip: string): Promise<void> {
    this.check(vip);
    await guestExec(this.lab, this.vm, ['ip', 'addr', 'add', `${vip}/${this.lab.cidr.prefix}`, 'dev', this.iface]);
    await this.announce(vip);
  }

  /** Gratuitous ARP: without it a client kept the old holder's MAC for 45 s. Its failure is not the add's. */
  async announce(vip: string): Promise<void> {
    let sent = false;
    await guestExec(this.lab, this.vm, ['arping', '-U', '-c', '1', '-I', this.iface, '-s', vip, vip], 5_000, () => {
      sent = true;
      this.onEffect?.(vip, 'add');
    }).catch(() => undefined);
    // Not launched (the agent refused it): the address is on all the same, from now.
    if (!sent) this.onEffect?.(vip, 'add');
  }

  async remove(vip: string): Promise<void> {
    this.check(vip);
    await guestExec(this.lab, this.vm, ['ip', 'addr', 'del', `${vip}/${this.lab.cidr.prefix}`, 'dev', this.iface], 5_000, () => this.onEffect?.(vip, 'remove'));
  }

  async has(vip: string): Promise<boolean> {
    this.check(vip);
    return (await this.addresses()).includes(vip);
  }

  /** Every IPv4 address on the guest's interface, in one agent round trip. */
  async addresses(): Promise<string[]> {
    const out = await guestExec(this.lab, this.vm, ['ip', '-4', '-o', 'addr', 'show', 'dev', this.iface]);
    return [...out.matchAll(/ inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
  }
}

/**
 * Commands in the lab's guests (which have no sshd) as an Exec, through the qemu guest agent:
 * argv[0] is a busybox applet (`cat /proc/meminfo ...`). A guest that is not running, or a
 * command that fails, resolves with exit code 1 and the reason on stderr (as a failed SSH command).
 * The live LoadSampler reads a guest's /proc through it (the PSS's load inside each VM).
 */
export class GuestAgentExec implements Exec {
  constructor(private readonly lab: Lab) {}

  async exec(host: string, argv: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const t0 = performance.now();
    try {
      const stdout = await guestExec(this.lab, host, [...argv], opts.timeoutMs ?? 5_000);
      return { code: 0, signal: null, stdout, stderr: '', durationMs: performance.now() - t0 };
    } catch (e) {
      return { code: 1, signal: null, stdout: '', stderr: (e as Error).message, durationMs: performance.now() - t0 };
    }
  }

  close(): void {}
}

/** The file that holds a guest's written memory (its root is RAM-backed: about 30 MiB free). */
const BALLAST = '/hatwin-ballast';

/** Memory in use inside a guest, MiB (MemTotal - MemAvailable of its /proc/meminfo). */
export async function guestMemUsedMb(lab: Lab, vm: string): Promise<number> {
  const m = await guestExec(lab, vm, ['cat', '/proc/meminfo']);
  const kb = (k: string) => {
    const x = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(m);
    if (!x) throw new Error(`${vm}: no ${k} in /proc/meminfo`);
    return Number(x[1]);
  };
  return (kb('MemTotal') - kb('MemAvailable')) / 1024;
}

/**
 * Makes `mb` MiB of memory in use inside the guest (a file in its RAM-backed root; 0 removes
 * it): a scenario's `vmLoad` memory, live.
 */
export async function setGuestBallast(lab: Lab, vm: string, mb: number): Promise<void> {
  if (!Number.isInteger(mb) || mb < 0 || mb > 64) throw new RangeError(`ballast of ${mb} MiB in ${vm}: 0..64 MiB (the guest's root is small)`);
  await guestExec(lab, vm, ['rm', '-f', BALLAST]);
  if (mb > 0) await guestExec(lab, vm, ['dd', 'if=/dev/zero', `of=${BALLAST}`, 'bs=1M', `count=${mb}`], 30_000);
}
