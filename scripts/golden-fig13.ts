// Writes test/golden/p2p-fig13-{st1,st2,nt1,nt2}/scenario.yaml from fig13Scenario(trouble), each
// checked to parse back to the experiment's scenario (test/helpers/golden-fig13.ts). Then write
// the expected traces on purpose and read them:
//   node bin/tsnode.js scripts/golden-fig13.ts
//   npm run golden:update p2p-fig13-st1 p2p-fig13-st2 p2p-fig13-nt1 p2p-fig13-nt2
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR, SCENARIO_FILE } from '../run/golden.ts';
import { FIG13_TROUBLES, fig13GoldenName, fig13GoldenYaml } from '../experiments/p2p/golden-fig13.ts';

for (const t of FIG13_TROUBLES) {
  const dir = join(GOLDEN_DIR, fig13GoldenName(t));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, SCENARIO_FILE), fig13GoldenYaml(t));
  console.log(`wrote ${join(dir, SCENARIO_FILE)}`);
}
