// Topology: real servers as boxes holding their VMs, services inside, VIPs as labelled arrows to
// their current holder, the LAN with each host's link. Colours by state; a suspended host is
// dashed blue, a powered-off one red; VMs move between boxes and arrows swing to a new holder
// with an animation.
import { select, type Selection } from 'd3';
import { hostColor, serviceColor, vmColor, type Twin } from '../model.ts';

const PAD = 16;
const GAP = 18;
const VIP_Y = 10;
const VIP_H = 38;
const HOSTS_Y = 96;
const HEADER_H = 40;
const SVC_H = 22;
const VM_H = 44;
const MS = 700;

interface Box {
  name: string;
  kind: 'host' | 'store';
  x: number;
  y: number;
  w: number;
  h: number;
}

interface VmBox {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

type G = Selection<SVGGElement, unknown, null, undefined>;

function pills(g: Selection<SVGGElement, unknown, null, undefined>, items: Array<{ name: string; color: string; state: string }>, x: number, y: number, maxW: number): void {
  g.selectAll('g.svc').remove();
  let cx = x;
  for (const it of items) {
    const w = Math.min(maxW, 12 + it.name.length * 6.2);
    if (cx + w > x + maxW + 1) break;
    const p = g.append('g').attr('class', 'svc').attr('data-name', it.name).attr('data-state', it.state).attr('data-color', it.color).attr('transform', `translate(${cx},${y})`);
    p.append('rect').attr('width', w).attr('height', 15).attr('rx', 7.5);
    p.append('text').attr('x', w / 2).attr('y', 11).attr('text-anchor', 'middle').text(it.name);
    p.append('title').text(`${it.name}: ${it.state}`);
    cx += w + 4;
  }
}

export class TopologyView {
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly layers: { lan: G; boxes: G; vms: G; vips: G; arrows: G };
  private maxSlots = 1;
  private lastVersion = -1;
  private lastWidth = -1;
  private twin: Twin | null = null;

  constructor(readonly host: HTMLElement, private readonly onSelect: (subject: string) => void) {
    this.svg = select(host).append('svg').attr('class', 'topology').attr('role', 'img').attr('aria-label', 'topology');
    const defs = this.svg.append('defs');
    for (const [id, cls] of [['arrow-ok', 'ok'], ['arrow-bad', 'bad']]) {
      defs.append('marker').attr('id', id).attr('class', `arrowhead ${cls}`).attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
        .attr('markerWidth', 7).attr('markerHeight', 7).attr('orient', 'auto-start-reverse')
        .append('path').attr('d', 'M0,0 L10,5 L0,10 z');
    }
    const pat = defs.append('pattern').attr('id', 'hatch').attr('patternUnits', 'userSpaceOnUse').attr('width', 8).attr('height', 8).attr('patternTransform', 'rotate(45)');
    pat.append('rect').attr('width', 8).attr('height', 8).attr('class', 'hatch-bg');
    pat.append('line').attr('x1', 0).attr('y1', 0).attr('x2', 0).attr('y2', 8).attr('class', 'hatch-line');
    this.layers = {
      lan: this.svg.append('g').attr('class', 'lan'),
      boxes: this.svg.append('g').attr('class', 'boxes'),
      vms: this.svg.append('g').attr('class', 'vms'),
      arrows: this.svg.append('g').attr('class', 'arrows'),
      vips: this.svg.append('g').attr('class', 'vips'),
    };
  }

  reset(twin: Twin): void {
    this.twin = twin;
    this.maxSlots = 1;
    this.lastVersion = -1;
    for (const l of Object.values(this.layers)) l.selectAll('*').remove();
  }

