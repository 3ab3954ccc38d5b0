// Named random streams derived from one master seed (seedrandom's Alea generator).
// Each stream is seeded from (master seed, stream name) alone, so adding or using another
// stream never changes this stream's draws.
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  readonly name: string;
}

class AleaRng implements Rng {
  private readonly gen: () => number;
  constructor(readonly name: string, seed: string) {
    this.gen = seedrandom.alea(seed);
  }
  next(): number {
    return this.gen();
  }
}

export class RngStreams {
  private readonly streams = new Map<string, Rng>();
  constructor(readonly masterSeed: number | string) {}

  /** The stream called `name`; the same object on every call. */
  stream(name: string): Rng {
    let s = this.streams.get(name);
    if (!s) {
      s = new AleaRng(name, `hatwin/${this.masterSeed}/${name}`);
      this.streams.set(name, s);
    }
    return s;
  }
}
