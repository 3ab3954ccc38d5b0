// livePorts: the engine's ports for ONE agent (a managed host running `hatwin agent`), composed
// from the real adapters: prober (ping + request/reply checks), services / power / network /
// load over SSH with pinned host keys, Wake-on-LAN, the etcd store, and the HMAC messenger whose
// receiver delivers into this agent's runtime. The hypervisor (libvirt) is passed in: it lives
// in its own adapter. Everything here is configuration in, ports out; `close()` releases it all.
// Every port operation that fails rejects (or throws) a PortError: the adapters classify their
// own failures; what one lets through (the hypervisor passed in, a prober's configuration error)
// is converted at this boundary, by its Node.js error code or else as 'failed', message kept.
import { readFileSync } from 'node:fs';
import { PortError, asPortError } from '../../engine/ports/errors.ts';
import type { Hypervisor, Ports } from '../../engine/ports/index.ts';
import type { ProbeResult, ProbeSpec } from '../../engine/ports/probe.ts';
import type { AgentMessage } from '../../engine/ports/messenger.ts';
import type { TraceSink } from '../../engine/ports/trace.ts';
import { EtcdStore } from '../etcd/store.ts';
import { MessengerServer, TcpMessenger, type PeerAddress } from '../messenger/messenger.ts';
import { readHmacKey } from '../messenger/key.ts';
import { LiveNetwork, type VipDriver, type VipHolderConfig } from '../net/vip.ts';
import { LivePower, type PowerCommands } from '../power/power.ts';
import { LiveProber } from '../probe/prober.ts';
import { ServiceRegistry, type ServiceEntry, type TargetEntry } from '../probe/registry.ts';
import { SshExec, run as runOk, type Exec } from '../ssh/exec.ts';
import { NftAccessCounter, type CountedVip } from '../lb/nftcount.ts';
import { LiveLoadSampler, type LoadHostConfig } from '../ssh/load.ts';
import { assertName } from '../ssh/names.ts';
import { LiveServices, type ServiceCommands } from '../ssh/services.ts';
import type { WakeOptions } from '../wol/magic.ts';
import { LiveDepot, type LiveDepotConfig } from './depot.ts';

export interface LiveHost {
  name: string;
  address: string;
  /** How to reach it over SSH (omit for targets that are only probed). */
  ssh?: { port?: number; user: string; keyFile: string };
  mac?: string;
  /** Where VIPs go on this host. */
  vip?: VipHolderConfig;
  load?: LoadHostConfig;
  reach?: TargetEntry['reach'];
}

export interface LiveConfig {
  /** This agent's name (its host). */
  agent: string;
  /** Real servers and VMs. */
  hosts: LiveHost[];
  /** Pinned host keys: known_hosts text, or a file holding it. */
  knownHosts?: string;
  knownHostsFile?: string;
  services: ServiceEntry[];
  serviceCommands?: ServiceCommands;
  serviceOverrides?: Record<string, Partial<ServiceCommands>>;
  power: { wol: WakeOptions; commands?: PowerCommands; resumeWait?: { timeoutMs: number; pollMs?: number; resendMs?: number } };
  etcd?: { hosts: string[]; prefix: string };
  messenger?: {
    /** Shared HMAC key file (mode 600). */
    keyFile: string;
    /** Where this agent listens (its own entry in `peers` when omitted). */
    listen?: PeerAddress;
    peers: Record<string, PeerAddress>;
    maxAgeMs?: number;
  };
  timeouts?: { sshConnectMs?: number; commandMs?: number; messageMs?: number };
  /** The Service Depot (Navigator): every host's image path, this host's backup path and boot record. */
  depot?: Omit<LiveDepotConfig, 'agent'>;
  /**
   * Client accesses (`load.accesses`): the nft counters of a load balancer (adapters/lb/nftcount.ts),
   * read over SSH on `host`; each node's accesses are those of the counted VIPs it holds, by MAC.
   */
  accesses?: { host: string; table: string; vips: CountedVip[]; macs: Record<string, string>; pollMs?: number };
}

