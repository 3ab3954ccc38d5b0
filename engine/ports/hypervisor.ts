import type { PortResult } from './result.ts';

export type VmState = 'defined' | 'starting' | 'running' | 'suspending' | 'suspended' | 'resuming' | 'crashed' | 'stopped';

export interface VmInfo {
  name: string;
  /** The real server the VM runs on, or null when it is not placed. */
  host: string | null;
  state: VmState;
}

/** VM lifecycle on the hypervisor of `host`. Operations resolve when done, reject on failure. */
export interface Hypervisor {
  define(vm: string, host: string): PortResult<void>;
  start(vm: string, host: string): PortResult<void>;
  suspend(vm: string): PortResult<void>;
  /** Activates a suspended VM on `host` (its image lives on the shared file server). */
  resume(vm: string, host: string): PortResult<void>;
  destroy(vm: string): PortResult<void>;
  migrate(vm: string, toHost: string): PortResult<void>;
  list(host?: string): PortResult<VmInfo[]>;
}
