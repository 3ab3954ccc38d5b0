// A host's power, played by a small process outside the host's namespace (as a NIC with
// Wake-on-LAN stays powered while the machine is off):
//   off  = every process in the namespace killed, run-time addresses gone, NIC down;
//   on   = after a magic packet for the host's MAC arrives on the lab subnet (or a boot command),
//          wait the host's bootDelay, NIC up with its address, then sshd, services, processes.
//   suspended = suspend-to-RAM: every process in the namespace stopped (SIGSTOP), the host's
//          running guests (`on: HOST`) paused, its cable cut; a magic packet resumes it after
//          resumeDelay (cable up, guests resumed, processes continued), state intact.
// Each power event carries the host's modelled watts (the lab has no meter: `metered: false`).
// It also carries out the live faults on its host (stop/freeze/wedge a service, pause the host,
// pull its cable) and answers status, over a Unix socket (control.ts).
//
// Usage (started by `hatwin lab up`, detached): supervisor.ts LAB.yaml HOST RUN-ID on|off
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMagicPacketFor } from '../wol/magic.ts';
import { serveControl, type ControlReply, type ControlRequest, type HostStatus, type PowerState, type ProcState } from './control.ts';
import { formatIpv4 } from './ipv4.ts';
import { bootRecord, depotImage, domainName, hostDir, hostNs, hostVeth, hostVmsDir, NS_IF, powerSocket } from './names.ts';
import { virsh } from './libvirt.ts';
import { endProcesses, isAlive, signal, waitGone } from './proc.ts';
import { run } from './run.ts';
import { expandArgv, labHost, loadLab } from './schema.ts';
import { appendEvent } from './events.ts';

// `poweredOnMs`: when `lab up` switched its PCs on (one instant for all of them; absent: now).
const [labFile, hostName, runId, initial, poweredOnMs] = process.argv.slice(2);
if (!labFile || !hostName || !runId) {
  console.error('usage: supervisor.ts LAB.yaml HOST RUN-ID [on|off]');
  process.exit(2);
}
const lab = loadLab(labFile);
const host = labHost(lab, hostName);
const ns = hostNs(lab, host.name);
const veth = hostVeth(lab, host.name);
const dir = hostDir(lab, host.name);

const log = (msg: string) => console.log(`${new Date().toISOString()} ${host.name} ${msg}`);
const event = (kind: string, data?: Record<string, unknown>) => appendEvent(lab, { kind, subject: host.name, data });
/** A power event with the host's modelled watts in that state (no meter in the lab). */
const powerEvent = (state: PowerState, data: Record<string, unknown> = {}) => {
  const w = host.watts;
  const watts = w === undefined ? undefined : state === 'off' ? w.off : state === 'suspended' ? w.suspended : w.on;
  event('lab.power', { power: state, ...data, ...(watts !== undefined ? { watts, metered: false } : {}) });
};
/** The guests that run on this host (`on: HOST`): a suspend pauses them with it. */
const myGuests = lab.backupVms.filter((v) => v.on === host.name).map((v) => v.name);

interface Proc {
  name: string;
  kind: 'sshd' | 'service' | 'process';
  argv: string[];
  child: ChildProcess | null;
  state: ProcState;
  exitCode?: number | null;
  wedged: boolean;
}

const procs: Proc[] = [
  { name: 'sshd', kind: 'sshd', argv: ['/usr/sbin/sshd', '-D', '-f', join(dir, 'sshd_config'), '-E', join(lab.logDir, `sshd-${host.name}.log`)], child: null, state: 'stopped', wedged: false },
  ...host.services.map((s): Proc => ({ name: s.name, kind: 'service', argv: expandArgv(s.argv, lab, host, s.port), child: null, state: 'stopped', wedged: false })),
  ...host.processes.map((p): Proc => ({ name: p.name, kind: 'process', argv: expandArgv(p.argv, lab, host), child: null, state: 'stopped', wedged: false })),
];

let power: PowerState = 'off';
let paused = false;
let bootTimer: NodeJS.Timeout | null = null;
let bootAt: Date | null = null;

const procLog = (p: Proc) => openSync(join(lab.logDir, `${host.name}-${p.name}.log`), 'a');

