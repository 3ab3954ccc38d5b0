// Calls to the hatwin server. State-changing calls carry the bearer token when the page has one
// (from #token=... in the address, kept for the tab's session).
import type { ApiError, ConformDetail, ConformEntry, LabInfo, LabVm, LabVms, RunDetail, RunInfo, SavedTrace, ScenarioEntry, Speed, Topology, TraceEvent } from '../shared/api.ts';

const TOKEN_KEY = 'hatwin.token';

function token(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') {
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
  }
  if (body !== undefined) headers['Content-Type'] = contentType;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      msg = (JSON.parse(text) as ApiError).error ?? msg;
    } catch {
      // not JSON
    }
    if (res.status === 401) {
      const given = window.prompt(`${msg}\n\nToken:`);
      if (given) {
        sessionStorage.setItem(TOKEN_KEY, given.trim());
        return call<T>(method, path, body, contentType);
      }
    }
    throw new ApiFailure(res.status, msg);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  scenarios: () => call<ScenarioEntry[]>('GET', '/api/scenarios'),
  runs: () => call<RunInfo[]>('GET', '/api/runs'),
  run: (id: string) => call<RunDetail>('GET', `/api/runs/${encodeURIComponent(id)}`),
  traces: () => call<SavedTrace[]>('GET', '/api/traces'),
  start: (scenario: string, seed: number | undefined, speed: Speed) => call<RunInfo>('POST', '/api/runs', { scenario, seed, speed }),
  pause: (id: string) => call<RunInfo>('POST', `/api/runs/${id}/pause`),
  resume: (id: string) => call<RunInfo>('POST', `/api/runs/${id}/resume`),
  step: (id: string) => call<RunInfo>('POST', `/api/runs/${id}/step`),
  speed: (id: string, speed: Speed) => call<RunInfo>('POST', `/api/runs/${id}/speed`, { speed }),
  fault: (id: string, fault: Record<string, unknown>) => call<{ atUs: number }>('POST', `/api/runs/${id}/faults`, fault),
  replayPath: (path: string, speed: Speed) => call<RunInfo>('POST', '/api/replays', { path, speed }),
  replayUpload: (ndjson: string, speed: Speed) => call<RunInfo>('POST', `/api/replays?speed=${speed}`, ndjson, 'application/x-ndjson'),
  scenario: (id: string) => call<ScenarioEntry & { topology: Topology }>('GET', `/api/scenarios/${id.split('/').map(encodeURIComponent).join('/')}`),
  /** The lab of `hatwin serve --lab`, or null when the server follows none. */
  lab: () => call<LabInfo | null>('GET', '/api/lab'),
  startLive: (scenario: string) => call<RunInfo>('POST', '/api/lab/runs', { scenario }),
  stop: (id: string) => call<RunInfo>('POST', `/api/runs/${id}/stop`),
  labFault: (id: string, fault: Record<string, unknown>) => call<{ atUs: number; message: string }>('POST', `/api/runs/${id}/faults`, fault),
  labVms: () => call<LabVms>('GET', '/api/lab/vms'),
  createVm: (req: { name: string; cpus: number; memoryMb: number; template?: string }) => call<LabVm>('POST', '/api/lab/vms', req),
  vmAction: (name: string, action: 'start' | 'shutdown') => call<LabVm>('POST', `/api/lab/vms/${encodeURIComponent(name)}/${action}`),
  modifyVm: (name: string, change: { cpus?: number; memoryMb?: number }) => call<LabVm>('PATCH', `/api/lab/vms/${encodeURIComponent(name)}`, change),
  deleteVm: (name: string) => call<{ deleted: string }>('DELETE', `/api/lab/vms/${encodeURIComponent(name)}`),
  runVms: (id: string) => call<LabVms & { nowUs: number }>('GET', `/api/runs/${encodeURIComponent(id)}/vms`),
  createRunVm: (id: string, req: { name: string; cpus: number; memoryMb: number; template?: string }) => call<{ atUs: number; vm: LabVm }>('POST', `/api/runs/${encodeURIComponent(id)}/vms`, req),
  runVmAction: (id: string, name: string, action: 'start' | 'shutdown') => call<{ atUs: number; vm: LabVm }>('POST', `/api/runs/${encodeURIComponent(id)}/vms/${encodeURIComponent(name)}/${action}`),
  modifyRunVm: (id: string, name: string, change: { cpus?: number; memoryMb?: number }) => call<{ atUs: number; vm: LabVm }>('PATCH', `/api/runs/${encodeURIComponent(id)}/vms/${encodeURIComponent(name)}`, change),
  deleteRunVm: (id: string, name: string) => call<{ atUs: number; deleted: string }>('DELETE', `/api/runs/${encodeURIComponent(id)}/vms/${encodeURIComponent(name)}`),
  conformList: () => call<ConformEntry[]>('GET', '/api/conform'),
  conform: (path: string) => call<ConformDetail>('GET', `/api/conform/${path.split('/').map(encodeURIComponent).join('/')}`),
};

export interface RunStream {
  close(): void;
}

/** Follows a run: every past event, then live ones, and status updates. */
export function follow(id: string, on: { events: (evs: Array<{ index: number; event: TraceEvent }>) => void; status: (s: RunInfo) => void; error: (msg: string) => void }): RunStream {
  const es = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
  let batch: Array<{ index: number; event: TraceEvent }> = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const b = batch;
    batch = [];
    if (b.length) on.events(b);
  };
  es.addEventListener('trace', (m) => {
    const me = m as MessageEvent<string>;
    batch.push({ index: Number(me.lastEventId), event: JSON.parse(me.data) as TraceEvent });
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  });
  es.addEventListener('status', (m) => {
    flush();
    on.status(JSON.parse((m as MessageEvent<string>).data) as RunInfo);
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) on.error('the event stream closed');
  };
  return { close: () => es.close() };
}
