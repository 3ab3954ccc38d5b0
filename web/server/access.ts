// Who may talk to the server. Bound to loopback (the default) it answers only requests addressed
// to a loopback name (a DNS-rebinding page cannot reach it). Bound elsewhere, every
// state-changing call needs `Authorization: Bearer <token>`; the token is generated at start and
// printed, or read from a file. A cross-site page may never change state (Origin check).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';

export interface AccessPolicy {
  /** The token every state-changing call needs, or null when none is required. */
  token: string | null;
  /** Bound to loopback only: then the Host header must name a loopback address. */
  loopbackOnly: boolean;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
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
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(host)) return json(res, 403, `this server listens on loopback only; address it as 127.0.0.1 or localhost (Host: ${req.headers.host ?? 'none'})`);
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
