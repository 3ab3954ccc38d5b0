// VM control against real libvirt (root): a one-host mini-lab on 10.77.6.0/24 (`vm-mini-v`, its
// backup guest Web1b the template) is brought up; a VM is created from the template, started,
// refused what its state does not allow, shut down, modified and deleted, through `hatwin vm`
// and through the web API of `hatwin serve --lab` (bound to 127.0.0.2: the bearer token is
// needed); then the page's VM control does the same in headless Chromium (screenshot
// docs/web-vm.png). Every created guest answers HTTP with its own name on its own address.
// The lab locks of the other lab tests are taken; everything created is removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { LabSession, LAB_HOOK_MS } from './helpers/live/lab-session.ts';
import { loadLab, REPO_DIR, type Lab } from '../adapters/lab/schema.ts';
import { endProcesses, procRef } from '../adapters/lab/proc.ts';
import { LabVmControl } from '../adapters/lab/hypervisor.ts';
import { domainState } from '../adapters/lab/libvirt.ts';
import { domainName } from '../adapters/lab/names.ts';
import type { LabVm } from '../web/shared/api.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('[web-vm-live] skipped: needs root (the mini-lab and libvirt)');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const OUT = join(REPO_DIR, 'out/lab/vm-mini-v');
const TOKEN = 'vm-test-token-0123456789abcdef';

const LAB_YAML = `# One host and its backup guest: the smallest lab VM control needs (the guest is the template).
name: vm-mini-v
subnet: 10.77.6.0/24
bridge: { name: hw-vmminiv, address: 10.77.6.1 }
wolPort: 9
keys: { dir: ${join(OUT, 'keys')}, generate: true }
etcd: { address: 10.77.6.2, clientPort: 23794, peerPort: 23804 }
client: { name: client, address: 10.77.6.200, interval: 1s, timeout: 800ms }
hosts:
  - name: Web1
    address: 10.77.6.14
    mac: "02:77:06:00:00:14"
    bootDelay: 2s
    services:
      - { name: httpd, protocol: http, port: 80, argv: [busybox, nc, -ll, -p, "{port}", -e, "{repo}/scripts/guest/svc/http.sh"] }
backupVms:
  - { name: Web1b, backs: Web1, address: 10.77.6.24, mac: "52:54:00:77:06:24", memoryMb: 128 }
vips:
  - { name: vip-web1, address: 10.77.6.104, service: httpd, holder: Web1 }
`;

/** GET http://address/ from the root namespace (on the lab bridge); the body, or null. */
function httpGet(address: string, timeoutMs = 1500): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ host: address, port: 80, path: '/', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const hatwinVm = (args: string[]) => {
  const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin/hatwin.js'), 'vm', ...args], { cwd: REPO_DIR, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.trim() };
};

