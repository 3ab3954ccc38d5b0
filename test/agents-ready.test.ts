// hatwin live waits for its agents: one that exits first fails the wait at once with the end of
// its log (a CI log then shows why); one that never starts fails it at the deadline, also with its
// log; agents that wrote `agent.start` pass.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { agentsReady } from '../run/live.ts';
import { procRef } from '../adapters/lab/proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'hatwin-agents-ready-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const trace = (h: string) => join(dir, `agent-${h}.ndjson`);
const log = (h: string) => join(dir, `agent-${h}.log`);
const started = (cmd: string[]) => {
  const c = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  children.push(c);
  return c;
};
const exited = (c: ChildProcess) => new Promise<void>((res) => (c.exitCode !== null ? res() : c.once('exit', () => res())));

describe('agentsReady', () => {
  it('passes once every agent wrote agent.start', async () => {
    const a = started([process.execPath, '-e', 'setTimeout(() => {}, 20000)']);
    writeFileSync(trace('a'), `${JSON.stringify({ t: 1, kind: 'agent.start', subject: 'a', data: {} })}\n`);
    await expect(agentsReady(['a'], trace, log, () => procRef(a.pid!, 'agent a'), 5_000)).resolves.toBeUndefined();
  });

  it('fails at once when an agent exits before starting, with the end of its log', async () => {
    const b = started([process.execPath, '-e', 'process.exit(1)']);
    await exited(b);
    writeFileSync(log('b'), 'line 1\n[live] error: messenger of b: cannot listen on 10.77.11.11:7400: listen EADDRNOTAVAIL\n');
    const t0 = Date.now();
    await expect(agentsReady(['b'], trace, log, () => procRef(b.pid!, 'agent b'), 60_000)).rejects.toThrow(/agent b exited before starting:[\s\S]*EADDRNOTAVAIL/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('fails at the deadline when an agent runs but never starts, naming it and showing its log', async () => {
    const c = started([process.execPath, '-e', 'setTimeout(() => {}, 20000)']);
    writeFileSync(log('c'), 'still connecting to etcd\n');
    await expect(agentsReady(['c'], trace, log, () => procRef(c.pid!, 'agent c'), 300)).rejects.toThrow(/agent c not ready within 0.3 s:[\s\S]*still connecting to etcd/);
  });
});
