// Lab files: the mini-lab on one machine (hatwin lab up|down|status|fault) and the addresses,
// MACs, keys and services that live mode needs. YAML -> zod, problems reported with file, line,
// field and what was expected (parseYamlWith); nothing is built from an invalid file.
//
// Every address must lie in the lab's private subnet: the lab's bridge is connected to nothing
// else, and tests send traffic only to 127.0.0.0/8 and that subnet.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseYamlWith, readTextFile, type ExtraCheck } from '../../sim/scenario/load.ts';
import { durationUs } from '../../sim/scenario/schema.ts';
import { formatIpv4, isPrivateSubnet, parseCidr, parseIpv4, type Cidr } from './ipv4.ts';

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, 'a name: a letter, then letters, digits, "_", "." or "-" (at most 63)');
const labName = z.string().regex(/^[a-z][a-z0-9-]{0,23}$/, 'a lab name: a lowercase letter, then lowercase letters, digits or "-" (at most 24)');
const ifName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,14}$/, 'an interface name: a letter, then letters, digits, "_" or "-" (at most 15)');
const ipv4 = z.string().refine((s) => parseIpv4(s) !== null, 'an IPv4 address like 10.77.0.11');
const mac = z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'a MAC address like 02:77:00:00:00:11')
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'a unicast MAC (first octet even), e.g. 02:77:00:00:00:11')
  .transform((m) => m.toLowerCase());
const port = z.number().int().min(1).max(65535);

/** Placeholders an argv may use; they are replaced per host when the lab starts a process. */
export const ARGV_PLACEHOLDERS = ['repo', 'host', 'address', 'port', 'state', 'lab', 'settle'] as const;
const argv = z.array(z.string().min(1)).min(1, 'a command as a list of arguments, e.g. [busybox, nc, -ll, -p, "25", -e, "{repo}/scripts/guest/svc/banner.sh"]')
  .superRefine((args, ctx) => {
    args.forEach((a, i) => {
      for (const m of a.matchAll(/\{([^}]*)\}/g)) {
        if (!(ARGV_PLACEHOLDERS as readonly string[]).includes(m[1])) {
          ctx.addIssue({ code: 'custom', path: [i], message: `unknown placeholder {${m[1]}} (known: ${ARGV_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})` });
        }
      }
    });
  });

/**
 * How a client or prober examines a service: by request and reply (a frozen daemon still
 * accepts TCP connects, so a bare connect proves nothing).
 * - http: `GET /` must answer 200; the body names who served it.
 * - banner: an SMTP/FTP-style greeting line starting with `expect` (default "220").
 * - echo: a line sent must come back.
 */
