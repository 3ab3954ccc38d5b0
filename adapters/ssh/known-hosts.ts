// Pinned SSH host keys from known-hosts data (OpenSSH known_hosts format): a connection is
// accepted only when the server's host key equals one pinned for that host and port. Plain and
// hashed (|1|salt|hash) host patterns and [host]:port are understood; wildcards, negations and
// @revoked/@cert-authority markers are refused rather than half-supported.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PinnedKey {
  /** Key type as sent on the wire, e.g. ssh-ed25519. */
  type: string;
  /** The public key blob (base64-decoded). */
  blob: Buffer;
}

interface Entry {
  patterns: string[];
  key: PinnedKey;
  line: number;
}

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
]);

export class KnownHostsError extends Error {}

/** Parses known_hosts text; `source` names it in errors (a file path). */
export function parseKnownHosts(text: string, source = '<known-hosts>'): Entry[] {
  const out: Entry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    if (fields[0].startsWith('@')) {
      throw new KnownHostsError(`${source}:${i + 1}: marker ${fields[0]} is not supported: pin plain host keys`);
    }
    if (fields.length < 3) throw new KnownHostsError(`${source}:${i + 1}: expected "HOSTS KEYTYPE BASE64KEY"`);
    const [hosts, type, b64] = fields;
    if (!KEY_TYPES.has(type)) throw new KnownHostsError(`${source}:${i + 1}: unknown key type ${type}`);
    const blob = Buffer.from(b64, 'base64');
    // The blob starts with its own type name: a mismatch means a corrupt or pasted-wrong line.
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n <= 0 || 4 + n > blob.length || blob.subarray(4, 4 + n).toString() !== type) {
      throw new KnownHostsError(`${source}:${i + 1}: key data does not hold a ${type} key`);
    }
    const patterns = hosts.split(',');
    for (const p of patterns) {
      if (/[*?!]/.test(p)) throw new KnownHostsError(`${source}:${i + 1}: wildcard or negated host pattern ${p} is not supported`);
    }
    out.push({ patterns, key: { type, blob }, line: i + 1 });
  });
  return out;
}

/** How a host appears in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, token: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest();
    const want = Buffer.from(hash, 'base64');
    return want.length === mac.length && timingSafeEqual(want, mac);
  }
  return pattern === token;
}

/** The keys pinned for `host`:`port` (may be empty: then no connection is accepted). */
export function pinnedKeysFor(entries: Entry[], host: string, port: number): PinnedKey[] {
  const token = hostToken(host, port);
  return entries.filter((e) => e.patterns.some((p) => patternMatches(p, token))).map((e) => e.key);
}

/** True when the presented key blob equals one of the pinned keys. */
export function keyIsPinned(pinned: readonly PinnedKey[], presented: Buffer): boolean {
  return pinned.some((k) => k.blob.length === presented.length && timingSafeEqual(k.blob, presented));
}

/** Host key algorithms to offer so the server presents a key of a pinned type. */
export function hostKeyAlgorithms(pinned: readonly PinnedKey[]): string[] {
  const algos: string[] = [];
  for (const k of pinned) {
    const names = k.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [k.type];
    for (const a of names) if (!algos.includes(a)) algos.push(a);
  }
  return algos;
}
