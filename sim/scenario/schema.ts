// Scenario files: the world (hosts, VMs, services, VIPs, clients, load), the faults, the policies
// and their parameters. Validated with zod; durations are seconds (a number) or strings like
// "250ms", "10s", "5m"; random durations are distributions in seconds. Cross-references (a VM's
// host, a fault's target and the kind of thing it needs, a VIP holder's services, ...) are
// checked by scenarioProblems(), which the loader also runs on what it could salvage of an
// invalid file, so that every problem of a file is reported at once.
import { z } from 'zod';

import { distSchema, durationUs, name, seconds, DIST_EXPECTED, type DistSpec } from './units.ts';
import { distRange, type Dist } from '../kernel/distributions.ts';
import { MAX_TIME_S, MAX_TIME_US, US_PER_S } from '../kernel/time.ts';
import { traceNodes } from './fta.ts';

export { distSchema, durationUs, name, type DistSpec };
const constant = (value: number): DistSpec => ({ kind: 'constant', value });

/** Amounts (watts, MB, bytes/s, percent): finite, so that sums over a whole file stay finite. */
const BIG = 1e12;
const amount = z.number().nonnegative().max(BIG);
const positiveAmount = z.number().positive().max(BIG);
/** Times a single network step takes (a probe, a VIP change, a command): at most an hour. */
const stepS = z.number().nonnegative().max(3600, 'at most 3600 s (an hour)');
const positiveStepS = z.number().positive().max(3600, 'at most 3600 s (an hour)');

const wattsSchema = z.object({
  off: amount.default(1),
  booting: amount.default(60),
  on: amount.default(45),
  restarting: amount.default(60),
  suspended: amount.default(3),
  paused: amount.default(45),
  failed: amount.default(0),
}).strict();

const serviceSchema = z.object({
  name,
  /** Service examination time when the service answers (Tse). */
  examS: positiveStepS.default(0.05),
  /** Time to (re)start the daemon. */
  restartS: distSchema.default(constant(0.15)),
}).strict();

const hostSchema = z.object({
  name,
  mac: z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'a MAC address like 00:00:00:00:00:01').optional(),
  state: z.enum(['on', 'off', 'suspended']).default('on'),
  services: z.array(serviceSchema).default([]),
  /** Server type for load-aware placement (kitamura-2018 Fig. 5b). */
  serverType: z.enum(['CPU', 'NETWORK', 'CPU_NET']).optional(),
  cores: z.number().int().positive().max(1_000_000).default(4),
  /** Hardware threads per core (2 with Hyper-Threading): the scheduler's logical CPUs are cores x this. */
  threadsPerCore: z.number().int().min(1).max(8).default(1),
  /**
   * Extra throughput of a core whose hardware threads are all busy, as a fraction of one thread
   * alone (Intel quotes up to 0.3 for Hyper-Threading). Used with threadsPerCore > 1.
   */
  smtGain: z.number().min(0).max(1).default(0),
  memMb: positiveAmount.default(8192),
  /** Memory in use by the host's own software (KB are derived). */
  memUsedMb: amount.default(1024),
  cpuBusyPct: amount.default(2),
  netBytesPerS: amount.default(0),
  /** Rated link speed, bits per second. */
  linkBps: positiveAmount.default(1e9),
  bootS: distSchema.default(constant(60)),
  restartS: distSchema.default(constant(60)),
  suspendS: distSchema.default(constant(5)),
  resumeS: distSchema.default(constant(5)),
  watts: wattsSchema.default(() => wattsSchema.parse({})),
  /**
   * How long the host has been up at the run's start (s; a host that is on only): its uptime, as
   * a Navigator depot reports it, counts from that much before 0. A sim paired with a live run
   * replays the lab's PCs' uptimes (`hatwin conform`). Absent: booted at 0.
   */
  uptimeS: z.number().min(0).max(10 * 365 * 86400).optional(),
}).strict();

const vmSchema = z.object({
  name,
  /** The host the VM is defined on at start (null/absent: image on the shared file server only). */
  host: name.nullable().default(null),
  state: z.enum(['defined', 'running', 'suspended']).default('suspended'),
  services: z.array(serviceSchema).default([]),
  memMb: positiveAmount.default(2048),
  cpuPct: amount.default(5),
  /** Cold start from power-off. */
  startS: distSchema.default(constant(42.84)),
  /** Activation of a suspended VM (Tv). */
  resumeS: distSchema.default(constant(4.67)),
  suspendS: distSchema.default(constant(2)),
  destroyS: distSchema.default(constant(1)),
  fileServer: name.default('file1'),
  /** Start once the VM's image is in the host's disk cache (a later start on the same host; kitamura-2019 Table 4). Absent: every start takes startS. */
  startCachedS: distSchema.optional(),
  /** A reboot inside the running guest (fault vm-reboot). Absent: startCachedS, else startS. */
  restartS: distSchema.optional(),
  /** Live migration as one operation of this duration (the VM keeps running). Absent: migrate = suspend + resume. */
  migrateS: distSchema.optional(),
  /** Virtual CPUs, as sampled inside the VM (absent: 1). */
  cores: z.number().int().positive().max(1024).optional(),
}).strict();

