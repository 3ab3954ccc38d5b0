// Scenario files: the world (hosts, VMs, services, VIPs, clients, load), the faults, the policies
// and their parameters. Validated with zod; durations are seconds (a number) or strings like
// "250ms", "10s", "5m"; random durations are distributions in seconds.
import { z } from 'zod';

import { distSchema, durationUs, name, type DistSpec } from './units.ts';

export { distSchema, durationUs, name, type DistSpec };
const constant = (value: number): DistSpec => ({ kind: 'constant', value });

const wattsSchema = z.object({
  off: z.number().nonnegative().default(1),
  booting: z.number().nonnegative().default(60),
  on: z.number().nonnegative().default(45),
  restarting: z.number().nonnegative().default(60),
  suspended: z.number().nonnegative().default(3),
  paused: z.number().nonnegative().default(45),
  failed: z.number().nonnegative().default(0),
}).strict();

const serviceSchema = z.object({
  name,
  /** Service examination time when the service answers (Tse). */
  examS: z.number().positive().default(0.05),
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
  cores: z.number().int().positive().default(4),
  memMb: z.number().positive().default(8192),
  /** Memory in use by the host's own software (KB are derived). */
  memUsedMb: z.number().nonnegative().default(1024),
  cpuBusyPct: z.number().min(0).default(2),
  netBytesPerS: z.number().nonnegative().default(0),
  /** Rated link speed, bits per second. */
  linkBps: z.number().positive().default(1e9),
  bootS: distSchema.default(constant(60)),
  restartS: distSchema.default(constant(60)),
  suspendS: distSchema.default(constant(5)),
  resumeS: distSchema.default(constant(5)),
  watts: wattsSchema.default(() => wattsSchema.parse({})),
}).strict();

const vmSchema = z.object({
  name,
  /** The host the VM is defined on at start (null/absent: image on the shared file server only). */
  host: name.nullable().default(null),
  state: z.enum(['defined', 'running', 'suspended']).default('suspended'),
  services: z.array(serviceSchema).default([]),
  memMb: z.number().positive().default(2048),
  cpuPct: z.number().min(0).default(5),
  /** Cold start from power-off. */
  startS: distSchema.default(constant(42.84)),
  /** Activation of a suspended VM (Tv). */
  resumeS: distSchema.default(constant(4.67)),
  suspendS: distSchema.default(constant(2)),
  destroyS: distSchema.default(constant(1)),
  fileServer: name.default('file1'),
}).strict();

const vipSchema = z.object({
  name,
  address: z.string().optional(),
  service: name,
  holder: name.nullable().default(null),
}).strict();

const clientSchema = z.object({
  name,
  vip: name,
  intervalS: z.number().positive().default(1),
  /** Offset of the access grid in seconds, or "random" (drawn once per run from the client's stream). */
  phaseS: z.union([z.number().nonnegative(), z.literal('random')]).default(0),
}).strict();

const loadSchema = z.object({
  host: name,
  start: durationUs.default(0),
  end: durationUs.optional(),
  cpuPct: z.number().min(0).default(0),
  memMb: z.number().min(0).default(0),
  netBytesPerS: z.number().min(0).default(0),
}).strict();

const faultTime = z.union([durationUs, z.object({ dist: distSchema }).strict()]);

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
  z.object({ kind: z.literal('partition'), a: z.array(name).min(1), b: z.array(name).min(1), oneWay: z.boolean().default(false), ...faultBase }).strict(),
]);
export type FaultSpec = z.infer<typeof faultSchema>;

export const policySchema = z.object({ kind: name }).passthrough();

export const scenarioSchema = z.object({
  name: name.optional(),
  description: z.string().optional(),
  seed: z.number().int().optional(),
  until: durationUs.optional(),
  network: z.object({
    /** One-way delay of a management message on the server LAN. */
    latencyS: z.number().nonnegative().default(0.0005),
    /** Network examination (ping) time when the target answers (kitamura-2018 Table 3: 0.01 s). */
    examS: z.number().positive().default(0.01),
    /** Time to set or remove a VIP, gratuitous ARP included. */
    vipSetS: z.number().nonnegative().default(0.1),
    /** Time of a remote command (daemon restart request, shutdown) to reach its host. */
    commandS: z.number().nonnegative().default(0.05),
  }).strict().default({ latencyS: 0.0005, examS: 0.01, vipSetS: 0.1, commandS: 0.05 }),
  contention: z.object({
    /**
     * Fraction of a VM operation's time spent moving its image to or from the file server (the
     * rest is CPU work on the host). Concurrent operations share the file server's bandwidth and
     * the host's cores (see README, Contention). 0: no file-server sharing.
     */
    ioFraction: z.number().min(0).max(1).default(0),
  }).strict().default({ ioFraction: 0 }),
  hosts: z.array(hostSchema).min(1),
  vms: z.array(vmSchema).default([]),
  vips: z.array(vipSchema).default([]),
  clients: z.array(clientSchema).default([]),
  load: z.array(loadSchema).default([]),
  faults: z.array(faultSchema).default([]),
  policies: z.array(policySchema).default([]),
  params: z.record(z.string(), z.unknown()).default({}),
}).strict().superRefine((s, ctx) => {
  const nodes = new Set<string>();
  const dup = (n: string, path: (string | number)[]) => {
    if (nodes.has(n)) ctx.addIssue({ code: 'custom', path, message: `name "${n}" is used twice (hosts and VMs share one namespace)` });
    nodes.add(n);
  };
  s.hosts.forEach((h, i) => dup(h.name, ['hosts', i, 'name']));
  s.vms.forEach((v, i) => dup(v.name, ['vms', i, 'name']));
  const hostNames = new Set(s.hosts.map((h) => h.name));
  s.vms.forEach((v, i) => {
    if (v.host !== null && !hostNames.has(v.host)) ctx.addIssue({ code: 'custom', path: ['vms', i, 'host'], message: `no host "${v.host}" (hosts: ${[...hostNames].join(', ')})` });
  });
  const vipNames = new Set(s.vips.map((v) => v.name));
  s.vips.forEach((v, i) => {
    if (v.holder !== null && !nodes.has(v.holder)) ctx.addIssue({ code: 'custom', path: ['vips', i, 'holder'], message: `no host or VM "${v.holder}"` });
  });
  s.clients.forEach((c, i) => {
    if (!vipNames.has(c.vip)) ctx.addIssue({ code: 'custom', path: ['clients', i, 'vip'], message: `no VIP "${c.vip}" (VIPs: ${[...vipNames].join(', ') || 'none'})` });
  });
  s.load.forEach((l, i) => {
    if (!hostNames.has(l.host)) ctx.addIssue({ code: 'custom', path: ['load', i, 'host'], message: `no host "${l.host}"` });
  });
  s.faults.forEach((f, i) => {
    if ('target' in f && !nodes.has(f.target)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'target'], message: `no host or VM "${f.target}"` });
    if ('a' in f) for (const [side, list] of [['a', f.a], ['b', f.b]] as const) list.forEach((n, j) => {
      if (!nodes.has(n) && !s.clients.some((c) => c.name === n)) ctx.addIssue({ code: 'custom', path: ['faults', i, side, j], message: `no host, VM or client "${n}"` });
    });
  });
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type HostSpec = z.infer<typeof hostSchema>;
export type VmSpec = z.infer<typeof vmSchema>;
export type ServiceSpec = z.infer<typeof serviceSchema>;
export type VipSpec = z.infer<typeof vipSchema>;
export type ClientSpec = z.infer<typeof clientSchema>;
export type LoadSpec = z.infer<typeof loadSchema>;
