// The `scale` bench (experiments/scale.ts): N = 100, 1,000, 10,000 servers in a P2P ring and in
// failover blocks, over 1, 30 and 365 simulated days, with a sparse fault rate and with none.
//
//   node bin/tsnode.js bench/scale.ts [--out DIR] [--budget-s 120] [--quick] [--policies p2p,failover]
//   node bin/tsnode.js bench/scale.ts --flat      # per-event cost of a P2P ring at N = 100, 1,000, 10,000
//   node bin/tsnode.js bench/scale.ts --per-fault # CPU per fault and per event of a P2P ring at N = 100, 1,000, 10,000
//
// Each case runs in a fresh node process (its own peak RSS, no JIT or garbage shared). Within a
// series (policy, fault rate) the cases run from the smallest to the largest number of host-days;
// a case whose estimate (the last measured case's microseconds per event and events per host-day,
// scaled) exceeds the budget is not run and says so. Writes DIR/scale.{json,csv,md,svg}.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleSvg, scaleTable, usPerEvent, type ScalePolicy, type ScaleRow } from '../experiments/scale.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const budgetS = Number(opt('budget-s') ?? 120);
const outDir = resolve(opt('out') ?? join(root, 'out', 'scale'));
const quick = args.includes('--quick');
const policies = (opt('policies') ?? 'failover,p2p').split(',') as ScalePolicy[];

function runCase(policy: ScalePolicy, n: number, days: number, faults: number, extra: string[] = []): ScaleRow {
  // A 32 MB young generation: objects that live through one wait (an effect, a port call's future)
  // die there instead of being promoted; P2P rings run 20-40 % faster (docs/scale.md).
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', '--max-semi-space-size=32', join(root, 'bin/tsnode.js'), join(root, 'bench/scale-case.ts'), policy, String(n), String(days), String(faults), ...extra], {
    encoding: 'utf8', timeout: budgetS * 3 * 1000, maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    return { policy, n, days, faultsPerHostYear: faults, skipped: r.error ? `stopped after ${budgetS * 3} s` : `failed: ${r.stderr.trim().split('\n').slice(-1)[0]}` };
  }
  return JSON.parse(line) as ScaleRow;
}

function progress(r: ScaleRow): void {
  const what = `${r.policy} N=${r.n} ${r.days} d ${r.faultsPerHostYear} faults/host-yr`;
  if (r.skipped !== undefined) console.error(`  ${what}: not run (${r.skipped})`);
  else console.error(`  ${what}: ${(((r.setupMs ?? 0) + (r.runMs ?? 0)) / 1000).toFixed(2)} s, ${r.events} events, ${r.peakRssMB} MB`);
}

