// Services inside the mini-lab's guests, which have no sshd: started and stopped through the qemu
// guest agent (guest-vip.ts guestExec), as the guest's /init runs them (busybox `nc -ll` with the
// handler of the service's protocol, answering with the guest's name). Other targets go to the
// services port given (hosts, over SSH).
import type { Services } from '../../engine/ports/exec.ts';
import { PortError } from '../../engine/ports/errors.ts';
import { guestExec } from './guest-vip.ts';
import type { Lab, LabGuestService } from './schema.ts';

const HANDLER: Record<LabGuestService['protocol'], string> = { http: '/svc/http.sh', banner: '/svc/banner.sh', echo: '/bin/cat' };

/** The shell lines (busybox sh in the guest) that start, stop or restart one service. */
export function guestServiceScript(vm: string, s: LabGuestService, action: 'start' | 'stop' | 'restart'): string {
  // Names and ports come from the validated lab file (letters, digits, "_", ".", "-"; a number).
  // The guest's busybox has no pgrep/pkill: the service's listeners are the processes whose
  // command line starts with "nc -ll -p PORT " (this shell's own starts with /bin/busybox).
  const listeners = `$(for p in /proc/[0-9]*; do case "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" in 'nc -ll -p ${s.port} '*) echo \${p#/proc/};; esac; done)`;
  const stop = `pids=${listeners}; [ -n "$pids" ] && kill $pids; i=0; while [ -n "${listeners}" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done`;
  const start = `[ -n "${listeners}" ] || HATWIN_NAME='${vm}' nc -ll -p "${s.port}" -e ${HANDLER[s.protocol]} </dev/null >/dev/null 2>&1 &`;
  if (action === 'stop') return `${stop}; true`;
  if (action === 'start') return start;
  return `${stop}; ${start}`;
}

export class GuestServices implements Services {
  constructor(private readonly lab: Lab, private readonly hosts?: Services) {}

  private async act(target: string, service: string, action: 'start' | 'stop' | 'restart'): Promise<void> {
    const vm = this.lab.backupVms.find((v) => v.name === target);
    if (!vm) {
      if (!this.hosts) throw new PortError('failed', `services: no way to reach "${target}" (not a guest of lab ${this.lab.name})`);
      return this.hosts[action](target, service) as Promise<void>;
    }
    const s = vm.services.find((x) => x.name === service);
    if (!s) throw new PortError('failed', `guest ${target} has no service "${service}"`);
    try {
      await guestExec(this.lab, vm.name, ['sh', '-c', guestServiceScript(vm.name, s, action)], 10_000);
    } catch (e) {
      const msg = (e as Error).message;
      // A guest that is not running cannot be asked: the target is gone.
      throw new PortError(/ is (shut off|paused|not defined|crashed)/.test(msg) ? 'unreachable' : 'failed', `${action} ${service} in ${target}: ${msg}`);
    }
  }

  start(target: string, service: string): Promise<void> {
    return this.act(target, service, 'start');
  }

  stop(target: string, service: string): Promise<void> {
    return this.act(target, service, 'stop');
  }

  restart(target: string, service: string): Promise<void> {
    return this.act(target, service, 'restart');
  }
}
