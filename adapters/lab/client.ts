// The lab's client (runs inside its own namespace, started by `hatwin lab up`): accesses every
// VIP once per interval on a fixed wall-clock grid, by request and reply, and appends one OK/XX
// line per access to the access log (accesslog.ts), like the papers' client.
//
// The VIPs listed in the pause file (names.ts clientPausePath, one a line) are not accessed while
// they are listed: a live run stops the client's accesses to a service group that way (PS2).
//
// Usage: client.ts LAB.yaml RUN-ID
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkService } from '../probe/checkers.ts';
import { formatAccess } from './accesslog.ts';
import { labServiceCheck } from './check.ts';
import { inCidr } from './ipv4.ts';
import { accessLogPath, clientPausePath } from './names.ts';
import { loadLab, vipService } from './schema.ts';

const [labFile, runId] = process.argv.slice(2);
if (!labFile || !runId) {
  console.error('usage: client.ts LAB.yaml RUN-ID');
  process.exit(2);
}
const lab = loadLab(labFile);
const targets = lab.vips
  .filter((v) => !lab.client.vips || lab.client.vips.includes(v.name))
  .map((v) => {
    const s = vipService(lab, v);
    return { vip: v.name, address: v.address, port: s.port, check: labServiceCheck(s) };
  });
// Nothing but the lab's own subnet, ever (the namespace has no other route either).
for (const t of targets) if (!inCidr(lab.cidr, t.address)) throw new Error(`VIP ${t.vip} ${t.address} outside ${lab.subnet}`);

const intervalMs = lab.client.interval / 1000;
const timeoutMs = Math.min(lab.client.timeout / 1000, intervalMs);
const logFile = createWriteStream(accessLogPath(lab), { flags: 'a' });
const runIdFile = join(lab.stateDir, 'run-id');

const pauseFile = clientPausePath(lab);

/** The VIPs not to access now (none when the file is absent or unreadable). */
function paused(): Set<string> {
  try {
    return new Set(readFileSync(pauseFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean));
  } catch {
    return new Set();
  }
}

function stillOurs(): boolean {
  return existsSync(runIdFile) && readFileSync(runIdFile, 'utf8').trim() === runId;
}

let stop = false;
process.on('SIGTERM', () => { stop = true; });
process.on('SIGINT', () => { stop = true; });

let next = Math.ceil(Date.now() / intervalMs) * intervalMs;
for (let tick = 0; !stop; tick++) {
  const wait = next - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (tick % 5 === 0 && !stillOurs()) break;
  const at = next;
  const skip = paused();
  const now = targets.filter((t) => !skip.has(t.vip));
  const results = await Promise.all(now.map((t) => checkService(t.address, t.port, t.check, timeoutMs)));
  logFile.write(results.map((r, i) => `${formatAccess(at, now[i].vip, now[i].address, r)}\n`).join(''));
  // Next slot on the grid; slots missed while this process was stopped are skipped, not bunched.
  next += intervalMs;
  if (next < Date.now()) next = Math.ceil(Date.now() / intervalMs) * intervalMs;
}
logFile.end(() => process.exit(0));
