// The mini-lab builder: `hatwin lab up|down|status|fault|power|wake|svc`.
//
// On this one machine, from a lab file: a private bridge in the root namespace connected to
// nothing else; one network namespace per real server (veth into the bridge, its address and
// MAC, lo up, sshd with its own host key, its services), each powered by a supervisor process
// outside it (supervisor.ts); one etcd member in its own namespace; a client namespace logging
// OK/XX for every VIP each second (client.ts); the backup VMs as libvirt guests (tiny kernel +
// initramfs from scripts/guest/build.sh), booted once and kept suspended as the papers keep them.
//
// Everything it makes is named from the lab file (names.ts) and recorded in a state file, so
// `down` (and `up` after a crash) removes it all: processes by PID with a wait, guests,
// namespaces, interfaces (only those carrying this lab's alias), the state folder.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { checkService, type CheckResult } from '../probe/checkers.ts';
import { sendMagicPacket } from '../wol/magic.ts';
import { parseAccessLog, type Access } from './accesslog.ts';
import { labServiceCheck } from './check.ts';
import { control, controlOk, type HostStatus } from './control.ts';
import { appendEvent } from './events.ts';
import { formatIpv4, inCidr } from './ipv4.ts';
import { ensureKeys, sshdConfig } from './keys.ts';
import { defineDomain, domainState, domainXml, ensureLibvirt, listDomains, QBOOT, removeDomain, virsh, type GuestImage } from './libvirt.ts';
import {
  accessLogPath, clientNs, clientVeth, domainName, domainPrefix, etcdNs, etcdVeth, guestConsolePath, hostDir, hostNs, hostVeth,
  labDomains, labInterfaces, labNamespaces, NS_IF, powerSocket, statePath,
} from './names.ts';
import { endProcesses, isAlive, procRef, type ProcRef } from './proc.ts';
import { have, run, spawnDetached } from './run.ts';
import { labHost, REPO_DIR, settleDir, vipService, type Lab, type LabHost } from './schema.ts';
import { GuestAgentVipDriver } from './guest-vip.ts';
import { counterName, nftAccessRuleset, type CountedVip } from '../lb/nftcount.ts';
import { NftPool } from '../lb/nftpool.ts';

export type Log = (msg: string) => void;

export interface LabState {
  lab: string;
  file: string;
  runId: string;
  startedAt: string;
  procs: ProcRef[];
  namespaces: string[];
  interfaces: string[];
  domains: string[];
}

/** The alias set on every interface the lab creates: only such interfaces are ever deleted. */
const aliasOf = (lab: Lab) => `hatwin-lab:${lab.name}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readState(lab: Lab): LabState | null {
  try {
    return JSON.parse(readFileSync(statePath(lab), 'utf8')) as LabState;
  } catch {
    return null;
  }
}

function writeState(lab: Lab, st: LabState): void {
  const tmp = `${statePath(lab)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(st, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, statePath(lab));
}

async function existingNamespaces(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { allowFail: true });
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}

interface LinkInfo { ifname: string; ifalias?: string; flags: string[]; linkinfo?: { info_kind?: string } }

