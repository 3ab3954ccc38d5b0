// Allocation for a cluster request: the VIP, the virtual router id, the servers' addresses and
// the external ports of the NAT table, chosen deterministically (lowest free first) so that the
// same request and state always give the same plan. `previous` is the plan this cluster got last
// time (settle.json in its output folder): its allocations are this cluster's own, so they are
// kept whenever they are still valid, even when the request's `existing` lists them by now.
import { contains, hostRange, intToIp, ipToInt, parseCidr, formatCidr } from './ipv4.ts';
import type { SettleRequest } from './request.ts';

export interface Problem {
  path: (string | number)[];
  message: string;
}

export class PlanError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('\n'));
  }
}

export interface NatEntry {
  /** What it is for: the service name, `ssh <server>` or `vnc <server>`. */
  what: string;
  protocol: 'tcp' | 'udp';
  externalPort: number;
  /** Where the firewall forwards it. */
  toAddress: string;
  toPort: number;
}

export interface PlannedServer {
  name: string;
  address: string;
  weight: number;
  sshPort: number;
  vnc?: { host: string; hostAddress: string; port: number; externalPort: number };
}

/** The plan: everything allocated, in the form settle.json keeps it. */
export interface Plan {
  version: 1;
  cluster: string;
  segment: string;
  vip: string;
  prefixLen: number;
  routerId: number;
  servers: PlannedServer[];
  services: Array<{ name: string; protocol: 'tcp' | 'udp'; port: number; externalPort: number }>;
  nat: NatEntry[];
}

const isPlanLike = (p: unknown): p is Plan =>
  typeof p === 'object' && p !== null && (p as Plan).version === 1 && typeof (p as Plan).vip === 'string' && Array.isArray((p as Plan).servers);

/**
 * Allocates everything the request needs. Throws PlanError listing every problem (a full
 * segment, a clashing port or address, a bad count of weights, ...) with its path in the request.
 */
