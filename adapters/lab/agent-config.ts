// What one `hatwin agent` of a mini-lab needs, derived from the lab file (addresses, keys, MACs,
// services, VIPs): the LiveConfig of the live adapters, and a Network port that speaks VIP *names* to the
// engine (as the sim does) and VIP addresses to the machines.
import { performance } from 'node:perf_hooks';
import type { Hypervisor, Network } from '../../engine/ports/index.ts';
import { ReachGatedHypervisor, tcpReach } from './reach-gate.ts';
import type { LiveConfig } from '../live/ports.ts';
import type { VipDriver } from '../net/vip.ts';
import { GuestAgentVipDriver, type VipEffect } from './guest-vip.ts';
import { formatIpv4 } from './ipv4.ts';
import { labServiceCheck } from './check.ts';
import { ACCESS_TABLE, balancedVips, labLiveCommands } from './lab.ts';
import { bootRecord, depotBackup, depotDatabase, depotDump, depotImage, NS_IF, powerSocket } from './names.ts';
import { control } from './control.ts';
import { vipService, type Lab } from './schema.ts';
import { run } from './run.ts';
import { NftPool, type NftPoolOptions, type NftPoolSpec } from '../lb/nftpool.ts';

/** TCP port of each agent's messenger (on its host's lab address). */
export const AGENT_PORT = 7400;

/** The etcd prefix of one live run: management files of an earlier run are never read. */
export const runPrefix = (lab: Pick<Lab, 'name'>, runId: string) => {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(runId)) throw new RangeError(`run id "${runId}": letters, digits, _ and - only (1-40)`);
  return `hatwin/${lab.name}/${runId}/`;
};

/** The lab's SSH connect timeout for an agent (its SSH port's, and its hypervisor gate's). */
export const LAB_SSH_CONNECT_MS = 3_000;

/**
 * An agent's Hypervisor port as a remote hypervisor would be: each call naming a host needs a
 * TCP connection to that host's sshd from the agent's namespace (adapters/lab/reach-gate.ts).
 */
export function reachGatedHypervisor(lab: Lab, agent: string, inner: Hypervisor): ReachGatedHypervisor {
  const ssh = new Map(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort }]));
  return new ReachGatedHypervisor(inner, {
    self: agent,
    reach: (host) => {
      const to = ssh.get(host);
      // Not a lab host: the lab's port refuses it with its own message.
      return to === undefined ? Promise.resolve(true) : tcpReach(to.address, to.port, LAB_SSH_CONNECT_MS);
    },
  });
}

export function agentLiveConfig(lab: Lab, agent: string, runId: string): LiveConfig {
  if (!lab.hosts.some((h) => h.name === agent)) throw new Error(`lab "${lab.name}" has no host "${agent}" (hosts: ${lab.hosts.map((h) => h.name).join(', ')})`);
  const cmds = labLiveCommands(lab);
  const check = labServiceCheck;
  return {
    agent,
    hosts: [
      ...lab.hosts.map((h) => ({
        name: h.name,
        address: h.address,
        ssh: { port: h.sshPort, user: lab.keys.sshUser, keyFile: lab.keys.sshKeyPath },
        mac: h.mac,
        vip: { iface: NS_IF, prefixLen: lab.cidr.prefix },
        load: {},
      })),
      // Guests: probed; their VIPs go through the qemu guest agent (a VipDriver per VM).
      ...lab.backupVms.map((v) => ({ name: v.name, address: v.address, mac: v.mac })),
    ],
    knownHostsFile: lab.keys.knownHostsPath,
    services: [
      ...lab.hosts.flatMap((h) => h.services.map((s) => ({ target: h.name, service: s.name, port: s.port, check: check(s) }))),
      ...lab.backupVms.flatMap((v) => v.services.map((s) => ({ target: v.name, service: s.name, port: s.port, check: check(s) }))),
    ],
    serviceCommands: cmds.services,
    power: { wol: { broadcast: formatIpv4(lab.cidr.broadcast), port: lab.wolPort }, commands: { reboot: cmds.power.reboot, shutdown: cmds.power.shutdown, suspend: cmds.power.suspend }, resumeWait: { timeoutMs: 30_000 } },
    etcd: { hosts: [`http://${lab.etcd.address}:${lab.etcd.clientPort}`], prefix: runPrefix(lab, runId) },
    messenger: {
      keyFile: lab.keys.hmacKeyPath,
      peers: Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: AGENT_PORT }])),
    },
    timeouts: { sshConnectMs: LAB_SSH_CONNECT_MS, commandMs: 10_000, messageMs: 500 },
    depot: {
      images: Object.fromEntries(lab.hosts.map((h) => [h.name, depotImage(lab, h.name)])),
      backup: depotBackup(lab, agent),
      bootFile: bootRecord(lab, agent),
      database: depotDatabase(lab, agent),
      dumps: Object.fromEntries(lab.hosts.map((h) => [h.name, depotDump(lab, h.name)])),
    },
    ...labAccesses(lab),
  };
}

/**
 * The lab's out-of-band fence (LiveNetworkOptions.fence): the power supervisor of a lab host
 * plays its BMC, reached over its control socket rather than the lab network, so a partition or
 * a pulled cable does not cut it off. It confirms a VIP gone from a host that is off or booting
 * or whose interface does not carry it, takes it off a paused host from outside, and refuses for
 * a running host that carries it (null). Guests are not fenced this way (null).
 */