  render(force = false): void {
    const twin = this.twin;
    if (!twin) return;
    const width = Math.max(480, this.host.clientWidth);
    if (!force && twin.version === this.lastVersion && width === this.lastWidth) return;
    const animate = this.lastVersion >= 0 && width === this.lastWidth;
    this.lastVersion = twin.version;
    this.lastWidth = width;

    // Columns: the hosts, then the file server(s) holding the images of unplaced VMs.
    const columns: Array<{ name: string; kind: 'host' | 'store' }> = [...twin.hosts.keys()].map((name) => ({ name, kind: 'host' as const }));
    const stores = new Map<string, string[]>();
    const onHost = new Map<string, string[]>();
    const fileServerOf = new Map((twin.topology?.vms ?? []).map((v) => [v.name, v.fileServer]));
    for (const [name, vm] of twin.vms) {
      if (vm.host !== null && twin.hosts.has(vm.host)) onHost.set(vm.host, [...(onHost.get(vm.host) ?? []), name]);
      else {
        const fs = `${fileServerOf.get(name) ?? 'file server'}`;
        stores.set(fs, [...(stores.get(fs) ?? []), name]);
      }
    }
    for (const fs of stores.keys()) columns.push({ name: fs, kind: 'store' });
    // Hosts keep room for as many VMs as any host has held so far (a backup arriving does not
    // reflow the page); a file server box is as tall as its images need.
    const onHostNow = Math.max(1, ...[...onHost.values()].map((l) => l.length));
    this.maxSlots = Math.max(this.maxSlots, onHostNow);

    const n = Math.max(1, columns.length);
    const perRow = Math.max(1, Math.min(n, Math.floor((width - 2 * PAD + GAP) / (150 + GAP))));
    const w = Math.min(230, (width - 2 * PAD - (perRow - 1) * GAP) / perRow);
    const anyHostSvc = [...twin.hosts.keys()].some((h) => (twin.nodeServices.get(h) ?? []).length > 0);
    const top = HEADER_H + (anyHostSvc ? SVC_H : 0);
    const STORE_TOP = 40;
    const heightOf = (c: { name: string; kind: 'host' | 'store' }) =>
      c.kind === 'host' ? top + this.maxSlots * VM_H + 6 : STORE_TOP + Math.max(1, stores.get(c.name)?.length ?? 0) * VM_H + 2;
    const rows = Math.ceil(n / perRow);
    const rowHeights = Array.from({ length: rows }, (_, r) => Math.max(top + VM_H, ...columns.slice(r * perRow, (r + 1) * perRow).map(heightOf)) + 44);
    const rowY = rowHeights.map((_, r) => HOSTS_Y + rowHeights.slice(0, r).reduce((a, b) => a + b, 0));
    const totalW = perRow * w + (perRow - 1) * GAP;
    const x0 = Math.max(PAD, (width - totalW) / 2);
    const boxes: Box[] = columns.map((c, i) => ({
      name: c.name, kind: c.kind,
      x: x0 + (i % perRow) * (w + GAP),
      y: rowY[Math.floor(i / perRow)],
      w, h: heightOf(c),
    }));
    const boxOf = new Map(boxes.map((b) => [`${b.kind}:${b.name}`, b]));
    const vmBoxes: VmBox[] = [];
    for (const b of boxes) {
      const list = b.kind === 'host' ? onHost.get(b.name) ?? [] : stores.get(b.name) ?? [];
      const y0 = b.y + (b.kind === 'host' ? top : STORE_TOP);
      list.forEach((vm, i) => vmBoxes.push({ name: vm, x: b.x + 8, y: y0 + i * VM_H, w: b.w - 16, h: VM_H - 6 }));
    }
    const vmBoxOf = new Map(vmBoxes.map((v) => [v.name, v]));
    const height = HOSTS_Y + rowHeights.reduce((a, b) => a + b, 0) + 10;
    this.svg.attr('width', width).attr('height', height).attr('viewBox', `0 0 ${width} ${height}`);

    this.drawLan(twin, boxes.filter((b) => b.kind === 'host'), rowY, rowHeights);
    this.drawBoxes(twin, boxes, animate);
    this.drawVms(twin, vmBoxes, animate);
    this.drawVips(twin, width, boxOf, vmBoxOf, animate);
  }

  private drawLan(twin: Twin, boxes: Box[], rowY: number[], rowHeights: number[]): void {
    // The bus runs under the hosts of each row (file servers hold images, not LAN ports here).
    const busOfRow = rowY.map((y) => Math.max(y, ...boxes.filter((b) => b.y === y).map((b) => b.y + b.h)) + 22);
    const busY = (b: Box) => busOfRow[rowY.indexOf(b.y)];
    void rowHeights;
    const byRow = new Map<number, Box[]>();
    for (const b of boxes) byRow.set(b.y, [...(byRow.get(b.y) ?? []), b]);
    const buses = [...byRow.values()].map((bs) => ({ y: busY(bs[0]), x1: bs[0].x, x2: bs[bs.length - 1].x + bs[bs.length - 1].w }));
    this.layers.lan.selectAll('line.bus').data(buses).join('line').attr('class', 'bus')
      .attr('x1', (d) => d.x1).attr('x2', (d) => d.x2).attr('y1', (d) => d.y).attr('y2', (d) => d.y);
    this.layers.lan.selectAll('text.bus-label').data(buses.slice(0, 1)).join('text').attr('class', 'bus-label')
      .attr('x', (d) => d.x1).attr('y', (d) => d.y + 14)
      .text(() => `LAN${twin.partitions.length ? ` — partition: ${twin.partitions.map((p) => `${p.a.join(',')} ${p.oneWay ? '→' : '|'} ${p.b.join(',')}`).join('; ')}` : ''}`)
      .classed('alert', twin.partitions.length > 0);
    this.layers.lan.selectAll<SVGLineElement, Box>('line.link').data(boxes, (d) => d.name).join('line').attr('class', 'link')
      .attr('data-name', (d) => d.name)
      .attr('data-up', (d) => String(twin.hosts.get(d.name)?.linkUp !== false))
      .classed('down', (d) => twin.hosts.get(d.name)?.linkUp === false)
      .attr('x1', (d) => d.x + d.w / 2).attr('x2', (d) => d.x + d.w / 2)
      .attr('y1', (d) => d.y + d.h).attr('y2', (d) => busY(d));
  }

