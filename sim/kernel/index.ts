export * from './kernel.ts';
export * from './rng.ts';
export * from './distributions.ts';
export * from './time.ts';
