// Distributions as plain data (they come from scenario files) and their samplers.
// Values are in whatever unit the caller uses (the scenarios use seconds).
import type { Rng } from './rng.ts';

export type Dist =
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  /** Normal truncated to [min, max] (by rejection; defaults: min 0, max +inf). */
  | { kind: 'normal'; mean: number; sd: number; min?: number; max?: number }
  | { kind: 'exponential'; mean: number }
  /** exp(N(mu, sigma)). */
  | { kind: 'lognormal'; mu: number; sigma: number }
  /** One of the observed values, each equally likely. */
  | { kind: 'empirical'; values: number[] }
  /** Weibull: P(X > x) = exp(-(x/scale)^shape) (availability traces fit it: shape < 1, long tails). */
  | { kind: 'weibull'; shape: number; scale: number };

const MAX_REJECTIONS = 1000;

/**
 * |z| of a standard normal draw never exceeds this: Box-Muller on a uniform with 53 bits reaches
 * 8.58 (Alea's 32 bits: 6.66). Draws are clamped to it, so the bounds below hold for any Rng.
 */
export const NORMAL_Z_MAX = 9;
/** -ln(1 - u) of an exponential draw never exceeds this (36.7 with 53 bits); clamped likewise. */
export const EXP_MAX = 40;

function standardNormal(rng: Rng): number {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const u = 1 - rng.next();
  const v = rng.next();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return z > NORMAL_Z_MAX ? NORMAL_Z_MAX : z < -NORMAL_Z_MAX ? -NORMAL_Z_MAX : z;
}

export function sample(d: Dist, rng: Rng): number {
  switch (d.kind) {
    case 'constant':
      return d.value;
    case 'uniform':
      return d.min + (d.max - d.min) * rng.next();
    case 'normal': {
      const lo = d.min ?? 0;
      const hi = d.max ?? Infinity;
      if (d.sd === 0) return Math.min(hi, Math.max(lo, d.mean));
      for (let i = 0; i < MAX_REJECTIONS; i++) {
        const x = d.mean + d.sd * standardNormal(rng);
        if (x >= lo && x <= hi) return x;
      }
      // The window lies far in a tail: fall back to its nearer edge.
      return Math.abs(lo - d.mean) < Math.abs(hi - d.mean) ? lo : hi;
    }
    case 'exponential':
      return d.mean * Math.min(EXP_MAX, -Math.log(1 - rng.next()));
    case 'lognormal':
      return Math.exp(d.mu + d.sigma * standardNormal(rng));
    case 'empirical': {
      if (d.values.length === 0) throw new Error('empirical distribution with no values');
      return d.values[Math.floor(rng.next() * d.values.length)];
    }
    case 'weibull':
      // Inversion: x = scale * E^(1/shape) with E a unit exponential (clamped like 'exponential').
      return d.scale * Math.pow(Math.min(EXP_MAX, -Math.log(1 - rng.next())), 1 / d.shape);
  }
}

/**
 * Every value `sample(d, rng)` can return lies in [lo, hi] (for any Rng). Scenario validation uses
 * it to keep drawn durations finite and within the simulated time range.
 */
export function distRange(d: Dist): { lo: number; hi: number } {
  switch (d.kind) {
    case 'constant':
      return { lo: d.value, hi: d.value };
    case 'uniform':
      return { lo: d.min, hi: d.max };
    case 'normal': {
      const lo = d.min ?? 0;
      if (d.sd === 0) return { lo, hi: Math.min(d.max ?? Infinity, Math.max(lo, d.mean)) };
      // Accepted draws lie in [lo, min(max, mean + Z·sd)]; the fallback returns lo or max.
      return { lo, hi: d.max ?? Math.max(lo, d.mean + NORMAL_Z_MAX * d.sd) };
    }
    case 'exponential':
      return { lo: 0, hi: d.mean * EXP_MAX };
    case 'lognormal':
      return { lo: Math.exp(d.mu - NORMAL_Z_MAX * d.sigma), hi: Math.exp(d.mu + NORMAL_Z_MAX * d.sigma) };
    case 'empirical': {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of d.values) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      return { lo, hi };
    }
    case 'weibull':
      return { lo: 0, hi: d.scale * Math.pow(EXP_MAX, 1 / d.shape) };
  }
}

/** The mean of a distribution (for analytical predictions; truncated normal uses its mean). */
export function meanOf(d: Dist): number {
  switch (d.kind) {
    case 'constant':
      return d.value;
    case 'uniform':
      return (d.min + d.max) / 2;
    case 'normal':
      return d.mean;
    case 'exponential':
      return d.mean;
    case 'lognormal':
      return Math.exp(d.mu + (d.sigma * d.sigma) / 2);
    case 'empirical':
      return d.values.reduce((a, b) => a + b, 0) / d.values.length;
    case 'weibull':
      return d.scale * gamma(1 + 1 / d.shape);
  }
}

// Lanczos approximation (g = 7, n = 9), relative error below 1e-13 for real x > 0.5; the
// reflection formula covers the rest. Only meanOf uses it (Weibull means).
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** The gamma function Γ(x) for real x (not a non-positive integer). */
export function gamma(x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x));
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return Math.sqrt(2 * Math.PI) * Math.pow(t, z + 0.5) * Math.exp(-t) * a;
}

/** Lognormal parameters with the given mean and coefficient of variation. */
export function lognormalFromMean(mean: number, cv: number): Dist {
  const sigma2 = Math.log(1 + cv * cv);
  return { kind: 'lognormal', mu: Math.log(mean) - sigma2 / 2, sigma: Math.sqrt(sigma2) };
}
