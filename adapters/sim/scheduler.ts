// The DES kernel as the runtime's scheduler (it has exactly the Scheduler shape).
import type { Scheduler } from '../../engine/runtime/runtime.ts';
import { Kernel } from '../../sim/kernel/kernel.ts';

export function simScheduler(kernel: Kernel): Scheduler {
  return kernel;
}