export interface LivePortsOptions {
  config: LiveConfig;
  /** The agent's runtime, for delivering received messages. */
  runtime?: { deliver(mailbox: string, msg: unknown): void };
  trace?: TraceSink;
  /** Clock for trace events (the runtime's scheduler). */
  nowUs?: () => number;
  hypervisor?: Hypervisor;
  /** VIP drivers for holders not managed over SSH (guests through their agent). */
  vipDrivers?: Record<string, VipDriver>;
  /** Out-of-band fencing of a VIP on a holder that cannot be reached (LiveNetworkOptions.fence). */
  fence?: (holder: string, vip: string) => Promise<string | null>;
  /** Ask the fence before the holder (LiveNetworkOptions.fenceFirst). */
  fenceFirst?: boolean;
  /** How to run commands on targets without SSH (guests through their agent): their load is read through it. */
  guestExec?: { targets: string[]; exec: Exec };
  onProbe?: (spec: ProbeSpec, result: ProbeResult) => void;
}

export interface LivePorts {
  ports: Partial<Ports>;
  exec: Exec;
  store: EtcdStore | null;
  messengerServer: MessengerServer | null;
  close(): Promise<void>;
}

/**
 * `port` with every method's failure as a PortError (see asPortError): a thrown error is thrown
 * converted, a rejected promise rejects converted. Everything else passes through unchanged (the
 * object stays the same instance for `instanceof`, and methods run with it as `this`).
 */
export function portErrorBoundary<T extends object>(port: T): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(port, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      let w = wrapped.get(prop);
      if (w === undefined || (w as { inner?: unknown }).inner !== v) {
        const fn = v as (...args: unknown[]) => unknown;
        const f = (...args: unknown[]): unknown => {
          let r: unknown;
          try {
            r = fn.apply(target, args);
          } catch (e) {
            throw asPortError(e);
          }
          if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
            return Promise.resolve(r as PromiseLike<unknown>).catch((e: unknown) => {
              throw asPortError(e);
            });
          }
          return r;
        };
        w = Object.assign(f, { inner: v });
        wrapped.set(prop, w);
      }
      return w;
    },
  });
}

