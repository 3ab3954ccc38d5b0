// A precomputed table of exponential delays (integer microseconds) shared by every contender of
// the hold-model benchmark, so the RNG cost stays out of the measured loop and every contender
// consumes exactly the same delay sequence (one table read per event).
import { RngStreams } from '../sim/kernel/rng.ts';

export interface DelayTable {
  /** Integer delays in microseconds, exponential with mean `meanUs` (rounded down; 0 is possible). */
  readonly table: Int32Array;
  /** table.length - 1 (the length is a power of two): delay k is table[k & mask]. */
  readonly mask: number;
  readonly meanUs: number;
}

export function makeDelayTable(meanUs = 1000, log2Size = 22, seed: number | string = 1): DelayTable {
  const size = 1 << log2Size;
  const rng = new RngStreams(seed).stream('bench/hold-delays');
  const table = new Int32Array(size);
  for (let i = 0; i < size; i++) table[i] = Math.floor(-meanUs * Math.log(1 - rng.next()));
  return { table, mask: size - 1, meanUs };
}
