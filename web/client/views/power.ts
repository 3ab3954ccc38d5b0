// Power: watts over time per host (from host.state's watts) and in total, over the timeline's
// window, with the energy of the window in Wh.
import { axisBottom, axisLeft, curveStepAfter, line, scaleLinear, scaleOrdinal, schemeTableau10, select, type Selection } from 'd3';
import { energyWhIn, type Twin } from '../model.ts';

const LEFT = 110;
const RIGHT = 14;
const TOP = 10;
const H = 150;
const AXIS_H = 22;

type Window = [number, number] | null;

export class PowerView {
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly summary: Selection<HTMLDivElement, unknown, null, undefined>;
  private twin: Twin | null = null;
  private window: Window = null;

  constructor(readonly host: HTMLElement) {
    this.summary = select(host).append('div').attr('class', 'power-summary');
    this.svg = select(host).append('svg').attr('class', 'power');
  }

  reset(twin: Twin): void {
    this.twin = twin;
    this.window = null;
    this.svg.selectAll('*').remove();
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
    const toUs = Math.min(to, twin.nowUs);
    const hosts = [...twin.power.keys()];
    const color = scaleOrdinal<string, string>(schemeTableau10).domain(hosts);
    // Steps per host, clipped to the window; the total is the sum at every change.
    const series = hosts.map((h) => ({ name: h, points: clip(twin.power.get(h)!, from, toUs) }));
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const totalPts: Array<[number, number]> = times.map((t) => [t, series.reduce((sum, s) => sum + valueAt(s.points, t), 0)]);
    const all = [...series, { name: 'total', points: totalPts }];
    const maxW = Math.max(10, ...totalPts.map((p) => p[1]));
    const x = scaleLinear().domain([from, Math.max(to, from + 1)]).range([LEFT, width - RIGHT]);
    const y = scaleLinear().domain([0, maxW * 1.08]).nice().range([TOP + H, TOP]);
    const height = TOP + H + AXIS_H;
    this.svg.attr('width', width).attr('height', height).attr('viewBox', `0 0 ${width} ${height}`);
    const path = line<[number, number]>().x((p) => x(p[0])).y((p) => y(p[1])).curve(curveStepAfter);
    this.svg.selectAll<SVGPathElement, (typeof all)[number]>('path.series').data(all, (d) => d.name).join('path')
      .attr('class', (d) => `series${d.name === 'total' ? ' total' : ''}`).attr('data-name', (d) => d.name)
      .attr('stroke', (d) => (d.name === 'total' ? null : color(d.name)))
      .attr('d', (d) => (d.points.length ? path(d.points) : null));
    let ax = this.svg.select<SVGGElement>('g.x-axis');
    if (ax.empty()) ax = this.svg.append('g').attr('class', 'x-axis axis');
    ax.attr('transform', `translate(0,${TOP + H})`).call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 110))).tickFormat((v) => `${(Number(v) / 1e6).toLocaleString()} s`));
    let ay = this.svg.select<SVGGElement>('g.y-axis');
    if (ay.empty()) ay = this.svg.append('g').attr('class', 'y-axis axis');
    ay.attr('transform', `translate(${LEFT},0)`).call(axisLeft(y).ticks(4).tickFormat((v) => `${v} W`));

    const e = energyWhIn(twin.power, from, toUs);
    const items = [{ name: 'total', wh: e.total, watts: totalPts.length ? totalPts[totalPts.length - 1][1] : 0 },
      ...hosts.map((h) => ({ name: h, wh: e.perHost.get(h) ?? 0, watts: twin.hosts.get(h)?.watts ?? 0 }))];
    this.summary.attr('data-total-wh', e.total.toFixed(3));
    this.summary.selectAll<HTMLSpanElement, (typeof items)[number]>('span.item').data(items, (d) => d.name).join((enter) => {
      const s = enter.append('span').attr('class', 'item');
      s.append('i').attr('class', 'swatch');
      s.append('span').attr('class', 'text');
      return s;
    }).each(function (d) {
      const s = select(this);
      s.classed('total', d.name === 'total');
      s.select('i.swatch').style('background', () => (d.name === 'total' ? null : color(d.name)));
      s.select('span.text').text(`${d.name} ${d.wh.toFixed(2)} Wh${d.name === 'total' ? ` (window ${(from / 1e6).toFixed(0)}–${(toUs / 1e6).toFixed(0)} s)` : ` · ${d.watts} W`}`);
    });
  }
}

function valueAt(points: Array<[number, number]>, t: number): number {
  let v = 0;
  for (const p of points) {
    if (p[0] > t) break;
    v = p[1];
  }
  return v;
}

/** The steps inside [from, to], starting with the value in force at `from` and ending at `to`. */
function clip(steps: Array<[number, number]>, from: number, to: number): Array<[number, number]> {
  if (steps.length === 0 || to < from) return [];
  const out: Array<[number, number]> = [];
  let before: number | null = null;
  for (const [t, w] of steps) {
    if (t <= from) before = w;
    else if (t <= to) out.push([t, w]);
  }
  if (before !== null) out.unshift([from, before]);
  if (out.length) out.push([to, out[out.length - 1][1]]);
  return out;
}
