// `hatwin calibrate LAB.yaml`: measures in the mini-lab what the sim needs as parameters (probe
// and service examination times, service restart, guest resume to serving, VIP set in a guest,
// power cycle to serving) and writes them to a params file. `hatwin conform SCENARIO --lab LAB`:
// runs the scenario live and in sim (world parameters from that file) and compares the metrics
// the sim's extractors read from both traces.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { parseNdjson, toNdjson } from '../trace/ndjson.ts';
import { LiveProber } from '../adapters/probe/prober.ts';
import { ServiceRegistry } from '../adapters/probe/registry.ts';
import { buildSimulation, parseScenario, readScenario } from './sim.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { durationUs } from '../sim/scenario/units.ts';
import { lbConformMarkdown, lbConformRows, lbPolicyOf } from './lbconform.ts';
import { navConformRows, navigatorVipOf } from './navconform.ts';
import { hasPss, pssConformRows } from './pssconform.ts';
import { msbsSchema } from '../policies/msbs/manifest.ts';
import { disconnections, recoveries, type TraceLine } from '../trace/metrics.ts';
import { agentLiveConfig, IdempotentGuestVipDriver, LAB_SSH_CONNECT_MS, labNftPools } from '../adapters/lab/agent-config.ts';
import { NftPool } from '../adapters/lb/nftpool.ts';
import { run } from '../adapters/lab/run.ts';
import { wrrCycleOrder } from '../policies/lbcluster/wrr.ts';
import { GuestServices } from '../adapters/lab/guest-services.ts';
import { observeHolders, resetLabWorld, runLive, vmLoadMemMb } from './live.ts';
import { wallUs } from './agent.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { formatIpv4 } from '../adapters/lab/ipv4.ts';
import { labFault, labLiveCommands, labPower, labService } from '../adapters/lab/lab.ts';
import { eventsPath } from '../adapters/lab/events.ts';
import { AGENT_PORT } from '../adapters/lab/agent-config.ts';
import { tcpReach } from '../adapters/lab/reach-gate.ts';
import { virsh } from '../adapters/lab/libvirt.ts';
import { depotImage, domainName, hostNs } from '../adapters/lab/names.ts';
import { MessengerServer, TcpMessenger } from '../adapters/messenger/messenger.ts';
import { readHmacKey } from '../adapters/messenger/key.ts';
import { run as sshRun, SshExec, type Exec } from '../adapters/ssh/exec.ts';
import { LivePower } from '../adapters/power/power.ts';
import { LiveServices } from '../adapters/ssh/services.ts';
import { ExecVipDriver } from '../adapters/net/vip.ts';
import { labHost, loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';
import { spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/** One calibrated quantity: every sample kept (seconds), and a summary to read. */
export interface Measured {
  what: string;
  samples: number[];
  median: number;
  mean: number;
  min: number;
  max: number;
}

export function measured(what: string, samples: number[]): Measured {
  if (samples.length === 0) throw new Error(`calibrate: no sample of ${what}`);
  const xs = samples.map((x) => round(x, 5));
  return { what, samples: xs, median: round(median(xs)), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length), min: Math.min(...xs), max: Math.max(...xs) };
}

/** The sim's distribution of a measured quantity: its samples, each equally likely. */
export const empirical = (m: Measured): { kind: 'empirical'; values: number[] } => ({ kind: 'empirical', values: m.samples });

/** A calibration of the machine's costs only (`hatwin calibrate --machine`). */
export interface MachineCalibration {
  lab: string;
  measuredAt: string;
  samples: number;
  machineOnly: true;
  dist: { faultInjectS: Measured; liveTurnS: Measured; agentStartS: Measured; hypervisorUnreachableS?: Measured };
  /**
   * Labs whose guests boot from an image in a PC's depot (Navigator containers): such a start,
   * from the hypervisor's start call until the guest is ready and its agent answers (the sim's
   * `startS` of those VMs).
   */
  containers?: {
    vms: string[];
    startS: Measured;
    commandS: Measured;
    /**
     * A service started in a container through its guest agent, until the command returns, in a
     * container that has run a standby's few seconds since its service was stopped, as a new
     * primary's pilot starts it (absent in older files; in files before 2026-11-27 timed right
     * after the stop, 0.8 s after the boot).
     */
    serviceStartS?: Measured;
    /** The same start right after the stop, in the container just booted (recorded beside it, not applied). */
    serviceStartFreshS?: Measured;
    /** From that return until the service answers a service examination (absent in older files, or when it never answered). */
    serviceUpS?: Measured;
  };
  /**
   * Labs with load-balanced VIPs (an nft pool per VRRP VIP): one pool change on a director, as
   * its agent makes it (the whole table rewritten by one `nft -f`): the sim's `poolWriteS`.
   */
  pools?: { writeS: Measured };
  /**
   * Labs whose real servers suspend to RAM and carry running guests (the PSS's, pss-mini): the
   * DBSS's examination of a running guest (network, then its service, through the LiveProber the
   * agent uses), a VIP set in and removed from a running guest (the PSS's VIP move, through its
   * guest agent), and a real server's suspend (the power call until its supervisor's event says it is
   * suspended) and resume (the magic packet until it is on again).
   */
  pss?: PssCalibration;
}

export interface PssCalibration {
  /** The real servers whose suspend and resume were measured as the sim's `suspendS` / `resumeS` of every host with watts. */
  hosts: string[];
  networkExamS: Measured;
  serviceExamS: Measured;
  guestVipSetS: Measured;
  guestVipRemoveS: Measured;
  /** Of a guest's VIP set, until a client is served (its gratuitous ARP sent); absent in older files. */
  guestVipServedS?: Measured;
  /** Of a guest's VIP removal, until the address is gone (`ip addr del` launched); absent in older files. */
  guestVipGoneS?: Measured;
  hostSuspendS: Measured;
  hostResumeS: Measured;
  /**
   * From the woken host's supervisor saying it is on to the Power port's resume returning: live
   * waits for a command over a new SSH connection (adapters/power/power.ts). Absent in files
   * written before it was measured.
   */
  hostResumeAnswerS?: Measured;
  /**
   * A spare VM the lab keeps suspended, resumed and suspended again through the lab's Hypervisor
   * port (LabHypervisor: the whole call, libvirt's included): the sim's `resumeS` / `suspendS` of
   * every VM, with `network.hypervisorCallS` 0. Absent in files written before they were measured.
   */
  vmResumeS?: Measured;
  vmSuspendS?: Measured;
}

export interface CalibrateParams {
  lab: string;
  measuredAt: string;
  samples: number;
  network: { examS: number; vipSetS: number };
  /** Per service: its examination, its restart's median and (files since 2026-11-26) the restart's samples. */
  hosts: Record<string, { bootS: number; restartS: number; services: Record<string, { examS: number; restartS: number; restart?: Measured }> }>;
  vms: Record<string, { resumeS: number; services: Record<string, { examS: number }> }>;
  /**
   * What live spends time on beyond the world's steps, each as its samples (absent in a file
   * written before they were measured: then the sim runs without them).
   */
  dist?: {
    /** A message delivered and acknowledged by the messenger (HMAC, TCP, one ack). */
    messageS: Measured;
    /** A message to an address nobody answers: the messenger's timeout (the lab's messageMs). */
    messageTimeoutS: Measured;
    /** One guest-agent round trip (`guest-ping` by virsh qemu-agent-command). */
    guestAgentS: Measured;
    /** A VIP set in a guest through the guest agent (guest-exec, status polls, arping). */
    guestVipSetS: Measured;
    /** A VIP removed from a guest through the guest agent (absent in older files: the set time). */
    guestVipRemoveS?: Measured;
    /** Of a guest's VIP set, until a client is served (its gratuitous ARP sent); absent in older files. */
    guestVipServedS?: Measured;
    /** Of a guest's VIP removal, until the address is gone (`ip addr del` launched); absent in older files. */
    guestVipGoneS?: Measured;
    /** A VIP set in a host over a kept SSH connection (ip addr, arping). */
    hostVipSetS: Measured;
    /** Of that, until the address is on the host's interface (ip addr add: serving from then; absent in older files). */
    hostVipAddS?: Measured;
    /** A VIP removed from a host over a kept SSH connection (absent in older files: the set time). */
    hostVipRemoveS?: Measured;
    /** A command (`true`) over a kept SSH connection: the sim's commandS. */
    sshCommandS: Measured;
    /** A fresh SSH connection's cost: connect + command minus the kept connection's median command. */
    sshConnectS: Measured;
    /** A lab fault injected (the call to the host's supervisor until it has acted): after the fault is recorded live. */
    faultInjectS: Measured;
    /** One turn of `hatwin live`'s loop (observe the guests and VIP holders, then 250 ms): a fault lands in the turn after its time. */
    liveTurnS: Measured;
    /** Agent start-up: spawned in its host's namespace until its programs start (absent in older files). */
    agentStartS?: Measured;
    /** A Hypervisor call to a host nobody answers failing at the lab's gate (absent in older files). */
    hypervisorUnreachableS?: Measured;
  };
  notes: string[];
}

function proberFor(lab: Lab): LiveProber {
  const c = agentLiveConfig(lab, lab.hosts[0].name, 'calibrate');
  return new LiveProber(new ServiceRegistry(c.hosts.map((h) => ({ name: h.name, address: h.address })), c.services));
}

/** Seconds until `ok()` holds, polling every `stepMs`. */
async function secondsUntil(what: string, ok: () => Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<number> {
  const start = wallUs();
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`calibrate: ${what} not within ${timeoutMs / 1000} s`);
    await sleep(stepMs);
  }
  return (wallUs() - start) / 1e6;
}

/** Seconds `f` takes. */
async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = wallUs();
  await f();
  return (wallUs() - t0) / 1e6;
}

/**
 * Times a guest VIP call as `timed` does and, into `effects`, when its change took effect for a
 * client (the driver's `onEffect`: an add's gratuitous ARP sent, a removal's `ip addr del`
 * launched), from the same start. A call that reported no effect counts its whole time.
 */
