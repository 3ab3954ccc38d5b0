// Wire format of agent messages: one JSON object per line.
//   message: {"v":1,"from":A,"seq":N,"p":PAYLOAD,"mac":HEX}
//   ack:     {"v":1,"ack":N,"ok":true|false,"by":B,"mac":HEX}
// PAYLOAD is the JSON text of {from, to, box, msg}; the MAC is HMAC-SHA256 over a domain tag,
// the sender, the sequence number and the payload text, so none of them can be changed,
// swapped between messages or replayed as an ack. Pure functions (unit-tested).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AgentMessage } from '../../engine/ports/messenger.ts';

export const MAX_FRAME_BYTES = 64 * 1024;

export interface Payload {
  from: string;
  to: string;
  box: string;
  msg: AgentMessage;
}

function mac(key: Buffer, parts: string[]): string {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(`${Buffer.byteLength(p)}:${p}\n`);
  return h.digest('hex');
}

function macEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || !/^[0-9a-f]{64}$/.test(a)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Mailbox names: 1..200 printable characters. */
export function validBox(box: unknown): box is string {
  return typeof box === 'string' && box.length > 0 && box.length <= 200 && !/[\0-\x1f\x7f]/.test(box);
}

export function encodeMessage(key: Buffer, seq: number, payload: Payload): string {
  const p = JSON.stringify(payload);
  const line = JSON.stringify({ v: 1, from: payload.from, seq, p, mac: mac(key, ['hatwin-msg-v1', payload.from, String(seq), p]) });
  if (Buffer.byteLength(line) + 1 > MAX_FRAME_BYTES) throw new RangeError(`message ${payload.msg.type} to ${payload.to}: ${Buffer.byteLength(line)} bytes, more than ${MAX_FRAME_BYTES}`);
  return `${line}\n`;
}

export type Opened =
  | { ok: true; seq: number; payload: Payload }
  | { ok: false; reason: 'malformed' | 'bad-mac'; from?: string; seq?: number };

/** Verifies the MAC before looking inside the payload. */
export function openMessage(key: Buffer, line: string): Opened {
  let f: { v?: unknown; from?: unknown; seq?: unknown; p?: unknown; mac?: unknown };
  try {
    f = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (f === null || typeof f !== 'object' || f.v !== 1 || typeof f.from !== 'string' || typeof f.p !== 'string' || typeof f.mac !== 'string' ||
    typeof f.seq !== 'number' || !Number.isSafeInteger(f.seq) || f.seq < 0) {
    return { ok: false, reason: 'malformed' };
  }
  const from = f.from.slice(0, 64);
  if (!macEqual(f.mac, mac(key, ['hatwin-msg-v1', f.from, String(f.seq), f.p]))) return { ok: false, reason: 'bad-mac', from, seq: f.seq };
  let payload: Payload;
  try {
    payload = JSON.parse(f.p) as Payload;
  } catch {
    return { ok: false, reason: 'malformed', from, seq: f.seq };
  }
  const m = payload?.msg;
  if (payload === null || typeof payload !== 'object' || payload.from !== f.from || typeof payload.to !== 'string' || !validBox(payload.box) ||
    m === null || typeof m !== 'object' || typeof m.type !== 'string' || typeof m.body !== 'object' || m.body === null) {
    return { ok: false, reason: 'malformed', from, seq: f.seq };
  }
  return { ok: true, seq: f.seq, payload };
}

export function encodeAck(key: Buffer, by: string, seq: number, ok: boolean): string {
  return `${JSON.stringify({ v: 1, ack: seq, ok, by, mac: mac(key, ['hatwin-ack-v1', by, String(seq), String(ok)]) })}\n`;
}

/** The ack's verdict if it is authentic and from `by`, else null. */
export function openAck(key: Buffer, line: string, by: string): { seq: number; ok: boolean } | null {
  try {
    const a = JSON.parse(line) as { v?: unknown; ack?: unknown; ok?: unknown; by?: unknown; mac?: unknown };
    if (a.v !== 1 || typeof a.ack !== 'number' || typeof a.ok !== 'boolean' || a.by !== by || typeof a.mac !== 'string') return null;
    if (!macEqual(a.mac, mac(key, ['hatwin-ack-v1', by, String(a.ack), String(a.ok)]))) return null;
    return { seq: a.ack, ok: a.ok };
  } catch {
    return null;
  }
}
