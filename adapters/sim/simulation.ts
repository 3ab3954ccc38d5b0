// Composes one simulation: kernel + RNG streams + world + runtime + sim ports + trace.
// A management agent lives on each host: when the host stops, its processes end; when it pauses,
// they freeze; when it boots, the policy's boot hook starts its programs again (the papers'
// executer program run at start-up).
import { Kernel } from '../../sim/kernel/kernel.ts';
import { RngStreams } from '../../sim/kernel/rng.ts';
import { World, type WorldEvent } from '../../sim/world/world.ts';
import type { Scenario } from '../../sim/scenario/schema.ts';
import { Runtime, type WatchMode } from '../../engine/runtime/runtime.ts';
import type { Ports } from '../../engine/ports/index.ts';
import type { TraceEvent } from '../../engine/ports/trace.ts';
import { SimStore, simPorts } from './ports.ts';

export interface SimulationOptions {
  seed: number;
  watchMode?: WatchMode;
  /** Receives every trace event as it happens (the web view streams these). */
  onEvent?: (ev: TraceEvent) => void;
  /** Keep the events in memory (default true). */
  keepEvents?: boolean;
}

export class Simulation {
  readonly kernel = new Kernel();
  readonly rng: RngStreams;
  readonly world: World;
  readonly runtime: Runtime;
  readonly store: SimStore;
  readonly events: TraceEvent[] = [];
  private readonly ports = new Map<string, Ports>();
  private readonly bootHooks: Array<(host: string) => void> = [];
  private readonly startHooks: Array<() => void> = [];
  private started = false;

  constructor(readonly scenario: Scenario, readonly opts: SimulationOptions) {
    this.rng = new RngStreams(opts.seed);
    const keep = opts.keepEvents !== false;
    const sink = (ev: TraceEvent) => {
      if (keep) this.events.push(ev);
      opts.onEvent?.(ev);
    };
    this.world = new World(scenario, this.kernel, this.rng, (ev: WorldEvent) => sink(ev));
    this.runtime = new Runtime({
      scheduler: this.kernel,
      ports: (agent) => this.portsFor(agent),
      trace: { emit: sink },
      watchMode: opts.watchMode,
    });
    this.store = new SimStore((kind, subject, data) => sink({ t: this.kernel.nowUs(), kind, subject, data }));
    this.world.hostListeners.push((host, state, prev) => {
      if (state === 'paused') this.runtime.pauseAgent(host);
      else if (prev === 'paused' && state === 'on') this.runtime.resumeAgent(host);
      else if (state !== 'on') this.runtime.stopAgent(host);
      else if (prev === 'booting' || prev === 'restarting' || prev === 'suspended') for (const h of this.bootHooks) h(host);
    });
  }

  portsFor(agent: string): Ports {
    let p = this.ports.get(agent);
    if (!p) {
      p = simPorts(this.world, this.runtime, this.store, agent);
      this.ports.set(agent, p);
    }
    return p;
  }

  /** Called with a host's name each time it comes (back) up. */
  onHostUp(hook: (host: string) => void): void {
    this.bootHooks.push(hook);
  }

  /** Called once, after the initial state is traced (policies start their programs here). */
  onStart(hook: () => void): void {
    this.startHooks.push(hook);
  }

  /** Emits the initial state, schedules the scenario's faults and starts the programs; idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.world.start();
    for (const h of this.startHooks) h();
  }

  /** Runs until `untilUs` (default: the scenario's `until`, else until no event is left). */
  run(untilUs?: number, maxEvents?: number): void {
    this.start();
    this.kernel.run({ untilUs: untilUs ?? this.scenario.until, maxEvents });
  }
}
