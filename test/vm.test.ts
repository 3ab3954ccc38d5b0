// VM control in the sim world (adapters/sim/vm-control.ts over sim/world; the rule in
// engine/ports/hypervisor.ts): chen-lo-2015's create / start / shut down / modify / delete, and
// every refusal: a bad name, an unknown VM, a state that does not allow the operation, more than
// the host has.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fcParams } from './helpers/fc-params.ts';
import { parseScenario } from '../run/sim.ts';
import { Simulation } from '../adapters/sim/simulation.ts';
import { SimVmControl } from '../adapters/sim/vm-control.ts';
import { checkVmName, VM_CONTROL_FROM, VmControlError, type VmControlErrorCode } from '../engine/ports/hypervisor.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Two hosts of 4 cores and 8 GiB (1 GiB used by the host itself: 7168 MiB for VMs); one declared
// backup VM, suspended, as the template.
const SCENARIO = `
name: vm-control
seed: 1
hosts:
  - { name: vmhost, cores: 4, memMb: 8192, memUsedMb: 1024 }
  - { name: spare, cores: 2, memMb: 4096, memUsedMb: 1024 }
vms:
  - { name: web1b, host: vmhost, services: [{ name: httpd }], startS: 40, destroyS: 2 }
`;

function setup() {
  const sim = new Simulation(parseScenario(SCENARIO), { seed: 1 });
  sim.start();
  return { sim, vc: new SimVmControl(sim.world) };
}

/** The code of the VmControlError `f` throws (or the rejection of the future it returns). */
function refusal(f: () => unknown): VmControlErrorCode {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VmControlError);
    return (e as VmControlError).code;
  }
  throw new Error('not refused');
}

