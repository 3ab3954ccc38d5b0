// Everything `hatwin settle` writes for one cluster request, as (path, text) pairs: pure. The
// command checks the keepalived and nftables files with the real tools before anything lands in
// the output folder.
//
//   settle.json                    the plan (VIP, router id, addresses, ports): this cluster's state,
//                                  read back on the next run so the same allocations are kept
//   masters/<name>/keepalived.conf one per master (contains the VRRP secret: mode 0600)
//   realservers/<name>.json        argv commands (apply, undo) for direct routing on each server
//   firewall/<cluster>.nft         the NAT and filter ruleset of the firewall
//   nat-table.md                   the NAT table to read
import { nftRuleset, natTable } from './firewall.ts';
import { keepalivedConf } from './keepalived.ts';
import { planCluster, type Plan } from './plan.ts';
import { realServerSetup, type RealServerSetup } from './realserver.ts';
import type { SettleRequest } from './request.ts';

export interface GeneratedFile {
  /** Relative to the output folder, '/'-separated. */
  path: string;
  text: string;
  /** File mode (0o600 for files holding the secret). */
  mode: number;
  /** Which real tool checks it. */
  check?: 'keepalived' | 'nft';
}

export interface Generated {
  plan: Plan;
  files: GeneratedFile[];
}

/** The plan's JSON as settle.json holds it (key order fixed, one trailing newline). */
export const planJson = (plan: Plan): string => `${JSON.stringify(plan, null, 2)}\n`;

/** A real server's setup as JSON with one command (argv array) a line. */
export function realServerJson(r: RealServerSetup): string {
  const cmds = (list: string[][]) => `[\n${list.map((a) => `    ${JSON.stringify(a)}`).join(',\n')}\n  ]`;
  return `{\n  "server": ${JSON.stringify(r.server)},\n  "address": ${JSON.stringify(r.address)},\n  "vip": ${JSON.stringify(r.vip)},\n  "apply": ${cmds(r.apply)},\n  "undo": ${cmds(r.undo)}\n}\n`;
}

/**
 * Generates every file for `req`. `previous` is the last plan of this cluster (settle.json), if
 * any; `secret` the VRRP PASS secret (1..8 letters or digits). Throws PlanError on a bad request.
 */
export function generate(req: SettleRequest, secret: string, previous?: unknown): Generated {
  const plan = planCluster(req, previous);
  const files: GeneratedFile[] = [{ path: 'settle.json', text: planJson(plan), mode: 0o644 }];
  req.masters.forEach((m, i) => {
    files.push({ path: `masters/${m.name}/keepalived.conf`, text: keepalivedConf(req, plan, i, secret), mode: 0o600, check: 'keepalived' });
  });
  for (const s of plan.servers) {
    files.push({ path: `realservers/${s.name}.json`, text: realServerJson(realServerSetup(req, plan, s)), mode: 0o644 });
  }
  files.push({ path: `firewall/${req.cluster}.nft`, text: nftRuleset(req, plan), mode: 0o644, check: 'nft' });
  files.push({ path: 'nat-table.md', text: natTable(req, plan), mode: 0o644 });
  return { plan, files };
}
