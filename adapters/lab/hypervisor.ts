// The engine's Hypervisor port over libvirt for the mini-lab's backup VMs: the binding
// `@unraid/libvirt` (built from source against libvirt-dev; calls do not block the event loop)
// when it loads, else `virsh` as argv (~20 ms a call). One libvirtd serves every lab "host":
// which real server a VM runs on is bookkeeping here, as the VM images of the papers sit on a
// shared file server and any host can resume them. A Navigator container (`image: depot`) is
// different: it starts on a PC from the image in that PC's Service Depot, as a transient guest,
// and the PC's record of it (hosts/HOST/vms/VM) makes the PC's power-off destroy it.
import type { Hypervisor, VmInfo, VmState } from '../../engine/ports/hypervisor.ts';
import { checkVmName, checkVmOp, checkVmResources, VmControlError, type HostCapacity, type VmControl, type VmControlInfo, type VmCreateRequest, type VmResources } from '../../engine/ports/hypervisor.ts';
import { depotImage, domainName, domainPrefix, guestConsolePath, hostVmRecord, hostVmsDir, labTag } from './names.ts';
import { defineDomain, domainState, domainXml, LIBVIRT_URI, listDomains, removeDomain, virsh, type GuestImage } from './libvirt.ts';
import { formatIpv4 } from './ipv4.ts';
import { REPO_DIR, type Lab, type LabBackupVm } from './schema.ts';
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PortError } from '../../engine/ports/errors.ts';
import { QBOOT } from './libvirt.ts';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { appendEvent, nowUs } from './events.ts';

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
  // The connection is opened by the first call: a lab without guests (the load balancer's) never
  // needs libvirtd, which its `lab up` does not start.
  let opened: Promise<void> | null = null;
  const open = (): Promise<void> => (opened ??= h.connectOpen().catch((e: unknown) => {
    opened = null;
    throw e;
  }));
  // One call at a time on the connection: many at once (a list of fifteen guests' states while
  // the agents resume and suspend) crashed the process (SIGSEGV in the binding) on a loaded machine.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const opening = async () => {
      await open();
      return work();
    };
    const next = queue.then(opening, opening);
    queue = next.catch(() => undefined);
    return next;
  };
  const lookup = (d: string) => h.domainLookupByName(d);
  return {
    kind: 'binding',
    state: (d) => serial(async () => {
      try {
        const info = await h.domainGetInfo(await lookup(d));
        return STATE_NAMES[info.state] ?? `state ${info.state}`;
      } catch {
        return null;
      }
    }),
    define: (xml) => serial(async () => { await h.domainDefineXML(xml); }),
    create: (d) => serial(async () => { await h.domainCreate(await lookup(d)); }),
    suspend: (d) => serial(async () => { await h.domainSuspend(await lookup(d)); }),
    resume: (d) => serial(async () => { await h.domainResume(await lookup(d)); }),
    destroy: (d) => serial(async () => { await h.domainDestroy(await lookup(d)); }),
    close: () => (opened === null ? Promise.resolve() : serial(async () => { await h.connectClose(); })),
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

/** Room for a container's boot (software emulation on a loaded 2-core machine: seconds to tens of seconds). */
const DEPOT_BOOT_MS = 120_000;

export class LabHypervisor implements Hypervisor {
  /** Where each VM runs (null: image on the file server only). */
  private readonly placement = new Map<string, string | null>();

  private constructor(private readonly lab: Lab, readonly backend: LibvirtBackend, private readonly image?: GuestImage) {
    // A guest that runs on a real server (`on:`) starts there; the others on the file server only.
    for (const v of lab.backupVms) this.placement.set(v.name, v.on ?? null);
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
    if (this.vm(vm).image === 'depot') return this.startFromDepot(this.vm(vm), host);
    const t0 = nowUs();
    await this.backend.create(this.dom(vm));
    this.placement.set(vm, host);
    this.watchBoot(vm, host, t0);
  }

  /**
   * A guest booted by `virsh create` (the call returns once qemu runs): its boot is recorded when
   * it says HATWIN-READY on its console (its services listen; qemu wrote the console file afresh
   * at the create), for the run's trace: a paired sim replication replays how long it took.
   * Watched in the background, given up when the guest stops or after DEPOT_BOOT_MS.
   */
  private watchBoot(vm: string, host: string, t0: number): void {
    const consoleFile = guestConsolePath(this.lab, vm);
    const d = this.dom(vm);
    const deadline = Date.now() + DEPOT_BOOT_MS;
    let n = 0;
    const tick = async (): Promise<void> => {
      if (existsSync(consoleFile) && readFileSync(consoleFile, 'utf8').includes(`HATWIN-READY ${vm}`)) {
        const t = nowUs();
        appendEvent(this.lab, { t, kind: 'lab.guest', subject: host, data: { vm, state: 'ready', tookUs: t - t0 } });
        return;
      }
      if (Date.now() > deadline) return;
      if (++n % 10 === 0 && vmState(await this.backend.state(d)) === 'stopped') return;
      setTimeout(() => void tick().catch(() => undefined), 100).unref();
    };
    setTimeout(() => void tick().catch(() => undefined), 100).unref();
  }

  /**
   * A Navigator container: a transient guest booted from the image in `host`'s depot (the lab's
   * guest kernel, the depot's container.img as its initramfs), recorded as running on `host`
   * before it starts (so a power-off at any moment takes it along); resolves once it says
   * HATWIN-READY on its console.
   */
  private async startFromDepot(v: LabBackupVm, host: string): Promise<void> {
    const t0 = nowUs();
    const d = this.dom(v.name);
    // A slot still running elsewhere was given up by the primary (its secondary was lost): the
    // slot starts afresh here, as the sim's slot is started again on another PC.
    if (vmState(await this.backend.state(d)) !== 'stopped') await this.destroy(v.name);
    const initrd = depotImage(this.lab, host);
    if (!existsSync(initrd)) throw new PortError('failed', `start ${v.name} on ${host}: no container image in its depot (${initrd})`);
    const kernel = this.image?.kernel ?? join(REPO_DIR, 'out/guest/vmlinuz');
    const firmware = this.image?.firmware ?? (existsSync(QBOOT) ? QBOOT : undefined);
    for (const h of this.lab.hosts) rmSync(hostVmRecord(this.lab, h.name, v.name), { force: true });
    mkdirSync(hostVmsDir(this.lab, host), { recursive: true });
    writeFileSync(hostVmRecord(this.lab, host, v.name), '');
    this.placement.set(v.name, host);
    const dir = join(this.lab.stateDir, 'guests');
    mkdirSync(dir, { recursive: true });
    const xmlPath = join(dir, `${v.name}@${host}.xml`);
    writeFileSync(xmlPath, domainXml(this.lab, v, { kernel, initrd, ...(firmware ? { firmware } : {}) }, { description: `hatwin lab ${this.lab.name}: container ${v.name} on ${host}` }));
    const consoleFile = guestConsolePath(this.lab, v.name);
    // The console of this boot alone (the guest's console file is written afresh by each boot).
    rmSync(consoleFile, { force: true });
    await virsh(['create', xmlPath]);
    const deadline = Date.now() + DEPOT_BOOT_MS;
    for (;;) {
      if (!existsSync(hostVmRecord(this.lab, host, v.name))) {
        await this.destroy(v.name).catch(() => undefined);
        throw new PortError('unreachable', `start ${v.name}: ${host} powered off while it booted`);
      }
      if (existsSync(consoleFile)) {
        // Ready, and its guest agent answers (the pilots stop and start the service through it;
        // libvirt connects the agent's channel a moment after the guest starts qemu-ga).
        if (readFileSync(consoleFile, 'utf8').includes(`HATWIN-READY ${v.name}`) && (await virsh(['qemu-agent-command', '--timeout', '2', d, '{"execute":"guest-ping"}'], { allowFail: true, timeoutMs: 5_000 })).code === 0) {
          // How long this start took, for the run's trace (a paired sim replication replays it).
          const t = nowUs();
          appendEvent(this.lab, { t, kind: 'lab.guest', subject: host, data: { vm: v.name, state: 'ready', tookUs: t - t0 } });
          return;
        }
      }
      if (vmState(await this.backend.state(d)) === 'stopped') throw new PortError('failed', `start ${v.name} on ${host}: the guest stopped while it booted`);
      if (Date.now() > deadline) throw new PortError('timeout', `start ${v.name} on ${host}: not ready within ${DEPOT_BOOT_MS / 1000} s (console ${consoleFile})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The PC a Navigator container runs on, from the PCs' records (another process may have started it). */
  private depotHost(vm: string): string | null {
    return this.lab.hosts.find((h) => existsSync(hostVmRecord(this.lab, h.name, vm)))?.name ?? null;
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
    else if (vmState(s) !== 'running') {
      const t0 = nowUs();
      await this.backend.create(d);
      this.watchBoot(vm, host, t0);
    }
    this.placement.set(vm, host);
  }

  async destroy(vm: string): Promise<void> {
    const d = this.dom(vm);
    if (vmState(await this.backend.state(d)) !== 'stopped') await this.backend.destroy(d);
    if (this.vm(vm).image === 'depot') for (const h of this.lab.hosts) rmSync(hostVmRecord(this.lab, h.name, vm), { force: true });
  }

  async migrate(vm: string, toHost: string): Promise<void> {
    // One libvirtd for the whole mini-lab: a move is bookkeeping (the image is shared).
    this.vm(vm);
    this.placement.set(vm, this.host(toHost));
  }

  async list(host?: string): Promise<VmInfo[]> {
    const all = await Promise.all(this.lab.backupVms.map((v) => this.infoOf(v)));
    return host === undefined ? all : all.filter((v) => v.host === host);
  }

  async get(vm: string): Promise<VmInfo | undefined> {
    const v = this.lab.backupVms.find((b) => b.name === vm);
    return v === undefined ? undefined : this.infoOf(v);
  }

  private async infoOf(v: LabBackupVm): Promise<VmInfo> {
    const state = vmState(await this.backend.state(this.dom(v.name)));
    const where = v.image === 'depot' ? (state === 'stopped' ? null : this.depotHost(v.name)) : this.placement.get(v.name) ?? null;
    return { name: v.name, host: where, state };
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

// ---------- VM control (chen-lo-2015 Figs. 12-13) over the lab's libvirt ----------
// A created VM boots the lab's tiny guest image (scripts/guest/build.sh) as a copy of a template
// (one of the lab's backup VMs: its services, run by the guest's /init), with its own name, vCPUs,
// memory, MAC, tap and an address of the lab subnet that nothing else uses. Its domain is
// `hatwin_LAB_NAME`; what the lab file does not say (template, address, MAC) is kept in the
// domain's description, so another process (hatwin vm, hatwin serve) finds it again. The lab's
// own backup VMs are listed and may be started and shut down, not deleted or modified.

const CREATED = /created by VM control from template (\S+); address (\S+); mac (\S+)/;
/** How long a shut down waits for the guest to power off on ACPI before pulling the plug (the tiny guest has no ACPI daemon). */
const SHUTDOWN_GRACE_MS = 3_000;

interface CreatedVm {
  name: string;
  template: string;
  address: string;
  mac: string;
}

function meminfoMb(field: 'MemTotal' | 'MemAvailable'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Math.floor(Number(m[1]) / 1024) : 0;
}

export class LabVmControl implements VmControl {
  /** One operation at a time: two creates must not take one address. */
  private queue: Promise<unknown> = Promise.resolve();

  /** `image`: the guest image, or how to get it (built only when a VM is created or modified). */
  constructor(private readonly lab: Lab, private readonly image: GuestImage | null | (() => Promise<GuestImage>)) {}

  private async guestImage(): Promise<GuestImage | null> {
    return typeof this.image === 'function' ? this.image() : this.image;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private dom(name: string): string {
    return domainName(this.lab, name);
  }

  /** The machine's room for guests: its CPUs, and its memory (all of it, or what is available now). */
  private capacity(now: boolean): HostCapacity {
    return { cpus: availableParallelism(), memoryMb: meminfoMb(now ? 'MemAvailable' : 'MemTotal') };
  }

  /** VMs created by VM control in this lab, found in libvirt. */
  private async created(): Promise<CreatedVm[]> {
    const prefix = domainPrefix(this.lab);
    const backups = new Set(this.lab.backupVms.map((v) => this.dom(v.name)));
    const out: CreatedVm[] = [];
    for (const d of await listDomains()) {
      if (!d.startsWith(prefix) || backups.has(d)) continue;
      const desc = await virsh(['desc', d], { allowFail: true });
      const m = CREATED.exec(desc.stdout);
      if (m) out.push({ name: d.slice(prefix.length), template: m[1], address: m[2], mac: m[3] });
    }
    return out;
  }

  private async resources(d: string, fallback: VmResources): Promise<VmResources> {
    const r = await virsh(['dominfo', d], { allowFail: true });
    if (r.code !== 0) return fallback;
    const cpus = Number(/^CPU\(s\):\s+(\d+)/m.exec(r.stdout)?.[1] ?? 1);
    const kib = Number(/^Max memory:\s+(\d+) KiB/m.exec(r.stdout)?.[1] ?? 0);
    return { cpus, memoryMb: Math.round(kib / 1024) };
  }

  private async info(name: string, template: string | null, address?: string): Promise<VmControlInfo> {
    const d = this.dom(name);
    const state = vmState(await domainState(d));
    const declared = this.lab.backupVms.find((v) => v.name === name);
    const fallback = { cpus: 1, memoryMb: declared?.memoryMb ?? 0 };
    const where = address ?? declared?.address;
    return { name, state, host: null, ...(await this.resources(d, fallback)), template, origin: template === null ? 'declared' : 'created', ...(where ? { address: where } : {}) };
  }

  private async all(): Promise<VmControlInfo[]> {
    const declared = await Promise.all(this.lab.backupVms.map((v) => this.info(v.name, null)));
    const created = await Promise.all((await this.created()).map((c) => this.info(c.name, c.template, c.address)));
    return [...declared, ...created];
  }

  private async find(name: string): Promise<{ vm: VmControlInfo | undefined; names: string[] }> {
    const all = await this.all();
    return { vm: all.find((v) => v.name === name), names: all.map((v) => v.name) };
  }

  list(): Promise<VmControlInfo[]> {
    return this.serial(() => this.all());
  }

  templates(): string[] {
    return this.lab.backupVms.map((v) => v.name);
  }

  create(req: VmCreateRequest): Promise<VmControlInfo> {
    return this.serial(async () => {
      const name = checkVmName(req.name);
      const lab = this.lab;
      const taken = [...lab.hosts.map((h) => h.name), ...lab.backupVms.map((v) => v.name), lab.client.name, lab.etcd.name];
      if (taken.includes(name) || (await domainState(this.dom(name))) !== null) throw new VmControlError('exists', `lab ${lab.name} has a host, VM or domain named "${name}" already`);
      const tname = req.template ?? this.templates()[0];
      if (tname === undefined) throw new VmControlError('unknown-template', `lab ${lab.name} has no backup VM to use as a template`);
      const template = lab.backupVms.find((v) => v.name === tname);
      if (!template) throw new VmControlError('unknown-template', `no template "${tname}" (templates: the lab's backup VMs ${this.templates().join(', ')})`);
      if (req.host !== undefined) throw new VmControlError('bad-request', 'a lab\'s guests all run on this machine\'s libvirtd: give no host');
      checkVmResources({ cpus: req.cpus, memoryMb: req.memoryMb }, 'this machine', this.capacity(false), 0);
      const image = await this.guestImage();
      if (!image) throw new VmControlError('failed', 'no guest image: build it with scripts/guest/build.sh (hatwin lab up does)');
      const others = await this.created();
      const address = this.freeAddress(others);
      const mac = this.freeMac(name, others);
      await this.define({ name, template: tname, address, mac }, req, image);
      return this.info(name, tname, address);
    });
  }

  private async define(c: CreatedVm, r: VmResources, image: GuestImage, uuid?: string): Promise<void> {
    const template = this.lab.backupVms.find((v) => v.name === c.template);
    if (!template) throw new VmControlError('unknown-template', `template "${c.template}" of ${c.name} is no longer in lab ${this.lab.name}`);
    const vm: LabBackupVm = { ...template, name: c.name, address: c.address, mac: c.mac, memoryMb: r.memoryMb };
    const xml = domainXml(this.lab, vm, image, {
      ...(uuid ? { uuid } : {}),
      cpus: r.cpus,
      tap: `${labTag(this.lab)}v${createHash('sha1').update(c.name).digest('hex').slice(0, 6)}`,
      description: `hatwin lab ${this.lab.name}: VM ${c.name} created by VM control from template ${c.template}; address ${c.address}; mac ${c.mac}`,
    });
    const dir = join(this.lab.stateDir, 'guests');
    mkdirSync(dir, { recursive: true });
    await defineDomain(join(dir, `vm-${c.name}.xml`), xml);
  }

  /** The highest address of the subnet that neither the lab file nor another created VM uses. */
  private freeAddress(others: CreatedVm[]): string {
    const lab = this.lab;
    const used = new Set([lab.bridge.address, lab.etcd.address, lab.client.address, ...lab.hosts.map((h) => h.address), ...lab.backupVms.map((v) => v.address), ...lab.vips.map((v) => v.address), ...others.map((o) => o.address)]);
    for (let ip = lab.cidr.broadcast - 1; ip > lab.cidr.network; ip--) {
      const a = formatIpv4(ip);
      if (!used.has(a)) return a;
    }
    throw new VmControlError('no-room', `lab subnet ${lab.subnet} has no free address for another VM`);
  }

  /** A locally administered MAC (52:54:00, as libvirt's) from the lab and VM name, unique in the lab. */
  private freeMac(name: string, others: CreatedVm[]): string {
    const used = new Set([...this.lab.hosts.map((h) => h.mac), ...this.lab.backupVms.map((v) => v.mac), ...others.map((o) => o.mac)].map((m) => m.toLowerCase()));
    for (let salt = 0; salt < 1000; salt++) {
      const h = createHash('sha1').update(`${this.lab.name}/${name}/${salt}`).digest('hex');
      const mac = `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
      if (!used.has(mac)) return mac;
    }
    throw new VmControlError('failed', `no free MAC address for ${name}`);
  }

  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const { vm, names } = await this.find(name);
      checkVmOp('delete', name, vm, names);
      await virsh(['undefine', this.dom(name)]);
      rmSync(join(this.lab.stateDir, 'guests', `vm-${name}.xml`), { force: true });
    });
  }

  start(name: string): Promise<void> {
    return this.serial(async () => {
      const { vm, names } = await this.find(name);
      const v = checkVmOp('start', name, vm, names);
      checkVmResources({ cpus: v.cpus, memoryMb: v.memoryMb }, 'this machine', this.capacity(true), 0);
      const r = await virsh(['start', this.dom(name)], { allowFail: true });
      if (r.code !== 0) throw new VmControlError('failed', `start ${name}: ${r.stderr.trim() || `virsh exited ${r.code}`}`);
    });
  }

  shutdown(name: string): Promise<void> {
    return this.serial(async () => {
      const { vm, names } = await this.find(name);
      checkVmOp('shutdown', name, vm, names);
      const d = this.dom(name);
      await virsh(['shutdown', d], { allowFail: true });
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (Date.now() < deadline && vmState(await domainState(d)) === 'running') await new Promise((res) => setTimeout(res, 200));
      if (vmState(await domainState(d)) !== 'stopped') await virsh(['destroy', d], { allowFail: true });
      const after = vmState(await domainState(d));
      if (after !== 'stopped') throw new VmControlError('failed', `shut down ${name}: libvirt still says ${after}`);
    });
  }

  modify(name: string, change: Partial<VmResources>): Promise<VmControlInfo> {
    return this.serial(async () => {
      const { vm, names } = await this.find(name);
      const v = checkVmOp('modify', name, vm, names);
      if (change.cpus === undefined && change.memoryMb === undefined) throw new VmControlError('bad-request', `modify ${name}: give cpus, memory or both`);
      checkVmResources(change, 'this machine', this.capacity(false), 0);
      const c = (await this.created()).find((x) => x.name === name);
      const image = await this.guestImage();
      if (!c || !image) throw new VmControlError('failed', `modify ${name}: ${c ? 'no guest image' : 'its creation record is gone'}`);
      // Defining the domain again (same name and UUID) replaces its configuration (it is shut off).
      const uuid = (await virsh(['domuuid', this.dom(name)])).stdout.trim();
      await this.define(c, { cpus: change.cpus ?? v.cpus, memoryMb: change.memoryMb ?? v.memoryMb }, image, uuid);
      return this.info(name, c.template, c.address);
    });
  }

  /** Removes every VM created in this lab (tests, `lab down` leftovers): destroyed and undefined. */
  removeCreated(): Promise<string[]> {
    return this.serial(async () => {
      const gone: string[] = [];
      for (const c of await this.created()) {
        await removeDomain(this.dom(c.name));
        rmSync(join(this.lab.stateDir, 'guests', `vm-${c.name}.xml`), { force: true });
        gone.push(c.name);
      }
      return gone;
    });
  }
}