describe.skipIf(!isRoot)('VM control on real libvirt (lab vm-mini-v on 10.77.6.0/24)', () => {
  let lab: Lab;
  let labFile: string;
  let session: LabSession | null = null;
  let serve: ChildProcess | null = null;
  let url = '';
  const serveLog: string[] = [];
  let ctx: BrowserContext | null = null;
  let profile = '';

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    labFile = join(OUT, 'lab.yaml');
    writeFileSync(labFile, LAB_YAML);
    lab = loadLab(labFile);
    session = new LabSession(lab, 'web-vm-live');
    await session.up();
  }, LAB_HOOK_MS);

  afterAll(async () => {
    try {
      await ctx?.close();
      if (serve?.pid && serve.exitCode === null) await endProcesses([procRef(serve.pid, 'hatwin serve')], 'SIGTERM', 40_000).catch(() => undefined);
      if (session?.held) {
        // Created guests are not the lab file's: remove them before the lab goes.
        const gone = await new LabVmControl(lab, null).removeCreated();
        if (gone.length) console.log(`[web-vm-live] removed leftover VMs: ${gone.join(', ')}`);
        expect(await session.down()).toEqual([]);
      }
    } finally {
      session?.release();
      if (profile) rmSync(profile, { recursive: true, force: true });
      writeFileSync(join(OUT, 'serve.log'), serveLog.join(''));
    }
  }, 180_000);

  it('hatwin vm: create from the template, start (it answers HTTP with its own name), refusals, shut down, modify, delete', async () => {
    const lab_ = ['--lab', labFile];
    const made = hatwinVm(['create', 'web9', '--cpus', '1', '--memory', '128', ...lab_]);
    expect(made.code, made.err).toBe(0);
    // The highest free address of the subnet.
    expect(made.out).toContain('created web9: stopped, 1 vCPU, 128 MiB, from template Web1b, address 10.77.6.254');
    const listed = JSON.parse(hatwinVm(['list', '--json', ...lab_]).out) as LabVm[];
    expect(listed.map((v) => [v.name, v.state, v.origin, v.address])).toEqual([['Web1b', 'suspended', 'declared', '10.77.6.24'], ['web9', 'stopped', 'created', '10.77.6.254']]);

    expect(hatwinVm(['start', 'web9', ...lab_])).toMatchObject({ code: 0, out: 'start web9: running\n' });
    // The guest's /init serves the template's HTTP with its own name.
    const body = await until('web9 answers HTTP on 10.77.6.254', () => httpGet('10.77.6.254'), 60_000);
    expect(body).toContain('web9');

    expect(hatwinVm(['start', 'web9', ...lab_])).toMatchObject({ code: 2, err: '[vm] error: cannot start VM web9: it is running; start needs defined, stopped, crashed (it runs already)' });
    expect(hatwinVm(['delete', 'web9', ...lab_])).toMatchObject({ code: 2, err: '[vm] error: cannot delete VM web9: it is running; delete needs defined, stopped, crashed (shut it down first)' });
    expect(hatwinVm(['modify', 'web9', '--cpus', '2', ...lab_]).code).toBe(2);
    expect(hatwinVm(['create', 'web9', '--cpus', '1', '--memory', '128', ...lab_]).err).toMatch(/has a host, VM or domain named "web9" already/);
    expect(hatwinVm(['create', 'bad_name', '--cpus', '1', '--memory', '128', ...lab_]).err).toMatch(/bad VM name "bad_name"/);
    expect(hatwinVm(['create', 'huge', '--cpus', '4096', '--memory', '128', ...lab_]).err).toMatch(/4096 vCPUs is more than this machine has \(\d+\)/);
    expect(hatwinVm(['start', 'nope', ...lab_])).toMatchObject({ code: 2, err: '[vm] error: no VM "nope" (VMs: Web1b, web9)' });
    expect(hatwinVm(['delete', 'Web1b', ...lab_]).err).toMatch(/declared by the scenario or lab file/);

    expect(hatwinVm(['shutdown', 'web9', ...lab_])).toMatchObject({ code: 0, out: 'shutdown web9: stopped\n' });
    expect(await domainState(domainName(lab, 'web9'))).toBe('shut off');
    const modified = hatwinVm(['modify', 'web9', '--cpus', '2', '--memory', '192', ...lab_]);
    expect(modified, modified.err).toMatchObject({ code: 0, out: 'modified web9: 2 vCPU, 192 MiB\n' });
    const info = spawnSync('virsh', ['-c', 'qemu:///system', 'dominfo', domainName(lab, 'web9')], { encoding: 'utf8' }).stdout;
    expect(info).toMatch(/^CPU\(s\):\s+2$/m);
    expect(info).toMatch(/^Max memory:\s+196608 KiB$/m);
    expect(hatwinVm(['delete', 'web9', ...lab_])).toMatchObject({ code: 0, out: 'delete web9: deleted\n' });
    expect(await domainState(domainName(lab, 'web9'))).toBeNull();
  }, 600_000);

  it('the web API of hatwin serve --lab (token required off 127.0.0.1): the same life and the same refusals as HTTP statuses', async () => {
    const tokenFile = join(OUT, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const child = spawn(process.execPath, [join(REPO_DIR, 'bin/hatwin.js'), 'serve', '--host', '127.0.0.2', '--port', '0', '--token-file', tokenFile, '--out', join(OUT, 'web-out'), '--lab', labFile], { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    serve = child;
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hatwin serve did not start within 90 s:\n${serveLog.join('')}`)), 90_000);
      child.stdout!.on('data', (d: Buffer) => {
        serveLog.push(d.toString());
        const m = /hatwin web view: (http:\/\/\S+\/)/.exec(serveLog.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.stderr!.on('data', (d: Buffer) => serveLog.push(d.toString()));
      child.once('exit', (code) => reject(new Error(`hatwin serve exited (${code}):\n${serveLog.join('')}`)));
    });
    const call = async (method: string, path: string, body?: unknown, auth = true) => {
      const headers: Record<string, string> = auth ? { Authorization: `Bearer ${TOKEN}` } : {};
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(new URL(path, url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    // The lab reports up (checked every second) before VM control answers.
    await until('lab up', async () => (await call('GET', '/api/lab')).body?.up === true, 30_000);
    expect((await call('POST', '/api/lab/vms', { name: 'web8', cpus: 1, memoryMb: 128 }, false)).status).toBe(401);
    const made = await call('POST', '/api/lab/vms', { name: 'web8', cpus: 1, memoryMb: 128 });
    expect(made).toMatchObject({ status: 201, body: { name: 'web8', state: 'stopped', cpus: 1, memoryMb: 128, template: 'Web1b', origin: 'created' } });
    const address = String(made.body.address);
    expect(await call('POST', '/api/lab/vms/web8/start')).toMatchObject({ status: 200, body: { name: 'web8', state: 'running', address } });
    expect(await until(`web8 answers HTTP on ${address}`, () => httpGet(address), 60_000)).toContain('web8');
    const again = await call('POST', '/api/lab/vms/web8/start');
    expect(again).toMatchObject({ status: 409, body: { error: 'cannot start VM web8: it is running; start needs defined, stopped, crashed (it runs already)' } });
    expect((await call('DELETE', '/api/lab/vms/web8')).status).toBe(409);
    expect((await call('PATCH', '/api/lab/vms/web8', { cpus: 2 })).status).toBe(409);
    expect((await call('POST', '/api/lab/vms', { name: 'web_8', cpus: 1, memoryMb: 128 })).status).toBe(400);
    expect((await call('POST', '/api/lab/vms', { name: 'web7', cpus: 1, memoryMb: 1_000_000 })).status).toBe(422);
    expect((await call('POST', '/api/lab/vms/nope/start')).status).toBe(404);
    expect(await call('POST', '/api/lab/vms/web8/shutdown')).toMatchObject({ status: 200, body: { state: 'stopped' } });
    expect(await call('PATCH', '/api/lab/vms/web8', { cpus: 2, memoryMb: 160 })).toMatchObject({ status: 200, body: { cpus: 2, memoryMb: 160 } });
    expect(await call('DELETE', '/api/lab/vms/web8')).toMatchObject({ status: 200, body: { deleted: 'web8' } });
    const list = await call('GET', '/api/lab/vms');
    expect((list.body.vms as LabVm[]).map((v) => v.name)).toEqual(['Web1b']);
    expect(list.body.templates).toEqual(['Web1b']);
  }, 300_000);

  it('the page: create a VM from the template, start it, shut it down, modify and delete it (screenshot docs/web-vm.png)', async () => {
    expect(url, 'the API test starts the server').not.toBe('');
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install --no-install-recommends chromium`).toBe(true);
    profile = mkdtempSync(join(tmpdir(), 'hatwin-web-vm-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1440, height: 1000 } });
    const page: Page = ctx.pages()[0] ?? (await ctx.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}#token=${TOKEN}`);
    const panel = page.locator('#vm-panel');
    await panel.waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator('#vms tr[data-vm="Web1b"]').waitFor({ timeout: 30_000 });
    await page.fill('#vm-name', 'web6');
    await page.fill('#vm-cpus', '1');
    await page.fill('#vm-memory', '128');
    await page.click('#vm-create-button');
    const row = page.locator('#vms tr[data-vm="web6"]');
    await row.waitFor({ timeout: 60_000 });
    expect(await row.getAttribute('data-state')).toBe('stopped');
    await row.locator('button[data-action=start]').click();
    await page.locator('#vms tr[data-vm="web6"][data-state="running"]').waitFor({ timeout: 60_000 });
    const address = /· (\S+)$/.exec((await row.locator('td').nth(4).textContent()) ?? '')?.[1] ?? '';
    expect(address).toMatch(/^10\.77\.6\.\d+$/);
    expect(await until(`web6 answers HTTP on ${address}`, () => httpGet(address), 60_000)).toContain('web6');
    // A refusal is shown as the server says it: a second VM of more memory than the machine has.
    await page.fill('#vm-name', 'web5');
    await page.fill('#vm-memory', '1000000');
    await page.click('#vm-create-button');
    await page.locator('#message[data-kind=error]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#message').textContent()).toMatch(/create web5: 1000000 MiB is more memory than this machine has \(\d+ MiB\)/);
    expect(await page.locator('#vm-message[data-kind=error]').textContent()).toMatch(/^create web5: 1000000 MiB is more memory than this machine has \(\d+ MiB\)$/);
    await panel.scrollIntoViewIfNeeded();
    await panel.screenshot({ path: join(REPO_DIR, 'docs/web-vm.png') });
    await page.screenshot({ path: join(REPO_DIR, 'test-artifacts/web-vm-page.png'), fullPage: true });
    await row.locator('button[data-action=shutdown]').click();
    await page.locator('#vms tr[data-vm="web6"][data-state="stopped"]').waitFor({ timeout: 60_000 });
    await row.locator('input.cpus').fill('2');
    await row.locator('button[data-action=modify]').click();
    await until('web6 shows 2 vCPUs', async () => (await row.locator('input.cpus').inputValue()) === '2' && (await row.locator('button[data-action=modify]').isEnabled()), 30_000);
    expect(spawnSync('virsh', ['-c', 'qemu:///system', 'dominfo', domainName(lab, 'web6')], { encoding: 'utf8' }).stdout).toMatch(/^CPU\(s\):\s+2$/m);
    await row.locator('button[data-action=delete]').click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    expect(await domainState(domainName(lab, 'web6'))).toBeNull();
    expect(errors).toEqual([]);
  }, 300_000);
});