async function existingLinks(): Promise<Map<string, LinkInfo>> {
  const r = await run(['ip', '-d', '-j', 'link', 'show'], { allowFail: true });
  const list = r.stdout.trim() ? (JSON.parse(r.stdout) as LinkInfo[]) : [];
  return new Map(list.map((l) => [l.ifname, l]));
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** The image of the tiny guest, built (or found up to date) by scripts/guest/build.sh. */
export async function buildGuestImage(log: Log = () => undefined): Promise<GuestImage> {
  const t0 = Date.now();
  const r = await run(['bash', join(REPO_DIR, 'scripts/guest/build.sh')], { timeoutMs: 600_000 });
  const [kernel, initrd] = r.stdout.trim().split('\n').slice(-2);
  log(`guest image ${r.stderr.includes('up to date') ? 'up to date' : 'built'} (${Date.now() - t0} ms)`);
  return { kernel, initrd, ...(existsSync(QBOOT) ? { firmware: QBOOT } : {}) };
}

async function preflight(lab: Lab): Promise<void> {
  const need = ['ip', 'nft', 'etcd', 'virsh', 'ssh-keygen', 'busybox', '/usr/sbin/sshd', 'bash', 'cpio'];
  if (lab.hosts.some((h) => h.watchVrrp)) need.push('tcpdump');
  if (lab.settle) need.push('keepalived');
  const missing: string[] = [];
  for (const p of need) if (!(await have(p))) missing.push(p);
  if (missing.length) throw new Error(`missing programs: ${missing.join(', ')}: run \`node scripts/setup.mjs\` as root (installs scripts/apt/lab.txt)`);
  if (process.getuid?.() !== 0) throw new Error('the mini-lab needs root (namespaces, bridge, libvirt)');
}

export interface UpReport {
  runId: string;
  timingsMs: Record<string, number>;
  libvirtStarted: string[];
}

/** Builds the lab. Cleans leftovers of an earlier run of the same lab first. */
export interface UpOptions {
  /**
   * A lab with `settle:` is settled by this step after the network is built and before any host
   * starts (run/labsettle.ts: the generator of `hatwin settle` and keepalived -t in each master's
   * namespace; given from above, adapters/ do not import the policies). Returns what it did.
   */
  settle?: (lab: Lab) => Promise<string>;
}

export async function labUp(lab: Lab, log: Log = () => undefined, opts: UpOptions = {}): Promise<UpReport> {
  if (lab.settle && !opts.settle) throw new Error(`lab "${lab.name}" has a settle: section: labUp needs its settle step (run/labsettle.ts labSettleStep; \`hatwin lab up\` gives it)`);
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  let tPhase = t0;
  const phase = (name: string) => {
    const now = Date.now();
    timings[name] = now - tPhase;
    tPhase = now;
  };
  await preflight(lab);
  const links = await existingLinks();
  const br = links.get(lab.bridge.name);
  if (br && br.ifalias !== aliasOf(lab)) {
    throw new Error(`interface ${lab.bridge.name} exists and is not this lab's bridge (alias "${br.ifalias ?? ''}"): choose another bridge.name in ${lab.file}`);
  }
  // Leftovers are found by exact names (derived from the lab file, or recorded in its state),
  // never by prefix: another lab's names may share one.
  const nsNow = new Set(await existingNamespaces());
  const domsNow = new Set(await listDomains());
  if (readState(lab) || br || labNamespaces(lab).some((n) => nsNow.has(n)) || labDomains(lab).some((d) => domsNow.has(d))) {
    log('cleaning leftovers of an earlier run');
    await labDown(lab, log);
  }
  phase('cleanup');

  // Slow, independent preparations in parallel: libvirtd (first probe of qemu takes seconds),
  // the guest image, the keys.
  // A lab without backup VMs (lb-mini) needs neither libvirt nor the guest image.
  const guestsWanted = lab.backupVms.length > 0;
  // Navigator containers (image: depot) are started by the policy, from the image in a PC's depot.
  const [libvirtStarted, image] = await Promise.all([
    guestsWanted ? ensureLibvirt() : Promise.resolve([] as string[]),
    guestsWanted ? buildGuestImage(log) : Promise.resolve(null),
    ensureKeys(lab),
  ]).then(([a, b]) => [a, b] as const);
  if (libvirtStarted.length) log(`started ${libvirtStarted.join(', ')}`);
  phase('prepare');

  const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  mkdirSync(lab.stateDir, { recursive: true, mode: 0o700 });
  mkdirSync(lab.logDir, { recursive: true });
  for (const f of readdirSync(lab.logDir)) {
    if (/^(access\.log|events\.ndjson|.*\.log)$/.test(f)) rmSync(join(lab.logDir, f), { force: true });
  }
  writeFileSync(join(lab.stateDir, 'run-id'), `${runId}\n`);
  // For adapters/lab/ctl.mjs (run over SSH inside the lab): host name -> supervisor socket.
  writeFileSync(join(lab.stateDir, 'hosts.json'), `${JSON.stringify(Object.fromEntries(lab.hosts.map((h) => [h.name, powerSocket(lab, h.name)])))}\n`);
  const st: LabState = { lab: lab.name, file: lab.file, runId, startedAt: new Date().toISOString(), procs: [], namespaces: [], interfaces: [], domains: [] };
  writeState(lab, st);
  appendEvent(lab, { kind: 'lab.up', subject: lab.name, data: { runId } });

  await buildNetwork(lab, st);
  phase('network');
  await warnBridgeFilter(log);
  // A settled load-balanced cluster: keepalived.conf per master, checked in its namespace, before
  // the masters' keepalived starts with their hosts.
  if (lab.settle) {
    log(await opts.settle!(lab));
    phase('settle');
  }

  // Guests boot (seconds, in software emulation) while the hosts come up.
  const guests = image ? startGuests(lab, st, image, log) : Promise.resolve();
  guests.catch(() => undefined);

  // sshd: configs and the lab's authorized key.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const authorized = join(lab.stateDir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${lab.keys.sshKeyPath}.pub`, 'utf8'), { mode: 0o600 });
  for (const h of lab.hosts) {
    mkdirSync(hostDir(lab, h.name), { recursive: true, mode: 0o700 });
    writeFileSync(join(hostDir(lab, h.name), 'sshd_config'), sshdConfig(lab, h, authorized, join(hostDir(lab, h.name), 'sshd.pid')));
  }

  const daemonLog = (name: string) => openSync(join(lab.logDir, name), 'a');
  const tsnode = [process.execPath, join(REPO_DIR, 'bin/tsnode.js')];
  const etcdFd = daemonLog('etcd.log');
  const e = lab.etcd;
  const peer = `http://127.0.0.1:${e.peerPort}`;
  const etcdPid = await spawnDetached(['ip', 'netns', 'exec', etcdNs(lab), 'etcd',
    '--name', e.name, '--data-dir', join(lab.stateDir, 'etcd'),
    '--listen-client-urls', `http://${e.address}:${e.clientPort},http://127.0.0.1:${e.clientPort}`,
    '--advertise-client-urls', `http://${e.address}:${e.clientPort}`,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `${e.name}=${peer}`, '--initial-cluster-state', 'new', '--initial-cluster-token', `hatwin-${lab.name}`,
    '--logger', 'zap', '--log-level', 'warn'], etcdFd);
  closeSync(etcdFd);
  st.procs.push(procRef(etcdPid, 'etcd'));
  writeState(lab, st);

  // One instant for the PCs switched on here: their uptimes (a Service Depot's report) tie.
  const poweredOnMs = Date.now();
  for (const h of lab.hosts) {
    const fd = daemonLog(`power-${h.name}.log`);
    const pid = await spawnDetached([...tsnode, join(REPO_DIR, 'adapters/lab/supervisor.ts'), lab.file, h.name, runId, h.power, String(poweredOnMs)], fd);
    closeSync(fd);
    st.procs.push(procRef(pid, `supervisor ${h.name}`));
  }
  writeState(lab, st);
  await Promise.all(lab.hosts.map((h) => waitSupervisor(lab, h)));
  phase('hosts');

  // VIPs on their holders at start (run-time VIPs do not survive a power loss).
  for (const v of lab.vips) {
    if (v.managedBy !== 'lab') continue; // keepalived or a policy places it
    if (lab.backupVms.some((g) => g.name === v.holder)) continue; // on a guest, once it has booted
    const h = labHost(lab, v.holder);
    // With the subnet's prefix, as the live Network adapter adds and removes VIPs.
    if (h.power === 'on') await run(['ip', '-n', hostNs(lab, h.name), 'addr', 'add', `${v.address}/${lab.cidr.prefix}`, 'dev', NS_IF]);
  }
  await waitEtcd(lab);
  phase('etcd');

  await guests;
  phase('guests');
  // VIPs held by running guests (through their guest agents), then the balancers in front.
  for (const v of lab.vips) {
    if (!lab.backupVms.some((g) => g.name === v.holder)) continue;
    await new GuestAgentVipDriver(lab, v.holder, NS_IF).add(v.address);
  }
  await startBalancers(lab);
  if (lab.vips.some((v) => v.members)) phase('balancer');

  const clientFd = daemonLog('client.log');
  const clientPid = await spawnDetached(['ip', 'netns', 'exec', clientNs(lab), ...tsnode, join(REPO_DIR, 'adapters/lab/client.ts'), lab.file, runId], clientFd);
  closeSync(clientFd);
  st.procs.push(procRef(clientPid, 'client'));
  writeState(lab, st);
  phase('client');
  timings.total = Date.now() - t0;
  appendEvent(lab, { kind: 'lab.ready', subject: lab.name, data: { runId, timingsMs: timings } });
  return { runId, timingsMs: timings, libvirtStarted };
}

/** The nft table of the balancers' access counters (nftcount.ts). */
export const ACCESS_TABLE = 'hatwin_acc';

/** The VIPs a balancer host forwards to, counted (its own VIPs with `members`). */
export function balancedVips(lab: Lab, host: string): CountedVip[] {
  return lab.vips.filter((v) => v.holder === host && v.members).flatMap((v) => v.members!.map((m) => {
    const mv = lab.vips.find((x) => x.name === m)!;
    return { name: counterName(mv.name), address: mv.address, port: vipService(lab, mv).port };
  }));
}

/**
 * Each balancer (a host holding VIPs with `members`): IP forwarding on, its NAT pool
 * (adapters/lb/nftpool.ts; every member VIP once, in turn) and its access counters (nftcount.ts).
 */
async function startBalancers(lab: Lab): Promise<void> {
  for (const host of new Set(lab.vips.filter((v) => v.members).map((v) => v.holder))) {
    const ns = hostNs(lab, host);
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0']);
    const nft = (ruleset: string) => run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset, timeoutMs: 10_000 }).then(() => undefined);
    const pools = Object.fromEntries(lab.vips.filter((v) => v.holder === host && v.members).map((v) => [v.name, {
      vip: v.address,
      port: vipService(lab, v).port,
      members: Object.fromEntries(v.members!.map((m) => [m, lab.vips.find((x) => x.name === m)!.address])),
    }]));
    const pool = new NftPool({ pools, order: (ms) => ms.map((m) => m.id), apply: nft, sysctl: () => undefined });
    for (const [name, p] of Object.entries(pools)) for (const m of Object.keys(p.members)) await pool.add(name, m, 1);
    await nft(nftAccessRuleset(ACCESS_TABLE, balancedVips(lab, host)));
  }
}

