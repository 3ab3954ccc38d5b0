// The agents' shared HMAC key: read from a file (never inline in a lab file, never the papers'
// `auth_pass 1111`), mode 600, at least 32 characters of text (e.g. `openssl rand -hex 32`).
import { readSecretFile } from '../ssh/secret-file.ts';

export const MIN_KEY_CHARS = 32;

export function readHmacKey(path: string): Buffer {
  const text = readSecretFile(path, 'message key file').toString('utf8').trim();
  if (text.length < MIN_KEY_CHARS || /[\0-\x1f]/.test(text)) {
    throw new Error(`message key file ${path}: expected one line of at least ${MIN_KEY_CHARS} printable characters (make one with: openssl rand -hex 32 > ${path}; chmod 600 ${path})`);
  }
  return Buffer.from(text, 'utf8');
}
