// The twin console: controls, and the views of the run being followed.
import './style.css';
import { api, ApiFailure, follow, type RunStream } from './api.ts';
import { Twin, fmtS } from './model.ts';
import { TopologyView } from './views/topology.ts';
import { LightsView } from './views/lights.ts';
import { TimelineView } from './views/timeline.ts';
import { PowerView } from './views/power.ts';
import { EventsView, fillHistory } from './views/events.ts';
import { FAULT_KINDS, type RunInfo, type ScenarioEntry, type Speed } from '../shared/api.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const el = {
  runForm: $<HTMLFormElement>('run-form'),
  scenario: $<HTMLSelectElement>('scenario'),
  seed: $<HTMLInputElement>('seed'),
  speed: $<HTMLSelectElement>('speed'),
  pause: $<HTMLButtonElement>('pause'),
  step: $<HTMLButtonElement>('step'),
  status: $<HTMLDivElement>('status'),
  message: $<HTMLDivElement>('message'),
  faultForm: $<HTMLFormElement>('fault-form'),
  faultKind: $<HTMLSelectElement>('fault-kind'),
  faultTarget: $<HTMLSelectElement>('fault-target'),
  faultService: $<HTMLSelectElement>('fault-service'),
  faultWith: $<HTMLInputElement>('fault-with'),
  faultDuration: $<HTMLInputElement>('fault-duration'),
  inject: $<HTMLButtonElement>('inject'),
  traceForm: $<HTMLFormElement>('trace-form'),
  savedTraces: $<HTMLSelectElement>('saved-traces'),
  upload: $<HTMLInputElement>('upload-trace'),
  pastRuns: $<HTMLSelectElement>('past-runs'),
  followRun: $<HTMLButtonElement>('follow-run'),
  historyTitle: $<HTMLElement>('history-title'),
  history: $<HTMLElement>('history'),
  historySummary: $<HTMLElement>('history-summary'),
};

let twin: Twin | null = null;
let info: RunInfo | null = null;
let stream: RunStream | null = null;
let lastIndex = -1;
let selected: string | null = null;
let scenarios: ScenarioEntry[] = [];
let attachSeq = 0;

const select = (subject: string) => {
  selected = subject;
  lights.select(subject);
  renderHistory();
  lights.render();
};
const setWindow = (w: [number, number] | null) => {
  timeline.setWindow(w);
  power.setWindow(w);
  dirty = true;
};

const topology = new TopologyView($('topology'), select);
const lights = new LightsView($('lights'), select);
const timeline = new TimelineView($('timeline'), setWindow, select);
const power = new PowerView($('power'));
const events = new EventsView($('events-panel'));

// ---------- messages ----------

let messageTimer: number | undefined;
function say(text: string, kind: 'info' | 'error' = 'info'): void {
  el.message.hidden = false;
  el.message.textContent = text;
  el.message.dataset.kind = kind;
  window.clearTimeout(messageTimer);
  if (kind === 'info') messageTimer = window.setTimeout(() => (el.message.hidden = true), 6000);
}

/** Hides the red banner: a later call succeeded, so what it said no longer holds. */
function clearError(): void {
  if (el.message.dataset.kind === 'error') el.message.hidden = true;
}

async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    const r = await fn();
    clearError();
    return r;
  } catch (e) {
    say(`${what}: ${e instanceof ApiFailure ? e.message : (e as Error).message}`, 'error');
    return undefined;
  }
}

// ---------- rendering ----------