  private drawBoxes(twin: Twin, boxes: Box[], animate: boolean): void {
    const sel = this.layers.boxes.selectAll<SVGGElement, Box>('g.box').data(boxes, (d) => `${d.kind}:${d.name}`).join((enter) => {
      const g = enter.append('g').attr('class', (d) => `box ${d.kind === 'host' ? 'host' : 'store'}`).attr('data-name', (d) => d.name)
        .attr('transform', (d) => `translate(${d.x},${d.y})`);
      g.append('rect').attr('class', 'frame').attr('rx', 6);
      g.append('text').attr('class', 'name').attr('x', 10).attr('y', 17);
      g.append('text').attr('class', 'state').attr('y', 17);
      g.append('text').attr('class', 'mode').attr('x', 10).attr('y', 33);
      g.append('g').attr('class', 'pills');
      g.on('click', (_e, d) => this.onSelect(d.name));
      return g;
    });
    (animate ? sel.transition().duration(MS) : sel).attr('transform', (d) => `translate(${d.x},${d.y})`);
    sel.select<SVGRectElement>('rect.frame').attr('width', (d) => d.w).attr('height', (d) => d.h);
    sel.select<SVGTextElement>('text.name').text((d) => d.name);
    sel.each(function (d) {
      const g = select(this as SVGGElement);
      if (d.kind === 'store') {
        g.attr('data-state', 'store').attr('data-color', 'grey');
        g.select('text.state').text('');
        g.select('text.mode').text('saved VM images');
        return;
      }
      const hs = twin.hosts.get(d.name)!;
      const color = hostColor(hs.state);
      g.attr('data-state', hs.state).attr('data-color', color).attr('data-watts', hs.watts);
      g.select('text.state').attr('x', d.w - 10).attr('text-anchor', 'end').text(`${hs.state === 'off' ? 'powered off' : hs.state} · ${hs.watts} W`);
      const modes = [...(twin.modes.get(d.name)?.values() ?? [])];
      g.select('text.mode').text(modes.length ? `▶ ${modes.join('; ')}` : hs.linkUp ? '' : 'link down');
      const answers = twin.nodeAnswers(d.name);
      const standby = twin.nodeStandby(d.name);
      const svcs = (twin.nodeServices.get(d.name) ?? []).map((s) => {
        const st = twin.serviceState(d.name, s);
        return { name: s, state: answers ? st : `${st} (host ${hs.state})`, color: serviceColor(st, answers, standby) };
      });
      pills(g.select<SVGGElement>('g.pills') as unknown as Selection<SVGGElement, unknown, null, undefined>, svcs, 10, HEADER_H - 2, d.w - 20);
    });
  }

  private drawVms(twin: Twin, vmBoxes: VmBox[], animate: boolean): void {
    const sel = this.layers.vms.selectAll<SVGGElement, VmBox>('g.vm').data(vmBoxes, (d) => d.name).join((enter) => {
      const g = enter.append('g').attr('class', 'vm').attr('data-name', (d) => d.name).attr('transform', (d) => `translate(${d.x},${d.y})`);
      g.append('rect').attr('class', 'frame').attr('rx', 4);
      g.append('text').attr('class', 'name').attr('x', 8).attr('y', 15);
      g.append('text').attr('class', 'state').attr('y', 15);
      g.append('g').attr('class', 'pills');
      g.on('click', (_e, d) => this.onSelect(d.name));
      return g;
    });
    (animate ? sel.transition().duration(MS) : sel).attr('transform', (d) => `translate(${d.x},${d.y})`);
    sel.select<SVGRectElement>('rect.frame').attr('width', (d) => d.w).attr('height', (d) => d.h);
    sel.each(function (d) {
      const g = select(this as SVGGElement);
      const vm = twin.vms.get(d.name)!;
      g.attr('data-state', vm.state).attr('data-host', vm.host ?? '').attr('data-color', vmColor(vm.state));
      g.select('text.name').text(`VM ${d.name}`);
      g.select('text.state').attr('x', d.w - 8).attr('text-anchor', 'end').text(vm.state);
      const answers = twin.nodeAnswers(d.name);
      const standby = twin.nodeStandby(d.name);
      const svcs = (twin.nodeServices.get(d.name) ?? []).map((s) => ({ name: s, state: twin.serviceState(d.name, s), color: serviceColor(twin.serviceState(d.name, s), answers, standby) }));
      pills(g.select<SVGGElement>('g.pills') as unknown as Selection<SVGGElement, unknown, null, undefined>, svcs, 8, 20, d.w - 16);
    });
  }

