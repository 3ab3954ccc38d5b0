// `hatwin calibrate LAB.yaml`: measures in the mini-lab what the sim needs as parameters (probe
// and service examination times, service restart, guest resume to serving, VIP set in a guest,
// power cycle to serving) and writes them to a params file. `hatwin conform SCENARIO --lab LAB`:
// runs the scenario live and in sim (world parameters from that file) and compares the metrics
// the sim's extractors read from both traces.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { toNdjson } from '../trace/ndjson.ts';
import { LiveProber } from '../adapters/probe/prober.ts';
import { ServiceRegistry } from '../adapters/probe/registry.ts';
import { buildSimulation, parseScenario, readScenario } from './sim.ts';
import type { Scenario } from '../sim/scenario/schema.ts';
import { lbConformMarkdown, lbConformRows, lbPolicyOf } from './lbconform.ts';
import { hasPss, pssConformRows } from './pssconform.ts';
import { disconnections, recoveries, type TraceLine } from '../trace/metrics.ts';
import { agentLiveConfig, IdempotentGuestVipDriver } from '../adapters/lab/agent-config.ts';
import { resetLabWorld, runLive } from './live.ts';
import { wallUs } from './agent.ts';
import { LabHypervisor } from '../adapters/lab/hypervisor.ts';
import { formatIpv4 } from '../adapters/lab/ipv4.ts';
import { labPower, labService } from '../adapters/lab/lab.ts';
import { loadLab, type Lab } from '../adapters/lab/schema.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface CalibrateParams {
  lab: string;
  measuredAt: string;
  samples: number;
  network: { examS: number; vipSetS: number };
  hosts: Record<string, { bootS: number; restartS: number; services: Record<string, { examS: number; restartS: number }> }>;
  vms: Record<string, { resumeS: number; services: Record<string, { examS: number }> }>;
  notes: string[];
}

function proberFor(lab: Lab): LiveProber {
  const c = agentLiveConfig(lab, lab.hosts[0].name, 'calibrate');
  return new LiveProber(new ServiceRegistry(c.hosts.map((h) => ({ name: h.name, address: h.address })), c.services));
}

/** Seconds until `ok()` holds, polling every `stepMs`. */
async function secondsUntil(what: string, ok: () => Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<number> {
  const start = wallUs();
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`calibrate: ${what} not within ${timeoutMs / 1000} s`);
    await sleep(stepMs);
  }
  return (wallUs() - start) / 1e6;
}