async function buildNetwork(lab: Lab, st: LabState): Promise<void> {
  const alias = aliasOf(lab);
  const prefix = lab.cidr.prefix;
  const root: string[] = [
    `link add ${lab.bridge.name} type bridge stp_state 0 forward_delay 0`,
    `link set ${lab.bridge.name} alias ${alias}`,
  ];
  const nodes: Array<{ ns: string; veth: string; mac?: string; address?: string }> = [
    ...lab.hosts.map((h) => ({ ns: hostNs(lab, h.name), veth: hostVeth(lab, h.name), mac: h.mac })),
    { ns: clientNs(lab), veth: clientVeth(lab), address: lab.client.address },
    { ns: etcdNs(lab), veth: etcdVeth(lab), address: lab.etcd.address },
  ];
  for (const n of nodes) {
    root.push(`netns add ${n.ns}`);
    root.push(`link add ${n.veth} type veth peer name ${NS_IF} netns ${n.ns}`);
    root.push(`link set ${n.veth} alias ${alias} master ${lab.bridge.name}`);
  }
  // Names are validated (schema) before they reach a batch line; `ip -batch` is not a shell.
  st.interfaces = [lab.bridge.name, ...nodes.map((n) => n.veth)];
  st.namespaces = nodes.map((n) => n.ns);
  writeState(lab, st);
  await run(['ip', '-batch', '-'], { input: `${root.join('\n')}\n` });
  // IPv4 only on the lab: no IPv6 link-local chatter from the bridge, its ports or the hosts.
  for (const ifn of st.interfaces) {
    const knob = `/proc/sys/net/ipv6/conf/${ifn}/disable_ipv6`;
    if (existsSync(knob)) writeFileSync(knob, '1');
  }
  await run(['ip', 'addr', 'add', `${lab.bridge.address}/${prefix}`, 'dev', lab.bridge.name]);
  await run(['ip', '-batch', '-'], { input: `${[lab.bridge.name, ...nodes.map((n) => n.veth)].map((i) => `link set ${i} up`).join('\n')}\n` });
  await Promise.all(nodes.map(async (n) => {
    await run(['ip', 'netns', 'exec', n.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    const cmds = ['link set lo up', ...(n.mac ? [`link set ${NS_IF} address ${n.mac}`] : [])];
    if (n.address) cmds.push(`addr add ${n.address}/${prefix} dev ${NS_IF}`, `link set ${NS_IF} up`);
    await run(['ip', '-n', n.ns, '-batch', '-'], { input: `${cmds.join('\n')}\n` });
  }));
}

/**
 * With br_netfilter loaded, bridged traffic passes iptables/nft FORWARD chains (LAB-NOTES): a
 * forward policy of drop (Docker sets one) silently cuts the lab's hosts off from each other.
 */
async function warnBridgeFilter(log: Log): Promise<void> {
  const knob = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  if (!existsSync(knob) || readFileSync(knob, 'utf8').trim() !== '1') return;
  const r = await run(['nft', 'list', 'ruleset'], { allowFail: true });
  if (/hook forward[^\n]*policy drop/.test(r.stdout)) {
    log('warning: br_netfilter is on and a forward chain drops by default: bridged lab traffic may be dropped (accept it for the lab bridge, or set net.bridge.bridge-nf-call-iptables=0)');
  }
}

async function startGuests(lab: Lab, st: LabState, image: GuestImage, log: Log): Promise<void> {
  const dir = join(lab.stateDir, 'guests');
  mkdirSync(dir, { recursive: true });
  const prepared = lab.backupVms.filter((v) => v.image === 'lab');
  for (const vm of prepared) {
    const name = domainName(lab, vm.name);
    await defineDomain(join(dir, `${vm.name}.xml`), domainXml(lab, vm, image));
    st.domains.push(name);
    writeState(lab, st);
  }
  const t0 = Date.now();
  // Software emulation: guests booting at once share the cores; more at once than cores is
  // slower in total (4 on 2 cores: ~27 s; 2 + 2: ~16 s).
  const queue = [...prepared];
  const worker = async () => {
    for (let vm = queue.shift(); vm; vm = queue.shift()) {
      const name = domainName(lab, vm.name);
      await virsh(['start', name]);
      await waitGuestReady(lab, vm.name, 120_000);
      if (vm.start === 'running') {
        log(`guest ${vm.name} booted (${Date.now() - t0} ms)`);
        continue;
      }
      // Kept suspended, ready to resume in tens of milliseconds (the papers' backup VMs).
      await virsh(['suspend', name]);
      log(`guest ${vm.name} booted and suspended (${Date.now() - t0} ms)`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), queue.length)) }, worker));
}

