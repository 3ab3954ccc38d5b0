// A timeline as SVG: one lane per thing (a condition, a host, a VIP's holder), each a row of
// labelled segments over a common time axis in seconds.

export interface Segment {
  fromS: number;
  toS: number;
  text: string;
  color: string;
}

export interface Lane {
  label: string;
  segments: Segment[];
}

/** Colours of the states a lane shows (host states, PSS conditions, the DBSS's view); others orange. */
const STATE_COLOR: Record<string, string> = {
  moderate: '#4a7bd0', ps1: '#7cc47f', ps2: '#2a9d3a', on: '#4a7bd0', suspended: '#bbbbbb', off: '#eeeeee', failed: '#d04a4a', booting: '#e0a02d', restarting: '#e0a02d', paused: '#e0a02d',
  normal: '#4a7bd0', 'access-stop': '#bbbbbb',
};
export const stateColor = (s: string): string => STATE_COLOR[s] ?? '#e0662d';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Lanes over [0, endS]; a segment's text is written inside it when it fits. `unitS` scales the axis labels (3600: hours). */
export function timelineSvg(title: string, lanes: readonly Lane[], endS: number, unitS = 1, unitLabel = 's'): string {
  const left = Math.max(120, Math.ceil(Math.max(0, ...lanes.map((l) => l.label.length)) * 7) + 16);
  const plotW = 900;
  const laneH = 26;
  const top = 50;
  const width = left + plotW + 30;
  const height = top + lanes.length * laneH + 40;
  const sx = (s: number) => r2(left + (plotW * Math.min(Math.max(s, 0), endS)) / (endS || 1));
  const raw = endS / unitS / 10;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const f = raw / p;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  const bottom = top + lanes.length * laneH;
  for (let v = 0; v <= endS / unitS + 1e-9; v += step) {
    const x = sx(v * unitS);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="#ddd"/>`, `<text x="${x}" y="${bottom + 14}" text-anchor="middle">${r2(v)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${bottom + 30}" text-anchor="middle">time, ${esc(unitLabel)}</text>`);
  lanes.forEach((lane, i) => {
    const y = top + i * laneH;
    parts.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(lane.label)}</text>`);
    for (const s of lane.segments) {
      const a = sx(s.fromS);
      const w = Math.max(0.5, r2(sx(s.toS) - a));
      parts.push(`<rect x="${a}" y="${y + 3}" width="${w}" height="${laneH - 6}" fill="${s.color}" stroke="white" stroke-width="0.5"><title>${esc(`${s.text}: ${r2(s.fromS)}-${r2(s.toS)} s`)}</title></rect>`);
      if (w > s.text.length * 6.2 + 6) parts.push(`<text x="${r2(a + 3)}" y="${y + 17}" fill="white">${esc(s.text)}</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
