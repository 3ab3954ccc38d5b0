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
    let cfg = r.success ? r.data : undefined;
    const dropped = new Set<string>();
    if (!r.success) {
      out.push(...zodProblems(r.error.issues, p, ['policies', i]));
      // Check the rest of the block against the site in the same pass: without its bad fields
      // (their defaults, if they have any), the block may parse.
      for (const issue of r.error.issues) {
        if (issue.code === 'unrecognized_keys') issue.keys.forEach((k) => dropped.add(k));
        else if (issue.path.length > 0) dropped.add(String(issue.path[0]));
      }
      const rest = Object.fromEntries(Object.entries(p).filter(([k]) => !dropped.has(k)));
      const again = def.schema.safeParse(rest);
      if (!again.success) return;
      cfg = again.data;
    }
    for (const [path, message] of def.check(cfg!, site)) {
      if (!dropped.has(String(path[0]))) out.push({ path: ['policies', i, ...path], message });
    }
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
