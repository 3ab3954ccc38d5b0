// Argv templates from configuration: `["/usr/sbin/service", "{service}", "{action}"]`. A
// placeholder is replaced inside an argument, by a value that passed the name check; the result
// stays one argument (quoted on its own by quote.ts), so a value never becomes shell syntax.
import { assertName } from './names.ts';

export type ArgvTemplate = readonly string[];

const PLACEHOLDER_RE = /\{([A-Za-z]+)\}/g;

/** Checks a template once, at configuration time: known placeholders, a plain program. */
export function checkTemplate(what: string, t: unknown, allowed: readonly string[]): ArgvTemplate {
  if (!Array.isArray(t) || t.length === 0 || !t.every((a) => typeof a === 'string')) {
    throw new RangeError(`${what}: expected a non-empty list of strings (argv), got ${JSON.stringify(t)}`);
  }
  for (const arg of t as string[]) {
    for (const m of arg.matchAll(PLACEHOLDER_RE)) {
      if (!allowed.includes(m[1])) throw new RangeError(`${what}: unknown placeholder {${m[1]}} in ${JSON.stringify(arg)}; allowed: ${allowed.map((a) => `{${a}}`).join(' ')}`);
    }
  }
  // `/etc/init.d/{service}` is fine (a name has no '/'); a program that is only a name is not.
  if (/^\{[A-Za-z]+\}$/.test(t[0] as string)) throw new RangeError(`${what}: the program ${JSON.stringify(t[0])} cannot be just a placeholder`);
  return t as string[];
}

/** Fills a template; every value must be a plain name (names.ts). */
export function expand(t: ArgvTemplate, values: Record<string, string>): string[] {
  for (const [k, v] of Object.entries(values)) assertName(k, v);
  return t.map((arg) => arg.replace(PLACEHOLDER_RE, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new RangeError(`no value for placeholder {${k}}`);
    return v;
  }));
}
