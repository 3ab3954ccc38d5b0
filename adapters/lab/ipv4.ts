// IPv4 addresses as unsigned 32-bit integers, CIDR subnets, and the private ranges (RFC 1918)
// that a lab subnet must lie in.

export interface Cidr {
  text: string;
  network: number;
  mask: number;
  prefix: number;
  broadcast: number;
}

export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x, i) => x > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return null;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function formatIpv4(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

export function parseCidr(s: string): Cidr | null {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return null;
  const ip = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === null || prefix > 32) return null;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ip & mask) >>> 0;
  return { text: s, network, mask, prefix, broadcast: (network | (~mask >>> 0)) >>> 0 };
}

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr(c)!);

/** Whether the whole subnet lies inside one RFC 1918 range. */
export function isPrivateSubnet(c: Cidr): boolean {
  return PRIVATE.some((p) => c.prefix >= p.prefix && ((c.network & p.mask) >>> 0) === p.network);
}

export function inCidr(c: Cidr, address: string): boolean {
  const ip = parseIpv4(address);
  return ip !== null && ((ip & c.mask) >>> 0) === c.network;
}
