// Navigator's pure decisions (wong-2014): where the secondary container goes, how long a copy
// takes, and the closed-form failover times the experiment compares with the simulation.

export interface UptimeReport {
  host: string;
  /** Seconds since the host last booted. */
  uptimeS: number;
}

/**
 * The host for the secondary container: the one up longest (the Service Depots' uptime reports),
 * never one of `exclude` (the primary's host, hosts that just failed). Ties go to the first name
 * in code-unit order, so the choice does not depend on the order in which reports arrived.
 */
export function chooseSecondary(reports: readonly UptimeReport[], exclude: readonly string[] = []): string | null {
  let best: UptimeReport | null = null;
  for (const r of reports) {
    if (exclude.includes(r.host) || !Number.isFinite(r.uptimeS)) continue;
    if (best === null || r.uptimeS > best.uptimeS || (r.uptimeS === best.uptimeS && r.host < best.host)) best = r;
  }
  return best?.host ?? null;
}

/** Seconds to move `bytes` at `rateBps` bits per second. */
export function transferS(bytes: number, rateBps: number): number {
  if (!(rateBps > 0)) throw new RangeError(`rate must be positive, got ${rateBps}`);
  return (bytes * 8) / rateBps;
}

/** The parameters of the closed-form model (seconds, bytes, bits per second). */
export interface NavigatorTimes {
  imageBytes: number;
  backupRateBps: number;
  transferRateBps: number;
  /** The secondary pilot checks the primary container this often. */
  primaryCheckS: number;
  /** The primary pilot checks the secondary container this often. */
  secondaryCheckS: number;
  /** A failed ping takes this long. */
  pingTimeoutS: number;
  /** Setting the service IP. */
  vipSetS: number;
  /** One remote command (start a daemon, start a VM, ask a depot). */
  commandS: number;
  /** The monitoring daemon's start time inside the container. */
  serviceStartS: number;
  /** Booting the container (VM start). */
  containerStartS: number;
  /** Asking the depots for uptimes (the replies' wait). */
  uptimeQueryS: number;
}

/**
 * Mean times of Table 5-7's three cases for a failure at a uniformly random instant:
 *  - primary failover: half a primary check interval to the first failed check, its ping timeout,
 *    then the service IP and the monitoring daemon on the secondary container;
 *  - secondary failover: half a secondary check interval, the ping timeout, then a new secondary
 *    (uptime query, image transfer, the new pilot's backup, container start);
 *  - fallback: the primary failover, then a new secondary the same way.
 */
export function table57Model(p: NavigatorTimes): { primary_failover: number; secondary_failover: number; fallback: number; newSecondaryS: number } {
  const transfer = transferS(p.imageBytes, p.transferRateBps);
  const backup = transferS(p.imageBytes, p.backupRateBps);
  // Uptime query, transfer (a command starts it), the pilot's start message, the backup (a
  // command), the container start (a command), the daemon stopped (a command: idle).
  const newSecondaryS = p.uptimeQueryS + p.commandS + transfer + backup + p.commandS + p.commandS + p.containerStartS + p.commandS;
  const takeoverS = p.vipSetS + p.commandS + p.serviceStartS;
  const primary = p.primaryCheckS / 2 + p.pingTimeoutS + takeoverS;
  const secondary = p.secondaryCheckS / 2 + p.pingTimeoutS + newSecondaryS;
  return { primary_failover: primary, secondary_failover: secondary, fallback: primary + newSecondaryS, newSecondaryS };
}
