// Health lights in the style of chen-lo-2015 Fig. 8: two lights per object (one failed probe /
// three consecutive failed probes), grouped by Application, Network, Physical and Server level.
// Clicking a light shows that object's event history. How the lights are derived: model.ts.
import { select } from 'd3';
import { LEVELS, type LightObject, type Twin } from '../model.ts';

const HINT: Record<string, string> = {
  Application: 'services answering on their node',
  Network: 'host links and VIPs',
  Physical: 'real servers powered on',
  Server: 'VMs running',
};

export class LightsView {
  private twin: Twin | null = null;
  private selected: string | null = null;

  constructor(readonly host: HTMLElement, private readonly onSelect: (subject: string) => void) {}

  reset(twin: Twin): void {
    this.twin = twin;
    this.host.replaceChildren();
  }

  select(subject: string | null): void {
    this.selected = subject;
  }

  render(): void {
    const twin = this.twin;
    if (!twin) return;
    const all = twin.lights();
    const groups = LEVELS.map((level) => ({ level, items: all.filter((l) => l.level === level) }));
    const root = select(this.host);
    const g = root.selectAll<HTMLDivElement, (typeof groups)[number]>('div.level').data(groups, (d) => d.level).join((enter) => {
      const div = enter.append('div').attr('class', 'level').attr('data-level', (d) => d.level);
      const h = div.append('h3');
      h.append('span').attr('class', 'title').text((d) => d.level);
      h.append('span').attr('class', 'hint').text((d) => HINT[d.level]);
      div.append('div').attr('class', 'rows');
      return div;
    });
    g.select('h3').attr('data-red', (d) => String(d.items.some((i) => i.lights[0] === 'red')));
    g.select('h3').attr('data-stale', (d) => String(d.items.some((i) => i.lights[0] === 'stale')));
    g.select('div.rows').selectAll<HTMLDivElement, LightObject>('div.light-row').data((d) => d.items, (d) => d.id).join((enter) => {
      const row = enter.append('div').attr('class', 'light-row').attr('data-id', (d) => d.id).attr('role', 'button').attr('tabindex', 0);
      row.append('span').attr('class', 'light l1');
      row.append('span').attr('class', 'light l2');
      row.append('span').attr('class', 'label');
      row.on('click', (_e, d) => this.onSelect(d.subject));
      row.on('keydown', (e: KeyboardEvent, d) => {
        if (e.key === 'Enter' || e.key === ' ') this.onSelect(d.subject);
      });
      return row;
    })
      .attr('data-l1', (d) => d.lights[0])
      .attr('data-l2', (d) => d.lights[1])
      .classed('selected', (d) => d.subject === this.selected)
      .attr('data-stale', (d) => String(d.lights[0] === 'stale'))
      .attr('title', (d) => {
        if (d.lights[0] === 'stale') return `${d.label}: ${d.note ?? 'stale'} — not shown as green or red until a probe reports again`;
        if (d.standby) return `${d.label}: ${d.note ?? 'standby (not probed)'}`;
        return `${d.label}: ${d.misses} consecutive failed probe${d.misses === 1 ? '' : 's'}${d.note ? ` (${d.note})` : ''} — first light: red after 1 miss, second: after 3 misses in a row`;
      })
      .each(function (d) {
        const row = select(this);
        row.select('.l1').attr('data-color', d.lights[0]);
        row.select('.l2').attr('data-color', d.lights[1]);
        row.select('.label').text(d.lights[0] === 'stale' ? `${d.label} · stale` : d.label);
      });
  }
}
