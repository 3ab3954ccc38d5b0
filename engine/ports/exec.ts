import type { PortResult } from './result.ts';

/** Service daemons on a host or VM (live: over SSH as argv). */
export interface Services {
  start(target: string, service: string): PortResult<void>;
  stop(target: string, service: string): PortResult<void>;
  restart(target: string, service: string): PortResult<void>;
}
