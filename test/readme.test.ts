// README.md says what is true: every yaml example is a file of examples/ that loads, every
// command line it shows runs (those that need neither root nor a lab) with the exit code and
// errors it documents, and the experiments table lists every registered experiment.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readScenario } from '../run/sim.ts';
import { EXPERIMENTS } from '../experiments/registry.ts';

const ROOT = resolve(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block { lang: string; text: string; line: number }

/** The fenced code blocks of a markdown text. */
function blocks(md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\S*)\s*$/.exec(lines[i]);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]);
    out.push({ lang: m[1], text: body.join('\n') + '\n', line: start + 1 });
  }
  return out;
}

const BLOCKS = blocks(README);
const EXAMPLES = join(ROOT, 'examples');
const exampleYaml = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

/** Runs a README command line from the repository root: `npx hatwin` as `node bin/hatwin.js`. */
function run(line: string): { code: number | null; stdout: string; stderr: string } {
  const argv = line.replace(/^npx hatwin /, '').replace(/^node bin\/hatwin\.js /, '').split(/\s+/).filter(Boolean);
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/hatwin.js'), ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The hatwin command lines of a block (comments after `#` dropped). */
const hatwinLines = (b: Block) => b.text.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => /^(sudo )?(npx hatwin|node bin\/hatwin\.js) /.test(l));

/** A usage line (placeholders, optional parts) rather than a command to run. */
const isSynopsis = (l: string) => /\[|\.\.\.|\b[A-Z]{2,}[A-Z_]*\b/.test(l.replace(/\.(yaml|ndjson|json)\b/g, ''));
/** Needs root or a lab (or runs until stopped): shown, not run here. */
const needsRootOrLab = (l: string) => /^sudo /.test(l) || /^(npx hatwin|node bin\/hatwin\.js) (lab|live|agent|calibrate|conform|serve)\b/.test(l);

describe('README yaml examples', () => {
  const yamls = BLOCKS.filter((b) => b.lang === 'yaml');
  it('has yaml examples', () => expect(yamls.length).toBeGreaterThan(0));
  it.each(yamls.map((b) => [b.line, b] as const))('the yaml block at README.md:%i is a file of examples/ that loads', (_line, b) => {
    const match = exampleYaml.find((f) => readFileSync(join(EXAMPLES, f), 'utf8') === b.text);
    expect(match, `no file in examples/ equals the yaml block at README.md:${b.line}`).toBeDefined();
    expect(() => readScenario(join(EXAMPLES, match!))).not.toThrow();
  });
});

describe('README command lines', () => {
  const lines = BLOCKS.filter((b) => b.lang === 'sh').flatMap(hatwinLines);
  const runnable = lines.filter((l) => !isSynopsis(l) && !needsRootOrLab(l));
  const synopses = lines.filter((l) => isSynopsis(l) && !/^sudo /.test(l));

  it('the example block is examples/commands.sh', () => {
    const script = readFileSync(join(EXAMPLES, 'commands.sh'), 'utf8').split('\n').filter((l) => /^npx hatwin /.test(l));
    expect(script.length).toBeGreaterThan(0);
    for (const l of script) expect(runnable).toContain(l);
  });
  it.each(runnable.map((l) => [l]))('%s: exit 0', (l) => {
    const r = run(l);
    expect(r.code, r.stderr).toBe(0);
  }, 180_000);
  it.each(synopses.map((l) => [l]))('%s: the command exists (--help, exit 0)', (l) => {
    const cmd = l.replace(/^npx hatwin /, '').replace(/^node bin\/hatwin\.js /, '').split(/\s+/)[0];
    const r = run(`npx hatwin ${cmd} --help`);
    expect(r.code, r.stderr).toBe(0);
  });
  it('the documented bad example: exit 2 and the documented error lines', () => {
    const b = BLOCKS.find((x) => x.lang === '' && x.text.startsWith('$ npx hatwin check'));
    expect(b).toBeDefined();
    const [cmd, ...expected] = b!.text.trim().split('\n');
    const r = run(cmd.slice(2));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(expected);
    expect(README.slice(README.indexOf(cmd))).toMatch(/^[^]*?```\s*\n\s*and the exit code is 2/);
  });
});

describe('README experiments table', () => {
  it('lists every registered experiment id', () => {
    const section = README.slice(README.indexOf('## Experiments'), README.indexOf('\n## ', README.indexOf('## Experiments') + 5));
    const ids = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(ids.sort()).toEqual(EXPERIMENTS.map((e) => e.id).sort());
  });
});
