// A real OpenSSH server for the live tests, as this machine kind allows (see adapters/lab/README.md): its own generated host key,
// AuthorizedKeysFile with a generated client key, UsePAM no, StrictModes no, a PidFile, run as
// `sshd -D -f CFG -E LOG` (optionally inside a network namespace) and ended by PID.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, requireRoot, runSync, startChild, tempDir, waitForPort, type Child } from './procs.ts';

export interface Sshd {
  address: string;
  port: number;
  dir: string;
  /** Client private key (ed25519, mode 600) authorized on this server. */
  clientKeyFile: string;
  /** known_hosts line pinning this server's host key. */
  knownHostsLine: string;
  /** known_hosts line with another (wrong) key for the same address. */
  wrongKnownHostsLine: string;
  child: Child;
  stop: () => Promise<void>;
}

export function keygen(path: string, type = 'ed25519'): string {
  runSync([requireBinary('/usr/bin/ssh-keygen'), '-q', '-t', type, '-N', '', '-C', 'hatwin-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

export async function startSshd(opts: { address?: string; port: number; netns?: string; tag?: string; clientKeyFile?: string }): Promise<Sshd> {
  requireRoot('sshd binds, reads root-owned keys and logs in as root');
  const sshdBin = requireBinary('/usr/sbin/sshd');
  const address = opts.address ?? '127.0.0.1';
  const tmp = tempDir(opts.tag ?? 'sshd');
  const dir = tmp.dir;
  mkdirSync('/run/sshd', { recursive: true });
  const hostPub = keygen(join(dir, 'host_ed25519'));
  const wrongPub = keygen(join(dir, 'other_host_ed25519'));
  let clientKeyFile = opts.clientKeyFile;
  let clientPub: string;
  if (clientKeyFile) clientPub = readFileSync(`${clientKeyFile}.pub`, 'utf8').trim();
  else {
    clientKeyFile = join(dir, 'client_ed25519');
    clientPub = keygen(clientKeyFile);
  }
  writeFileSync(join(dir, 'authorized_keys'), `${clientPub}\n`, { mode: 0o600 });
  const cfg = join(dir, 'sshd_config');
  writeFileSync(cfg, [
    `ListenAddress ${address}:${opts.port}`,
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'UsePAM no',
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    // Commands run through root's login shell, which sources ~/.bashrc for SSH sessions; on this
    // kind of machine that runs `pyenv init` (0.5 s, and it hangs on a stale rehash lock left by a
    // killed session). A home of its own keeps the managed host's shell clean and fast.
    `SetEnv HOME=${dir}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 32',
    'MaxStartups 64',
    'LogLevel VERBOSE',
    '',
  ].join('\n'));
  const argv = [sshdBin, '-D', '-f', cfg, '-E', join(dir, 'sshd.log')];
  const child = startChild(opts.netns ? [requireBinary('/usr/sbin/ip'), 'netns', 'exec', opts.netns, ...argv] : argv);
  await waitForPort(address, opts.port, 10_000, child);
  const token = opts.port === 22 ? address : `[${address}]:${opts.port}`;
  const pubKey = (line: string) => line.split(/\s+/).slice(0, 2).join(' ');
  return {
    address,
    port: opts.port,
    dir,
    clientKeyFile,
    knownHostsLine: `${token} ${pubKey(hostPub)}`,
    wrongKnownHostsLine: `${token} ${pubKey(wrongPub)}`,
    child,
    stop: async () => {
      await child.stop();
      tmp.remove();
    },
  };
}
