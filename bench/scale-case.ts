// One case of the scale bench in this process: node bin/tsnode.js bench/scale-case.ts POLICY N DAYS FAULTS_PER_HOST_YEAR [SEED] [all|changed]
// Prints one JSON line: the case, its kernel and trace events, set-up and run times, peak RSS.
// HATWIN_SCALE_PROGRESS_DAYS=D: a line on stderr every D simulated days (the day reached, process CPU s, RSS MB).
// HATWIN_SCALE_HASH=1: also the trace's sha-256 (below).
import { createHash } from 'node:crypto';
import { runScale, type ScalePolicy } from '../experiments/scale.ts';

const [policy, n, days, faults, seed, nudge] = process.argv.slice(2);
if (policy !== 'p2p' && policy !== 'failover') throw new Error('usage: scale-case.ts p2p|failover N DAYS FAULTS_PER_HOST_YEAR [SEED] [all|changed]');
if (nudge !== undefined && nudge !== 'all' && nudge !== 'changed') throw new Error(`nudge must be all or changed, got ${nudge}`);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const every = Number(process.env.HATWIN_SCALE_PROGRESS_DAYS ?? 0);
const progress = every > 0 ? { everyDays: every, report: (day: number) => console.error(`day ${day.toFixed(1)}: CPU ${(cpuMs() / 1000).toFixed(1)} s, RSS ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB`) } : undefined;
// HATWIN_SCALE_HASH=1: the sha-256 of the whole trace (each event as a JSON line, in order) in the
// JSON line, to check that a change of the runtime kept every trace line (it costs CPU: compare
// times without it).
const hash = process.env.HATWIN_SCALE_HASH === '1' ? createHash('sha256') : undefined;
const each = hash !== undefined ? (e: unknown) => void hash.update(JSON.stringify(e) + '\n') : undefined;
const r = runScale({ policy: policy as ScalePolicy, n: Number(n), days: Number(days), faultsPerHostYear: Number(faults), seed: Number(seed ?? 1), ...(nudge !== undefined ? { nudge } : {}) }, () => performance.now(), cpuMs, progress, each);
console.log(JSON.stringify({ ...r, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), ...(hash !== undefined ? { traceSha256: hash.digest('hex') } : {}) }));
