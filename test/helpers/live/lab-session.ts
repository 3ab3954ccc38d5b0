// A live test's hold on a mini-lab: one lab test at a time on this machine (the mini-lab test's
// lock, then the lab's own), the lab brought up, and at the end taken down with nothing left.
// Only a session that took both locks takes the lab down: a lock wait that timed out leaves a
// lab that another test is using alone.
import { labDown, labLeftovers, labUp, type UpOptions } from '../../../adapters/lab/lab.ts';
import { acquireLabLock } from '../../../adapters/lab/lock.ts';
import type { Lab } from '../../../adapters/lab/schema.ts';

/**
 * How long a lab test waits for another one to finish. CI runs test files two at a time, and the
 * lab tests together take longer than any one wait: two of them may be queued behind a third.
 * CI's own bound (90 min) stays the real limit.
 */
export const LAB_WAIT_MS = 40 * 60_000;
/** The `beforeAll` bound of a lab test: the wait, then up to 5 min for the lab to come up. */
export const LAB_HOOK_MS = LAB_WAIT_MS + 5 * 60_000;

export class LabSession {
  private readonly releases: Array<() => void> = [];
  /** Both locks taken: the lab is this test's to take down. */
  held = false;

  constructor(readonly lab: Lab, private readonly tag: string) {}

  /** Waits for the locks (up to LAB_WAIT_MS for another lab test), then brings the lab up. */
  async up(opts?: UpOptions): Promise<void> {
    this.releases.push(await acquireLabLock({ name: 'p2p-mini-t' }, LAB_WAIT_MS, (o) => console.log(`[${this.tag}] waiting for pid ${o.pid} (mini-lab test)`)));
    this.releases.push(await acquireLabLock(this.lab, 60_000));
    this.held = true;
    try {
      await labUp(this.lab, (m) => console.log(`[${this.tag}] ${m}`), opts);
    } catch (e) {
      await labDown(this.lab).catch(() => undefined);
      throw e;
    }
  }

  /** Takes the lab down (if held) and says what is left of it: the test expects nothing. */
  async down(): Promise<string[]> {
    if (!this.held) return [];
    await labDown(this.lab);
    return labLeftovers(this.lab);
  }

  /** Lets the locks go (always, in the test's `finally`). */
  release(): void {
    for (const r of this.releases.reverse()) r();
    this.releases.length = 0;
  }
}
