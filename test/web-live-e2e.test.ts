// The web view following a live lab, end to end, in real headless Chromium (root: the mini-lab).
// A copy of experiments/labs/p2p-mini.yaml on its own subnet (10.77.9.0/24) and name is brought
// up; `hatwin serve --lab` runs as a child process; the page starts the live Nt2 scenario
// (experiments/scenarios/live-p2p-nt2.yaml) and sees FTP powered off and red, and its backup
// guest FTPb take vip-ftp, with health lights from real probes of the lab; a fault is injected
// from the page; /metrics of the server and of an agent are scraped and parsed; a live run is
// started and stopped from the page; the run that ended and a lab that went down are shown as
// such (stale lights, "lab DOWN"), never as green. Windows are generous: a loaded 2-core machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { labDown } from '../adapters/lab/lab.ts';
import { LabSession, LAB_HOOK_MS } from './helpers/live/lab-session.ts';
import { loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';
import { endProcesses, procRef } from '../adapters/lab/proc.ts';
import type { LabInfo, RunInfo } from '../web/shared/api.ts';
import { conformRows } from '../run/calibrate.ts';
import { buildSimulation, readScenario } from '../run/sim.ts';
import { parseNdjson, toNdjson } from '../trace/ndjson.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('[web-live-e2e] skipped: needs root (the mini-lab: network namespaces, libvirt guests, power supervisors)');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const SUBNET = '10.77.9.';
const OUT = join(REPO_DIR, 'out/lab/p2p-mini-w');
const AGENT_METRICS_PORT = 9464;
/** experiments/scenarios/live-p2p-nt2.yaml (safety: paper: the lab has no out-of-band fencing). */
const SCENARIO = 'live-p2p-nt2';

interface Sample { value?: string; labels?: Record<string, string>; count?: string; sum?: string }
interface Family { name: string; type: string; metrics: Sample[] }
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** p2p-mini on 10.77.9.0/24 with its own name, bridge and keys, and a 2 s boot delay. */
function testLabFile(): string {
  mkdirSync(OUT, { recursive: true });
  const text = readFileSync(join(REPO_DIR, 'experiments/labs/p2p-mini.yaml'), 'utf8')
    .replace(/^name: p2p-mini$/m, 'name: p2p-mini-w')
    .replace('name: hw-p2pmini,', 'name: hw-p2pminiw,')
    .replace('dir: ../../out/lab/p2p-mini/keys', `dir: ${join(OUT, 'keys')}`)
    .replaceAll('10.77.0.', SUBNET)
    .replaceAll('bootDelay: 5s', 'bootDelay: 2s');
  const file = join(OUT, 'lab.yaml');
  writeFileSync(file, text);
  return file;
}

describe.skipIf(!isRoot)('web view following the live mini-lab (p2p-mini on 10.77.9.0/24) in headless Chromium', () => {
  let lab: Lab;
  let labFile: string;
  let outDir: string;
  let profile: string;
  let serve: ChildProcess | null = null;
  let url = '';
  let ctx: BrowserContext;
  let page: Page;
  const serveLog: string[] = [];
  const pageErrors: string[] = [];
  let session: LabSession | null = null;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the web view's end-to-end tests need Debian's chromium. Install it as root with \`node scripts/setup.mjs\` (scripts/apt/web.txt) or \`apt-get install --no-install-recommends chromium\`.`);
    }
    labFile = testLabFile();
    lab = loadLab(labFile);
    session = new LabSession(lab, 'web-live');
    await session.up();
    // The server's out directory is kept beside the lab's (the live runs' traces, for a look after a failure).
    outDir = join(OUT, 'web-out');
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'hatwin-web-live-chromium-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    // `hatwin serve --lab` as a user runs it (it builds web/dist when needed).
    const child = spawn(process.execPath, [join(REPO_DIR, 'bin/hatwin.js'), 'serve', '--port', '0', '--out', outDir, '--lab', labFile, '--agent-metrics-port', String(AGENT_METRICS_PORT)], {
      cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'],
    });
    serve = child;
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hatwin serve did not start within 90 s:\n${serveLog.join('')}`)), 90_000);
      const onData = (d: Buffer) => {
        serveLog.push(d.toString());
        const m = /hatwin web view: (http:\/\/\S+\/)/.exec(serveLog.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (d: Buffer) => serveLog.push(d.toString()));
      child.once('exit', (code) => reject(new Error(`hatwin serve exited (${code}):\n${serveLog.join('')}`)));
    });
    expect(serveLog.join("")).toMatch(/lab p2p-mini-w \(.*\): up since/);
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1440, height: 1000 } });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  }, LAB_HOOK_MS);

  afterAll(async () => {
    try {
      await ctx?.close();
      if (serve?.pid && serve.exitCode === null) {
        // SIGTERM: the server stops its live runs (agents ended by PID, traces written), then exits.
        await endProcesses([procRef(serve.pid, 'hatwin serve')], 'SIGTERM', 40_000).catch(() => undefined);
      }
      if (session?.held) {
        expect(await session.down()).toEqual([]);
      }
    } finally {
      session?.release();
      if (profile) rmSync(profile, { recursive: true, force: true });
      writeFileSync(join(OUT, 'serve.log'), serveLog.join(''));
    }
  }, 120_000);

  const api = async <T>(path: string): Promise<T> => (await (await fetch(new URL(path, url))).json()) as T;
  const attr = (sel: string, name: string) => page.locator(sel).getAttribute(name);
  const light = (id: string, which: 'l1' | 'l2') => attr(`.light-row[data-id="${id}"]`, `data-${which}`);
  const waitLight = (id: string, which: 'l1' | 'l2', color: string, timeout: number) =>
    page.waitForFunction(([i, w, c]) => document.querySelector(`.light-row[data-id="${i}"]`)?.getAttribute(`data-${w}`) === c, [id, which, color] as const, { timeout })
      .catch(async (e) => {
        throw new Error(`${(e as Error).message}\nlight ${id} ${which}: ${await light(id, which)} (${await attr(`.light-row[data-id="${id}"]`, 'title')})\nstatus: ${await page.textContent('#status')}`);
      });
  let runId = '';

  it('previews the scenario before Start, starts the live Nt2 from the page: FTP goes red, FTPb takes vip-ftp, lights from real probes; a fault from the page', async () => {
    await page.goto(url);
    await page.waitForSelector('#lab[data-up="true"]', { timeout: 20_000 });
    expect(await page.textContent('#lab')).toContain('lab p2p-mini-w: up');
    expect(await page.inputValue('#world')).toBe('live');
    await page.waitForSelector(`#scenario option[value="${SCENARIO}"]`, { state: 'attached' });
    await page.selectOption('#scenario', SCENARIO);
    // The topology before Start: four hosts, their guests, the VIPs; nothing probed yet.
    await page.waitForSelector(`#status[data-state="preview"][data-preview="${SCENARIO}"]`);
    expect(await page.locator('svg.topology g.host').count()).toBe(4);
    expect(await attr('svg.topology g.vip[data-name="vip-ftp"]', 'data-holder')).toBe('FTP');
    expect(await light('phys:FTP', 'l1')).toBe('stale');
    expect(await page.textContent('#lights-key')).toContain('red after 1 missed probe');

    await page.click('#start');
    await page.waitForSelector('#status[data-kind="live"]', { timeout: 20_000 });
    runId = (await attr('#status', 'data-run'))!;
    // Real probes of the lab: FTP answers (power on, ping, its daemon) before the fault; the
    // suspended guests are in standby.
    await waitLight('phys:FTP', 'l1', 'green', 90_000);
    await waitLight('svc:FTP/vsftpd', 'l1', 'green', 20_000);
    await waitLight('vm:FTPb', 'l1', 'dark', 20_000);
    expect(await page.textContent('#lights-source')).toContain('real probes');

    // Nt2 at 11 s: FTP powered off, drawn red; its power light red after one probe, both after three.
    await page.waitForSelector('svg.topology g.host[data-name="FTP"][data-state="off"][data-color="red"]', { timeout: 60_000 });
    await waitLight('phys:FTP', 'l1', 'red', 15_000);
    // The P1 manager resumes FTPb and moves vip-ftp to it; the client is served by FTPb.
    await page.waitForSelector('svg.topology g.vm[data-name="FTPb"][data-state="running"]', { timeout: 30_000 });
    await page.waitForSelector('svg.topology g.vip[data-name="vip-ftp"][data-holder="FTPb"]', { timeout: 30_000 });
    await waitLight('phys:FTP', 'l2', 'red', 15_000);
    await waitLight('vm:FTPb', 'l1', 'green', 15_000);
    await waitLight('vip:vip-ftp', 'l1', 'green', 15_000);
    expect(await attr('svg.topology g.host[data-name="FTP"]', 'data-state')).toBe('off');
    await page.click('.light-row[data-id="phys:FTP"]');
    await page.waitForSelector('#history .h-item[data-kind="fault"]');
    await page.waitForTimeout(600); // transitions settle
    await page.screenshot({ path: join(ARTIFACTS, 'web-live.png'), fullPage: true });
    // The lights came from probes: the run's trace has them, and the failed power probes of FTP.
    const trace = (await (await fetch(new URL(`/api/runs/${runId}/trace`, url))).text()).trim().split('\n').map((l) => JSON.parse(l) as { t: number; kind: string; subject: string; data?: Record<string, unknown> });
    const ftpPower = trace.filter((e) => e.kind === 'health.probe' && e.data?.light === 'phys:FTP');
    expect(ftpPower.some((e) => e.data?.ok === true)).toBe(true);
    expect(ftpPower.filter((e) => e.data?.ok === false).length).toBeGreaterThanOrEqual(3);
    expect(trace.some((e) => e.kind === 'function.recovered' && e.subject === 'FTP' && e.data?.vm === 'FTPb')).toBe(true);
    for (let i = 1; i < trace.length; i++) expect(trace[i].t).toBeGreaterThanOrEqual(trace[i - 1].t);

    // A lab fault from the page: St1 stops Web1's daemon.
    await page.selectOption('#fault-kind', 'St1');
    await page.selectOption('#fault-target', 'Web1');
    await page.click('#inject');
    await page.waitForFunction(() => /^St1 on Web1 injected into the lab at \d+\.\d+ s/.test(document.querySelector('#message:not([hidden])')?.textContent ?? ''), null, { timeout: 20_000 });
    // It is in the run's trace as a fault, and the P2P manager of Web1 detects it.
    await page.waitForFunction(async ([u, id]) => {
      const text = await (await fetch(new URL(`/api/runs/${id}/trace`, u))).text();
      return text.includes('"kind":"fault","subject":"Web1"') && text.includes('"kind":"trouble.detected","subject":"Web1"');
    }, [url, runId] as const, { timeout: 30_000, polling: 1000 });
  }, 300_000);

  it('exports Prometheus metrics from hatwin serve and from an agent, parsed as the text format', async () => {
    const text = await (await fetch(new URL('/metrics', url))).text();
    const fams = parseProm(text);
    const samples = (name: string) => fams.find((f) => f.name === name)?.metrics ?? [];
    const health = samples('hatwin_probes_total').filter((m) => m.labels?.source === 'health' && m.labels?.target === 'FTP' && m.labels?.probe === 'power');
    expect(Number(health[0]?.value)).toBeGreaterThan(3);
    expect(Number(samples('hatwin_probes_failed_total').find((m) => m.labels?.source === 'health' && m.labels?.target === 'FTP' && m.labels?.probe === 'power')?.value)).toBeGreaterThanOrEqual(3);
    expect(Number(samples('hatwin_detections_total').find((m) => m.labels?.target === 'FTP')?.value)).toBeGreaterThanOrEqual(1);
    expect(Number(samples('hatwin_function_recovery_seconds')[0]?.count)).toBeGreaterThanOrEqual(1);
    expect(Number(samples('hatwin_trace_events_total').find((m) => m.labels?.mode === 'live')?.value)).toBeGreaterThan(10);
    // Mail's agent (its P1 manager) on its lab address, from the bridge.
    const mail = lab.hosts.find((h) => h.name === 'Mail')!.address;
    const agentText = await (await fetch(`http://${mail}:${AGENT_METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const agent = parseProm(agentText);
    const agentSamples = (name: string) => agent.find((f) => f.name === name)?.metrics ?? [];
    expect(Number(agentSamples('hatwin_detections_total').find((m) => m.labels?.target === 'FTP')?.value)).toBeGreaterThanOrEqual(1);
    expect(Number(agentSamples('hatwin_function_recovery_seconds')[0]?.count)).toBe(1);
    expect(agent.some((f) => f.name === 'hatwin_messages_dropped_total')).toBe(true);
    expect(agent.some((f) => f.name === 'hatwin_store_errors_total')).toBe(true);
  }, 60_000);

  it('shows the run that ended as ended, its lights stale (never a frozen green)', async () => {
    await page.waitForSelector('#status[data-kind="live"][data-state="done"]', { timeout: 120_000 });
    expect(await page.textContent('#status')).toContain('ended');
    await waitLight('phys:Login', 'l1', 'stale', 10_000);
    expect(await attr('.light-row[data-id="phys:Login"]', 'title')).toMatch(/stale: the live run has ended/);
    const info = await api<RunInfo>(`/api/runs/${runId}`);
    expect(info.traceFile).toMatch(/^web-live\/live-p2p-nt2-\d.*\.ndjson$/);
    const labInfo = await api<LabInfo>('/api/lab');
    expect(labInfo.runs.find((r) => r.webRun === runId)?.state).toBe('done');

    // Sim and live side by side: this run's final trace against the sim's, as `hatwin conform` lays them out.
    const liveEvents = parseNdjson(readFileSync(join(outDir, info.traceFile!), 'utf8'));
    const scenario = readScenario(join(REPO_DIR, 'experiments/scenarios', `${SCENARIO}.yaml`));
    const sim = buildSimulation(scenario, { seed: 1, watchMode: 'skip' });
    sim.run(scenario.until!);
    const dir = join(outDir, 'conform');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'conform-live-p2p-nt2.json'), JSON.stringify({ scenario: 'live-p2p-nt2', lab: lab.name, rows: conformRows(liveEvents, sim.events) }));
    writeFileSync(join(dir, 'conform-live-p2p-nt2.live.ndjson'), toNdjson(liveEvents));
    writeFileSync(join(dir, 'conform-live-p2p-nt2.sim.ndjson'), toNdjson(sim.events));
    await page.focus('#conform-results'); // focus refreshes the list
    await page.waitForSelector('#conform-results option[value="conform/conform-live-p2p-nt2.json"]', { state: 'attached' });
    await page.selectOption('#conform-results', 'conform/conform-live-p2p-nt2.json');
    await page.click('#open-conform');
    await page.waitForSelector('#compare .pair.recovery[data-target="FTP"] text.rec-label.function[data-world="sim"]');
    expect(await page.locator('#compare .pair.host[data-name="FTP"] .lane-live rect.seg-bar[data-state="off"]').count()).toBe(1);
    expect(await page.locator('#compare .pair.host[data-name="FTP"] .lane-sim rect.seg-bar[data-state="off"]').count()).toBe(1);
    expect(await page.locator('#compare .pair.recovery[data-target="FTP"] text.rec-label.function[data-world="sim"]').getAttribute('data-err')).toMatch(/^-?\d+\.\d$/);
    await page.locator('#compare-panel').screenshot({ path: join(ARTIFACTS, 'web-live-compare.png') });
  }, 180_000);

  it('starts and stops a live run from the page', async () => {
    await page.click('#start');
    await page.waitForFunction((old) => {
      const s = document.querySelector('#status');
      return s?.getAttribute('data-kind') === 'live' && s.getAttribute('data-run') !== old && s.getAttribute('data-state') === 'running';
    }, runId, { timeout: 20_000 });
    // The lab run is listed once it has its epoch (after the lab's reset).
    let second = '';
    for (let i = 0; i < 120 && !second; i++) {
      second = (await api<LabInfo>('/api/lab')).runs.find((r) => r.state === 'running')?.webRun ?? '';
      if (!second) await new Promise((r) => setTimeout(r, 500));
    }
    expect(second).not.toBe('');
    await page.waitForSelector(`#status[data-run="${second}"]`);
    await waitLight('phys:Mail', 'l1', 'green', 90_000); // running: probed
    await page.waitForSelector('#stop:not([disabled])');
    await page.click('#stop');
    await page.waitForSelector(`#status[data-run="${second}"][data-state="done"]`, { timeout: 60_000 });
    expect(await page.textContent('#status')).toContain('stopped from the page');
    const labInfo = await api<LabInfo>('/api/lab');
    expect(labInfo.runs.find((r) => r.webRun === second)?.state).toBe('stopped');
  }, 180_000);

  it('says when the lab goes down', async () => {
    await labDown(lab);
    await page.waitForSelector('#lab[data-up="false"]', { timeout: 20_000 });
    expect(await page.textContent('#lab')).toContain('DOWN');
    await page.screenshot({ path: join(ARTIFACTS, 'web-live-lab-down.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
