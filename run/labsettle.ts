// A lab's load-balanced cluster (`settle:` in the lab file), settled at `lab up` (labUp's `settle`
// step, given by `hatwin lab up` and the tests: adapters/ may not import the policies) by the same
// generator as `hatwin settle` (policies/lbcluster/settle): keepalived.conf for every master,
// with the VRRP secret read from the lab's key file (created when missing). Each master must be
// a host of the lab with the address the request gives it; its keepalived.conf is checked by the
// real `keepalived -t -e` inside that host's namespace (where its interface exists) before any
// keepalived starts. Nothing here fits the request to the lab: a mismatch is an error.
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseYamlWith, readTextFile } from '../sim/scenario/load.ts';
import { requestSchema, type SettleRequest } from '../policies/lbcluster/settle/request.ts';
import { generate } from '../policies/lbcluster/settle/generate.ts';
import { AUTH_PASS_MAX, AUTH_PASS_RE } from '../policies/lbcluster/settle/keepalived.ts';
import type { Plan } from '../policies/lbcluster/settle/plan.ts';
import { hostNs, NS_IF } from '../adapters/lab/names.ts';
import { run } from '../adapters/lab/run.ts';
import { settleDir, type Lab } from '../adapters/lab/schema.ts';

/** The VRRP secret of the lab's key file; a fresh one (CSPRNG, 8 letters or digits) when the file is missing. */
export function labSecret(keyFile: string): string {
  if (!existsSync(keyFile)) {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const secret = Array.from({ length: AUTH_PASS_MAX }, () => abc[randomInt(abc.length)]).join('');
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  const text = readFileSync(keyFile, 'utf8').replace(/\r?\n$/, '');
  if (!AUTH_PASS_RE.test(text)) throw new Error(`${keyFile}: the VRRP secret must be one line of 1..${AUTH_PASS_MAX} letters or digits`);
  return text;
}

export interface LabSettled {
  request: SettleRequest;
  plan: Plan;
  /** keepalived.conf of each master (host name -> path). */
  confs: Record<string, string>;
}

/** Reads the lab's settle request and checks it against the lab (masters are hosts at their addresses, the VIP is a lab VIP). */
export function labSettleRequest(lab: Lab): SettleRequest {
  if (!lab.settle) throw new Error(`lab "${lab.name}" has no settle: section`);
  const req = parseYamlWith(requestSchema, readTextFile(lab.settle.request), lab.settle.request);
  for (const m of req.masters) {
    const h = lab.hosts.find((x) => x.name === m.name);
    if (!h) throw new Error(`${lab.settle.request}: master "${m.name}" is not a host of lab "${lab.name}" (hosts: ${lab.hosts.map((x) => x.name).join(', ')})`);
    if (h.address !== m.address) throw new Error(`${lab.settle.request}: master ${m.name} has address ${m.address}, the lab gives it ${h.address}`);
    if (m.interface !== NS_IF) throw new Error(`${lab.settle.request}: master ${m.name}'s interface is ${m.interface}; lab hosts have ${NS_IF}`);
  }
  return req;
}

/** Generates the cluster's files into STATE/settle and checks every keepalived.conf in its master's namespace. */
export async function settleLab(lab: Lab): Promise<LabSettled> {
  return settleLabFiles(lab);
}

/** labUp's settle step: settles and says what it did. */
export async function labSettleStep(lab: Lab): Promise<string> {
  const s = await settleLabFiles(lab);
  return `settled ${s.plan.cluster}: VIP ${s.plan.vip}, keepalived.conf for ${Object.keys(s.confs).join(', ')} (keepalived -t passed)`;
}

async function settleLabFiles(lab: Lab): Promise<LabSettled> {
  const request = labSettleRequest(lab);
  const { plan, files } = generate(request, labSecret(lab.settle!.keyFile));
  const vip = lab.vips.find((v) => v.address === plan.vip);
  if (!vip || vip.managedBy !== 'vrrp') throw new Error(`${lab.settle!.request}: the settled VIP ${plan.vip} is not a VIP of lab "${lab.name}" with managedBy: vrrp`);
  for (const sv of plan.servers) {
    const h = lab.hosts.find((x) => x.name === sv.name);
    if (!h || h.address !== sv.address) throw new Error(`${lab.settle!.request}: real server ${sv.name} ${sv.address} is not a host of lab "${lab.name}" at that address${h ? ` (the lab gives it ${h.address})` : ''}`);
  }
  const dir = settleDir(lab);
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.text, { mode: f.mode });
    chmodSync(p, f.mode);
  }
  const confs: Record<string, string> = {};
  for (const m of request.masters) {
    const conf = join(dir, 'masters', m.name, 'keepalived.conf');
    const r = await run(['ip', 'netns', 'exec', hostNs(lab, m.name), 'keepalived', '-t', '-e', '-f', conf], { allowFail: true });
    if (r.code !== 0) throw new Error(`${conf} rejected by keepalived -t in ${m.name}'s namespace (exit ${r.code}): ${`${r.stderr}${r.stdout}`.trim()}`);
    confs[m.name] = conf;
  }
  return { request, plan, confs };
}