function startProc(p: Proc): void {
  if (p.wedged) throw new Error(`${p.name} on ${host.name} is wedged (St2): only a server restart cures it`);
  if (p.child && isAlive(p.child.pid!)) return;
  const fd = procLog(p);
  const child = spawn('ip', ['netns', 'exec', ns, ...p.argv], {
    stdio: ['ignore', fd, fd],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', HATWIN_NAME: host.name, HATWIN_LAB: lab.name, HATWIN_HOST: host.name },
  });
  p.child = child;
  p.state = 'running';
  p.exitCode = undefined;
  child.on('exit', (code) => {
    if (p.child !== child) return;
    p.child = null;
    if (p.state === 'running' || p.state === 'frozen') {
      p.state = 'exited';
      p.exitCode = code;
      log(`${p.name} exited (${code})`);
      event('lab.proc.exit', { proc: p.name, code });
    }
  });
  child.on('error', (e) => log(`${p.name}: ${e.message}`));
  log(`${p.name} started (pid ${child.pid})`);
}

async function stopProc(p: Proc, sig: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const child = p.child;
  p.state = 'stopped';
  if (!child?.pid) return;
  await endProcesses([child.pid], sig, 1_500);
  if (p.child === child) p.child = null;
}

/** Every process descended from `pid` (by the parent PIDs in /proc). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    for (const [c, pp] of parent) if (pp === p) { out.push(c); todo.push(c); }
  }
  return out;
}

// VRRP watch (host.watchVrrp): adverts seen on the interface (tcpdump's kernel timestamps) and
// addresses added or removed (ip monitor), appended to the lab's events as they happen.
let watchers: ChildProcess[] = [];
const nameOf = new Map(lab.hosts.map((h) => [h.address, h.name]));

function lineReader(child: ChildProcess, onLine: (line: string) => void): void {
  let buf = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

function startVrrpWatch(): void {
  if (!host.watchVrrp) return;
  const errFd = openSync(join(lab.logDir, `${host.name}-vrrpwatch.log`), 'a');
  const dump = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-l', '-n', '-tt', '-i', NS_IF, 'ip proto 112'], { stdio: ['ignore', 'pipe', errFd] });
  // 1764102190.123456 IP 10.77.9.11 > 10.77.9.12: VRRPv2, Advertisement, vrid 51, prio 150, authtype simple, intvl 1s, length 20
  lineReader(dump, (line) => {
    const m = /^(\d+)\.(\d{6}) IP (\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+): VRRPv\d, Advertisement, vrid (\d+), prio (\d+)/.exec(line);
    if (!m) return;
    appendEvent(lab, {
      t: Number(m[1]) * 1_000_000 + Number(m[2]), kind: 'lab.vrrp.advert', subject: host.name,
      data: { from: nameOf.get(m[3]) ?? m[3], to: nameOf.get(m[4]) ?? m[4], vrid: Number(m[5]), priority: Number(m[6]) },
    });
  });
  const mon = spawn('ip', ['-n', ns, '-o', '-4', 'monitor', 'address', 'dev', NS_IF], { stdio: ['ignore', 'pipe', errFd] });
  // "3: eth0    inet 10.77.9.100/24 scope global secondary eth0 ..." ("Deleted " in front when removed)
  lineReader(mon, (line) => {
    const m = /^(Deleted )?\d+: \S+\s+inet (\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (m) event('lab.addr', { address: m[2], op: m[1] ? 'del' : 'add' });
  });
  watchers = [dump, mon];
  log(`VRRP watch: tcpdump ${dump.pid}, ip monitor ${mon.pid}`);
}

async function stopVrrpWatch(): Promise<void> {
  const pids = watchers.flatMap((w) => (w.pid ? [w.pid] : []));
  watchers = [];
  await endProcesses(pids, 'SIGKILL').catch(() => undefined);
}

async function nsPids(): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns], { allowFail: true, timeoutMs: 5_000 });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((n) => n !== process.pid);
}

async function killEverything(): Promise<void> {
  // Power loss: SIGKILL to every process in the namespace (sshd sessions, agents, services).
  for (const p of procs) p.state = 'stopped';
  const pids = [...new Set([...(await nsPids()), ...procs.flatMap((p) => (p.child?.pid ? [p.child.pid] : []))])];
  for (const pid of pids) signal(pid, 'SIGKILL');
  const left = await waitGone(pids, 5_000);
  if (left.length) log(`still alive after SIGKILL: ${left.join(' ')}`);
  for (const p of procs) p.child = null;
}

const prefix = lab.cidr.prefix;

async function bootNow(switchedOnMs = Date.now()): Promise<void> {
  bootTimer = null;
  await run(['ip', '-n', ns, 'link', 'set', NS_IF, 'up']);
  await run(['ip', '-n', ns, 'addr', 'replace', `${host.address}/${prefix}`, 'dev', NS_IF]);
  // The host's uptime starts now (its Service Depot reads the record, as a PC's /proc/uptime).
  mkdirSync(dirname(depotImage(lab, host.name)), { recursive: true });
  writeFileSync(bootRecord(lab, host.name), `${switchedOnMs}\n`);
  for (const p of procs) {
    p.wedged = false;
    startProc(p);
  }
  await stopVrrpWatch();
  startVrrpWatch();
  power = 'on';
  bootAt = null;
  log('power on: link up, processes started');
  powerEvent('on');
}

function powerOn(delayMs: number): string {
  if (power !== 'off') return `already ${power}`;
  power = 'booting';
  bootAt = new Date(Date.now() + delayMs);
  log(`booting (${delayMs} ms)`);
  powerEvent('booting', { bootDelayMs: delayMs });
  bootTimer = setTimeout(() => void bootNow().catch((e: Error) => log(`boot failed: ${e.message}`)), delayMs);
  return 'booting';
}

async function powerOff(): Promise<void> {
  if (resumeTimer) clearTimeout(resumeTimer);
  resumeTimer = null;
  if (power === 'suspended' || power === 'resuming') await run(['ip', 'link', 'set', veth, 'up'], { allowFail: true });
  pausedGuests = [];
  if (bootTimer) clearTimeout(bootTimer);
  bootTimer = null;
  bootAt = null;
  power = 'off';
  paused = false;
  rmSync(bootRecord(lab, host.name), { force: true });
  // The power goes at once: the PC's link first, then its processes and its guests together (a
  // PC whose link and containers answered for the two seconds the lab takes to kill and reap its
  // processes was a PC still on, and every failover measured from the power-off was that late).
  await run(['ip', '-n', ns, 'link', 'set', NS_IF, 'down'], { allowFail: true });
  // The instant the PC is gone for the lab (its processes and guests go after): what a paired sim
  // replication takes as the fault's time (run/calibrate.ts pairedWithLive).
  event('lab.power-cut');
  await Promise.all([killEverything(), destroyGuests()]);
  await stopVrrpWatch();
  for (const p of procs) p.wedged = false;
  // Run-time state does not survive power loss: VIPs and the address go with it.
  await run(['ip', '-n', ns, 'addr', 'flush', 'dev', NS_IF], { allowFail: true });
  log('power off');
  powerEvent('off');
}

/** Guests this host paused when it suspended (resumed with it). */
let pausedGuests: string[] = [];
let resumeTimer: NodeJS.Timeout | null = null;

