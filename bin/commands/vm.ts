// `hatwin vm list|create|delete|start|shutdown|modify`: VM control (chen-lo-2015 §3.3, Figs.
// 12-13) on a lab's libvirt (--lab, root) or in a scenario's simulated world (--scenario). Live,
// each command changes the lab's guests and says what libvirt reports. In sim, nothing persists
// between commands: the scenario's world is run to --at, the operation is done there and run to its
// end, and the command prints what the world did (its trace lines) and the VMs after it.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { VmControlError, type VmControl, type VmControlInfo, type VmControlOp } from '../../engine/ports/hypervisor.ts';
import { SimVmControl } from '../../adapters/sim/vm-control.ts';
import { LabVmControl } from '../../adapters/lab/hypervisor.ts';
import { ensureLibvirt } from '../../adapters/lab/libvirt.ts';
import { buildGuestImage } from '../../adapters/lab/lab.ts';
import { loadLab } from '../../adapters/lab/schema.ts';
import { buildSimulation, readScenario } from '../../run/sim.ts';
import { ndjsonLine } from '../../trace/ndjson.ts';
import { duration, exitBadInput, guardedWith, int, markdownTable, sayer, UsageError } from '../output.ts';
import { ensureNeeds } from '../needs.ts';

const say = sayer('vm');

interface WorldOpts {
  lab?: string;
  scenario?: string;
  seed?: number;
  at?: number;
  json?: boolean;
}

interface Target {
  vc: VmControl;
  /** Sim: runs the world until `done` settles (bounded); prints what happened. */
  settle<T>(work: () => PromiseLike<T> | T): Promise<T>;
  close(): Promise<void>;
}

/** Refusals (bad name, unknown VM, state, room, ...) are bad input: exit 2; a failure while running: 1. */
function asUsage(e: unknown): never {
  if (e instanceof VmControlError && e.code !== 'failed') throw new UsageError(e.message);
  throw e;
}

/** How long the sim may run an operation before giving up (the longest VM operation is minutes). */
const SIM_OP_LIMIT_US = 24 * 3600 * 1_000_000;

async function open(o: WorldOpts): Promise<Target> {
  if ((o.lab === undefined) === (o.scenario === undefined)) throw new UsageError('give --lab LAB.yaml (the live lab, root) or --scenario SCENARIO.yaml (its simulated world), one of them');
  if (o.lab !== undefined) {
    const lab = loadLab(o.lab);
    if (process.getuid?.() !== 0) throw new UsageError(`--lab drives libvirt as root: run as root (or give --scenario to see what the world would do)`);
    ensureNeeds('lab', { log: say });
    await ensureLibvirt();
    // The guest image is built (or found up to date) only when a VM is created or modified.
    const vc = new LabVmControl(lab, () => buildGuestImage());
    return { vc, settle: async (work) => await work(), close: async () => undefined };
  }
  const scenario = readScenario(o.scenario!);
  const sim = buildSimulation(scenario, { seed: o.seed ?? scenario.seed ?? 1 });
  sim.run(o.at ?? 0);
  const vc = new SimVmControl(sim.world);
  return {
    vc,
    async settle(work) {
      const from = sim.events.length;
      const t0 = sim.kernel.nowUs();
      type Outcome = { ok: true; v: unknown } | { ok: false; e: unknown };
      let result = null as Outcome | null;
      const r = work();
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then((v) => (result = { ok: true, v }), (e) => (result = { ok: false, e }));
      else result = { ok: true, v: r };
      while (result === null && sim.kernel.nowUs() - t0 < SIM_OP_LIMIT_US && sim.kernel.step()) { /* one event at a time until the operation ends */ }
      const lines = sim.events.slice(from).filter((e) => e.kind.startsWith('vm.') || e.kind === 'service.state');
      if (!o.json) for (const e of lines) process.stdout.write(`  ${ndjsonLine(e)}`);
      const done = result as Outcome | null;
      if (done === null) throw new Error(`the operation had not ended after ${SIM_OP_LIMIT_US / 3.6e9} simulated hours`);
      if (!done.ok) throw done.e;
      return done.v as never;
    },
    close: async () => undefined,
  };
}

