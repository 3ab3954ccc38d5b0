// The engine's Hypervisor port over libvirt for the mini-lab's backup VMs: the binding
// `@unraid/libvirt` (built from source against libvirt-dev; calls do not block the event loop)
// when it loads, else `virsh` as argv (~20 ms a call). One libvirtd serves every lab "host":
// which real server a VM runs on is bookkeeping here, as the VM images of the papers sit on a
// shared file server and any host can resume them.
import type { Hypervisor, VmInfo, VmState } from '../../engine/ports/hypervisor.ts';
import { domainName } from './names.ts';
import { defineDomain, domainXml, LIBVIRT_URI, virsh, type GuestImage } from './libvirt.ts';
import type { Lab, LabBackupVm } from './schema.ts';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

/** What the adapter needs from libvirt, by domain name. */
export interface LibvirtBackend {
  readonly kind: 'binding' | 'virsh';
  /** libvirt's state: running, paused, shut off, crashed, ... or null when not defined. */
  state(domain: string): Promise<string | null>;
  define(xml: string, xmlPath: string): Promise<void>;
  create(domain: string): Promise<void>;
  suspend(domain: string): Promise<void>;
  resume(domain: string): Promise<void>;
  destroy(domain: string): Promise<void>;
  close(): Promise<void>;
}

export function virshBackend(): LibvirtBackend {
  return {
    kind: 'virsh',
    async state(d) {
      const r = await virsh(['domstate', d], { allowFail: true });
      return r.code === 0 ? r.stdout.trim() : null;
    },
    async define(xml, xmlPath) {
      await defineDomain(xmlPath, xml);
    },
    async create(d) { await virsh(['start', d]); },
    async suspend(d) { await virsh(['suspend', d]); },
    async resume(d) { await virsh(['resume', d]); },
    async destroy(d) { await virsh(['destroy', d]); },
    async close() { /* nothing held */ },
  };
}

// libvirt's virDomainState, as the binding reports it.
const STATE_NAMES = ['no state', 'running', 'blocked', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

/** The `@unraid/libvirt` binding, or null when it is not installed or does not load. */
export async function bindingBackend(uri = LIBVIRT_URI): Promise<LibvirtBackend | null> {
  let mod: typeof import('@unraid/libvirt');
  try {
    mod = await import('@unraid/libvirt');
  } catch {
    return null;
  }
  const h = new mod.Hypervisor({ uri });
  await h.connectOpen();
  const lookup = (d: string) => h.domainLookupByName(d);
  return {
    kind: 'binding',
    async state(d) {
      try {
        const info = await h.domainGetInfo(await lookup(d));
        return STATE_NAMES[info.state] ?? `state ${info.state}`;
      } catch {
        return null;
      }
    },
    async define(xml) { await h.domainDefineXML(xml); },
    async create(d) { await h.domainCreate(await lookup(d)); },
    async suspend(d) { await h.domainSuspend(await lookup(d)); },
    async resume(d) { await h.domainResume(await lookup(d)); },
    async destroy(d) { await h.domainDestroy(await lookup(d)); },
    async close() { await h.connectClose(); },
  };
}

function vmState(libvirtState: string | null): VmState {
  switch (libvirtState) {
    case 'running':
    case 'blocked':
    case 'in shutdown':
      return 'running';
    case 'paused':
    case 'pmsuspended':
      return 'suspended';
    case 'crashed':
      return 'crashed';
    default:
      return 'stopped';
  }
}

export interface LabHypervisorOptions {
  /** Needed for `define` (the guest's kernel and initramfs). */
  image?: GuestImage;
  /** Default 'auto': the binding when it loads, else virsh. */
  backend?: 'auto' | 'binding' | 'virsh';
}

export class LabHypervisor implements Hypervisor {
  /** Where each VM runs (null: image on the file server only). */
  private readonly placement = new Map<string, string | null>();

  private constructor(private readonly lab: Lab, readonly backend: LibvirtBackend, private readonly image?: GuestImage) {
    for (const v of lab.backupVms) this.placement.set(v.name, null);
  }

  static async open(lab: Lab, opts: LabHypervisorOptions = {}): Promise<LabHypervisor> {
    const want = opts.backend ?? 'auto';
    let backend: LibvirtBackend | null = want === 'virsh' ? virshBackend() : await bindingBackend();
    if (!backend) {
      if (want === 'binding') throw new Error('@unraid/libvirt is not installed or does not load: `npm install @unraid/libvirt --build-from-source` (needs libvirt-dev)');
      backend = virshBackend();
    }
    return new LabHypervisor(lab, backend, opts.image);
  }

  private vm(name: string): LabBackupVm {
    const v = this.lab.backupVms.find((x) => x.name === name);
    if (!v) throw new Error(`lab "${this.lab.name}" has no backup VM "${name}" (VMs: ${this.lab.backupVms.map((x) => x.name).join(', ')})`);
    return v;
  }

  private host(name: string): string {
    if (!this.lab.hosts.some((h) => h.name === name)) throw new Error(`lab "${this.lab.name}" has no host "${name}" (hosts: ${this.lab.hosts.map((h) => h.name).join(', ')})`);
    return name;
  }

  private dom(vm: string): string {
    return domainName(this.lab, this.vm(vm).name);
  }

  async define(vm: string, host: string): Promise<void> {
    const v = this.vm(vm);
    this.host(host);
    if ((await this.backend.state(this.dom(vm))) !== null) return;
    if (!this.image) throw new Error(`define ${vm}: no guest image given (LabHypervisor.open(lab, { image }))`);
    const dir = join(this.lab.stateDir, 'guests');
    mkdirSync(dir, { recursive: true });
    await this.backend.define(domainXml(this.lab, v, this.image), join(dir, `${v.name}.xml`));
    this.placement.set(vm, host);
  }

  async start(vm: string, host: string): Promise<void> {
    this.host(host);
    await this.backend.create(this.dom(vm));
    this.placement.set(vm, host);
  }

  async suspend(vm: string): Promise<void> {
    await this.backend.suspend(this.dom(vm));
  }

  /** Activates the VM on `host`: resumes it when suspended, boots it when it is off. */
  async resume(vm: string, host: string): Promise<void> {
    this.host(host);
    const d = this.dom(vm);
    const s = await this.backend.state(d);
    if (s === null) throw new Error(`resume ${vm}: domain ${d} is not defined`);
    if (s === 'paused' || s === 'pmsuspended') await this.backend.resume(d);
    else if (vmState(s) !== 'running') await this.backend.create(d);
    this.placement.set(vm, host);
  }

  async destroy(vm: string): Promise<void> {
    const d = this.dom(vm);
    if (vmState(await this.backend.state(d)) !== 'stopped') await this.backend.destroy(d);
  }

  async migrate(vm: string, toHost: string): Promise<void> {
    // One libvirtd for the whole mini-lab: a move is bookkeeping (the image is shared).
    this.vm(vm);
    this.placement.set(vm, this.host(toHost));
  }

  async list(host?: string): Promise<VmInfo[]> {
    const all = await Promise.all(this.lab.backupVms.map(async (v): Promise<VmInfo> => {
      const state = vmState(await this.backend.state(this.dom(v.name)));
      return { name: v.name, host: this.placement.get(v.name) ?? null, state };
    }));
    return host === undefined ? all : all.filter((v) => v.host === host);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
