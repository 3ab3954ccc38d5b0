// A cluster request for `hatwin settle`: what the person settling an application cluster gives
// (the segment the servers live in, how many servers, the service ports, names), as a zod
// schema. Every name that reaches a configuration file, a rule set or a command line is checked
// here: host names are RFC 1123 labels, interface names Linux interface names, addresses dotted
// quads, HTTP paths plain URL paths. Nothing is ever put into a shell string.
import { z } from 'zod';
import { parseDurationUs } from '../../../sim/kernel/time.ts';
import { CIDR_RE, IPV4_RE, parseCidr } from './ipv4.ts';

/** An RFC 1123 host name label: letters, digits and '-', not at either end; at most 63. */
export const HOST_LABEL_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const HOST_LABEL_MSG = 'a host name: letters, digits and "-" (not first or last), at most 63 characters';
/** A Linux interface name (at most 15 characters, no '/', ':' or blanks). */
export const IFACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
/** An absolute URL path without blanks, quotes or the comment characters of keepalived.conf. */
export const URL_PATH_RE = /^\/[A-Za-z0-9._~/%+=&?,;@-]*$/;

export const hostName = z.string({ error: `expected ${HOST_LABEL_MSG}` }).regex(HOST_LABEL_RE, `invalid host name: expected ${HOST_LABEL_MSG}`);
export const ifaceName = z.string({ error: 'expected an interface name' }).regex(IFACE_RE, 'invalid interface name: a letter or digit, then up to 14 of letters, digits, ".", "_" or "-"');
export const ipv4 = z.string({ error: 'expected an IPv4 address like 10.77.100.10' }).regex(IPV4_RE, 'expected an IPv4 address like 10.77.100.10');
export const cidr = z.string({ error: 'expected an IPv4 prefix like 10.77.100.0/24' }).regex(CIDR_RE, 'expected an IPv4 prefix like 10.77.100.0/24').superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});
export const port = z.number({ error: 'expected a port number 1..65535' }).int('expected a port number 1..65535').min(1, 'expected a port number 1..65535').max(65535, 'expected a port number 1..65535');

