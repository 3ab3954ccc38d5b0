// The lab's keys: the operator/agents' SSH key, one persistent host key per host (so hosts keep
// their identity across `lab up`s like real servers), the known_hosts file that pins them, and
// the HMAC key of agent messages. Generated with ssh-keygen (argv) when the lab file allows it.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from './run.ts';
import type { Lab } from './schema.ts';

export interface PinnedHostKey {
  host: string;
  address: string;
  port: number;
  /** e.g. ssh-ed25519 */
  type: string;
  /** The key blob, base64 (as in known_hosts). */
  base64: string;
  /** OpenSSH-style fingerprint: SHA256:... */
  sha256: string;
}

async function keygen(path: string, comment: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** Creates the missing keys (when `keys.generate`), then checks that all are there and agree. */
export async function ensureKeys(lab: Lab): Promise<PinnedHostKey[]> {
  const k = lab.keys;
  if (k.generate) {
    mkdirSync(k.dir, { recursive: true, mode: 0o700 });
    if (!existsSync(k.sshKeyPath)) await keygen(k.sshKeyPath, `hatwin-lab-${lab.name}`);
    if (!existsSync(k.hmacKeyPath)) {
      writeFileSync(k.hmacKeyPath, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    }
    for (const h of lab.hosts) {
      if (!existsSync(k.hostKeyPath(h.name))) await keygen(k.hostKeyPath(h.name), `${h.name}@hatwin-lab-${lab.name}`);
    }
  }
  const missing = [k.sshKeyPath, `${k.sshKeyPath}.pub`, k.hmacKeyPath, ...lab.hosts.flatMap((h) => [k.hostKeyPath(h.name), `${k.hostKeyPath(h.name)}.pub`])].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing key files: ${missing.join(', ')} (set keys.generate: true in ${lab.file} to create them)`);
  chmodSync(k.sshKeyPath, 0o600);
  const pins = hostKeys(lab);
  const text = knownHostsText(pins);
  if (k.generate) {
    writeFileSync(k.knownHostsPath, text, { mode: 0o644 });
  } else if (!existsSync(k.knownHostsPath) || readFileSync(k.knownHostsPath, 'utf8') !== text) {
    throw new Error(`${k.knownHostsPath} does not pin the host keys in ${k.dir}/hostKeys (expected:\n${text})`);
  }
  return pins;
}

/** The pinned host keys, read from the hosts' public key files. */
export function hostKeys(lab: Lab): PinnedHostKey[] {
  return lab.hosts.map((h) => {
    const [type, base64] = readFileSync(`${lab.keys.hostKeyPath(h.name)}.pub`, 'utf8').trim().split(/\s+/);
    const sha256 = `SHA256:${createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
    return { host: h.name, address: h.address, port: h.sshPort, type, base64, sha256 };
  });
}

export function knownHostsText(pins: PinnedHostKey[]): string {
  return pins.map((p) => `${p.port === 22 ? p.address : `[${p.address}]:${p.port}`} ${p.type} ${p.base64}\n`).join('');
}

/** The sshd configuration of one host: its own host key, the lab's key only, no PAM. */
export function sshdConfig(lab: Lab, host: Lab['hosts'][number], authorizedKeysPath: string, pidFile: string): string {
  return [
    `# hatwin lab ${lab.name}: host ${host.name}`,
    `Port ${host.sshPort}`,
    `ListenAddress ${host.address}`,
    `HostKey ${lab.keys.hostKeyPath(host.name)}`,
    `PidFile ${pidFile}`,
    `AuthorizedKeysFile ${authorizedKeysPath}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // Keys live in the repo's ignored folders or under /run; StrictModes would refuse them.
    'StrictModes no',
    // Commands run through root's login shell, which sources ~/.bashrc for SSH sessions (on this
    // kind of machine: `pyenv init`, slow, and it hangs on a rehash lock a killed host left).
    `SetEnv HOME=${dirname(pidFile)}`,
    'PrintMotd no',
    'UseDNS no',
    'MaxStartups 100:30:200',
    // The Service Depot copies container images between hosts by SFTP (adapters/live/depot.ts).
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n');
}
