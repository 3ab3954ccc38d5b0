// Sim and live side by side: a `hatwin conform` result (its rows and both traces) on one
// timeline. Every host and VM has two lanes, the live lab's states above the twin's; every target
// with a recovery has two interval lanes (fault -> detection, detection -> function recovered,
// detection -> target recovered), each measured interval labelled with its value and, on the sim
// lane, its error against live ((sim - live) / live, as hatwin conform computes it).
import { axisBottom, scaleLinear, select, type ScaleLinear, type Selection } from 'd3';
import type { ConformDetail } from '../../shared/api.ts';
import { fmtS, hostColor, vmColor, Twin, type Segment } from '../model.ts';
import type { Recovery } from '../../../trace/metrics.ts';

const LEFT = 150;
const RIGHT = 16;
const LANE = 15;
const PAIR_GAP = 7;

type G = Selection<SVGGElement, unknown, null, undefined>;

const pct = (live: number | null, sim: number | null): number | null => (live === null || sim === null || live === 0 ? null : (100 * (sim - live)) / live);
const fmtPct = (p: number | null) => (p === null ? '' : ` (${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(1)} %)`);

function twinOf(events: ConformDetail['live']): Twin {
  const t = new Twin(null);
  for (const e of events) t.apply(e);
  t.advance(events.length ? events[events.length - 1].t : 0);
  return t;
}

