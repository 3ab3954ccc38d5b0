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

/**
 * What a Node.js system error code (`err.code`) says about the target, or null when the code
 * does not say (ECONNRESET, EPIPE, ...: the operation failed). For live adapters.
 */
export function kindOfErrorCode(code: unknown): PortErrorKind | null {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return null;
  }
}

/** The Node.js system error code of `e` (its own, or its cause's), if any. */
export function errorCodeOf(e: unknown): string | undefined {
  for (let x: unknown = e, depth = 0; x !== null && typeof x === 'object' && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Any error as a PortError, for adapters at their boundary: a PortError stays itself; anything
 * else gets the kind its Node.js error code says ('failed' when none does), and keeps its
 * message unless `message` is given.
 */
export function asPortError(e: unknown, message?: string, detail: Record<string, unknown> = {}): PortError {
  if (e instanceof PortError) return e;
  const code = errorCodeOf(e);
  const kind = kindOfErrorCode(code) ?? 'failed';
  const msg = message ?? (e instanceof Error ? e.message : String(e));
  return new PortError(kind, msg, code === undefined ? detail : { ...detail, code }, { cause: e });
}
