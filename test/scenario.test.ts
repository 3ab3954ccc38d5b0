// Scenario files: a mistake gets the file, the line (and column), the field and what was
// expected, and nothing runs. Lines and columns are 1-based and point at the offending value.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, readScenario } from '../run/sim.ts';
import { ScenarioError, formatProblem, type Problem } from '../sim/scenario/load.ts';
import { goldenCases, scenarioPath } from '../run/golden.ts';

function problemsOf(text: string, file = 'bad.yaml'): Problem[] {
  try {
    parseScenario(text, file);
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  throw new Error('expected the scenario to be rejected');
}

/** The single problem of a file with one mistake. */
function problemOf(text: string): Problem {
  const ps = problemsOf(text);
  expect(ps, ps.map(formatProblem).join('\n')).toHaveLength(1);
  return ps[0];
}

const lines = (...ls: string[]) => ls.join('\n') + '\n';

describe('scenario validation', () => {
  it('accepts the demo and fills in defaults', () => {
    const s = readScenario(new URL('../experiments/scenarios/demo.yaml', import.meta.url).pathname);
    expect(s.name).toBe('demo');
    expect(s.until).toBe(15 * 60 * 1_000_000);
    expect(s.hosts[1].bootS).toEqual({ kind: 'constant', value: 60 });
    expect(s.faults[0]).toMatchObject({ kind: 'St2', at: 65_000_000 });
    expect(s.policies[0]).toMatchObject({ kind: 'failover', interval: '10s' });
  });

  it('an unknown field: its line, the field path and "unknown field"', () => {
    const p = problemOf(lines(
      'hosts:',
      '  - name: web1',
      '    colour: red',
      '    cores: 4',
    ));
    expect(p).toMatchObject({ file: 'bad.yaml', line: 3, field: 'hosts.0.colour' });
    expect(p.message).toMatch(/unknown field "colour"/);
  });

  it('a value of the wrong type: its line and column, and the type expected', () => {
    const p = problemOf(lines(
      'hosts:',
      '  - name: web1',
      '    cores: four',
    ));
    expect(p).toMatchObject({ file: 'bad.yaml', line: 3, column: 12, field: 'hosts.0.cores' });
    expect(p.message).toMatch(/expected number/);
  });

  it('a VM on an unknown host names the host and lists the known ones', () => {
    const p = problemOf(lines(
      'hosts:',
      '  - name: web1',
      '  - name: web2',
      'vms:',
      '  - name: vm1',
      '    host: nope',
    ));
    expect(p).toMatchObject({ line: 6, column: 11, field: 'vms.0.host' });
    expect(p.message).toBe('no host "nope" (hosts: web1, web2)');
  });

  it('a fault on an unknown target, and a partition side naming nobody', () => {
    const ps = problemsOf(lines(
      'hosts:',
      '  - name: web1',
      '  - name: web2',
      'faults:',
      '  - kind: St1',
      '    target: ghost',
      '    at: 10s',
      '  - { kind: partition, a: [web1], b: [web2, nobody], at: 20s }',
    ));
    expect(ps.map((p) => [p.line, p.field, p.message])).toEqual([
      [6, 'faults.0.target', 'no host or VM "ghost"'],
      [8, 'faults.1.b.1', 'no host, VM or client "nobody"'],
    ]);
    expect(ps[1].column).toBe('  - { kind: partition, a: [web1], b: [web2, '.length + 1);
  });

  it('a policy that names an unknown host points at that field of the policy', () => {
    const p = problemOf(lines(
      'hosts:',
      '  - name: web1',
      '    services: [{ name: s }]',
      'vms: [{ name: b }]',
      'vips: [{ name: v, service: s, holder: web1 }]',
      'policies:',
      '  - kind: failover',
      '    manager: nobody',
      '    target: web1',
      '    service: s',
      '    vip: v',
      '    backupVm: b',
      '    backupHost: web1',
    ));
    expect(p).toMatchObject({ line: 8, column: 14, field: 'policies.0.manager', message: 'no host "nobody"' });
  });

  it('an unknown policy kind lists the known ones', () => {
    const p = problemOf(lines('hosts:', '  - name: web1', 'policies:', '  - kind: nope'));
    expect(p).toMatchObject({ line: 4, field: 'policies.0.kind' });
    expect(p.message).toMatch(/unknown policy "nope" \(known: .*failover/);
  });

  it('a bad duration string, at top level and inside a policy, says what a duration looks like', () => {
    const top = problemOf(lines('until: 10 parsecs', 'hosts:', '  - name: web1'));
    expect(top).toMatchObject({ line: 1, column: 8, field: 'until' });
    expect(top.message).toMatch(/not a duration: "10 parsecs" \(expected e\.g\. 250ms, 10s/);
    const inPolicy = problemOf(lines(
      'hosts: [{ name: web1, services: [{ name: s }] }]',
      'vms: [{ name: b }]',
      'vips: [{ name: v, service: s, holder: web1 }]',
      'policies:',
      '  - kind: failover',
      '    manager: web1',
      '    target: web1',
      '    service: s',
      '    vip: v',
      '    backupVm: b',
      '    backupHost: web1',
      '    interval: 10 sec',
    ));
    expect(inPolicy).toMatchObject({ line: 12, column: 15, field: 'policies.0.interval' });
    expect(inPolicy.message).toMatch(/not a duration/);
  });

  it('a bad distribution says which forms are accepted, or what its kind lacks', () => {
    const p = problemOf(lines('hosts:', '  - name: web1', '    bootS: banana'));
    expect(p).toMatchObject({ line: 3, column: 12, field: 'hosts.0.bootS' });
    expect(p.message).toMatch(/distribution/);
    expect(p.message).toMatch(/normal/);
    const missing = problemOf(lines('hosts:', '  - name: web1', '    bootS: { kind: normal, mean: 3 }'));
    expect(missing).toMatchObject({ line: 3, column: 12, field: 'hosts.0.bootS.sd', message: 'missing field "sd"' });
    const kind = problemOf(lines('hosts:', '  - name: web1', '    bootS: { kind: gamma, shape: 3 }'));
    expect(kind).toMatchObject({ line: 3, column: 20, field: 'hosts.0.bootS.kind' });
    expect(kind.message).toMatch(/^unknown kind "gamma": expected one of constant, uniform, normal/);
  });

  it('duplicate names: a VM named like a host, and two hosts with one name', () => {
    const ps = problemsOf(lines(
      'hosts:',
      '  - name: web1',
      '  - name: web1',
      'vms:',
      '  - name: web1',
    ));
    expect(ps.map((p) => [p.line, p.column, p.field])).toEqual([
      [3, 11, 'hosts.1.name'],
      [5, 11, 'vms.0.name'],
    ]);
    for (const p of ps) expect(p.message).toMatch(/name "web1" is used twice/);
  });

  it('a YAML syntax error: no field, the line of the error, a YAML message', () => {
    const p = problemsOf(lines(
      'hosts:',
      '  - name: web1',
      '    services: [{ name: x }',
      'faults: []',
    ))[0];
    expect(p).toMatchObject({ file: 'bad.yaml', field: '' });
    // The unclosed flow sequence opened on line 3 is noticed where the next block starts.
    expect(p.line).toBe(4);
    expect(p.message).toMatch(/^YAML: .*\]/);
  });

  it('a tab-indented line is a YAML error on that line', () => {
    const p = problemsOf('hosts:\n  - name: web1\n\tcores: 4\n')[0];
    expect(p.field).toBe('');
    expect(p.line).toBe(3);
    expect(p.message).toMatch(/^YAML:/);
  });

  it('a missing required field points at the enclosing node', () => {
    const p = problemOf(lines('name: x'));
    expect(p).toMatchObject({ line: 1, field: 'hosts', message: 'missing field "hosts"' });
    const vmMissingName = problemOf(lines('hosts: [{ name: web1 }]', 'vms:', '  - host: web1'));
    expect(vmMissingName).toMatchObject({ line: 3, field: 'vms.0.name' });
  });

  it('reports every mistake of a file at once, each with its own line', () => {
    const ps = problemsOf(lines(
      'hosts:',
      '  - name: web1',
      '    cores: -2',
      '    mac: nonsense',
      'clients:',
      '  - { name: c1, vip: nowhere }',
    ));
    // (In schema order, not line order.)
    const byLine = [...ps].sort((a, b) => a.line - b.line);
    expect(byLine.map((p) => [p.line, p.column, p.field])).toEqual([
      [3, 12, 'hosts.0.cores'],
      [4, 10, 'hosts.0.mac'],
      [6, 22, 'clients.0.vip'],
    ]);
    expect(byLine[0].message).toMatch(/>0/);
    expect(byLine[1].message).toMatch(/a MAC address like 00:00:00:00:00:01/);
    expect(byLine[2].message).toBe('no VIP "nowhere" (VIPs: none)');
  });

  it('the message names the file, the line and column, and the field (file:line:col: field: message)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatwin-scenario-'));
    try {
      const path = join(dir, 'lab.yaml');
      writeFileSync(path, lines('hosts:', '  - name: web1', 'vms:', '  - name: vm1', '    host: nope'));
      let err: unknown;
      try {
        readScenario(path);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScenarioError);
      expect((err as Error).message).toBe(`${path}:5:11: vms.0.host: no host "nope" (hosts: web1)`);
      expect(() => readScenario(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml.*cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every golden scenario and the demo are valid', () => {
    const files = [...goldenCases().map(scenarioPath), new URL('../experiments/scenarios/demo.yaml', import.meta.url).pathname];
    for (const f of files) expect(() => parseScenario(readFileSync(f, 'utf8'), f), f).not.toThrow();
  });

  // Regression (sim/scenario/load.ts, fixed in 483d1a0): describeIssue() used to answer every
  // `invalid_union` issue with the duration/distribution text, so an unknown fault kind was
  // reported as "expected seconds ... or a distribution".
  it('an unknown fault kind lists the fault kinds', () => {
    const p = problemOf(lines('hosts:', '  - name: web1', 'faults:', '  - kind: St9', '    target: web1', '    at: 1s'));
    expect(p).toMatchObject({ line: 4, column: 11, field: 'faults.0.kind' });
    expect(p.message).not.toMatch(/distribution/);
    expect(p.message).toMatch(/St1/);
    expect(p.message).toMatch(/partition/);
  });
});