function vipEffectClock(): { onEffect: () => void; timed: (f: () => Promise<unknown>, effects: number[]) => Promise<number> } {
  let at: number | null = null;
  return {
    onEffect: () => {
      at = wallUs();
    },
    async timed(f, effects) {
      at = null;
      const t0 = wallUs();
      await f();
      const end = wallUs();
      effects.push(((at ?? end) - t0) / 1e6);
      return (end - t0) / 1e6;
    },
  };
}

/** Spare addresses of the lab subnet (used by nothing the lab builds), from the top down. */
function spareAddresses(lab: Lab, n: number): string[] {
  const used = new Set([lab.bridge.address, lab.etcd.address, lab.client.address, ...lab.hosts.map((h) => h.address), ...lab.backupVms.map((v) => v.address), ...lab.vips.map((v) => v.address)]);
  const out: string[] = [];
  for (let a = lab.cidr.broadcast - 2; out.length < n && a > lab.cidr.broadcast - 64; a--) if (!used.has(formatIpv4(a))) out.push(formatIpv4(a));
  if (out.length < n) throw new Error(`calibrate: lab ${lab.name} has no ${n} spare addresses near the top of ${lab.subnet}`);
  return out;
}

/**
 * The messenger, from the root namespace on the bridge: delivery to a receiver on the bridge
 * address (a real TCP connection, HMAC and ack, as between agents), and the timeout to an
 * address nobody answers (the lab's messageMs, as an agent's messenger waits it out for a
 * powered-off peer: ARP gets no answer, so no TCP error comes sooner).
 */
async function measureMessenger(lab: Lab, n: number, dead: string): Promise<{ ok: number[]; timeout: number[] }> {
  const key = readHmacKey(lab.keys.hmacKeyPath);
  const listen = { address: lab.bridge.address, port: AGENT_PORT + 90 };
  let got = 0;
  const server = new MessengerServer({ agent: 'calibrate-rx', listen, key, deliver: () => void got++ });
  await server.start();
  const messageMs = agentLiveConfig(lab, lab.hosts[0].name, 'calibrate').timeouts?.messageMs ?? 500;
  const tx = new TcpMessenger({ agent: 'calibrate', key, peers: { 'calibrate-rx': listen, 'calibrate-dead': { address: dead, port: AGENT_PORT } }, timeoutMs: messageMs });
  const ok: number[] = [];
  const timeout: number[] = [];
  try {
    for (let i = 0; i < n; i++) ok.push(await timed(() => tx.send('calibrate-rx', 'calibrate', { from: 'calibrate', to: 'calibrate-rx', type: 'ping', body: { i } })));
    for (let i = 0; i < n; i++) {
      const t0 = wallUs();
      const e = await tx.send('calibrate-dead', 'calibrate', { from: 'calibrate', to: 'calibrate-dead', type: 'ping', body: { i } }).then(() => null, (x: unknown) => x);
      if (e === null) throw new Error(`calibrate: a message to ${dead} (nobody there) was acknowledged`);
      timeout.push((wallUs() - t0) / 1e6);
    }
  } finally {
    tx.close();
    await server.close();
  }
  if (got < n) throw new Error(`calibrate: ${got} of ${n} messages delivered`);
  return { ok, timeout };
}

/** SSH to the lab's hosts as an agent makes it (its keys, pinned host keys, timeouts): connections kept until close(). */
function labSsh(lab: Lab): SshExec {
  const c = agentLiveConfig(lab, lab.hosts[0].name, 'calibrate');
  const sshHosts = c.hosts.filter((h) => h.ssh).map((h) => ({ name: h.name, address: h.address, port: h.ssh!.port, user: h.ssh!.user, keyFile: h.ssh!.keyFile }));
  return new SshExec({ hosts: sshHosts, knownHosts: readFileSync(c.knownHostsFile!, 'utf8'), knownHostsSource: c.knownHostsFile, connectTimeoutMs: c.timeouts?.sshConnectMs, defaultTimeoutMs: c.timeouts?.commandMs });
}

/** SSH from the root namespace to `host` with the agents' keys and pins: a fresh connection per sample, and commands over one kept connection. */
async function measureSsh(lab: Lab, host: string, n: number, spare: string): Promise<{ fresh: number[]; kept: number[]; vipSet: number[]; vipAdd: number[]; vipRemove: number[] }> {
  const c = agentLiveConfig(lab, host, 'calibrate');
  const mk = () => labSsh(lab);
  const ok = async (x: SshExec) => {
    const r = await x.exec(host, ['true']);
    if (r.code !== 0) throw new Error(`calibrate: ssh ${host} true exited ${r.code}: ${r.stderr}`);
  };
  const fresh: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = mk();
    try {
      fresh.push(await timed(() => ok(x)));
    } finally {
      x.close();
    }
  }
  const x = mk();
  const kept: number[] = [];
  const vipSet: number[] = [];
  const vipAdd: number[] = [];
  const vipRemove: number[] = [];
  try {
    await ok(x);
    for (let i = 0; i < n; i++) kept.push(await timed(() => ok(x)));
    const hc = c.hosts.find((h) => h.name === host)!;
    // When the address is on the interface (serving from then): the driver's `ip addr add` returned;
    // its gratuitous ARP, which the set waits for (~1 s with iputils arping), comes after.
    let addedUs = 0;
    const spy: Exec = { exec: async (h, argv, o) => {
      const r = await x.exec(h, argv, o);
      if (argv.includes('addr') && argv.includes('add')) addedUs = wallUs();
      return r;
    }, close: () => undefined };
    const driver = new ExecVipDriver(spy, host, hc.vip!, {});
    for (let i = 0; i < n; i++) {
      const t0 = wallUs();
      vipSet.push(await timed(() => driver.add(spare)));
      vipAdd.push((addedUs - t0) / 1e6);
      vipRemove.push(await timed(() => driver.remove(spare)));
    }
  } finally {
    x.close();
  }
  return { fresh, kept, vipSet, vipAdd, vipRemove };
}

/**
 * An agent's start-up, as `hatwin live` pays it for each agent: `hatwin agent --start-probe`
 * spawned in the host's namespace the way live spawns an agent, timed from the spawn (its epoch)
 * to its `agent.start` line (modules loaded, lab read, hypervisor and live ports open).
 */
async function measureAgentStart(lab: Lab, labFile: string, host: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const trace = join(lab.logDir, `calibrate-agent-start-${i}.ndjson`);
    writeFileSync(trace, '');
    const epochUs = wallUs();
    const argv = ['ip', 'netns', 'exec', hostNs(lab, host), process.execPath, join(REPO_DIR, 'bin/hatwin.js'), 'agent',
      '--lab', resolvePath(labFile), '--host', host, '--run', `calibrate-start-${i}`, '--epoch-us', String(epochUs), '--trace', trace, '--start-probe'];
    const code = await new Promise<number | null>((res, rej) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', (e) => { clearTimeout(timer); rej(e); });
      child.once('exit', (c) => {
        clearTimeout(timer);
        if (c !== 0) rej(new Error(`calibrate: agent start probe on ${host} exited ${c}: ${err.trim()}`));
        else res(c);
      });
    });
    const start = readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceLine).find((e) => e.kind === 'agent.start');
    if (code !== 0 || !start) throw new Error(`calibrate: the agent start probe on ${host} wrote no agent.start (${trace})`);
    out.push(start.t / 1e6);
  }
  return out;
}

/** How long calibrate lets a container run as a standby (its service stopped) before it times the service's start. */
const STANDBY_SETTLE_MS = 5_000;

/**
 * A Navigator container's start on this machine: the lab's guest image put in the first PC's
 * depot, a slot booted from it (hypervisor start: until HATWIN-READY and its guest agent
 * answers), destroyed, n times. The depot copy is removed after (a run seeds its own).
 */
async function measureContainerStart(lab: Lab, hv: LabHypervisor, n: number, log: (m: string) => void): Promise<MachineCalibration['containers']> {
  const slots = lab.backupVms.filter((v) => v.image === 'depot');
  if (slots.length === 0) return undefined;
  const host = lab.hosts[0].name;
  const image = join(REPO_DIR, 'out/guest/initramfs.gz');
  if (!existsSync(image)) throw new Error(`calibrate: no container image ${image}: \`hatwin lab up\` builds it`);
  const depot = depotImage(lab, host);
  const had = existsSync(depot);
  mkdirSync(dirname(depot), { recursive: true });
  if (!had) copyFileSync(image, depot);
  const out: number[] = [];
  const commands: number[] = [];
  const starts: number[] = [];
  const freshStarts: number[] = [];
  const ups: number[] = [];
  const services = new GuestServices(lab);
  const prober = proberFor(lab);
  try {
    for (let i = 0; i < n; i++) {
      const slot = slots[i % slots.length];
      out.push(await timed(() => hv.start(slot.name, host)));
      // A secondary's pilot stops the monitoring service in the container it started (guest-exec).
      const svc = slot.services[0];
      if (svc) {
        commands.push(await timed(() => services.stop(slot.name, svc.name)));
        // A new primary's pilot starts it (guest-exec of a start: the daemon put in the background)
        // in a standby that has run since its set-up: at the earliest a primary check and a ping
        // timeout later (5 s in the live scenarios), not in the guest that has just booted. The
        // start right after the stop is timed too, for the record.
        freshStarts.push(await timed(() => services.start(slot.name, svc.name)));
        await services.stop(slot.name, svc.name);
        await new Promise((res) => setTimeout(res, STANDBY_SETTLE_MS));
        starts.push(await timed(() => services.start(slot.name, svc.name)));
        const t0 = wallUs();
        const up = await secondsUntil(`${slot.name} ${svc.name} answering`, async () => (await prober.probe({ kind: 'service', target: slot.name, service: svc.name, timeoutUs: 500_000 })).ok, 10_000).then(() => (wallUs() - t0) / 1e6, () => null);
        if (up !== null) ups.push(up);
      }
      await hv.destroy(slot.name);
      log(`calibrate: container ${slot.name} started on ${host} in ${round(out[i], 2)} s${svc ? `, ${svc.name} stopped in it in ${round(commands.at(-1)!, 2)} s, started in ${round(freshStarts.at(-1)!, 2)} s at once, ${round(starts.at(-1)!, 2)} s after ${STANDBY_SETTLE_MS / 1000} s` : ''}`);
    }
  } finally {
    if (!had) rmSync(depot, { force: true });
  }
  return {
    vms: slots.map((v) => v.name),
    startS: measured(`container start from ${host}'s depot (boot until ready, its guest agent answering)`, out),
    commandS: measured('a service stopped in a container through its guest agent', commands.length ? commands : [0]),
    ...(starts.length ? { serviceStartS: measured(`a service started in a container through its guest agent (until the command returns), ${STANDBY_SETTLE_MS / 1000} s after it was stopped`, starts) } : {}),
    ...(freshStarts.length ? { serviceStartFreshS: measured('the same start right after the stop, in the container just booted (not applied)', freshStarts) } : {}),
    ...(ups.length ? { serviceUpS: measured('after the start command returned, until the service answered an examination', ups) } : {}),
  };
}