export function labFence(lab: Lab, timeoutMs = 5_000): (holder: string, vip: string) => Promise<string | null> {
  return async (holder, vip) => {
    if (!lab.hosts.some((h) => h.name === holder)) return null;
    const r = await control(powerSocket(lab, holder), { op: 'fence', address: vip }, timeoutMs);
    return r.ok ? (r.message ?? 'fenced') : null;
  };
}

/** The lab's balancer counters as `load.accesses` (the first host holding balancer VIPs), if it has one. */
function labAccesses(lab: Lab): Pick<LiveConfig, 'accesses'> {
  const host = lab.vips.find((v) => v.members)?.holder;
  if (host === undefined) return {};
  const macs = Object.fromEntries([...lab.hosts, ...lab.backupVms].map((x) => [x.name, x.mac]));
  return { accesses: { host, table: ACCESS_TABLE, vips: balancedVips(lab, host), macs } };
}

/** The engine names VIPs (vip-ftp); the machines want addresses. Assignments are traced as in sim. */
export function namedVipNetwork(lab: Lab, inner: Network, emit: (kind: string, subject: string, data: Record<string, unknown>) => void, poolOrder?: NftPoolOptions['order']): Network {
  const nft = poolOrder ? labNftPool(lab, poolOrder) : null;
  const addr = (vip: string) => {
    const v = lab.vips.find((x) => x.name === vip || x.address === vip);
    if (!v) throw new Error(`lab "${lab.name}" has no VIP "${vip}"`);
    return v;
  };
  return {
    // Each traced with how long the machine took (tookUs: a paired sim replays it, run/calibrate.ts).
    async assignVip(vip, holder) {
      const v = addr(vip);
      const t0 = performance.now();
      await inner.assignVip(v.address, holder);
      emit('vip.assign', v.name, { holder, tookUs: Math.round((performance.now() - t0) * 1000) });
    },
    async removeVip(vip, holder) {
      const v = addr(vip);
      const t0 = performance.now();
      await inner.removeVip(v.address, holder);
      emit('vip.remove', v.name, { holder, tookUs: Math.round((performance.now() - t0) * 1000) });
    },
    vipHolders: (vip) => inner.vipHolders(addr(vip).address),
    // Pools of VRRP VIPs: this director's own nftables pool (the agent runs in its namespace).
    async poolAdd(pool, member, weight) {
      if (!nft?.has(pool)) return inner.poolAdd(pool, member, weight);
      await nft.add(pool, member, weight ?? 1);
      emit('pool.add', pool, { member, weight: weight ?? 1 });
    },
    async poolRemove(pool, member) {
      if (!nft?.has(pool)) return inner.poolRemove(pool, member);
      await nft.remove(pool, member);
      emit('pool.remove', pool, { member });
    },
  };
}

/**
 * The lab's load-balanced pools (one per VIP with managedBy: vrrp, named after it): the VIP's
 * address and service port, and every host running that service as a possible member.
 */
export function labNftPools(lab: Lab): Record<string, NftPoolSpec> {
  return Object.fromEntries(lab.vips.filter((v) => v.managedBy === 'vrrp').map((v) => {
    const svc = vipService(lab, v);
    const members = Object.fromEntries(lab.hosts.filter((h) => h.services.some((s) => s.name === v.service)).map((h) => [h.name, h.address]));
    return [v.name, { vip: v.address, port: svc.port, members }];
  }));
}

/** An NftPool over `nft -f -` in this process's namespace, or null when the lab has no VRRP VIP. */
export function labNftPool(lab: Lab, order: NftPoolOptions['order']): NftPool | null {
  const pools = labNftPools(lab);
  if (Object.keys(pools).length === 0) return null;
  return new NftPool({ pools, order, apply: async (ruleset) => void (await run(['nft', '-f', '-'], { input: ruleset, timeoutMs: 10_000 })) });
}

/**
 * The guest agent's VIP driver, idempotent like the SSH one: a guest suspended with a VIP still
 * on it (an earlier run that ended mid-recovery) makes `ip addr add` fail with "File exists";
 * the VIP is there, so it is announced again and the assignment counts.
 */
export class IdempotentGuestVipDriver implements VipDriver {
  private readonly inner: GuestAgentVipDriver;
  constructor(private readonly lab: Lab, private readonly vm: string, onEffect?: VipEffect) {
    this.inner = new GuestAgentVipDriver(lab, vm, NS_IF, onEffect);
  }

  async add(vip: string): Promise<void> {
    try {
      await this.inner.add(vip);
    } catch (e) {
      if (!/File exists/i.test((e as Error).message)) throw e;
      await this.inner.announce(vip);
    }
  }

  async remove(vip: string): Promise<void> {
    try {
      await this.inner.remove(vip);
    } catch (e) {
      // A guest that is shut off (crashed, destroyed) holds no address: removed, and fenced, as
      // in the sim. A paused one keeps its addresses: that still fails.
      if (!/Cannot assign|not found|No such|EADDRNOTAVAIL|is shut off:|is crashed:/i.test((e as Error).message)) throw e;
    }
  }

  has(vip: string): Promise<boolean> {
    return this.inner.has(vip);
  }

  addresses(): Promise<string[]> {
    return this.inner.addresses();
  }
}
