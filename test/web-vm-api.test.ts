// The VM-control routes of the web API without a lab (web/server/vms.ts): a server that follows
// no lab says so, for reads and writes alike, and a token-bound server refuses a write without
// the token before anything else. The routes against a real lab: test/web-vm-live.test.ts (root).
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