export async function calibrate(labFile: string, opts: { samples?: number; log?: (m: string) => void } = {}): Promise<CalibrateParams> {
  const lab = loadLab(labFile);
  const n = opts.samples ?? 5;
  const log = opts.log ?? (() => undefined);
  const prober = proberFor(lab);
  const hv = await LabHypervisor.open(lab);
  const drivers = new Map(lab.backupVms.map((v) => [v.name, new IdempotentGuestVipDriver(lab, v.name)]));
  const S = 1_000_000;
  const p: CalibrateParams = { lab: lab.name, measuredAt: new Date().toISOString(), samples: n, network: { examS: 0, vipSetS: 0 }, hosts: {}, vms: {}, notes: [] };
  try {
    await resetLabWorld(lab, hv, drivers, log);
    // Network examination (ping) and service examination (request/reply) of every host.
    const pings: number[] = [];
    for (const h of lab.hosts) {
      p.hosts[h.name] = { bootS: 0, restartS: 0, services: {} };
      for (let i = 0; i < n; i++) {
        const r = await prober.probe({ kind: 'network', target: h.name, timeoutUs: S });
        if (r.ok) pings.push(r.latencyUs / 1e6);
      }
      for (const s of h.services) {
        const ex: number[] = [];
        for (let i = 0; i < n; i++) {
          const r = await prober.probe({ kind: 'service', target: h.name, service: s.name, timeoutUs: S });
          if (r.ok) ex.push(r.latencyUs / 1e6);
        }
        // Daemon restart (the management program's restart request) to answering again.
        const restartS = await (async () => {
          const t0 = wallUs();
          await labService(lab, h.name, 'restart', s.name);
          await secondsUntil(`${h.name} ${s.name} after restart`, async () => (await prober.probe({ kind: 'service', target: h.name, service: s.name, timeoutUs: 200_000 })).ok, 10_000);
          return (wallUs() - t0) / 1e6;
        })();
        p.hosts[h.name].services[s.name] = { examS: round(median(ex)), restartS: round(restartS) };
      }
      log(`calibrate: ${h.name} examined`);
    }
    p.network.examS = round(median(pings));

    // Guest resume -> serving, and a VIP set in the guest (a spare address of the subnet).
    const used = new Set([lab.bridge.address, lab.etcd.address, lab.client.address, ...lab.hosts.map((h) => h.address), ...lab.backupVms.map((v) => v.address), ...lab.vips.map((v) => v.address)]);
    let spare = lab.cidr.broadcast - 2;
    while (used.has(formatIpv4(spare))) spare--;
    const vipSets: number[] = [];
    for (const vm of lab.backupVms) {
      const svc = vm.services[0];
      const t0 = wallUs();
      await hv.resume(vm.name, lab.hosts[0].name);
      if (svc) await secondsUntil(`${vm.name} serving after resume`, async () => (await prober.probe({ kind: 'service', target: vm.name, service: svc.name, timeoutUs: 200_000 })).ok, 20_000);
      const resumeS = (wallUs() - t0) / 1e6;
      const ex: number[] = [];
      if (svc) {
        for (let i = 0; i < n; i++) {
          const r = await prober.probe({ kind: 'service', target: vm.name, service: svc.name, timeoutUs: S });
          if (r.ok) ex.push(r.latencyUs / 1e6);
        }
      }
      const t1 = wallUs();
      await drivers.get(vm.name)!.add(formatIpv4(spare));
      vipSets.push((wallUs() - t1) / 1e6);
      await drivers.get(vm.name)!.remove(formatIpv4(spare));
      await hv.suspend(vm.name);
      p.vms[vm.name] = { resumeS: round(resumeS), services: svc ? { [svc.name]: { examS: round(median(ex)) } } : {} };
      log(`calibrate: ${vm.name} resume to serving ${resumeS.toFixed(3)} s`);
    }
    p.network.vipSetS = round(median(vipSets));

    // Power cycle -> serving (boot delay, NIC, daemons): measured on one host, used for all.
    const h = lab.hosts[lab.hosts.length - 1];
    const svc = h.services[0];
    const t0 = wallUs();
    await labPower(lab, h.name, 'cycle');
    await sleep(100);
    await secondsUntil(`${h.name} serving after a power cycle`, async () => (svc ? (await prober.probe({ kind: 'service', target: h.name, service: svc.name, timeoutUs: 200_000 })).ok : (await prober.probe({ kind: 'network', target: h.name, timeoutUs: 200_000 })).ok), 60_000, 50);
    const bootS = round((wallUs() - t0) / 1e6);
    for (const x of lab.hosts) Object.assign(p.hosts[x.name], { bootS, restartS: bootS });
    p.notes.push(`boot measured on ${h.name} (power cycle to its first service answering), applied to every host (same bootDelay in the lab file: ${lab.hosts.map((x) => `${x.name} ${x.bootDelay / 1e6} s`).join(', ')})`);
    log(`calibrate: ${h.name} power cycle to serving ${bootS} s`);
    await resetLabWorld(lab, hv, drivers, log);
  } finally {
    await hv.close().catch(() => undefined);
  }
  return p;
}

