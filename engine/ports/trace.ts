// The engine emits the one trace type of hatwin (trace/event.ts).
export type { TraceEvent, TraceSink } from '../../trace/event.ts';
