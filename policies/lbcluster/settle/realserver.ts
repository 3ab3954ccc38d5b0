// What a real server needs for direct routing, as argv commands (never shell strings): the
// master forwards a client's packet to the server unchanged (only the MAC is rewritten), so the
// server must accept packets for the VIP — the VIP on its loopback — and must never answer ARP
// for the VIP, or clients would bypass the master:
//   arp_ignore = 1: answer ARP only for addresses configured on the interface the request came in on
//   arp_announce = 2: always use the best local address of the outgoing interface as ARP source
// The ARP settings come first, so the server never announces the VIP, even for a moment.
// `all` and the interface's own value: the kernel uses the larger of the two.
import type { Plan, PlannedServer } from './plan.ts';
import type { SettleRequest } from './request.ts';

export type Argv = string[];

export interface RealServerSetup {
  server: string;
  address: string;
  vip: string;
  /** Run in order to set the server up. */
  apply: Argv[];
  /** Run in order to undo it. */
  undo: Argv[];
}

export function realServerSetup(req: SettleRequest, plan: Plan, s: PlannedServer): RealServerSetup {
  const iface = req.servers.interface;
  const sysctl = (key: string, value: number): Argv => ['sysctl', '-w', `net.ipv4.conf.${key}=${value}`];
  const arp = (v: [number, number]): Argv[] => ['all', 'lo', iface].flatMap((dev) => [sysctl(`${dev}.arp_ignore`, v[0]), sysctl(`${dev}.arp_announce`, v[1])]);
  return {
    server: s.name,
    address: s.address,
    vip: plan.vip,
    apply: [
      ...arp([1, 2]),
      ['ip', 'addr', 'add', `${plan.vip}/32`, 'dev', 'lo', 'label', 'lo:0'],
    ],
    undo: [
      ['ip', 'addr', 'del', `${plan.vip}/32`, 'dev', 'lo'],
      ...arp([0, 0]),
    ],
  };
}
