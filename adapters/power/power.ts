// The Power port against real machines: wake (and resume from suspend) by a Wake-on-LAN magic
// packet on the lab subnet; shutdown, reboot and suspend by argv templates run over SSH. There
// are no built-in commands: in a mini-lab a "host" is a namespace of this machine, and a plain
// `poweroff` there would end the machine itself; the lab file says what power means.
// Failures reject with PortErrors: the SSH ones as exec.ts classifies them (a non-zero exit
// status is 'failed'), a magic packet that cannot be sent by its socket error code, a command
// or MAC that is not configured 'failed'.
import { asPortError, PortError } from '../../engine/ports/errors.ts';
import type { Power } from '../../engine/ports/power.ts';
import { ensureOk, type Exec } from '../ssh/exec.ts';
import { assertName, parseMac } from '../ssh/names.ts';
import { checkTemplate, expand, type ArgvTemplate } from '../ssh/template.ts';
import { sendMagicPacket, type WakeOptions } from '../wol/magic.ts';

export interface PowerCommands {
  shutdown?: ArgvTemplate;
  reboot?: ArgvTemplate;
  suspend?: ArgvTemplate;
}

export interface LivePowerOptions {
  exec: Exec;
  wol: WakeOptions;
  /** MAC of each host, for resume (and for wake by host name). */
  macs?: Record<string, string>;
  /** Templates with {host}. */
  commands?: PowerCommands;
  timeoutMs?: number;
  /**
   * `resume` resolves once the host answers again (a command over SSH succeeds, on a new
   * connection once its SSH port accepts one: probed every `pollMs`, default 100 ms), as a resume
   * in the sim resolves when the host is on and a new connection ran a command; the magic packet
   * is sent again every `resendMs` (default 5 s). Without it, `resume` resolves when the packet is sent.
   */
  resumeWait?: { timeoutMs: number; pollMs?: number; resendMs?: number };
}

export class LivePower implements Power {
  private readonly commands: PowerCommands = {};

  constructor(private readonly opts: LivePowerOptions) {
    for (const k of ['shutdown', 'reboot', 'suspend'] as const) {
      const t = opts.commands?.[k];
      if (t !== undefined) this.commands[k] = checkTemplate(`power.${k}`, t, ['host']);
    }
    for (const [host, mac] of Object.entries(opts.macs ?? {})) {
      assertName('host name', host);
      parseMac(mac);
    }
  }

  async wake(mac: string): Promise<void> {
    try {
      await sendMagicPacket(mac, this.opts.wol);
    } catch (e) {
      throw asPortError(e);
    }
  }

  /**
   * Runs a power command. The host may drop the connection while going down: a channel that
   * closes without an exit status counts as done; a non-zero exit status is an error.
   */
  private async command(kind: keyof PowerCommands, host: string): Promise<void> {
    try {
      assertName('host name', host);
      const t = this.commands[kind];
      if (!t) throw new PortError('failed', `power.${kind} is not configured: add a ${kind} command (argv) to the lab's power settings`, { host });
      const argv = expand(t, { host });
      const r = await this.opts.exec.exec(host, argv, { timeoutMs: this.opts.timeoutMs ?? 15_000 });
      if (r.code === null && r.signal === null) return;
      ensureOk(host, argv, r);
    } catch (e) {
      throw asPortError(e, undefined, { host });
    }
  }

  shutdown(host: string): Promise<void> {
    return this.command('shutdown', host);
  }
  reboot(host: string): Promise<void> {
    return this.command('reboot', host);
  }
  suspend(host: string): Promise<void> {
    return this.command('suspend', host);
  }

  /** A suspended server wakes on a magic packet for its MAC. */
  async resume(host: string): Promise<void> {
    try {
      assertName('host name', host);
      const mac = this.opts.macs?.[host];
      if (!mac) throw new PortError('failed', `power.resume ${host}: no MAC configured for it`, { host });
      await this.wake(mac);
      const w = this.opts.resumeWait;
      if (!w) return;
      const t0 = Date.now();
      let sent = t0;
      let last = '';
      const pollMs = w.pollMs ?? 100;
      const check = async () => {
        if (Date.now() - t0 > w.timeoutMs) throw new PortError('timeout', `power.resume ${host}: not answering ${w.timeoutMs} ms after the magic packet (${last})`, { host });
        if (Date.now() - sent >= (w.resendMs ?? 5_000)) {
          await this.wake(mac);
          sent = Date.now();
        }
      };
      // The SSH connection kept from before the suspension (or one being opened meanwhile) sent
      // into a cut cable: TCP backs off its retransmissions (a SYN again after 1 s, 3 s, 7 s), so a
      // command on it was answered up to 4.4 s after the host was on again in the lab. A new
      // connection once the host's SSH port accepts one instead: a probe every pollMs, each its
      // own SYN, the first one answered ends the wait.
      const { exec } = this.opts;
      exec.forget?.(host);
      if (exec.reachable) {
        let open = false;
        let opened!: () => void;
        const whenOpen = new Promise<void>((r) => (opened = r));
        while (!open) {
          await check();
          void exec.reachable(host, Math.max(pollMs, Math.min(1_000, w.timeoutMs))).then((ok) => {
            if (ok) {
              open = true;
              opened();
            }
          });
          await Promise.race([whenOpen, new Promise((r) => setTimeout(r, pollMs))]);
          last = 'its SSH port does not accept a connection';
        }
      }
      for (;;) {
        try {
          const r = await exec.exec(host, ['true'], { timeoutMs: Math.min(2_000, w.timeoutMs) });
          if (r.code === 0) return;
          last = `exit ${r.code}`;
        } catch (e) {
          last = (e as Error).message;
        }
        await check();
        await new Promise((r) => setTimeout(r, pollMs));
      }
    } catch (e) {
      throw asPortError(e, undefined, { host });
    }
  }
}
