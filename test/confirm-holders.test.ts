// The live observer's second look at a VIP a sweep saw on more than one holder (run/live.ts
// confirmHolders): a move under way is seen once, two holders that stay are reported.
import { describe, expect, it } from 'vitest';
import { confirmHolders } from '../run/live.ts';
import type { Lab } from '../adapters/lab/schema.ts';
import type { IdempotentGuestVipDriver } from '../adapters/lab/agent-config.ts';

const lab = { vips: [{ name: 'VIP3', address: '10.77.10.103' }, { name: 'VIP6', address: '10.77.10.106' }] } as unknown as Lab;
const guests = (have: Record<string, string[] | Error>) => new Map(Object.entries(have).map(([vm, a]) => [vm, {
  addresses: async () => {
    if (a instanceof Error) throw a;
    return a;
  },
} as unknown as IdempotentGuestVipDriver]));

describe('confirmHolders', () => {
  it('a move seen half-way (the old holder answered before its removal, the new after its add): only the holder that still has it', async () => {
    expect(await confirmHolders(lab, guests({ F1: [], Fs: ['10.77.10.103'] }), 'VIP3', ['F1', 'Fs'])).toEqual(['Fs']);
  });
  it('two holders that stay are both reported (in the order seen); a guest whose agent does not answer is not counted', async () => {
    expect(await confirmHolders(lab, guests({ F1: ['10.77.10.103', '10.77.10.106'], Fs: ['10.77.10.103'] }), 'VIP3', ['Fs', 'F1'])).toEqual(['Fs', 'F1']);
    expect(await confirmHolders(lab, guests({ F1: new Error('agent gone'), Fs: ['10.77.10.103'] }), 'VIP3', ['F1', 'Fs'])).toEqual(['Fs']);
    // Another VIP's address is not this one's.
    expect(await confirmHolders(lab, guests({ F2: ['10.77.10.106'], Fs: ['10.77.10.103'] }), 'VIP3', ['F2', 'Fs'])).toEqual(['Fs']);
  });
});
