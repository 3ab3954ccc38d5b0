// A real one-member etcd for the live tests: loopback only, non-default ports (a stray system
// etcd on 2379 cannot clash), a temporary data dir; ended by PID.
import { join } from 'node:path';
import { freePort, requireBinary, startChild, tempDir, waitForPort, type Child } from './procs.ts';

export interface Etcd {
  endpoint: string;
  child: Child;
  stop: () => Promise<void>;
}

export async function startEtcd(): Promise<Etcd> {
  const bin = requireBinary('/usr/bin/etcd');
  const tmp = tempDir('etcd');
  const client = await freePort();
  const peer = await freePort();
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const child = startChild([
    bin,
    '--name', 'hwtest',
    '--data-dir', join(tmp.dir, 'data'),
    '--listen-client-urls', c,
    '--advertise-client-urls', c,
    '--listen-peer-urls', p,
    '--initial-advertise-peer-urls', p,
    '--initial-cluster', `hwtest=${p}`,
    '--initial-cluster-state', 'new',
    '--log-level', 'warn',
  ]);
  await waitForPort('127.0.0.1', client, 15_000, child);
  return {
    endpoint: c,
    child,
    stop: async () => {
      await child.stop();
      tmp.remove();
    },
  };
}