export function planCluster(req: SettleRequest, previous?: unknown): Plan {
  const problems: Problem[] = [];
  const bad = (path: (string | number)[], message: string) => problems.push({ path, message });
  const seg = parseCidr(req.segment);
  const prev = isPlanLike(previous) && previous.cluster === req.cluster && previous.segment === formatCidr(seg) ? previous : undefined;
  const { first, last } = hostRange(seg);
  const k = req.servers.count;

  // ----- the range allocations come from -----
  let lo = first;
  let hi = last;
  if (req.allocate) {
    const a = ipToInt(req.allocate.from);
    const b = ipToInt(req.allocate.to);
    if (!contains(seg, a) || a < first || a > last) bad(['allocate', 'from'], `${req.allocate.from} is not a host address of ${req.segment}`);
    if (!contains(seg, b) || b < first || b > last) bad(['allocate', 'to'], `${req.allocate.to} is not a host address of ${req.segment}`);
    if (b < a) bad(['allocate', 'to'], `${req.allocate.to} comes before ${req.allocate.from}`);
    lo = Math.max(a, first);
    hi = Math.min(b, last);
  }

  // ----- names -----
  const names = new Map<string, (string | number)[]>();
  const claimName = (name: string, path: (string | number)[]) => {
    const key = name.toLowerCase();
    const other = names.get(key);
    if (other) bad(path, `the name "${name}" is used twice (also at ${other.join('.')})`);
    else names.set(key, path);
  };
  req.masters.forEach((m, i) => claimName(m.name, ['masters', i, 'name']));
  const serverNames = Array.from({ length: k }, (_, i) => `${req.servers.namePrefix}${i + 1}`);
  serverNames.forEach((n) => {
    if (n.length > 63) bad(['servers', 'namePrefix'], `server name "${n}" is longer than 63 characters`);
    else claimName(n, ['servers', 'namePrefix']);
  });
  (req.servers.hosts ?? []).forEach((h, i) => claimName(h.name, ['servers', 'hosts', i, 'name']));
  const svcNames = new Set<string>();
  req.services.forEach((s, i) => {
    if (s.protocol === 'udp' && s.check.kind === 'http') bad(['services', i, 'check'], 'an HTTP check needs a TCP service');
    if (svcNames.has(s.name)) bad(['services', i, 'name'], `service "${s.name}" is listed twice`);
    svcNames.add(s.name);
  });

  // ----- addresses taken -----
  const taken = new Map<number, string>(); // address -> by what
  const prevOwn = new Set<number>();
  if (prev) {
    prevOwn.add(ipToInt(prev.vip));
    for (const s of prev.servers) prevOwn.add(ipToInt(s.address));
  }
  for (const a of req.existing.addresses) {
    const n = ipToInt(a);
    if (!prevOwn.has(n)) taken.set(n, `existing.addresses (${a})`);
  }
  req.masters.forEach((m, i) => {
    const n = ipToInt(m.address);
    if (!contains(seg, n) || n < first || n > last) bad(['masters', i, 'address'], `${m.address} is not a host address of ${req.segment}: a master must be on the servers' segment (direct routing)`);
    const by = taken.get(n);
    if (by && by.startsWith('master')) bad(['masters', i, 'address'], `${m.address} is also ${by}`);
    taken.set(n, `master ${m.name}`);
  });
  if (req.lb.sorryServer) taken.set(ipToInt(req.lb.sorryServer.address), 'lb.sorryServer');

  const explicit = req.servers.addresses;
  if (explicit) {
    if (explicit.length !== k) bad(['servers', 'addresses'], `${explicit.length} addresses for ${k} servers`);
    explicit.forEach((a, i) => {
      const n = ipToInt(a);
      if (!contains(seg, n) || n < first || n > last) bad(['servers', 'addresses', i], `${a} is not a host address of ${req.segment}`);
      const by = taken.get(n);
      if (by) bad(['servers', 'addresses', i], `${a} is taken (${by})`);
      taken.set(n, `server ${serverNames[i] ?? a}`);
    });
  }
  if (req.servers.weights && req.servers.weights.length !== k) bad(['servers', 'weights'], `${req.servers.weights.length} weights for ${k} servers`);
  if (req.servers.weights && req.servers.weights.length === k && req.servers.weights.every((w) => w === 0)) {
    bad(['servers', 'weights'], 'every weight is 0: no server would take a connection');
  }
  if (req.lb.quorum > (req.servers.weights ?? Array(k).fill(1)).reduce((a: number, w: number) => a + w, 0)) {
    bad(['lb', 'quorum'], 'the quorum is more than the weights of all servers together: the cluster would never have quorum');
  }
  if (!req.vrrp.preempt && req.vrrp.preemptDelay > 0) bad(['vrrp', 'preemptDelay'], 'a preempt delay needs preempt: true (keepalived ignores preempt_delay with nopreempt)');

  const free = (n: number) => n >= lo && n <= hi && !taken.has(n);
  const inRange = (n: number) => contains(seg, n) && n >= lo && n <= hi;
  let full = false;
  const allocate = (what: string, path: (string | number)[], preferred?: string): string | undefined => {
    if (full) return undefined;
    if (preferred) {
      const n = ipToInt(preferred);
      if (inRange(n) && !taken.has(n)) {
        taken.set(n, what);
        return preferred;
      }
    }
    for (let n = lo; n <= hi; n++) {
      if (free(n)) {
        taken.set(n, what);
        return intToIp(n);
      }
    }
    const span = req.allocate ? `${intToIp(lo)}..${intToIp(hi)}` : req.segment;
    full = true;
    bad(path, `no free address for ${what} in ${span}: all ${Math.max(0, hi - lo + 1)} host addresses are taken`);
    return undefined;
  };

  const vip = allocate(`the VIP of ${req.cluster}`, ['segment'], prev?.vip);
  const addresses = explicit ?? serverNames.map((n) => allocate(`server ${n}`, ['segment'], prev?.servers.find((s) => s.name === n)?.address) ?? '0.0.0.0');

  // ----- virtual router id -----
  let routerId = req.vrrp.routerId ?? 0;
  if (req.vrrp.routerId !== undefined) {
    if (req.existing.routerIds.includes(req.vrrp.routerId) && prev?.routerId !== req.vrrp.routerId) {
      bad(['vrrp', 'routerId'], `virtual router id ${req.vrrp.routerId} is already used on the segment (existing.routerIds)`);
    }
  } else if (prev) {
    // Ours from last time (existing.routerIds may list it by now).
    routerId = prev.routerId;
  } else {
    routerId = 0;
    for (let id = 1; id <= 255 && routerId === 0; id++) if (!req.existing.routerIds.includes(id)) routerId = id;
    if (routerId === 0) bad(['existing', 'routerIds'], 'every virtual router id 1..255 is used on the segment');
  }

  // ----- external ports -----
  const usedPorts = new Map<number, string>();
  const prevPorts = new Set<number>(prev ? prev.nat.map((e) => e.externalPort) : []);
  for (const p of req.existing.ports) if (!prevPorts.has(p)) usedPorts.set(p, 'existing.ports');
  const services = req.services.map((s, i) => {
    const by = usedPorts.get(s.port);
    if (by) bad(['services', i, 'port'], `port ${s.port} clashes: ${by === 'existing.ports' ? `it is already forwarded on ${req.firewall.externalAddress} (existing.ports)` : `${by} uses it too`}`);
    usedPorts.set(s.port, `service ${s.name}`);
    return { name: s.name, protocol: s.protocol, port: s.port, externalPort: s.port };
  });
  const allocPort = (what: string, base: number, path: (string | number)[], preferred?: number): number => {
    if (preferred !== undefined && !usedPorts.has(preferred)) {
      usedPorts.set(preferred, what);
      return preferred;
    }
    for (let p = base; p <= 65535; p++) {
      if (!usedPorts.has(p)) {
        usedPorts.set(p, what);
        return p;
      }
    }
    bad(path, `no free external port for ${what} from ${base} to 65535`);
    return 0;
  };
  const prevServer = (n: string) => prev?.servers.find((s) => s.name === n);
  const sshPorts = serverNames.map((n) => allocPort(`ssh ${n}`, req.firewall.sshPortBase, ['firewall', 'sshPortBase'], prevServer(n)?.sshPort));

  // VNC: servers placed on the hypervisors in blocks (the first ceil(k/h) on the first, ...).
  const hosts = req.servers.hosts ?? [];
  const vnc: Array<PlannedServer['vnc']> = serverNames.map(() => undefined);
  if (hosts.length > 0) {
    const per = Math.ceil(k / hosts.length);
    const hostUsed = hosts.map((h) => new Set(h.usedVncPorts));
    serverNames.forEach((n, i) => {
      const hi2 = Math.min(hosts.length - 1, Math.floor(i / per));
      const h = hosts[hi2];
      const prevVnc = prevServer(n)?.vnc;
      let port = prevVnc && prevVnc.host === h.name && !hostUsed[hi2].has(prevVnc.port) ? prevVnc.port : 0;
      for (let p = h.firstVncPort; port === 0 && p <= 65535; p++) if (!hostUsed[hi2].has(p)) port = p;
      if (port === 0) bad(['servers', 'hosts', hi2, 'firstVncPort'], `no free VNC port on ${h.name}`);
      hostUsed[hi2].add(port);
      const externalPort = allocPort(`vnc ${n}`, req.firewall.vncPortBase, ['firewall', 'vncPortBase'], prevVnc?.externalPort);
      vnc[i] = { host: h.name, hostAddress: h.address, port, externalPort };
    });
  }

  if (problems.length > 0 || vip === undefined) throw new PlanError(problems);

  const weights = req.servers.weights ?? serverNames.map(() => 1);
  const servers: PlannedServer[] = serverNames.map((name, i) => ({
    name,
    address: addresses[i],
    weight: weights[i],
    sshPort: sshPorts[i],
    ...(vnc[i] ? { vnc: vnc[i] } : {}),
  }));
  const nat: NatEntry[] = [
    ...services.map((s) => ({ what: s.name, protocol: s.protocol, externalPort: s.externalPort, toAddress: vip, toPort: s.port })),
    ...servers.flatMap((s) => [
      ...(s.vnc ? [{ what: `vnc ${s.name}`, protocol: 'tcp' as const, externalPort: s.vnc.externalPort, toAddress: s.vnc.hostAddress, toPort: s.vnc.port }] : []),
      { what: `ssh ${s.name}`, protocol: 'tcp' as const, externalPort: s.sshPort, toAddress: s.address, toPort: 22 },
    ]),
  ].sort((a, b) => a.externalPort - b.externalPort || a.protocol.localeCompare(b.protocol));
  return { version: 1, cluster: req.cluster, segment: formatCidr(seg), vip, prefixLen: seg.prefixLen, routerId, servers, services, nat };
}
