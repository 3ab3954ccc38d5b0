// `hatwin lab ...`: the mini-lab commands. They need the Debian packages of scripts/apt/lab.txt.
import type { Command } from 'commander';
import { labSettleStep } from '../../run/labsettle.ts';
import { LAB_FAULTS, formatStatus, labDown, labFault, labLeftovers, labPower, labService, labStatus, labUp, sendWake, type LabFault } from '../../adapters/lab/lab.ts';
import { loadLab, type Lab } from '../../adapters/lab/schema.ts';
import { guardedWith, sayer } from '../output.ts';
import { ensureNeeds } from '../needs.ts';

const say = sayer('lab');
const guarded = guardedWith(say);

/** The lab file (its errors first: exit 2), then the lab's Debian packages. */
function openLab(file: string): Lab {
  const l = loadLab(file);
  ensureNeeds('lab', { log: say });
  return l;
}

export function register(program: Command): void {
  const lab = program.command('lab').description('the mini-lab on this machine: namespaces, sshd, services, etcd, libvirt guests, a client (root)');

  lab.command('up')
    .description('build the lab (cleans leftovers of an earlier run first)')
    .argument('<lab>', 'lab file, e.g. experiments/labs/p2p-mini.yaml')
    .action(guarded(async (file: string) => {
      const l = openLab(file);
      try {
        const r = await labUp(l, say, { settle: labSettleStep });
        say(`up in ${(r.timingsMs.total / 1000).toFixed(1)} s (${Object.entries(r.timingsMs).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')})`);
        console.log(formatStatus(await labStatus(l)));
      } catch (e) {
        say(`up failed: ${(e as Error).message}`);
        say('tearing down what was built');
        await labDown(l, say).catch((d: Error) => say(`down: ${d.message}`));
        process.exitCode = 1;
      }
    }));

  lab.command('down')
    .description('tear the lab down: processes (by PID, waited for), guests, namespaces, bridge, state folder')
    .argument('<lab>')
    .action(guarded(async (file: string) => {
      const l = openLab(file);
      await labDown(l, say);
      const left = await labLeftovers(l);
      if (left.length) {
        say(`left behind: ${left.join(', ')}`);
        process.exitCode = 1;
      }
    }));

  lab.command('status')
    .description('hosts (power, link, processes, service checks), guests, VIPs, etcd health, client')
    .argument('<lab>')
    .option('--json', 'print JSON')
    .action(guarded(async (file: string, o: { json?: boolean }) => {
      const s = await labStatus(openLab(file));
      console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      if (!s.up) process.exitCode = 3;
    }));

  lab.command('fault')
    .description(`inject a live fault on a host: ${LAB_FAULTS.join('|')} (St1 stop the service; St2 wedge it: SIGSTOP, restarts fail; Nt1 power-cycle; Nt2 power off; pause SIGSTOP the whole host; link-down pull its cable; partition-oneway it hears nothing from the lab; heal lifts network faults, pause and freezes; kill SIGKILLs a service or process and its children)`)
    .argument('<lab>')
    .argument('<host>')
    .argument('<fault>')
    .option('--service <name>', 'St1/St2: the service (default: the host\'s first)')
    .option('--peer <name>', 'partition-oneway: drop only what comes from this node')
    .action(guarded(async (file: string, host: string, fault: string, o: { service?: string; peer?: string }) => {
      if (!(LAB_FAULTS as readonly string[]).includes(fault)) throw new Error(`unknown fault "${fault}" (known: ${LAB_FAULTS.join(', ')})`);
      console.log(await labFault(openLab(file), host, fault as LabFault, o));
    }));

  lab.command('power')
    .description('a host\'s boot command / power button: on (after its boot delay; a suspended host resumes after its resume delay), off, cycle, suspend')
    .argument('<lab>')
    .argument('<host>')
    .argument('<action>', 'on|off|cycle|suspend')
    .action(guarded(async (file: string, host: string, action: string) => {
      if (!['on', 'off', 'cycle', 'suspend'].includes(action)) throw new Error(`power: expected on, off, cycle or suspend, got "${action}"`);
      console.log(await labPower(openLab(file), host, action as 'on' | 'off' | 'cycle' | 'suspend'));
    }));

  lab.command('wake')
    .description('send a Wake-on-LAN magic packet for a host to the lab subnet\'s broadcast address')
    .argument('<lab>')
    .argument('<host>')
    .action(guarded(async (file: string, host: string) => {
      await sendWake(openLab(file), host);
      console.log(`magic packet sent for ${host}`);
    }));

  lab.command('svc')
    .description('start, stop or restart a host\'s service (what a management program does over SSH)')
    .argument('<lab>')
    .argument('<host>')
    .argument('<action>', 'start|stop|restart')
    .argument('<service>')
    .action(guarded(async (file: string, host: string, action: string, service: string) => {
      if (!['start', 'stop', 'restart'].includes(action)) throw new Error(`svc: expected start, stop or restart, got "${action}"`);
      console.log(await labService(openLab(file), host, action as 'start' | 'stop' | 'restart', service));
    }));
}
