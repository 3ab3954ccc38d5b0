// Request bodies of the web API (zod), and how their problems are told to the caller.
import { z } from 'zod';
import { durationUs, faultSchema } from '../../sim/scenario/schema.ts';
import { MAX_UNTIL_TEXT, MAX_UNTIL_US } from './limits.ts';

export const MAX_SPEED = 10_000;

/** A duration (seconds or "10m") of at most MAX_UNTIL_US. */
const boundedDuration = (what: string) => durationUs.pipe(z.number().max(MAX_UNTIL_US, `${what} must be at most ${MAX_UNTIL_TEXT}`));

/** x1 ... x10000 of real time, or "max" (as fast as possible). */
export const speedSchema = z.union([
  z.literal('max'),
  z.number().min(1, 'speed must be at least 1 (x1 = real time)').max(MAX_SPEED, `speed must be at most ${MAX_SPEED}, or "max"`),
], { error: `speed: a number from 1 to ${MAX_SPEED} (times real time) or "max"` });

export const startRunSchema = z.object({
  scenario: z.string({ error: 'scenario: the id of a scenario (GET /api/scenarios lists them)' }).min(1, 'scenario: the id of a scenario (GET /api/scenarios lists them)'),
  seed: z.number().int('seed must be an integer').optional(),
  speed: speedSchema.default('max'),
  /** Start paused (then step, or resume). */
  paused: z.boolean().default(false),
  /** Simulated time to run (seconds or "10m"); default: the scenario's `until`, else 1 h. */
  until: boundedDuration('until').optional(),
}).strict();

export const speedBodySchema = z.object({ speed: speedSchema }).strict();

export const stepSchema = z.object({
  /** Advance by this much simulated time; without it, run the next instant that has events. */
  by: boundedDuration('by').optional(),
}).strict();

/** A fault of the scenario's kinds, injected now: the fault schema without `at`. */
export function parseFault(body: unknown): z.ZodSafeParseResult<z.infer<typeof faultSchema>> | { success: false; error: { issues: Issue[] } } {
  if (typeof body === 'object' && body !== null && 'at' in body) {
    return { success: false, error: { issues: [{ path: ['at'], message: 'a fault is injected at the run\'s current simulated time: leave out "at"' }] } };
  }
  return faultSchema.safeParse(typeof body === 'object' && body !== null ? { ...body, at: 0 } : body);
}

/** POST /api/lab/runs: a scenario of the catalog, run live on the lab. */
export const startLiveSchema = z.object({
  scenario: z.string({ error: 'scenario: the id of a scenario (GET /api/scenarios lists them)' }).min(1, 'scenario: the id of a scenario (GET /api/scenarios lists them)'),
}).strict();

/** A lab fault (adapters/lab/lab.ts labFault) injected into a live run now. */
export const labFaultSchema = z.object({
  kind: z.enum(['St1', 'St2', 'Nt1', 'Nt2', 'pause', 'link-down', 'partition-oneway', 'heal'], { error: 'kind: one of St1, St2, Nt1, Nt2, pause, link-down, partition-oneway, heal (the lab\'s faults)' }),
  target: z.string({ error: 'target: a host of the lab' }).min(1, 'target: a host of the lab'),
  /** St1/St2: the service (default: the host's first). */
  service: z.string().min(1).optional(),
  /** partition-oneway: drop only what comes from this host, VM, client or etcd. */
  peer: z.string().min(1).optional(),
}).strict();

export const replaySchema = z.object({
  /** A saved trace: a path relative to the out directory (a leading "out/" is accepted). */
  path: z.string().min(1).regex(/\.ndjson$/, 'path: a saved trace ending in .ndjson'),
  /** The scenario the trace came from, to draw services that never changed state. */
  scenario: z.string().min(1).optional(),
  speed: speedSchema.default('max'),
  paused: z.boolean().default(false),
}).strict();

export const replayQuerySchema = z.object({
  scenario: z.string().min(1).optional(),
  speed: z.union([z.literal('max'), z.coerce.number().min(1).max(MAX_SPEED)]).default('max'),
  paused: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
}).strict();

export interface Issue {
  path: PropertyKey[];
  message: string;
}

/** "field: message" for each issue (the whole body when the path is empty). */
export function describeIssues(issues: readonly Issue[]): string {
  return issues.map((i) => {
    const path = i.path.map(String).join('.');
    if (i.message.startsWith(`${path}:`)) return i.message;
    return path ? `${path}: ${i.message}` : i.message;
  }).join('; ');
}
