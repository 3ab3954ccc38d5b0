// Validation of every name and address that reaches a command line, a packet or a key: lab files
// are code (DESIGN.md, Security), so a name that is not plainly a name is refused before use.
// Names start with a letter or digit (never '-': no option injection) and hold only
// [A-Za-z0-9._-]; addresses are dotted-quad IPv4 literals (no host names, no lookups).

/** Host, VM, service and agent names. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Network interface names (Linux: at most 15 characters). */
export const IFACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC_RE = /^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/;

export class InvalidNameError extends Error {
  constructor(what: string, value: unknown, expected: string) {
    super(`invalid ${what} ${JSON.stringify(value)}: expected ${expected}`);
  }
}

/** Returns `name` if it is a plain name; throws otherwise. `what` says what it names. */
export function assertName(what: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new InvalidNameError(what, name, 'a letter or digit, then up to 62 of [A-Za-z0-9._-]');
  }
  return name;
}

export function assertIface(name: unknown): string {
  if (typeof name !== 'string' || !IFACE_RE.test(name)) {
    throw new InvalidNameError('interface name', name, 'a letter or digit, then up to 14 of [A-Za-z0-9._-]');
  }
  return name;
}

export function isIpv4(addr: unknown): addr is string {
  return typeof addr === 'string' && IPV4_RE.test(addr);
}

export function assertIpv4(what: string, addr: unknown): string {
  if (!isIpv4(addr)) throw new InvalidNameError(what, addr, 'an IPv4 address like 10.77.0.11');
  return addr;
}

export function assertPort(what: string, port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidNameError(what, port, 'a TCP/UDP port 1..65535');
  }
  return port;
}

export function assertPrefixLen(len: unknown): number {
  if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > 32) {
    throw new InvalidNameError('prefix length', len, 'an integer 0..32');
  }
  return len;
}

/** The six bytes of a MAC address written as 02:77:00:00:00:11 (or with '-'). */
export function parseMac(mac: unknown): Buffer {
  if (typeof mac !== 'string' || !MAC_RE.test(mac)) {
    throw new InvalidNameError('MAC address', mac, 'six hex bytes like 02:77:00:00:00:11');
  }
  return Buffer.from(mac.replace(/[:-]/g, ''), 'hex');
}
