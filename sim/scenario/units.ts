// The value types of the scenario language: names, durations and distributions. Policy
// manifests use these too (a policy block is part of a scenario), and import nothing else of sim/.
import { z } from 'zod';
import { parseDurationUs } from '../kernel/time.ts';

export const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, 'a name: a letter, then letters, digits, "_", "." or "-" (at most 63)');

/** A duration in microseconds, written as seconds or "10s"/"250ms"/"5m". */
export const durationUs = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  try {
    return parseDurationUs(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

export const distSchema = z.union([
  z.number().nonnegative().transform((value) => ({ kind: 'constant' as const, value })),
  z.object({ kind: z.literal('constant'), value: z.number().nonnegative() }).strict(),
  z.object({ kind: z.literal('uniform'), min: z.number().nonnegative(), max: z.number().nonnegative() }).strict()
    .refine((d) => d.max >= d.min, 'uniform: max must be >= min'),
  z.object({ kind: z.literal('normal'), mean: z.number(), sd: z.number().nonnegative(), min: z.number().nonnegative().optional(), max: z.number().optional() }).strict(),
  z.object({ kind: z.literal('exponential'), mean: z.number().positive() }).strict(),
  z.object({ kind: z.literal('lognormal'), mu: z.number(), sigma: z.number().nonnegative() }).strict(),
  z.object({ kind: z.literal('empirical'), values: z.array(z.number().nonnegative()).min(1) }).strict(),
]);
export type DistSpec = z.infer<typeof distSchema>;