const vipSchema = z.object({
  name,
  address: z.string().optional(),
  service: name,
  holder: name.nullable().default(null),
  /**
   * Load-balanced: the VIP is held by a director (a VRRP master) and each access goes to a real
   * server of this pool, chosen by IPVS weighted round robin (the `lbcluster` policy keeps the
   * pool). Absent: the VIP's holder serves it itself.
   */
  pool: name.optional(),
  /**
   * IPVS persistence_timeout of a load-balanced VIP: a client that came back within this long of
   * its last access goes to the real server it had, while that server is in the pool (even at
   * weight 0, as IPVS does by default). 0 (default): each access is scheduled afresh.
   */
  persistence: durationUs.default(0),
}).strict().refine((v) => v.persistence === 0 || v.pool !== undefined, { message: 'persistence applies to a load-balanced VIP (one with a pool)', path: ['persistence'] });

const clientSchema = z.object({
  name,
  vip: name,
  intervalS: z.number().min(0.001, 'at least 0.001 s (1 ms)').max(MAX_TIME_S).default(1),
  /** Offset of the access grid in seconds, or "random" (drawn once per run from the client's stream). */
  phaseS: z.union([seconds, z.literal('random')]).default(0),
}).strict();

const loadSchema = z.object({
  host: name,
  start: durationUs.default(0),
  end: durationUs.optional(),
  cpuPct: amount.default(0),
  memMb: amount.default(0),
  netBytesPerS: amount.default(0),
}).strict();

/** Load inside a VM (what `free`/`sar`/`tcpdump` read in the guest), from start to end. */
const vmLoadSchema = z.object({
  vm: name,
  start: durationUs.default(0),
  end: durationUs.optional(),
  cpuPct: amount.default(0),
  memMb: amount.default(0),
  netBytesPerS: amount.default(0),
  /** Client requests per second reaching the VM. */
  accessesPerS: amount.default(0),
}).strict();

const faultTime = z.union([durationUs, z.object({ dist: distSchema }).strict()], {
  error: 'expected a time: seconds (a number), a string like "65s", or {dist: <distribution>}',
});

