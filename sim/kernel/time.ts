// Simulated time is an integer number of microseconds. These helpers convert at the edges.
export const US_PER_MS = 1_000;
export const US_PER_S = 1_000_000;

export const sToUs = (s: number): number => Math.round(s * US_PER_S);
export const msToUs = (ms: number): number => Math.round(ms * US_PER_MS);
export const usToS = (us: number): number => us / US_PER_S;

/** Parses "250ms", "10s", "5m", "2h", "3d" or a bare number of seconds into microseconds. */
export function parseDurationUs(text: string | number): number {
  if (typeof text === 'number') return sToUs(text);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|min|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`not a duration: "${text}" (expected e.g. 250ms, 10s, 5m, 2h, 3d)`);
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, min: 60e6, h: 3600e6, d: 86400e6 };
  return Math.round(v * factor[unit]);
}