/**
 * A pool change as a director's agent makes it: NftPool rewriting its table with one `nft -f`,
 * here in a scratch table of the director's namespace whose rules match a spare address (no
 * client's connection is touched). Spawned through `ip netns exec` (the agent runs in the
 * namespace and spawns nft directly), so the median extra cost of `ip netns exec NS true` over
 * `true` is taken off each sample. Null for a lab without load-balanced VIPs.
 */
async function measurePoolWrite(lab: Lab, n: number): Promise<MachineCalibration['pools'] | null> {
  const pools = labNftPools(lab);
  const [name] = Object.keys(pools);
  const director = lab.vips.find((v) => v.name === name)?.holder;
  if (name === undefined || director === undefined) return null;
  const ns = hostNs(lab, director);
  const table = 'hatwin_calibrate';
  const spec = { ...pools[name], vip: spareAddresses(lab, 1)[0] };
  const pool = new NftPool({
    pools: { [name]: spec },
    table,
    order: wrrCycleOrder,
    apply: async (ruleset) => void (await run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset, timeoutMs: 10_000 })),
    sysctl: () => undefined, // the director's forwarding is its agent's business
  });
  try {
    const members = Object.keys(spec.members);
    for (const m of members) await pool.add(name, m, 1);
    const enter: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < n; i++) {
      enter.push(await timed(() => run(['ip', 'netns', 'exec', ns, 'true'])));
      plain.push(await timed(() => run(['true'])));
    }
    const extra = Math.max(0, median(enter) - median(plain));
    const writes: number[] = [];
    for (let i = 0; i < n; i++) {
      writes.push(await timed(() => pool.remove(name, members[0])));
      writes.push(await timed(() => pool.add(name, members[0], 1)));
    }
    return { writeS: measured(`a pool change on ${director} (nft -f of the pool's table; ip netns exec's ${round(extra * 1e3, 1)} ms taken off)`, writes.map((w) => Math.max(0, w - extra))) };
  } finally {
    await run(['ip', 'netns', 'exec', ns, 'nft', 'delete', 'table', 'ip', table], { allowFail: true });
  }
}

/** What the machine costs whatever the lab models (MachineCalibration.dist). */
async function measureMachine(lab: Lab, labFile: string, hv: LabHypervisor, drivers: Map<string, IdempotentGuestVipDriver>, n: number): Promise<MachineCalibration['dist']> {
  const agentStart = await measureAgentStart(lab, labFile, lab.hosts[0].name, n);
  const unreachable = await measureGateFailure(lab, n);
  const inject: number[] = [];
  const turns: number[] = [];
  const victim = lab.hosts[lab.hosts.length - 1].name;
  for (let i = 0; i < n; i++) {
    inject.push(await timed(() => labFault(lab, victim, 'pause')));
    await labFault(lab, victim, 'heal');
    turns.push(await timed(async () => {
      await hv.list();
      await observeHolders(lab, hv, drivers);
    }) + 0.25);
  }
  return {
    faultInjectS: measured(`lab fault injected (pause of ${victim})`, inject),
    liveTurnS: measured('one turn of the live loop (guests and VIP holders observed, then 250 ms)', turns),
    agentStartS: measured(`agent start-up (spawned in ${lab.hosts[0].name}'s namespace until its programs start)`, agentStart),
    hypervisorUnreachableS: measured(`a Hypervisor call failing at the gate on the path to its host (TCP connect to port 22 of ${unreachable.address}, which nobody answers; the lab's ${LAB_SSH_CONNECT_MS} ms connect timeout)`, unreachable.samples),
  };
}

/**
 * How long an agent's Hypervisor call to a host it cannot reach takes to fail: the gate's TCP
 * connect (adapters/lab/reach-gate.ts) to a spare address of the lab's subnet, the samples at
 * once (each waits out the timeout or the ARP failure, whichever comes first).
 */
async function measureGateFailure(lab: Lab, n: number): Promise<{ address: string; samples: number[] }> {
  const address = spareAddresses(lab, 2)[1];
  const samples = await Promise.all(Array.from({ length: n }, () => timed(async () => {
    if (await tcpReach(address, 22, LAB_SSH_CONNECT_MS)) throw new Error(`calibrate: ${address} (nobody there) answered a TCP connection`);
  })));
  return { address, samples };
}

const labEventsSize = (lab: Lab): number => (existsSync(eventsPath(lab)) ? statSync(eventsPath(lab)).size : 0);

/** The time (wall µs) of the first `lab.power` event of `host` reaching `power` written after byte `from` of the lab's events. */
async function labPowerEvent(lab: Lab, from: number, host: string, power: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(eventsPath(lab)).subarray(from).toString('utf8');
    const hit = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { t: number; kind: string; subject: string; data?: { power?: string } })
      .find((e) => e.kind === 'lab.power' && e.subject === host && e.data?.power === power);
    if (hit) return hit.t;
    if (Date.now() > deadline) throw new Error(`calibrate: ${host} not ${power} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A lab whose real servers suspend to RAM (watts modelled) and carry running guests: the PSS's. */
const isPssLab = (lab: Lab): boolean => lab.hosts.some((h) => h.watts !== undefined) && lab.backupVms.some((v) => v.start === 'running' && v.on !== undefined);

/**
 * A spare VM's resume and suspend through the lab's Hypervisor port, each the whole call (the
 * PSS starts a spare by resuming it on its base server, and suspends it again on the way back):
 * the first guest the lab keeps suspended on a real server (pss-mini's Ms, which the PSS never
 * starts), left suspended as it was found. Null when the lab has none suspended now.
 */
async function measureVmResume(lab: Lab, hv: LabHypervisor, n: number): Promise<{ vm: string; resume: number[]; suspend: number[] } | null> {
  const reals = new Set(lab.hosts.filter((h) => h.watts !== undefined).map((h) => h.name));
  for (const v of lab.backupVms) {
    if (v.start === 'running' || v.on === undefined || !reals.has(v.on)) continue;
    if ((await hv.get(v.name))?.state !== 'suspended') continue;
    const resume: number[] = [];
    const suspend: number[] = [];
    try {
      for (let i = 0; i < n; i++) {
        resume.push(await timed(() => hv.resume(v.name, v.on!)));
        suspend.push(await timed(() => hv.suspend(v.name)));
      }
    } finally {
      if ((await hv.get(v.name))?.state === 'running') await hv.suspend(v.name);
    }
    return { vm: v.name, resume, suspend };
  }
  return null;
}

async function measurePss(lab: Lab, hv: LabHypervisor, n: number, log: (m: string) => void): Promise<PssCalibration | undefined> {
  if (!isPssLab(lab)) return undefined;
  const S = 10_000_000;
  const prober = proberFor(lab);
  const running = lab.backupVms.filter((v) => v.start === 'running' && v.services.length > 0);
  const net: number[] = [];
  const svc: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const vm of running) {
      const a = await prober.probe({ kind: 'network', target: vm.name, timeoutUs: S });
      if (!a.ok) throw new Error(`calibrate: ${vm.name} did not answer a network examination in ${S / 1e6} s`);
      net.push(a.latencyUs / 1e6);
      const b = await prober.probe({ kind: 'service', target: vm.name, service: vm.services[0].name, timeoutUs: S });
      if (!b.ok) throw new Error(`calibrate: ${vm.name}'s ${vm.services[0].name} did not answer in ${S / 1e6} s (${b.detail})`);
      svc.push(b.latencyUs / 1e6);
    }
  }
  const [spare] = spareAddresses(lab, 1);
  const effects = vipEffectClock();
  const driver = new IdempotentGuestVipDriver(lab, running[0].name, effects.onEffect);
  const vipSet: number[] = [];
  const vipRemove: number[] = [];
  const vipServed: number[] = [];
  const vipGone: number[] = [];
  for (let i = 0; i < n; i++) {
    vipSet.push(await effects.timed(() => driver.add(spare), vipServed));
    vipRemove.push(await effects.timed(() => driver.remove(spare), vipGone));
  }
  const vmPower = await measureVmResume(lab, hv, n);
  // The last real server (pss-mini's RS3, the one the PSS suspends in PS1).
  const reals = lab.hosts.filter((h) => h.watts !== undefined);
  const host = reals[reals.length - 1].name;
  // Each until the supervisor's own `lab.power` event (its wall-clock time): polling the lab's
  // status instead adds a status round of every host to each sample.
  const suspend: number[] = [];
  const resume: number[] = [];
  const answer: number[] = [];
  const h = labHost(lab, host);
  const { wol, resumeWait } = agentLiveConfig(lab, h.name, 'calibrate').power;
  for (let i = 0; i < n; i++) {
    let t0 = wallUs();
    let from = labEventsSize(lab);
    await labPower(lab, host, 'suspend');
    suspend.push((await labPowerEvent(lab, from, host, 'suspended', 15_000) - t0) / 1e6);
    // Woken as the PSS wakes it: the live Power port's resume, with the agents' settings and a
    // new SSH connection (a manager's kept one is dropped at the wake), returning once a command
    // ran on it.
    t0 = wallUs();
    from = labEventsSize(lab);
    const exec = labSsh(lab);
    try {
      await new LivePower({ exec, wol: { ...wol, localAddress: lab.bridge.address }, macs: { [host]: h.mac }, resumeWait }).resume(host);
    } finally {
      exec.close();
    }
    const answered = wallUs();
    const on = await labPowerEvent(lab, from, host, 'on', 20_000);
    resume.push((on - t0) / 1e6);
    answer.push(Math.max(0, answered - on) / 1e6);
  }
  const out: PssCalibration = {
    hosts: reals.map((h) => h.name),
    networkExamS: measured('network examination of a running guest (the DBSS\'s, LiveProber)', net),
    serviceExamS: measured('service examination of a running guest (the DBSS\'s, LiveProber: request and reply)', svc),
    guestVipSetS: measured(`VIP set in ${running[0].name} (guest agent)`, vipSet),
    guestVipRemoveS: measured(`VIP removed from ${running[0].name} (guest agent)`, vipRemove),
    guestVipServedS: measured(`of that set, until its gratuitous ARP was sent (a client served from then)`, vipServed),
    guestVipGoneS: measured(`of that removal, until ip addr del was launched (the address gone from then)`, vipGone),
    hostSuspendS: measured(`${host} suspended (power call until its supervisor's event says so)`, suspend),
    hostResumeS: measured(`${host} resumed (magic packet until its supervisor's event says it is on)`, resume),
    hostResumeAnswerS: measured(`${host} answering after its resume (its supervisor's event until the Power port's resume returned: a command over a new SSH connection)`, answer),
    ...(vmPower ? {
      vmResumeS: measured(`spare ${vmPower.vm} resumed on its real server (the lab's Hypervisor port: the whole call)`, vmPower.resume),
      vmSuspendS: measured(`spare ${vmPower.vm} suspended (the lab's Hypervisor port: the whole call)`, vmPower.suspend),
    } : {}),
  };
  log(`calibrate: guest examination network ${out.networkExamS.median} s (max ${out.networkExamS.max}), service ${out.serviceExamS.median} s (max ${out.serviceExamS.max}); guest VIP set ${out.guestVipSetS.median} s, removed ${out.guestVipRemoveS.median} s; ${host} suspend ${out.hostSuspendS.median} s, resume ${out.hostResumeS.median} s, answering ${out.hostResumeAnswerS!.median} s later${vmPower ? `; spare ${vmPower.vm} resume ${out.vmResumeS!.median} s (max ${out.vmResumeS!.max}), suspend ${out.vmSuspendS!.median} s (max ${out.vmSuspendS!.max})` : ''}`);
  return out;
}

