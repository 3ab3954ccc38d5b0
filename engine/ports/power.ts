import type { PortResult } from './result.ts';

/** Power control of real servers. */
export interface Power {
  /** Sends a Wake-on-LAN magic packet to `mac`; resolves once sent (not when the host is up). */
  wake(mac: string): PortResult<void>;
  shutdown(host: string): PortResult<void>;
  reboot(host: string): PortResult<void>;
  suspend(host: string): PortResult<void>;
  resume(host: string): PortResult<void>;
}