export const PROTOCOLS = ['http', 'banner', 'echo'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const serviceSchema = z.object({
  name,
  protocol: z.enum(PROTOCOLS),
  port,
  /** http: expected status (200); banner: expected greeting prefix ("220"). */
  expect: z.string().optional(),
  /** How the host runs it (in its namespace, started by its power supervisor). */
  argv,
}).strict();

const guestServiceSchema = serviceSchema.omit({ argv: true });

const hostSchema = z.object({
  name,
  address: ipv4,
  mac,
  sshPort: port.default(22),
  /** Time from power-on (WOL or boot command) until its link is up and its processes start. */
  bootDelay: durationUs.default(3_000_000),
  /** Power at `lab up`. */
  power: z.enum(['on', 'off']).default('on'),
  services: z.array(serviceSchema).default([]),
  /** Other processes of the host (an agent, say), started at boot, not examined. */
  processes: z.array(z.object({ name, argv }).strict()).default([]),
  /**
   * Record what VRRP does on this host's interface (a director): every advert it sees (tcpdump,
   * kernel timestamps) and every address added or removed (ip monitor), as lab events
   * `lab.vrrp.advert` and `lab.addr` in events.ndjson.
   */
  watchVrrp: z.boolean().default(false),
  /**
   * Time from a Wake-on-LAN magic packet to a suspended host running again (suspend-to-RAM's
   * resume; `power suspend` freezes its processes and guests and cuts its cable).
   */
  resumeDelay: durationUs.default(1_000_000),
  /**
   * Modelled watts per power state (the lab has no meter): written into every `lab.power` event
   * with `metered: false`.
   */
  watts: z.object({ on: z.number().min(0), suspended: z.number().min(0), off: z.number().min(0) }).strict().optional(),
}).strict();

const backupVmSchema = z.object({
  name,
  /** The real server whose function this backup VM takes over (none: a guest that serves by itself, with its own services). */
  backs: name.optional(),
  /**
   * The real server this guest runs on: suspending that host (power suspend) freezes the guest
   * too. None: the guest belongs to no lab host (the papers' backups on the management server).
   */
  on: name.optional(),
  /** After `lab up`: suspended (a backup or spare, resumed in tens of ms) or running (a virtual server). */
  start: z.enum(['suspended', 'running']).default('suspended'),
  address: ipv4,
  mac,
  memoryMb: z.number().int().min(64).max(2048).default(128),
  /** Services inside the guest; default: the backed host's (same protocol and port). */
  services: z.array(guestServiceSchema).optional(),
  /**
   * `lab`: booted once at \`lab up\` from the lab's guest image, then kept suspended (the papers'
   * backup VMs). `depot`: a Navigator container (wong-2014): nothing at \`lab up\`; started on a
   * PC from the container image in that PC's Service Depot (hosts/HOST/depot/container.img) as a
   * transient guest, and destroyed when that PC powers off.
   */
  image: z.enum(['lab', 'depot']).default('lab'),
}).strict();

const vipSchema = z.object({
  name,
  address: ipv4,
  /** The service the VIP offers (a service name of the holder). */
  service: name,
  /** Holder at `lab up`: a host name. */
  holder: name,
  /**
   * A load balancer's VIP: `holder` is the balancing host, which forwards each new connection to
   * one of these VIPs (adapters/lb/nftpool.ts, in turn) and counts the connections each receives
   * (nft counters, adapters/lab/nftcount.ts).
   */
  members: z.array(name).min(1).optional(),
  /**
   * Who places the VIP: `lab` (lab up puts it on its holder, live runs put it back) or `vrrp` (the
   * directors' keepalived does; `holder` is the director expected to be master, and `service` is
   * the real servers' service behind it, balanced by the director's nftables pool) or `policy`
   * (a policy moves it between guests, as Navigator's pilots do: nobody holds it at the start;
   * `service` is a guest's service, `holder` the host whose guest serves it first).
   */
  managedBy: z.enum(['lab', 'vrrp', 'policy']).default('lab'),
}).strict();

const clientSchema = z.object({
  name: name.default('client'),
  address: ipv4,
  /** The papers' client accesses each VIP once a second. */
  interval: durationUs.default(1_000_000),
  /** An access that has not answered by then is XX. */
  timeout: durationUs.default(800_000),
  /** VIP names to access; default all. */
  vips: z.array(name).optional(),
}).strict();

const etcdSchema = z.object({
  name: name.default('etcd'),
  address: ipv4,
  clientPort: port.default(23790),
  peerPort: port.default(23800),
}).strict();

const keysSchema = z.object({
  /** Folder of the key files (relative to the lab file). */
  dir: z.string().min(1),
  /** Create missing keys at `lab up` (else a missing key file refuses the lab file). */
  generate: z.boolean().default(false),
  sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name').default('root'),
  /** Operator/agent SSH key (OpenSSH private key; `.pub` beside it). */
  sshKey: z.string().min(1).default('id_ed25519'),
  /** Key of the agents' message HMACs. */
  hmacKey: z.string().min(1).default('hmac.key'),
  /** Known hosts, one line per host, pinned from the host keys in `hostKeys/`. */
  knownHosts: z.string().min(1).default('known_hosts'),
}).strict();

export const labSchema = z.object({
  name: labName,
  description: z.string().optional(),
  /** Private IPv4 subnet of the lab (10/8, 172.16/12 or 192.168/16; prefix 16..29). */
  subnet: z.string(),
  bridge: z.object({
    name: ifName,
    /** The root namespace's address on the bridge: where `hatwin live`, status and tests sit. */
    address: ipv4,
  }).strict(),
  /** UDP port the power supervisors hear Wake-on-LAN on (subnet broadcast). */
  wolPort: port.default(9),
  /** Runtime files (sockets, configs, pid records); removed by `lab down`. */
  stateDir: z.string().optional(),
  /** Logs (access log, daemons, guest consoles), emptied by `lab up`, kept after `lab down`; relative to the lab file (default out/lab/NAME/logs). */
  logDir: z.string().optional(),
  keys: keysSchema,
  etcd: etcdSchema,
  client: clientSchema,
  hosts: z.array(hostSchema).min(1),
  backupVms: z.array(backupVmSchema).default([]),
  vips: z.array(vipSchema).default([]),
  /**
   * A load-balanced cluster settled by `hatwin settle`'s generator at `lab up`: keepalived.conf
   * for every master named in the request (a host of this lab), checked by `keepalived -t` inside
   * the master's namespace, written to STATE/settle (the `{settle}` placeholder of argv).
   */
  settle: z.object({
    /** The settle request (relative to the lab file). */
    request: z.string().min(1),
    /** The VRRP secret's key file (relative to the lab file; created when missing, mode 0600). */
    keyFile: z.string().min(1),
  }).strict().optional(),
  /** Live-mode settings for the engine (policies, intervals); read by `hatwin live`/`agent`. */
  live: z.record(z.string(), z.unknown()).optional(),
}).strict().superRefine((lab, ctx) => {
  const at = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const cidr = parseCidr(lab.subnet);
  if (!cidr) return at(['subnet'], `an IPv4 subnet like 10.77.0.0/24, got "${lab.subnet}"`);
  if (cidr.prefix < 16 || cidr.prefix > 29) return at(['subnet'], `prefix /${cidr.prefix}: use /16 to /29`);
  if (formatIpv4(cidr.network) !== cidr.text.split('/')[0]) return at(['subnet'], `not a network address: did you mean ${formatIpv4(cidr.network)}/${cidr.prefix}?`);
  if (!isPrivateSubnet(cidr)) return at(['subnet'], `${lab.subnet} is not private: the lab must use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (it is connected to nothing, and nothing else may be reached)`);

  // Every address inside the subnet, usable, and used once.
  const seen = new Map<string, string>();
  const addr = (a: string, path: (string | number)[], what: string) => {
    const ip = parseIpv4(a)!;
    if (!inSubnet(cidr, ip)) return at(path, `${a} is outside the lab subnet ${lab.subnet}`);
    if (ip === cidr.network || ip === cidr.broadcast) return at(path, `${a} is the subnet's ${ip === cidr.network ? 'network' : 'broadcast'} address`);
    const prev = seen.get(a);
    if (prev) return at(path, `address ${a} is already used by ${prev}`);
    seen.set(a, what);
  };
  addr(lab.bridge.address, ['bridge', 'address'], 'the bridge');
  addr(lab.etcd.address, ['etcd', 'address'], `etcd "${lab.etcd.name}"`);
  addr(lab.client.address, ['client', 'address'], `client "${lab.client.name}"`);
  lab.hosts.forEach((h, i) => addr(h.address, ['hosts', i, 'address'], `host "${h.name}"`));
  lab.backupVms.forEach((v, i) => addr(v.address, ['backupVms', i, 'address'], `backup VM "${v.name}"`));
  lab.vips.forEach((v, i) => addr(v.address, ['vips', i, 'address'], `VIP "${v.name}"`));

  // One namespace of names for hosts, VMs, the client and etcd; MACs unique.
  const names = new Map<string, string>();
  const uniq = (n: string, path: (string | number)[], what: string) => {
    const prev = names.get(n.toLowerCase());
    if (prev) return at(path, `name "${n}" is already used by ${prev} (hosts, backup VMs, client and etcd share one namespace, case-insensitively)`);
    names.set(n.toLowerCase(), what);
  };
  uniq(lab.etcd.name, ['etcd', 'name'], 'etcd');
  uniq(lab.client.name, ['client', 'name'], 'the client');
  lab.hosts.forEach((h, i) => uniq(h.name, ['hosts', i, 'name'], `host "${h.name}"`));
  lab.backupVms.forEach((v, i) => uniq(v.name, ['backupVms', i, 'name'], `backup VM "${v.name}"`));
  const macs = new Map<string, string>();
  const macOnce = (m: string, path: (string | number)[], what: string) => {
    const prev = macs.get(m);
    if (prev) return at(path, `MAC ${m} is already used by ${prev}`);
    macs.set(m, what);
  };
  lab.hosts.forEach((h, i) => macOnce(h.mac, ['hosts', i, 'mac'], `host "${h.name}"`));
  lab.backupVms.forEach((v, i) => macOnce(v.mac, ['backupVms', i, 'mac'], `backup VM "${v.name}"`));

  // Ports per host; services named once per host.
  lab.hosts.forEach((h, i) => {
    const ports = new Map<number, string>([[h.sshPort, 'sshd']]);
    const svc = new Set<string>();
    h.services.forEach((s, j) => {
      if (svc.has(s.name)) at(['hosts', i, 'services', j, 'name'], `service "${s.name}" twice on host "${h.name}"`);
      svc.add(s.name);
      const prev = ports.get(s.port);
      if (prev) at(['hosts', i, 'services', j, 'port'], `port ${s.port} is already used by ${prev} on host "${h.name}"`);
      ports.set(s.port, s.name);
    });
    h.processes.forEach((p, j) => {
      if (svc.has(p.name)) at(['hosts', i, 'processes', j, 'name'], `"${p.name}" is already a service of host "${h.name}"`);
      svc.add(p.name);
    });
  });

  const hosts = new Map(lab.hosts.map((h) => [h.name, h]));
  const hostList = () => [...hosts.keys()].join(', ');
  lab.backupVms.forEach((v, i) => {
    if (v.backs !== undefined && !hosts.has(v.backs)) at(['backupVms', i, 'backs'], `no host "${v.backs}" (hosts: ${hostList()})`);
    if (v.on !== undefined && !hosts.has(v.on)) at(['backupVms', i, 'on'], `no host "${v.on}" (hosts: ${hostList()})`);
    if (v.backs === undefined && v.services === undefined) at(['backupVms', i], `guest "${v.name}" backs no host: give its services`);
  });
  const guests = new Map(lab.backupVms.map((v) => [v.name, v]));
  const vipNames = new Set<string>();
  lab.vips.forEach((v) => vipNames.add(v.name));
  const seenVip = new Set<string>();
  lab.vips.forEach((v, i) => {
    if (seenVip.has(v.name)) at(['vips', i, 'name'], `VIP "${v.name}" twice`);
    seenVip.add(v.name);
    const g = guests.get(v.holder);
    if (g) {
      // A VIP on a guest: the guest runs (lab up puts the VIP on it) and offers the service.
      if (g.start !== 'running') at(['vips', i, 'holder'], `guest "${g.name}" holds a VIP at start: give it start: running`);
      const svcs = g.services ?? (g.backs ? hosts.get(g.backs)?.services ?? [] : []);
      if (!svcs.some((s) => s.name === v.service)) at(['vips', i, 'service'], `guest "${g.name}" has no service "${v.service}"`);
      if (v.members) at(['vips', i, 'members'], 'a balancer VIP is held by a host (the balancer)');
      return;
    }
    const h = hosts.get(v.holder);
    if (!h) return at(['vips', i, 'holder'], `no host or guest "${v.holder}" (hosts: ${hostList()})`);
    if (v.members) {
      v.members.forEach((m, j) => {
        const mv = lab.vips.find((x) => x.name === m);
        if (!mv) return at(['vips', i, 'members', j], `no VIP "${m}" (VIPs: ${[...vipNames].join(', ')})`);
        if (mv.members) at(['vips', i, 'members', j], `VIP "${m}" is a balancer VIP itself`);
        if (mv.service !== v.service) at(['vips', i, 'members', j], `VIP "${m}" offers "${mv.service}", not "${v.service}"`);
      });
      if (v.managedBy === 'vrrp') at(['vips', i, 'managedBy'], 'a balancer VIP is placed by the lab');
      return;
    }
    if (v.managedBy === 'vrrp') {
      if (!lab.hosts.some((x) => x.services.some((s) => s.name === v.service))) at(['vips', i, 'service'], `no host runs service "${v.service}" (the real servers behind a VRRP VIP)`);
    } else if (v.managedBy === 'policy') {
      if (!lab.backupVms.some((x) => x.services?.some((s) => s.name === v.service))) at(['vips', i, 'service'], `no guest declares service "${v.service}" (a policy-managed VIP is served by guests)`);
    } else if (!h.services.some((s) => s.name === v.service)) {
      at(['vips', i, 'service'], `host "${h.name}" has no service "${v.service}" (its services: ${h.services.map((s) => s.name).join(', ') || 'none'})`);
    }
  });
  lab.client.vips?.forEach((n, i) => {
    if (!vipNames.has(n)) at(['client', 'vips', i], `no VIP "${n}" (VIPs: ${[...vipNames].join(', ') || 'none'})`);
  });
  if (lab.etcd.clientPort === lab.etcd.peerPort) at(['etcd', 'peerPort'], 'must differ from clientPort');
});

export type LabFileData = z.output<typeof labSchema>;
export type LabHost = z.output<typeof hostSchema>;
export type LabService = z.output<typeof serviceSchema>;
export type LabGuestService = z.output<typeof guestServiceSchema>;
export type LabBackupVm = Omit<z.output<typeof backupVmSchema>, 'services'> & { services: LabGuestService[] };
export type LabVip = z.output<typeof vipSchema>;

/** The service a VIP offers: its holder's (a host or a guest), or (VRRP and balancer VIPs) the first host's or guest's of that name. */
export function vipService(lab: Pick<LabFileData, 'hosts'> & { backupVms?: ReadonlyArray<{ name: string; services?: LabGuestService[] }> }, v: LabVip): LabGuestService {
  const all = [...lab.hosts, ...(lab.backupVms ?? [])];
  const own = all.find((h) => h.name === v.holder)?.services?.find((s) => s.name === v.service);
  const s = own ?? all.flatMap((h) => h.services ?? []).find((x) => x.name === v.service);
  if (!s) throw new Error(`VIP ${v.name}: no host or guest runs service "${v.service}"`);
  return s;
}

/** A validated lab with its paths resolved and defaults filled in. */
export interface Lab extends Omit<LabFileData, 'backupVms' | 'stateDir' | 'logDir' | 'keys' | 'settle'> {
  /** Paths resolved against the lab file. */
  settle?: { request: string; keyFile: string };
  file: string;
  cidr: Cidr;
  backupVms: LabBackupVm[];
  stateDir: string;
  logDir: string;
  keys: LabFileData['keys'] & { sshKeyPath: string; hmacKeyPath: string; knownHostsPath: string; hostKeyPath: (host: string) => string };
}

export function inSubnet(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}

/** The repository root (placeholders `{repo}` in argv). */
export const REPO_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../..');

function keyChecks(file: string): ExtraCheck<LabFileData> {
  return (lab) => {
    if (lab.keys.generate) return [];
    const dir = resolve(dirname(file), lab.keys.dir);
    const problems: Array<{ path: (string | number)[]; message: string }> = [];
    const need = (rel: string, field: string) => {
      const p = resolve(dir, rel);
      if (!existsSync(p)) problems.push({ path: ['keys', field], message: `missing key file ${p} (create it, or set keys.generate: true to have \`hatwin lab up\` create the lab's keys)` });
    };
    need(lab.keys.sshKey, 'sshKey');
    need(`${lab.keys.sshKey}.pub`, 'sshKey');
    need(lab.keys.hmacKey, 'hmacKey');
    need(lab.keys.knownHosts, 'knownHosts');
    for (const h of lab.hosts) need(`hostKeys/${h.name}`, 'dir');
    return problems;
  };
}

export function parseLab(text: string, file = '<lab>'): Lab {
  const data = parseYamlWith(labSchema, text, file, keyChecks(file));
  return resolveLab(data, file);
}

export function loadLab(path: string): Lab {
  return parseLab(readTextFile(path), path);
}

function resolveLab(data: LabFileData, file: string): Lab {
  const base = dirname(resolve(file));
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const keyDir = rel(data.keys.dir);
  const hosts = new Map(data.hosts.map((h) => [h.name, h]));
  return {
    ...data,
    file: resolve(file),
    cidr: parseCidr(data.subnet)!,
    stateDir: data.stateDir ? rel(data.stateDir) : `/run/hatwin/${data.name}`,
    ...(data.settle ? { settle: { request: rel(data.settle.request), keyFile: rel(data.settle.keyFile) } } : {}),
    logDir: data.logDir ? rel(data.logDir) : resolve(REPO_DIR, 'out/lab', data.name, 'logs'),
    backupVms: data.backupVms.map((v) => ({
      ...v,
      services: v.services ?? (v.backs ? hosts.get(v.backs)?.services ?? [] : []).map(({ name, protocol, port, expect }) => ({ name, protocol, port, expect })),
    })),
    keys: {
      ...data.keys,
      dir: keyDir,
      sshKeyPath: resolve(keyDir, data.keys.sshKey),
      hmacKeyPath: resolve(keyDir, data.keys.hmacKey),
      knownHostsPath: resolve(keyDir, data.keys.knownHosts),
      hostKeyPath: (host: string) => resolve(keyDir, 'hostKeys', host),
    },
  };
}

/** Looks a host up by name, with an error that lists the lab's hosts. */
export function labHost(lab: Lab, host: string): LabHost {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`lab "${lab.name}" has no host "${host}" (hosts: ${lab.hosts.map((x) => x.name).join(', ')})`);
  return h;
}

/** Replaces the argv placeholders of a host's process. */
export function expandArgv(args: string[], lab: Lab, host: LabHost, portNo?: number): string[] {
  const values: Record<(typeof ARGV_PLACEHOLDERS)[number], string> = {
    repo: REPO_DIR, host: host.name, address: host.address, port: portNo === undefined ? '' : String(portNo), state: lab.stateDir, lab: lab.name,
    settle: settleDir(lab),
  };
  return args.map((a) => a.replace(/\{([a-z]+)\}/g, (_, k: string) => values[k as keyof typeof values] ?? `{${k}}`));
}

/** Where `lab up` writes the settled cluster's files (keepalived.conf per master). */
export const settleDir = (lab: Pick<Lab, 'stateDir'>): string => join(lab.stateDir, 'settle');
