// The typed failures of port operations. Adapters (sim and live) throw PortErrors; policies branch
// on `kind`, never on message text, and trace the message.
//   unreachable  the target (or the path to it) is not there: no route, host off, message lost
//   refused      the target is there and said no: connection refused, daemon stopped
//   timeout      no answer within the operation's bound
//   failed       the operation ran and failed (a command's exit status, a hypervisor error)

export type PortErrorKind = 'unreachable' | 'refused' | 'timeout' | 'failed';

export const PORT_ERROR_KINDS: readonly PortErrorKind[] = ['unreachable', 'refused', 'timeout', 'failed'];

export class PortError extends Error {
  override name = 'PortError';
  constructor(readonly kind: PortErrorKind, message: string, readonly detail: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Any error as a PortError: a PortError stays itself, anything else is 'failed' with its message. */
export function portErrorOf(e: unknown): PortError {
  if (e instanceof PortError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new PortError('failed', msg, {}, { cause: e });
}

/** True when the target went away or did not answer (as opposed to refusing or failing). */
export const isGone = (e: unknown): boolean => {
  const k = portErrorOf(e).kind;
  return k === 'unreachable' || k === 'timeout';
};