async function waitGuestReady(lab: Lab, vm: string, timeoutMs: number): Promise<void> {
  const path = guestConsolePath(lab, vm);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path) && readFileSync(path, 'utf8').includes(`HATWIN-READY ${vm}`)) return;
    await sleep(100);
  }
  const tail = existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ') : 'no console output';
  throw new Error(`guest ${vm} not ready within ${timeoutMs} ms (console ${path}: ${tail})`);
}

async function waitSupervisor(lab: Lab, h: LabHost, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (existsSync(powerSocket(lab, h.name))) {
      try {
        const r = await control(powerSocket(lab, h.name), { op: 'status' }, 5_000);
        if (r.ok && r.status) {
          const s = r.status;
          if (s.power === h.power && (h.power === 'off' || s.procs.every((p) => p.state === 'running'))) return;
          last = `power ${s.power}, ${s.procs.map((p) => `${p.name} ${p.state}`).join(', ')}`;
        }
      } catch (e) {
        last = (e as Error).message;
      }
    }
    await sleep(50);
  }
  throw new Error(`host ${h.name}: supervisor not ready within ${timeoutMs} ms (${last || 'no socket'}; see ${join(lab.logDir, `power-${h.name}.log`)})`);
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Whether traffic from this (root) namespace to `address` goes to the lab's bridge and nowhere else. */
async function routedToLab(lab: Lab, address: string): Promise<boolean> {
  if (!inCidr(lab.cidr, address)) return false;
  const r = await run(['ip', '-j', 'route', 'get', address], { allowFail: true });
  try {
    return (JSON.parse(r.stdout) as Array<{ dev?: string }>)[0]?.dev === lab.bridge.name;
  } catch {
    return false;
  }
}