/** Suspend-to-RAM: processes stopped, running guests paused, cable cut; memory (state) kept. */
async function suspendNow(): Promise<void> {
  if (power !== 'on') throw new Error(`${host.name} is ${power}: cannot suspend`);
  power = 'suspended';
  for (const pid of await nsPids()) signal(pid, 'SIGSTOP');
  pausedGuests = [];
  for (const vm of myGuests) {
    const dom = domainName(lab, vm);
    if ((await virsh(['domstate', dom], { allowFail: true })).stdout.trim() !== 'running') continue;
    await virsh(['suspend', dom]);
    pausedGuests.push(vm);
  }
  await run(['ip', 'link', 'set', veth, 'down']);
  log(`suspended (processes stopped, guests paused: ${pausedGuests.join(', ') || 'none'}, cable cut)`);
  powerEvent('suspended', { guests: pausedGuests });
}

async function resumeNow(): Promise<void> {
  resumeTimer = null;
  await run(['ip', 'link', 'set', veth, 'up']);
  for (const vm of pausedGuests) await virsh(['resume', domainName(lab, vm)], { allowFail: true });
  const frozen = new Set(procs.filter((p) => p.state === 'frozen' && p.child?.pid).map((p) => p.child!.pid!));
  for (const pid of await nsPids()) if (!frozen.has(pid)) signal(pid, 'SIGCONT');
  const guests = pausedGuests;
  pausedGuests = [];
  power = 'on';
  log(`resumed (guests ${guests.join(', ') || 'none'})`);
  powerEvent('on', { resumed: true, guests });
}

