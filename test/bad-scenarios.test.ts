// Bad input never crashes, hangs or blocks: scenarios that `hatwin check` used to accept and
// `hatwin sim` then crashed or hung on are errors at load time (file:line:col: field: message),
// every problem of a file comes at once, files are read with a size cap and only when regular,
// and the error text is capped. Each case names the input a newcomer found.
import { describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, readScenario, buildSimulation } from '../run/sim.ts';
import { MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_PROBLEMS_SHOWN, ScenarioError, formatProblem, type Problem } from '../sim/scenario/load.ts';
import { MAX_TIME_US, parseDurationUs } from '../sim/kernel/time.ts';
import { distRange, sample, type Dist } from '../sim/kernel/distributions.ts';

const REPO = new URL('..', import.meta.url).pathname;

/** A valid scenario: two servers with httpd, their backup VMs and VIPs, a client. */
const BASE = [
  'name: base',
  'until: 10m',
  'hosts:',
  '  - { name: web1, mac: "00:00:00:00:00:01", services: [{ name: httpd }] }',
  '  - { name: web2, mac: "00:00:00:00:00:02", services: [{ name: httpd }] }',
  '  - { name: vmhost }',
  'vms:',
  '  - { name: web1b, services: [{ name: httpd }] }',
  '  - { name: web2b, services: [{ name: httpd }] }',
  'vips:',
  '  - { name: v1, service: httpd, holder: web1 }',
  '  - { name: v2, service: httpd, holder: web2 }',
  'clients: [{ name: c1, vip: v1 }]',
];
const BASE_LINES = BASE.length;
const FAILOVER = '{ kind: failover, manager: web2, target: web1, service: httpd, vip: v1, backupVm: web1b, backupHost: vmhost }';
const P2P = '{ kind: p2p, group: [web1, web2], backups: { web1: web1b, web2: web2b } }';

const doc = (...extra: string[]) => [...BASE, ...extra].join('\n') + '\n';
/** The scenario with `extra` lines; `replace` edits the base first. */
const docWith = (replace: [string, string][], ...extra: string[]) => {
  let t = doc(...extra);
  for (const [a, b] of replace) t = t.replace(a, b);
  return t;
};