let dirty = true;
let lastHeavy = 0;
function frame(now: number): void {
  topology.render();
  if (dirty && now - lastHeavy > 120) {
    dirty = false;
    lastHeavy = now;
    lights.render();
    timeline.render();
    power.render();
    events.render();
    renderHistory();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
window.addEventListener('resize', () => {
  topology.render(true);
  dirty = true;
});

function renderHistory(): void {
  if (!twin || !selected) return;
  el.historyTitle.textContent = `— ${selected}`;
  el.historyTitle.dataset.subject = selected;
  el.historySummary.textContent = describe(twin, selected);
  fillHistory(el.history, twin.history(selected).reverse().slice(0, 300));
}

/** One line about an object now: its state and its lights. */
function describe(t: Twin, subject: string): string {
  const parts: string[] = [];
  const h = t.hosts.get(subject);
  const v = t.vms.get(subject);
  const vip = t.vips.get(subject);
  if (h) parts.push(`host ${h.state}, ${h.watts} W${h.linkUp ? '' : ', link down'}`);
  else if (v) parts.push(`VM ${v.state}${v.host ? ` on ${v.host}` : ''}`);
  else if (vip) parts.push(`VIP held by ${t.vipHolder(subject) ?? 'nobody'}${t.vipServing(subject) ? ', serving' : ', not serving'}`);
  else if (subject.includes('/')) parts.push(`service ${t.services.get(subject) ?? 'up'}`);
  for (const l of t.lights().filter((x) => x.subject === subject)) {
    parts.push(`${l.level} light${l.standby ? ': standby' : `: ${l.misses} consecutive failed probe${l.misses === 1 ? '' : 's'}`}`);
  }
  return parts.join(' · ');
}

function renderStatus(): void {
  const s = info;
  if (!s) return;
  const speed = s.speed === 'max' ? 'max speed' : `x${s.speed}`;
  const what = s.kind === 'sim' ? `${s.scenario} seed ${s.seed}` : `replay of ${s.traceFile ?? 'an uploaded trace'}`;
  el.status.textContent = `run ${s.id} · ${what} · ${s.state}${s.state === 'running' ? ` ${speed}` : ''} · t = ${fmtS(s.nowUs)} / ${fmtS(s.untilUs)} · ${s.events} events${s.error ? ` · ${brief(s.error)}` : ''}`;
  // The details (the limit hit, an exception's text) on hover and in the banner, not in the bar.
  el.status.title = s.error ? [s.error, s.errorDetail].filter(Boolean).join(': ') : '';
  el.status.dataset.state = s.state;
  el.status.dataset.run = s.id;
  el.status.dataset.kind = s.kind;
  el.status.dataset.nowUs = String(s.nowUs);
  const active = s.state === 'running' || s.state === 'paused';
  el.pause.disabled = !active;
  el.step.disabled = !active;
  el.pause.textContent = s.state === 'paused' ? '▶ Resume' : '❚❚ Pause';
  el.inject.disabled = !(active && s.kind === 'sim');
}

/** A run's error as a short line for the status bar (the server sends one sentence; never more than a few words here). */
function brief(error: string): string {
  const first = error.split('\n')[0];
  return first.length > 80 ? `${first.slice(0, 77)}...` : first;
}

// ---------- following a run ----------

async function attach(id: string): Promise<void> {
  const seq = ++attachSeq;
  stream?.close();
  stream = null;
  const detail = await attempt('open run', () => api.run(id));
  if (!detail || seq !== attachSeq) return;
  twin = new Twin(detail.topology);
  info = detail;
  if (el.message.dataset.kind !== 'error') el.message.hidden = true;
  lastIndex = -1;
  selected = null;
  el.historyTitle.textContent = '— click a light';
  el.history.replaceChildren();
  el.historySummary.textContent = '';
  for (const v of [topology, lights, timeline, power, events]) v.reset(twin);
  fillFaultTargets();
  renderStatus();
  dirty = true;
  const t = twin;
  stream = follow(id, {
    events: (batch) => {
      for (const { index, event } of batch) {
        if (index <= lastIndex) continue; // a reconnect replays from Last-Event-ID; never twice
        lastIndex = index;
        t.apply(event);
      }
      if (t.nodeServices.size !== faultTargetsFor) fillFaultTargets();
      dirty = true;
    },
    status: (s) => {
      const before = info?.state;
      info = s;
      t.advance(s.nowUs);
      renderStatus();
      dirty = true;
      if (before !== s.state) void refreshLists(); // the runs list shows states; a finished run adds a saved trace
      if (before !== undefined && before !== s.state && s.error) say(`run ${s.id}: ${s.error}${s.errorDetail ? ` (${s.errorDetail})` : ''}`, 'error');
    },
    error: (msg) => say(msg, 'error'),
  });
}

// ---------- controls ----------

function speedValue(): Speed {
  return el.speed.value === 'max' ? 'max' : Number(el.speed.value);
}

async function loadScenarios(): Promise<void> {
  const list = await attempt('list scenarios', () => api.scenarios());
  if (!list) return;
  scenarios = list;
  el.scenario.replaceChildren(...list.map((s) => {
    const o = new Option(`${s.id}${s.error ? ' (invalid)' : ''}`, s.id);
    o.disabled = s.error !== undefined;
    o.title = s.error ?? s.description ?? s.file;
    return o;
  }));
  const preferred = list.find((s) => s.id === 'p2p-fig13-nt2' && !s.error) ?? list.find((s) => !s.error);
  if (preferred) el.scenario.value = preferred.id;
  syncSeed();
}

function syncSeed(): void {
  const s = scenarios.find((x) => x.id === el.scenario.value);
  el.seed.value = String(s?.seed ?? 1);
  el.scenario.title = s?.description ?? s?.file ?? '';
}

async function refreshLists(): Promise<void> {
  const [traces, runs] = await Promise.all([api.traces().catch(() => []), api.runs().catch(() => [])]);
  const keepTrace = el.savedTraces.value;
  el.savedTraces.replaceChildren(...(traces.length ? traces.map((t) => new Option(`${t.path} (${(t.bytes / 1024).toFixed(0)} KiB)`, t.path)) : [new Option('no saved traces in out/', '')]));
  if (traces.some((t) => t.path === keepTrace)) el.savedTraces.value = keepTrace;
  el.pastRuns.replaceChildren(...(runs.length ? runs.map((r) => new Option(`${r.id} · ${r.kind === 'sim' ? `${r.scenario} s${r.seed}` : `replay ${r.traceFile ?? 'upload'}`} · ${r.state}`, r.id)) : [new Option('no runs yet', '')]));
}

let faultTargetsFor = -1;
function fillFaultTargets(): void {
  const kind = el.faultKind.value;
  const keep = el.faultTarget.value;
  const t = twin;
  faultTargetsFor = t?.nodeServices.size ?? -1;
  const hosts = t ? [...t.hosts.keys()] : [];
  const vms = t ? [...t.vms.keys()] : [];
  const names = kind === 'vm-crash' ? vms : ['St1', 'St2', 'partition'].includes(kind) ? [...hosts, ...vms] : hosts;
  el.faultTarget.replaceChildren(...names.map((n) => new Option(n, n)));
  if (names.includes(keep)) el.faultTarget.value = keep;
  fillFaultServices();
  el.faultService.hidden = !(kind === 'St1' || kind === 'St2');
  el.faultWith.hidden = kind !== 'partition';
  el.faultDuration.hidden = !(kind === 'pause' || kind === 'link-down' || kind === 'partition');
}

function fillFaultServices(): void {
  const services = twin?.nodeServices.get(el.faultTarget.value) ?? [];
  el.faultService.replaceChildren(new Option('first service', ''), ...services.map((s) => new Option(s, s)));
}

el.faultKind.replaceChildren(...FAULT_KINDS.map((k) => new Option(k, k)));
el.faultKind.value = 'Nt2';
el.faultKind.addEventListener('change', fillFaultTargets);
el.faultTarget.addEventListener('change', fillFaultServices);
el.scenario.addEventListener('change', syncSeed);

el.runForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void (async () => {
    const seed = el.seed.value.trim() === '' ? undefined : Number(el.seed.value);
    const r = await attempt('start run', () => api.start(el.scenario.value, seed, speedValue()));
    if (r) {
      await attach(r.id);
      void refreshLists();
    }
  })();
});

