// The event history: every trace event, newest first, filterable by object and kind. The
// management store's writes and passing probes are hidden unless asked for.
import { select } from 'd3';
import type { TraceLine } from '../../../trace/metrics.ts';
import { isNoisy, type Twin } from '../model.ts';

const MAX_ROWS = 400;

export function summary(e: TraceLine): string {
  const d = e.data;
  if (!d) return '';
  return Object.entries(d).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ').slice(0, 240);
}

export function fillRows(tbody: HTMLElement, events: TraceLine[]): void {
  select(tbody).selectAll<HTMLTableRowElement, TraceLine>('tr').data(events).join('tr')
    .attr('data-kind', (e) => e.kind)
    .html('')
    .each(function (e) {
      const tr = select(this);
      tr.append('td').attr('class', 't').text((e.t / 1e6).toFixed(3));
      tr.append('td').attr('class', 'kind').text(e.kind);
      tr.append('td').attr('class', 'subject').text(e.subject);
      tr.append('td').attr('class', 'data').text(summary(e));
    });
}

export class EventsView {
  private twin: Twin | null = null;
  private lastKey = '';
  private readonly object: HTMLInputElement;
  private readonly kind: HTMLSelectElement;
  private readonly noisy: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly tbody: HTMLElement;

  constructor(readonly host: HTMLElement) {
    this.object = host.querySelector<HTMLInputElement>('#filter-object')!;
    this.kind = host.querySelector<HTMLSelectElement>('#filter-kind')!;
    this.noisy = host.querySelector<HTMLInputElement>('#filter-noisy')!;
    this.count = host.querySelector<HTMLElement>('#event-count')!;
    this.tbody = host.querySelector<HTMLElement>('#events tbody')!;
    for (const el of [this.object, this.kind, this.noisy]) el.addEventListener('input', () => this.render(true));
  }

  reset(twin: Twin): void {
    this.twin = twin;
    this.lastKey = '';
    this.kind.replaceChildren(new Option('all kinds', ''));
  }

  /** Shows events about `subject` (a click on a light, a box or a row). */
  filterObject(subject: string): void {
    this.object.value = subject;
    this.render(true);
  }

  render(force = false): void {
    const twin = this.twin;
    if (!twin) return;
    const key = `${twin.events.length}|${this.object.value}|${this.kind.value}|${this.noisy.checked}`;
    if (!force && key === this.lastKey) return;
    this.lastKey = key;
    const known = new Set([...this.kind.options].map((o) => o.value));
    for (const k of [...twin.kinds].sort()) if (!known.has(k)) this.kind.add(new Option(k, k));
    const obj = this.object.value.trim().toLowerCase();
    const kind = this.kind.value;
    const showNoisy = this.noisy.checked;
    const out: TraceLine[] = [];
    let matched = 0;
    for (let i = twin.events.length - 1; i >= 0; i--) {
      const e = twin.events[i];
      if (kind && e.kind !== kind) continue;
      if (!kind && !showNoisy && isNoisy(e.kind)) continue;
      if (obj && !e.subject.toLowerCase().includes(obj) && !(e.data && JSON.stringify(e.data).toLowerCase().includes(obj))) continue;
      matched++;
      if (out.length < MAX_ROWS) out.push(e);
    }
    this.count.textContent = `${matched} of ${twin.events.length} events${matched > MAX_ROWS ? ` (newest ${MAX_ROWS} shown)` : ''}`;
    fillRows(this.tbody, out);
  }
}

/** An object's history as a list (time, kind, subject; the data below), newest first. */
export function fillHistory(list: HTMLElement, events: TraceLine[]): void {
  select(list).selectAll<HTMLDivElement, TraceLine>('div.h-item').data(events).join('div')
    .attr('class', 'h-item')
    .attr('data-kind', (e) => e.kind)
    .html('')
    .each(function (e) {
      const item = select(this);
      const head = item.append('div').attr('class', 'h-head');
      head.append('span').attr('class', 't').text(`${(e.t / 1e6).toFixed(3)} s`);
      head.append('span').attr('class', 'kind').text(e.kind);
      head.append('span').attr('class', 'subject').text(e.subject);
      const s = summary(e);
      if (s) item.append('div').attr('class', 'h-data').text(s);
    });
}
