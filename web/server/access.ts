// Who may talk to the server. Bound to a loopback address it answers only requests addressed to
// a loopback name (a DNS-rebinding page cannot reach it): localhost, 127.x.y.z or ::1, in any
// letter case. Bound to anything but exactly 127.0.0.1, ::1 or localhost (the default is
// 127.0.0.1), every state-changing call needs `Authorization: Bearer <token>`; the token is
// generated at start and printed, or read from a file. A cross-site page may never change state
// (Origin check).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';

export interface AccessPolicy {
  /** The token every state-changing call needs, or null when none is required. */
  token: string | null;
  /** Bound to loopback only: then the Host header must name a loopback address. */
  loopbackOnly: boolean;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** A dotted-quad IPv4 address: four decimal numbers 0...255 without leading zeros. */
export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** ::1 however written (0:0:0:0:0:0:0:1, ::0001, ...), without brackets. */
function isIPv6Loopback(s: string): boolean {
  if (!/^[0-9a-f:]+$/i.test(s) || !s.includes(':')) return false;
  try {
    return new URL(`http://[${s}]/`).hostname === '[::1]';
  } catch {
    return false;
  }
}

/**
 * A Host header (or a bind address) split into its lower-cased name and port: `name`,
 * `name:port`, `[v6]` or `[v6]:port`. Null when it is not one of these.
 */
export function parseHost(header: string): { name: string; port: number | null } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/@?#]+))(?::(\d{1,5}))?$/.exec(header);
  if (!m) {
    // A bare IPv6 address (a bind address such as ::1 comes without brackets).
    if (/^[0-9A-Fa-f:]+$/.test(header) && header.includes(':')) return { name: header.toLowerCase(), port: null };
    return null;
  }
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && port > 65_535) return null;
  return { name: (m[1] ?? m[2]).toLowerCase(), port };
}

/** A loopback name: localhost, a valid 127.x.y.z, or ::1 (any letter case, with or without port or brackets). */
export function isLoopbackHost(host: string): boolean {
  const h = parseHost(host);
  if (!h) return false;
  if (h.name === 'localhost') return true;
  if (isIPv4(h.name)) return h.name.startsWith('127.');
  return isIPv6Loopback(h.name);
}

/** The bind addresses that need no token: exactly 127.0.0.1, ::1 or localhost (any other address does, other loopback ones included). */
export function isTokenFreeBind(host: string): boolean {
  const h = parseHost(host);
  if (!h || h.port !== null) return false;
  return h.name === '127.0.0.1' || h.name === 'localhost' || isIPv6Loopback(h.name);
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token of a file: its first line, trimmed; at least 16 characters. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--token-file ${file}: cannot read: ${(e as Error).message}`);
  }
  const token = text.split('\n')[0].trim();
  if (token.length < 16) throw new Error(`--token-file ${file}: the token (first line) must have at least 16 characters, got ${token.length}`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`--token-file ${file}: the token must be printable ASCII without spaces`);
  return token;
}

const json = (res: Response, status: number, error: string) => res.status(status).json({ error });

/** Rejects requests whose Host header is not a loopback name when the server listens on loopback only. */
export function guardHost(p: AccessPolicy) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (p.loopbackOnly) {
      if (!isLoopbackHost(req.headers.host ?? '')) return json(res, 403, `this server listens on loopback only; address it as 127.0.0.1 or localhost (Host: ${req.headers.host ?? 'none'})`);
    }
    next();
  };
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** State-changing calls: same-origin only, and with the bearer token when one is required. */
export function requireToken(p: AccessPolicy) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE.has(req.method)) return next();
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = '';
      }
      if (originHost !== req.headers.host) return json(res, 403, `cross-origin request from ${origin} refused`);
    }
    if (p.token === null) return next();
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) return json(res, 401, 'this server needs a token for state-changing calls: send "Authorization: Bearer <token>" (printed by hatwin serve at start, or the --token-file)');
    const given = Buffer.from(m[1]);
    const want = Buffer.from(p.token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return json(res, 401, 'wrong token');
    next();
  };
}
