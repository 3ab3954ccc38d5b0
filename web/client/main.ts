// The twin console: controls, and the views of the run being followed.
import './style.css';
import { api, ApiFailure, follow, type RunStream } from './api.ts';
import { Twin, fmtS } from './model.ts';
import { TopologyView } from './views/topology.ts';
import { LightsView } from './views/lights.ts';
import { TimelineView } from './views/timeline.ts';
import { PowerView } from './views/power.ts';
import { EventsView, fillHistory } from './views/events.ts';
import { renderCompare } from './views/compare.ts';
import { labBackend, runBackend, VmControlView } from './views/vms.ts';
import { FAULT_KINDS, LAB_FAULT_KINDS, type LabInfo, type RunInfo, type ScenarioEntry, type Speed } from '../shared/api.ts';

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
  world: $<HTMLSelectElement>('world'),
  worldLabel: $<HTMLElement>('world-label'),
  stop: $<HTMLButtonElement>('stop'),
  lab: $<HTMLDivElement>('lab'),
  lightsSource: $<HTMLElement>('lights-source'),
  conformResults: $<HTMLSelectElement>('conform-results'),
  openConform: $<HTMLButtonElement>('open-conform'),
  comparePanel: $<HTMLElement>('compare-panel'),
  compare: $<HTMLElement>('compare'),
  compareTitle: $<HTMLElement>('compare-title'),
  closeCompare: $<HTMLButtonElement>('close-compare'),
};

let twin: Twin | null = null;
let info: RunInfo | null = null;
let stream: RunStream | null = null;
let lastIndex = -1;
let selected: string | null = null;
let scenarios: ScenarioEntry[] = [];
let attachSeq = 0;
/** The lab this server follows (hatwin serve --lab), or null. */
let lab: LabInfo | null = null;
/** The scenario shown before Start (no run followed). */
let previewing: string | null = null;

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
    renderVmControl();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
$<HTMLButtonElement>('all-lights').addEventListener('click', () => select(ALL_LIGHTS));
window.addEventListener('resize', () => {
  topology.render(true);
  dirty = true;
});

/** The History panel's pseudo-subject for the whole system's light changes. */
const ALL_LIGHTS = '(all light changes)';

function renderHistory(): void {
  if (!twin || !selected) return;
  if (selected === ALL_LIGHTS) {
    const changes = twin.lightChanges().reverse();
    el.historyTitle.textContent = `— ${ALL_LIGHTS}`;
    el.historyTitle.dataset.subject = selected;
    el.historySummary.textContent = `${changes.length} change${changes.length === 1 ? '' : 's'} of the lights, newest first`;
    $<HTMLElement>('history-lights').replaceChildren();
    fillHistory(el.history, changes.slice(0, 300).map((c) => ({ t: c.t, kind: 'light', subject: c.label, data: { level: c.level, lights: c.lights.join('/'), misses: c.misses, ...(c.note ? { note: c.note } : {}) } })));
    return;
  }
  el.historyTitle.textContent = `— ${selected}`;
  el.historyTitle.dataset.subject = selected;
  el.historySummary.textContent = describe(twin, selected);
  const t = twin;
  const rows = t.lights().filter((l) => l.subject === selected).map((l) => {
    const div = document.createElement('div');
    div.className = 'h-lights';
    div.dataset.id = l.id;
    const changes = t.lightChanges(l.id).slice(-6);
    div.textContent = `${l.level} lights: ${changes.map((c) => `${c.lights.join('/')} at ${fmtS(c.t)}`).join(' → ') || 'no change yet'}`;
    return div;
  });
  $<HTMLElement>('history-lights').replaceChildren(...rows);
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
  renderVmControl();
  const s = info;
  if (!s) return;
  const speed = s.speed === 'max' ? 'max speed' : `x${s.speed}`;
  const isLive = s.kind === 'live';
  const what = s.kind === 'sim' ? `${s.scenario} seed ${s.seed}` : isLive ? `live ${s.scenario} on lab ${s.live?.lab ?? '?'} (${s.live?.runId ?? 'starting'})` : `replay of ${s.traceFile ?? 'an uploaded trace'}`;
  const state = isLive && s.state === 'running' ? (s.live?.runId === '(starting)' ? 'starting (resetting the lab)' : 'running, wall clock') : isLive && s.state === 'done' ? 'ended' : s.state;
  const labNote = isLive && lab && !lab.up ? ' · LAB DOWN' : '';
  el.status.textContent = `run ${s.id} · ${what} · ${state}${s.state === 'running' && !isLive ? ` ${speed}` : ''} · t = ${fmtS(s.nowUs)} / ${fmtS(s.untilUs)} · ${s.events} events${labNote}${s.error ? ` · ${brief(s.error)}` : ''}`;
  // The details (the limit hit, an exception's text) on hover and in the banner, not in the bar.
  el.status.title = s.error ? [s.error, s.errorDetail].filter(Boolean).join(': ') : '';
  el.status.dataset.state = s.state;
  el.status.dataset.run = s.id;
  el.status.dataset.kind = s.kind;
  el.status.dataset.nowUs = String(s.nowUs);
  const active = s.state === 'running' || s.state === 'paused';
  el.pause.disabled = !active || isLive;
  el.step.disabled = !active || isLive;
  el.pause.textContent = s.state === 'paused' ? '▶ Resume' : '❚❚ Pause';
  el.inject.disabled = !(active && (s.kind === 'sim' || (isLive && s.live?.runId !== '(starting)')));
  el.stop.hidden = !isLive;
  el.stop.disabled = !(active && isLive && s.live?.startedBy === 'page');
  el.stop.title = isLive && s.live?.startedBy === 'cli' ? `started by hatwin live (pid ${s.live.pid}): stop it there` : 'stop the live run: its agents are ended and its trace written';
  if (twin?.probeMode && !active) twin.markEnded(s.state === 'error' ? `the run failed${s.error ? `: ${brief(s.error)}` : ''}` : 'the live run has ended');
}

