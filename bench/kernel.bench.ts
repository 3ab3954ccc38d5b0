// Hold-model benchmark of the event machinery: `npm run bench [-- --json] [-- --quick]`.
//
// Contenders (same model, same delay table, same tie-breaking):
//   kernel   - sim/kernel Kernel, one shared handler, arg = entity index
//   baseline - a naive binary heap of {time, seq, fn} objects, a new closure per event
//   runtime  - engine/runtime Runtime on a Kernel: n processes `for (;;) yield* sleep(d)`
//   (opt-in: kernel0 - the Kernel on the pre-wheel queue; runtime0 - the runtime before the
//   one-shot effect helpers, runtime-v0.ts; generators - bare generators on the Kernel, the floor
//   under runtime; each adds a ratio column against runtime or kernel)
// Each (contender, N) runs in a fresh child process (no JIT feedback or garbage shared between
// contenders): setup, warm-up, then ROUNDS timed rounds; the reported rate is the median round.
// Rates: events/s (kernel, baseline), effects/s (runtime; one sleep effect per event).
//
// Options: --json   also print {"kernel": {"1000": evps, ...}, "baseline": ..., "runtime": ...}
//                   as the last line
//          --quick  shorter rounds (a rough number in a few seconds per contender)
//          --n=1000,100000  the N values (default 1000,100000,1000000)
//          --only=kernel,runtime  the contenders (default all three; opt-in: `kernel0` = the
//                   Kernel on the frozen pre-wheel queue bench/queue-v0.ts, `runtime0` = the
//                   frozen runtime of bench/runtime-v0.ts, `generators` = bare generators)
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENDERS, EXTRA_CONTENDERS, makeHold, type Contender } from './hold.ts';
import { makeDelayTable } from './delays.ts';

const MEAN_US = 1000;
const CHUNK = 20_000; // events between clock reads
const DEFAULT_NS = [1_000, 100_000, 1_000_000];

