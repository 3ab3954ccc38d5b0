// `hatwin serve`: the web view (web/server). It needs no Debian package: scripts/apt/web.txt
// (chromium) is for the page's end-to-end tests only (test/web-e2e.test.ts, test/web-live-e2e.test.ts).
// With --lab it follows a live lab (root: the lab's namespaces, libvirt and power sockets).
import type { Command } from 'commander';
import { createServer } from 'node:net';
import { checkOutputPath, checkTokenFile, exitBadInput, hostAddress, port, UsageError } from '../output.ts';
import { readTokenFile } from '../../web/server/access.ts';

/** One line for an error of binding `host`:`port`, or null when it is not a binding error. */
export function listenError(e: unknown, host: string, p: number): string | null {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return `port ${p} is in use: give --port 0 for any free port`;
  if (code === 'EACCES') return `port ${p} on ${host} needs privileges (ports below 1024 are root's): give --port 0 for any free port, or one from 1024`;
  if (code === 'EADDRNOTAVAIL') return `--host ${host} is not an address of this machine`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `--host ${host}: no such host name`;
  return null;
}

/** Binds `host`:`port` for a moment (before the server builds anything): its error as one line, or null. */
function probeListen(host: string, p: number): Promise<string | null> {
  if (p === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e) => resolve(listenError(e, host, p) ?? `cannot listen on ${host}:${p}: ${(e as Error).message}`));
    s.listen(p, host, () => s.close(() => resolve(null)));
  });
}

export function register(program: Command): void {
  program
    .command('serve')
    .exitOverride(exitBadInput).showHelpAfterError(false)
    .description('serve the web view: run scenarios, watch failovers, replay saved traces, follow a live lab (http://127.0.0.1:8080/)')
    .option('--port <n>', 'TCP port (0: any free port)', port, 8080)
    .option('--host <addr>', 'address to bind (an IPv4 or IPv6 address or a host name); anything but exactly 127.0.0.1, ::1 or localhost requires a bearer token for state-changing calls', hostAddress, '127.0.0.1')
    .option('--token-file <file>', 'read the bearer token from this file (first line) instead of generating one')
    .option('--out <dir>', 'saved traces: finished runs go to DIR/web-runs/ (live runs started from the page: DIR/web-live/), replays read from DIR', 'out')
    .option('--lab <file>', 'follow this lab (up or not): its live runs (started by `hatwin live` or from the page), health lights from real probes, lab faults')
    .option('--scenarios <dir>', 'also list the scenarios (*.yaml) of this folder', (v: string, prev: string[] = []) => [...prev, v])
    .option('--agent-metrics-port <n>', 'with --lab: agents of live runs started from the page serve Prometheus metrics on this port (each on its lab address)', port)
    .action(async (o: { port: number; host: string; tokenFile?: string; out: string; lab?: string; agentMetricsPort?: number; scenarios?: string[] }) => {
      // Bad input first, each one line and exit 2: the token file, the out folder, the address.
      const bad = (msg: string) => {
        console.error(`hatwin serve: ${msg}`);
        process.exitCode = 2;
      };
      try {
        if (o.tokenFile !== undefined) {
          checkTokenFile(o.tokenFile);
          try {
            readTokenFile(o.tokenFile);
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
        }
        checkOutputPath(o.out, 'dir');
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        return bad(e.message);
      }
      const busy = await probeListen(o.host, o.port);
      if (busy) return bad(busy);
      const { startServer } = await import('../../web/server/serve.ts');
      if (o.lab !== undefined) {
        // A live run's set-up program that fails (etcd gone with the lab, ...) is thrown by the
        // engine when nobody joins it; runLive reads its result and fails that run: the server
        // stays up and says so on the page.
        const { ProcessError } = await import('../../engine/runtime/runtime.ts');
        process.on('uncaughtException', (e) => {
          if (!(e instanceof ProcessError)) throw e;
          console.error(`hatwin serve: ${e.message} (the live run that ran it fails)`);
        });
      }
      let s: Awaited<ReturnType<typeof startServer>>;
      try {
        s = await startServer({ port: o.port, host: o.host, tokenFile: o.tokenFile, outDir: o.out, lab: o.lab, agentMetricsPort: o.agentMetricsPort, scenarioDirs: o.scenarios, log: (l) => console.log(l) });
      } catch (e) {
        // Taken since the probe, or a failure while starting: one line, and no timer left running.
        const why = listenError(e, o.host, o.port);
        console.error(`hatwin serve: ${why ?? `error: ${(e as Error).message}`}`);
        process.exit(why ? 2 : 1);
      }
      console.log(`hatwin web view: ${s.url} (Prometheus metrics: ${s.url}metrics)`);
      if (s.lab) console.log(`lab ${s.lab.lab.name}: ${s.lab.info().detail}`);
      if (s.token !== null) {
        console.log(`state-changing calls need "Authorization: Bearer ${s.token}"`);
        console.log(`open ${s.url}#token=${s.token} to pass it to the page`);
      }
      const stop = () => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
