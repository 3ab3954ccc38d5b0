export * from './effects.ts';
export * from './runtime.ts';
