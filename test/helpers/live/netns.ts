// A small namespace lab built by a test: a bridge in the root namespace (connected to no real
// interface) with an address in a private /24, and hosts as network namespaces joined to it by
// veth pairs. Nothing routes out of it. Torn down by name (the names carry the test's own tag)
// after the processes inside were ended by PID.
import { spawnSync } from 'node:child_process';
import { requireBinary, requireRoot, runSync } from './procs.ts';

export interface NsHost {
  name: string;
  ns: string;
  address: string;
  mac: string;
}

export interface NsLab {
  bridge: string;
  subnet: string;
  /** Root namespace address on the bridge. */
  gateway: string;
  broadcast: string;
  hosts: NsHost[];
  destroy: () => void;
}

const ip = (...args: string[]) => runSync([requireBinary('/usr/sbin/ip'), ...args]);

/** `tag`: 2-5 lowercase letters/digits unique to the test file; `octet`: the 10.231.<octet>.0/24 subnet. */
export function buildNsLab(tag: string, octet: number, hostNames: string[]): NsLab {
  requireRoot('network namespaces and a bridge are built');
  if (!/^[a-z0-9]{2,5}$/.test(tag)) throw new Error(`bad tag ${tag}`);
  const prefix = `10.231.${octet}`;
  const bridge = `hwl${tag}br`;
  const lab: NsLab = { bridge, subnet: `${prefix}.0/24`, gateway: `${prefix}.1`, broadcast: `${prefix}.255`, hosts: [], destroy: () => destroyNsLab(tag, hostNames.length) };
  destroyNsLab(tag, hostNames.length); // leftovers of a crashed run
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${lab.gateway}/24`, 'brd', lab.broadcast, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    hostNames.forEach((name, i) => {
      const ns = `hwl-${tag}-${i}`;
      const veth = `hwl${tag}h${i}`;
      const mac = `02:31:${octet.toString(16).padStart(2, '0')}:00:00:${(i + 2).toString(16).padStart(2, '0')}`;
      const address = `${prefix}.${i + 2}`;
      ip('netns', 'add', ns);
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', ns, 'link', 'set', 'eth0', 'address', mac);
      ip('link', 'set', veth, 'master', bridge, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'brd', lab.broadcast, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      lab.hosts.push({ name, ns, address, mac });
    });
  } catch (e) {
    lab.destroy();
    throw e;
  }
  return lab;
}

export function destroyNsLab(tag: string, hosts: number): void {
  const ipBin = requireBinary('/usr/sbin/ip');
  for (let i = 0; i < hosts; i++) {
    spawnSync(ipBin, ['netns', 'del', `hwl-${tag}-${i}`], { stdio: 'ignore' });
    spawnSync(ipBin, ['link', 'del', `hwl${tag}h${i}`], { stdio: 'ignore' });
  }
  spawnSync(ipBin, ['link', 'del', `hwl${tag}br`], { stdio: 'ignore' });
}

/** The MAC the root namespace has learned for `address` on the bridge, or null. */
export function neighMac(bridge: string, address: string): string | null {
  const out = ip('neigh', 'show', address, 'dev', bridge);
  const m = /lladdr ([0-9a-f:]{17})/.exec(out);
  return m ? m[1] : null;
}
