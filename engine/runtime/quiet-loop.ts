// The state every skipping quiet loop keeps (skipSteadyLoad in runtime.ts, skipQuietHolders,
// skipClaimRounds): its mailbox, whether it is in a quiet stretch, the subscriptions of that
// stretch, and the pause hand-over. A quiet stretch listens to its inputs; a notification posts a
// message to the loop, dropped if the stretch has ended by then (`gen`) or the loop is gone. A
// pause of the agent during a stretch ends it and hands over to the naive loop's next step: a late
// event at that step's instant delivers the loop's message, held until the agent resumes as the
// naive loop would be.
import type { Runtime } from './runtime.ts';

/** Where and with what a paused quiet loop resumes: `message()` is taken at that instant. */
export interface HandOver<M> {
  at: number;
  message: () => M;
}

export class QuietLoop<M> {
  /** In a quiet stretch: listening to its inputs, no event of its own. */
  quiet = false;
  /** A change message is posted and not yet received (the loops that look at every notification). */
  posted = false;
  private gen = 0;
  private closed = false;
  private offs: Array<() => void> = [];
  private readonly unhook: () => void;

  /**
   * `handOver(nowUs)`: at a pause during a quiet stretch, the naive loop's next step (after the
   * stretch has ended). `onStop`: more to drop whenever a stretch ends.
   */
  constructor(
    private readonly rt: Runtime,
    agent: string,
    readonly box: string,
    tie: number,
    handOver: (nowUs: number) => HandOver<M>,
    private readonly onStop?: () => void,
  ) {
    this.unhook = rt.onPause(agent, () => {
      if (!this.quiet) return;
      this.stop();
      const h = handOver(rt.nowUs());
      const g = this.gen;
      rt.atLate(h.at, tie, () => {
        if (!this.closed && g === this.gen) rt.deliver(box, h.message());
      });
    });
  }

  /** Starts a quiet stretch; returns the post of its notifications (dropped once it has ended). */
  begin(): (message: M) => void {
    this.quiet = true;
    const g = this.gen;
    return (message) => this.rt.postWhen(this.box, message, () => !this.closed && g === this.gen);
  }

  /** Unsubscribes `off` when the stretch ends. */
  listen(...offs: Array<() => void>): void {
    this.offs.push(...offs);
  }

  /** Ends the quiet stretch: its subscriptions are dropped, its pending messages will be. */
  stop(): void {
    this.quiet = false;
    this.posted = false;
    this.gen++;
    for (const off of this.offs) off();
    this.offs = [];
    this.onStop?.();
  }

  /** The loop is done (its `finally`). */
  close(): void {
    this.closed = true;
    this.stop();
    this.unhook();
    this.rt.dropMailbox(this.box);
  }
}