function problemsOf(text: string, file = 'bad.yaml'): Problem[] {
  try {
    parseScenario(text, file);
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  throw new Error('expected the scenario to be rejected');
}

function problemOf(text: string): Problem {
  const ps = problemsOf(text);
  expect(ps, ps.map(formatProblem).join('\n')).toHaveLength(1);
  return ps[0];
}

/** The column (1-based) of `needle` in the scenario's line `line`. */
const colOf = (text: string, line: number, needle: string) => text.split('\n')[line - 1].indexOf(needle) + 1;

function fileProblems(path: string): Problem[] {
  try {
    readScenario(path);
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  throw new Error('expected the file to be rejected');
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hatwin-bad-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hatwin(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/hatwin.js'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the base scenario is valid and runs', () => {
  it('with each policy', () => {
    for (const p of [FAILOVER, P2P]) {
      const s = parseScenario(doc('policies:', `  - ${p}`));
      const sim = buildSimulation(s, { seed: 1 });
      sim.run(undefined, 1_000_000);
      expect(sim.kernel.nowUs()).toBe(600_000_000);
    }
  });
});

describe('periods a loop sleeps on must be > 0 (at least 1 ms)', () => {
  it('p2p waitPoll: 0 (sim used to spin forever)', () => {
    const text = doc('policies:', '  - { kind: p2p, group: [web1, web2], backups: { web1: web1b, web2: web2b }, waitPoll: 0 }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, '0 }'), field: 'policies.0.waitPoll' });
    expect(p.message).toMatch(/at least 1ms/);
  });

  it('failover interval: 0, and p2p interval: 0s', () => {
    const f = problemOf(doc('policies:', `  - ${FAILOVER.replace(' }', ', interval: 0 }')}`));
    expect(f).toMatchObject({ field: 'policies.0.interval', line: BASE_LINES + 2 });
    expect(f.message).toMatch(/at least 1ms/);
    const p = problemOf(doc('policies:', `  - ${P2P.replace(' } }', ' }, interval: 0s }')}`));
    expect(p).toMatchObject({ field: 'policies.0.interval', line: BASE_LINES + 2 });
  });

  it('every loop period of both policies, and timeouts: 0 and 999us are errors, 1ms is not', () => {
    const periods: Array<[string, string[]]> = [
      [FAILOVER, ['interval', 'serviceTimeout', 'networkTimeout']],
      [P2P, ['interval', 'networkTimeout', 'serviceTimeout', 'waitPoll', 'examRetry', 'loadInterval', 'reconcile']],
    ];
    for (const [block, fields] of periods) for (const f of fields) {
      for (const bad of ['0', '999us', '1e-9']) {
        const ps = problemsOf(doc('policies:', `  - ${block.slice(0, -2)}, ${f}: ${bad} }`));
        expect(ps.map((p) => p.field), `${f}: ${bad}`).toEqual([`policies.0.${f}`]);
      }
      expect(() => parseScenario(doc('policies:', `  - ${block.slice(0, -2)}, ${f}: 1ms }`))).not.toThrow();
    }
  });
});

describe('names the target does not have, and faults on the wrong kind of thing', () => {
  it('a failover service the target does not run', () => {
    const text = doc('policies:', `  - ${FAILOVER.replace('service: httpd', 'service: ftp')}`);
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, 'ftp'), field: 'policies.0.service' });
    expect(p.message).toBe('target "web1" does not run "ftp" (its services: httpd)');
  });

  it('St1 and St2 naming a service the target does not run; St1 on a target with no service', () => {
    for (const kind of ['St1', 'St2']) {
      const text = doc('faults:', `  - { kind: ${kind}, target: web1, service: smtp, at: 10s }`);
      const p = problemOf(text);
      expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, 'smtp'), field: 'faults.0.service' });
      expect(p.message).toBe('"web1" does not run "smtp" (its services: httpd)');
    }
    const none = problemOf(doc('faults:', '  - { kind: St1, target: vmhost, at: 10s }'));
    expect(none).toMatchObject({ field: 'faults.0.target', message: 'St1 stops a service, and "vmhost" runs none' });
  });

  it('vm-crash aimed at a host, and every host fault aimed at a VM', () => {
    const text = doc('faults:', '  - { kind: vm-crash, target: web1, at: 10s }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, 'web1'), field: 'faults.0.target' });
    expect(p.message).toMatch(/^vm-crash needs a VM; "web1" is a host/);
    for (const kind of ['Nt1', 'Nt2', 'host-restart', 'host-shutdown', 'host-fail', 'pause', 'link-down']) {
      const q = problemOf(doc('faults:', `  - { kind: ${kind}, target: web1b, at: 10s }`));
      expect(q.field).toBe('faults.0.target');
      expect(q.message).toBe(`${kind} needs a host; "web1b" is a VM (a VM fault is vm-crash)`);
    }
    // And the right kinds are accepted and run.
    const ok = parseScenario(doc('faults:', '  - { kind: vm-crash, target: web1b, at: 10s }', '  - { kind: St2, target: web1b, service: httpd, at: 20s }', '  - { kind: pause, target: web1, at: 30s, duration: 5s }'));
    const sim = buildSimulation(ok, { seed: 1 });
    sim.run(undefined, 1_000_000);
    expect(sim.kernel.nowUs()).toBe(600_000_000);
  });

  it('St1/St2 without a service on a VM are checked like hosts; load on a VM is an error', () => {
    const p = problemOf(doc('load: [{ host: web1b, start: 10s }]'));
    expect(p).toMatchObject({ field: 'load.0.host', message: '"web1b" is a VM: load applies to hosts' });
  });

  it('a VIP whose holder does not run its service', () => {
    const text = docWith([['{ name: v2, service: httpd, holder: web2 }', '{ name: v2, service: smtp, holder: web2 }']]);
    const p = problemOf(text);
    expect(p).toMatchObject({ line: 12, column: colOf(text, 12, 'web2'), field: 'vips.1.holder' });
    expect(p.message).toBe('"web2" does not run "smtp", the service of VIP "v2" (its services: httpd)');
  });

  it('p2p backups keys not in the group', () => {
    const text = doc('policies:', '  - { kind: p2p, group: [web1, web2], backups: { web1: web1b, web2: web2b, web3: web1b } }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, field: 'policies.0.backups.web3' });
    expect(p.message).toBe('"web3" is not in the group (group: web1, web2)');
  });

  it('policy kinds and backups keys that are names of Object.prototype members', () => {
    const kind = problemOf(doc('policies:', '  - { kind: constructor }'));
    expect(kind.message).toMatch(/^unknown policy "constructor"/);
    const p = problemsOf(doc('policies:', '  - { kind: p2p, group: [web1, web2], backups: { web1: web1b, web2: web2b, toString: web1b } }'));
    expect(p.map((x) => x.message)).toEqual(['"toString" is not in the group (group: web1, web2)']);
  });
});