const faultBase = { at: faultTime, duration: durationUs.optional() };

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('St1'), target: name, service: name.optional(), ...faultBase }).strict(),
  /** mode freeze: the daemon hangs (SIGSTOP); mode stop: it is down and a restart of the daemon fails (how kitamura-2018 §4.3 reproduced St2). Either way only a server restart cures it. */
  z.object({ kind: z.literal('St2'), target: name, service: name.optional(), mode: z.enum(['freeze', 'stop']).default('freeze'), ...faultBase }).strict(),
  z.object({ kind: z.literal('Nt1'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('Nt2'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('host-restart'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('host-shutdown'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('host-fail'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('pause'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('link-down'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('vm-crash'), target: name, ...faultBase }).strict(),
  /** A guest reboot (kitamura-2019 Table 5, "restart of M1"): down for the VM's restartS, then up with its daemons afresh. */
  z.object({ kind: z.literal('vm-reboot'), target: name, ...faultBase }).strict(),
  z.object({ kind: z.literal('partition'), a: z.array(name).min(1), b: z.array(name).min(1), oneWay: z.boolean().default(false), ...faultBase }).strict(),
]);
export type FaultSpec = z.infer<typeof faultSchema>;
export type FaultKind = FaultSpec['kind'];

/** What each fault kind acts on. */
export const FAULT_TARGETS: Record<FaultKind, 'host' | 'vm' | 'service' | 'nodes'> = {
  St1: 'service', St2: 'service',
  Nt1: 'host', Nt2: 'host', 'host-restart': 'host', 'host-shutdown': 'host', 'host-fail': 'host', pause: 'host', 'link-down': 'host',
  'vm-crash': 'vm', 'vm-reboot': 'vm',
  partition: 'nodes',
};
/** The fault kinds that a `duration` heals; the others take none. */
export const HEALED_FAULTS: ReadonlySet<FaultKind> = new Set(['pause', 'link-down', 'partition']);

export const policySchema = z.object({ kind: name }).passthrough();

/**
 * PCs that their users switch on and off (wong-2014's teaching lab): each day, each PC gets a
 * number of sessions drawn uniformly from 0..2*sessionsPerDay, each starting uniformly in
 * [openAt, closeAt) and lasting `session` seconds; the PC is on while a session covers it (a
 * boot first) and every PC goes off at closeAt. A PC on when the run starts has a first session
 * from openAt. Day d's times are d days after the start. `kind: lab` is the default.
 */
const labChurnSchema = z.object({
  kind: z.literal('lab'),
  hosts: z.array(name).min(1),
  days: z.number().int().positive().max(366).default(1),
  openAt: durationUs.default(0),
  closeAt: durationUs.default(36_000_000_000),
  sessionsPerDay: z.number().nonnegative().max(100).default(2),
  session: distSchema.default({ kind: 'uniform', min: 2700, max: 14_400 }),
}).strict().refine((c) => c.closeAt > c.openAt && c.closeAt <= 86_400_000_000, { message: 'closeAt must be after openAt and within the day', path: ['closeAt'] });

/** No up or down period of a renewal churn is shorter than this (so time always moves). */
export const CHURN_MIN_PERIOD_S = 1;

/**
 * Each PC alternates between up periods drawn from `up` and down periods drawn from `down`
 * (seconds; an alternating renewal process, the model the Failure Trace Archive fits to desktop
 * availability traces, usually Weibull), independently of the others, until the run ends. A PC
 * on at the start begins with an up period, one off with a down period. Every period lasts at
 * least CHURN_MIN_PERIOD_S.
 */
const renewalChurnSchema = z.object({
  kind: z.literal('renewal'),
  hosts: z.array(name).min(1),
  up: distSchema,
  down: distSchema,
}).strict();

/** One row of an availability trace: `node` unavailable (or available) over [start, stop) s. */
export const traceEventSchema = z.object({
  node: z.string().min(1).max(200),
  available: z.boolean(),
  /** Seconds (the trace's own clock, e.g. Unix epoch seconds). */
  start: z.number().nonnegative(),
  stop: z.number().nonnegative(),
}).strict();
export type TraceChurnEvent = z.infer<typeof traceEventSchema>;

/**
 * PCs replay an availability trace in the Failure Trace Archive's `event_trace.tab` format
 * (`file`, relative to the scenario file; the loader reads it into `events`): hosts[i] follows
 * the trace's node nodes[i] (default: the trace's node names in code-unit order). Time 0 of the
 * run is the trace's `origin` (default: its earliest start). At each row's start the PC becomes
 * (un)available as the row says, at its stop the opposite; before its first row a PC keeps the
 * state the scenario gives it.
 */
const traceChurnSchema = z.object({
  kind: z.literal('trace'),
  hosts: z.array(name).min(1),
  file: z.string().min(1).optional(),
  nodes: z.array(z.string().min(1).max(200)).optional(),
  origin: z.number().nonnegative().optional(),
  events: z.array(traceEventSchema).max(1_000_000).optional(),
}).strict().refine((c) => c.file !== undefined || c.events !== undefined, { message: 'give the trace as file (an event_trace.tab) or events', path: ['file'] })
  .refine((c) => c.nodes === undefined || c.nodes.length === c.hosts.length, { message: 'nodes must list one trace node per host', path: ['nodes'] });

/** Churn: lab sessions (the default kind), a renewal process per PC, or a replayed trace. */
export const churnSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'lab' } : v),
  z.discriminatedUnion('kind', [labChurnSchema, renewalChurnSchema, traceChurnSchema]),
);
export type ChurnSpec = z.infer<typeof churnSchema>;

/** The store's node when the scenario does not place it. */
export const DEFAULT_STORE_NODE = 'store';
/** The store's node and call timeout (µs) of a scenario. */
export const storeOf = (s: { store?: { node: string; timeoutS: number } }): { node: string; timeoutUs: number; placed: boolean } =>
  ({ node: s.store?.node ?? DEFAULT_STORE_NODE, timeoutUs: Math.round((s.store?.timeoutS ?? 1) * US_PER_S), placed: s.store !== undefined });

const networkDefaults = { latencyS: 0.0005, examS: 0.01, vipSetS: 0.1, commandS: 0.05 };

export const scenarioShape = {
  name: name.optional(),
  description: z.string().optional(),
  seed: z.number().int().optional(),
  until: durationUs.optional(),
  network: z.object({
    /** One-way delay of a management message on the server LAN. */
    latencyS: stepS.default(0.0005),
    /** Network examination (ping) time when the target answers (kitamura-2018 Table 3: 0.01 s). */
    examS: positiveStepS.default(0.01),
    /** Time to set or remove a VIP, gratuitous ARP included. */
    vipSetS: stepS.default(0.1),
    /** Time of a remote command (daemon restart request, shutdown) to reach its host. */
    commandS: stepS.default(0.05),
    // What a live lab spends time on beyond the steps above, as `hatwin calibrate` measured it
    // (distributions of the samples). Absent: the step above alone (the paper experiments).
    /** A management message to a peer it cannot reach fails after this (the messenger's timeout). */
    messageTimeoutS: distSchema.optional(),
    /** Setting a VIP in a real host (over a kept SSH connection: ip addr, gratuitous ARP), instead of vipSetS. */
    hostVipSetS: distSchema.optional(),
    /**
     * Of a VIP set in a real host, the part until the address is on its interface (`ip addr add`):
     * the holder serves from then; the rest of hostVipSetS is the gratuitous ARP the set waits
     * for. Absent: the holder serves when the whole set is done.
     */
    hostVipAddS: distSchema.optional(),
    /** Removing a VIP from a real host, instead of vipSetS (default: hostVipSetS). */
    hostVipRemoveS: distSchema.optional(),
    /** Setting a VIP in a guest (guest-agent calls), instead of vipSetS. */
    guestVipSetS: distSchema.optional(),
    /** Removing a VIP from a guest, instead of vipSetS (default: guestVipSetS). */
    guestVipRemoveS: distSchema.optional(),
    /**
     * Of a VIP set in a guest, the part until a client is served by it: the address added and
     * its gratuitous ARP sent (the guest agent's status polls for the ARP come after, and the set
     * returns then). Absent: served when the whole set is done.
     */
    guestVipServedS: distSchema.optional(),
    /**
     * Of a VIP removal from a guest, the part until the address is gone (`ip addr del` launched;
     * a status poll for its end comes after). Absent: gone when the whole removal is done.
     */
    guestVipGoneS: distSchema.optional(),
    /**
     * The Power port's suspend returns once the host took the request, and the host suspends
     * meanwhile (its suspendS from then), as a real `systemctl suspend` and the lab's supervisor
     * reply first. Absent: the call returns once the host is suspended.
     */
    powerReplyFirst: z.boolean().optional(),
    /**
     * The Hypervisor port's start of a VM that is off returns once the VM is launched, and the
     * guest boots meanwhile (its startS from then), as `virsh create` returns once qemu runs.
     * Absent: the call returns once the VM is running.
     */
    vmStartReplyFirst: z.boolean().optional(),
    /**
     * A woken server's answer after it is on: the Power port's resume returns that much later
     * (live waits for a command over a new SSH connection). Absent: when it is on.
     */
    resumeAnswerS: distSchema.optional(),
    /**
     * The fixed cost of a Hypervisor port call (a VM started, suspended, resumed, destroyed or
     * moved) before the VM's own time (its startS, suspendS, resumeS), instead of commandS. A
     * calibrated PSS lab sets 0: its VMs' resumeS and suspendS are then the whole call as measured.
     * Absent: commandS.
     */
    hypervisorCallS: stepS.optional(),
    /**
     * A Hypervisor call (a VM started, resumed or moved) on a host the agent cannot reach fails
     * after this long, a remote hypervisor's connection to the host timing out (live: the lab's
     * gate on the path to the host). Absent: it fails at once, after the call's own cost.
     */
    hypervisorUnreachableS: distSchema.optional(),
    /** Opening an SSH connection: paid by a command to a host the agent holds no connection to (first use, or the host rebooted since). */
    sshConnectS: distSchema.optional(),
    /**
     * An SSH command (a VIP set or removed in a host, a service command, a power command, a
     * depot call) to a host that is up but cut off from the agent waits as live's SSH client
     * does instead of failing at once: over a kept connection TCP retransmits it after rtoMinS
     * (Linux's TCP_RTO_MIN on a LAN), doubling each time, and it goes through at the first
     * retransmission that finds the path open, else fails as a timeout at commandTimeoutS (the
     * client's command timeout); a new connection's SYN is sent again every second and the
     * command fails at connectTimeoutS (the client's connect timeout) when none gets through.
     * With queryTimeoutS (the VIP holders query's timeout), an agent that reads VIP holders
     * over SSH loses its kept connection to a host cut off that long after the cut (the query
     * there times out and the client drops the connection). Absent: such a command fails at
     * once, as unreachable.
     */
    sshRetransmit: z.object({
      rtoMinS: z.number().positive().max(60),
      commandTimeoutS: z.number().positive().max(3600),
      connectTimeoutS: z.number().positive().max(3600),
      queryTimeoutS: z.number().positive().max(3600).optional(),
    }).strict().optional(),
    /** A host's agent starting up (process, modules, ports) before its programs run, at the run's start and after each boot. */
    agentStartS: distSchema.optional(),
    /**
     * The start-ups one live run measured, per host, in order (seconds: the first from the run's
     * start, each later one from its host's boot): a sim replication paired with that run
     * replays them (`hatwin conform`); a start beyond its host's list draws agentStartS.
     */
    agentStartsS: z.record(z.string(), z.array(z.number().min(0).max(3600))).optional(),
    /**
     * Each VM's starts as a live run took them, in order (s, the start call until the guest is
     * ready): a paired replication replays them (`hatwin conform`); a start beyond a VM's list
     * takes its startS (or startCachedS).
     */
    vmStartsS: z.record(z.string(), z.array(z.number().min(0).max(3600))).optional(),
    /**
     * The machine's response times one live run measured, per series of calls, in order (seconds;
     * `{ failedS }` where live's call failed after that time): `examine/<target>` a DBSS's
     * examination rounds of its target (wake-up to verdict), `sample/<vm>` the PSS's load samples
     * of a guest, `accesses/<vm>` its access counts. A sim replication paired with that run
     * (`hatwin conform`) gives the k-th call of a series the k-th time when both worlds' calls
     * succeed; an examination round that failed live lasts its time and examines the sim's world
     * at its end; otherwise, and past the list, the sim's own time.
     */
    responsesS: z.record(z.string(), z.array(z.union([z.number().min(0).max(3600), z.object({ failedS: z.number().min(0).max(3600) }).strict()]))).optional(),
    /** A command in a guest through its guest agent (a service started, stopped or restarted in a VM), instead of commandS. */
    guestCommandS: distSchema.optional(),
    /** A service started in a guest through its agent (a start returns sooner than a stop, which waits for the daemon to go), instead of guestCommandS. */
    guestStartS: distSchema.optional(),
    /** A load balancer's pool changed (a real server added, removed or reweighted: one `nft -f` on the director), instead of latencyS. */
    poolWriteS: distSchema.optional(),
  }).strict().default(networkDefaults),
  contention: z.object({
    /**
     * Fraction of a VM operation's time spent moving its image to or from the file server (the
     * rest is CPU work on the host). Concurrent operations share the file server's bandwidth and
     * the host's cores (see README, Contention). 0: no file-server sharing.
     */
    ioFraction: z.number().min(0).max(1).default(0),
  }).strict().default({ ioFraction: 0 }),
  /**
   * Where the management store (the papers' shared files; etcd live) sits on the network. A host
   * cut off from it (its link down, a partition naming it, the host it lives on down) cannot read
   * or write: each call fails as unreachable after `timeoutS`. Absent: a node "store" of its own
   * that is always up and that only a partition naming it cuts off (a host whose own link is down
   * still reaches it: the papers' shared files as the simulator had them before the store was a
   * node, so every scenario written before keeps its behaviour).
   */
  store: z.object({
    /** A host's name (the store runs there and goes down with it) or a name of its own. */
    node: name.default(DEFAULT_STORE_NODE),
    /** How long a call from a host cut off from the store takes to fail (a client's deadline). */
    timeoutS: positiveStepS.default(1),
  }).strict().optional(),
  hosts: z.array(hostSchema).min(1),
  vms: z.array(vmSchema).default([]),
  vips: z.array(vipSchema).default([]),
  clients: z.array(clientSchema).default([]),
  load: z.array(loadSchema).default([]),
  /** Load inside VMs (optional; kitamura-2019's per-VM sampling). */
  vmLoad: z.array(vmLoadSchema).optional(),
  /** Requests per second the load balancer's monitoring program sends to each VIP holder (kitamura-2019 Fig. 6(c) k). */
  lbMonitorPerS: amount.optional(),
  faults: z.array(faultSchema).default([]),
  /** Users switching PCs on and off (churnSchema). */
  churn: churnSchema.optional(),
  policies: z.array(policySchema).default([]),
  params: z.record(z.string(), z.unknown()).default({}),
};

const scenarioObject = z.object(scenarioShape).strict();

export type Scenario = z.infer<typeof scenarioObject>;
export type HostSpec = z.infer<typeof hostSchema>;
export type VmSpec = z.infer<typeof vmSchema>;
export type ServiceSpec = z.infer<typeof serviceSchema>;
export type VipSpec = z.infer<typeof vipSchema>;
export type ClientSpec = z.infer<typeof clientSchema>;
export type LoadSpec = z.infer<typeof loadSchema>;

export interface PathProblem {
  path: (string | number)[];
  message: string;
}

const fmtS = (us: number): string => `${+(us / US_PER_S).toPrecision(6)}s`;
const list = (xs: Iterable<string>): string => [...xs].join(', ') || 'none';

/**
 * Cross-reference problems of a scenario: names it uses that it does not declare, names declared
 * twice, faults aimed at the wrong kind of thing, times outside the run, and so on. `invalid`
 * names hosts, VMs, VIPs and clients that the file declares but whose entry is itself invalid
 * (the loader's salvage): they count as declared, and checks of their details are skipped.
 */
export function scenarioProblems(s: Scenario, invalid: ReadonlySet<string> = new Set()): PathProblem[] {
  const out: PathProblem[] = [];
  const add = (path: (string | number)[], message: string) => out.push({ path, message });
  const hosts = new Map(s.hosts.map((h) => [h.name, h]));
  const vms = new Map(s.vms.map((v) => [v.name, v]));
  const clients = new Set(s.clients.map((c) => c.name));

  // One namespace for hosts and VMs; clients may be named in partitions, so they need names of their own.
  const nodes = new Set<string>();
  const dup = (n: string, path: (string | number)[]) => {
    if (nodes.has(n)) add(path, `name "${n}" is used twice (hosts and VMs share one namespace)`);
    nodes.add(n);
  };
  s.hosts.forEach((h, i) => dup(h.name, ['hosts', i, 'name']));
  s.vms.forEach((v, i) => dup(v.name, ['vms', i, 'name']));
  const seenClients = new Set<string>();
  s.clients.forEach((c, i) => {
    if (nodes.has(c.name)) add(['clients', i, 'name'], `name "${c.name}" is a host or VM already (partitions name hosts, VMs and clients alike)`);
    else if (seenClients.has(c.name)) add(['clients', i, 'name'], `client "${c.name}" is declared twice`);
    seenClients.add(c.name);
  });
  // The store: on a host, or a node of its own (then no VM or client may take its name).
  const storeNode = storeOf(s).node;
  if (vms.has(storeNode)) add(s.store ? ['store', 'node'] : ['vms'], `the store's node "${storeNode}" is a VM (the store runs on a host or on a node of its own)`);
  if (clients.has(storeNode)) add(s.store ? ['store', 'node'] : ['clients'], `the store's node "${storeNode}" is a client's name${s.store ? '' : ' (the store is a node "store" unless store.node names another)'}`);
  const seenVips = new Set<string>();
  s.vips.forEach((v, i) => {
    if (seenVips.has(v.name)) add(['vips', i, 'name'], `VIP "${v.name}" is declared twice`);
    seenVips.add(v.name);
  });
  const servicesOf = (n: string): string[] => (hosts.get(n) ?? vms.get(n))?.services.map((x) => x.name) ?? [];
  for (const [section, items] of [['hosts', s.hosts], ['vms', s.vms]] as const) {
    items.forEach((h, i) => {
      const seen = new Set<string>();
      h.services.forEach((x, j) => {
        if (seen.has(x.name)) add([section, i, 'services', j, 'name'], `service "${x.name}" is declared twice on "${h.name}"`);
        seen.add(x.name);
      });
    });
  }

  s.hosts.forEach((h, i) => {
    if (h.uptimeS !== undefined && h.state !== 'on') add(['hosts', i, 'uptimeS'], `host "${h.name}" is ${h.state} at the start: only a host that is on has an uptime`);
  });

  s.vms.forEach((v, i) => {
    if (invalid.has(v.name)) return;
    if (v.host !== null && !hosts.has(v.host)) {
      add(['vms', i, 'host'], vms.has(v.host) ? `"${v.host}" is a VM, not a host` : `no host "${v.host}" (hosts: ${list(hosts.keys())})`);
    }
    if (v.state === 'running' && v.host === null) add(['vms', i, 'state'], `a running VM needs a host (give "host")`);
  });

  s.vips.forEach((v, i) => {
    if (invalid.has(v.name) || v.holder === null) return;
    if (!nodes.has(v.holder)) add(['vips', i, 'holder'], `no host or VM "${v.holder}"`);
    else if (v.pool === undefined && !invalid.has(v.holder) && !servicesOf(v.holder).includes(v.service)) {
      add(['vips', i, 'holder'], `"${v.holder}" does not run "${v.service}", the service of VIP "${v.name}" (its services: ${list(servicesOf(v.holder))})`);
    }
  });
  const vipNames = new Set(s.vips.map((v) => v.name));
  s.clients.forEach((c, i) => {
    if (!invalid.has(c.name) && !vipNames.has(c.vip)) add(['clients', i, 'vip'], `no VIP "${c.vip}" (VIPs: ${list(vipNames)})`);
  });

  s.load.forEach((l, i) => {
    if (!hosts.has(l.host)) add(['load', i, 'host'], vms.has(l.host) ? `"${l.host}" is a VM: load applies to hosts` : `no host "${l.host}"`);
    if (l.end !== undefined && l.end < l.start) add(['load', i, 'end'], `end (${fmtS(l.end)}) is before start (${fmtS(l.start)})`);
  });

  (s.vmLoad ?? []).forEach((l, i) => {
    if (!vms.has(l.vm)) add(['vmLoad', i, 'vm'], `no VM "${l.vm}"`);
    if (l.end !== undefined && l.end < l.start) add(['vmLoad', i, 'end'], `end (${fmtS(l.end)}) is before start (${fmtS(l.start)})`);
  });

  s.churn?.hosts.forEach((h, i) => {
    if (!hosts.has(h)) add(['churn', 'hosts', i], `no host "${h}"`);
  });
  if (s.churn?.kind === 'trace' && s.churn.events !== undefined) {
    const c = s.churn;
    const known = traceNodes(c.events!);
    if (c.nodes === undefined && known.length < c.hosts.length) add(['churn', 'events'], `the trace has ${known.length} nodes, fewer than the ${c.hosts.length} hosts churn.hosts lists`);
    const has = new Set(known);
    c.nodes?.forEach((n, i) => {
      if (!has.has(n)) add(['churn', 'nodes', i], `the trace has no rows for node "${n}"`);
    });
    c.events!.forEach((e, i) => {
      if (e.stop < e.start) add(['churn', 'events', i, 'stop'], `stop ${e.stop} is before start ${e.start}`);
    });
  }
  s.faults.forEach((f, i) => {
    const at = ['faults', i] as (string | number)[];
    const wants = FAULT_TARGETS[f.kind];
    if (f.kind === 'partition') {
      const sides = { a: new Set(f.a), b: new Set(f.b) };
      for (const [side, names] of [['a', f.a], ['b', f.b]] as const) names.forEach((n, j) => {
        if (!nodes.has(n) && !clients.has(n) && n !== storeNode) add([...at, side, j], `no host, VM or client "${n}"`);
      });
      f.b.forEach((n, j) => {
        if (sides.a.has(n)) add([...at, 'b', j], `"${n}" is on both sides of the partition`);
      });
    } else {
      const t = f.target;
      const kindOf = hosts.has(t) ? 'host' : vms.has(t) ? 'VM' : null;
      if (kindOf === null) add([...at, 'target'], `no host or VM "${t}"`);
      else if (wants === 'host' && kindOf !== 'host') add([...at, 'target'], `${f.kind} needs a host; "${t}" is a VM (a VM fault is vm-crash)`);
      else if (wants === 'vm' && kindOf !== 'VM') add([...at, 'target'], `${f.kind} needs a VM; "${t}" is a host (host faults: Nt1, Nt2, host-restart, host-shutdown, host-fail, pause, link-down)`);
      else if (wants === 'service' && !invalid.has(t)) {
        const svcs = servicesOf(t);
        const service = 'service' in f ? f.service : undefined;
        if (service !== undefined && !svcs.includes(service)) add([...at, 'service'], `"${t}" does not run "${service}" (its services: ${list(svcs)})`);
        else if (service === undefined && svcs.length === 0) add([...at, 'target'], `${f.kind} stops a service, and "${t}" runs none`);
      }
    }
    if (f.duration !== undefined && !HEALED_FAULTS.has(f.kind)) {
      add([...at, 'duration'], `${f.kind} takes no duration (only ${[...HEALED_FAULTS].join(', ')} heal after one)`);
    }
    if (s.until !== undefined) {
      const earliest = typeof f.at === 'number' ? f.at : Math.round(distRange(f.at.dist as Dist).lo * US_PER_S);
      // (A distribution out of range is reported by its own check; here only times that are.)
      if (earliest > s.until && earliest <= MAX_TIME_US) {
        add([...at, 'at'], `${typeof f.at === 'number' ? `at ${fmtS(f.at)}` : `the earliest time of its distribution (${fmtS(earliest)})`} is after until (${fmtS(s.until)}): the fault would never happen`);
      }
    }
  });
  return out;
}

export const scenarioSchema = scenarioObject.superRefine((s, ctx) => {
  for (const p of scenarioProblems(s)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
});

// ---------- salvage: what can be checked of an invalid file ----------

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const rawName = (x: unknown): string | null => (isObj(x) && typeof x.name === 'string' && x.name.length > 0 ? x.name : null);

/**
 * The parts of an invalid scenario that parse, for cross-reference and policy checks in the same
 * pass as the schema's own problems: every top-level field that parses, every entry of a list
 * that parses, and for a host, VM, VIP or client whose entry does not, a stand-in with its
 * declared name (listed in `invalid`, so that its details are not checked).
 */
export function salvageScenario(raw: unknown): { scenario: Scenario; invalid: Set<string>; rawPath: (path: (string | number)[]) => (string | number)[] } {
  const obj = isObj(raw) ? raw : {};
  const invalid = new Set<string>();
  /** For each list, the index in the file of each entry kept. */
  const kept = new Map<string, number[]>();
  const one = <T>(schema: z.ZodType<T>, value: unknown, fallback: T): T => {
    const r = schema.safeParse(value);
    return r.success ? r.data : fallback;
  };
  const many = <T>(key: string, schema: z.ZodType<T>, stub?: (x: unknown) => T | null): T[] => {
    const xs = obj[key];
    if (!Array.isArray(xs)) return [];
    const out: T[] = [];
    const at: number[] = [];
    xs.forEach((x, i) => {
      const r = schema.safeParse(x);
      const item = r.success ? r.data : stub?.(x);
      if (item) {
        out.push(item);
        at.push(i);
      }
    });
    kept.set(key, at);
    return out;
  };
  const services = (x: unknown): ServiceSpec[] => {
    const xs = isObj(x) && Array.isArray(x.services) ? x.services : [];
    return xs.flatMap((el): ServiceSpec[] => {
      const r = serviceSchema.safeParse(el);
      if (r.success) return [r.data];
      const n = rawName(el);
      return n ? [{ ...serviceSchema.parse({ name: 'x' }), name: n }] : [];
    });
  };
  const stubbed = <T>(make: (n: string) => T) => (x: unknown): T | null => {
    const n = rawName(x);
    if (n === null) return null;
    invalid.add(n);
    return make(n);
  };
  const str = (x: unknown, key: string): string => (isObj(x) && typeof x[key] === 'string' ? x[key] as string : '');
  const scenario: Scenario = {
    name: one(scenarioShape.name, obj.name, undefined),
    description: one(scenarioShape.description, obj.description, undefined),
    seed: one(scenarioShape.seed, obj.seed, undefined),
    until: one(scenarioShape.until, obj.until, undefined),
    network: one(scenarioShape.network, obj.network, networkDefaults),
    contention: one(scenarioShape.contention, obj.contention, { ioFraction: 0 }),
    store: one(scenarioShape.store, obj.store, undefined),
    hosts: many('hosts', hostSchema, stubbed((n) => ({ ...hostSchema.parse({ name: 'x' }), name: n, services: [] as ServiceSpec[] }))),
    vms: many('vms', vmSchema, stubbed((n) => ({ ...vmSchema.parse({ name: 'x' }), name: n, services: [] as ServiceSpec[] }))),
    vips: many('vips', vipSchema, stubbed((n) => ({ name: n, service: '', holder: null as string | null, persistence: 0 }))),
    clients: many('clients', clientSchema, stubbed((n) => ({ name: n, vip: '', intervalS: 1, phaseS: 0 }))),
    load: many('load', loadSchema),
    faults: many('faults', faultSchema),
    churn: one(scenarioShape.churn, obj.churn, undefined),
    policies: many('policies', policySchema),
    params: {},
  };
  // Stand-ins keep the services the file names for them (a policy check reads them).
  const rawOf = (key: string, n: string) => (Array.isArray(obj[key]) ? (obj[key] as unknown[]).find((x) => rawName(x) === n) : undefined);
  for (const h of scenario.hosts) if (invalid.has(h.name)) h.services = services(rawOf('hosts', h.name));
  for (const v of scenario.vms) if (invalid.has(v.name)) v.services = services(rawOf('vms', v.name));
  for (const v of scenario.vips) {
    if (!invalid.has(v.name)) continue;
    v.service = str(rawOf('vips', v.name), 'service');
    v.holder = str(rawOf('vips', v.name), 'holder') || null;
  }
  const rawPath = (path: (string | number)[]): (string | number)[] => {
    const at = kept.get(String(path[0]));
    if (!at || typeof path[1] !== 'number' || at[path[1]] === undefined) return path;
    return [path[0], at[path[1]], ...path.slice(2)];
  };
  return { scenario, invalid, rawPath };
}

export { DIST_EXPECTED };
