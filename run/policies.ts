// The composition's view of the policy registry: validate a scenario's policy blocks against a
// site, and list the programs they run. Sim and live call the same functions.
import type { Site } from '../engine/ports/site.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { zodProblems } from '../sim/scenario/load.ts';
import { POLICIES } from '../policies/registry.ts';
import type { Program } from '../policies/manifest.ts';
import { siteFromScenario } from './site.ts';

export interface PolicyProblem {
  path: (string | number)[];
  message: string;
}

/** Validates each policy block against the site; problems carry paths inside the scenario. */
export function checkPoliciesOn(policies: Scenario['policies'], site: Site): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  policies.forEach((p, i) => {
    const def = Object.hasOwn(POLICIES, p.kind) ? POLICIES[p.kind] : undefined;
    if (!def) {
      out.push({ path: ['policies', i, 'kind'], message: `unknown policy "${p.kind}" (known: ${Object.keys(POLICIES).join(', ')})` });
      return;
    }
    const r = def.schema.safeParse(p);
    if (!r.success) {
      out.push(...zodProblems(r.error.issues, p, ['policies', i]));
      return;
    }
    for (const [path, message] of def.check(r.data, site)) out.push({ path: ['policies', i, ...path], message });
  });
  return out;
}

/** The scenario loader's policy check: the site is the scenario's own world. */
export function checkPolicies(s: Scenario): PolicyProblem[] {
  return checkPoliciesOn(s.policies, siteFromScenario(s));
}

/** Every program of the policy blocks (already checked) on the site. */
export function programsOf(policies: Scenario['policies'], site: Site): Program[] {
  return policies.flatMap((p) => {
    const def = Object.hasOwn(POLICIES, p.kind) ? POLICIES[p.kind] : undefined;
    if (!def) throw new Error(`unknown policy "${p.kind}"`);
    return def.programs(def.schema.parse(p), site);
  });
}