/**
 * `hatwin calibrate LAB --machine`: only what the machine costs whatever the lab models (agent
 * start-up, the live loop's turn, a fault's injection), for labs whose scenarios carry their own
 * world timings (the load balancer's); conform applies it with applyMachineCalibration.
 */
export async function calibrateMachine(labFile: string, opts: { samples?: number; log?: (m: string) => void } = {}): Promise<MachineCalibration> {
  const lab = loadLab(labFile);
  const n = opts.samples ?? 5;
  const hv = await LabHypervisor.open(lab);
  try {
    // The live loop's turn asks each running guest for its VIPs (a PSS lab's virtual servers run from the start).
    const drivers = new Map(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name)]));
    const dist = await measureMachine(lab, labFile, hv, drivers, n);
    opts.log?.(`calibrate: agent start-up ${dist.agentStartS.median} s, live loop turn ${dist.liveTurnS.median} s, a hypervisor call to a host out of reach fails after ${dist.hypervisorUnreachableS?.median} s`);
    const containers = await measureContainerStart(lab, hv, n, opts.log ?? (() => undefined));
    if (containers) opts.log?.(`calibrate: container start ${containers.startS.median} s (${containers.startS.min}-${containers.startS.max} s)`);
    const pools = await measurePoolWrite(lab, n);
    if (pools) opts.log?.(`calibrate: pool change ${pools.writeS.median} s (${pools.writeS.min}-${pools.writeS.max} s)`);
    const pss = await measurePss(lab, hv, n, opts.log ?? (() => undefined));
    return { lab: lab.name, measuredAt: new Date().toISOString(), samples: n, machineOnly: true, dist, ...(containers ? { containers } : {}), ...(pools ? { pools } : {}), ...(pss ? { pss } : {}) };
  } finally {
    await hv.close().catch(() => undefined);
  }
}

export async function calibrate(labFile: string, opts: { samples?: number; log?: (m: string) => void } = {}): Promise<CalibrateParams> {
  const lab = loadLab(labFile);
  const n = opts.samples ?? 5;
  const log = opts.log ?? (() => undefined);
  const prober = proberFor(lab);
  const hv = await LabHypervisor.open(lab);
  const effects = vipEffectClock();
  const drivers = new Map(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name, effects.onEffect)]));
  const S = 1_000_000;
  const p: CalibrateParams = { lab: lab.name, measuredAt: new Date().toISOString(), samples: n, network: { examS: 0, vipSetS: 0 }, hosts: {}, vms: {}, notes: [] };
  const [spare, dead] = spareAddresses(lab, 2);
  const keptSsh = labSsh(lab);
  try {
    await resetLabWorld(lab, hv, drivers, log);
    // Network examination (ping) and service examination (request/reply) of every host.
    const pings: number[] = [];
    const services = new LiveServices({ exec: keptSsh, commands: labLiveCommands(lab).services });
    for (const h of lab.hosts) {
      p.hosts[h.name] = { bootS: 0, restartS: 0, services: {} };
      for (let i = 0; i < n; i++) {
        const r = await prober.probe({ kind: 'network', target: h.name, timeoutUs: S });
        if (r.ok) pings.push(r.latencyUs / 1e6);
      }
      for (const s of h.services) {
        const ex: number[] = [];
        for (let i = 0; i < n; i++) {
          const r = await prober.probe({ kind: 'service', target: h.name, service: s.name, timeoutUs: S });
          if (r.ok) ex.push(r.latencyUs / 1e6);
        }
        // Daemon restart as the management program makes it after St1 (the daemon stopped: the
        // lab's stop, untimed): the lab's restart command over a kept SSH connection, until it
        // returns, less the connection's bare command (the sim adds commandS, and an SSH connect
        // where the agent holds none). Then awaited answering. (A running daemon's restart also
        // waits for it to exit: tens of ms more, not what a refused service's recovery pays.)
        const restarts: number[] = [];
        await sshRun(keptSsh, h.name, ['true']); // the connection opened before the samples
        for (let i = 0; i < n; i++) {
          await labService(lab, h.name, 'stop', s.name);
          const bare = await timed(() => sshRun(keptSsh, h.name, ['true']));
          restarts.push(Math.max(0, (await timed(() => services.restart(h.name, s.name))) - bare));
          await secondsUntil(`${h.name} ${s.name} after restart`, async () => (await prober.probe({ kind: 'service', target: h.name, service: s.name, timeoutUs: 200_000 })).ok, 10_000);
        }
        const restart = measured(`${s.name} (stopped) restarted on ${h.name} by the lab's restart command over a kept SSH connection, less the bare command`, restarts);
        p.hosts[h.name].services[s.name] = { examS: round(median(ex)), restartS: restart.median, restart };
      }
      log(`calibrate: ${h.name} examined`);
    }
    p.network.examS = round(median(pings));

    // The messenger; SSH (fresh vs kept) and a VIP in a host; a lab fault's injection.
    const msg = await measureMessenger(lab, n, dead);
    log(`calibrate: message ${round(median(msg.ok))} s, timeout to a dead peer ${round(median(msg.timeout))} s`);
    const ssh = await measureSsh(lab, lab.hosts[0].name, n, spare);
    log(`calibrate: ssh fresh ${round(median(ssh.fresh))} s, kept ${round(median(ssh.kept))} s, host VIP set ${round(median(ssh.vipSet))} s, removed ${round(median(ssh.vipRemove))} s`);
    const machine = await measureMachine(lab, labFile, hv, drivers, n);
    log(`calibrate: agent start-up ${machine.agentStartS.median} s, live loop turn ${machine.liveTurnS.median} s, a hypervisor call to a host out of reach fails after ${machine.hypervisorUnreachableS?.median} s`);

    // Guest resume -> serving; guest-agent round trips and a VIP set in the guest.
    const guestVip: number[] = [];
    const guestVipRemove: number[] = [];
    const guestVipServed: number[] = [];
    const guestVipGone: number[] = [];
    const guestAgent: number[] = [];
    for (const vm of lab.backupVms) {
      const svc = vm.services[0];
      const t0 = wallUs();
      await hv.resume(vm.name, lab.hosts[0].name);
      if (svc) await secondsUntil(`${vm.name} serving after resume`, async () => (await prober.probe({ kind: 'service', target: vm.name, service: svc.name, timeoutUs: 200_000 })).ok, 20_000);
      const resumeS = (wallUs() - t0) / 1e6;
      const ex: number[] = [];
      if (svc) {
        for (let i = 0; i < n; i++) {
          const r = await prober.probe({ kind: 'service', target: vm.name, service: svc.name, timeoutUs: S });
          if (r.ok) ex.push(r.latencyUs / 1e6);
        }
      }
      for (let i = 0; i < n; i++) guestAgent.push(await timed(() => virsh(['qemu-agent-command', '--timeout', '5', domainName(lab, vm.name), '{"execute":"guest-ping"}'], { timeoutMs: 7_000 })));
      for (let i = 0; i < n; i++) {
        guestVip.push(await effects.timed(() => drivers.get(vm.name)!.add(spare), guestVipServed));
        guestVipRemove.push(await effects.timed(() => drivers.get(vm.name)!.remove(spare), guestVipGone));
      }
      await hv.suspend(vm.name);
      p.vms[vm.name] = { resumeS: round(resumeS), services: svc ? { [svc.name]: { examS: round(median(ex)) } } : {} };
      log(`calibrate: ${vm.name} resume to serving ${resumeS.toFixed(3)} s`);
    }
    p.network.vipSetS = round(median(guestVip));
    const keptMedian = median(ssh.kept);
    p.dist = {
      messageS: measured('message delivered and acknowledged (root namespace -> bridge address)', msg.ok),
      messageTimeoutS: measured('message to an address nobody answers (the messenger\'s timeout)', msg.timeout),
      guestAgentS: measured('guest-agent round trip (guest-ping)', guestAgent),
      guestVipSetS: measured('VIP set in a guest (guest agent)', guestVip),
      guestVipRemoveS: measured('VIP removed from a guest (guest agent)', guestVipRemove),
      guestVipServedS: measured('of a VIP set in a guest, until its gratuitous ARP was sent (a client served from then)', guestVipServed),
      guestVipGoneS: measured('of a VIP removal from a guest, until ip addr del was launched (the address gone from then)', guestVipGone),
      hostVipSetS: measured(`VIP set in host ${lab.hosts[0].name} over a kept SSH connection`, ssh.vipSet),
      hostVipAddS: measured(`VIP on host ${lab.hosts[0].name}'s interface (ip addr add returned; its gratuitous ARP follows)`, ssh.vipAdd),
      hostVipRemoveS: measured(`VIP removed from host ${lab.hosts[0].name} over a kept SSH connection`, ssh.vipRemove),
      sshCommandS: measured('command over a kept SSH connection', ssh.kept),
      sshConnectS: measured('fresh SSH connection: connect + command - the kept connection\'s median command', ssh.fresh.map((x) => Math.max(0, x - keptMedian))),
      ...machine,
    };

    // Power cycle -> serving (boot delay, NIC, daemons): measured on one host, used for all.
    const h = lab.hosts[lab.hosts.length - 1];
    const svc = h.services[0];
    const t0 = wallUs();
    await labPower(lab, h.name, 'cycle');
    await sleep(100);
    await secondsUntil(`${h.name} serving after a power cycle`, async () => (svc ? (await prober.probe({ kind: 'service', target: h.name, service: svc.name, timeoutUs: 200_000 })).ok : (await prober.probe({ kind: 'network', target: h.name, timeoutUs: 200_000 })).ok), 60_000, 50);
    const bootS = round((wallUs() - t0) / 1e6);
    for (const x of lab.hosts) Object.assign(p.hosts[x.name], { bootS, restartS: bootS });
    p.notes.push(`boot measured on ${h.name} (power cycle to its first service answering), applied to every host (same bootDelay in the lab file: ${lab.hosts.map((x) => `${x.name} ${x.bootDelay / 1e6} s`).join(', ')})`);
    log(`calibrate: ${h.name} power cycle to serving ${bootS} s`);
    await resetLabWorld(lab, hv, drivers, log);
  } finally {
    keptSsh.close();
    await hv.close().catch(() => undefined);
  }
  return p;
}