describe('VM control in sim: the life of a created VM', () => {
  it('create (defined) -> start (running after the template\'s startS) -> modify refused -> shut down (stopped after destroyS) -> modify -> delete', () => {
    const { sim, vc } = setup();
    const made = vc.create({ name: 'web3', cpus: 2, memoryMb: 512, template: 'web1b' });
    let info = null as unknown;
    made.then((v) => (info = v));
    expect(info).toMatchObject({ name: 'web3', state: 'defined', host: 'vmhost', cpus: 2, memoryMb: 512, template: 'web1b', origin: 'created' });
    expect(sim.world.serviceState('web3', 'httpd')).toBe('up');

    let started = false;
    vc.start('web3').then(() => (started = true));
    expect(vc.list().find((v) => v.name === 'web3')!.state).toBe('starting');
    expect(refusal(() => vc.start('web3'))).toBe('bad-state');
    sim.run(39_000_000);
    expect(started).toBe(false);
    sim.run(41_000_000);
    expect(started).toBe(true);
    expect(sim.world.nodeUp('web3')).toBe(true);

    expect(refusal(() => vc.start('web3'))).toBe('bad-state');
    expect(refusal(() => vc.delete('web3'))).toBe('bad-state');
    expect(refusal(() => vc.modify('web3', { cpus: 1 }))).toBe('bad-state');

    let stopped = false;
    vc.shutdown('web3').then(() => (stopped = true));
    sim.run(44_000_000);
    expect(stopped).toBe(true);
    expect(vc.list().find((v) => v.name === 'web3')!.state).toBe('stopped');
    expect(refusal(() => vc.shutdown('web3'))).toBe('bad-state');

    vc.modify('web3', { cpus: 1, memoryMb: 256 });
    expect(vc.list().find((v) => v.name === 'web3')).toMatchObject({ cpus: 1, memoryMb: 256 });
    vc.delete('web3');
    expect(vc.list().map((v) => v.name)).toEqual(['web1b']);
    expect(refusal(() => vc.start('web3'))).toBe('unknown-vm');
    // Every step is in the trace, as the world's other changes are (shut down at 41 s: destroyS 2 s).
    const mine = sim.events.filter((e) => e.subject === 'web3').map((e) => `${e.kind}${e.data?.state ? ` ${String(e.data.state)}` : ''}@${e.t / 1e6}`);
    expect(mine).toEqual(['vm.state defined@0', 'vm.state starting@0', 'vm.state running@40', 'vm.state running@41', 'vm.state stopped@43', 'vm.modify@44', 'vm.undefine@44']);
  });

  it('refuses bad names: not a host name label, so not a libvirt name either', () => {
    const { vc } = setup();
    for (const bad of ['', '-web', 'web-', 'web_3', 'web 3', '../etc', 'a.b', 'x'.repeat(64), 'wéb']) {
      expect(refusal(() => vc.create({ name: bad, cpus: 1, memoryMb: 128 }))).toBe('bad-name');
    }
    expect(checkVmName('x'.repeat(63))).toBe('x'.repeat(63));
    expect(checkVmName('3web-a')).toBe('3web-a');
  });

  it('refuses a name in use (a VM or a host), an unknown template, an unknown VM', () => {
    const { vc } = setup();
    vc.create({ name: 'web3', cpus: 1, memoryMb: 128 });
    expect(refusal(() => vc.create({ name: 'web3', cpus: 1, memoryMb: 128 }))).toBe('exists');
    expect(refusal(() => vc.create({ name: 'vmhost', cpus: 1, memoryMb: 128 }))).toBe('exists');
    expect(refusal(() => vc.create({ name: 'web4', cpus: 1, memoryMb: 128, template: 'nope' }))).toBe('unknown-template');
    for (const op of ['start', 'shutdown', 'delete'] as const) expect(refusal(() => vc[op]('nope'))).toBe('unknown-vm');
    expect(refusal(() => vc.modify('nope', { cpus: 1 }))).toBe('unknown-vm');
  });

  it('declared VMs (the scenario\'s own) are not deleted or modified; a suspended one is not started', () => {
    const { vc } = setup();
    expect(refusal(() => vc.delete('web1b'))).toBe('declared');
    expect(refusal(() => vc.modify('web1b', { cpus: 2 }))).toBe('declared');
    expect(refusal(() => vc.start('web1b'))).toBe('bad-state');
    expect(refusal(() => vc.shutdown('web1b'))).toBe('bad-state');
  });

  it('refuses more vCPUs or memory than the host has, at create, modify and start', () => {
    const { sim, vc } = setup();
    expect(refusal(() => vc.create({ name: 'big', cpus: 5, memoryMb: 128, host: 'vmhost' }))).toBe('no-room');
    expect(refusal(() => vc.create({ name: 'big', cpus: 1, memoryMb: 7169, host: 'vmhost' }))).toBe('no-room');
    expect(refusal(() => vc.create({ name: 'big', cpus: 0, memoryMb: 128 }))).toBe('bad-request');
    expect(refusal(() => vc.create({ name: 'big', cpus: 1, memoryMb: 32 }))).toBe('bad-request');
    expect(refusal(() => vc.create({ name: 'big', cpus: 1.5, memoryMb: 128 }))).toBe('bad-request');
    vc.create({ name: 'a', cpus: 2, memoryMb: 5000, host: 'vmhost' });
    vc.create({ name: 'b', cpus: 2, memoryMb: 5000, host: 'vmhost' });
    expect(refusal(() => vc.modify('a', { cpus: 8 }))).toBe('no-room');
    vc.start('a');
    sim.run(50_000_000);
    // a holds 5000 of vmhost's 7168 MiB: b does not fit while a runs.
    expect(refusal(() => vc.start('b'))).toBe('no-room');
    vc.shutdown('a');
    sim.run(60_000_000);
    vc.start('b');
    expect(vc.list().find((v) => v.name === 'b')!.state).toBe('starting');
  });

  it('a start whose host dies on the way fails with the world\'s reason', () => {
    const { sim, vc } = setup();
    vc.create({ name: 'web3', cpus: 1, memoryMb: 128, host: 'spare' });
    let err: unknown = null;
    vc.start('web3').then(() => undefined, (e) => (err = e));
    sim.kernel.at(10_000_000, () => sim.world.shutdownHost('spare'));
    sim.run(20_000_000);
    expect(err).toBeInstanceOf(VmControlError);
    expect((err as VmControlError).code).toBe('failed');
    expect((err as Error).message).toMatch(/start web3: .*host spare went off/);
    expect(vc.list().find((v) => v.name === 'web3')!.state).toBe('crashed');
  });
});