/** The scenario with its world parameters replaced by the measured ones (policy and faults unchanged). */
export function applyCalibration(scenarioText: string, p: CalibrateParams, file: string): ReturnType<typeof parseScenario> {
  const doc = parseYaml(scenarioText) as Record<string, unknown> & { hosts?: Array<Record<string, unknown>>; vms?: Array<Record<string, unknown>>; network?: Record<string, unknown> };
  doc.network = { ...(doc.network ?? {}), examS: Math.max(p.network.examS, 1e-6), vipSetS: p.network.vipSetS };
  for (const h of doc.hosts ?? []) {
    const m = p.hosts[String(h.name)];
    if (!m) continue;
    h.bootS = m.bootS;
    h.restartS = m.restartS;
    h.services = ((h.services as Array<Record<string, unknown>>) ?? []).map((s) => {
      const ms = m.services[String(s.name)];
      return ms ? { ...s, examS: Math.max(ms.examS, 1e-6), restartS: ms.restartS } : s;
    });
  }
  for (const v of doc.vms ?? []) {
    const m = p.vms[String(v.name)];
    if (!m) continue;
    v.resumeS = m.resumeS;
    v.services = ((v.services as Array<Record<string, unknown>>) ?? []).map((s) => {
      const ms = m.services[String(s.name)];
      return ms ? { ...s, examS: Math.max(ms.examS, 1e-6) } : s;
    });
  }
  return parseScenario(toYaml(doc), `${file} (calibrated)`);
}

export interface ConformRow {
  metric: string;
  server: string;
  live: number | null;
  sim: number | null;
  errPct: number | null;
}

export function conformRows(live: TraceLine[], sim: TraceLine[]): ConformRow[] {
  const rows: ConformRow[] = [];
  const row = (metric: string, server: string, l: number | null | undefined, s: number | null | undefined) => {
    const lv = l ?? null;
    const sv = s ?? null;
    rows.push({ metric, server, live: lv === null ? null : round(lv, 3), sim: sv === null ? null : round(sv, 3), errPct: lv === null || sv === null || lv === 0 ? null : round((100 * (sv - lv)) / lv, 1) });
  };
  const lr = recoveries(live);
  const sr = recoveries(sim);
  for (const target of new Set([...lr, ...sr].map((r) => r.target))) {
    const l = lr.find((r) => r.target === target);
    const s = sr.find((r) => r.target === target);
    const det = (r: typeof l) => (r && r.faultUs !== null ? (r.detectedUs - r.faultUs) / 1e6 : null);
    row('fault -> detection s', target, det(l), det(s));
    row('function recovery s (detection -> backup serving)', target, l?.functionRecoveryS, s?.functionRecoveryS);
    row('target recovery s (detection -> target back)', target, l?.targetRecoveryS, s?.targetRecoveryS);
    row('fault -> function s', target, l?.faultToFunctionS, s?.faultToFunctionS);
  }
  const ld = disconnections(live);
  const sd = disconnections(sim);
  for (const vip of new Set([...ld, ...sd].map((d) => d.vip))) {
    const sum = (ds: typeof ld) => ds.filter((d) => d.vip === vip).reduce((a, d) => a + (d.durationS ?? 0), 0);
    row('client disconnection s (total)', vip, sum(ld), sum(sd));
    row('client disconnections (count)', vip, ld.filter((d) => d.vip === vip).length, sd.filter((d) => d.vip === vip).length);
  }
  return rows;
}

export function conformMarkdown(scenario: string, rows: ConformRow[]): string {
  const f = (x: number | null) => (x === null ? '—' : String(x));
  return [
    `### conform ${scenario}`,
    '',
    '| metric | server | live | sim | err % |',
    '|---|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.metric} | ${r.server} | ${f(r.live)} | ${f(r.sim)} | ${f(r.errPct)} |`),
    '',
  ].join('\n');
}

/** The rows of each of N runs, live and sim (`conform --repeat N`). */
export interface ConformRuns {
  name: string;
  lab: string;
  live: ConformRow[][];
  sim: ConformRow[][];
}

/**
 * Runs a scenario in sim and live and compares them. With `repeat` N > 1: N sim replications
 * (seeds seed, seed + 1, ...) and N live runs, one after another (each live run starts from the
 * lab reset to its initial state); the first run's files are written as for one run (so the web
 * view shows it), the others as `.live-<i>.ndjson` / `.sim-<i>.ndjson`, and `runs` holds every
 * run's rows for the caller to combine.
 */