/**
 * The scenario with its world parameters replaced by the measured ones (policy unchanged): the
 * examination and restart steps, and, when the file has them, what live spends time on as
 * distributions of their samples (the messenger's timeout to a dead peer, VIPs in hosts and in
 * guests, a fresh SSH connection, commands over a kept one) and each fault's time as live
 * records it: its nominal time plus where in the live loop's turn it falls (spread evenly over
 * the measured turns).
 */
type ScenarioDoc = Record<string, unknown> & { network?: Record<string, unknown>; faults?: Array<Record<string, unknown>> };

/**
 * What the machine running live costs whatever the lab models: each agent's start-up, and the
 * live loop's landing of a fault (the loop sees a fault's time at its next turn: uniform over a
 * turn, each measured turn at four evenly spread points; the fault is recorded then and acts
 * after the injection call, faultInjectS, which the sim's fault does not wait: it matters only
 * when a probe falls in it).
 */
function machineCosts(doc: ScenarioDoc, d: Pick<MachineCalibration['dist'], 'liveTurnS'> & { agentStartS?: Measured; hypervisorUnreachableS?: Measured }, scenarioText: string, file: string): void {
  if (d.agentStartS) doc.network = { ...(doc.network ?? {}), agentStartS: empirical(d.agentStartS) };
  if (d.hypervisorUnreachableS) doc.network = { ...(doc.network ?? {}), hypervisorUnreachableS: empirical(d.hypervisorUnreachableS) };
  const lags = d.liveTurnS.samples.flatMap((turn) => [0.125, 0.375, 0.625, 0.875].map((u) => u * turn));
  const parsed = parseScenario(scenarioText, file);
  doc.faults = (doc.faults ?? []).map((f, i) => {
    const at = parsed.faults[i].at;
    return typeof at === 'number' ? { ...f, at: { dist: { kind: 'empirical', values: lags.map((l) => round(at / 1e6 + l, 6)) } } } : f;
  });
}

/**
 * The machine's costs alone (machineCosts) for a scenario whose world timings are its own (the
 * load balancer's: the policy's advert and checker parameters); a file without distributions
 * leaves it as written.
 */
export function applyMachineCalibration(scenarioText: string, p: Pick<CalibrateParams, 'dist'> | MachineCalibration, file: string): ReturnType<typeof parseScenario> {
  const doc = parseYaml(scenarioText) as ScenarioDoc;
  if (!p.dist) return parseScenario(scenarioText, file);
  machineCosts(doc, p.dist, scenarioText, file);
  // The lab's containers start as measured (a Navigator scenario's vms are the container slots).
  const containers = 'containers' in p ? p.containers : undefined;
  if (containers) {
    const vms = (doc as { vms?: Array<Record<string, unknown>> }).vms ?? [];
    for (const v of vms) {
      if (!containers.vms.includes(String(v.name))) continue;
      v.startS = empirical(containers.startS);
      // A container's service answers this long after its start command returned.
      if (containers.serviceUpS) v.services = ((v.services as Array<Record<string, unknown>>) ?? []).map((x) => ({ ...x, restartS: empirical(containers.serviceUpS!) }));
    }
    if (containers.commandS) doc.network = { ...(doc.network ?? {}), guestCommandS: empirical(containers.commandS) };
    if (containers.serviceStartS) doc.network = { ...(doc.network ?? {}), guestStartS: empirical(containers.serviceStartS) };
  }
  // A load balancer's pool changes take the director's nft write as measured.
  const pools = 'pools' in p ? p.pools : undefined;
  if (pools) doc.network = { ...(doc.network ?? {}), poolWriteS: empirical(pools.writeS) };
  return parseScenario(toYaml(doc), `${file} (machine calibrated)`);
}

/** The MSBS's timeout rule (docs/pss-msbs.md): the paper's values as floors, the margin for a machine whose load rises. */
export const MSBS_TIMEOUT_RULE = { margin: 4, floorNetworkS: 2, floorServiceS: 3, capOfInterval: 0.5 } as const;

/**
 * The MSBS's network and service timeouts from the measured examinations: the slowest sample
 * (of every running guest, N each) times the margin, rounded up to 0.1 s, at least the paper's
 * 2 s and 3 s and at most half the monitoring interval.
 */
export function msbsTimeoutsS(p: Pick<PssCalibration, 'networkExamS' | 'serviceExamS'>, intervalS: number): { networkS: number; serviceS: number } {
  const r = MSBS_TIMEOUT_RULE;
  const one = (m: Measured, floor: number) => Math.min(Math.max(Math.ceil(r.margin * m.max * 10 - 1e-9) / 10, floor), Math.max(floor, intervalS * r.capOfInterval));
  return { networkS: one(p.networkExamS, r.floorNetworkS), serviceS: one(p.serviceExamS, r.floorServiceS) };
}

type PolicyDoc = Record<string, unknown> & { kind?: string; interval?: unknown };

/** The scenario's msbs policies with their timeouts derived (msbsTimeoutsS); the rest as written. */
function deriveMsbsTimeouts(doc: Record<string, unknown>, p: PssCalibration, file: string): Array<{ networkS: number; serviceS: number }> {
  const out: Array<{ networkS: number; serviceS: number }> = [];
  for (const pol of (doc.policies as PolicyDoc[] | undefined) ?? []) {
    if (pol.kind !== 'msbs') continue;
    const parsed = msbsSchema.safeParse(pol);
    if (!parsed.success) throw new Error(`${file}: msbs policy: ${parsed.error.message}`);
    const t = msbsTimeoutsS(p, parsed.data.interval / 1e6);
    pol.networkTimeout = `${t.networkS}s`;
    pol.serviceTimeout = `${t.serviceS}s`;
    out.push(t);
  }
  return out;
}

/**
 * A PSS scenario on a calibrated PSS lab: `live`, the scenario text the live run uses (its msbs
 * timeouts derived from the measured examinations, nothing else changed); `sim`, the same plus
 * the lab's measured world (VIP set and removal in guests, the real servers' suspend and resume)
 * and the machine's costs (machineCosts).
 */
export function applyPssCalibration(scenarioText: string, p: MachineCalibration | Pick<CalibrateParams, 'dist'>, file: string): { live: string; sim: Scenario; timeouts: Array<{ networkS: number; serviceS: number }> } {
  const pss = 'pss' in p ? p.pss : undefined;
  if (!pss) return { live: scenarioText, sim: applyMachineCalibration(scenarioText, p, file), timeouts: [] };
  const liveDoc = parseYaml(scenarioText) as Record<string, unknown>;
  const timeouts = deriveMsbsTimeouts(liveDoc, pss, file);
  const live = toYaml(liveDoc);
  const doc = parseYaml(live) as ScenarioDoc & { hosts?: Array<Record<string, unknown>>; vms?: Array<Record<string, unknown>> };
  doc.network = {
    ...(doc.network ?? {}), guestVipSetS: empirical(pss.guestVipSetS), guestVipRemoveS: empirical(pss.guestVipRemoveS),
    ...(pss.guestVipServedS ? { guestVipServedS: empirical(pss.guestVipServedS) } : {}),
    ...(pss.guestVipGoneS ? { guestVipGoneS: empirical(pss.guestVipGoneS) } : {}),
    ...(pss.hostResumeAnswerS ? { resumeAnswerS: empirical(pss.hostResumeAnswerS) } : {}),
  };
  for (const h of doc.hosts ?? []) {
    if (!pss.hosts.includes(String(h.name))) continue;
    h.suspendS = empirical(pss.hostSuspendS);
    h.resumeS = empirical(pss.hostResumeS);
  }
  // A VM's resume and suspend as the lab's Hypervisor port took them, the whole call: the sim's
  // hypervisor call adds nothing before them (hypervisorCallS 0, not the scenario's commandS).
  if (pss.vmResumeS && pss.vmSuspendS) {
    doc.network = { ...doc.network, hypervisorCallS: 0 };
    for (const v of doc.vms ?? []) {
      v.resumeS = empirical(pss.vmResumeS);
      v.suspendS = empirical(pss.vmSuspendS);
    }
  }
  if (p.dist) machineCosts(doc, p.dist, live, file);
  return { live, sim: parseScenario(toYaml(doc), `${file} (machine calibrated)`), timeouts };
}