let vmControl: VmControlView | null = null;
let vmRefreshedAt = 0;
/** VM control acts on the followed sim run's world while it goes on, else on the lab when it is up. */
function renderVmControl(): void {
  const panel = $<HTMLElement>('vm-panel');
  const simRun = info?.kind === 'sim' && (info.state === 'running' || info.state === 'paused') ? info.id : null;
  const backend = simRun !== null ? runBackend(simRun) : lab?.up ? labBackend(lab.name) : null;
  panel.hidden = backend === null;
  vmControl ??= new VmControlView(panel, attempt, (text) => say(text));
  vmControl.use(backend);
  if (!backend) return;
  // The VMs change under the page too (hatwin vm, a policy, the run's time): re-read a sim run's
  // every 2 s, the lab's every 5 s (each read is a few virsh calls).
  if (Date.now() - vmRefreshedAt > (simRun !== null ? 2_000 : 5_000)) {
    vmRefreshedAt = Date.now();
    void vmControl.refresh();
  }
}

function renderLab(): void {
  el.lab.hidden = lab === null;
  el.worldLabel.hidden = lab === null;
  renderVmControl();
  if (!lab) return;
  const running = lab.runs.filter((r) => r.state === 'running');
  el.lab.dataset.up = String(lab.up);
  el.lab.dataset.name = lab.name;
  el.lab.textContent = `lab ${lab.name}: ${lab.up ? 'up' : 'DOWN'}${running.length ? ` · live run ${running.map((r) => r.runId).join(', ')}` : ''}`;
  el.lab.title = `${lab.file}: ${lab.detail} (checked ${lab.checkedAt})`;
  if (info?.kind === 'live') renderStatus();
}

async function refreshLab(): Promise<void> {
  try {
    const before = lab?.runs.map((r) => `${r.runId}:${r.state}:${r.webRun}`).join(',');
    lab = await api.lab();
    renderLab();
    if (lab && lab.runs.map((r) => `${r.runId}:${r.state}:${r.webRun}`).join(',') !== before) void refreshLists();
  } catch {
    // the server is gone: the event stream says so
  }
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
  previewing = null;
  el.lightsSource.textContent = twin.probeMode ? 'real probes of the lab (health.probe)' : 'virtual probes on the trace\'s state';
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
      if (seq !== attachSeq) return;
      for (const { index, event } of batch) {
        if (index <= lastIndex) continue; // a reconnect replays from Last-Event-ID; never twice
        lastIndex = index;
        t.apply(event);
      }
      if (t.nodeServices.size !== faultTargetsFor) fillFaultTargets();
      dirty = true;
    },
    status: (s) => {
      if (seq !== attachSeq) return;
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
  void preview();
}

