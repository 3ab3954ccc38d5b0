// `hatwin settle REQUEST.yaml --out DIR [--key-file F]`: settles a load-balanced application
// cluster (Chen and Lo's "settling steps"): allocates a VIP and ports, generates keepalived.conf
// for the masters, the real servers' direct-routing commands and the firewall's nftables
// ruleset (policies/lbcluster/settle/), checks every keepalived.conf with the real
// `keepalived -t` and every ruleset with the real `nft -c`, and only then moves the files into
// DIR. A rejected file is an error quoting the tool's own message, and DIR is left as it was.
//
// The checks run as root in a scratch network namespace that holds the masters' interfaces
// (keepalived -t rejects a configuration naming an interface that does not exist), made of veth
// pairs (this kernel has no dummy interfaces) and deleted afterwards.
import type { Command } from 'commander';
import { randomBytes, randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseYamlWith, readTextFile } from '../../sim/scenario/load.ts';
import { requestSchema, IFACE_RE, type SettleRequest } from '../../policies/lbcluster/settle/request.ts';
import { PlanError, planCluster, type Plan } from '../../policies/lbcluster/settle/plan.ts';
import { generate, type GeneratedFile } from '../../policies/lbcluster/settle/generate.ts';
import { AUTH_PASS_MAX, AUTH_PASS_RE, vrrpModel } from '../../policies/lbcluster/settle/keepalived.ts';
import { gracefulTakeoverUs, killTakeoverRangeUs } from '../../policies/lbcluster/vrrp.ts';
import { checkOutputPath, exitBadInput, guardedWith, sayer } from '../output.ts';

const say = sayer('settle');
const guarded = guardedWith(say);

const TOOLS = {
  keepalived: { path: '/usr/sbin/keepalived', pkg: 'keepalived' },
  nft: { path: '/usr/sbin/nft', pkg: 'nftables' },
  ip: { path: '/usr/sbin/ip', pkg: 'iproute2' },
} as const;

/** The name of the file in DIR that lists what settle wrote there (stale files are removed on the next run). */
export const FILE_LIST = 'settle-files.txt';
/** The default key file, in DIR. */
export const DEFAULT_KEY_FILE = 'vrrp.key';

export class SettleCheckError extends Error {}

function tool(name: keyof typeof TOOLS): string {
  const t = TOOLS[name];
  if (!existsSync(t.path)) throw new Error(`${t.path} is missing: install ${t.pkg} (listed in scripts/apt/lab.txt; as root: node scripts/setup.mjs --need lab, or apt-get install ${t.pkg})`);
  return t.path;
}

/** The previous plan of the cluster settled into `outDir`, if any. */
export function readPrevious(outDir: string): unknown {
  const f = join(outDir, 'settle.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`${f}: not a settle plan (${(e as Error).message}); move it away to settle afresh`);
  }
}

/** Reads and validates a request: file:line:column errors (ScenarioError) for the schema and the allocation. */
export function readRequest(file: string, previous?: unknown): { request: SettleRequest; plan: Plan } {
  let plan: Plan | undefined;
  const request = parseYamlWith(requestSchema, readTextFile(file), file, (req) => {
    try {
      plan = planCluster(req, previous);
      return [];
    } catch (e) {
      if (e instanceof PlanError) return e.problems;
      throw e;
    }
  });
  return { request, plan: plan! };
}

/** A fresh VRRP PASS secret: 8 letters or digits from the system's CSPRNG (about 47.6 bits). */
export function newSecret(): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < AUTH_PASS_MAX; i++) s += abc[randomInt(abc.length)];
  return s;
}

/** The secret in a key file (one line; a trailing newline is allowed). */
export function readSecret(file: string): string {
  const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (!AUTH_PASS_RE.test(text)) {
    throw new Error(`${file}: the VRRP secret must be one line of 1..${AUTH_PASS_MAX} letters or digits (VRRPv2 PASS authentication carries 8 characters)`);
  }
  return text;
}

function run(argv: string[], timeoutMs = 20_000): { status: number | null; out: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  return { status: r.status, out: `${r.stderr ?? ''}${r.stdout ?? ''}`.trim() };
}