function resumeAfter(delayMs: number): void {
  if (power !== 'suspended') return;
  power = 'resuming';
  log(`resuming (${delayMs} ms)`);
  powerEvent('resuming', { resumeDelayMs: delayMs });
  resumeTimer = setTimeout(() => void resumeNow().catch((e: Error) => log(`resume failed: ${e.message}`)), delayMs);
}

/**
 * The guests running on this PC (Navigator containers, recorded by the hypervisor adapter before
 * they start) go with its power. Twice: a start that libvirtd was carrying out when the agent
 * that asked for it was killed may complete just after the first pass.
 */
async function destroyGuests(): Promise<void> {
  const dir = hostVmsDir(lab, host.name);
  for (let pass = 0; pass < 2; pass++) {
    if (!existsSync(dir)) return;
    for (const vm of readdirSync(dir)) {
      if (!lab.backupVms.some((v) => v.name === vm)) continue;
      const r = await virsh(['destroy', domainName(lab, vm)], { allowFail: true, timeoutMs: 30_000 });
      if (r.code === 0) {
        log(`power off: guest ${vm} destroyed`);
        event('lab.guest', { vm, state: 'destroyed', reason: 'power-off' });
      }
      if (pass === 1) rmSync(join(dir, vm), { force: true });
    }
    if (pass === 0) await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function linkFlags(args: string[]): Promise<'up' | 'down'> {
  const r = await run(['ip', ...args], { allowFail: true, timeoutMs: 5_000 });
  try {
    const j = JSON.parse(r.stdout) as Array<{ flags: string[] }>;
    return j[0]?.flags.includes('UP') ? 'up' : 'down';
  } catch {
    return 'down';
  }
}

async function status(): Promise<HostStatus> {
  const [nic, cable, pids] = await Promise.all([
    linkFlags(['-n', ns, '-j', 'link', 'show', NS_IF]),
    linkFlags(['-j', 'link', 'show', veth]),
    nsPids(),
  ]);
  return {
    host: host.name,
    power,
    link: { nic, cable },
    paused,
    procs: procs.map((p) => ({ name: p.name, kind: p.kind, pid: p.child?.pid ?? null, state: p.wedged && p.state !== 'running' ? 'wedged' : p.state, ...(p.exitCode !== undefined ? { exitCode: p.exitCode } : {}) })),
    nsPids: pids,
    ...(bootAt ? { bootAt: bootAt.toISOString() } : {}),
    supervisorPid: process.pid,
  };
}

function service(name: string): Proc {
  const p = procs.find((x) => x.name === name && x.kind !== 'sshd');
  if (!p) throw new Error(`host "${host.name}" has no service "${name}" (services: ${procs.filter((x) => x.kind !== 'sshd').map((x) => x.name).join(', ')})`);
  return p;
}

function needOn(what: string): void {
  if (power !== 'on') throw new Error(`${host.name} is ${power}: cannot ${what}`);
}

/**
 * The out-of-band fence (control.ts), read and done from outside the host as its BMC would. A
 * host that is off or booting has no run-time address: confirmed. A running host whose
 * interface does not carry the address (it rebooted, or never had it) is confirmed too. A paused
 * host still answers ARP for its addresses from the kernel, and a host suspended to RAM keeps them
 * for its resume, so the address is deleted from its interface from outside (the sim drops such a
 * holder's VIP the same way). A running host that
 * carries the address is refused: only the host itself can drop it (it is cut off if the caller
 * could not reach it).
 */
async function fence(address: string): Promise<ControlReply> {
  if (typeof address !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.split('.').some((o) => Number(o) > 255)) {
    return { ok: false, error: `fence: "${String(address)}" is not an IPv4 address` };
  }
  if (power === 'off' || power === 'booting') {
    event('lab.fence', { address, power, fenced: true });
    return { ok: true, message: `${power}: no run-time address` };
  }
  const shown = await run(['ip', '-n', ns, '-4', '-o', 'addr', 'show', 'dev', NS_IF], { allowFail: true, timeoutMs: 5_000 });
  const carries = shown.code !== 0 || shown.stdout.split('\n').some((line) => line.split(/\s+/).some((w, i, ws) => ws[i - 1] === 'inet' && w.split('/')[0] === address));
  if (!carries) {
    event('lab.fence', { address, power, fenced: true, carried: false });
    return { ok: true, message: 'running: the address is not on its interface' };
  }
  // Paused, or suspended to RAM (or resuming from it): the address would be back with it.
  if (paused || power !== 'on') {
    const r = await run(['ip', '-n', ns, '-4', 'addr', 'del', `${address}/${prefix}`, 'dev', NS_IF], { allowFail: true, timeoutMs: 5_000 });
    const gone = r.code === 0 || /Cannot assign requested address|not found/i.test(r.stderr);
    event('lab.fence', { address, power, paused, fenced: gone });
    return gone ? { ok: true, message: `${paused ? 'paused' : power}: address removed from outside` } : { ok: false, error: `fence ${address}: ${r.stderr.trim() || `ip exit ${r.code}`}` };
  }
  event('lab.fence', { address, power, fenced: false });
  return { ok: false, error: `${host.name} is on, running and carries ${address}: only it can drop it` };
}

async function handle(req: ControlRequest): Promise<ControlReply> {
  switch (req.op) {
    case 'status':
      return { ok: true, status: await status() };
    case 'power':
      if (req.action === 'on') {
        if (power === 'suspended') {
          resumeAfter(Number(host.resumeDelay) / 1000);
          return { ok: true, message: power };
        }
        return { ok: true, message: powerOn(Number(host.bootDelay) / 1000) };
      }
      if (req.action === 'suspend') {
        if (power !== 'on') throw new Error(`${host.name} is ${power}: cannot suspend`);
        // Replied first: the request may come over SSH from inside the host, whose session the
        // suspension freezes; the reply (and the command's exit) get out before the cable goes.
        setTimeout(() => void suspendNow().catch((e: Error) => log(`suspend failed: ${e.message}`)), 150);
        return { ok: true, message: 'suspending' };
      }
      if (req.action === 'cycle' && req.detach === true) {
        // A reboot asked from inside the host (over SSH, as a real `reboot` is run): replied first,
        // as a real reboot's session closes before the machine goes down. Cut at once, the SSH
        // session would be left dead without a FIN, and the command would return only once the
        // host was back and answered the client's retransmission (1-3 s after its boot).
        setTimeout(() => void powerOff().then(() => powerOn(Number(host.bootDelay) / 1000)).catch((e: Error) => log(`power cycle failed: ${e.message}`)), 150);
        return { ok: true, message: 'cycling' };
      }
      await powerOff();
      if (req.action === 'cycle') powerOn(Number(host.bootDelay) / 1000);
      return { ok: true, message: power };
    case 'service': {
      const p = service(req.service);
      needOn(`${req.action} ${p.name}`);
      switch (req.action) {
        case 'start':
          startProc(p);
          break;
        case 'stop':
          await stopProc(p);
          break;
        case 'restart':
          await stopProc(p);
          startProc(p);
          break;
        case 'freeze':
          if (!p.child?.pid) throw new Error(`${p.name} is not running`);
          signal(p.child.pid, 'SIGSTOP');
          p.state = 'frozen';
          break;
        case 'thaw':
          if (p.child?.pid) signal(p.child.pid, 'SIGCONT');
          if (p.state === 'frozen') p.state = 'running';
          break;
        case 'kill': {
          // SIGKILL to the daemon and its descendants at once (keepalived: parent and VRRP child).
          if (!p.child?.pid) throw new Error(`${p.name} is not running`);
          // Stopped first, all of them: keepalived's children ask for SIGTERM when their parent
          // dies (PR_SET_PDEATHSIG), which would make the VRRP child stop gracefully (priority-0
          // advert, VIP removed), and a parent that sees its child die restarts it.
          const tree = descendants(p.child.pid);
          for (const pid of [p.child.pid, ...tree]) signal(pid, 'SIGSTOP');
          for (const pid of [...tree, p.child.pid]) signal(pid, 'SIGKILL');
          p.state = 'stopped';
          await waitGone([p.child.pid, ...tree], 5_000);
          break;
        }
        case 'wedge':
          // St2: the daemon hangs and a restart of it fails; only a server restart cures it.
          if (p.child?.pid) signal(p.child.pid, 'SIGSTOP');
          p.state = p.child ? 'frozen' : 'stopped';
          p.wedged = true;
          break;
      }
      log(`service ${p.name}: ${req.action}`);
      event('lab.service', { service: p.name, action: req.action });
      return { ok: true, message: `${p.name} ${req.action}` };
    }
    case 'pause': {
      needOn('pause');
      for (const pid of await nsPids()) signal(pid, 'SIGSTOP');
      paused = true;
      log('paused (SIGSTOP to every process of the host)');
      event('lab.pause', { paused: true });
      return { ok: true, message: 'paused' };
    }
    case 'unpause': {
      const frozen = new Set(procs.filter((p) => p.state === 'frozen' && p.child?.pid).map((p) => p.child!.pid!));
      for (const pid of await nsPids()) if (!frozen.has(pid)) signal(pid, 'SIGCONT');
      paused = false;
      log('unpaused');
      event('lab.pause', { paused: false });
      return { ok: true, message: 'unpaused' };
    }
    case 'cable':
      await run(['ip', 'link', 'set', veth, req.action]);
      log(`cable ${req.action}`);
      event('lab.cable', { cable: req.action });
      return { ok: true, message: `cable ${req.action}` };
    case 'fence':
      return fence(req.address);
    case 'shutdown':
      setImmediate(() => void shutdown(0));
      return { ok: true, message: 'shutting down' };
    default:
      return { ok: false, error: `unknown op ${(req as { op?: unknown }).op}` };
  }
}

// Wake-on-LAN: the NIC stays powered and listens for a magic packet for its MAC.
const wol = createSocket({ type: 'udp4', reuseAddr: true });
wol.on('message', (msg, from) => {
  if (!isMagicPacketFor(msg, host.mac)) return;
  log(`magic packet from ${from.address}:${from.port}`);
  event('lab.wol', { from: from.address, power });
  if (power === 'off') powerOn(Number(host.bootDelay) / 1000);
  else if (power === 'suspended') resumeAfter(Number(host.resumeDelay) / 1000);
});
wol.on('error', (e) => log(`WOL socket: ${e.message}`));

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('supervisor shutting down');
  if (bootTimer) clearTimeout(bootTimer);
  if (resumeTimer) clearTimeout(resumeTimer);
  try {
    await killEverything();
    await stopVrrpWatch();
  } catch (e) {
    log(`cleanup: ${(e as Error).message}`);
  }
  server.close();
  wol.close();
  rmSync(powerSocket(lab, host.name), { force: true });
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));