describe('time is finite and within MAX_TIME_US', () => {
  it('MAX_TIME_US is 100 years, parseDurationUs enforces it', () => {
    expect(MAX_TIME_US).toBe(36_525 * 86_400 * 1_000_000);
    expect(2 * MAX_TIME_US).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(parseDurationUs('36525d')).toBe(MAX_TIME_US);
    expect(() => parseDurationUs('36526d')).toThrow(/too long: 36526d is more than 36525d \(100 years\)/);
    expect(() => parseDurationUs(1e300)).toThrow(/too long/);
    expect(() => parseDurationUs(-1)).toThrow(/negative/);
    expect(() => parseDurationUs(Number.NaN)).toThrow(/not a duration/);
  });

  it('lognormal mu: 800 (sim died with "Kernel.at: time NaN us")', () => {
    const text = doc('faults:', '  - { kind: Nt2, target: web1, at: { dist: { kind: lognormal, mu: 800, sigma: 1 } } }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, '{ kind: lognormal'), field: 'faults.0.at.dist' });
    expect(p.message).toMatch(/^lognormal: values reach exp\(mu \+ 9·sigma\) = infinity, more than 36525d \(100 years\)/);
    // Within the bound it is fine, wherever a distribution is read.
    expect(() => parseScenario(docWith([['{ name: vmhost }', '{ name: vmhost, bootS: { kind: lognormal, mu: 3, sigma: 1 } }']]))).not.toThrow();
    const big = problemOf(docWith([['{ name: vmhost }', '{ name: vmhost, bootS: { kind: lognormal, mu: 3, sigma: 3 } }']]));
    expect(big).toMatchObject({ field: 'hosts.2.bootS' });
  });

  it('every distribution kind is bounded; draws stay within distRange', () => {
    for (const [d, field] of [
      ['{ kind: uniform, min: 0, max: 4e9 }', 'hosts.2.bootS'],
      ['{ kind: exponential, mean: 1e8 }', 'hosts.2.bootS'],
      ['{ kind: normal, mean: 3, sd: 1e9 }', 'hosts.2.bootS'],
      ['{ kind: empirical, values: [1, 4e9] }', 'hosts.2.bootS'],
      ['4e9', 'hosts.2.bootS'],
    ] as const) {
      const p = problemOf(docWith([['{ name: vmhost }', `{ name: vmhost, bootS: ${d} }`]]));
      expect(p.field, d).toBe(field);
      expect(p.message, d).toMatch(/36525d \(100 years\), the longest simulated time/);
    }
    const rng = { name: 'x', i: 0, next() { return [0, 0.999999999, 0.5, 1e-12][this.i++ % 4]; } };
    for (const d of [
      { kind: 'lognormal', mu: 2, sigma: 1.5 }, { kind: 'exponential', mean: 3 }, { kind: 'normal', mean: 3, sd: 2 },
      { kind: 'normal', mean: 3, sd: 2, min: 1, max: 4 }, { kind: 'uniform', min: 1, max: 2 },
    ] as Dist[]) {
      const { lo, hi } = distRange(d);
      for (let i = 0; i < 50; i++) {
        const x = sample(d, rng);
        expect(x).toBeGreaterThanOrEqual(lo);
        expect(x).toBeLessThanOrEqual(hi);
      }
    }
  });

  it('a normal distribution with a negative mean, or min > max', () => {
    const p = problemOf(doc('faults:', '  - { kind: Nt2, target: web1, at: { dist: { kind: normal, mean: -5, sd: 1 } } }'));
    expect(p).toMatchObject({ field: 'faults.0.at.dist.mean', message: 'normal: the mean of a duration must be >= 0' });
    const q = problemOf(docWith([['{ name: vmhost }', '{ name: vmhost, bootS: { kind: normal, mean: 5, sd: 1, min: 10, max: 3 } }']]));
    expect(q).toMatchObject({ field: 'hosts.2.bootS.max', message: 'normal: max must be >= min' });
  });

  it('a fault at 199999d', () => {
    const text = doc('faults:', '  - { kind: Nt2, target: web1, at: 199999d }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, '199999d'), field: 'faults.0.at' });
    expect(p.message).toBe('too long: 199999d is more than 36525d (100 years), the longest simulated time');
  });

  it('until of 300 nines, or 1e300, is an error, not a silent cut', () => {
    for (const until of ['9'.repeat(300), '1e300']) {
      const text = docWith([['until: 10m', `until: ${until}`]]);
      const p = problemOf(text);
      expect(p).toMatchObject({ line: 2, column: 8, field: 'until' });
      expect(p.message).toMatch(/^too long: 1e\+300 is more than 36525d/);
    }
    expect(problemOf(docWith([['until: 10m', 'until: "1e300"']])).message).toMatch(/^not a duration: "1e300"/);
    // The longest until is accepted and a quiet run reaches it in a handful of events.
    const s = parseScenario(docWith([['until: 10m', 'until: 36525d']], 'policies:', `  - ${FAILOVER}`));
    const sim = buildSimulation(s, { seed: 1 });
    sim.run(undefined, 100_000);
    expect(sim.kernel.nowUs()).toBe(MAX_TIME_US);
  });

  it('numbers that would overflow sums (cpu load, link speed, examination times) are bounded', () => {
    expect(problemOf(docWith([['{ name: vmhost }', '{ name: vmhost, cpuBusyPct: 1e300 }']])).field).toBe('hosts.2.cpuBusyPct');
    expect(problemOf(docWith([['{ name: vmhost }', '{ name: vmhost, services: [{ name: s, examS: 1e9 }] }']])).message).toMatch(/at most 3600 s/);
    expect(problemOf(docWith([['clients: [{ name: c1, vip: v1 }]', 'clients: [{ name: c1, vip: v1, intervalS: 1e-9 }]']])).message).toMatch(/at least 0.001 s/);
  });
});

describe('the world stays within the time range', () => {
  it('a VM operation on a host loaded beyond reason ends within MAX_TIME_US, it does not overflow the clock', () => {
    // cpuBusyPct 1e12 on one core shares the CPU so thinly that the resume would take ~1e10 years.
    const s = parseScenario(docWith(
      [['{ name: vmhost }', '{ name: vmhost, cores: 1, cpuBusyPct: 1e12 }'], ['{ name: web1b, services', '{ name: web1b, resumeS: 100, services']],
      'faults: [{ kind: Nt2, target: web1, at: 10s }]',
      'policies:',
      `  - ${FAILOVER}`,
    ));
    const sim = buildSimulation(s, { seed: 1 });
    sim.run(undefined, 1_000_000);
    expect(sim.kernel.nowUs()).toBe(600_000_000);
    expect(sim.events.some((e) => e.kind === 'vm.state' && e.subject === 'web1b' && (e.data as { state?: string }).state === 'resuming')).toBe(true);
  });
});

describe('accepted silently before, errors now', () => {
  it('a fault after until', () => {
    const text = doc('faults:', '  - { kind: Nt2, target: web1, at: 11m }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, '11m'), field: 'faults.0.at' });
    expect(p.message).toBe('at 660s is after until (600s): the fault would never happen');
    const d = problemOf(doc('faults:', '  - { kind: Nt2, target: web1, at: { dist: { kind: uniform, min: 700, max: 800 } } }'));
    expect(d.message).toMatch(/earliest time of its distribution \(700s\) is after until/);
    // A distribution that may fall after until is fine (the fault may not happen in this run).
    expect(() => parseScenario(doc('faults:', '  - { kind: Nt2, target: web1, at: { dist: { kind: uniform, min: 500, max: 800 } } }'))).not.toThrow();
  });

  it('duration on Nt2 (a fault kind that takes no duration)', () => {
    const text = doc('faults:', '  - { kind: Nt2, target: web1, at: 10s, duration: 5s }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, '5s'), field: 'faults.0.duration' });
    expect(p.message).toBe('Nt2 takes no duration (only pause, link-down, partition heal after one)');
  });

  it('load with start > end', () => {
    const text = doc('load: [{ host: web1, start: 200s, end: 100s, cpuPct: 50 }]');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 1, column: colOf(text, BASE_LINES + 1, '100s'), field: 'load.0.end' });
    expect(p.message).toBe('end (100s) is before start (200s)');
  });

  it('a partition whose sides overlap', () => {
    const text = doc('faults:', '  - { kind: partition, a: [web1, web2], b: [web2, c1], at: 10s }');
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, 'web2, c1'), field: 'faults.0.b.0' });
    expect(p.message).toBe('"web2" is on both sides of the partition');
  });

  it('unknown YAML tags, and known tags other than the core ones', () => {
    const p = problemOf(docWith([['name: base', 'name: !foo base']]));
    expect(p).toMatchObject({ line: 1, column: 7, field: '' });
    expect(p.message).toBe('YAML: unknown tag !foo (scenario files are plain YAML, without tags)');
    const bin = problemOf(docWith([['name: base', 'description: !!binary aGVsbG8=']]));
    expect(bin.message).toBe('YAML: tag !!binary is not allowed (scenario files are plain YAML, without tags)');
    expect(() => parseScenario(docWith([['name: base', 'name: !!str base']]))).not.toThrow();
  });

  it('duplicate names of VIPs, clients, services; a client named like a host; a running VM without a host', () => {
    const ps = problemsOf(docWith(
      [['clients: [{ name: c1, vip: v1 }]', 'clients: [{ name: c1, vip: v1 }, { name: c1, vip: v1 }, { name: web1, vip: v1 }]'],
        ['{ name: v2, service: httpd, holder: web2 }', '{ name: v1, service: httpd, holder: web2 }'],
        ['{ name: vmhost }', '{ name: vmhost, services: [{ name: s }, { name: s }] }'],
        ['{ name: web2b, services', '{ name: web2b, state: running, services']],
    ));
    expect(ps.map((p) => [p.field, p.message])).toEqual([
      ['hosts.2.services.1.name', 'service "s" is declared twice on "vmhost"'],
      ['vms.1.state', 'a running VM needs a host (give "host")'],
      ['vips.1.name', 'VIP "v1" is declared twice'],
      ['clients.1.name', 'client "c1" is declared twice'],
      ['clients.2.name', 'name "web1" is a host or VM already (partitions name hosts, VMs and clients alike)'],
    ]);
  });
});

