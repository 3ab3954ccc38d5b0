// Timeline: a Gantt of each host's and VM's states, with fault, detection and recovery markers and
// the measured recovery intervals (sim/trace/metrics.ts recoveries) of each target on a lane of
// its own. Brush the overview strip to zoom (the power chart follows); double-click it to reset.
import { axisBottom, brushX, scaleLinear, select, type BrushBehavior, type ScaleLinear, type Selection } from 'd3';
import { fmtS, hostColor, vmColor, type Marker, type Segment, type Twin } from '../model.ts';

const LEFT = 110;
const RIGHT = 14;
const ROW_H = 20;
const LANE_H = 26;
const AXIS_H = 22;
const OVERVIEW_H = 30;

type Window = [number, number] | null;

interface Row {
  id: string;
  label: string;
  kind: 'host' | 'vm' | 'recovery';
  y: number;
  h: number;
}

const MARKER_GLYPH: Record<Marker['kind'], string> = { fault: '▼', detected: '!', function: '◆', target: '●', unrecoverable: '✕' };

export class TimelineView {
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly main: Selection<SVGGElement, unknown, null, undefined>;
  private readonly overview: Selection<SVGGElement, unknown, null, undefined>;
  private readonly brush: BrushBehavior<unknown>;
  private readonly brushG: Selection<SVGGElement, unknown, null, undefined>;
  private twin: Twin | null = null;
  private window: Window = null;
  private fullX: ScaleLinear<number, number> = scaleLinear();
  private settingBrush = false;

  constructor(readonly host: HTMLElement, private readonly onWindow: (w: Window) => void, private readonly onSelect: (subject: string) => void) {
    this.svg = select(host).append('svg').attr('class', 'timeline');
    this.main = this.svg.append('g').attr('class', 'main');
    this.overview = this.svg.append('g').attr('class', 'overview');
    this.brush = brushX();
    this.brushG = this.overview.append('g').attr('class', 'brush');
    this.brush.on('end', (event: { selection: [number, number] | null; sourceEvent?: unknown }) => {
      if (this.settingBrush || !event.sourceEvent) return;
      const s = event.selection;
      this.onWindow(s ? [Math.max(0, this.fullX.invert(s[0])), this.fullX.invert(s[1])] : null);
    });
    this.overview.on('dblclick', () => this.onWindow(null));
  }

  reset(twin: Twin): void {
    this.twin = twin;
    this.window = null;
    this.main.selectAll('*').remove();
  }

  setWindow(w: Window): void {
    this.window = w;
  }

