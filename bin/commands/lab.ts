// `hatwin lab ...`: the mini-lab commands, registered on the CLI by bin/cli.ts.
import type { Command } from 'commander';
import { FAULTS, formatStatus, labDown, labFault, labLeftovers, labPower, labService, labStatus, labUp, sendWake, type LabFault } from '../../adapters/lab/lab.ts';
import { loadLab } from '../../adapters/lab/schema.ts';
import { ScenarioError } from '../../sim/scenario/load.ts';

const say = (msg: string) => console.error(`[lab] ${msg}`);

/** A failing lab command prints what went wrong (no stack) and exits 1; lab file errors stay ScenarioErrors (exit 2). */
/** Runs a command action: file errors go up (exit 2 with file:line), others print without a stack (exit 1). */
export function guardedWith(log: (msg: string) => void) {
  return <A extends unknown[]>(fn: (...args: A) => Promise<void>): ((...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await fn(...args);
      } catch (e) {
        if (e instanceof ScenarioError) throw e;
        log(`error: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    };
}

const guarded = guardedWith(say);

export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('the mini-lab on this machine: namespaces, sshd, services, etcd, libvirt guests, a client (root)');

  lab.command('up')
    .description('build the lab (cleans leftovers of an earlier run first)')
    .argument('<lab>', 'lab file, e.g. experiments/labs/p2p-mini.yaml')
    .action(guarded(async (file: string) => {
      const l = loadLab(file);
      try {
        const r = await labUp(l, say);
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
      const l = loadLab(file);
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
      const s = await labStatus(loadLab(file));
      console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      if (!s.up) process.exitCode = 3;
    }));

  lab.command('fault')
    .description(`inject a live fault on a host: ${FAULTS.join('|')} (St1 stop the service; St2 wedge it: SIGSTOP, restarts fail; Nt1 power-cycle; Nt2 power off; pause SIGSTOP the whole host; link-down pull its cable; partition-oneway it hears nothing from the lab; heal lifts network faults, pause and freezes)`)
    .argument('<lab>')
    .argument('<host>')
    .argument('<fault>')
    .option('--service <name>', 'St1/St2: the service (default: the host\'s first)')
    .option('--peer <name>', 'partition-oneway: drop only what comes from this node')
    .action(guarded(async (file: string, host: string, fault: string, o: { service?: string; peer?: string }) => {
      if (!(FAULTS as readonly string[]).includes(fault)) throw new Error(`unknown fault "${fault}" (known: ${FAULTS.join(', ')})`);
      console.log(await labFault(loadLab(file), host, fault as LabFault, o));
    }));

  lab.command('power')
    .description('a host\'s boot command / power button: on (after its boot delay), off, cycle')
    .argument('<lab>')
    .argument('<host>')
    .argument('<action>', 'on|off|cycle')
    .action(guarded(async (file: string, host: string, action: string) => {
      if (!['on', 'off', 'cycle'].includes(action)) throw new Error(`power: expected on, off or cycle, got "${action}"`);
      console.log(await labPower(loadLab(file), host, action as 'on' | 'off' | 'cycle'));
    }));

  lab.command('wake')
    .description('send a Wake-on-LAN magic packet for a host to the lab subnet\'s broadcast address')
    .argument('<lab>')
    .argument('<host>')
    .action(guarded(async (file: string, host: string) => {
      await sendWake(loadLab(file), host);
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
      console.log(await labService(loadLab(file), host, action as 'start' | 'stop' | 'restart', service));
    }));
}
