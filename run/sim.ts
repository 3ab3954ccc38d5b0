// Loading and running scenario files with the registered policies.
import { loadScenario, loadScenarioText } from '../sim/scenario/load.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { Simulation, type SimulationOptions } from '../adapters/sim/simulation.ts';
import { checkPolicies, installPolicies } from './policies.ts';

export function readScenario(path: string): Scenario {
  return loadScenario(path, checkPolicies);
}

export function parseScenario(text: string, file = '<scenario>'): Scenario {
  return loadScenarioText(text, file, checkPolicies);
}

/** Builds a simulation of the scenario with its policies installed (not yet run). */
export function buildSimulation(scenario: Scenario, opts: SimulationOptions): Simulation {
  const sim = new Simulation(scenario, opts);
  installPolicies(sim);
  return sim;
}
