import type { PortResult } from './result.ts';

/** A message between management agents (live: HMAC-signed with a sequence number). */
export interface AgentMessage {
  from: string;
  to: string;
  /** The papers' R/U/D/S files and the like. */
  type: string;
  body: Record<string, unknown>;
}

/** Sends to another agent's mailbox; the receiver reads it with `receive(mailboxOf(to, box))`. */
export interface Messenger {
  send(to: string, mailbox: string, msg: AgentMessage): PortResult<void>;
}

/** The mailbox name under which `agent` receives messages addressed to its `box`. */
export function mailboxOf(agent: string, box: string): string {
  return `${agent}/${box}`;
}