el.pause.addEventListener('click', () => {
  if (!info) return;
  const id = info.id;
  // The event stream brings the new status; a reply may arrive after newer stream messages, so
  // it is not used.
  void attempt(info.state === 'paused' ? 'resume' : 'pause', () => (info?.state === 'paused' ? api.resume(id) : api.pause(id)));
});

el.step.addEventListener('click', () => {
  if (!info) return;
  const id = info.id;
  void attempt('step', () => api.step(id));
});

el.speed.addEventListener('change', () => {
  if (!info || !(info.state === 'running' || info.state === 'paused')) return;
  const id = info.id;
  void attempt('set speed', () => api.speed(id, speedValue()));
});

el.faultForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!info) return;
  const kind = el.faultKind.value;
  const fault: Record<string, unknown> = { kind };
  if (kind === 'partition') {
    fault.a = [el.faultTarget.value];
    fault.b = el.faultWith.value.split(',').map((s) => s.trim()).filter(Boolean);
  } else {
    fault.target = el.faultTarget.value;
  }
  if ((kind === 'St1' || kind === 'St2') && el.faultService.value) fault.service = el.faultService.value;
  if (!el.faultDuration.hidden && el.faultDuration.value.trim()) fault.duration = el.faultDuration.value.trim();
  const id = info.id;
  void attempt('inject fault', async () => {
    const r = await api.fault(id, fault);
    say(`${kind} on ${String(fault.target ?? (fault.a as string[]).join(','))} injected at ${fmtS(r.atUs)}`);
  });
});

el.traceForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const path = el.savedTraces.value;
  if (!path) return say('no saved trace chosen (finished runs are saved under out/web-runs/)', 'error');
  void (async () => {
    const r = await attempt('open trace', () => api.replayPath(path, speedValue()));
    if (r) await attach(r.id);
  })();
});

el.upload.addEventListener('change', () => {
  const file = el.upload.files?.[0];
  if (!file) return;
  void (async () => {
    const text = await file.text();
    const r = await attempt(`open ${file.name}`, () => api.replayUpload(text, speedValue()));
    el.upload.value = '';
    if (r) await attach(r.id);
  })();
});

el.followRun.addEventListener('click', () => {
  if (el.pastRuns.value) void attach(el.pastRuns.value);
});
el.pastRuns.addEventListener('focus', () => void refreshLists());
el.savedTraces.addEventListener('focus', () => void refreshLists());

fillFaultTargets();
void loadScenarios();
void refreshLists();
