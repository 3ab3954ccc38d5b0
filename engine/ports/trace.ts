/** One line of a trace: every state change is one of these (NDJSON, `t` in integer microseconds). */
export interface TraceEvent {
  t: number;
  kind: string;
  subject: string;
  data?: Record<string, unknown>;
}

export interface TraceSink {
  emit(ev: TraceEvent): void;
}
