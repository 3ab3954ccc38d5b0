// VM control (engine/ports/hypervisor.ts VmControl) over the sim world: an operator's create,
// delete, start, shut down and modify, as chen-lo-2015's control page does them, with the same
// refusals as the live adapter (checkVmName, checkVmOp, checkVmResources). Operations that take
// time (start: the VM's startS; shut down: its destroyS) return a SimFuture resolved by the
// world's event; refusals throw a VmControlError at once.
import { checkVmName, checkVmOp, checkVmResources, VmControlError, type HostCapacity, type VmControl, type VmControlInfo, type VmCreateRequest, type VmResources } from '../../engine/ports/hypervisor.ts';
import { SimFuture } from '../../sim/world/future.ts';
import { WorldError, type World } from '../../sim/world/world.ts';

/** VM states that hold memory on their host (as World.load counts them). */
const HOLDS_MEMORY = new Set(['running', 'starting', 'resuming']);

export class SimVmControl implements VmControl {
  /** VMs this control created, with their template. */
  private readonly created = new Map<string, string>();

  constructor(private readonly world: World) {}

  private info(name: string): VmControlInfo {
    const v = this.world.vm(name);
    const template = this.created.get(name) ?? null;
    return { name, state: v.state, host: v.host, cpus: v.spec.cores ?? 1, memoryMb: v.spec.memMb, template, origin: template === null ? 'declared' : 'created' };
  }

  private find(name: string): VmControlInfo | undefined {
    return this.world.vms.has(name) ? this.info(name) : undefined;
  }

  private names(): string[] {
    return [...this.world.vms.keys()];
  }

  /** What a host offers: its cores, its memory less what the host itself uses. */
  private capacity(host: string): HostCapacity {
    const h = this.world.host(host).spec;
    return { cpus: h.cores, memoryMb: Math.max(0, h.memMb - h.memUsedMb) };
  }

  /** Memory held on `host` by VMs that run there (other than `except`). */
  private usedMb(host: string, except?: string): number {
    let mb = 0;
    for (const [name, v] of this.world.vms) if (name !== except && v.host === host && HOLDS_MEMORY.has(v.state)) mb += v.spec.memMb;
    return mb;
  }

  list(): VmControlInfo[] {
    return this.names().map((n) => this.info(n));
  }

  templates(): string[] {
    return this.world.scenario.vms.map((v) => v.name);
  }

  create(req: VmCreateRequest): SimFuture<VmControlInfo> {
    const name = checkVmName(req.name);
    if (this.world.vms.has(name) || this.world.hosts.has(name)) throw new VmControlError('exists', `a ${this.world.hosts.has(name) ? 'host' : 'VM'} named "${name}" exists already`);
    const templates = this.templates();
    const tname = req.template ?? templates[0];
    if (tname === undefined) throw new VmControlError('unknown-template', 'the scenario declares no VM to use as a template');
    const template = this.world.scenario.vms.find((v) => v.name === tname);
    if (!template) throw new VmControlError('unknown-template', `no template "${tname}" (templates: ${templates.join(', ')})`);
    const host = req.host ?? template.host ?? this.roomiest();
    if (!this.world.hosts.has(host)) throw new VmControlError('bad-request', `no host "${host}" (hosts: ${[...this.world.hosts.keys()].join(', ')})`);
    checkVmResources({ cpus: req.cpus, memoryMb: req.memoryMb }, `host ${host}`, this.capacity(host), 0);
    this.world.defineVm({ ...template, name, host, state: 'defined', cores: req.cpus, memMb: req.memoryMb });
    this.created.set(name, tname);
    return SimFuture.resolved(this.info(name));
  }

  /** The host that is on with the most memory left for VMs (ties: the first declared). */
  private roomiest(): string {
    let best: string | null = null;
    let bestMb = -1;
    for (const [name, h] of this.world.hosts) {
      if (h.state !== 'on') continue;
      const left = this.capacity(name).memoryMb - this.usedMb(name);
      if (left > bestMb) [best, bestMb] = [name, left];
    }
    if (best === null) throw new VmControlError('no-room', 'no host is on to define the VM on: give one');
    return best;
  }

  delete(name: string): SimFuture<void> {
    checkVmOp('delete', name, this.find(name), this.names());
    this.world.undefineVm(name);
    this.created.delete(name);
    return SimFuture.resolved<void>(undefined);
  }

  start(name: string): SimFuture<void> {
    const vm = checkVmOp('start', name, this.find(name), this.names());
    const host = vm.host ?? this.roomiest();
    checkVmResources({ cpus: vm.cpus, memoryMb: vm.memoryMb }, `host ${host}`, this.capacity(host), this.usedMb(host, name));
    return failedAs(this.world.startVm(name, host), `start ${name}`);
  }

  shutdown(name: string): SimFuture<void> {
    checkVmOp('shutdown', name, this.find(name), this.names());
    return failedAs(this.world.destroyVm(name), `shut down ${name}`);
  }

  modify(name: string, change: Partial<VmResources>): SimFuture<VmControlInfo> {
    const vm = checkVmOp('modify', name, this.find(name), this.names());
    if (change.cpus === undefined && change.memoryMb === undefined) throw new VmControlError('bad-request', `modify ${name}: give cpus, memory or both`);
    const host = vm.host ?? this.roomiest();
    checkVmResources(change, `host ${host}`, this.capacity(host), 0);
    this.world.setVmResources(name, change.cpus ?? vm.cpus, change.memoryMb ?? vm.memoryMb);
    return SimFuture.resolved(this.info(name));
  }
}

/** The world's refusal of an operation in flight (its host went down, ...) as a VmControlError. */
function failedAs(f: SimFuture<void>, what: string): SimFuture<void> {
  const out = new SimFuture<void>();
  f.then(() => out.resolve(), (e) => out.reject(new VmControlError('failed', `${what}: ${e instanceof WorldError ? e.message : String(e)}`, { cause: e })));
  return out;
}
