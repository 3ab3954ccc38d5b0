#!/usr/bin/env node
// CLI entry: registers the TypeScript loader (tsx) and hands over to bin/cli.ts.
import { register } from 'tsx/esm/api';
register();
await import('./cli.ts');
