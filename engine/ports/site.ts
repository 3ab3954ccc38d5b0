// A site: what a policy sees of the world it manages: hosts, VMs, services, VIPs, addresses and
// MACs, by name. The composition builds it from a scenario (sim) or from a lab file (live), so a
// policy's manifest checks and plans its programs without knowing which world it runs in.

export interface SiteHost {
  name: string;
  /** For Wake-on-LAN ('' when unknown). */
  mac: string;
  /** Service daemons on the host, by name. */
  services: string[];
  /** Load class of the server (kitamura-2018's server types); absent when not given. */
  serverType?: 'CPU' | 'NETWORK' | 'CPU_NET';
  /** Network address (live; the sim addresses hosts by name). */
  address?: string;
  /** Powered on when the run starts. */
  on: boolean;
}

export interface SiteVm {
  name: string;
  services: string[];
  /** The host this VM backs up, when the site says so (a lab's `backs`). */
  backs?: string;
  address?: string;
}

export interface SiteVip {
  name: string;
  /** The service the VIP is for. */
  service?: string;
  /** Who holds it when the run starts (null: nobody). */
  holder: string | null;
  address?: string;
}

export interface Site {
  /** 'sim' or 'live': for messages only; a policy must not branch on it. */
  world: 'sim' | 'live';
  hosts: SiteHost[];
  vms: SiteVm[];
  vips: SiteVip[];
}