export async function livePorts(o: LivePortsOptions): Promise<LivePorts> {
  const c = o.config;
  assertName('agent name', c.agent);
  const nowUs = o.nowUs ?? (() => 0);
  const emit = (kind: string, subject: string, data?: Record<string, unknown>) => o.trace?.emit({ t: nowUs(), kind, subject, data });
  const names = new Set<string>();
  for (const h of c.hosts) {
    assertName('host name', h.name);
    if (names.has(h.name)) throw new RangeError(`host ${h.name} is listed twice`);
    names.add(h.name);
  }

  const knownHosts = c.knownHosts ?? (c.knownHostsFile ? readFileSync(c.knownHostsFile, 'utf8') : '');
  const exec = new SshExec({
    hosts: c.hosts.filter((h) => h.ssh).map((h) => ({ name: h.name, address: h.address, port: h.ssh!.port, user: h.ssh!.user, keyFile: h.ssh!.keyFile })),
    knownHosts,
    knownHostsSource: c.knownHostsFile,
    connectTimeoutMs: c.timeouts?.sshConnectMs,
    defaultTimeoutMs: c.timeouts?.commandMs,
  });

  const guests = new Set(o.guestExec?.targets ?? []);
  const loadExec: Exec = o.guestExec ? {
    exec: (host, argv, eo) => (guests.has(host) ? o.guestExec!.exec : exec).exec(host, argv, eo),
    close: () => undefined,
  } : exec;
  let counter: NftAccessCounter | null = null;
  if (c.accesses) {
    const a = c.accesses;
    const read = async (argv: string[]) => (await runOk(exec, a.host, argv, { timeoutMs: c.timeouts?.commandMs })).stdout;
    counter = new NftAccessCounter({
      vips: a.vips,
      macs: a.macs,
      readCounters: () => read(['nft', '-j', 'list', 'counters', 'table', 'ip', a.table]),
      readNeighbours: () => read(['ip', '-j', '-4', 'neigh', 'show']),
      pollMs: a.pollMs,
    });
    counter.start();
  }
  const registry = new ServiceRegistry(c.hosts.map((h) => ({ name: h.name, address: h.address, reach: h.reach })), c.services);
  const ports: Partial<Ports> = {
    prober: new LiveProber(registry, { onProbe: o.onProbe }),
    power: new LivePower({
      exec,
      wol: c.power.wol,
      macs: Object.fromEntries(c.hosts.filter((h) => h.mac).map((h) => [h.name, h.mac!])),
      commands: c.power.commands,
      ...(c.power.resumeWait ? { resumeWait: c.power.resumeWait } : {}),
      timeoutMs: c.timeouts?.commandMs,
    }),
    network: new LiveNetwork({
      exec,
      holders: Object.fromEntries(c.hosts.filter((h) => h.vip && h.ssh).map((h) => [h.name, h.vip!])),
      drivers: o.vipDrivers,
      fence: o.fence,
      fenceFirst: o.fenceFirst,
      timeoutMs: c.timeouts?.commandMs,
      onEvent: (ev) => emit(ev.kind, ev.subject, ev.data),
    }),
    load: Object.assign(new LiveLoadSampler({ exec: loadExec, hosts: Object.fromEntries(c.hosts.filter((h) => h.load).map((h) => [h.name, h.load!])), timeoutMs: c.timeouts?.commandMs }), {
      accesses: counter ? (node: string, windowUs: number) => counter.accesses(node, windowUs) : () => Promise.reject(new PortError('failed', 'load.accesses: no load balancer counters configured (LiveConfig.accesses)')),
    }),
    // The Navigator policy's Service Depot: image copies by SFTP, uptime from the boot record.
    depot: c.depot ? new LiveDepot({ agent: c.agent, ...c.depot }, exec) : {
      copyImage: () => Promise.reject(new PortError('failed', `depot: no depot configured for ${c.agent} (the lab gives no image paths)`)),
      uptime: () => Promise.reject(new PortError('failed', `depot: no depot configured for ${c.agent} (the lab gives no boot record)`)),
      recordSample: () => Promise.reject(new PortError('failed', `depot: no depot configured for ${c.agent} (the lab gives no database path)`)),
      syncDatabase: () => Promise.reject(new PortError('failed', `depot: no depot configured for ${c.agent} (the lab gives no database path)`)),
      restoreDatabase: () => Promise.reject(new PortError('failed', `depot: no depot configured for ${c.agent} (the lab gives no database path)`)),
    },
  };
  if (c.serviceCommands) {
    ports.services = new LiveServices({ exec, commands: c.serviceCommands, overrides: c.serviceOverrides, timeoutMs: c.timeouts?.commandMs });
  }
  if (o.hypervisor) ports.hypervisor = o.hypervisor;

  let store: EtcdStore | null = null;
  if (c.etcd) {
    store = new EtcdStore({ hosts: c.etcd.hosts, prefix: c.etcd.prefix, agent: c.agent, emit: (k, s, d) => emit(k, s, d) });
    ports.store = store;
  }

  let server: MessengerServer | null = null;
  let messenger: TcpMessenger | null = null;
  if (c.messenger) {
    const key = readHmacKey(c.messenger.keyFile);
    messenger = new TcpMessenger({ agent: c.agent, key, peers: c.messenger.peers, timeoutMs: c.timeouts?.messageMs });
    ports.messenger = messenger;
    if (o.runtime) {
      const listen = c.messenger.listen ?? c.messenger.peers[c.agent];
      if (!listen) throw new RangeError(`messenger: no listen address for ${c.agent} (add it to peers or give listen)`);
      const rt = o.runtime;
      server = new MessengerServer({
        agent: c.agent,
        listen,
        key,
        deliver: (mailbox: string, msg: AgentMessage) => rt.deliver(mailbox, msg),
        trace: o.trace,
        nowUs,
        maxAgeMs: c.messenger.maxAgeMs,
      });
      try {
        await server.start();
      } catch (e) {
        exec.close();
        store?.close();
        messenger.close();
        throw new Error(`messenger of ${c.agent}: cannot listen on ${listen.address}:${listen.port}: ${(e as Error).message}`);
      }
    }
  }

  for (const name of Object.keys(ports) as Array<keyof Ports>) {
    const port = ports[name];
    if (port) (ports as Record<string, object>)[name] = portErrorBoundary(port);
  }

  return {
    ports,
    exec,
    store,
    messengerServer: server,
    async close() {
      counter?.close();
      messenger?.close();
      await server?.close();
      exec.close();
      store?.close();
    },
  };
}
