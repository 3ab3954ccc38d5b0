#!/usr/bin/env node
// Control of a mini-lab host's supervisor from inside the lab (plain JavaScript so that it starts
// in tens of milliseconds: management programs run it over SSH to restart a service or power a
// host down, as a real lab would run an init script or `poweroff`).
//
//   node adapters/lab/ctl.mjs STATE_DIR HOST service start|stop|restart SERVICE
//   node adapters/lab/ctl.mjs STATE_DIR HOST power off|cycle|on|suspend
//   node adapters/lab/ctl.mjs STATE_DIR HOST status
//
// STATE_DIR/hosts.json (written by `hatwin lab up`) maps host names to supervisor sockets, so
// no path is built from a name. Exit 0 when the supervisor did it, 1 with its reason otherwise.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const [stateDir, host, op, action, service] = process.argv.slice(2);
const fail = (msg) => {
  process.stderr.write(`ctl: ${msg}\n`);
  process.exit(1);
};
if (!stateDir || !host || !op) fail('usage: ctl.mjs STATE_DIR HOST service ACTION SERVICE | power ACTION | status');
let sockets;
try {
  sockets = JSON.parse(readFileSync(`${stateDir}/hosts.json`, 'utf8'));
} catch (e) {
  fail(`no lab at ${stateDir}: ${e.message}`);
}
if (!Object.hasOwn(sockets, host)) fail(`no host "${host}" (hosts: ${Object.keys(sockets).join(', ')})`);
let req;
if (op === 'service' && ['start', 'stop', 'restart'].includes(action) && service) req = { op, action, service };
// A cycle asked through this script comes from inside the host (a manager's reboot over SSH):
// the supervisor replies before the power goes, as a real reboot's session closes first.
else if (op === 'power' && ['on', 'off', 'cycle', 'suspend'].includes(action)) req = { op, action, ...(action === 'cycle' ? { detach: true } : {}) };
else if (op === 'status') req = { op };
else fail(`bad request: ${process.argv.slice(4).join(' ')}`);

const sock = connect({ path: sockets[host] });
let buf = '';
sock.setEncoding('utf8');
sock.setTimeout(30_000, () => fail('no reply within 30 s'));
sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
sock.on('error', (e) => fail(e.message));
sock.on('data', (chunk) => {
  buf += chunk;
  const nl = buf.indexOf('\n');
  if (nl < 0) return;
  const reply = JSON.parse(buf.slice(0, nl));
  sock.end();
  if (!reply.ok) fail(reply.error);
  process.stdout.write(`${reply.status ? JSON.stringify(reply.status) : reply.message ?? 'ok'}\n`);
  process.exit(0);
});
