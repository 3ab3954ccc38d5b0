#!/usr/bin/env node
// A minimal init script for the live tests, run over SSH by the Services port as argv:
//   node svcctl.mjs STATE_DIR start|stop|restart|status SERVICE
// STATE_DIR/SERVICE.json holds {"argv": [...], "port": N}. `start` spawns the daemon detached
// (its own session, stdio closed, so the SSH channel can close) and waits until it listens;
// `stop` ends it by the PID in STATE_DIR/SERVICE.pid (SIGCONT first: a frozen daemon must die
// too). Every invocation is appended to STATE_DIR/calls.log (the tests read it).
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const [dir, action, service] = process.argv.slice(2);
if (!dir || !action || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(service ?? '')) {
  console.error('usage: svcctl.mjs STATE_DIR start|stop|restart|status SERVICE');
  process.exit(2);
}
appendFileSync(join(dir, 'calls.log'), `${JSON.stringify(process.argv.slice(3))}\n`);
const cfgPath = join(dir, `${service}.json`);
if (!existsSync(cfgPath)) {
  console.error(`no such service: ${service}`);
  process.exit(3);
}
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
const pidFile = join(dir, `${service}.pid`);

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const currentPid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0);

async function stop() {
  const pid = currentPid();
  if (pid > 0 && alive(pid)) {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
  }
  rmSync(pidFile, { force: true });
}

const listening = () => new Promise((resolve) => {
  const s = connect({ host: cfg.host ?? '127.0.0.1', port: cfg.port });
  s.once('connect', () => (s.destroy(), resolve(true)));
  s.once('error', () => resolve(false));
});

async function start() {
  const pid = currentPid();
  if (pid > 0 && alive(pid)) return;
  const child = spawn(cfg.argv[0], cfg.argv.slice(1), { detached: true, stdio: 'ignore' });
  writeFileSync(pidFile, String(child.pid));
  child.unref();
  for (let i = 0; i < 250; i++) {
    if (await listening()) return;
    await sleep(20);
  }
  console.error(`${service} did not listen on port ${cfg.port}`);
  process.exit(1);
}

switch (action) {
  case 'start': await start(); break;
  case 'stop': await stop(); break;
  case 'restart': await stop(); await start(); break;
  case 'status': process.exit(alive(currentPid()) ? 0 : 3);
  default:
    console.error(`unknown action ${action}`);
    process.exit(2);
}
