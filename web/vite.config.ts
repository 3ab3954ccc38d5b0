// Builds the web view's page (web/client) into web/dist, which `hatwin serve` serves.
// `npm run build:web` runs it; `hatwin serve` runs it itself when web/dist is missing or stale.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('./client', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    host: '127.0.0.1',
    // `npx vite --config web/vite.config.ts` with `hatwin serve` running: API calls go to it.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
