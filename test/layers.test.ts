// Import layers (.dependency-cruiser.cjs), checked through dependency-cruiser's
// JS API with the same config the `npm run lint:layers` CLI uses.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const LAYERS = ['trace', 'sim', 'engine', 'policies', 'adapters', 'run', 'experiments', 'web', 'bin', 'bench', 'scripts', 'test'];

async function cruiseLayers(baseDir: string, options: ICruiseOptions): Promise<ICruiseResult> {
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const { output } = await cruise(LAYERS, { ...options, baseDir }, {}, { tsConfig });
  if (typeof output === 'string') throw new Error(`dependency-cruiser returned a string report: ${output.slice(0, 200)}`);
  return output;
}

function describeViolation(v: IViolation): string {
  const via = v.cycle?.length ? ` via ${v.cycle.map((c) => c.name).join(' -> ')}` : '';
  return `${v.from} -> ${v.to} (${v.rule.name})${via}`;
}

describe('import layers (dependency-cruiser)', () => {
  it('the tree has no layer violations', async () => {
    const options = await extractDepcruiseOptions(CONFIG);
    const result = await cruiseLayers(ROOT, options);
    const lines = result.summary.violations.map(describeViolation);
    expect(lines, `layer violations:\n${lines.join('\n')}`).toEqual([]);
    // The cruise really saw the tree (a wrong baseDir or exclude would pass vacuously).
    expect(result.summary.totalCruised).toBeGreaterThan(100);
  });

  describe('the rules can fail', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hatwin-layers-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const files: Record<string, string> = {
      'engine/x.ts': "import { y } from '../experiments/y.ts';\nexport const x = y;\n",
      'experiments/y.ts': 'export const y = 1;\n',
      'adapters/a.ts': "import type { P } from '../policies/p.ts';\nexport const a: P = 1;\n",
      'policies/p.ts':
        "import type { U } from '../sim/scenario/units.ts';\nimport { w } from '../sim/world/w.ts';\nexport type P = U;\nexport const p = w;\n",
      'sim/scenario/units.ts': 'export type U = number;\n',
      'sim/world/w.ts': 'export const w = 1;\n',
      'sim/s.ts': "import { t } from '../test/t.ts';\nexport const s = t;\n",
      'test/t.ts': "import { s1 } from '../sim/s1.ts';\nexport const t = s1;\n",
      // A cycle inside one folder is allowed ...
      'sim/s1.ts': "import { s2 } from './s2.ts';\nexport const s1 = 1;\nexport const u = s2;\n",
      'sim/s2.ts': "import { s1 } from './s1.ts';\nexport const s2 = () => s1;\n",
      // ... a cycle across folders is not (trace/ importing sim/ is also a layer break).
      'trace/c.ts': "import { d } from '../sim/d.ts';\nexport const c = () => d;\n",
      'sim/d.ts': "import { c } from '../trace/c.ts';\nexport const d = () => c;\n",
      'web/client/v.ts': "import { r } from '../../run/r.ts';\nexport const v = r;\n",
      'run/r.ts': 'export const r = 1;\n',
      'bin/b.ts': "import { r } from '../run/r.ts';\nimport { t } from '../test/t.ts';\nexport const b = [r, t];\n",
    };

    it('reports each broken layer under its rule name', async () => {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      for (const layer of LAYERS) mkdirSync(join(dir, layer), { recursive: true });
      const { tsConfig: _repoOnly, ...options } = await extractDepcruiseOptions(CONFIG);
      const result = await cruiseLayers(dir, options);
      const got = result.summary.violations.map((v) => `${v.from} -> ${v.to} (${v.rule.name})`).sort();
      expect(got).toEqual(
        [
          'adapters/a.ts -> policies/p.ts (adapters-not-above)',
          'bin/b.ts -> test/t.ts (not-to-test)',
          'engine/x.ts -> experiments/y.ts (engine-only-engine-trace)',
          'policies/p.ts -> sim/world/w.ts (policies-only-engine-trace-and-sim-units)',
          'sim/d.ts -> trace/c.ts (no-cross-layer-cycles)', // a cycle is reported once
          'sim/s.ts -> test/t.ts (not-to-test)',
          'trace/c.ts -> sim/d.ts (trace-imports-nothing)',
          'web/client/v.ts -> run/r.ts (web-client-only-client-shared-trace)',
        ].sort(),
      );
    });
  });
});
