// The sim composition: scenario files in (validated with the registered policies), a simulation
// with the policies' programs installed out.
import { loadScenario, loadScenarioText } from '../sim/scenario/load.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { Simulation, type SimulationOptions } from '../adapters/sim/simulation.ts';
import { checkPolicies, programsOf } from './policies.ts';
import { installPrograms, type InstallOptions, type ProgramHost } from './install.ts';
import { siteFromScenario } from './site.ts';
import { sleep, type Process } from '../engine/runtime/effects.ts';
import { sample, type Dist } from '../sim/kernel/distributions.ts';
import { sToUs } from '../sim/kernel/time.ts';

export function readScenario(path: string): Scenario {
  return loadScenario(path, checkPolicies);
}

export function parseScenario(text: string, file = '<scenario>'): Scenario {
  return loadScenarioText(text, file, checkPolicies);
}

/** `body` after `us` of sleep. */
function* delayed<T>(us: number, body: Process<T>): Process<T> {
  yield* sleep(us);
  return yield* body;
}

/** A simulation as a place where programs run. */
export function simProgramHost(sim: Simulation): ProgramHost {
  const hostOn = new Map(sim.scenario.hosts.map((h) => [h.name, h.state === 'on']));
  // A host's agent starts up before its programs run (the scenario's calibrated `agentStartS`,
  // absent: at once): one draw per agent each time it starts (the run's start, its host's boot),
  // from the agent's own stream. Agents that are no host (ADMIN) run in the live driver itself.
  const startDist = sim.scenario.network.agentStartS as Dist | undefined;
  const lags = new Map<string, { atUs: number; us: number }>();
  const lagUs = (agent: string): number => {
    const now = sim.kernel.nowUs();
    const l = lags.get(agent);
    if (l && l.atUs === now) return l.us;
    const us = Math.max(0, sToUs(sample(startDist!, sim.rng.stream(`net/${agent}/agentStart`))));
    lags.set(agent, { atUs: now, us });
    return us;
  };
  return {
    onStart: (hook) => sim.onStart(hook),
    onHostUp: (hook) => sim.onHostUp(hook),
    start: (name, body, agent) => void sim.runtime.start(name, startDist !== undefined && sim.world.hosts.has(agent) ? delayed(lagUs(agent), body) : body, agent),
    onAtStart: (agent) => hostOn.get(agent) !== false,
  };
}

export type BuildOptions = SimulationOptions & InstallOptions;

/** Builds a simulation of the scenario with its policies' programs installed (not yet run). */
export function buildSimulation(scenario: Scenario, opts: BuildOptions): Simulation {
  const sim = new Simulation(scenario, opts);
  installPrograms(simProgramHost(sim), programsOf(scenario.policies, siteFromScenario(scenario)), { wrap: opts.wrap });
  return sim;
}
