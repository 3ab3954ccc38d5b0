// The Debian packages a command needs: the lists scripts/apt/<list>.txt (one package a line,
// `#` comments), checked with dpkg-query when the command starts. `npm start` installs npm
// packages only; a command that needs a list says which packages are missing and how to install
// them, and installs them itself (through `node scripts/setup.mjs --need LIST`) when it runs as
// root on a system with apt-get.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const APT_DIR = join(REPO_DIR, 'scripts', 'apt');
const SETUP = join(REPO_DIR, 'scripts', 'setup.mjs');

/** The packages of one list's text: comments and blank lines dropped, each package once, in order. */
export function parseAptList(text: string): string[] {
  const pkgs = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  return [...new Set(pkgs)];
}

/** The lists there are (`lab`, `live-adapters`, `web`), sorted. */
export function aptLists(dir = APT_DIR): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4)).sort() : [];
}

/** The packages of list `name` (scripts/apt/<name>.txt). */
export function readAptList(name: string, dir = APT_DIR): string[] {
  const known = aptLists(dir);
  if (!known.includes(name)) throw new Error(`unknown package list "${name}" (known: ${known.join(', ')})`);
  return parseAptList(readFileSync(join(dir, `${name}.txt`), 'utf8'));
}

/** The packages of `pkgs` that are not installed, each once, in order. */
export function missingPackages(pkgs: readonly string[], installed: (pkg: string) => boolean): string[] {
  return [...new Set(pkgs)].filter((p) => !installed(p));
}

/**
 * Which of `pkgs` dpkg says are installed (one dpkg-query call), as a predicate; null when
 * there is no dpkg-query (not a Debian-like system: nothing can be said).
 */
export function dpkgInstalled(pkgs: readonly string[]): ((pkg: string) => boolean) | null {
  if (pkgs.length === 0) return () => true;
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...pkgs], { encoding: 'utf8' });
  if (r.error) return null;
  // Status is "want flag state": installed when the state is "installed" (held packages too).
  const yes = new Set(r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((w) => w.length === 4 && w[3] === 'installed').map((w) => w[0]));
  return (pkg) => yes.has(pkg);
}

export interface NeedsOptions {
  /** Where the one-line messages go (the command's `[tag]` logger). */
  log: (msg: string) => void;
  /** Install missing packages when running as root with apt-get (default true). */
  install?: boolean;
  /** Whether a package is installed (default: dpkg-query). */
  installed?: (pkg: string) => boolean;
}

/**
 * Makes sure the packages of list `name` are installed: returns quietly when they are; else
 * prints one line naming the missing ones and the command that installs them, and installs
 * them when it can (root, apt-get) and may (`install`). A command that cannot have its packages
 * carries on (it fails where a missing program is needed); a failed installation throws.
 */
export function ensureNeeds(name: string, o: NeedsOptions): void {
  const pkgs = readAptList(name);
  const installed = o.installed ?? dpkgInstalled(pkgs);
  if (!installed) return;
  const missing = missingPackages(pkgs, installed);
  if (missing.length === 0) return;
  const cmd = `node scripts/setup.mjs --need ${name}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const canInstall = (o.install ?? true) && isRoot && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!canInstall) {
    o.log(`missing Debian packages (scripts/apt/${name}.txt): ${missing.join(' ')}; install them as root with \`${cmd}\``);
    return;
  }
  o.log(`missing Debian packages (scripts/apt/${name}.txt): ${missing.join(' ')}; installing them: ${cmd}`);
  // setup.mjs's output goes to stderr: stdout stays the command's (e.g. `lab status --json`).
  const r = spawnSync(process.execPath, [SETUP, '--need', name], { cwd: REPO_DIR, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error(`installing the packages of scripts/apt/${name}.txt failed (\`${cmd}\` exited with ${r.status ?? r.signal})`);
  const still = missingPackages(pkgs, o.installed ?? dpkgInstalled(pkgs) ?? (() => true));
  if (still.length) throw new Error(`still missing after \`${cmd}\`: ${still.join(' ')}`);
}