// An orphan (its lab torn down or rebuilt without it) ends itself and its host.
const runIdFile = join(lab.stateDir, 'run-id');
setInterval(() => {
  const current = existsSync(runIdFile) ? readFileSync(runIdFile, 'utf8').trim() : '';
  if (current !== runId) {
    log(`lab run ${runId} is over (run-id now "${current}")`);
    void shutdown(0);
  }
}, 1_000).unref();

rmSync(powerSocket(lab, host.name), { force: true });
const server = serveControl(powerSocket(lab, host.name), handle);
wol.bind({ port: lab.wolPort, address: formatIpv4(lab.cidr.broadcast) }, () => log(`listening for magic packets to ${formatIpv4(lab.cidr.broadcast)}:${lab.wolPort}`));
if (initial === 'on') {
  // The lab's PCs were switched on together: their uptimes tie, as the sim's hosts on at 0 do
  // (a Navigator primary picks the PC up longest, in whole seconds; the supervisors' own starts
  // a few hundred ms apart made that pick the boot's luck).
  const at = Number(poweredOnMs);
  await bootNow(Number.isFinite(at) && at > 0 && at <= Date.now() ? at : Date.now());
} else {
  await run(['ip', '-n', ns, 'link', 'set', NS_IF, 'down'], { allowFail: true });
  log('power off (initial)');
}
