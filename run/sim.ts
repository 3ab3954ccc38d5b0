// The sim composition: scenario files in (validated with the registered policies), a simulation
// with the policies' programs installed out.
import { loadScenario, loadScenarioText } from '../sim/scenario/load.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { Simulation, type SimulationOptions } from '../adapters/sim/simulation.ts';
import { checkPolicies, programsOf } from './policies.ts';
import { installPrograms, type InstallOptions, type ProgramHost } from './install.ts';
import { siteFromScenario } from './site.ts';

export function readScenario(path: string): Scenario {
  return loadScenario(path, checkPolicies);
}

export function parseScenario(text: string, file = '<scenario>'): Scenario {
  return loadScenarioText(text, file, checkPolicies);
}

/** A simulation as a place where programs run. */
export function simProgramHost(sim: Simulation): ProgramHost {
  const hostOn = new Map(sim.scenario.hosts.map((h) => [h.name, h.state === 'on']));
  return {
    onStart: (hook) => sim.onStart(hook),
    onHostUp: (hook) => sim.onHostUp(hook),
    start: (name, body, agent) => void sim.runtime.start(name, body, agent),
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
