// The value types of the scenario language: names, durations and distributions. Policy
// manifests use these too (a policy block is part of a scenario), and import nothing else of sim/.
// Every duration and every value a distribution can draw is finite and at most MAX_TIME_US, so a
// simulation never computes a time it cannot represent exactly.
import { z } from 'zod';
import { MAX_TIME_S, MAX_TIME_TEXT, parseDurationUs } from '../kernel/time.ts';
import { EXP_MAX, NORMAL_Z_MAX, distRange } from '../kernel/distributions.ts';

export const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, 'a name: a letter, then letters, digits, "_", "." or "-" (at most 63)');

const DURATION_EXPECTED = 'expected a duration: seconds (a number) or a string like "250ms", "10s", "5m", "2h", "3d"';

/** A duration in microseconds, written as seconds or "10s"/"250ms"/"5m"; at most MAX_TIME_US. */
export const durationUs = z.union([z.number(), z.string()], { error: DURATION_EXPECTED }).transform((v, ctx) => {
  try {
    return parseDurationUs(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** The shortest period a loop may sleep on (monitoring intervals, polls, timeouts): 1 ms. */
export const MIN_PERIOD_US = 1_000;

/**
 * A duration that a loop waits on each round (an interval, a poll, a timeout): at least 1 ms, so
 * simulated time always moves (0 would spin forever at one instant).
 */
export const periodUs = durationUs.refine((us) => us >= MIN_PERIOD_US, {
  message: 'must be at least 1ms: a loop waits this long each round (0 would spin forever at one instant)',
});

/** Seconds as a plain number: >= 0 and at most MAX_TIME_S. */
export const seconds = z.number().nonnegative().max(MAX_TIME_S, `at most ${MAX_TIME_S} s, that is ${MAX_TIME_TEXT}, the longest simulated time`);

const nonneg = z.number().nonnegative();

export const DIST_EXPECTED = 'expected seconds (a number, or a string like "10s") or a distribution such as {kind: normal, mean: 4.67, sd: 0.3} (kinds: constant, uniform, normal, exponential, lognormal, empirical, weibull)';

const distObject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), value: nonneg }).strict(),
  z.object({ kind: z.literal('uniform'), min: nonneg, max: nonneg }).strict()
    .refine((d) => d.max >= d.min, { message: 'uniform: max must be >= min', path: ['max'] }),
  z.object({
    kind: z.literal('normal'),
    mean: z.number().nonnegative('normal: the mean of a duration must be >= 0'),
    sd: nonneg,
    min: nonneg.optional(),
    max: nonneg.optional(),
  }).strict()
    .refine((d) => d.min === undefined || d.max === undefined || d.max >= d.min, { message: 'normal: max must be >= min', path: ['max'] }),
  z.object({ kind: z.literal('exponential'), mean: z.number().positive() }).strict(),
  z.object({ kind: z.literal('lognormal'), mu: z.number(), sigma: nonneg }).strict(),
  z.object({ kind: z.literal('empirical'), values: z.array(nonneg).min(1) }).strict(),
  // Shape below 0.05 would put even the median beyond any simulated time.
  z.object({ kind: z.literal('weibull'), shape: z.number().min(0.05).max(100), scale: z.number().positive() }).strict(),
]).superRefine((d, ctx) => {
  const { hi } = distRange(d);
  if (hi <= MAX_TIME_S) return;
  const shown = Number.isFinite(hi) ? `${hi.toPrecision(3)} s` : 'infinity';
  const how: Record<string, string> = {
    lognormal: `exp(mu + ${NORMAL_Z_MAX}·sigma) = ${shown}`,
    normal: d.kind === 'normal' && d.max !== undefined ? `max = ${shown}` : `mean + ${NORMAL_Z_MAX}·sd = ${shown}`,
    exponential: `${EXP_MAX}·mean = ${shown}`,
    weibull: `scale·${EXP_MAX}^(1/shape) = ${shown}`,
  };
  const fix = d.kind === 'lognormal' ? ` (keep mu + ${NORMAL_Z_MAX}·sigma <= ${Math.log(MAX_TIME_S).toFixed(2)})` : '';
  ctx.addIssue({ code: 'custom', message: `${d.kind}: values reach ${how[d.kind] ?? shown}, more than ${MAX_TIME_TEXT}, the longest simulated time${fix}` });
});

export const distSchema = z.union([
  seconds.transform((value) => ({ kind: 'constant' as const, value })),
  distObject,
], { error: DIST_EXPECTED });
export type DistSpec = z.infer<typeof distSchema>;