describe('error wording', () => {
  it('a missing field says "missing field", not "received undefined"', () => {
    const p = problemOf(doc('policies:', '  - { kind: failover, manager: web2, target: web1, service: httpd, vip: v1, backupVm: web1b }'));
    expect(p).toMatchObject({ line: BASE_LINES + 2, field: 'policies.0.backupHost', message: 'missing field "backupHost"' });
    const q = problemOf(doc('clients: [{ name: c2 }]').replace('clients: [{ name: c1, vip: v1 }]\n', ''));
    expect(q).toMatchObject({ field: 'clients.0.vip', message: 'missing field "vip"' });
  });

  it('an unknown field in a policy block says "unknown field", as elsewhere', () => {
    const text = doc('policies:', `  - ${FAILOVER.replace(' }', ', intervall: 5s }')}`);
    const p = problemOf(text);
    expect(p).toMatchObject({ line: BASE_LINES + 2, column: colOf(text, BASE_LINES + 2, '5s'), field: 'policies.0.intervall', message: 'unknown field "intervall"' });
  });

  it('a multi-document file: "one YAML document per file"', () => {
    const p = problemOf(doc('---', 'name: two'));
    expect(p).toMatchObject({ line: BASE_LINES + 1, column: 1, field: '', message: 'one YAML document per file (this one has another after "---")' });
  });

  it('UTF-16 (with a byte-order mark, or without: NUL bytes) is "not UTF-8 text"; bad UTF-8 too', () => {
    withDir((dir) => {
      const cases: Array<[string, Buffer, RegExp]> = [
        ['bom.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc(), 'utf16le')]), /not UTF-8 text \(it starts with a UTF-16 byte-order mark\)/],
        ['be.yaml', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(doc(), 'utf16le').swap16()]), /not UTF-8 text \(it starts with a UTF-16/],
        ['nobom.yaml', Buffer.from(doc(), 'utf16le'), /not UTF-8 text \(it holds NUL bytes/],
        ['latin1.yaml', Buffer.from(`${doc()}description: caf\xe9\n`, 'latin1'), /not UTF-8 text \(it holds byte sequences that are not UTF-8\)/],
      ];
      for (const [name, bytes, re] of cases) {
        const f = join(dir, name);
        writeFileSync(f, bytes);
        const ps = fileProblems(f);
        expect(ps).toHaveLength(1);
        expect(formatProblem(ps[0])).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${re.source}`));
      }
      // A UTF-8 byte-order mark is fine.
      const f = join(dir, 'utf8bom.yaml');
      writeFileSync(f, `\ufeff${doc()}`);
      expect(readScenario(f).name).toBe('base');
    });
  });

  it('deep nesting is an error, never a stack overflow (flow, block and in the schema)', () => {
    for (const text of [
      `hosts: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
      `hosts: ${'['.repeat(100)}${']'.repeat(100)}\n`,
      `hosts:\n${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i + 2)}- `).join('\n')}x\n`,
      `params: ${'{a: '.repeat(500)}1${'}'.repeat(500)}\nhosts: [{ name: x }]\n`,
    ]) {
      const ps = problemsOf(text);
      expect(ps).toHaveLength(1);
      expect(ps[0].message).toMatch(/nested too deeply \(at most 64 levels\)/);
      expect(ps[0].line).toBeGreaterThanOrEqual(1);
    }
  });

  it('an alias that contains itself is an error, not an endless walk', () => {
    const p = problemOf(`params: &a { x: *a }\n${BASE.slice(1).join('\n')}\n`);
    expect(p.message).toMatch(/alias refers to a node that contains it/);
  });

  it('read errors are "file: cannot read: ..." (no :0:0)', () => {
    withDir((dir) => {
      const missing = join(dir, 'missing.yaml');
      expect(ScenarioErrorText(() => readScenario(missing))).toBe(`${missing}: cannot read: no such file`);
      expect(ScenarioErrorText(() => readScenario(dir))).toBe(`${dir}: cannot read: is a directory`);
      expect(ScenarioErrorText(() => readScenario(join(dir, 'missing.yaml', 'x')))).toBe(`${join(dir, 'missing.yaml', 'x')}: cannot read: no such file`);
      const locked = join(dir, 'locked.yaml');
      writeFileSync(locked, doc());
      chmodSync(locked, 0);
      if (process.getuid?.() !== 0) expect(ScenarioErrorText(() => readScenario(locked))).toBe(`${locked}: cannot read: permission denied`);
    });
  });
});

function ScenarioErrorText(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('size limits and files that are not files', () => {
  it(`a file over ${MAX_FILE_BYTES} bytes is refused before it is parsed`, () => {
    withDir((dir) => {
      const f = join(dir, 'big.yaml');
      const host = '  - { name: hhhhhhhh }\n';
      writeFileSync(f, `hosts:\n${host.repeat(Math.ceil(MAX_FILE_BYTES / host.length) + 10)}`);
      const t = Date.now();
      expect(ScenarioErrorText(() => readScenario(f))).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: too large: \\d+ bytes, more than the 1 MiB a scenario file may have$`));
      expect(Date.now() - t).toBeLessThan(1000);
      expect(() => parseScenario('x'.repeat(MAX_FILE_BYTES + 1))).toThrow(/too large/);
    });
  });

  it('/dev/zero and a FIFO are refused at once (they used to grow without bound / hang)', () => {
    if (existsSync('/dev/zero')) expect(ScenarioErrorText(() => readScenario('/dev/zero'))).toBe('/dev/zero: cannot read: not a regular file (a character device)');
    withDir((dir) => {
      const fifo = join(dir, 'fifo.yaml');
      try {
        execFileSync('mkfifo', [fifo]);
      } catch {
        return; // no mkfifo here
      }
      expect(ScenarioErrorText(() => readScenario(fifo))).toBe(`${fifo}: cannot read: not a regular file (a FIFO)`);
    });
  });

  it('garbage prints at most MAX_PROBLEMS_SHOWN lines of at most MAX_LINE_CHARS characters, then "... and K more"', () => {
    let x = 7;
    const chars = 'abc:{}[],- \n';
    const garbage = Array.from({ length: 60_000 }, () => chars[((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16) % chars.length]).join('');
    const err = (() => {
      try {
        parseScenario(garbage, 'garbage.yaml');
      } catch (e) {
        return e as ScenarioError;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(ScenarioError);
    expect(err.problems.length).toBeGreaterThan(MAX_PROBLEMS_SHOWN);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(MAX_PROBLEMS_SHOWN + 1);
    expect(lines[MAX_PROBLEMS_SHOWN]).toBe(`... and ${err.problems.length - MAX_PROBLEMS_SHOWN} more`);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    // Long values in messages are cut too.
    const long = problemOf(docWith([['until: 10m', `until: "${'x'.repeat(5000)}"`]]));
    expect(formatProblem(long).length).toBeLessThanOrEqual(MAX_LINE_CHARS);
  });

  it('the YAML alias bomb (billion laughs) is a clear error', () => {
    const p = problemOf(billionLaughs());
    expect(p).toMatchObject({ line: 2, field: '' });
    expect(p.message).toBe('YAML aliases expand too much (more than 500000 values; a "billion laughs" file?)');
    // Many aliases of one anchor are fine: an alias shares its anchor's value.
    const shared = [...BASE.slice(0, 3), '  - { name: h0, bootS: &b { kind: normal, mean: 50, sd: 2, min: 40 } }'];
    for (let i = 1; i < 500; i++) shared.push(`  - { name: h${i}, bootS: *b, restartS: *b }`);
    expect(parseScenario(`${shared.join('\n')}\n`).hosts).toHaveLength(500);
  });
});

function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const c = String.fromCharCode(97 + i);
    const p = String.fromCharCode(96 + i);
    lines.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(',')}]`);
  }
  return `${lines.join('\n')}\nhosts: [{ name: x }]\n`;
}

describe('every problem of a file at once', () => {
  it('schema problems, cross-reference problems and policy problems in one pass', () => {
    const text = docWith(
      [['{ name: vmhost }', '{ name: vmhost, cores: four }']],
      'faults:',
      '  - { kind: vm-crash, target: web1, at: 10s }',
      'policies:',
      `  - ${FAILOVER.replace('service: httpd', 'service: ftp').replace(' }', ', interval: 0 }')}`,
      '  - { kind: p2p, group: [web1, web2], backups: { web1: web1b, web2: web2b, web9: web1b }, waitPoll: 0 }',
    );
    const ps = problemsOf(text);
    expect(ps.map((p) => [p.line, p.field])).toEqual([
      [6, 'hosts.2.cores'],
      [BASE_LINES + 2, 'faults.0.target'],
      [BASE_LINES + 4, 'policies.0.service'],
      [BASE_LINES + 4, 'policies.0.interval'],
      [BASE_LINES + 5, 'policies.1.backups.web9'],
      [BASE_LINES + 5, 'policies.1.waitPoll'],
    ]);
  });

  it('an invalid entry still counts as declared (no "no host" noise), and later entries keep their index', () => {
    const ps = problemsOf(doc(
      'faults:',
      '  - { kind: St9, target: web1, at: 10s }',
      '  - { kind: Nt2, target: web1, at: 11m }',
    ).replace('{ name: web1, mac: "00:00:00:00:00:01",', '{ name: web1, cores: -1, mac: "00:00:00:00:00:01",'));
    expect(ps.map((p) => p.field)).toEqual(['hosts.0.cores', 'faults.0.kind', 'faults.1.at']);
  });
});

describe('the CLI: exit 2, one line per problem, nothing written', () => {
  it('check: every bad file reported, the next file still checked; sim writes no trace', () => {
    withDir((dir) => {
      const files: Record<string, string> = {
        'waitpoll.yaml': doc('policies:', '  - { kind: p2p, group: [web1, web2], backups: { web1: web1b, web2: web2b }, waitPoll: 0 }'),
        'bomb.yaml': billionLaughs(),
        'multi.yaml': doc('---', 'name: two'),
        'good.yaml': doc('policies:', `  - ${FAILOVER}`),
        'lognormal.yaml': doc('faults:', '  - { kind: Nt2, target: web1, at: { dist: { kind: lognormal, mu: 800, sigma: 1 } } }'),
      };
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      const paths = Object.keys(files).map((n) => join(dir, n));
      const r = hatwin('check', ...paths, join(dir, 'missing.yaml'));
      expect(r.status).toBe(2);
      expect(r.stdout).toBe(`${join(dir, 'good.yaml')}: ok\n`);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toEqual([
        `${join(dir, 'waitpoll.yaml')}:${BASE_LINES + 2}:${colOf(files['waitpoll.yaml'], BASE_LINES + 2, '0 }')}: policies.0.waitPoll: must be at least 1ms: a loop waits this long each round (0 would spin forever at one instant)`,
        `${join(dir, 'bomb.yaml')}:2:8: YAML aliases expand too much (more than 500000 values; a "billion laughs" file?)`,
        `${join(dir, 'multi.yaml')}:${BASE_LINES + 1}:1: one YAML document per file (this one has another after "---")`,
        expect.stringMatching(new RegExp(`^${join(dir, 'lognormal.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${BASE_LINES + 2}:\\d+: faults\\.0\\.at\\.dist: lognormal: values reach`)),
        `${join(dir, 'missing.yaml')}: cannot read: no such file`,
      ]);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack

      const trace = join(dir, 'out.ndjson');
      for (const bad of ['waitpoll.yaml', 'bomb.yaml', 'lognormal.yaml']) {
        const s = hatwin('sim', join(dir, bad), '--trace', trace);
        expect(s.status, s.stderr).toBe(2);
        expect(s.stdout).toBe('');
        expect(s.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(existsSync(trace)).toBe(false);
      }
      const dev = hatwin('check', '/dev/zero');
      expect(dev).toMatchObject({ status: 2, stdout: '', stderr: '/dev/zero: cannot read: not a regular file (a character device)\n' });
    });
  }, 120_000);
});