const DURATION_MSG = 'expected a duration: seconds (a number) or a string like "500ms", "3s"';
/** A duration in us, written as seconds or "3s"/"500ms". */
const duration = z.custom<string | number>((v) => typeof v === 'number' || typeof v === 'string', { message: DURATION_MSG }).transform((v, ctx) => {
  try {
    const us = parseDurationUs(v);
    if (us < 0) throw new Error('a duration must be >= 0');
    return us;
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const master = z.object({
  name: hostName,
  address: ipv4,
  interface: ifaceName,
  /** 1..254: 255 is for the owner of the address, which a master of a VIP is not. */
  priority: z.number().int().min(1, 'priority must be 1..254').max(254, 'priority must be 1..254 (255 is for the owner of the address)'),
}).strict();

const vncHost = z.object({
  name: hostName,
  address: ipv4,
  /** KVM's VNC port of the first guest placed here (5900 + display). */
  firstVncPort: port.default(5900),
  /** VNC ports of this host already in use by other guests. */
  usedVncPorts: z.array(port).default([]),
}).strict();

const check = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tcp') }).strict(),
  z.object({
    kind: z.literal('http'),
    path: z.string().regex(URL_PATH_RE, 'expected a URL path like /health (no blanks, quotes, "#" or "!")').default('/'),
    status: z.number().int().min(100).max(599).default(200),
  }).strict(),
  z.object({ kind: z.literal('none') }).strict(),
], { error: 'expected a check: {kind: tcp}, {kind: http, path, status} or {kind: none}' });

const service = z.object({
  name: hostName,
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  port,
  check: check.default({ kind: 'tcp' }),
}).strict();

export const requestSchema = z.object({
  /** The cluster's name (an application: plm, erp, ...). */
  cluster: hostName,
  /** The segment of the application servers (the firewall's eth j). */
  segment: cidr,
  /** Where VIPs and server addresses are allocated (default: the whole segment). */
  allocate: z.object({ from: ipv4, to: ipv4 }).strict().optional(),
  /** What is already taken. */
  existing: z.object({
    /** Addresses in use (in the segment or not). */
    addresses: z.array(ipv4).default([]),
    /** Ports already forwarded on the firewall's external address. */
    ports: z.array(port).default([]),
    /** VRRP virtual router ids already used on the segment. */
    routerIds: z.array(z.number().int().min(1).max(255)).default([]),
  }).strict().default({ addresses: [], ports: [], routerIds: [] }),
  /** The master servers (MS) that hold the VIP and direct connections, in order of preference. */
  masters: z.array(master).min(2, 'an HA pair needs two masters').max(8, 'at most 8 masters'),
  vrrp: z.object({
    /** Seconds between adverts (VRRPv2: whole seconds 1..255). */
    advertInt: z.number().int('VRRPv2 advert_int is whole seconds').min(1).max(255).default(1),
    /** A higher-priority master takes the VIP back when it returns. */
    preempt: z.boolean().default(true),
    /** How long a returning higher-priority master waits before taking over (needs preempt). */
    preemptDelay: duration.default(0),
    /** The virtual router id (default: the lowest one not in existing.routerIds). */
    routerId: z.number().int().min(1).max(255).optional(),
  }).strict().default({ advertInt: 1, preempt: true, preemptDelay: 0 }),
  /** The application servers (SS). */
  servers: z.object({
    count: z.number({ error: 'expected the number of application servers' }).int().min(1, 'at least one application server is needed').max(250),
    /** Servers are named <namePrefix>1 .. <namePrefix>count. */
    namePrefix: hostName.default('ap'),
    /** Their interface on the segment (for the ARP settings of direct routing). */
    interface: ifaceName.default('eth0'),
    /** One weight per server (default 1 each); 0 keeps a server out of new connections. */
    weights: z.array(z.number().int().min(0).max(65535)).optional(),
    /** One address per server (default: allocated in the segment after the VIP). */
    addresses: z.array(ipv4).optional(),
    /** Hypervisors the servers run on, for VNC forwarding: servers are placed on them in blocks. */
    hosts: z.array(vncHost).optional(),
  }).strict(),
  services: z.array(service).min(1, 'at least one service port is needed'),
  lb: z.object({
    algo: z.enum(['wrr', 'rr', 'lc']).default('wrr'),
    /** Seconds a client sticks to its real server (0: no persistence). */
    persistenceTimeout: z.number().int().min(0).max(2_678_400).default(0),
    quorum: z.number().int().min(1).default(1),
    hysteresis: z.number().int().min(0).default(0),
    inhibitOnFailure: z.boolean().default(false),
    sorryServer: z.object({ address: ipv4, port }).strict().optional(),
  }).strict().default({ algo: 'wrr', persistenceTimeout: 0, quorum: 1, hysteresis: 0, inhibitOnFailure: false }),
  checker: z.object({
    delayLoop: duration.default(60_000_000),
    connectTimeout: duration.default(5_000_000),
    retry: z.number().int().min(0).max(100).default(1),
    delayBeforeRetry: duration.default(1_000_000),
  }).strict().default({ delayLoop: 60_000_000, connectTimeout: 5_000_000, retry: 1, delayBeforeRetry: 1_000_000 }),
  /** The firewall in front of the segment: NAT from its external address, and filtering. */
  firewall: z.object({
    externalAddress: ipv4,
    externalInterface: ifaceName,
    /** Sources allowed in (default: any). */
    allowFrom: z.array(cidr).optional(),
    /** First external port for SSH to the servers, and for VNC to their consoles. */
    sshPortBase: port.default(2211),
    vncPortBase: port.default(5911),
  }).strict(),
}).strict();

export type SettleRequest = z.output<typeof requestSchema>;
export type SettleRequestInput = z.input<typeof requestSchema>;
