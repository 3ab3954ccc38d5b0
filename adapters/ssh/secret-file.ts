// Secrets (SSH private keys, the agents' HMAC key) are read from files, never from a lab file or
// the command line, and a file that others can read is refused the way OpenSSH refuses one.
import { readFileSync, statSync } from 'node:fs';

export class SecretFileError extends Error {}

/** Reads a secret file; refuses one readable or writable by group or others. */
export function readSecretFile(path: string, what: string): Buffer {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    throw new SecretFileError(`${what} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new SecretFileError(
      `${what} ${path}: permissions ${(mode & 0o777).toString(8)} are too open: others could read it; run chmod 600 ${path}`,
    );
  }
  return readFileSync(path);
}
