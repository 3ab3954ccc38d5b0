// One user of a lab at a time on a shared machine (two test runs building the same lab would
// tear each other's down): an exclusive lock file holding the owner's PID and start time. A lock
// whose owner is gone is taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlive, procRef, type ProcRef } from './proc.ts';
import type { Lab } from './schema.ts';

export const lockPath = (lab: Pick<Lab, 'name'>) => `/run/hatwin/${lab.name}.lock`;

/** Waits (up to `waitMs`) for the lab's lock; returns its release. */
export async function acquireLabLock(lab: Pick<Lab, 'name'>, waitMs = 600_000, onWait?: (owner: ProcRef) => void): Promise<() => void> {
  const path = lockPath(lab);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const me = procRef(process.pid, 'lab lock');
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => {
        try {
          if ((JSON.parse(readFileSync(path, 'utf8')) as ProcRef).pid === me.pid) rmSync(path, { force: true });
        } catch { /* already gone */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: ProcRef | null = null;
    try {
      owner = JSON.parse(readFileSync(path, 'utf8')) as ProcRef;
    } catch { /* being written or removed */ }
    if (owner && !isAlive(owner)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`lab ${lab.name} is in use by pid ${owner?.pid ?? '?'} (${path})`);
    if (owner && !told && onWait) {
      onWait(owner);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
