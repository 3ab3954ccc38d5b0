// The Prober port against real machines: network examination by ICMP echo (or a TCP handshake),
// service examination by request and reply, and the papers' monitoring round ('examine'). Details
// match the sim adapter: 'ok' | 'unreachable' | 'refused' | 'timeout' for single probes, 'ok' |
// 'network' | 'service:<name>:<refused|timeout>' for examine; latencyUs is measured wall time.
// Unknown targets or services, and a missing ping binary, reject: a configuration error must
// not look like a failed server.
import { performance } from 'node:perf_hooks';
import type { Prober, ProbeResult, ProbeSpec } from '../../engine/ports/probe.ts';
import { checkOutcome, checkService, tcpReach, type CheckResult } from './checkers.ts';
import { ping, PING } from './ping.ts';
import type { ServiceRegistry } from './registry.ts';

export interface LiveProberOptions {
  pingPath?: string;
  /** Called with every probe's spec and result (calibration, debugging). */
  onProbe?: (spec: ProbeSpec, result: ProbeResult) => void;
}

const usToMs = (us: number) => {
  if (!Number.isFinite(us) || us <= 0) throw new RangeError(`probe timeout must be a positive number of microseconds, got ${us}`);
  return Math.max(1, Math.round(us / 1000));
};

const latencyUs = (r: CheckResult) => Math.max(1, Math.round(r.latencyMs * 1000));

export class LiveProber implements Prober {
  constructor(private readonly registry: ServiceRegistry, private readonly opts: LiveProberOptions = {}) {}

  async probe(spec: ProbeSpec): Promise<ProbeResult> {
    const r = await this.run(spec);
    this.opts.onProbe?.(spec, r);
    return r;
  }

  private async run(spec: ProbeSpec): Promise<ProbeResult> {
    switch (spec.kind) {
      case 'network': {
        const ok = await this.reach(spec.target, usToMs(spec.timeoutUs));
        return { ok: ok.ok, detail: ok.ok ? 'ok' : 'unreachable', latencyUs: ok.latencyUs };
      }
      case 'service': {
        const s = this.registry.service(spec.target, spec.service);
        const r = await checkService(s.address, s.port, s.check, usToMs(spec.timeoutUs));
        return { ok: r.ok, detail: checkOutcome(r), latencyUs: latencyUs(r) };
      }
      case 'examine': {
        // Resolve everything first: an unknown service is a configuration error, not a trouble.
        const services = spec.services.map((name) => [name, this.registry.service(spec.target, name)] as const);
        const t0 = performance.now();
        const elapsedUs = () => Math.max(1, Math.round((performance.now() - t0) * 1000));
        const net = await this.reach(spec.target, usToMs(spec.networkTimeoutUs));
        if (!net.ok) return { ok: false, detail: 'network', latencyUs: elapsedUs() };
        for (const [name, s] of services) {
          const r = await checkService(s.address, s.port, s.check, usToMs(spec.serviceTimeoutUs));
          if (!r.ok) {
            return { ok: false, detail: `service:${name}:${checkOutcome(r) === 'refused' ? 'refused' : 'timeout'}`, latencyUs: elapsedUs() };
          }
        }
        return { ok: true, detail: 'ok', latencyUs: elapsedUs() };
      }
      default:
        throw new RangeError(`unknown probe kind ${(spec as { kind: string }).kind}`);
    }
  }

  private async reach(target: string, timeoutMs: number): Promise<{ ok: boolean; latencyUs: number }> {
    const t = this.registry.target(target);
    if (t.reach?.method === 'tcp') {
      const r = await tcpReach(t.address, t.reach.port, timeoutMs);
      return { ok: r.ok, latencyUs: latencyUs(r) };
    }
    const r = await ping(t.address, timeoutMs, this.opts.pingPath ?? PING);
    if (r.detail.startsWith('error: ') && r.detail.includes('missing')) throw new Error(r.detail);
    return { ok: r.ok, latencyUs: r.latencyUs };
  }
}
