// The held-out kitamura-2018 predictions (Fig. 15 and Fig. 16): the mechanisms they rest on.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpuRate } from '../sim/world/world.ts';
import { simulate, vmActivations, whoActed } from '../experiments/p2p/experiments.ts';
import { ESTIMATES, FOUR, SIX, TROUBLE_AT_S, p2pScenario, troubleFault } from '../experiments/p2p/model.ts';
import * as K from '../experiments/params/kitamura2018.ts';
import { fcParams } from './helpers/fc-params.ts';

describe('cpuRate: fair share of a host with hardware threads', () => {
  it('is 1 while runnable threads fit the cores, cores / threads without SMT', () => {
    const plain = { cores: 4, threadsPerCore: 1, smtGain: 0 };
    expect(cpuRate(plain, 3)).toBe(1);
    expect(cpuRate(plain, 4)).toBe(1);
    expect(cpuRate(plain, 51)).toBeCloseTo(4 / 51, 12);
    // smtGain is ignored on a host without hardware threads.
    expect(cpuRate({ cores: 4, threadsPerCore: 1, smtGain: 0.3 }, 51)).toBeCloseTo(4 / 51, 12);
  });

  it('gives all cores x (1 + gain) to threads once every hardware thread is busy', () => {
    const ht = { cores: 4, threadsPerCore: 2, smtGain: 0.25 };
    expect(cpuRate(ht, 51)).toBeCloseTo(5 / 51, 12);
    // Six threads: two cores run two threads each (2 x 1.25), two run one: 4.5 threads' worth.
    expect(cpuRate(ht, 6)).toBeCloseTo(4.5 / 6, 12);
    expect(cpuRate(ht, 8)).toBeCloseTo(5 / 8, 12);
  });

  it('never exceeds 1, never falls below the no-SMT share, never rises with more threads', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.1, max: 500, noNaN: true }),
      (cores, threadsPerCore, smtGain, threads) => {
        const spec = { cores, threadsPerCore, smtGain };
        const r = cpuRate(spec, threads);
        expect(r).toBeLessThanOrEqual(1);
        expect(r).toBeGreaterThanOrEqual(Math.min(1, cores / threads) - 1e-12);
        expect(cpuRate(spec, threads + 1)).toBeLessThanOrEqual(r + 1e-12);
      },
    ), fcParams(300));
  });
});

describe('Fig. 16 CPU case: only the CPU-bound part of Tv slows', () => {
  const scenario = (smtGain: number, cpuPct: number) => p2pScenario({
    name: 'fig16-cpu', servers: FOUR, freeMemoryMb: { Login: 512, Web1: 512, Mail: 1024, FTP: 4096 },
    faults: [troubleFault('Nt2', 'Mail')], untilS: 120, smtGain,
    load: [{ host: 'FTP', start: 0, cpuPct, memMb: 0, netBytesPerS: 0 }],
  });
  // Expected from the model's own terms: Tv x ioFraction unchanged, the rest at the fair share.
  const expected = (throughput: number, threads: number) => K.tvS * ESTIMATES.ioFraction + (K.tvS * (1 - ESTIMATES.ioFraction)) / (throughput / threads);

  it('50 jobs on the i7-3770 (4 cores, 8 threads): image part as idle, CPU part at 4 x (1 + gain) / 51', () => {
    // The host's own 2 % busy counts as 0.02 of a thread.
    const threads = 50 + 0.02 + 1;
    for (const g of [0, ESTIMATES.smtGain, 0.3]) {
      const got = vmActivations(simulate(scenario(g, 5000), 1), 'Mailb')[0];
      expect(got).toBeCloseTo(expected(4 * (1 + g), threads), 2);
    }
  });

  it('no load: Tv itself', () => {
    expect(vmActivations(simulate(scenario(ESTIMATES.smtGain, 0), 1), 'Mailb')[0]).toBeCloseTo(K.tvS, 3);
  });
});

describe('Fig. 15: three servers in Nt2 at once on the six-server ring', () => {
  const troubled = ['Mail', 'Web1', 'FTP'];
  const ev = simulate(p2pScenario({
    name: 'fig15', servers: SIX, freeMemoryMb: { Proxy: 512, Web2: 1024, Login: 2048, Mail: 1024, Web1: 1024, FTP: 1024 },
    faults: troubled.map((h) => troubleFault('Nt2', h)), clientsFor: troubled, untilS: 200,
  }), 1);
  const recoveredBy = (h: string) => ev.find((e) => e.kind === 'function.recovered' && e.subject === h)?.data;
  const startOf = (vm: string) => ev.find((e) => e.kind === 'vm.state' && e.subject === vm && e.data?.state === 'resuming')!.t / 1e6;

  it('Login recovers Mail and FTP with P1; Web2 recovers Web1 with P2 (its P1 manager FTP is down)', () => {
    expect(recoveredBy('Mail')).toMatchObject({ manager: 'Login', priority: 'P1' });
    expect(recoveredBy('FTP')).toMatchObject({ manager: 'Login', priority: 'P1' });
    expect(recoveredBy('Web1')).toMatchObject({ manager: 'Web2', priority: 'P2' });
    expect(whoActed(ev, troubled)).toContain('Web1 by Web2 (P2)');
  });

  it('Web2 acts after one examination of FTP, before Login\'s dynamic extension reaches Web1', () => {
    const detected = ev.find((e) => e.kind === 'trouble.detected' && e.subject === 'Web1' && e.data?.manager === 'Web2')!.t / 1e6;
    const takeover = ev.find((e) => e.kind === 'p2p.takeover' && e.subject === 'Web1')!.t / 1e6;
    expect(takeover - detected).toBeCloseTo(K.tndS, 3);
    const loginOnWeb1 = ev.find((e) => e.kind === 'trouble.detected' && e.subject === 'Web1' && e.data?.manager === 'Login');
    if (loginOnWeb1) expect(loginOnWeb1.t / 1e6).toBeGreaterThan(takeover);
  });

  it('the activations overlap, each takes longer than Tv, and FTPb starts last', () => {
    for (const h of troubled) expect(vmActivations(ev, `${h}b`)[0]).toBeGreaterThan(K.tvS + 1);
    expect(startOf('FTPb')).toBeGreaterThan(startOf('Mailb'));
    expect(startOf('FTPb')).toBeGreaterThan(startOf('Web1b'));
    expect(startOf('Mailb')).toBeGreaterThan(TROUBLE_AT_S);
  });
});
