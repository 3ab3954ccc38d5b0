// IPv4 addresses and prefixes as numbers: parsing, formatting, segment arithmetic. Addresses
// are dotted-quad literals only (no host names, no lookups).

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const IPV4_RE = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
export const CIDR_RE = new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?\\d)$`);

export function isIpv4(s: string): boolean {
  return IPV4_RE.test(s);
}

/** The address as an unsigned 32-bit number. Throws on anything but a dotted quad. */
export function ipToInt(s: string): number {
  if (!IPV4_RE.test(s)) throw new Error(`not an IPv4 address: ${JSON.stringify(s)}`);
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
}

export interface Cidr {
  /** The network address (host bits cleared). */
  network: number;
  prefixLen: number;
  /** The number of addresses in it. */
  size: number;
}

/** Parses "10.77.100.0/24"; host bits must be 0. */
export function parseCidr(s: string): Cidr {
  if (!CIDR_RE.test(s)) throw new Error(`not an IPv4 prefix like 10.77.100.0/24: ${JSON.stringify(s)}`);
  const [a, l] = s.split('/');
  const prefixLen = Number(l);
  const size = 2 ** (32 - prefixLen);
  const addr = ipToInt(a);
  if (addr % size !== 0) throw new Error(`${s} has host bits set (the network is ${intToIp(addr - (addr % size))}/${prefixLen})`);
  return { network: addr, prefixLen, size };
}

export const formatCidr = (c: Cidr): string => `${intToIp(c.network)}/${c.prefixLen}`;

export function contains(c: Cidr, addr: number): boolean {
  return addr >= c.network && addr < c.network + c.size;
}

/** The addresses hosts may use: without the network and broadcast addresses (for /31 and /32: all). */
export function hostRange(c: Cidr): { first: number; last: number } {
  if (c.prefixLen >= 31) return { first: c.network, last: c.network + c.size - 1 };
  return { first: c.network + 1, last: c.network + c.size - 2 };
}
