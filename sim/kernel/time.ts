// Simulated time is an integer number of microseconds. These helpers convert at the edges.
export const US_PER_MS = 1_000;
export const US_PER_S = 1_000_000;

/**
 * The longest simulated time and the longest duration a scenario may give: 100 years (36525 days).
 * The kernel's event keys (2·t + lane) are exact for t < 2^52 µs (~142 years); staying at 100
 * years leaves room for "now + any duration" to stay an exact integer beyond the end of a run.
 */
export const MAX_TIME_US = 36_525 * 86_400 * US_PER_S;
export const MAX_TIME_S = MAX_TIME_US / US_PER_S;
/** How the bound reads in messages. */
export const MAX_TIME_TEXT = '36525d (100 years)';

export const sToUs = (s: number): number => Math.round(s * US_PER_S);
export const msToUs = (ms: number): number => Math.round(ms * US_PER_MS);
export const usToS = (us: number): number => us / US_PER_S;

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, min: 60e6, h: 3600e6, d: 86400e6 };

/**
 * Parses "250ms", "10s", "5m", "2h", "3d" or a bare number of seconds into microseconds.
 * Throws on anything else, on a negative or non-finite number and on a duration longer than
 * MAX_TIME_US.
 */
export function parseDurationUs(text: string | number): number {
  let us: number;
  if (typeof text === 'number') {
    if (!Number.isFinite(text)) throw new Error(`not a duration: ${text} (expected a finite number of seconds)`);
    if (text < 0) throw new Error(`a duration cannot be negative (got ${text})`);
    us = text * US_PER_S;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|min|h|d)?\s*$/.exec(text);
    if (!m) throw new Error(`not a duration: "${clip(text)}" (expected e.g. 250ms, 10s, 5m, 2h, 3d)`);
    us = Number(m[1]) * UNIT_US[m[2] ?? 's'];
  }
  if (!(us <= MAX_TIME_US)) throw new Error(`too long: ${clip(String(text))} is more than ${MAX_TIME_TEXT}, the longest simulated time`);
  return Math.round(us);
}

const clip = (t: string): string => (t.length > 40 ? `${t.slice(0, 40)}...` : t);
