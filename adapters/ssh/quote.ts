// POSIX shell quoting of argv. An SSH server runs a command through the user's login shell, so
// argv must become one command line; each argument is quoted on its own so that the shell sees
// exactly the original words: no expansion, no word splitting, no command separators.
// Single quotes preserve every byte but NUL and the quote itself, which is written as '\''.

/** Bytes that need no quoting in any POSIX shell (and are not special at a word's start). */
const SAFE_RE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shQuote(arg: string): string {
  if (typeof arg !== 'string') throw new TypeError(`argument must be a string, got ${typeof arg}`);
  if (arg.includes('\0')) throw new RangeError('an argument cannot contain a NUL byte');
  if (SAFE_RE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One command line from argv. The program (argv[0]) must be a plain path, never an option. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new RangeError('empty argv');
  const prog = argv[0];
  if (!/^[A-Za-z0-9_./][A-Za-z0-9_./+-]*$/.test(prog) || prog.startsWith('-')) {
    throw new RangeError(`program ${JSON.stringify(prog)} must be a plain command name or path`);
  }
  return argv.map(shQuote).join(' ');
}