/** With no run followed (or the one followed has ended), the selected scenario's topology, before Start. */
async function preview(): Promise<void> {
  const id = el.scenario.value;
  if (!id) return;
  if (info && (info.state === 'running' || info.state === 'paused')) return;
  const seq = ++attachSeq;
  const d = await attempt('preview scenario', () => api.scenario(id));
  if (!d || seq !== attachSeq) return;
  stream?.close();
  stream = null;
  info = null;
  previewing = id;
  twin = new Twin(d.topology);
  twin.preview = true;
  selected = null;
  el.historyTitle.textContent = '— click a light';
  el.history.replaceChildren();
  el.historySummary.textContent = '';
  for (const v of [topology, lights, timeline, power, events]) v.reset(twin);
  el.lightsSource.textContent = 'not probed yet';
  const t = d.topology;
  el.status.textContent = `preview of ${id}: ${t.hosts.length} hosts, ${t.vms.length} VMs, ${t.vips.length} VIPs · ${d.faults} scheduled fault${d.faults === 1 ? '' : 's'} · ${d.policies.join(', ') || 'no policy'} · press Start`;
  el.status.dataset.state = 'preview';
  el.status.dataset.run = '';
  el.status.dataset.kind = 'preview';
  el.status.dataset.preview = id;
  el.pause.disabled = true;
  el.step.disabled = true;
  el.inject.disabled = true;
  el.stop.hidden = true;
  fillFaultTargets();
  dirty = true;
  topology.render(true);
}

function syncSeed(): void {
  const s = scenarios.find((x) => x.id === el.scenario.value);
  el.seed.value = String(s?.seed ?? 1);
  el.scenario.title = s?.description ?? s?.file ?? '';
}

function syncWorld(): void {
  const live = el.world.value === 'live';
  el.seed.disabled = live;
  el.speed.disabled = live;
  el.seed.title = live ? 'a live run has no seed: the lab is real' : '';
  el.speed.title = live ? 'a live run goes in wall-clock time' : '';
}

async function refreshLists(): Promise<void> {
  const [traces, runs] = await Promise.all([api.traces().catch(() => []), api.runs().catch(() => [])]);
  const keepTrace = el.savedTraces.value;
  el.savedTraces.replaceChildren(...(traces.length ? traces.map((t) => new Option(`${t.path} (${(t.bytes / 1024).toFixed(0)} KiB)`, t.path)) : [new Option('no saved traces in out/', '')]));
  if (traces.some((t) => t.path === keepTrace)) el.savedTraces.value = keepTrace;
  el.pastRuns.replaceChildren(...(runs.length ? runs.map((r) => new Option(`${r.id} · ${r.kind === 'sim' ? `${r.scenario} s${r.seed}` : r.kind === 'live' ? `live ${r.scenario}` : `replay ${r.traceFile ?? 'upload'}`} · ${r.state}`, r.id)) : [new Option('no runs yet', '')]));
  const conform = await api.conformList().catch(() => []);
  const keepConform = el.conformResults.value;
  el.conformResults.replaceChildren(...(conform.length ? conform.map((c) => {
    const o = new Option(`${c.scenario}${c.lab ? ` on ${c.lab}` : ''} (${c.path})`, c.path);
    o.disabled = !c.hasTraces;
    return o;
  }) : [new Option('no hatwin conform results in out/', '')]));
  if (conform.some((c) => c.path === keepConform)) el.conformResults.value = keepConform;
  el.openConform.disabled = conform.length === 0;
}