export function applyCalibration(scenarioText: string, p: CalibrateParams, file: string): ReturnType<typeof parseScenario> {
  const doc = parseYaml(scenarioText) as Record<string, unknown> & { hosts?: Array<Record<string, unknown>>; vms?: Array<Record<string, unknown>>; network?: Record<string, unknown>; faults?: Array<Record<string, unknown>> };
  doc.network = { ...(doc.network ?? {}), examS: Math.max(p.network.examS, 1e-6), vipSetS: p.network.vipSetS };
  if (p.dist) {
    const d = p.dist;
    Object.assign(doc.network, {
      commandS: d.sshCommandS.median,
      messageTimeoutS: empirical(d.messageTimeoutS),
      hostVipSetS: empirical(d.hostVipSetS),
      ...(d.hostVipAddS ? { hostVipAddS: empirical(d.hostVipAddS) } : {}),
      ...(d.hostVipRemoveS ? { hostVipRemoveS: empirical(d.hostVipRemoveS) } : {}),
      guestVipSetS: empirical(d.guestVipSetS),
      ...(d.guestVipRemoveS ? { guestVipRemoveS: empirical(d.guestVipRemoveS) } : {}),
      ...(d.guestVipServedS ? { guestVipServedS: empirical(d.guestVipServedS) } : {}),
      ...(d.guestVipGoneS ? { guestVipGoneS: empirical(d.guestVipGoneS) } : {}),
      sshConnectS: empirical(d.sshConnectS),
    });
    machineCosts(doc, d, scenarioText, file);
  }
  for (const h of doc.hosts ?? []) {
    const m = p.hosts[String(h.name)];
    if (!m) continue;
    h.bootS = m.bootS;
    h.restartS = m.restartS;
    h.services = ((h.services as Array<Record<string, unknown>>) ?? []).map((s) => {
      const ms = m.services[String(s.name)];
      return ms ? { ...s, examS: Math.max(ms.examS, 1e-6), restartS: ms.restart ? empirical(ms.restart) : ms.restartS } : s;
    });
  }
  for (const v of doc.vms ?? []) {
    const m = p.vms[String(v.name)];
    if (!m) continue;
    v.resumeS = m.resumeS;
    v.services = ((v.services as Array<Record<string, unknown>>) ?? []).map((s) => {
      const ms = m.services[String(s.name)];
      return ms ? { ...s, examS: Math.max(ms.examS, 1e-6) } : s;
    });
  }
  return parseScenario(toYaml(doc), `${file} (calibrated)`);
}

export interface ConformRow {
  metric: string;
  server: string;
  live: number | null;
  sim: number | null;
  errPct: number | null;
}

export function conformRows(live: TraceLine[], sim: TraceLine[]): ConformRow[] {
  const rows: ConformRow[] = [];
  const row = (metric: string, server: string, l: number | null | undefined, s: number | null | undefined) => {
    const lv = l ?? null;
    const sv = s ?? null;
    rows.push({ metric, server, live: lv === null ? null : round(lv, 3), sim: sv === null ? null : round(sv, 3), errPct: lv === null || sv === null || lv === 0 ? null : round((100 * (sv - lv)) / lv, 1) });
  };
  const lr = recoveries(live);
  const sr = recoveries(sim);
  for (const target of new Set([...lr, ...sr].map((r) => r.target))) {
    const l = lr.find((r) => r.target === target);
    const s = sr.find((r) => r.target === target);
    const det = (r: typeof l) => (r && r.faultUs !== null ? (r.detectedUs - r.faultUs) / 1e6 : null);
    row('fault -> detection s', target, det(l), det(s));
    row('function recovery s (detection -> backup serving)', target, l?.functionRecoveryS, s?.functionRecoveryS);
    row('target recovery s (detection -> target back)', target, l?.targetRecoveryS, s?.targetRecoveryS);
    row('fault -> function s', target, l?.faultToFunctionS, s?.faultToFunctionS);
  }
  const ld = disconnections(live);
  const sd = disconnections(sim);
  for (const vip of new Set([...ld, ...sd].map((d) => d.vip))) {
    const sum = (ds: typeof ld) => ds.filter((d) => d.vip === vip).reduce((a, d) => a + (d.durationS ?? 0), 0);
    row('client disconnection s (total)', vip, sum(ld), sum(sd));
    row('client disconnections (count)', vip, ld.filter((d) => d.vip === vip).length, sd.filter((d) => d.vip === vip).length);
  }
  return rows;
}

export function conformMarkdown(scenario: string, rows: ConformRow[]): string {
  const f = (x: number | null) => (x === null ? '—' : String(x));
  return [
    `### conform ${scenario}`,
    '',
    '| metric | server | live | sim | err % |',
    '|---|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.metric} | ${r.server} | ${f(r.live)} | ${f(r.sim)} | ${f(r.errPct)} |`),
    '',
  ].join('\n');
}

/** The rows of each of N runs, live and sim (`conform --repeat N`). */
export interface ConformRuns {
  name: string;
  lab: string;
  live: ConformRow[][];
  sim: ConformRow[][];
}

/**
 * Runs a scenario in sim and live and compares them. With `repeat` N > 1: N sim replications
 * (seeds seed, seed + 1, ...) and N live runs, one after another (each live run starts from the
 * lab reset to its initial state); the first run's files are written as for one run (so the web
 * view shows it), the others as `.live-<i>.ndjson` / `.sim-<i>.ndjson`, and `runs` holds every
 * run's rows for the caller to combine.
 */
export async function conform(o: { scenarioFile: string; labFile: string; outDir: string; paramsFile?: string; repeat?: number; log?: (m: string) => void; overtimeS?: number; unpaired?: boolean; replay?: string[] }): Promise<{ json: string; md: string; rows: ConformRow[]; runs: ConformRuns; live: TraceLine[] }> {
  const log = o.log ?? (() => undefined);
  const lab = loadLab(o.labFile);
  // lbcluster: per fault, VRRP takeover and real-server drop/re-add (run/lbconform.ts). Its times
  // are the policy's own parameters (advert_int, priorities, checker), not the lab's world: the
  // scenario runs in sim as written, plus the machine's costs when the lab was calibrated.
  const asWritten = readScenario(o.scenarioFile);
  let scenario: Scenario;
  let extra: Record<string, unknown> = {};
  let liveScenarioFile = o.scenarioFile;
  let compare: (live: TraceLine[], sim: TraceLine[], name: string, simRan: Scenario) => { rows: ConformRow[]; md: string };
  if (navigatorVipOf(asWritten) !== null) {
    // Navigator: Table 5-7's times (run/navconform.ts), the policy's own rates and intervals as
    // written; the machine's costs and the container's start as measured when the lab was
    // calibrated (`hatwin calibrate LAB --machine`).
    ({ scenario, extra } = machineCalibrated(o, lab, asWritten));
    compare = (live, sim, name) => {
      const rows = navConformRows(live, sim, scenario);
      return { rows, md: conformMarkdown(name, rows) };
    };
  } else if (hasPss(asWritten)) {
    // PSS: each layout change's duration and its real servers' power changes (run/pssconform.ts).
    // When the lab was calibrated (`hatwin calibrate LAB --machine`): the sim's VIP moves in
    // guests and real-server suspends and resumes as measured, and the MSBS's timeouts in both
    // worlds derived from the measured examinations (msbsTimeoutsS); the live run gets that
    // scenario, written beside the traces. Otherwise the scenario as written.
    const paramsFile = o.paramsFile ?? join(lab.logDir, '..', 'calibrate.json');
    if (existsSync(paramsFile)) {
      const c = applyPssCalibration(readFileSync(o.scenarioFile, 'utf8'), JSON.parse(readFileSync(paramsFile, 'utf8')) as CalibrateParams | MachineCalibration, o.scenarioFile);
      scenario = c.sim;
      mkdirSync(o.outDir, { recursive: true });
      liveScenarioFile = join(o.outDir, `${basename(o.scenarioFile).replace(/\.ya?ml$/, '')}.calibrated.yaml`);
      writeFileSync(liveScenarioFile, `# ${o.scenarioFile} with the MSBS's timeouts derived from ${paramsFile} (run/calibrate.ts msbsTimeoutsS)\n${c.live}`);
      extra = { params: paramsFile, msbsTimeouts: c.timeouts };
      log(`conform: MSBS timeouts from the calibration: ${c.timeouts.map((t) => `network ${t.networkS} s, service ${t.serviceS} s`).join('; ')}`);
    } else scenario = asWritten;
    compare = (live, sim, name) => {
      // With the MSBS too: its recoveries and the clients' disconnections, as for the other policies.
      const rows = [...pssConformRows(live, sim), ...conformRows(live, sim)];
      return { rows, md: conformMarkdown(name, rows) };
    };
  } else if (lbPolicyOf(asWritten)) {
    // The machine's costs (agent start-up: the checker's loop starts with its agent; a fault's
    // landing in the live loop) when the lab has a calibration file.
    ({ scenario, extra } = machineCalibrated(o, lab, asWritten));
    compare = (live, sim, name, simRan) => {
      // Faults named by their nominal times; the sim's ended where its run ended them (paired:
      // where live recorded the end, not the scenario's duration after the lab's acted record).
      const rows = lbConformRows(live, sim, asWritten, simRan);
      return { rows, md: lbConformMarkdown(name, rows) };
    };
  } else {
    const paramsFile = o.paramsFile ?? join(lab.logDir, '..', 'calibrate.json');
    let params: CalibrateParams;
    try {
      params = JSON.parse(readFileSync(paramsFile, 'utf8')) as CalibrateParams;
    } catch {
      throw new Error(`no calibration at ${paramsFile}: run \`hatwin calibrate ${o.labFile}\` first (or give --params)`);
    }
    if ((params as unknown as MachineCalibration).machineOnly) throw new Error(`${paramsFile} calibrates the machine only (hatwin calibrate --machine): ${o.scenarioFile} needs the lab's world too: run \`hatwin calibrate ${o.labFile}\``);
    scenario = applyCalibration(readFileSync(o.scenarioFile, 'utf8'), params, o.scenarioFile);
    extra = { params: paramsFile };
    compare = (live, sim, name) => {
      const rows = conformRows(live, sim);
      return { rows, md: conformMarkdown(name, rows) };
    };
  }
  const name = scenario.name ?? basename(o.scenarioFile).replace(/\.ya?ml$/, '');
  // Recorded live runs re-scored against the sim as it is now: no lab, no live run.
  const replayed = o.replay?.map((f) => parseNdjson(readFileSync(f, 'utf8'), f));
  const repeat = replayed?.length ?? o.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new Error(`--repeat must be a whole number from 1 to 100, got ${repeat}`);
  mkdirSync(o.outDir, { recursive: true });
  const runs: ConformRuns = { name, lab: lab.name, live: [], sim: [] };
  let first: { rows: ConformRow[]; md: string } | null = null;
  let firstLive: TraceLine[] | null = null;
  const simulate = (s: Scenario, i: number) => {
    const sim = buildSimulation(s, { seed: (s.seed ?? 1) + i, watchMode: 'skip' });
    sim.run(s.until!);
    return sim.events;
  };
  for (let i = 0; i < repeat; i++) {
    const suffix = i === 0 ? '' : `-${i + 1}`;
    let live: { events: TraceLine[] };
    if (replayed) live = { events: replayed[i] };
    else {
      // Unpaired (the calibrated distributions): where a live run that went the same way ends.
      const overtime = o.overtimeS === 0 ? undefined : { maxUs: (o.overtimeS ?? 15) * 1e6, settled: settledLike(simulate(scenario, i)) };
      live = await runLive({ labFile: o.labFile, scenarioFile: liveScenarioFile, traceFile: join(o.outDir, `conform-${name}.live${suffix}.ndjson`), log, overtime });
      log(`live ${i + 1}/${repeat} done`);
    }
    firstLive ??= live.events;
    // The replication compared is paired with this live run (its fault records, its agents' start-ups).
    const ran = o.unpaired ? scenario : pairedWithLive(scenario, live.events, lab.vips);
    const sim = simulate(ran, i);
    writeFileSync(join(o.outDir, `conform-${name}.sim${suffix}.ndjson`), toNdjson(sim));
    log(`sim ${i + 1}/${repeat} done (${sim.length} events${o.unpaired ? '' : ', paired with the live run'})`);
    const c = compare(timedByTheLab(live.events), sim, name, ran);
    first ??= c;
    runs.live.push(c.rows);
    runs.sim.push(c.rows);
  }
  const { rows, md: table } = first!;
  const json = join(o.outDir, `conform-${name}.json`);
  const md = join(o.outDir, `conform-${name}.md`);
  writeFileSync(json, `${JSON.stringify({ scenario: name, lab: lab.name, ...extra, paired: !o.unpaired, rows }, null, 2)}\n`);
  writeFileSync(md, table);
  return { json, md, rows, runs, live: firstLive! };
}