export async function etcdHealth(lab: Lab): Promise<{ healthy: boolean; detail: string }> {
  const url = `http://${lab.etcd.address}:${lab.etcd.clientPort}/health`;
  if (!(await routedToLab(lab, lab.etcd.address))) return { healthy: false, detail: 'lab bridge not up' };
  try {
    const r = await httpGet(url, 1_000);
    const healthy = r.status === 200 && /"health"\s*:\s*"true"/.test(r.body);
    return { healthy, detail: r.body.trim() };
  } catch (e) {
    return { healthy: false, detail: (e as Error).message };
  }
}

async function waitEtcd(lab: Lab, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const h = await etcdHealth(lab);
    if (h.healthy) return;
    last = h.detail;
    await sleep(100);
  }
  throw new Error(`etcd not healthy within ${timeoutMs} ms (${last}; see ${join(lab.logDir, 'etcd.log')})`);
}

export interface DownReport {
  killed: number;
  domains: string[];
  namespaces: string[];
  interfaces: string[];
  timingsMs: number;
}

/** Tears the lab down completely; safe to call on a lab that is partly built or already down. */
export async function labDown(lab: Lab, log: Log = () => undefined): Promise<DownReport> {
  const t0 = Date.now();
  const st = readState(lab);
  appendEvent(lab, { kind: 'lab.down', subject: lab.name });
  // Supervisors and the client end themselves when the run id goes; ask supervisors directly too.
  const recorded = (st?.procs ?? []).filter((p) => isAlive(p));
  rmSync(join(lab.stateDir, 'run-id'), { force: true });
  await Promise.all(lab.hosts.map((h) => (existsSync(powerSocket(lab, h.name)) ? control(powerSocket(lab, h.name), { op: 'shutdown' }, 3_000).catch(() => undefined) : undefined)));

  // Every process in the lab's namespaces: SIGKILL (a lab host has nothing to save).
  const present = new Set(await existingNamespaces());
  const namespaces = [...new Set([...labNamespaces(lab), ...(st?.namespaces ?? [])])].filter((n) => present.has(n));
  const inNs = (await Promise.all(namespaces.map(nsPids))).flat();
  await endProcesses(inNs, 'SIGKILL');
  await endProcesses(recorded, 'SIGTERM', 3_000);
  const killed = new Set([...inNs, ...recorded.map((p) => p.pid)]).size;

  // The lab's declared guests and any guest VM control created in it (named with the lab's prefix).
  const domains = [...new Set([...(st?.domains ?? []), ...labDomains(lab), ...(await listDomains().catch(() => [] as string[])).filter((d) => d.startsWith(domainPrefix(lab)))])];
  const removedDomains: string[] = [];
  await Promise.all(domains.map(async (d) => {
    if ((await domainState(d)) === null) return;
    await removeDomain(d);
    removedDomains.push(d);
  }));

  for (const n of namespaces) await run(['ip', 'netns', 'del', n], { allowFail: true });
  const links = await existingLinks();
  const interfaces = [...new Set([...labInterfaces(lab), ...(st?.interfaces ?? [])])].filter((i) => links.get(i)?.ifalias === aliasOf(lab));
  // Veth ends go with their namespaces; the bridge last.
  for (const i of interfaces.sort((a, b) => Number(a === lab.bridge.name) - Number(b === lab.bridge.name))) {
    if ((await existingLinks()).has(i)) await run(['ip', 'link', 'del', i], { allowFail: true });
  }
  rmSync(lab.stateDir, { recursive: true, force: true });
  const report = { killed, domains: removedDomains, namespaces, interfaces, timingsMs: Date.now() - t0 };
  log(`down: ${killed} processes, ${removedDomains.length} guests, ${namespaces.length} namespaces, ${interfaces.length} interfaces (${report.timingsMs} ms)`);
  return report;
}

/** What of the lab is still on this machine (empty after `down`). */
export async function labLeftovers(lab: Lab): Promise<string[]> {
  const left: string[] = [];
  const st = readState(lab);
  const nsNow = new Set(await existingNamespaces());
  left.push(...[...new Set([...labNamespaces(lab), ...(st?.namespaces ?? [])])].filter((n) => nsNow.has(n)).map((n) => `namespace ${n}`));
  const links = await existingLinks();
  for (const [name, l] of links) if (l.ifalias === aliasOf(lab) || labInterfaces(lab).includes(name)) left.push(`interface ${name}`);
  const domsNow = new Set(await listDomains());
  left.push(...[...new Set([...labDomains(lab), ...(st?.domains ?? []), ...[...domsNow].filter((d) => d.startsWith(domainPrefix(lab)))])].filter((d) => domsNow.has(d)).map((d) => `guest ${d}`));
  if (existsSync(lab.stateDir)) left.push(`folder ${lab.stateDir}`);
  return left;
}

