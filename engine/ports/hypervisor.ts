import type { PortResult } from './result.ts';

export type VmState = 'defined' | 'starting' | 'running' | 'suspending' | 'suspended' | 'resuming' | 'crashed' | 'stopped';

export interface VmInfo {
  name: string;
  /** The real server the VM runs on, or null when it is not placed. */
  host: string | null;
  state: VmState;
}

/** VM lifecycle on the hypervisor of `host`. Operations resolve when done, reject on failure. */
export interface Hypervisor {
  define(vm: string, host: string): PortResult<void>;
  start(vm: string, host: string): PortResult<void>;
  suspend(vm: string): PortResult<void>;
  /** Activates a suspended VM on `host` (its image lives on the shared file server). */
  resume(vm: string, host: string): PortResult<void>;
  destroy(vm: string): PortResult<void>;
  migrate(vm: string, toHost: string): PortResult<void>;
  list(host?: string): PortResult<VmInfo[]>;
  /** The VM named `vm` as `list()` gives it (undefined when there is none): one look-up, not a list of every VM. */
  get(vm: string): PortResult<VmInfo | undefined>;
}

// ---------- VM control (chen-lo-2015 §3.3, Figs. 12-13) ----------
// What an operator does to VMs by hand: create one from a template (name, vCPUs, memory), delete,
// start, shut down, modify. One rule for both worlds (the sim adapter over the world, the live one
// over libvirt): names, the states each operation needs, and the host's room are checked here.

export type VmControlOp = 'create' | 'delete' | 'start' | 'shutdown' | 'modify';
export const VM_CONTROL_OPS: readonly VmControlOp[] = ['create', 'delete', 'start', 'shutdown', 'modify'];

export interface VmResources {
  cpus: number;
  memoryMb: number;
}

export interface VmCreateRequest extends VmResources {
  name: string;
  /** A VM of the scenario or lab whose image and services the new VM copies (default: the first). */
  template?: string;
  /** Sim: the real server to define it on (default: the template's host, else the on host with most free memory). */
  host?: string;
}

export interface VmControlInfo extends VmResources {
  name: string;
  state: VmState;
  host: string | null;
  /** The template it was created from (null: declared by the scenario or lab file). */
  template: string | null;
  /** Declared VMs (the scenario's or lab's own) may be started and shut down, not deleted or modified. */
  origin: 'declared' | 'created';
  /** Live: the guest's address on the lab network. */
  address?: string;
}

/** What a host offers VMs: vCPUs one VM may have, and memory for the VMs that run on it. */
export interface HostCapacity {
  cpus: number;
  memoryMb: number;
}

export type VmControlErrorCode = 'bad-name' | 'bad-request' | 'unknown-vm' | 'unknown-template' | 'exists' | 'bad-state' | 'declared' | 'no-room' | 'failed';

/** A refused or failed VM-control operation: `code` for programs, the message for people. */
export class VmControlError extends Error {
  override name = 'VmControlError';
  constructor(readonly code: VmControlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The states each operation needs (create needs the name to be free). */
export const VM_CONTROL_FROM: Readonly<Record<Exclude<VmControlOp, 'create'>, readonly VmState[]>> = {
  start: ['defined', 'stopped', 'crashed'],
  shutdown: ['running'],
  delete: ['defined', 'stopped', 'crashed'],
  modify: ['defined', 'stopped', 'crashed'],
};

/** The smallest VM the tiny guest boots in (MiB). */
export const MIN_VM_MEMORY_MB = 64;

/** A VM name must be a valid host name label (RFC 1123) and so also a valid libvirt domain name. */
const VM_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function checkVmName(name: unknown): string {
  if (typeof name !== 'string' || !VM_NAME.test(name)) {
    const shown = typeof name === 'string' ? `"${name.slice(0, 80)}"` : String(name);
    throw new VmControlError('bad-name', `bad VM name ${shown}: a host name label (letters, digits and "-", 1 to 63 characters, not starting or ending with "-")`);
  }
  return name;
}

/** Refuses `op` on `vm` (undefined: no such VM) unless its state and origin allow it. */
export function checkVmOp(op: Exclude<VmControlOp, 'create'>, name: string, vm: VmControlInfo | undefined, known: readonly string[]): VmControlInfo {
  if (!vm) throw new VmControlError('unknown-vm', `no VM "${name}" (VMs: ${known.join(', ') || 'none'})`);
  if ((op === 'delete' || op === 'modify') && vm.origin === 'declared') {
    throw new VmControlError('declared', `VM ${name} is declared by the scenario or lab file: it can be started and shut down, not ${op === 'delete' ? 'deleted' : 'modified'} (create a VM from it as a template instead)`);
  }
  const from = VM_CONTROL_FROM[op];
  if (!from.includes(vm.state)) {
    const hint = vm.state === 'running' ? (op === 'start' ? ' (it runs already)' : ' (shut it down first)')
      : vm.state === 'suspended' ? ' (a suspended VM is resumed by its policy, not started)' : '';
    throw new VmControlError('bad-state', `cannot ${op} VM ${name}: it is ${vm.state}; ${op} needs ${from.join(', ')}${hint}`);
  }
  return vm;
}

/**
 * Checks vCPUs and memory: whole numbers, at least 1 vCPU and MIN_VM_MEMORY_MB, at most the host's
 * vCPUs, and memory within what the host has left (`usedMb`: what its other VMs hold). `where`
 * names the host in the message ("host vmhost", "this machine").
 */
export function checkVmResources(r: Partial<VmResources>, where: string, cap: HostCapacity, usedMb: number): void {
  if (r.cpus !== undefined && (!Number.isSafeInteger(r.cpus) || r.cpus < 1)) throw new VmControlError('bad-request', `bad cpus ${String(r.cpus)}: a whole number of vCPUs, at least 1`);
  if (r.memoryMb !== undefined && (!Number.isSafeInteger(r.memoryMb) || r.memoryMb < MIN_VM_MEMORY_MB)) {
    throw new VmControlError('bad-request', `bad memory ${String(r.memoryMb)}: a whole number of MiB, at least ${MIN_VM_MEMORY_MB}`);
  }
  if (r.cpus !== undefined && r.cpus > cap.cpus) throw new VmControlError('no-room', `${r.cpus} vCPUs is more than ${where} has (${cap.cpus})`);
  const left = Math.max(0, cap.memoryMb - usedMb);
  if (r.memoryMb !== undefined && r.memoryMb > left) {
    throw new VmControlError('no-room', usedMb > 0
      ? `${r.memoryMb} MiB is more memory than ${where} has left (${left} of ${cap.memoryMb} MiB; its running VMs hold the rest)`
      : `${r.memoryMb} MiB is more memory than ${where} has (${cap.memoryMb} MiB)`);
  }
}

/** VM control on one world (sim: the scenario's world; live: the lab's libvirt). */
export interface VmControl {
  list(): PortResult<VmControlInfo[]>;
  /** VMs a new one may copy (their image and services). */
  templates(): PortResult<string[]>;
  create(req: VmCreateRequest): PortResult<VmControlInfo>;
  delete(name: string): PortResult<void>;
  /** Resolves when the VM runs. */
  start(name: string): PortResult<void>;
  /** Resolves when the VM is stopped. */
  shutdown(name: string): PortResult<void>;
  modify(name: string, change: Partial<VmResources>): PortResult<VmControlInfo>;
}