/**
 * The scenario as written plus the machine's costs from the lab's calibration file when there is
 * one (`hatwin calibrate LAB --machine`, or a full calibration's `dist`), for scenarios whose world
 * timings are the policy's own.
 */
function machineCalibrated(o: { scenarioFile: string; paramsFile?: string }, lab: Lab, asWritten: Scenario): { scenario: Scenario; extra: Record<string, unknown> } {
  const paramsFile = o.paramsFile ?? join(lab.logDir, '..', 'calibrate.json');
  if (!existsSync(paramsFile)) return { scenario: asWritten, extra: {} };
  const p = JSON.parse(readFileSync(paramsFile, 'utf8')) as CalibrateParams | MachineCalibration;
  return { scenario: applyMachineCalibration(readFileSync(o.scenarioFile, 'utf8'), p, o.scenarioFile), extra: { params: paramsFile } };
}

/** The trace lines that time the machine's answer to a policy's call, by the response series they start (`network.responsesS`). */
const RESPONSE_SERIES: Readonly<Record<string, string>> = { 'dbss.examined': 'examine', 'pss.sampled': 'sample', 'pss.counted': 'accesses', 'vip.assign': 'vipSet', 'vip.remove': 'vipRemove' };
/** A response series' name for a trace line: a VIP's set and removal per holder (`vipSet/VIP5/W2`), else per subject. */
const seriesOf = (e: TraceLine): string => `${RESPONSE_SERIES[e.kind]}/${e.subject}${e.kind === 'vip.assign' || e.kind === 'vip.remove' ? vipCaller(e) : ''}`;
/**
 * A VIP call's series after its VIP: the holder and, where the trace says who called, `@AGENT`.
 * Several agents set the same VIP on the same holder (the Navigator's pilots on whichever PC runs
 * the container); the sim replays each agent's calls in order, so each agent's list is its own.
 */
const vipCaller = (e: TraceLine): string => `/${String(e.data?.holder)}${typeof e.data?.by === 'string' ? `@${e.data.by}` : ''}`;

/**
 * A sim replication paired with one live run: the scenario with that run's exogenous timings in
 * place of their calibrated distributions: each fault at the time live recorded it (the k-th
 * fault of a kind on a target at the k-th such record; one with a duration until live recorded
 * its end; the instant the lab says it acted, where it says so: `actedAt`), each host agent's
 * start-ups as they came (the first from the run's start, each later one from its host's boot),
 * each VM's starts as long as they took (a container's boot, the machine's answer under that run's
 * load), the machine's response times to the calls that set a loop's phase, in order per series
 * (`responsesS`: a DBSS's examination rounds, the PSS's load samples and access counts, each
 * VIP's sets and removals per holder), the
 * guests' memory load changed when live wrote it (`pairedLoad`), the churn's switches where live
 * made them, and each client's access grid where the lab's client had it (its first access).
 * Nothing the
 * policies or the world do is taken from live: those are the model's, and they are what the
 * comparison measures. Where live has no record (a fault it never injected), the scenario's stays.
 */
export function pairedWithLive(scenario: Scenario, live: readonly TraceLine[], vipAddresses: ReadonlyArray<{ name: string; address?: string }> = scenario.vips): Scenario {
  const subjectOf = (f: Scenario['faults'][number]) => ('target' in f ? f.target : f.a.join(','));
  const recorded = new Map<string, number[]>();
  const ended = new Map<string, number[]>();
  const starts: Record<string, number[]> = {};
  const vmStarts: Record<string, number[]> = {};
  const responses: Record<string, Array<number | { failedS: number }>> = {};
  const onAt = new Map<string, number>();
  const hosts = new Set(scenario.hosts.map((h) => h.name));
  for (const e of live) {
    if (e.kind === 'fault' || e.kind === 'fault.end') {
      const key = `${String(e.data?.fault)}/${e.subject}`;
      const into = e.kind === 'fault' ? recorded : ended;
      into.set(key, [...(into.get(key) ?? []), e.t]);
    } else if (e.kind === 'host.state' && e.data?.state === 'on') onAt.set(e.subject, e.t);
    else if (e.kind === 'lab.guest' && e.data?.state === 'ready' && typeof e.data.tookUs === 'number') (vmStarts[String(e.data.vm)] ??= []).push(e.data.tookUs / 1e6);
    else if (e.kind === 'agent.start' && hosts.has(e.subject)) {
      const list = (starts[e.subject] ??= []);
      const from = list.length === 0 ? 0 : (onAt.get(e.subject) ?? 0);
      list.push(Math.max(0, e.t - from) / 1e6);
    } else if (RESPONSE_SERIES[e.kind] !== undefined && typeof e.data?.tookUs === 'number') {
      const took = Math.max(0, e.data.tookUs) / 1e6;
      // A VIP set or removal is traced only once it succeeded.
      const ok = e.data.ok === true || e.kind === 'vip.assign' || e.kind === 'vip.remove';
      (responses[seriesOf(e)] ??= []).push(ok ? took : { failedS: took });
    }
  }
  // Traces made before the agents named them carry a host's VIP by its address (the lab's).
  Object.assign(responses, vipEffects(live, (s) => vipAddresses.find((v) => v.address === s)?.name ?? s));
  const taken = new Map<string, number>();
  const faults = scenario.faults.map((f) => {
    const key = `${f.kind}/${subjectOf(f)}`;
    const k = taken.get(key) ?? 0;
    taken.set(key, k + 1);
    const rec = recorded.get(key)?.[k];
    if (rec === undefined) return f;
    // Live records a fault before the lab carries it out; where the lab says when it acted, that.
    const t = 'target' in f ? actedAt(live, f.kind, f.target, rec) : rec;
    // A fault with a duration ends where live recorded its end (the loop's turn after it).
    const end = f.duration === undefined ? undefined : ended.get(key)?.find((x) => x >= t);
    return { ...f, at: t, ...(end === undefined ? {} : { duration: end - t }) };
  });
  // Each client's access grid where live's client had it (the lab client's own start).
  const firstAccess = new Map<string, number>();
  for (const e of live) if (e.kind === 'client.access' && !firstAccess.has(e.subject)) firstAccess.set(e.subject, e.t);
  const clients = scenario.clients.map((c) => {
    const t = firstAccess.get(c.name);
    if (t === undefined) return c;
    const ivUs = Math.round(c.intervalS * 1e6);
    return { ...c, phaseS: (t % ivUs) / 1e6 };
  });
  return {
    ...scenario, hosts: pairedUptimes(scenario, live), faults, clients, vmLoad: pairedLoad(scenario, live), ...pairedChurn(scenario, live),
    network: {
      ...scenario.network, agentStartsS: starts,
      ...(Object.keys(vmStarts).length ? { vmStartsS: vmStarts } : {}),
      ...(Object.keys(responses).length > 0 ? { responsesS: responses } : {}),
    },
  };
}