if (args.includes('--per-fault')) {
  // The same 10,000 host-days at each N (about 80 faults at 3 a host-year, the bench's rate), with
  // the narrowed nudge, and the same ring with no fault: CPU per fault = the run's extra CPU over
  // the fault-free ring's, divided by the faults; events likewise. Flat in N is the goal.
  console.error('per fault: P2P ring (nudge: changed), 10,000 host-days, 3 faults/host-yr and none, each in a fresh process');
  console.log('| N | days | faults | kernel events | events per fault | run CPU s | fault-free run CPU s | CPU ms per fault | CPU us per event | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|');
  for (const n of quick ? [100, 1000] : [100, 1000, 10_000]) {
    const days = 10_000 / n;
    const quiet = runCase('p2p', n, days, 0, ['1', 'changed']);
    const r = runCase('p2p', n, days, 3, ['1', 'changed']);
    progress(quiet);
    progress(r);
    if (r.cpuRunMs === undefined || quiet.cpuRunMs === undefined || !r.faults) {
      console.log(`| ${n} | ${days} | not run: ${r.skipped ?? quiet.skipped ?? 'no fault'} |`);
      continue;
    }
    const perFault = (r.cpuRunMs - quiet.cpuRunMs) / r.faults;
    const eventsPerFault = ((r.events ?? 0) - (quiet.events ?? 0)) / r.faults;
    console.log(`| ${n.toLocaleString('en-US')} | ${days} | ${r.faults} | ${r.events} | ${eventsPerFault.toFixed(0)} | ${(r.cpuRunMs / 1000).toFixed(2)} | ${(quiet.cpuRunMs / 1000).toFixed(2)} | ${perFault.toFixed(1)} | ${((1000 * (r.cpuRunMs - quiet.cpuRunMs)) / ((r.events ?? 0) - (quiet.events ?? 0))).toFixed(1)} | ${r.peakRssMB} |`);
  }
} else if (args.includes('--flat')) {
  // The same number of P2P events (about 4 M) at each N: the span shrinks as N grows.
  console.error('flat: P2P ring, 30 faults/host-yr, ~4 M kernel events per N, each in a fresh process');
  const rows: ScaleRow[] = [];
  for (const n of quick ? [100, 1000] : [100, 1000, 10_000]) {
    const r = runCase('p2p', n, 100 / n, 30);
    progress(r);
    rows.push(r);
  }
  console.log('| N | simulated days | kernel events | run s | us/event | peak RSS MB |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.n} | ${r.days} | ${r.events ?? ''} | ${((r.runMs ?? 0) / 1000).toFixed(2)} | ${usPerEvent(r)?.toFixed(2) ?? r.skipped} | ${r.peakRssMB ?? ''} |`);
} else {
  const ns = quick ? [100, 1000] : [100, 1000, 10_000];
  const spans = quick ? [1, 30] : [1, 30, 365];
  const rows: ScaleRow[] = [];
  console.error(`scale: ${policies.join(', ')}; N = ${ns.join(', ')}; ${spans.join(', ')} days; budget ${budgetS} s a case`);
  for (const policy of policies) {
    for (const faults of [0, 3]) {
      let last: ScaleRow | undefined;
      const cases = ns.flatMap((n) => spans.map((days) => ({ n, days }))).sort((a, b) => a.n * a.days - b.n * b.days || a.n - b.n);
      for (const { n, days } of cases) {
        const us = last ? usPerEvent(last) : undefined;
        // Without faults a ring whose loops are all quiet costs its set-up (a few events per
        // server, whatever the span): scaled by servers, not host-days, once the last case shows it.
        const setupOnly = faults === 0 && last !== undefined && (last.events ?? Infinity) <= 10 * last.n ? last : undefined;
        const estS = setupOnly !== undefined
          ? (((setupOnly.setupMs ?? 0) + (setupOnly.runMs ?? 0)) / 1000) * (n / setupOnly.n)
          : last?.events_per_host_day !== undefined && us !== undefined ? (last.events_per_host_day * n * days * us) / 1e6 : undefined;
        const r = estS !== undefined && estS > budgetS
          ? { policy, n, days, faultsPerHostYear: faults, skipped: `estimated ${Math.round(estS).toLocaleString('en-US')} s at ${last!.events_per_host_day!.toFixed(0)} events/host-day`, estS }
          : runCase(policy, n, days, faults);
        progress(r);
        rows.push(r);
        if (r.skipped === undefined) last = r;
      }
    }
  }
  const table = scaleTable(rows);
  console.log(table);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'scale.json'), `${JSON.stringify({ budgetS, rows }, null, 2)}\n`);
  const cols = ['policy', 'n', 'days', 'faultsPerHostYear', 'faults', 'events', 'traceEvents', 'events_per_host_day', 'setupMs', 'runMs', 'peakRssMB', 'skipped'] as const;
  writeFileSync(join(outDir, 'scale.csv'), `${cols.join(',')}\n${rows.map((r) => cols.map((c) => JSON.stringify(r[c] ?? '')).join(',')).join('\n')}\n`);
  writeFileSync(join(outDir, 'scale.md'), `${table}\n`);
  writeFileSync(join(outDir, 'scale.svg'), `${scaleSvg(rows)}\n`);
  console.error(`wrote ${outDir}/scale.{json,csv,md,svg}`);
}