interface Result {
  contender: Contender;
  n: number;
  rate: number; // median of rounds
  minRate: number;
  maxRate: number;
  cpuRate: number; // median of rounds, work units per second of this process's CPU time
  measured: number; // work units in the timed rounds
  measuredMs: number;
  setupMs: number;
  warmup: number;
  heapMB: number;
  rssMB: number;
  finalUs: number;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------- child: one measurement

function measure(contender: Contender, n: number, roundMs: number, rounds: number, warmMs: number): Result {
  const delays = makeDelayTable(MEAN_US);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const t0 = nowMs();
  const model = makeHold(contender, n, delays);
  const setupMs = nowMs() - t0;
  gc?.();

  // Warm-up: at least warmMs and min(N, 1 M) events, at most 6 * warmMs (the JIT tiers up, the
  // pending events of the setup are mostly replaced by events scheduled in the loop).
  const w0 = model.count();
  const tw = nowMs();
  const warmEvents = Math.min(n, 1_000_000);
  while (nowMs() - tw < warmMs || model.count() - w0 < warmEvents) {
    model.run(CHUNK);
    if (nowMs() - tw > 6 * warmMs) break;
  }
  const warmup = model.count() - w0;

  const rates: number[] = [];
  const cpuRates: number[] = [];
  let measured = 0;
  let measuredMs = 0;
  for (let r = 0; r < rounds; r++) {
    const c0 = model.count();
    const s = nowMs();
    const cpu0 = process.cpuUsage();
    let el = 0;
    do {
      model.run(CHUNK);
      el = nowMs() - s;
    } while (el < roundMs);
    const done = model.count() - c0;
    rates.push((done / el) * 1000);
    const cpu = process.cpuUsage(cpu0);
    cpuRates.push(done / ((cpu.user + cpu.system) / 1e6));
    measured += done;
    measuredMs += el;
  }
  const mem = process.memoryUsage();
  return {
    contender,
    n,
    rate: median(rates),
    minRate: Math.min(...rates),
    maxRate: Math.max(...rates),
    cpuRate: median(cpuRates),
    measured,
    measuredMs,
    setupMs,
    warmup,
    heapMB: mem.heapUsed / 2 ** 20,
    rssMB: mem.rss / 2 ** 20,
    finalUs: model.nowUs(),
  };
}

// ---------------------------------------------------------------- parent: the table

function fmtRate(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(0)} k/s`;
}

function fmtN(n: number): string {
  const e = Math.log10(n);
  return Number.isInteger(e) ? `1e${e}` : String(n);
}

function pad(s: string, w: number, right = true): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function printTable(ns: number[], only: Contender[], res: Map<string, Result>): void {
  const get = (c: Contender, n: number) => res.get(`${c}/${n}`);
  const ratio = (a?: Result, b?: Result) => (a && b ? `${(a.rate / b.rate).toFixed(2)}x` : 'n/a');
  const v0 = only.includes('kernel0');
  const r0 = only.includes('runtime0');
  const g0 = only.includes('generators');
  const unit = (c: Contender) => (c === 'runtime' || c === 'runtime0' || c === 'generators' ? `${c} eff/s` : `${c} ev/s`);
  const head = ['N', ...only.map(unit), 'kernel/baseline', 'runtime/baseline'];
  if (v0) head.push('kernel/kernel0');
  if (r0) head.push('runtime/runtime0');
  if (g0) head.push('runtime/generators');
  const rows = ns.map((n) => [
    fmtN(n),
    ...only.map((c) => fmtRate(get(c, n)?.rate)),
    ratio(get('kernel', n), get('baseline', n)),
    ratio(get('runtime', n), get('baseline', n)),
    ...(v0 ? [ratio(get('kernel', n), get('kernel0', n))] : []),
    ...(r0 ? [ratio(get('runtime', n), get('runtime0', n))] : []),
    ...(g0 ? [ratio(get('runtime', n), get('generators', n))] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i], i > 0)).join('  ');
  console.log('');
  console.log(`Hold model, exponential delays (mean ${MEAN_US} us), median of timed rounds`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));

  console.log('');
  console.log('Details (spread = min..max of rounds; per cpu-s = median rate per second of the process\'s');
  console.log('CPU time, less sensitive to a busy machine; setup = building the N pending events / processes)');
  const dh = ['contender', 'N', 'median', 'spread', 'per cpu-s', 'timed units', 'timed s', 'warm-up', 'setup ms', 'heap MB', 'rss MB'];
  const drows: string[][] = [];
  for (const c of only) {
    for (const n of ns) {
      const r = get(c, n);
      if (!r) {
        drows.push([c, fmtN(n), 'failed', '', '', '', '', '', '', '', '']);
        continue;
      }
      drows.push([
        c,
        fmtN(n),
        fmtRate(r.rate),
        `${fmtRate(r.minRate)}..${fmtRate(r.maxRate)}`,
        fmtRate(r.cpuRate),
        (r.measured / 1e6).toFixed(1) + ' M',
        (r.measuredMs / 1000).toFixed(2),
        (r.warmup / 1e6).toFixed(1) + ' M',
        r.setupMs.toFixed(0),
        r.heapMB.toFixed(0),
        r.rssMB.toFixed(0),
      ]);
    }
  }
  const dw = dh.map((h, i) => Math.max(h.length, ...drows.map((r) => r[i].length)));
  const dline = (cells: string[]) => cells.map((c, i) => pad(c, dw[i], i > 1)).join('  ');
  console.log(dline(dh));
  console.log(dw.map((w) => '-'.repeat(w)).join('  '));
  for (const r of drows) console.log(dline(r));

  // All contenders consume the same delays in the same order, so their simulated clocks only
  // differ because they ran a different number of events; report the targets of the issue.
  const k5 = get('kernel', 100_000);
  const r5 = get('runtime', 100_000);
  const r05 = get('runtime0', 100_000);
  console.log('');
  const cpu = (r: Result) => ` (${fmtRate(r.cpuRate)} per cpu-s)`;
  if (k5) console.log(`target kernel  >= 5 M events/s  at N=1e5: ${fmtRate(k5.rate)} ${k5.rate >= 5e6 ? 'OK' : 'MISSED'}${cpu(k5)}`);
  if (r5) console.log(`target runtime >= 1 M effects/s at N=1e5: ${fmtRate(r5.rate)} ${r5.rate >= 1e6 ? 'OK' : 'MISSED'}${cpu(r5)}`);
  if (r5 && r05) console.log(`runtime vs runtime0 (before the one-shot helpers) at N=1e5: ${(r5.rate / r05.rate).toFixed(2)}x (${(r5.cpuRate / r05.cpuRate).toFixed(2)}x per cpu-s)`);
  const g5 = get('generators', 100_000);
  if (r5 && g5) console.log(`runtime vs bare generators (the floor of a generator per process) at N=1e5: ${(r5.rate / g5.rate).toFixed(2)}x (${(r5.cpuRate / g5.cpuRate).toFixed(2)}x per cpu-s)`);
}

function parseList(args: string[], name: string): string[] | undefined {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3).split(',').filter(Boolean) : undefined;
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const [, contender, n, roundMs, rounds, warmMs] = args;
    const r = measure(contender as Contender, Number(n), Number(roundMs), Number(rounds), Number(warmMs));
    console.log(JSON.stringify(r));
    return;
  }
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const ns = (parseList(args, 'n') ?? DEFAULT_NS.map(String)).map(Number);
  const only = (parseList(args, 'only') ?? [...CONTENDERS]) as Contender[];
  const known: readonly string[] = [...CONTENDERS, ...EXTRA_CONTENDERS];
  for (const c of only) if (!known.includes(c)) throw new Error(`unknown contender ${c}`);
  const roundMs = quick ? 150 : 400;
  const rounds = quick ? 3 : 5;
  const warmMs = quick ? 150 : 500;

  const here = dirname(fileURLToPath(import.meta.url));
  const tsnode = resolve(here, '../bin/tsnode.js');
  const self = fileURLToPath(import.meta.url);
  const res = new Map<string, Result>();
  const started = nowMs();
  console.error(`hold-model bench: N = ${ns.map(fmtN).join(', ')}; ${only.join(', ')}; ${rounds} rounds x ${roundMs} ms after ${warmMs} ms warm-up, each in a fresh node process`);
  for (const n of ns) {
    for (const c of only) {
      const p = spawnSync(
        process.execPath,
        ['--expose-gc', '--max-old-space-size=16384', tsnode, self, '--child', c, String(n), String(roundMs), String(rounds), String(warmMs)],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
      );
      const last = p.stdout?.trim().split('\n').pop();
      if (p.status !== 0 || !last) {
        console.error(`  ${c} N=${fmtN(n)}: child failed (status ${p.status}, signal ${p.signal})`);
        continue;
      }
      const r = JSON.parse(last) as Result;
      res.set(`${c}/${n}`, r);
      console.error(`  ${pad(c, 8, false)} N=${pad(fmtN(n), 4, false)} ${pad(fmtRate(r.rate), 10)}  (setup ${r.setupMs.toFixed(0)} ms)`);
    }
  }
  console.error(`total ${((nowMs() - started) / 1000).toFixed(1)} s`);
  printTable(ns, only, res);
  if (json) {
    const out: Record<string, Record<string, number>> = {};
    for (const c of [...CONTENDERS, ...EXTRA_CONTENDERS.filter((x) => only.includes(x))]) {
      out[c] = {};
      for (const n of ns) {
        const r = res.get(`${c}/${n}`);
        if (r) out[c][String(n)] = Math.round(r.rate);
      }
    }
    console.log(JSON.stringify(out));
  }
}

main();
