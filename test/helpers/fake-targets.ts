// An in-memory stand-in for the world behind the Prober port: targets are up or down, flipped by
// the test at chosen engine times. It offers a QuietOracle (so `watch` can skip in sim) and a
// Services port whose `restart` brings a target back. Works under any Scheduler.
import type { Ports, ProbeResult, ProbeSpec, Prober, QuietOracle, Services } from '../../engine/ports/index.ts';

export class FakeTargets {
  private readonly down = new Set<string>();
  private readonly subs = new Map<string, Set<() => void>>();
  /** Every real probe made: engine time, target, outcome. */
  readonly probes: Array<{ t: number; target: string; ok: boolean }> = [];
  readonly restarts: Array<{ t: number; target: string }> = [];

  constructor(private readonly nowUs: () => number, private readonly probeLatencyUs = 0) {}

  isUp(target: string): boolean {
    return !this.down.has(target);
  }

  set(target: string, up: boolean): void {
    if (this.isUp(target) === up) return;
    if (up) this.down.delete(target);
    else this.down.add(target);
    for (const cb of [...(this.subs.get(target) ?? [])]) cb();
  }

  /** Live oracle subscriptions (a cancelled watch must leave none). */
  get subscriptions(): number {
    let n = 0;
    for (const s of this.subs.values()) n += s.size;
    return n;
  }

  readonly prober: Prober = {
    probe: (spec: ProbeSpec): ProbeResult => {
      const ok = this.isUp(spec.target);
      this.probes.push({ t: this.nowUs(), target: spec.target, ok });
      return { ok, detail: ok ? 'ok' : 'unreachable', latencyUs: this.probeLatencyUs };
    },
  };

  readonly quiet: QuietOracle = this.oracle();

  private oracle() {
    const oracle = {
      wouldPass: (spec: ProbeSpec) => this.isUp(spec.target),
      /** A passing probe takes the fixed probe latency. */
      passLatencyUs: (_spec: ProbeSpec) => this.probeLatencyUs,
      subscribe: (spec: ProbeSpec, onChange: () => void) => {
        let set = this.subs.get(spec.target);
        if (!set) {
          set = new Set();
          this.subs.set(spec.target, set);
        }
        set.add(onChange);
        return () => set!.delete(onChange);
      },
    };
    return oracle;
  }

  readonly services: Services = {
    start: (target) => this.set(target, true),
    stop: (target) => this.set(target, false),
    restart: (target) => {
      this.restarts.push({ t: this.nowUs(), target });
      this.set(target, true);
    },
  };

  /** Ports for a runtime; `withOracle: false` is what live mode looks like. */
  ports(withOracle = true): Partial<Ports> {
    return withOracle ? { prober: this.prober, quiet: this.quiet, services: this.services } : { prober: this.prober, services: this.services };
  }
}