  private drawVips(twin: Twin, width: number, boxOf: Map<string, Box>, vmBoxOf: Map<string, VmBox>, animate: boolean): void {
    const names = [...twin.vips.keys()];
    const vw = Math.min(190, (width - 2 * PAD - (names.length - 1) * 10) / Math.max(1, names.length));
    const totalW = names.length * vw + (names.length - 1) * 10;
    const x0 = Math.max(PAD, (width - totalW) / 2);
    const clientsOf = new Map<string, Array<{ name: string; ok: boolean | null }>>();
    for (const [name, c] of twin.clients) clientsOf.set(c.vip, [...(clientsOf.get(c.vip) ?? []), { name, ok: c.ok }]);
    const data = names.map((name, i) => {
      const holder = twin.vipHolder(name);
      const x = x0 + i * (vw + 10);
      let target: { x: number; y: number } | null = null;
      if (holder !== null) {
        const vb = vmBoxOf.get(holder);
        const hb = boxOf.get(`host:${holder}`);
        // Arrows to a host land left of centre, to a VM right of it: both stay apart.
        if (vb) target = { x: vb.x + vb.w * 0.7, y: vb.y };
        else if (hb) target = { x: hb.x + hb.w * 0.4, y: hb.y };
      }
      return { name, i, x, holder, target, serving: twin.vipServing(name), info: twin.vips.get(name)!, clients: clientsOf.get(name) ?? [] };
    });
    type D = (typeof data)[number];
    const sel = this.layers.vips.selectAll<SVGGElement, D>('g.vip').data(data, (d) => d.name).join((enter) => {
      const g = enter.append('g').attr('class', 'vip').attr('data-name', (d) => d.name);
      g.append('rect').attr('class', 'frame').attr('rx', 12);
      g.append('text').attr('class', 'name').attr('y', 15);
      g.append('text').attr('class', 'addr').attr('y', 30);
      g.on('click', (_e, d) => this.onSelect(d.name));
      return g;
    });
    sel.attr('transform', (d) => `translate(${d.x},${VIP_Y})`).attr('data-holder', (d) => d.holder ?? '').attr('data-serving', (d) => String(d.serving));
    sel.select('rect.frame').attr('width', vw).attr('height', VIP_H);
    sel.select('text.name').attr('x', vw / 2).attr('text-anchor', 'middle').text((d) => `${d.name} → ${d.holder ?? 'nobody'}`);
    sel.select('text.addr').attr('x', vw / 2).attr('text-anchor', 'middle')
      .text((d) => [d.info.address, ...d.clients.map((c) => `${c.name} ${c.ok === null ? '…' : c.ok ? 'OK' : 'XX'}`)].filter(Boolean).join(' · '));

    // Across above the hosts, then straight down onto the holder.
    const path = (d: D): string => {
      const sx = d.x + vw / 2;
      const sy = VIP_Y + VIP_H;
      const t = d.target ?? { x: sx, y: HOSTS_Y - 4 };
      const band = HOSTS_Y - 10;
      const f = (v: number) => v.toFixed(1);
      return `M${f(sx)},${f(sy)} C${f(sx)},${f(band)} ${f(t.x)},${f(sy)} ${f(t.x)},${f(band)} L${f(t.x)},${f(t.y - 2)}`;
    };
    const arrows = this.layers.arrows.selectAll<SVGPathElement, D>('path.vip-arrow').data(data, (d) => d.name).join((enter) =>
      enter.append('path').attr('class', 'vip-arrow').attr('data-name', (d) => d.name).attr('d', path));
    arrows.attr('data-holder', (d) => d.holder ?? '').classed('bad', (d) => !d.serving)
      .attr('marker-end', (d) => `url(#${d.serving ? 'arrow-ok' : 'arrow-bad'})`);
    (animate ? arrows.transition().duration(MS) : arrows).attr('d', path);
  }
}
