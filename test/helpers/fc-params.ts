// fast-check parameters shared by the property tests.
//
// A failing property prints its seed and path ("Counterexample ... seed: 1234, path: "0:1:3"").
// To replay exactly that case, either pass them in the test: fc.assert(prop, { seed, path,
// endOnFailure: true }), or set them in the environment without editing anything:
//
//   HATWIN_FC_SEED=1234 HATWIN_FC_PATH=0:1:3 npx vitest run test/watch.test.ts
import type fc from 'fast-check';

export function fcParams<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.HATWIN_FC_SEED;
  if (seed === undefined) return { numRuns };
  const path = process.env.HATWIN_FC_PATH;
  return { numRuns, seed: Number(seed), ...(path ? { path } : {}), endOnFailure: true };
}