export function renderCompare(host: HTMLElement, d: ConformDetail): void {
  host.replaceChildren();
  host.classList.add('compare');
  host.dataset.scenario = d.scenario;
  const live = twinOf(d.live);
  const sim = twinOf(d.sim);
  const endUs = Math.max(live.nowUs, sim.nowUs, 1_000_000);
  const width = Math.max(600, host.clientWidth || 1200);
  const x = scaleLinear().domain([0, endUs]).range([LEFT, width - RIGHT]);

  const names: Array<{ name: string; kind: 'host' | 'vm' }> = [];
  for (const t of [live, sim]) {
    for (const [name, kind] of t.rowKind) if (!names.some((n) => n.name === name)) names.push({ name, kind });
  }
  names.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'host' ? -1 : 1));
  const lr = live.recoveries();
  const sr = sim.recoveries();
  const targets = [...new Set([...lr, ...sr].map((r) => r.target))];

  const pairH = 2 * LANE + 3 + PAIR_GAP;
  const recH = 2 * 24 + 3 + PAIR_GAP;
  const height = 6 + names.length * pairH + targets.length * recH + 30;
  const svg = select(host).append('svg').attr('class', 'compare-timeline').attr('width', width).attr('height', height).attr('viewBox', `0 0 ${width} ${height}`);
  let y = 6;

  const worldLabel = (g: G, yy: number, which: 'live' | 'sim') =>
    g.append('text').attr('class', `world ${which}`).attr('x', LEFT - 6).attr('y', yy + LANE - 4).attr('text-anchor', 'end').text(which);

  for (const n of names) {
    const g: G = svg.append<SVGGElement>('g').attr('class', `pair ${n.kind}`).attr('data-name', n.name);
    g.append('text').attr('class', 'row-label').attr('x', 6).attr('y', y + LANE + 2).text(n.kind === 'vm' ? `VM ${n.name}` : n.name);
    for (const [i, t, which] of [[0, live, 'live'], [1, sim, 'sim']] as const) {
      const yy = y + i * (LANE + 3);
      worldLabel(g, yy, which);
      const lane: G = g.append<SVGGElement>('g').attr('class', `lane lane-${which}`).attr('data-world', which);
      lane.append('rect').attr('class', 'row-bg').attr('x', LEFT).attr('y', yy).attr('width', width - RIGHT - LEFT).attr('height', LANE).attr('fill', '#fafbfc');
      const segs: Segment[] = t.segments.get(n.name) ?? [];
      const color = n.kind === 'host' ? hostColor : vmColor;
      lane.selectAll('rect.seg-bar').data(segs).join('rect').attr('class', 'seg-bar')
        .attr('data-color', (s) => color(s.state)).attr('data-state', (s) => s.state)
        .attr('x', (s) => x(s.from)).attr('width', (s) => Math.max(1, x(s.to ?? t.nowUs) - x(s.from))).attr('y', yy + 1).attr('height', LANE - 2)
        .style('fill', 'var(--bg)').style('stroke', 'var(--c)')
        .append('title').text((s) => `${which}: ${s.state}: ${fmtS(s.from)} – ${fmtS(s.to ?? t.nowUs)}`);
      lane.selectAll('text.seg-label').data(segs.filter((s) => x(s.to ?? t.nowUs) - x(s.from) > s.state.length * 6 + 8)).join('text').attr('class', 'seg-label')
        .attr('x', (s) => x(s.from) + 3).attr('y', yy + LANE - 4).text((s) => s.state);
      const marks = t.markers.filter((m) => m.subject === n.name && m.kind === 'fault');
      lane.selectAll('text.marker').data(marks).join('text').attr('class', 'marker fault').attr('x', (m) => x(m.t)).attr('y', yy + LANE - 3).attr('text-anchor', 'middle').text('▼')
        .append('title').text((m) => `${which}: ${m.label} at ${fmtS(m.t)}`);
    }
    y += pairH;
  }

  for (const target of targets) {
    const g: G = svg.append<SVGGElement>('g').attr('class', 'pair recovery').attr('data-target', target);
    g.append('text').attr('class', 'row-label').attr('x', 6).attr('y', y + 26).attr('font-style', 'italic').text(`${target} recovery`);
    const l = lr.find((r) => r.target === target) ?? null;
    const s = sr.find((r) => r.target === target) ?? null;
    for (const [i, r, which] of [[0, l, 'live'], [1, s, 'sim']] as const) {
      const yy = y + i * 27;
      worldLabel(g, yy + 4, which);
      const lane: G = g.append<SVGGElement>('g').attr('class', `lane lane-${which}`).attr('data-world', which);
      lane.append('rect').attr('class', 'row-bg').attr('x', LEFT).attr('y', yy).attr('width', width - RIGHT - LEFT).attr('height', 24).attr('fill', '#fdfbf5');
      if (r) drawIntervals(lane, x, r, yy, which, which === 'sim' ? l : null);
    }
    y += recH;
  }
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${y})`)
    .call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 110))).tickFormat((v) => `${(Number(v) / 1e6).toLocaleString()} s`));

  // The rows of the result: every metric with its error.
  const table = select(host).append('table').attr('class', 'conform-rows');
  table.append('thead').append('tr').selectAll('th').data(['metric', 'server', 'live', 'sim', 'error']).join('th').text((t) => t);
  const tr = table.append('tbody').selectAll('tr').data(d.rows).join('tr').attr('data-metric', (r) => r.metric).attr('data-server', (r) => r.server);
  tr.append('td').text((r) => r.metric);
  tr.append('td').text((r) => r.server);
  tr.append('td').attr('class', 't').text((r) => (r.live === null ? '—' : String(r.live)));
  tr.append('td').attr('class', 't').text((r) => (r.sim === null ? '—' : String(r.sim)));
  tr.append('td').attr('class', 't err').attr('data-big', (r) => String(r.errPct !== null && Math.abs(r.errPct) > 25))
    .text((r) => (r.errPct === null ? '—' : `${r.errPct >= 0 ? '+' : '−'}${Math.abs(r.errPct)} %`));
}

function drawIntervals(g: G, x: ScaleLinear<number, number>, r: Recovery, y: number, which: 'live' | 'sim', live: Recovery | null): void {
  const d = r.detectedUs;
  const bars: Array<{ cls: string; from: number; to: number; yy: number; h: number; label: string; seconds: number; err: number | null }> = [];
  if (r.faultUs !== null) {
    const s = (d - r.faultUs) / 1e6;
    bars.push({ cls: 'fault-detect', from: r.faultUs, to: d, yy: y + 2, h: 6, label: `detect ${s.toFixed(2)} s`, seconds: s, err: pct(live && live.faultUs !== null ? (live.detectedUs - live.faultUs) / 1e6 : null, s) });
  }
  if (r.functionRecoveryS !== null) {
    bars.push({ cls: 'function', from: d, to: d + r.functionRecoveryS * 1e6, yy: y + 2, h: 8, label: `function ${r.functionRecoveryS.toFixed(2)} s`, seconds: r.functionRecoveryS, err: pct(live?.functionRecoveryS ?? null, r.functionRecoveryS) });
  }
  if (r.targetRecoveryS !== null) {
    bars.push({ cls: 'target', from: d, to: d + r.targetRecoveryS * 1e6, yy: y + 13, h: 6, label: `target ${r.targetRecoveryS.toFixed(2)} s`, seconds: r.targetRecoveryS, err: pct(live?.targetRecoveryS ?? null, r.targetRecoveryS) });
  }
  for (const b of bars) {
    g.append('rect').attr('class', `rec ${b.cls}`).attr('x', x(b.from)).attr('width', Math.max(1, x(b.to) - x(b.from))).attr('y', b.yy).attr('height', b.h)
      .append('title').text(`${which}: ${b.label}${which === 'sim' ? fmtPct(b.err) : ''}`);
  }
  // Labels: the function and target intervals, right of their bars.
  const [, right] = x.range();
  for (const b of bars.filter((z) => z.cls !== 'fault-detect')) {
    const text = `${b.label}${which === 'sim' ? fmtPct(b.err) : ''}`;
    const w = text.length * 6.1;
    const endX = x(b.to) + 4;
    const t = g.append('text').attr('class', `rec-label ${b.cls}`).attr('data-world', which).attr('data-seconds', b.seconds.toFixed(2))
      .attr('data-err', b.err === null ? '' : b.err.toFixed(1)).attr('y', b.yy + b.h + (b.cls === 'function' ? 0 : 2)).text(text);
    if (endX + w <= right) t.attr('x', endX);
    else t.attr('x', x(b.from) - 4).attr('text-anchor', 'end');
  }
}
