import type { PortResult } from './result.ts';

/** Virtual IP addresses and load-balancer pools. `holder` is a host or VM name. */
export interface Network {
  /** Adds the VIP on `holder` and announces it (gratuitous ARP). */
  assignVip(vip: string, holder: string): PortResult<void>;
  removeVip(vip: string, holder: string): PortResult<void>;
  vipHolders(vip: string): PortResult<string[]>;
  poolAdd(pool: string, member: string, weight?: number): PortResult<void>;
  poolRemove(pool: string, member: string): PortResult<void>;
}
