// The whole tree and the web page type-check in strict mode (vitest strips types without
// checking them, so a type error would otherwise pass the suite).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function typecheck(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [tsc, '--noEmit', ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('TypeScript, strict', () => {
  it('the tree (tsconfig.json) has no type errors', () => {
    const r = typecheck([]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 300_000);

  it('the web page (web/client/tsconfig.json: browser libs, no Node) has no type errors', () => {
    const r = typecheck(['-p', 'web/client']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 300_000);
});