  render(): void {
    const twin = this.twin;
    if (!twin) return;
    const width = Math.max(480, this.host.clientWidth);
    const endUs = Math.max(twin.nowUs, 1_000_000);
    const [from, to] = this.window ?? [0, endUs];
    const x = scaleLinear().domain([from, Math.max(to, from + 1)]).range([LEFT, width - RIGHT]);
    const recs = twin.recoveries();
    const recTargets = [...new Set(recs.map((r) => r.target))];

    // Rows: hosts, each followed by its recovery lane, then VMs.
    const rows: Row[] = [];
    let y = 4;
    const add = (id: string, label: string, kind: Row['kind'], h: number) => {
      rows.push({ id, label, kind, y, h });
      y += h + 3;
    };
    for (const [name, kind] of twin.rowKind) {
      if (kind !== 'host') continue;
      add(name, name, 'host', ROW_H);
      if (recTargets.includes(name)) add(`rec:${name}`, `${name} recovery`, 'recovery', LANE_H);
    }
    for (const [name, kind] of twin.rowKind) {
      if (kind !== 'vm') continue;
      add(name, `VM ${name}`, 'vm', ROW_H);
      if (recTargets.includes(name)) add(`rec:${name}`, `${name} recovery`, 'recovery', LANE_H);
    }
    for (const t of recTargets) if (!twin.rowKind.has(t)) add(`rec:${t}`, `${t} recovery`, 'recovery', LANE_H);
    const rowsH = y;
    const height = rowsH + AXIS_H + OVERVIEW_H + 14;
    this.svg.attr('width', width).attr('height', height).attr('viewBox', `0 0 ${width} ${height}`);

    const rowSel = this.main.selectAll<SVGGElement, Row>('g.row').data(rows, (d) => d.id).join((enter) => {
      const g = enter.append('g').attr('class', (d) => `row ${d.kind}`).attr('data-row', (d) => d.id);
      g.append('rect').attr('class', 'row-bg');
      g.append('text').attr('class', 'row-label').attr('x', LEFT - 8).attr('text-anchor', 'end');
      g.append('g').attr('class', 'bars');
      g.on('click', (_e, d) => this.onSelect(d.id.replace(/^rec:/, '')));
      return g;
    });
    rowSel.attr('transform', (d) => `translate(0,${d.y})`);
    rowSel.select('rect.row-bg').attr('x', LEFT).attr('width', width - RIGHT - LEFT).attr('height', (d) => d.h);
    rowSel.select('text.row-label').attr('y', (d) => d.h / 2 + 4).text((d) => d.label);

    rowSel.each(function (row) {
      const bars = select(this as SVGGElement).select<SVGGElement>('g.bars');
      bars.selectAll('*').remove();
      const clipW = width - RIGHT - LEFT;
      bars.append('clipPath').attr('id', `clip-${cssId(row.id)}`).append('rect').attr('x', LEFT).attr('y', -6).attr('width', clipW).attr('height', row.h + 12);
      bars.attr('clip-path', `url(#clip-${cssId(row.id)})`);
      if (row.kind === 'recovery') {
        drawRecoveries(bars, x, recs.filter((r) => `rec:${r.target}` === row.id));
        return;
      }
      const segs = (twin.segments.get(row.id) ?? []).filter((s) => (s.to ?? endUs) >= from && s.from <= to);
      drawSegments(bars, x, segs, endUs, row.kind);
      const marks = twin.markers.filter((m) => m.subject === row.id && m.t >= from && m.t <= to);
      bars.selectAll('text.marker').data(marks).join('text').attr('class', (m) => `marker ${m.kind}`)
        .attr('x', (m) => x(m.t)).attr('y', ROW_H / 2 + 4).attr('text-anchor', 'middle').text((m) => MARKER_GLYPH[m.kind])
        .append('title').text((m) => `${fmtS(m.t)}: ${m.label}`);
    });

    // Axis and the "now" line.
    let axis = this.main.select<SVGGElement>('g.axis');
    if (axis.empty()) axis = this.main.append('g').attr('class', 'axis');
    axis.attr('transform', `translate(0,${rowsH})`).call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 110))).tickFormat((v) => `${(Number(v) / 1e6).toLocaleString()} s`));
    let nowLine = this.main.select<SVGLineElement>('line.now');
    if (nowLine.empty()) nowLine = this.main.append('line').attr('class', 'now');
    const nowX = x(twin.nowUs);
    nowLine.attr('x1', nowX).attr('x2', nowX).attr('y1', 0).attr('y2', rowsH).attr('visibility', twin.nowUs >= from && twin.nowUs <= to ? 'visible' : 'hidden');

    // Overview: the whole run, the fault markers, the brush.
    const oy = rowsH + AXIS_H + 6;
    this.overview.attr('transform', `translate(0,${oy})`);
    this.fullX = scaleLinear().domain([0, endUs]).range([LEFT, width - RIGHT]);
    const fx = this.fullX;
    let bg = this.overview.select<SVGRectElement>('rect.ov-bg');
    if (bg.empty()) bg = this.overview.insert('rect', 'g.brush').attr('class', 'ov-bg');
    bg.attr('x', LEFT).attr('width', width - RIGHT - LEFT).attr('height', OVERVIEW_H);
    let label = this.overview.select<SVGTextElement>('text.ov-label');
    if (label.empty()) label = this.overview.append('text').attr('class', 'ov-label').attr('x', LEFT - 8).attr('text-anchor', 'end');
    label.attr('y', OVERVIEW_H / 2 + 4).text('zoom ▸');
    this.overview.selectAll<SVGLineElement, Marker>('line.ov-mark').data(twin.markers.filter((m) => m.kind === 'fault' || m.kind === 'function' || m.kind === 'target'))
      .join('line').attr('class', (m) => `ov-mark ${m.kind}`).attr('x1', (m) => fx(m.t)).attr('x2', (m) => fx(m.t)).attr('y1', 3).attr('y2', OVERVIEW_H - 3);
    this.brush.extent([[LEFT, 0], [width - RIGHT, OVERVIEW_H]]);
    this.brushG.call(this.brush);
    this.brushG.raise();
    this.settingBrush = true;
    this.brushG.call(this.brush.move, this.window ? [fx(this.window[0]), fx(Math.min(this.window[1], endUs))] : null);
    this.settingBrush = false;
  }
}