export interface ServiceCheck extends CheckResult {
  service: string;
  protocol: string;
  port: number;
}

export interface LabStatus {
  lab: string;
  up: boolean;
  runId: string | null;
  hosts: Array<{ name: string; address: string; supervisor: HostStatus | null; error?: string; services: ServiceCheck[] }>;
  guests: Array<{ name: string; domain: string; state: string | null }>;
  vips: Array<{ name: string; address: string; holders: string[]; check: CheckResult | null }>;
  etcd: { healthy: boolean; detail: string };
  client: { alive: boolean; lastAccess: Access[] };
}

/** Which namespaces hold an address on their NIC. */
async function addressHolders(lab: Lab): Promise<Map<string, string[]>> {
  const holders = new Map<string, string[]>();
  await Promise.all(lab.hosts.map(async (h) => {
    const r = await run(['ip', '-n', hostNs(lab, h.name), '-j', 'addr', 'show', 'dev', NS_IF], { allowFail: true });
    try {
      for (const a of (JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string }> }>)[0]?.addr_info ?? []) {
        holders.set(a.local, [...(holders.get(a.local) ?? []), h.name]);
      }
    } catch { /* namespace gone */ }
  }));
  return holders;
}

export async function labStatus(lab: Lab): Promise<LabStatus> {
  const st = readState(lab);
  const bridgeUp = await routedToLab(lab, lab.etcd.address);
  const hosts = await Promise.all(lab.hosts.map(async (h) => {
    let supervisor: HostStatus | null = null;
    let error: string | undefined;
    try {
      const r = await control(powerSocket(lab, h.name), { op: 'status' }, 3_000);
      if (r.ok) supervisor = r.status ?? null;
      else error = r.error;
    } catch (e) {
      error = (e as Error).message;
    }
    const services = bridgeUp
      ? await Promise.all(h.services.map(async (s) => ({ service: s.name, protocol: s.protocol, port: s.port, ...(await checkService(h.address, s.port, labServiceCheck(s), 500)) })))
      : [];
    return { name: h.name, address: h.address, supervisor, ...(error ? { error } : {}), services };
  }));
  const guests = await Promise.all(lab.backupVms.map(async (v) => ({ name: v.name, domain: domainName(lab, v.name), state: await domainState(domainName(lab, v.name)) })));
  const holders = bridgeUp ? await addressHolders(lab) : new Map<string, string[]>();
  const vips = await Promise.all(lab.vips.map(async (v) => {
    const s = vipService(lab, v);
    return {
      name: v.name, address: v.address, holders: holders.get(v.address) ?? [],
      check: bridgeUp ? await checkService(v.address, s.port, labServiceCheck(s), 500) : null,
    };
  }));
  const clientRef = st?.procs.find((p) => p.what === 'client');
  const logText = existsSync(accessLogPath(lab)) ? readFileSync(accessLogPath(lab), 'utf8') : '';
  const all = parseAccessLog(logText.slice(-8192));
  const lastAccess = lab.vips.map((v) => all.filter((a) => a.vip === v.name).at(-1)).filter((a): a is Access => a !== undefined);
  return {
    lab: lab.name,
    up: st !== null && bridgeUp,
    runId: st?.runId ?? null,
    hosts,
    guests,
    vips,
    etcd: bridgeUp ? await etcdHealth(lab) : { healthy: false, detail: 'lab not up' },
    client: { alive: clientRef ? isAlive(clientRef) : false, lastAccess },
  };
}

export function formatStatus(s: LabStatus): string {
  const lines = [`lab ${s.lab}: ${s.up ? `up (run ${s.runId})` : 'down'}`];
  if (!s.up && s.hosts.every((h) => !h.supervisor)) return lines.join('\n');
  lines.push('', '| host | power | nic | cable | processes | service checks |', '|---|---|---|---|---|---|');
  for (const h of s.hosts) {
    const sv = h.supervisor;
    const procs = sv ? sv.procs.map((p) => `${p.name} ${p.state}${p.pid ? ` (${p.pid})` : ''}`).join(', ') + (sv.paused ? ' [paused]' : '') : `supervisor: ${h.error ?? 'none'}`;
    const checks = h.services.map((c) => `${c.service}:${c.port} ${c.ok ? 'OK' : `XX ${c.detail}`}`).join(', ') || '—';
    lines.push(`| ${h.name} ${h.address} | ${sv?.power ?? '?'} | ${sv?.link.nic ?? '?'} | ${sv?.link.cable ?? '?'} | ${procs} | ${checks} |`);
  }
  lines.push('', '| backup VM | libvirt domain | state |', '|---|---|---|');
  for (const g of s.guests) lines.push(`| ${g.name} | ${g.domain} | ${g.state ?? 'not defined'} |`);
  lines.push('', '| VIP | address | on hosts | check |', '|---|---|---|---|');
  for (const v of s.vips) lines.push(`| ${v.name} | ${v.address} | ${v.holders.join(', ') || '—'} | ${v.check ? (v.check.ok ? `OK by ${v.check.servedBy ?? '?'}` : `XX ${v.check.detail}`) : '—'} |`);
  lines.push('', `etcd: ${s.etcd.healthy ? 'healthy' : `UNHEALTHY (${s.etcd.detail})`}`);
  lines.push(`client: ${s.client.alive ? 'running' : 'not running'}; last: ${s.client.lastAccess.map((a) => `${a.vip} ${a.ok ? 'OK' : 'XX'}`).join(', ') || '—'}`);
  return lines.join('\n');
}