describe('VM control in sim: the state machine', () => {
  type Op = { op: 'create' | 'start' | 'shutdown' | 'delete' | 'modify'; name: string; waitS: number };
  const opArb = fc.record({ op: fc.constantFrom<Op['op']>('create', 'start', 'shutdown', 'delete', 'modify'), name: fc.constantFrom('a', 'b', 'web1b', 'bad_name'), waitS: fc.constantFrom(0, 1, 50) });

  it('over random operation sequences, an operation is refused exactly when the table VM_CONTROL_FROM says so, with the code it says, and the world ends where the table leads', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
      const { sim, vc } = setup();
      // The model: created VMs and their states; in-flight operations end after their duration.
      const model = new Map<string, string>();
      for (const { op, name, waitS } of ops) {
        const cur = vc.list().find((v) => v.name === name);
        let want: VmControlErrorCode | null;
        if (name === 'bad_name' && op === 'create') want = 'bad-name';
        else if (op === 'create') want = cur ? 'exists' : null;
        else if (!cur) want = 'unknown-vm';
        else if ((op === 'delete' || op === 'modify') && cur.origin === 'declared') want = 'declared';
        else want = VM_CONTROL_FROM[op].includes(cur.state) ? null : 'bad-state';
        let got: VmControlErrorCode | null = null;
        try {
          if (op === 'create') vc.create({ name, cpus: 1, memoryMb: 128 });
          else if (op === 'modify') vc.modify(name, { cpus: 2 });
          else vc[op](name);
        } catch (e) {
          got = (e as VmControlError).code;
        }
        expect(got).toBe(want);
        if (got === null) {
          if (op === 'create') model.set(name, 'defined');
          else if (op === 'delete') model.delete(name);
          else if (op === 'start') model.set(name, 'running');
          else if (op === 'shutdown') model.set(name, 'stopped');
        }
        sim.run(sim.kernel.nowUs() + waitS * 1_000_000);
      }
      sim.run(sim.kernel.nowUs() + 100_000_000);
      const created = vc.list().filter((v) => v.origin === 'created');
      expect(new Map(created.map((v) => [v.name, v.state]))).toEqual(model);
    }), fcParams(200));
  });
});

describe('hatwin vm --scenario: what the simulated world does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hatwin-vm-cli-'));
  const file = join(dir, 'vm-control.yaml');
  writeFileSync(file, SCENARIO);
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [resolve(import.meta.dirname, '../bin/hatwin.js'), 'vm', ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('create prints the trace line and the new VM; refusals are one line on stderr and exit code 2', () => {
    try {
      const made = cli('create', 'web3', '--cpus', '2', '--memory', '512', '--scenario', file);
      expect(made.code).toBe(0);
      expect(made.out).toContain('{"t":0,"kind":"vm.state","subject":"web3","data":{"state":"defined","host":"vmhost"}}');
      expect(made.out).toContain('created web3: defined, 2 vCPU, 512 MiB, from template web1b');
      const bad = cli('create', 'web_3', '--cpus', '1', '--memory', '128', '--scenario', file);
      expect([bad.code, bad.err.trim()]).toEqual([2, '[vm] error: bad VM name "web_3": a host name label (letters, digits and "-", 1 to 63 characters, not starting or ending with "-")']);
      const big = cli('create', 'web3', '--cpus', '9', '--memory', '128', '--scenario', file);
      expect([big.code, big.err.trim()]).toEqual([2, '[vm] error: 9 vCPUs is more than host vmhost has (4)']);
      const unknown = cli('start', 'nope', '--scenario', file);
      expect([unknown.code, unknown.err.trim()]).toEqual([2, '[vm] error: no VM "nope" (VMs: web1b)']);
      const state = cli('shutdown', 'web1b', '--scenario', file);
      expect([state.code, state.err.trim()]).toEqual([2, '[vm] error: cannot shutdown VM web1b: it is suspended; shutdown needs running (a suspended VM is resumed by its policy, not started)']);
      expect(cli('list', '--scenario', file, '--lab', file).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('examples/scenario.yaml at 500 s: the backup VM runs (the demo failed over); shutting it down takes its destroyS', () => {
    const list = cli('list', '--scenario', 'examples/scenario.yaml', '--at', '500s', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out)).toEqual([{ name: 'web1b', state: 'running', host: 'vmhost', cpus: 1, memoryMb: 2048, template: null, origin: 'declared' }]);
    const down = cli('shutdown', 'web1b', '--scenario', 'examples/scenario.yaml', '--at', '500s');
    expect(down.code).toBe(0);
    expect(down.out).toContain('{"t":501000000,"kind":"vm.state","subject":"web1b","data":{"state":"stopped","host":"vmhost"}}');
    expect(down.out).toContain('shutdown web1b: stopped');
  }, 120_000);
});