function table(vms: VmControlInfo[]): string {
  return markdownTable(['VM', 'state', 'host', 'vCPUs', 'memory MiB', 'origin', 'address'], 'lllrrll',
    vms.map((v) => [v.name, v.state, v.host ?? '—', String(v.cpus), String(v.memoryMb), v.origin === 'created' ? `created from ${v.template}` : 'declared', v.address ?? '—'])).join('\n');
}

const positive = (name: string) => (v: string): number => {
  const n = int(name)(v);
  if (n < 1) throw new InvalidArgumentError(`${name} must be >= 1, got "${v}"`);
  return n;
};

function worldOptions(c: Command): Command {
  return c
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .option('--lab <lab>', 'the live lab (root): its libvirt guests, e.g. experiments/labs/p2p-mini.yaml')
    .option('--scenario <scenario>', 'a scenario: do it in its simulated world and print what the world does')
    .option('--seed <n>', 'sim: master seed (default: the scenario\'s)', int('seed'))
    .option('--at <duration>', 'sim: simulated time at which to act (default 0)', duration)
    .option('--json', 'print JSON');
}

export function register(program: Command): void {
  const vm = program.command('vm').description('VM control: list, create (from a template), delete, start, shut down, modify VMs, on a lab (--lab, root) or in a scenario\'s world (--scenario)');
  const guarded = guardedWith(say);

  worldOptions(vm.command('list').description('the VMs: state, vCPUs, memory, declared or created'))
    .action(guarded(async (o: WorldOpts) => {
      const t = await open(o);
      const vms = await t.vc.list();
      console.log(o.json ? JSON.stringify(vms, null, 2) : table(vms));
      await t.close();
    }));

  worldOptions(vm.command('create').description('define a VM from a template (a backup VM of the lab or scenario): it boots the template\'s image with its own name, MAC and address').argument('<name>'))
    .requiredOption('--cpus <n>', 'vCPUs', positive('cpus'))
    .requiredOption('--memory <MiB>', 'memory in MiB', positive('memory'))
    .option('--template <vm>', 'the VM it copies (default: the first backup VM)')
    .option('--host <host>', 'sim: the real server to define it on')
    .action(guarded(async (name: string, o: WorldOpts & { cpus: number; memory: number; template?: string; host?: string }) => {
      const t = await open(o);
      const info = await t.settle(() => t.vc.create({ name, cpus: o.cpus, memoryMb: o.memory, ...(o.template ? { template: o.template } : {}), ...(o.host ? { host: o.host } : {}) })).catch(asUsage);
      console.log(o.json ? JSON.stringify(info, null, 2) : `created ${info.name}: ${info.state}, ${info.cpus} vCPU, ${info.memoryMb} MiB, from template ${info.template}${info.address ? `, address ${info.address}` : ''}`);
      await t.close();
    }));

  const simple = (op: Exclude<VmControlOp, 'create' | 'modify'>, what: string) => worldOptions(vm.command(op).description(what).argument('<name>'))
    .action(guarded(async (name: string, o: WorldOpts) => {
      const t = await open(o);
      await t.settle(() => t.vc[op](name)).catch(asUsage);
      const after = (await t.vc.list()).find((v) => v.name === name);
      console.log(o.json ? JSON.stringify(after ?? null, null, 2) : `${op} ${name}: ${after ? after.state : 'deleted'}`);
      await t.close();
    }));
  simple('start', 'start a VM that is defined or stopped; ends when it runs');
  simple('shutdown', 'shut a running VM down (live: ACPI, then power-off after 3 s); ends when it is stopped');
  simple('delete', 'delete a created VM that does not run');

  worldOptions(vm.command('modify').description('change a created VM\'s vCPUs and memory (it must not run)').argument('<name>'))
    .option('--cpus <n>', 'vCPUs', positive('cpus'))
    .option('--memory <MiB>', 'memory in MiB', positive('memory'))
    .action(guarded(async (name: string, o: WorldOpts & { cpus?: number; memory?: number }) => {
      const t = await open(o);
      const info = await t.settle(() => t.vc.modify(name, { ...(o.cpus !== undefined ? { cpus: o.cpus } : {}), ...(o.memory !== undefined ? { memoryMb: o.memory } : {}) })).catch(asUsage);
      console.log(o.json ? JSON.stringify(info, null, 2) : `modified ${info.name}: ${info.cpus} vCPU, ${info.memoryMb} MiB`);
      await t.close();
    }));
}