export const FAULTS = ['St1', 'St2', 'Nt1', 'Nt2', 'pause', 'link-down', 'partition-oneway', 'heal'] as const;
/** FAULTS and `kill` (SIGKILL of a daemon and its children: a director's keepalived). */
export const LAB_FAULTS = [...FAULTS, 'kill'] as const;
export type LabFault = (typeof LAB_FAULTS)[number];

export interface FaultOptions {
  /** St1/St2: which service (default: the host's first). */
  service?: string;
  /** partition-oneway: drop only what comes from this host, VM, client or etcd (default: the whole subnet). */
  peer?: string;
}

const FAULT_TABLE = 'hatwin_fault';

function peerAddress(lab: Lab, name: string): string {
  const all = new Map<string, string>([
    ...lab.hosts.map((h) => [h.name, h.address] as [string, string]),
    ...lab.backupVms.map((v) => [v.name, v.address] as [string, string]),
    [lab.client.name, lab.client.address],
    [lab.etcd.name, lab.etcd.address],
  ]);
  const a = all.get(name);
  if (!a) throw new Error(`lab "${lab.name}" has no host, VM, client or etcd "${name}" (known: ${[...all.keys()].join(', ')})`);
  return a;
}

/**
 * A live fault on one host (the papers' St1, St2, Nt1, Nt2, plus pause, link-down and a one-way
 * partition), or `heal` to lift the network faults, pause and freezes (a stopped service or a
 * powered-off host is the policy's to recover).
 */
export async function labFault(lab: Lab, hostName: string, fault: LabFault, opts: FaultOptions = {}): Promise<string> {
  const h = labHost(lab, hostName);
  if (!(LAB_FAULTS as readonly string[]).includes(fault)) throw new Error(`unknown fault "${fault}" (known: ${LAB_FAULTS.join(', ')})`);
  const sock = powerSocket(lab, h.name);
  const ns = hostNs(lab, h.name);
  // Services, and the host's other processes (a director's keepalived) by name.
  const daemons = [...h.services.map((s) => s.name), ...h.processes.map((p) => p.name)];
  const svc = () => {
    const name = opts.service ?? h.services[0]?.name;
    if (!name || !daemons.includes(name)) throw new Error(`host "${h.name}" has no service or process "${name ?? ''}" (services and processes: ${daemons.join(', ') || 'none'})`);
    return name;
  };
  appendEvent(lab, { kind: 'lab.fault', subject: h.name, data: { fault, ...opts } });
  switch (fault) {
    case 'St1':
      return (await controlOk(sock, { op: 'service', action: 'stop', service: svc() })).message ?? '';
    case 'St2':
      return (await controlOk(sock, { op: 'service', action: 'wedge', service: svc() })).message ?? '';
    case 'kill':
      // SIGKILL to the daemon and every process it forked (keepalived's parent and VRRP child).
      return (await controlOk(sock, { op: 'service', action: 'kill', service: svc() })).message ?? '';
    case 'Nt1':
      return `power ${(await controlOk(sock, { op: 'power', action: 'cycle' })).message ?? ''}`;
    case 'Nt2':
      return `power ${(await controlOk(sock, { op: 'power', action: 'off' })).message ?? ''}`;
    case 'pause':
      return (await controlOk(sock, { op: 'pause' })).message ?? '';
    case 'link-down':
      return (await controlOk(sock, { op: 'cable', action: 'down' })).message ?? '';
    case 'partition-oneway': {
      // The host no longer hears the lab (or one peer); what it sends still goes out.
      const from = opts.peer ? `${peerAddress(lab, opts.peer)}/32` : lab.subnet;
      await run(['ip', 'netns', 'exec', ns, 'nft', 'add', 'table', 'inet', FAULT_TABLE]);
      await run(['ip', 'netns', 'exec', ns, 'nft', 'add', 'chain', 'inet', FAULT_TABLE, 'input', '{', 'type', 'filter', 'hook', 'input', 'priority', '0', ';', '}']);
      await run(['ip', 'netns', 'exec', ns, 'nft', 'add', 'rule', 'inet', FAULT_TABLE, 'input', 'ip', 'saddr', from, 'drop']);
      return `${h.name} drops what comes from ${from}`;
    }
    case 'heal': {
      await run(['ip', 'netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', FAULT_TABLE], { allowFail: true });
      await controlOk(sock, { op: 'cable', action: 'up' });
      const st = (await controlOk(sock, { op: 'status' })).status!;
      if (st.paused) await controlOk(sock, { op: 'unpause' });
      for (const p of st.procs) if (p.state === 'frozen') await controlOk(sock, { op: 'service', action: 'thaw', service: p.name });
      return `${h.name} healed (cable up, no drop rules, not paused, no frozen service)`;
    }
  }
}