/** A network namespace for the checks, holding `ifaces` (veth pairs), deleted by `remove`. */
export function scratchNamespace(ifaces: readonly string[]): { name: string; remove: () => void } {
  const ip = tool('ip');
  const name = `hwsettle-${randomBytes(4).toString('hex')}`;
  const r = run([ip, 'netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.out}`);
  const remove = () => {
    run([ip, 'netns', 'del', name]);
  };
  try {
    const wanted = [...new Set(ifaces)];
    let peer = 0;
    for (const i of wanted) {
      if (!IFACE_RE.test(i)) throw new Error(`invalid interface name ${JSON.stringify(i)}`);
      while (wanted.includes(`hwsp${peer}`)) peer++;
      const a = run([ip, '-n', name, 'link', 'add', i, 'type', 'veth', 'peer', 'name', `hwsp${peer++}`]);
      if (a.status !== 0) throw new Error(`ip link add ${i} in the scratch namespace: ${a.out}`);
    }
  } catch (e) {
    remove();
    throw e;
  }
  return { name, remove };
}

/**
 * Checks the generated files under `dir` with the real tools, in a scratch namespace holding
 * `ifaces`: keepalived -t -e -f for keepalived.conf, nft -c -f for rulesets. Throws
 * SettleCheckError quoting the tool's messages for every rejected file; returns the warnings of
 * accepted ones.
 */
export function checkFiles(dir: string, files: readonly GeneratedFile[], ifaces: readonly string[]): string[] {
  if (process.getuid?.() !== 0) {
    throw new SettleCheckError('checking the generated files needs root: keepalived -t runs in a scratch network namespace holding the masters\' interfaces, and nft -c asks the kernel');
  }
  const keepalived = tool('keepalived');
  const nft = tool('nft');
  const ip = tool('ip');
  const ns = scratchNamespace(ifaces);
  const rejected: string[] = [];
  const notes: string[] = [];
  const clean = (out: string) => out.split(`${dir}/`).join('').split('\n').map((l) => `  ${l}`).join('\n');
  try {
    for (const f of files) {
      if (!f.check) continue;
      const path = join(dir, f.path);
      const argv = f.check === 'keepalived' ? [keepalived, '-t', '-e', '-f', path] : [nft, '-c', '-f', path];
      const r = run([ip, 'netns', 'exec', ns.name, ...argv]);
      const what = f.check === 'keepalived' ? 'keepalived -t' : 'nft -c';
      if (r.status !== 0) rejected.push(`${f.path} rejected by ${what} (exit ${r.status}):\n${clean(r.out) || '  (no message)'}`);
      else if (r.out) notes.push(`${f.path}: ${what} accepted it with:\n${clean(r.out)}`);
    }
  } finally {
    ns.remove();
  }
  if (rejected.length) throw new SettleCheckError(rejected.join('\n'));
  return notes;
}

/** Writes `files` under `dir` (created), with their modes. */
function writeFiles(dir: string, files: readonly GeneratedFile[]): void {
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.text, { mode: f.mode });
    chmodSync(p, f.mode);
  }
}

/**
 * Moves the staged files into `outDir`: a missing outDir is the staging folder renamed (one step);
 * an existing one gets each file by rename (each replaced atomically, all of them only after every
 * check passed), and files the last run wrote that this one did not are removed.
 */
function install(staging: string, outDir: string, files: readonly GeneratedFile[]): void {
  if (!existsSync(outDir)) {
    renameSync(staging, outDir);
    return;
  }
  const listFile = join(outDir, FILE_LIST);
  const before = existsSync(listFile) ? readFileSync(listFile, 'utf8').split('\n').filter(Boolean) : [];
  for (const f of files) {
    const to = join(outDir, f.path);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(join(staging, f.path), to);
  }
  const now = new Set(files.map((f) => f.path));
  for (const old of before) {
    // Only plain relative paths this command wrote itself.
    if (!now.has(old) && /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(old) && !old.includes('..')) rmSync(join(outDir, old), { force: true });
  }
  rmSync(staging, { recursive: true, force: true });
}

/**
 * Stages `files` next to `outDir`, checks them with the real tools (checkFiles) and, when every
 * one passes, runs `beforeInstall` and moves them into `outDir`. A rejected file throws
 * SettleCheckError and leaves `outDir` as it was. Returns the tools' warnings.
 */
