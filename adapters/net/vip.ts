// The Network port against real machines: a VIP is added on its holder with `ip addr add` and
// announced with a gratuitous ARP (`arping -U`, iputils), removed with `ip addr del`, each run
// as argv over SSH on the holder. Without the announcement a client kept the old MAC for 45 s
// after a move; with it the gap was ~50-90 ms (LAB-NOTES). Holders that are not reachable over
// SSH (guests without sshd) get a VipDriver of their own (e.g. the qemu guest agent).
// The Network port's failures are PortErrors: the holder's (SSH: exec.ts's kinds; a driver's
// error by its Node.js code, else 'failed'), and 'failed' for a holder that is not configured, an
// invalid VIP, or pools (not available live).
import { asPortError, PortError } from '../../engine/ports/errors.ts';
import type { Network } from '../../engine/ports/network.ts';
import { ensureOk, type Exec } from '../ssh/exec.ts';
import { assertIface, assertIpv4, assertName, assertPrefixLen } from '../ssh/names.ts';

export interface VipHolderConfig {
  /** Interface the VIP goes on, e.g. eth0. */
  iface: string;
  /** Prefix length of the lab subnet (the VIP is added as VIP/len). */
  prefixLen: number;
}

/** How one holder adds, removes and reports VIPs. */
export interface VipDriver {
  add(vip: string): Promise<void>;
  remove(vip: string): Promise<void>;
  /** Whether the holder has `vip` now; rejects when the holder cannot be asked. */
  has(vip: string): Promise<boolean>;
}

export interface NetEvent {
  kind: string;
  subject: string;
  data?: Record<string, unknown>;
}

export interface LiveNetworkOptions {
  exec: Exec;
  holders: Record<string, VipHolderConfig>;
  /** Drivers for holders that are not managed over SSH (they win over `holders`). */
  drivers?: Record<string, VipDriver>;
  ipPath?: string;
  arpingPath?: string;
  /** Gratuitous ARPs per assignment (iputils arping waits ~1 s per packet). */
  arpingCount?: number;
  timeoutMs?: number;
  /** Timeout for asking one candidate in vipHolders. */
  queryTimeoutMs?: number;
  /** Non-fatal happenings (a failed announcement, an unreachable candidate). */
  onEvent?: (ev: NetEvent) => void;
  /**
   * Out-of-band fencing (a BMC, a switch port, the lab's power supervisor): asked when a holder
   * cannot be reached (or refuses the connection) to remove a VIP. Resolves to how the VIP was confirmed gone ("off",
   * "paused: removed from outside"), or null when it cannot be (the holder runs, cut off): then
   * the removal fails as before, so a policy never sets the VIP elsewhere beside a live holder.
   */
  fence?: (holder: string, vip: string) => Promise<string | null>;
  /**
   * Ask the fence before the holder itself: a fence that answers at once (a local BMC or the lab's
   * supervisor) confirms a powered-off holder without waiting out SSH's connect timeout to it.
   * A fence that refuses (the holder runs and carries the VIP) leaves the removal to the holder.
   */
  fenceFirst?: boolean;
}

/** VIP add/remove over Exec on a host. */
export class ExecVipDriver implements VipDriver {
  private readonly ip: string;
  private readonly arping: string;
  constructor(
    private readonly exec: Exec,
    private readonly host: string,
    private readonly cfg: VipHolderConfig,
    private readonly o: Pick<LiveNetworkOptions, 'ipPath' | 'arpingPath' | 'arpingCount' | 'timeoutMs' | 'queryTimeoutMs' | 'onEvent'>,
  ) {
    assertName('VIP holder', host);
    assertIface(cfg.iface);
    assertPrefixLen(cfg.prefixLen);
    this.ip = o.ipPath ?? '/usr/sbin/ip';
    this.arping = o.arpingPath ?? '/usr/bin/arping';
  }

  private cidr(vip: string): string {
    return `${assertIpv4('VIP', vip)}/${this.cfg.prefixLen}`;
  }

  async add(vip: string): Promise<void> {
    const argv = [this.ip, '-4', 'addr', 'add', this.cidr(vip), 'dev', this.cfg.iface];
    const r = await this.exec.exec(this.host, argv, { timeoutMs: this.o.timeoutMs ?? 10_000 });
    // Already there: adding is idempotent (announce again all the same).
    if (!(r.code === 2 && /already assigned|File exists/i.test(r.stderr))) ensureOk(this.host, argv, r);
    // Serving from here (iputils arping sends its first announcement at once, then waits for its
    // count): the instant a paired sim replays (`vip.effect`, run/calibrate.ts vipEffects).
    this.o.onEvent?.({ kind: 'vip.effect', subject: vip, data: { holder: this.host, op: 'add' } });
    const count = String(this.o.arpingCount ?? 1);
    const garp = [this.arping, '-q', '-U', '-c', count, '-I', this.cfg.iface, '-s', vip, vip];
    const g = await this.exec.exec(this.host, garp, { timeoutMs: this.o.timeoutMs ?? 10_000 }).catch((e: Error) => e);
    if (g instanceof Error || g.code !== 0) {
      // The VIP is set; only the announcement failed: clients learn the MAC by ARP later.
      this.o.onEvent?.({ kind: 'vip.garp-failed', subject: vip, data: { holder: this.host, reason: g instanceof Error ? g.message : g.stderr.trim() || `exit ${g.code}` } });
    }
  }

