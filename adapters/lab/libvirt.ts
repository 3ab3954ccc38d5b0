// libvirt for the mini-lab without systemd (LAB-NOTES "libvirt without systemd"): start virtlogd
// and libvirtd when they are not running, and drive guests with `virsh` as argv.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { run, type RunResult } from './run.ts';
import { isAlive } from './proc.ts';
import { domainName, guestConsolePath, guestTap } from './names.ts';
import type { Lab, LabBackupVm } from './schema.ts';

export const LIBVIRT_URI = 'qemu:///system';

export function virsh(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(['virsh', '-q', '-c', LIBVIRT_URI, ...args], { timeoutMs: opts.timeoutMs ?? 60_000, allowFail: opts.allowFail });
}

function pidFileAlive(path: string): boolean {
  if (!existsSync(path)) return false;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isSafeInteger(pid) && pid > 0 && isAlive(pid);
}

async function ensureAccount(): Promise<void> {
  // The qemu driver does not load without these (Debian's postinst would create them).
  if ((await run(['getent', 'group', 'kvm'], { allowFail: true })).code !== 0) await run(['groupadd', '-r', 'kvm']);
  if ((await run(['getent', 'group', 'libvirt-qemu'], { allowFail: true })).code !== 0) await run(['groupadd', '-r', 'libvirt-qemu']);
  if ((await run(['id', 'libvirt-qemu'], { allowFail: true })).code !== 0) {
    await run(['useradd', '-r', '-g', 'kvm', '-d', '/var/lib/libvirt', '-s', '/usr/sbin/nologin', 'libvirt-qemu']);
  }
}

/**
 * Makes `virsh -c qemu:///system` work: account, qemu.conf with user root (else every call
 * re-probes qemu), virtlogd then libvirtd, each started only if not running. Returns what it
 * started (daemons are left running after `lab down`: they hold no lab state).
 */
export async function ensureLibvirt(): Promise<string[]> {
  const started: string[] = [];
  if ((await virsh(['version'], { allowFail: true, timeoutMs: 30_000 })).code === 0 && pidFileAlive('/run/virtlogd.pid')) return started;
  for (const bin of ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh']) {
    if (!existsSync(bin)) throw new Error(`${bin} missing: run node scripts/setup.mjs (installs scripts/apt/lab.txt)`);
  }
  mkdirSync('/var/log/libvirt', { recursive: true });
  await ensureAccount();
  const conf = '/etc/libvirt/qemu.conf';
  const text = existsSync(conf) ? readFileSync(conf, 'utf8') : '';
  if (!/^\s*user\s*=\s*"root"/m.test(text)) {
    writeFileSync(conf, `${text}${text && !text.endsWith('\n') ? '\n' : ''}# hatwin lab: qemu as root (no /dev/kvm group setup here; see LAB-NOTES)\nuser = "root"\ngroup = "root"\n`);
  }
  if (!pidFileAlive('/run/virtlogd.pid')) {
    await run(['/usr/sbin/virtlogd', '--daemon', '--pid-file', '/run/virtlogd.pid']);
    started.push('virtlogd');
  }
  if (!pidFileAlive('/run/libvirtd.pid')) {
    await run(['/usr/sbin/libvirtd', '--daemon', '--pid-file', '/run/libvirtd.pid']);
    started.push('libvirtd');
  }
  // The first connection probes qemu's capabilities (seconds, once; libvirt caches them).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await virsh(['version'], { allowFail: true, timeoutMs: 60_000 });
    if (r.code === 0) break;
    if (Date.now() > deadline) throw new Error(`libvirtd does not answer: ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return started;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  /** Firmware ROM; qboot (qemu-system-data) starts a direct kernel boot faster than SeaBIOS. */
  firmware?: string;
}

export const QBOOT = '/usr/share/qemu/qboot.rom';

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/** The kernel command line that configures the guest's /init (scripts/guest/init). */
export function guestCmdline(lab: Lab, vm: LabBackupVm): string {
  const svc = vm.services.map((s) => `${s.protocol}:${s.port}`).join(',');
  return ['console=ttyS0', 'ipv6.disable=1', 'panic=-1', 'quiet', `hatwin.name=${vm.name}`, `hatwin.ip=${vm.address}/${lab.cidr.prefix}`, ...(svc ? [`hatwin.svc=${svc}`] : [])].join(' ');
}

/** A VM created by VM control (adapters/lab/hypervisor.ts LabVmControl): its own tap, vCPUs and description. */
export interface DomainXmlOptions {
  /** Keeps the domain's identity when it is defined again (libvirt refuses the same name with another UUID). */
  uuid?: string;
  tap?: string;
  cpus?: number;
  description?: string;
}

/**
 * Domain XML of a backup VM: software emulation (type='kvm' hung here), direct kernel boot of
 * the tiny guest, virtio NIC on the lab bridge, serial console to a file, guest-agent channel.
 */
export function domainXml(lab: Lab, vm: LabBackupVm, image: GuestImage, opts: DomainXmlOptions = {}): string {
  const e = xmlEscape;
  return `<domain type='qemu'>
  <name>${e(domainName(lab, vm.name))}</name>${opts.uuid ? `
  <uuid>${e(opts.uuid)}</uuid>` : ''}
  <description>${e(opts.description ?? `hatwin lab ${lab.name}: ${vm.backs ? `backup VM ${vm.name} of ${vm.backs}` : `guest ${vm.name}${vm.on ? ` on ${vm.on}` : ''}`}`)}</description>
  <memory unit='MiB'>${vm.memoryMb}</memory>
  <vcpu>${opts.cpus ?? 1}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>${image.firmware ? `
    <loader type='rom'>${e(image.firmware)}</loader>` : ''}
    <kernel>${e(image.kernel)}</kernel>
    <initrd>${e(image.initrd)}</initrd>
    <cmdline>${e(guestCmdline(lab, vm))}</cmdline>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='bridge'>
      <mac address='${e(vm.mac)}'/>
      <source bridge='${e(lab.bridge.name)}'/>
      <target dev='${e(opts.tap ?? guestTap(lab, vm.name))}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='${e(guestConsolePath(lab, vm.name))}'/>
      <target port='0'/>
    </serial>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** libvirt's domain states as virsh prints them: running, paused, shut off, ... */
export async function domainState(name: string): Promise<string | null> {
  const r = await virsh(['domstate', name], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : null;
}

/** Names of all defined domains. */
export async function listDomains(): Promise<string[]> {
  const r = await virsh(['list', '--all', '--name'], { allowFail: true });
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

export async function defineDomain(xmlPath: string, xml: string): Promise<void> {
  writeFileSync(xmlPath, xml);
  await virsh(['define', xmlPath]);
}

/** Destroys (if running or paused) and undefines; absent is fine. */
export async function removeDomain(name: string): Promise<void> {
  const state = await domainState(name);
  if (state === null) return;
  if (state !== 'shut off') await virsh(['destroy', name], { allowFail: true });
  await virsh(['undefine', name], { allowFail: true });
}

