// Where the prober finds things: each target (host or VM name) has an address and a way to test
// reachability; each service of a target has an address, a port and a protocol checker. Built
// from configuration (the lab file), validated once.
import { assertIpv4, assertName, assertPort } from '../ssh/names.ts';
import type { ServiceCheck } from './checkers.ts';

export interface TargetEntry {
  name: string;
  address: string;
  /** Network examination: ICMP echo (default) or a TCP handshake on `port`. */
  reach?: { method: 'icmp' } | { method: 'tcp'; port: number };
}

export interface ServiceEntry {
  target: string;
  service: string;
  /** Defaults to the target's address. */
  address?: string;
  port: number;
  check: ServiceCheck;
}

export interface ResolvedService {
  address: string;
  port: number;
  check: ServiceCheck;
}

export class ServiceRegistry {
  private readonly targets = new Map<string, TargetEntry>();
  private readonly services = new Map<string, ResolvedService>();

  constructor(targets: readonly TargetEntry[], services: readonly ServiceEntry[]) {
    for (const t of targets) {
      assertName('target name', t.name);
      assertIpv4(`address of ${t.name}`, t.address);
      if (t.reach?.method === 'tcp') assertPort(`reach port of ${t.name}`, t.reach.port);
      if (this.targets.has(t.name)) throw new RangeError(`target ${t.name} is listed twice`);
      this.targets.set(t.name, t);
    }
    for (const s of services) {
      const target = this.targets.get(s.target);
      if (!target) throw new RangeError(`service ${s.service}: unknown target ${JSON.stringify(s.target)}`);
      assertName('service name', s.service);
      const address = assertIpv4(`address of ${s.target}/${s.service}`, s.address ?? target.address);
      const port = assertPort(`port of ${s.target}/${s.service}`, s.port);
      if (!['http', 'banner', 'echo'].includes(s.check?.protocol)) {
        throw new RangeError(`service ${s.target}/${s.service}: protocol ${JSON.stringify(s.check?.protocol)} is not one of http, banner, echo`);
      }
      const key = `${s.target}/${s.service}`;
      if (this.services.has(key)) throw new RangeError(`service ${key} is listed twice`);
      this.services.set(key, { address, port, check: s.check });
    }
  }

  target(name: string): TargetEntry {
    const t = this.targets.get(name);
    if (!t) throw new RangeError(`unknown target ${JSON.stringify(name)}: not in the lab configuration`);
    return t;
  }

  service(target: string, service: string): ResolvedService {
    const s = this.services.get(`${target}/${service}`);
    if (!s) throw new RangeError(`unknown service ${JSON.stringify(service)} on ${JSON.stringify(target)}: not in the lab configuration`);
    return s;
  }

  targetNames(): string[] {
    return [...this.targets.keys()];
  }
}
