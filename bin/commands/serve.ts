// `hatwin serve`: the web view (web/server). It needs no Debian package: scripts/apt/web.txt
// (chromium) is for the page's end-to-end tests only (test/web-e2e.test.ts, test/web-live-e2e.test.ts).
// With --lab it follows a live lab (root: the lab's namespaces, libvirt and power sockets).
import type { Command } from 'commander';
import { port } from '../output.ts';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the web view: run scenarios, watch failovers, replay saved traces, follow a live lab (http://127.0.0.1:8080/)')
    .option('--port <n>', 'TCP port (0: any free port)', port, 8080)
    .option('--host <addr>', 'address to bind; anything but exactly 127.0.0.1, ::1 or localhost requires a bearer token for state-changing calls', '127.0.0.1')
    .option('--token-file <file>', 'read the bearer token from this file (first line) instead of generating one')
    .option('--out <dir>', 'saved traces: finished runs go to DIR/web-runs/ (live runs started from the page: DIR/web-live/), replays read from DIR', 'out')
    .option('--lab <file>', 'follow this lab (up or not): its live runs (started by `hatwin live` or from the page), health lights from real probes, lab faults')
    .option('--scenarios <dir>', 'also list the scenarios (*.yaml) of this folder', (v: string, prev: string[] = []) => [...prev, v])
    .option('--agent-metrics-port <n>', 'with --lab: agents of live runs started from the page serve Prometheus metrics on this port (each on its lab address)', port)
    .action(async (o: { port: number; host: string; tokenFile?: string; out: string; lab?: string; agentMetricsPort?: number; scenarios?: string[] }) => {
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
      const s = await startServer({ port: o.port, host: o.host, tokenFile: o.tokenFile, outDir: o.out, lab: o.lab, agentMetricsPort: o.agentMetricsPort, scenarioDirs: o.scenarios, log: (l) => console.log(l) });
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