function cssId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function drawSegments(g: Selection<SVGGElement, unknown, null, undefined>, x: ScaleLinear<number, number>, segs: Segment[], endUs: number, kind: 'host' | 'vm'): void {
  const color = kind === 'host' ? hostColor : vmColor;
  const sel = g.selectAll('g.seg').data(segs).join('g').attr('class', 'seg');
  sel.append('rect').attr('class', 'seg-bar').attr('data-color', (s) => color(s.state)).attr('data-state', (s) => s.state)
    .attr('x', (s) => x(s.from)).attr('width', (s) => Math.max(1, x(s.to ?? endUs) - x(s.from))).attr('y', 2).attr('height', ROW_H - 4)
    .append('title').text((s) => `${s.state}${s.host ? ` on ${s.host}` : ''}: ${fmtS(s.from)} – ${s.to === null ? 'now' : fmtS(s.to)}`);
  // Labels sit at the visible part's start (a zoomed window may cut a segment's beginning).
  const [d0, d1] = x.domain();
  const visFrom = (s: Segment) => x(Math.max(s.from, d0));
  const visTo = (s: Segment) => x(Math.min(s.to ?? endUs, d1));
  sel.append('text').attr('class', 'seg-label').attr('x', (s) => visFrom(s) + 4).attr('y', ROW_H / 2 + 4)
    .text((s) => {
      const w = visTo(s) - visFrom(s);
      const text = `${s.state}${s.host && kind === 'vm' && s.state !== 'suspended' ? ` @${s.host}` : ''}`;
      return w > text.length * 6.3 + 8 ? text : w > 14 ? text.slice(0, Math.floor((w - 8) / 6.3)) : '';
    });
}

function drawRecoveries(g: Selection<SVGGElement, unknown, null, undefined>, x: ScaleLinear<number, number>, recs: ReturnType<Twin['recoveries']>): void {
  // A label goes right of its bar's end; else left of the bar's start; else inside, at the end.
  const [left, right] = x.range();
  const place = (t: Selection<SVGTextElement, unknown, null, undefined>, startX: number, endX: number) => {
    const w = (t.text().length + 1) * 6.2;
    if (endX + 3 + w <= right) t.attr('x', endX + 3);
    else if (startX - 3 - w >= left) t.attr('x', startX - 3).attr('text-anchor', 'end');
    else t.attr('x', endX - 3).attr('text-anchor', 'end');
  };
  for (const r of recs) {
    const d = r.detectedUs;
    if (r.faultUs !== null) {
      g.append('rect').attr('class', 'rec fault-detect').attr('x', x(r.faultUs)).attr('width', Math.max(1, x(d) - x(r.faultUs))).attr('y', 2).attr('height', 8)
        .append('title').text(`${r.fault ?? 'fault'} at ${fmtS(r.faultUs)}, detected after ${fmtS(d - r.faultUs)}`);
    }
    if (r.functionRecoveryS !== null) {
      const end = d + r.functionRecoveryS * 1e6;
      g.append('rect').attr('class', 'rec function').attr('x', x(d)).attr('width', Math.max(1, x(end) - x(d))).attr('y', 2).attr('height', 8)
        .append('title').text(`function recovered ${r.functionRecoveryS.toFixed(2)} s after detection`);
      place(g.append('text').attr('class', 'rec-label function').attr('data-seconds', r.functionRecoveryS.toFixed(2)).attr('y', 10)
        .text(`function ${r.functionRecoveryS.toFixed(2)} s`), r.faultUs !== null ? x(r.faultUs) : x(d), x(end));
    }
    if (r.targetRecoveryS !== null) {
      const end = d + r.targetRecoveryS * 1e6;
      g.append('rect').attr('class', 'rec target').attr('x', x(d)).attr('width', Math.max(1, x(end) - x(d))).attr('y', 16).attr('height', 6)
        .append('title').text(`target back ${r.targetRecoveryS.toFixed(2)} s after detection`);
      place(g.append('text').attr('class', 'rec-label target').attr('data-seconds', r.targetRecoveryS.toFixed(2)).attr('y', 24)
        .text(`target ${r.targetRecoveryS.toFixed(2)} s`), x(d), x(end));
    }
  }
}
