// The one trace line of hatwin: every state change, in sim and live alike, is one of these.
// `t` is an integer number of microseconds (since the run's start in sim, since the run's epoch
// live); `kind` says what happened (`host.state`, `vip.assign`, `trouble.detected`, ...), `subject`
// to what (a host, VM, VIP or client name), `data` the rest. Types only: the page imports it too.

export interface TraceEvent {
  t: number;
  kind: string;
  subject: string;
  data?: Record<string, unknown>;
}

/** Where trace events go as they happen. */
export interface TraceSink {
  emit(ev: TraceEvent): void;
}