/**
 * When each VIP change took effect for a client, from the start of its call: `vipServed/VIP/HOLDER`
 * for the sets, `vipGone/VIP/HOLDER` for the removals, one entry per traced set or removal in
 * order (the call's whole time where its `vip.effect` is missing). Only for holders that traced
 * an effect: a guest's driver traces both (its set serves once its gratuitous ARP is sent, its
 * status polls come after), a host's SSH driver its sets (serving once `ip addr add` returned,
 * the SSH connect before it included; its arping waits about a second after).
 */
export function vipEffects(live: readonly TraceLine[], nameOf: (subject: string) => string = (s) => s): Record<string, number[]> {
  // A guest's driver traces the VIP's name, the SSH driver of a host its address.
  const effects = live.filter((e) => e.kind === 'vip.effect').map((e) => ({ ...e, subject: nameOf(e.subject) }));
  const traced = new Set(effects.map((e) => `${e.subject}/${String(e.data?.holder)}`));
  const out: Record<string, number[]> = {};
  for (const e of live) {
    if ((e.kind !== 'vip.assign' && e.kind !== 'vip.remove') || typeof e.data?.tookUs !== 'number') continue;
    const key = `${e.subject}/${String(e.data.holder)}`;
    if (!traced.has(key)) continue;
    const series = `${e.subject}${vipCaller(e)}`;
    const op = e.kind === 'vip.assign' ? 'add' : 'remove';
    const start = e.t - e.data.tookUs;
    let at = e.t;
    for (const x of effects) {
      if (x.t >= start && x.t <= e.t && x.subject === e.subject && x.data?.holder === e.data.holder && x.data?.op === op) at = x.t;
    }
    (out[`${op === 'add' ? 'vipServed' : 'vipGone'}/${series}`] ??= []).push(Math.max(0, at - start) / 1e6);
  }
  return out;
}

/** The lab's record that a fault of each scenario kind took effect (the supervisor's, after its action). */
const ACTED: Record<string, (e: TraceLine) => boolean> = {
  // (A pulled cable, link-down, is recorded once `ip link set down` has returned, up to ~20 ms
  // after the cut: a keepalived advert sent in between was lost live and sent in the paired sim,
  // lb-faults' last advert -> takeover 3.11 s against 3.61 s. It keeps the run's record.
  // A service stopped, St1, and a director's keepalived killed, St2 on a process, are recorded
  // after the daemon has exited or been reaped: later than it stopped serving (a keepalived told
  // to stop hands its VIP over first). Those faults keep the run's record.)
  St2: (e) => e.kind === 'lab.service' && e.data?.action === 'wedge',
  Nt1: (e) => e.kind === 'lab.power-cut',
  Nt2: (e) => e.kind === 'lab.power-cut',
  'host-restart': (e) => e.kind === 'lab.power-cut',
  'host-shutdown': (e) => e.kind === 'lab.power-cut',
  pause: (e) => e.kind === 'lab.pause' && e.data?.paused === true,
};

/**
 * When a fault recorded at `recordedUs` took effect on `target`: the lab's first record of that
 * kind of action on it within 10 s after (a power-off's link down ~10 ms later, a service wedged,
 * a host paused), else the record itself.
 */
function actedAt(live: readonly TraceLine[], kind: string, target: string, recordedUs: number): number {
  const is = ACTED[kind];
  if (!is) return recordedUs;
  const e = live.find((x) => x.subject === target && x.t >= recordedUs && x.t <= recordedUs + 10_000_000 && is(x));
  return e?.t ?? recordedUs;
}

/**
 * A live trace with each fault (and each PC switched off by the churn) at the instant the lab
 * says it acted (actedAt), as its paired sim replication has it: both worlds' rows then count
 * from the same physical instant, not from live's record before the call. In time order.
 */
export function timedByTheLab(live: readonly TraceLine[]): TraceLine[] {
  const moved = live.map((e) => {
    if (e.kind === 'fault' && typeof e.data?.fault === 'string') return { ...e, t: actedAt(live, e.data.fault, e.subject, e.t) };
    if (e.kind === 'churn.power' && e.data?.on !== true) return { ...e, t: actedAt(live, 'Nt2', e.subject, e.t) };
    return e;
  });
  return moved.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.i - b.i).map((x) => x.e);
}

/**
 * The scenario's churn as the live run switched its PCs: each `churn.power` live recorded (the
 * sim's schedule, landed where the live loop's turn and the power calls before it let it land:
 * 0.3-0.4 s late at the loop's 0.26 s turn) as a replayed trace at that instant. Without churn, or
 * with none recorded, the scenario's own.
 */
function pairedChurn(scenario: Scenario, live: readonly TraceLine[]): Pick<Scenario, 'churn'> | Record<string, never> {
  if (!scenario.churn) return {};
  const hosts = scenario.churn.hosts;
  const events = live.filter((e) => e.kind === 'churn.power' && hosts.includes(e.subject)).map((e) => {
    // A PC switched off is gone when its power is cut (after the user's switch).
    const t = e.data?.on === true ? e.t : actedAt(live, 'Nt2', e.subject, e.t);
    return { node: e.subject, available: e.data?.on === true, start: t / 1e6, stop: t / 1e6 };
  });
  if (events.length === 0) return {};
  return { churn: { kind: 'trace', hosts, nodes: hosts, origin: 0, events } };
}

/**
 * The hosts with the uptimes live's PCs had at the run's start (`uptimeS`): a lab's PCs carry the
 * uptime of the lab session's earlier runs (a PC the failover switched off was booted minutes after
 * the others), which a Navigator primary reads to place its secondary. From each host's
 * `host.uptime` record (its boot record at the epoch). A trace recorded before that record
 * existed gives it through the depots' reports a Navigator primary traced
 * (`navigator.candidates`: whole seconds, read when the query went out, the uptime wait before the
 * record), each host's first report before it was switched off, to about a second. A host with
 * neither, or off at the start, keeps the scenario's.
 */
export function pairedUptimes(scenario: Scenario, live: readonly TraceLine[]): Scenario['hosts'] {
  const up = new Map<string, number>();
  for (const e of live) if (e.kind === 'host.uptime' && typeof e.data?.uptimeS === 'number') up.set(e.subject, e.data.uptimeS);
  if (up.size === 0) {
    const nav = scenario.policies.find((p) => p.kind === 'navigator');
    const wait = durationUs.safeParse(nav?.uptimeWait ?? 1);
    const waitUs = wait.success ? wait.data : 1e6;
    const wentOff = new Set<string>();
    for (const e of live) {
      if (e.kind === 'host.state' && e.data?.state !== 'on') wentOff.add(e.subject);
      if (e.kind !== 'navigator.candidates' || !Array.isArray(e.data?.reports)) continue;
      for (const r of e.data.reports as unknown[]) {
        if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'number' || up.has(r[0]) || wentOff.has(r[0])) continue;
        // Reported in whole seconds (its middle), read when the query went out.
        up.set(r[0], Math.max(0, Math.round((r[1] + 0.5) * 1e6 - (e.t - waitUs)) / 1e6));
      }
    }
  }
  if (up.size === 0) return scenario.hosts;
  return scenario.hosts.map((h) => (h.state === 'on' && up.has(h.name) ? { ...h, uptimeS: up.get(h.name)! } : h));
}

/**
 * The scenario's memory load in the guests (`vmLoad`) changing when live wrote it: live writes a
 * guest's load through its agent, guest by guest (a guest on a suspended server when its server
 * is back), and records each write (`lab.load`, the guest's memory in use). Each later change of
 * a guest's memory in the scenario goes to the first record after the previous one that carries
 * its new amount; the load at the start, and a change live never recorded, keep the scenario's
 * time. A window of memory load moves with its edges; other load (accesses) stays as written.
 */
function pairedLoad(scenario: Scenario, live: readonly TraceLine[]): Scenario['vmLoad'] {
  const loads = scenario.vmLoad;
  if (loads === undefined) return loads;
  const moved = new Map<string, number>();
  const mem = loads.filter((l) => l.memMb > 0);
  for (const vm of new Set(mem.map((l) => l.vm))) {
    const records = live.filter((e) => e.kind === 'lab.load' && e.subject === vm);
    const edges = [...new Set(mem.filter((l) => l.vm === vm).flatMap((l) => [l.start, l.end ?? 0]).filter((t) => t > 0))].sort((a, b) => a - b);
    let from = 0;
    for (const t of edges) {
      const mb = vmLoadMemMb(scenario, vm, t);
      if (mb === vmLoadMemMb(scenario, vm, t - 1)) continue;
      const k = records.findIndex((e, i) => i >= from && e.data?.memMb === mb);
      if (k < 0) break;
      moved.set(`${vm}@${t}`, records[k].t);
      from = k + 1;
    }
  }
  const at = (vm: string, t: number) => moved.get(`${vm}@${t}`) ?? t;
  return loads.map((l) => (l.memMb > 0 ? { ...l, start: at(l.vm, l.start), ...(l.end === undefined ? {} : { end: at(l.vm, l.end) }) } : l));
}

/** The recoveries, the guests' last states and the clients' last OK/XX of a trace: where a run ends up. */
function endState(ev: readonly TraceLine[]): { counts: Map<string, number>; last: Map<string, string> } {
  const counts = new Map<string, number>();
  const last = new Map<string, string>();
  for (const e of ev) {
    if (e.kind === 'function.recovered' || e.kind === 'target.recovered' || e.kind === 'target.down') counts.set(`${e.kind} ${e.subject}`, (counts.get(`${e.kind} ${e.subject}`) ?? 0) + 1);
    else if (e.kind === 'vm.state') last.set(`vm ${e.subject}`, String(e.data?.state));
    else if (e.kind === 'client.access') last.set(`client ${e.subject}`, String(e.data?.ok));
  }
  return { counts, last };
}

/**
 * A live run has settled like the sim's run of the same scenario when it has at least the
 * sim's recoveries (function, target, down) of each server, and each guest's last state and each
 * client's last OK/XX are the sim's last (runLive's overtime: a slow machine gets the time it needs).
 */
export function settledLike(sim: readonly TraceLine[]): (live: readonly TraceLine[]) => boolean {
  const want = endState(sim);
  return (live) => {
    const got = endState(live);
    for (const [k, n] of want.counts) if ((got.counts.get(k) ?? 0) < n) return false;
    for (const [k, v] of want.last) if (got.last.get(k) !== v) return false;
    return true;
  };
}
