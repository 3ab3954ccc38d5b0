// Sites: what a policy sees of its world (engine/ports/site.ts), built from a scenario for the sim
// or from a lab file for live mode. A lab says what exists and where (addresses, MACs, which guest
// backs which host); the scenario run on it adds what the lab file does not know (server types).
import type { Site } from '../engine/ports/site.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import type { Lab } from '../adapters/lab/schema.ts';

export function siteFromScenario(s: Scenario): Site {
  return {
    world: 'sim',
    hosts: s.hosts.map((h) => ({
      name: h.name, mac: h.mac ?? '', services: h.services.map((x) => x.name), on: h.state === 'on',
      ...(h.serverType ? { serverType: h.serverType } : {}),
    })),
    vms: s.vms.map((v) => ({ name: v.name, services: v.services.map((x) => x.name) })),
    vips: s.vips.map((v) => ({ name: v.name, holder: v.holder, ...(v.service ? { service: v.service } : {}), ...(v.address ? { address: v.address } : {}) })),
  };
}

export function siteFromLab(lab: Lab, scenario?: Scenario): Site {
  const typeOf = new Map((scenario?.hosts ?? []).map((h) => [h.name, h.serverType]));
  return {
    world: 'live',
    hosts: lab.hosts.map((h) => {
      const serverType = typeOf.get(h.name);
      return { name: h.name, mac: h.mac, services: h.services.map((x) => x.name), address: h.address, on: true, ...(serverType ? { serverType } : {}) };
    }),
    vms: lab.backupVms.map((v) => ({ name: v.name, services: v.services.map((x) => x.name), backs: v.backs, address: v.address })),
    vips: lab.vips.map((v) => ({ name: v.name, holder: v.holder ?? null, service: v.service, address: v.address })),
  };
}
