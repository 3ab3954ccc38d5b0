// The VM-control routes of the web API (web/server/vms.ts): in a sim run's world
// (/api/runs/:id/vms: the operations at the run's simulated time, refusals as HTTP statuses);
// on a server that follows no lab (/api/lab/vms: 404 saying so); a token-bound server refuses a
// write without the token first. Against a real lab: test/web-vm-live.test.ts (root).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../web/server/serve.ts';

describe('VM control API on a server that follows no lab', () => {
  let open: RunningServer;
  let guarded: RunningServer;
  let outDir: string;
  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'hatwin-vm-api-'));
    open = await startServer({ port: 0, host: '127.0.0.1', outDir, frontEnd: false });
    guarded = await startServer({ port: 0, host: '127.0.0.2', outDir, frontEnd: false });
  });
  afterAll(async () => {
    await open?.close();
    await guarded?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('every route answers 404 with how to start a server that follows a lab', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/api/lab/vms'], ['POST', '/api/lab/vms', { name: 'web3', cpus: 1, memoryMb: 128 }], ['POST', '/api/lab/vms/web3/start'],
      ['POST', '/api/lab/vms/web3/shutdown'], ['PATCH', '/api/lab/vms/web3', { cpus: 2 }], ['DELETE', '/api/lab/vms/web3'],
    ];
    for (const [method, path, body] of calls) {
      const res = await fetch(new URL(path, open.url), { method, ...(body ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : {}) });
      expect([method, path, res.status, ((await res.json()) as { error: string }).error]).toEqual([method, path, 404, 'this server follows no lab: start it with `hatwin serve --lab LAB.yaml`']);
    }
  });

  it('off 127.0.0.1 a state-changing call without the bearer token is 401, before the lab is looked at', async () => {
    const res = await fetch(new URL('/api/lab/vms', guarded.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'web3', cpus: 1, memoryMb: 128 }) });
    expect(res.status).toBe(401);
    const ok = await fetch(new URL('/api/lab/vms', guarded.url), { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${guarded.token}` }, body: JSON.stringify({ name: 'web3', cpus: 1, memoryMb: 128 }) });
    expect(ok.status).toBe(404);
  });
});

describe('VM control API in a sim run\'s world (/api/runs/:id/vms)', () => {
  let server: RunningServer;
  let outDir: string;
  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'hatwin-vm-api-sim-'));
    server = await startServer({ port: 0, host: '127.0.0.1', outDir, frontEnd: false });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(new URL(path, server.url), { method, ...(body !== undefined ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('p2p-fig13-nt2, paused: create from FTPb, start (running once its startS has passed in the run), refusals, shut down, modify, delete', async () => {
    const run = (await call('POST', '/api/runs', { scenario: 'p2p-fig13-nt2', seed: 1, paused: true })).body as { id: string };
    const base = `/api/runs/${run.id}/vms`;
    const made = await call('POST', base, { name: 'web9', cpus: 1, memoryMb: 512, template: 'FTPb', host: 'Mail' });
    expect(made).toMatchObject({ status: 201, body: { atUs: 0, vm: { name: 'web9', state: 'defined', host: 'Mail', cpus: 1, memoryMb: 512, template: 'FTPb', origin: 'created' } } });
    expect(await call('POST', `${base}/web9/start`)).toMatchObject({ status: 202, body: { atUs: 0, vm: { state: 'starting' } } });
    expect((await call('POST', `/api/runs/${run.id}/step`, { by: '100s' })).status).toBe(200);
    const list = await call('GET', base);
    expect((list.body.vms as Array<{ name: string; state: string }>).find((v) => v.name === 'web9')!.state).toBe('running');
    const trace = await (await fetch(new URL(`/api/runs/${run.id}/trace`, server.url))).text();
    expect(trace).toMatch(/"kind":"vm.state","subject":"web9","data":\{"state":"running","host":"Mail"\}/);
    expect(await call('POST', `${base}/web9/start`)).toMatchObject({ status: 409, body: { error: 'cannot start VM web9: it is running; start needs defined, stopped, crashed (it runs already)' } });
    expect((await call('DELETE', `${base}/web9`)).status).toBe(409);
    expect((await call('PATCH', `${base}/web9`, { cpus: 2 })).status).toBe(409);
    expect((await call('DELETE', `${base}/FTPb`)).status).toBe(409);
    expect((await call('POST', base, { name: 'web_9', cpus: 1, memoryMb: 512 })).status).toBe(400);
    expect((await call('POST', base, { name: 'web8', cpus: 999, memoryMb: 512 })).status).toBe(422);
    expect((await call('POST', base, { name: 'web8', cpus: 1, memoryMb: 512, template: 'nope' })).status).toBe(404);
    expect((await call('POST', `${base}/nope/start`)).status).toBe(404);
    expect((await call('POST', `${base}/web9/shutdown`)).status).toBe(202);
    await call('POST', `/api/runs/${run.id}/step`, { by: '10s' });
    expect(await call('PATCH', `${base}/web9`, { cpus: 2, memoryMb: 1024 })).toMatchObject({ status: 200, body: { vm: { state: 'stopped', cpus: 2, memoryMb: 1024 } } });
    expect(await call('DELETE', `${base}/web9`)).toMatchObject({ status: 200, body: { deleted: 'web9' } });
    expect(((await call('GET', base)).body.vms as Array<{ name: string }>).map((v) => v.name)).toEqual(['Loginb', 'Mailb', 'FTPb', 'Web1b']);
    expect((await call('GET', '/api/runs/nope/vms')).status).toBe(404);
  });
});
