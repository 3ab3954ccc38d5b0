// VM control on the page for a sim run, in headless Chromium (no root: the twin's world, not a
// lab): p2p-fig13-nt2 runs at x10; a VM is created from FTPb on the page, started (it runs once
// the template's startS has passed in the run; the topology draws it, its lights are green), refused
// and a bad name with the server's words, shut down and deleted (the topology drops it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../web/server/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

describe('VM control on the page for a sim run (headless Chromium)', () => {
  let server: RunningServer;
  let ctx: BrowserContext;
  let page: Page;
  let outDir: string;
  let profile: string;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install --no-install-recommends chromium (scripts/apt/web.txt)`);
    outDir = mkdtempSync(join(tmpdir(), 'hatwin-vm-e2e-out-'));
    profile = mkdtempSync(join(tmpdir(), 'hatwin-vm-e2e-chromium-'));
    mkdirSync('test-artifacts', { recursive: true });
    server = await startServer({ port: 0, host: '127.0.0.1', outDir });
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1440, height: 1000 } });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('pageerror', (e) => errors.push(e.message));
  }, 180_000);

  afterAll(async () => {
    await ctx?.close();
    await server?.close();
    for (const d of [outDir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('create from FTPb, start, refusals, shut down, delete; the topology follows', async () => {
    await page.goto(server.url);
    await page.waitForSelector('#scenario option[value="p2p-fig13-nt2"]', { state: 'attached' });
    await page.selectOption('#scenario', 'p2p-fig13-nt2');
    await page.selectOption('#speed', '10');
    // No run followed and no lab: nothing to control.
    expect(await page.locator('#vm-panel').isHidden()).toBe(true);
    await page.click('#start');
    const panel = page.locator('#vm-panel');
    await panel.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.locator('#vm-where').textContent()).toMatch(/^— sim run [0-9a-f]{8} /);
    await page.locator('#vms tr[data-vm="FTPb"]').waitFor({ timeout: 30_000 });
    await page.selectOption('#vm-template', 'FTPb');
    await page.fill('#vm-name', 'web9');
    await page.fill('#vm-memory', '256');
    await page.click('#vm-create-button');
    const row = page.locator('#vms tr[data-vm="web9"]');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-state')).toBe('defined');
    expect(await row.locator('td').nth(4).textContent()).toBe('created from FTPb');
    await row.locator('button[data-action=start]').click();
    // startS 42.84 s of simulated time: about 4 s at x10.
    await page.locator('#vms tr[data-vm="web9"][data-state="running"]').waitFor({ timeout: 60_000 });
    await page.waitForSelector('svg.topology g.vm[data-name="web9"][data-state="running"]', { timeout: 30_000 });
    // Its lights: the VM (Server) and the template's daemon (Application), probed like the others.
    await page.waitForSelector('.light-row[data-id="vm:web9"][data-l1="green"][data-l2="green"]', { timeout: 30_000 });
    await page.waitForSelector('.light-row[data-id="svc:web9/vsftpd"][data-l1="green"][data-l2="green"]', { timeout: 30_000 });
    // A click on a light shows that object's light changes: dark while defined, green once it runs.
    await page.click('.light-row[data-id="vm:web9"]');
    expect(await page.locator('#history-lights .h-lights[data-id="vm:web9"]').textContent()).toMatch(/^Server lights: dark\/dark at [\d.]+ s → green\/green at [\d.]+ s$/);
    // The whole system's light changes (the paper's History page): web9's among them.
    await page.click('#all-lights');
    await page.locator('#history .h-item[data-kind="light"]').first().waitFor({ timeout: 10_000 });
    const all = await page.locator('#history .h-item[data-kind="light"]').allTextContents();
    expect(all.some((t) => t.includes('web9') && t.includes('lights=green/green'))).toBe(true);

    await page.fill('#vm-name', 'web_9');
    await page.click('#vm-create-button');
    await page.locator('#vm-message[data-kind=error]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#vm-message').textContent()).toBe('create web_9: bad VM name "web_9": a host name label (letters, digits and "-", 1 to 63 characters, not starting or ending with "-")');
    await panel.screenshot({ path: 'test-artifacts/web-vm-sim.png' });

    await row.locator('button[data-action=shutdown]').click();
    await page.locator('#vms tr[data-vm="web9"][data-state="stopped"]').waitFor({ timeout: 60_000 });
    await row.locator('button[data-action=delete]').click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    await page.waitForSelector('svg.topology g.vm[data-name="web9"]', { state: 'detached', timeout: 30_000 });
    const trace = await (await fetch(new URL(`/api/runs/${/sim run ([0-9a-f]{8})/.exec((await page.locator('#vm-where').textContent()) ?? '')![1]}/trace`, server.url))).text();
    expect(trace.split('\n').filter((l) => l.includes('"subject":"web9"')).map((l) => (JSON.parse(l) as { kind: string; data?: { state?: string } })).map((e) => e.data?.state ?? e.kind)).toEqual(['defined', 'starting', 'running', 'running', 'stopped', 'vm.undefine']);
    expect(errors).toEqual([]);
  }, 180_000);
});