export function installChecked(outDir: string, files: readonly GeneratedFile[], ifaces: readonly string[], beforeInstall?: () => void): string[] {
  mkdirSync(dirname(outDir), { recursive: true });
  const staging = mkdtempSync(join(dirname(outDir), `.${basename(outDir)}.settle-`));
  try {
    writeFiles(staging, files);
    const notes = checkFiles(staging, files, ifaces);
    beforeInstall?.();
    install(staging, outDir, files);
    return notes;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface SettleOptions {
  requestFile: string;
  outDir: string;
  /** Default: DIR/vrrp.key (generated when missing). */
  keyFile?: string;
}

export interface SettleResult {
  request: SettleRequest;
  plan: Plan;
  written: string[];
  notes: string[];
  /** A new secret was generated into this key file. */
  newKeyFile?: string;
}

/** The whole command: read, generate, check, install. */
export function settle(o: SettleOptions): SettleResult {
  const outDir = resolve(o.outDir);
  const previous = readPrevious(outDir);
  const { request } = readRequest(o.requestFile, previous);
  const keyFile = resolve(o.keyFile ?? join(outDir, DEFAULT_KEY_FILE));
  const keyRel = relative(outDir, keyFile);
  const keyInOut = keyRel !== '' && !keyRel.startsWith('..') && !isAbsolute(keyRel);
  const haveKey = existsSync(keyFile);
  const secret = haveKey ? readSecret(keyFile) : newSecret();
  const { plan, files } = generate(request, secret, previous);
  const all: GeneratedFile[] = [...files];
  if (keyInOut) all.push({ path: keyRel.split('\\').join('/'), text: `${secret}\n`, mode: 0o600 });
  all.push({ path: FILE_LIST, text: `${[...all.map((f) => f.path), FILE_LIST].sort().join('\n')}\n`, mode: 0o644 });

  const notes = installChecked(outDir, all, request.masters.map((m) => m.interface), () => {
    if (!haveKey && !keyInOut) {
      mkdirSync(dirname(keyFile), { recursive: true });
      writeFileSync(keyFile, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    }
  });
  return { request, plan, written: all.map((f) => join(outDir, f.path)), notes, ...(haveKey ? {} : { newKeyFile: keyFile }) };
}

const fmt = (us: number) => (us / 1e6).toFixed(2);

/** What the VRRP model says about the masters' takeover times (from the highest priority to the next). */
export function takeoverSummary(request: SettleRequest): string[] {
  const model = vrrpModel(request);
  const top = (xs: typeof model) => xs.reduce((a, b) => (b.priority > a.priority ? b : a));
  const first = top(model);
  const next = top(model.filter((m) => m !== first));
  const k = killTakeoverRangeUs(next.priority, next.advertIntUs);
  return [
    `if ${first.name} dies (SIGKILL, power): ${next.name} (priority ${next.priority}) takes the VIP after ${fmt(k.min)}..${fmt(k.max)} s (mean ${fmt(k.mean)} s)`,
    `if ${first.name} stops gracefully: ${next.name} takes it after ${fmt(gracefulTakeoverUs(next.priority))} s`,
  ];
}

export function register(program: Command): void {
  program
    .command('settle')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('settle a load-balanced cluster: VIP, keepalived.conf for the masters, real-server and firewall settings, checked with keepalived -t and nft -c (root)')
    .argument('<request>', 'cluster request, e.g. experiments/labs/lb-settle-request.yaml')
    .requiredOption('--out <dir>', 'where the files go (its settle.json is the cluster\'s state: re-running keeps its allocations)')
    .option('--key-file <file>', `the VRRP secret (1..8 letters or digits); generated when missing (default: <out>/${DEFAULT_KEY_FILE})`)
    .action(guarded(async (requestFile: string, o: { out: string; keyFile?: string }) => {
      // The output folder's parent is checked (and created) first; a missing DIR itself is made
      // in one step from the checked files (settle leaves it as it was when a check fails).
      if (existsSync(o.out)) checkOutputPath(o.out, 'dir');
      else checkOutputPath(dirname(resolve(o.out)), 'dir');
      if (o.keyFile !== undefined && !existsSync(o.keyFile)) checkOutputPath(o.keyFile, 'file');
      const r = settle({ requestFile, outDir: o.out, keyFile: o.keyFile });
      for (const n of r.notes) say(n);
      if (r.newKeyFile) say(`generated a new VRRP secret in ${r.newKeyFile} (mode 0600)`);
      console.log(`cluster ${r.plan.cluster}: VIP ${r.plan.vip}/${r.plan.prefixLen}, virtual router id ${r.plan.routerId}, ${r.plan.servers.length} servers`);
      for (const l of takeoverSummary(r.request)) console.log(l);
      console.log('wrote (keepalived.conf checked with keepalived -t, rulesets with nft -c):');
      for (const w of r.written) console.log(`  ${w}`);
    }));
}
