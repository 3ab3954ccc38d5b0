// `hatwin serve`: the web view (web/server). It needs no Debian package: scripts/apt/web.txt
// (chromium) is for the page's end-to-end test only (test/web-e2e.test.ts).
import type { Command } from 'commander';
import { port } from '../output.ts';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the web view: run scenarios, watch failovers, replay saved traces (http://127.0.0.1:8080/)')
    .option('--port <n>', 'TCP port (0: any free port)', port, 8080)
    .option('--host <addr>', 'address to bind; anything but exactly 127.0.0.1, ::1 or localhost requires a bearer token for state-changing calls', '127.0.0.1')
    .option('--token-file <file>', 'read the bearer token from this file (first line) instead of generating one')
    .option('--out <dir>', 'saved traces: finished runs go to DIR/web-runs/, replays read from DIR', 'out')
    .action(async (o: { port: number; host: string; tokenFile?: string; out: string }) => {
      const { startServer } = await import('../../web/server/serve.ts');
      const s = await startServer({ port: o.port, host: o.host, tokenFile: o.tokenFile, outDir: o.out, log: (l) => console.log(l) });
      console.log(`hatwin web view: ${s.url}`);
      if (s.token !== null) {
        console.log(`state-changing calls need "Authorization: Bearer ${s.token}"`);
        console.log(`open ${s.url}#token=${s.token} to pass it to the page`);
      }
      const stop = () => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