export async function conform(o: { scenarioFile: string; labFile: string; outDir: string; paramsFile?: string; repeat?: number; log?: (m: string) => void }): Promise<{ json: string; md: string; rows: ConformRow[]; runs: ConformRuns }> {
  const log = o.log ?? (() => undefined);
  const lab = loadLab(o.labFile);
  // lbcluster: per fault, VRRP takeover and real-server drop/re-add (run/lbconform.ts). Its times
  // are the policy's own parameters (advert_int, priorities, checker), not the lab's world: the
  // scenario runs in sim as written, no calibration file needed.
  const asWritten = readScenario(o.scenarioFile);
  let scenario: Scenario;
  let extra: Record<string, unknown> = {};
  let compare: (live: TraceLine[], sim: TraceLine[], name: string) => { rows: ConformRow[]; md: string };
  if (hasPss(asWritten)) {
    // PSS: each layout change's duration and its real servers' power changes (run/pssconform.ts).
    // Its world timings (spare resume, real-server suspend and resume) are the lab's, written in
    // the scenario (live-pss-*.yaml), as are the policy's own intervals.
    scenario = asWritten;
    compare = (live, sim, name) => {
      const rows = pssConformRows(live, sim);
      return { rows, md: conformMarkdown(name, rows) };
    };
  } else if (lbPolicyOf(asWritten)) {
    scenario = asWritten;
    compare = (live, sim, name) => {
      const rows = lbConformRows(live, sim, scenario);
      return { rows, md: lbConformMarkdown(name, rows) };
    };
  } else {
    const paramsFile = o.paramsFile ?? join(lab.logDir, '..', 'calibrate.json');
    let params: CalibrateParams;
    try {
      params = JSON.parse(readFileSync(paramsFile, 'utf8')) as CalibrateParams;
    } catch {
      throw new Error(`no calibration at ${paramsFile}: run \`hatwin calibrate ${o.labFile}\` first (or give --params)`);
    }
    scenario = applyCalibration(readFileSync(o.scenarioFile, 'utf8'), params, o.scenarioFile);
    extra = { params: paramsFile };
    compare = (live, sim, name) => {
      const rows = conformRows(live, sim);
      return { rows, md: conformMarkdown(name, rows) };
    };
  }
  const name = scenario.name ?? basename(o.scenarioFile).replace(/\.ya?ml$/, '');
  const repeat = o.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new Error(`--repeat must be a whole number from 1 to 100, got ${repeat}`);
  mkdirSync(o.outDir, { recursive: true });
  const runs: ConformRuns = { name, lab: lab.name, live: [], sim: [] };
  let first: { rows: ConformRow[]; md: string } | null = null;
  for (let i = 0; i < repeat; i++) {
    const suffix = i === 0 ? '' : `-${i + 1}`;
    const sim = buildSimulation(scenario, { seed: (scenario.seed ?? 1) + i, watchMode: 'skip' });
    sim.run(scenario.until!);
    writeFileSync(join(o.outDir, `conform-${name}.sim${suffix}.ndjson`), toNdjson(sim.events));
    log(`sim ${i + 1}/${repeat} done (${sim.events.length} events)`);
    const live = await runLive({ labFile: o.labFile, scenarioFile: o.scenarioFile, traceFile: join(o.outDir, `conform-${name}.live${suffix}.ndjson`), log });
    log(`live ${i + 1}/${repeat} done`);
    const c = compare(live.events, sim.events, name);
    first ??= c;
    runs.live.push(c.rows);
    runs.sim.push(c.rows);
  }
  const { rows, md: table } = first!;
  const json = join(o.outDir, `conform-${name}.json`);
  const md = join(o.outDir, `conform-${name}.md`);
  writeFileSync(json, `${JSON.stringify({ scenario: name, lab: lab.name, ...extra, rows }, null, 2)}\n`);
  writeFileSync(md, table);
  return { json, md, rows, runs };
}
