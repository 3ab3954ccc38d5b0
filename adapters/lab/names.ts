// Names of everything a lab creates, derived from the lab file alone, so that `lab down` (and
// `lab up` after a crash) can find leftovers even when the state file is lost.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Lab } from './schema.ts';

/** Short tag of the lab for interface names (at most 15 characters in Linux). */
export function labTag(lab: Pick<Lab, 'name'>): string {
  return `hw${createHash('sha1').update(lab.name).digest('hex').slice(0, 4)}`;
}

// "_" cannot occur in a lab name: "hw_LAB_" never prefixes another lab's names (with "-", lab
// p2p-mini's names would prefix those of lab p2p-mini-l).
export const nsPrefix = (lab: Pick<Lab, 'name'>) => `hw_${lab.name}_`;
export const hostNs = (lab: Pick<Lab, 'name'>, host: string) => `${nsPrefix(lab)}${host}`;
export const clientNs = (lab: Lab) => `${nsPrefix(lab)}${lab.client.name}`;
export const etcdNs = (lab: Lab) => `${nsPrefix(lab)}${lab.etcd.name}`;

/** Root-namespace end of a host's veth (the cable into the bridge). */
export const hostVeth = (lab: Lab, host: string) => `${labTag(lab)}h${lab.hosts.findIndex((h) => h.name === host)}`;
export const clientVeth = (lab: Lab) => `${labTag(lab)}c`;
export const etcdVeth = (lab: Lab) => `${labTag(lab)}e`;
export const guestTap = (lab: Lab, vm: string) => `${labTag(lab)}g${lab.backupVms.findIndex((v) => v.name === vm)}`;
/** The interface inside every namespace. */
export const NS_IF = 'eth0';

export const domainPrefix = (lab: Pick<Lab, 'name'>) => `hatwin_${lab.name}_`;
export const domainName = (lab: Pick<Lab, 'name'>, vm: string) => `${domainPrefix(lab)}${vm}`;

export const statePath = (lab: Lab) => join(lab.stateDir, 'state.json');
export const powerSocket = (lab: Lab, host: string) => join(lab.stateDir, `power-${lab.hosts.findIndex((h) => h.name === host)}.sock`);
export const hostDir = (lab: Lab, host: string) => join(lab.stateDir, 'hosts', host);
/** The host's boot record (epoch ms of its last boot; absent while off): its Service Depot's uptime. */
export const bootRecord = (lab: Lab, host: string) => join(hostDir(lab, host), 'booted-at');
/** Where a host's Service Depot keeps the container image, and its local backup. */
export const depotImage = (lab: Lab, host: string) => join(hostDir(lab, host), 'depot', 'container.img');
export const depotBackup = (lab: Lab, host: string) => join(hostDir(lab, host), 'depot', 'container.img.bak');
/** The monitoring service's database on a PC (SQLite), and the last dump of it the PC's depot received. */
export const depotDatabase = (lab: Lab, host: string) => join(hostDir(lab, host), 'depot', 'monitor.db');
export const depotDump = (lab: Lab, host: string) => join(hostDir(lab, host), 'depot', 'monitor.sql');
/** Records of the guests running on a PC (Navigator containers): one empty file per VM, so its power-off destroys them. */
export const hostVmsDir = (lab: Lab, host: string) => join(hostDir(lab, host), 'vms');
export const hostVmRecord = (lab: Lab, host: string, vm: string) => join(hostVmsDir(lab, host), vm);
export const accessLogPath = (lab: Lab) => join(lab.logDir, 'access.log');
/** VIPs the lab's client leaves alone while they are listed here, one name a line (a scenario's client load: run/live.ts). */
export const clientPausePath = (lab: Lab) => join(lab.stateDir, 'client-pause');
export const guestConsolePath = (lab: Lab, vm: string) => join(lab.logDir, `console-${vm}.log`);

/** Every namespace the lab owns. */
export function labNamespaces(lab: Lab): string[] {
  return [...lab.hosts.map((h) => hostNs(lab, h.name)), clientNs(lab), etcdNs(lab)];
}

/** Every libvirt domain the lab owns. */
export function labDomains(lab: Lab): string[] {
  return lab.backupVms.map((v) => domainName(lab, v.name));
}

/** Every root-namespace interface the lab owns (the bridge, veth ends, guest taps). */
export function labInterfaces(lab: Lab): string[] {
  return [lab.bridge.name, ...lab.hosts.map((h) => hostVeth(lab, h.name)), clientVeth(lab), etcdVeth(lab), ...lab.backupVms.map((v) => guestTap(lab, v.name))];
}