let faultTargetsFor = -1;
let faultKindsFor: 'sim' | 'live' = 'sim';
function fillFaultTargets(): void {
  // A live run takes the lab's faults (hatwin lab fault), on the lab's hosts; a sim run the scenario's.
  const world = info?.kind === 'live' ? 'live' : 'sim';
  if (world !== faultKindsFor) {
    faultKindsFor = world;
    const kinds: readonly string[] = world === 'live' ? LAB_FAULT_KINDS : FAULT_KINDS;
    const keepKind = el.faultKind.value;
    el.faultKind.replaceChildren(...kinds.map((k) => new Option(k, k)));
    el.faultKind.value = kinds.includes(keepKind) ? keepKind : 'Nt2';
  }
  const kind = el.faultKind.value;
  const keep = el.faultTarget.value;
  const t = twin;
  faultTargetsFor = t?.nodeServices.size ?? -1;
  const hosts = t ? [...t.hosts.keys()] : [];
  const vms = t ? [...t.vms.keys()] : [];
  const names = world === 'live' ? (lab?.hosts ?? hosts) : kind === 'vm-crash' || kind === 'vm-reboot' ? vms : ['St1', 'St2', 'partition'].includes(kind) ? [...hosts, ...vms] : hosts;
  el.faultTarget.replaceChildren(...names.map((n) => new Option(n, n)));
  if (names.includes(keep)) el.faultTarget.value = keep;
  fillFaultServices();
  el.faultService.hidden = !(kind === 'St1' || kind === 'St2');
  el.faultWith.hidden = kind !== 'partition' && kind !== 'partition-oneway';
  el.faultWith.placeholder = kind === 'partition-oneway' ? 'drop only from: a host, VM, client or etcd (empty: the whole lab)' : 'partition from: names, comma-separated';
  el.faultDuration.hidden = world === 'live' || !(kind === 'pause' || kind === 'link-down' || kind === 'partition');
}

function fillFaultServices(): void {
  const services = twin?.nodeServices.get(el.faultTarget.value) ?? [];
  el.faultService.replaceChildren(new Option('first service', ''), ...services.map((s) => new Option(s, s)));
}

el.faultKind.replaceChildren(...FAULT_KINDS.map((k) => new Option(k, k)));
el.faultKind.value = 'Nt2';
el.faultKind.addEventListener('change', fillFaultTargets);
el.faultTarget.addEventListener('change', fillFaultServices);
el.scenario.addEventListener('change', () => {
  syncSeed();
  void preview();
});
el.world.addEventListener('change', syncWorld);

el.runForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void (async () => {
    const seed = el.seed.value.trim() === '' ? undefined : Number(el.seed.value);
    const live = el.world.value === 'live' && lab !== null;
    const r = await attempt(live ? 'start live run' : 'start run', () => (live ? api.startLive(el.scenario.value) : api.start(el.scenario.value, seed, speedValue())));
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

el.stop.addEventListener('click', () => {
  if (!info || info.kind !== 'live') return;
  const id = info.id;
  void attempt('stop live run', async () => {
    await api.stop(id);
    say(`stopping live run ${id}: ending its agents, writing its trace`);
  });
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
  if (info.kind === 'live') {
    fault.target = el.faultTarget.value;
    if ((kind === 'St1' || kind === 'St2') && el.faultService.value) fault.service = el.faultService.value;
    if (kind === 'partition-oneway' && el.faultWith.value.trim()) fault.peer = el.faultWith.value.trim();
    const liveId = info.id;
    void attempt('inject lab fault', async () => {
      const r = await api.labFault(liveId, fault);
      say(`${kind} on ${String(fault.target)} injected into the lab at ${fmtS(r.atUs)}: ${r.message}`);
    });
    return;
  }
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

el.openConform.addEventListener('click', () => {
  const path = el.conformResults.value;
  if (!path) return say('no hatwin conform result chosen (hatwin conform ... --out out/conform writes one)', 'error');
  void (async () => {
    const d = await attempt('open conform result', () => api.conform(path));
    if (!d) return;
    el.comparePanel.hidden = false;
    el.compareTitle.textContent = `— ${d.scenario}${d.lab ? ` on lab ${d.lab}` : ''}`;
    renderCompare(el.compare, d);
    el.comparePanel.scrollIntoView({ behavior: 'smooth', block: 'start' });
  })();
});
el.closeCompare.addEventListener('click', () => {
  el.comparePanel.hidden = true;
  el.compare.replaceChildren();
});
el.conformResults.addEventListener('focus', () => void refreshLists());

fillFaultTargets();
syncWorld();
void loadScenarios();
void refreshLists();
void refreshLab().then(() => {
  // A page opened on a server that follows a lab starts in the live world, following its running run.
  if (!lab) return;
  el.world.value = 'live';
  syncWorld();
  const running = lab.runs.find((r) => r.state === 'running' && r.webRun);
  if (running?.webRun) void attach(running.webRun);
  window.setInterval(() => void refreshLab(), 2000);
});