/** Boot command / power button of a host. */
export async function labPower(lab: Lab, hostName: string, action: 'on' | 'off' | 'cycle' | 'suspend'): Promise<string> {
  const h = labHost(lab, hostName);
  return (await controlOk(powerSocket(lab, h.name), { op: 'power', action })).message ?? '';
}

/** Service control of a host (what a management program does over SSH in a real lab). */
export async function labService(lab: Lab, hostName: string, action: 'start' | 'stop' | 'restart', service: string): Promise<string> {
  const h = labHost(lab, hostName);
  return (await controlOk(powerSocket(lab, h.name), { op: 'service', action, service })).message ?? '';
}

/**
 * Sends a Wake-on-LAN magic packet for a host to the lab subnet's broadcast address, from the
 * root namespace's address on the lab bridge (refused unless the bridge carries that route).
 */
export async function sendWake(lab: Lab, hostName: string): Promise<void> {
  const h = labHost(lab, hostName);
  const bcast = formatIpv4(lab.cidr.broadcast);
  if (!(await routedToLab(lab, h.address))) throw new Error(`lab ${lab.name} is not up (no route to ${lab.subnet} via ${lab.bridge.name})`);
  await sendMagicPacket(h.mac, { broadcast: bcast, port: lab.wolPort, localAddress: lab.bridge.address });
  appendEvent(lab, { kind: 'lab.wake.sent', subject: h.name, data: { mac: h.mac, to: `${bcast}:${lab.wolPort}` } });
}

/**
 * Argv templates for the live adapters' Services and Power ports in this lab (run over SSH on the
 * host, inside its namespace): they ask the host's supervisor through adapters/lab/ctl.mjs.
 * Placeholders: {target} {service} {action} (services), {host} (power).
 */
export function labLiveCommands(lab: Lab): {
  services: { start: string[]; stop: string[]; restart: string[] };
  power: { shutdown: string[]; reboot: string[]; suspend: string[] };
} {
  const ctl = [process.execPath, join(REPO_DIR, 'adapters/lab/ctl.mjs'), lab.stateDir];
  return {
    services: {
      start: [...ctl, '{target}', 'service', 'start', '{service}'],
      stop: [...ctl, '{target}', 'service', 'stop', '{service}'],
      restart: [...ctl, '{target}', 'service', 'restart', '{service}'],
    },
    power: { shutdown: [...ctl, '{host}', 'power', 'off'], reboot: [...ctl, '{host}', 'power', 'cycle'], suspend: [...ctl, '{host}', 'power', 'suspend'] },
  };
}

/**
 * Back to the lab's initial state after a live run (quietly: nothing is done where nothing is
 * wrong): every powered host's cable up, drop rules gone, host unpaused, frozen daemons thawed,
 * stopped or exited services and processes started again; a VRRP VIP left on a director whose
 * keepalived is not running (a killed master keeps it) removed first; then each VRRP VIP awaited
 * on its expected master alone (`holder`: the highest priority, which preempts).
 */
export async function labRestore(lab: Lab, log: Log = () => undefined, timeoutMs = 30_000): Promise<void> {
  const vrrpVips = lab.vips.filter((v) => v.managedBy === 'vrrp');
  for (const h of lab.hosts) {
    const sock = powerSocket(lab, h.name);
    const st = (await controlOk(sock, { op: 'status' })).status!;
    if (st.power !== 'on') continue;
    const ns = hostNs(lab, h.name);
    if (st.link.cable === 'down') {
      await controlOk(sock, { op: 'cable', action: 'up' });
      log(`restore: ${h.name} cable up`);
    }
    await run(['ip', 'netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', FAULT_TABLE], { allowFail: true });
    if (st.paused) await controlOk(sock, { op: 'unpause' });
    const down = st.procs.filter((p) => p.kind !== 'sshd' && p.state !== 'running');
    if (down.length && vrrpVips.length) {
      const r = await run(['ip', '-n', ns, '-4', '-o', 'addr', 'show', 'dev', NS_IF], { allowFail: true });
      for (const v of vrrpVips) {
        if (r.stdout.includes(` ${v.address}/`)) {
          await run(['ip', '-n', ns, 'addr', 'del', `${v.address}/${lab.cidr.prefix}`, 'dev', NS_IF], { allowFail: true });
          log(`restore: stale ${v.name} removed from ${h.name}`);
        }
      }
    }
    for (const p of down) {
      await controlOk(sock, { op: 'service', action: p.state === 'frozen' ? 'thaw' : 'start', service: p.name });
      log(`restore: ${h.name} ${p.name} ${p.state === 'frozen' ? 'thawed' : 'started'}`);
    }
  }
  if (vrrpVips.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const holders = await addressHolders(lab);
    const wrong = vrrpVips.filter((v) => (holders.get(v.address) ?? []).join(',') !== v.holder);
    if (wrong.length === 0) return;
    if (Date.now() > deadline) throw new Error(`restore: ${wrong.map((v) => `${v.name} on ${(holders.get(v.address) ?? []).join(', ') || 'nobody'}, not ${v.holder} alone`).join('; ')} after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}