  async remove(vip: string): Promise<void> {
    const argv = [this.ip, '-4', 'addr', 'del', this.cidr(vip), 'dev', this.cfg.iface];
    const r = await this.exec.exec(this.host, argv, { timeoutMs: this.o.timeoutMs ?? 10_000 });
    if (r.code === 2 && /not found|Cannot assign requested address/i.test(r.stderr)) return;
    ensureOk(this.host, argv, r);
  }

  async has(vip: string): Promise<boolean> {
    assertIpv4('VIP', vip);
    const argv = [this.ip, '-4', '-o', 'addr', 'show', 'dev', this.cfg.iface];
    const r = ensureOk(this.host, argv, await this.exec.exec(this.host, argv, { timeoutMs: this.o.queryTimeoutMs ?? 3_000 }));
    return vipInIpAddrOutput(r.stdout, vip);
  }
}

/** Whether `ip -4 -o addr show` output lists `vip`. */
export function vipInIpAddrOutput(out: string, vip: string): boolean {
  return out.split('\n').some((line) => line.split(/\s+/).some((w, i, ws) => ws[i - 1] === 'inet' && w.split('/')[0] === vip));
}

export class LiveNetwork implements Network {
  private readonly drivers = new Map<string, VipDriver>();

  constructor(private readonly opts: LiveNetworkOptions) {
    for (const [host, cfg] of Object.entries(opts.holders)) this.drivers.set(host, new ExecVipDriver(opts.exec, host, cfg, opts));
    for (const [host, d] of Object.entries(opts.drivers ?? {})) {
      assertName('VIP holder', host);
      this.drivers.set(host, d);
    }
  }

  private driver(holder: string): VipDriver {
    assertName('VIP holder', holder);
    const d = this.drivers.get(holder);
    if (!d) throw new PortError('failed', `VIP holder ${holder}: not configured (give it an interface and prefix length, or a driver)`, { holder });
    return d;
  }

  async assignVip(vip: string, holder: string): Promise<void> {
    try {
      assertIpv4('VIP', vip);
      await this.driver(holder).add(vip);
    } catch (e) {
      throw asPortError(e, undefined, { vip, holder });
    }
  }

  async removeVip(vip: string, holder: string): Promise<void> {
    try {
      assertIpv4('VIP', vip);
      if (this.opts.fence && this.opts.fenceFirst && (await this.fenced(holder, vip))) return;
      await this.driver(holder).remove(vip);
    } catch (e) {
      const pe = asPortError(e, undefined, { vip, holder });
      // Out of reach, or there but refusing the connection (its sshd not up yet after a boot).
      if (this.opts.fence && (pe.kind === 'unreachable' || pe.kind === 'timeout' || pe.kind === 'refused')) {
        if (await this.fenced(holder, vip)) return;
      }
      throw pe;
    }
  }

  /** Asks the fence; true (and traced) when it confirmed the VIP gone from `holder`. */
  private async fenced(holder: string, vip: string): Promise<boolean> {
    const how = await this.opts.fence!(holder, vip).catch((f: unknown) => {
      this.opts.onEvent?.({ kind: 'vip.fence-failed', subject: vip, data: { holder, reason: (f as Error).message } });
      return null;
    });
    if (how === null) return false;
    this.opts.onEvent?.({ kind: 'vip.fenced', subject: vip, data: { holder, how } });
    return true;
  }

  /** Holders that have the VIP now, among the configured ones that answer (in configuration order). */
  async vipHolders(vip: string): Promise<string[]> {
    try {
      assertIpv4('VIP', vip);
    } catch (e) {
      throw asPortError(e, undefined, { vip });
    }
    const names = [...this.drivers.keys()];
    const answers = await Promise.all(names.map((h) => this.drivers.get(h)!.has(vip).catch((e: unknown) => {
      const pe = asPortError(e);
      this.opts.onEvent?.({ kind: 'vip.query-failed', subject: vip, data: { holder: h, kind: pe.kind, reason: pe.message } });
      return false;
    })));
    return names.filter((_, i) => answers[i]);
  }

  poolAdd(pool: string, member: string): Promise<void> {
    return Promise.reject(new PortError('failed', `network.poolAdd ${pool} ${member}: load-balancer pools are not available in live mode yet (no IPVS here; the nft director is the lab's)`));
  }

  poolRemove(pool: string, member: string): Promise<void> {
    return Promise.reject(new PortError('failed', `network.poolRemove ${pool} ${member}: load-balancer pools are not available in live mode yet`));
  }
}
