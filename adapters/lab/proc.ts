// Processes by PID: identity (PID + start time, so a recycled PID is never signalled), liveness
// (a zombie has left its namespaces: it counts as gone), and ending them with a wait.
import { readFileSync } from 'node:fs';

/** A process as recorded in the lab's state: its PID and its start time in clock ticks. */
export interface ProcRef {
  pid: number;
  start: number;
  what: string;
}

function stat(pid: number): { state: string; start: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces and parentheses) start after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], start: Number(rest[19]) };
  } catch {
    return null;
  }
}

export function procRef(pid: number, what: string): ProcRef {
  const s = stat(pid);
  return { pid, start: s?.start ?? 0, what };
}

/** Alive and still the process we recorded (not a zombie, not a recycled PID). */
export function isAlive(ref: ProcRef | number): boolean {
  const pid = typeof ref === 'number' ? ref : ref.pid;
  const s = stat(pid);
  if (!s || s.state === 'Z' || s.state === 'X') return false;
  return typeof ref === 'number' || ref.start === 0 || s.start === ref.start;
}

/** Whether a process is stopped by a signal (state T). */
export function isStopped(pid: number): boolean {
  return stat(pid)?.state === 'T';
}

export function signal(ref: ProcRef | number, sig: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(typeof ref === 'number' ? ref : ref.pid, sig);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until none of the processes is alive; returns those still alive at the deadline. */
export async function waitGone(refs: Array<ProcRef | number>, timeoutMs: number): Promise<Array<ProcRef | number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = refs.filter((r) => isAlive(r));
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(20);
  }
}

/**
 * Ends processes by PID: `first` (SIGTERM, or SIGKILL for a power loss), a wait, then SIGKILL
 * for any left. Stopped processes get SIGCONT after SIGTERM so they can act on it.
 */
export async function endProcesses(refs: Array<ProcRef | number>, first: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', graceMs = 2_000): Promise<void> {
  for (const r of refs) {
    signal(r, first);
    if (first === 'SIGTERM') signal(r, 'SIGCONT');
  }
  const left = await waitGone(refs, first === 'SIGKILL' ? 5_000 : graceMs);
  if (left.length === 0) return;
  for (const r of left) signal(r, 'SIGKILL');
  const stuck = await waitGone(left, 5_000);
  if (stuck.length) throw new Error(`processes did not end: ${stuck.map((r) => (typeof r === 'number' ? r : `${r.what} ${r.pid}`)).join(', ')}`);
}
