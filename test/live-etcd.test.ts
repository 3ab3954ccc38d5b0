// The Store port over a real etcd (one member on loopback, non-default ports, temp data dir):
// compare-and-set transactions on the mod revision with the port's version semantics (0 =
// absent), keys under the lab's prefix, no lost update under concurrent writers; and leases: a
// management program's "alive" record disappears ~TTL after the program stops keeping it alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../adapters/etcd/store.ts';
import { StoreReplica } from '../trace/store.ts';
import { startEtcd, type Etcd } from './helpers/live/etcd.ts';
import { median, until } from './helpers/live/procs.ts';

let etcd: Etcd;
let store: EtcdStore;
let other: EtcdStore;
const events: Array<{ t: number; kind: string; subject: string; data: Record<string, unknown> }> = [];

beforeAll(async () => {
  etcd = await startEtcd();
  store = new EtcdStore({ hosts: [etcd.endpoint], prefix: 'hatwin/test-a/', agent: 'Mail', emit: (kind, subject, data) => events.push({ t: events.length, kind, subject, data }) });
  other = new EtcdStore({ hosts: [etcd.endpoint], prefix: 'hatwin/test-b/' });
  // Healthy when a read answers.
  await until(async () => store.get('probe').then(() => true, () => false), 10_000, 'etcd answering');
});

afterAll(async () => {
  store?.close();
  other?.close();
  await etcd?.stop();
});

describe('Store over etcd: compare-and-set on the mod revision', () => {
  it('creates only when absent, updates only at the read version, deletes only at it', async () => {
    expect(await store.get('p2p/membership')).toBeNull();
    const c = await store.cas('p2p/membership', 0, { group: ['Login', 'Mail'], separation: [] });
    expect(c.ok).toBe(true);
    expect(c.version).toBeGreaterThan(0);
    // Creating again fails and says the current version.
    expect(await store.cas('p2p/membership', 0, { group: [] })).toEqual({ ok: false, version: c.version });
    expect(await store.get('p2p/membership')).toEqual({ value: { group: ['Login', 'Mail'], separation: [] }, version: c.version });
    const u = await store.cas('p2p/membership', c.version, { group: ['Login'], separation: ['Mail'] });
    expect(u.ok).toBe(true);
    expect(u.version).toBeGreaterThan(c.version);
    // A writer holding the old version loses.
    expect(await store.cas('p2p/membership', c.version, { group: [] })).toEqual({ ok: false, version: u.version });
    // Updating an absent record at some version fails with version 0.
    expect(await store.cas('p2p/nothing', 5, 1)).toEqual({ ok: false, version: 0 });
    expect(await store.del('p2p/membership', c.version)).toBe(false);
    expect(await store.del('p2p/membership', 0)).toBe(false);
    expect(await store.del('p2p/membership', u.version)).toBe(true);
    expect(await store.get('p2p/membership')).toBeNull();
    // Every CAS and delete is a line: refused ones with the version expected and the one found;
    // the writes rebuild the record (the second as the change from the first).
    expect(events.map((e) => [e.kind, e.data.expect ?? null, e.data.by])).toEqual([
      ['store.write', 0, 'Mail'], ['store.conflict', 0, 'Mail'], ['store.write', c.version, 'Mail'], ['store.conflict', c.version, 'Mail'],
      ['store.conflict', 5, 'Mail'], ['store.conflict', c.version, 'Mail'], ['store.delete', null, 'Mail'],
    ]);
    expect(events[1].data.version).toBe(c.version);
    expect(events[3].data.version).toBe(u.version);
    const replica = new StoreReplica();
    expect(replica.apply(events[0])).toEqual({ group: ['Login', 'Mail'], separation: [] });
    expect(replica.apply(events[2])).toEqual({ group: ['Login'], separation: ['Mail'] });
    expect(replica.version('p2p/membership')).toBe(u.version);
    for (const e of events.slice(3)) replica.apply(e);
    expect(replica.keys()).toEqual([]);
  });

  it('lists a prefix in key order, only this lab\'s keys', async () => {
    for (const h of ['Web1', 'FTP', 'Login']) expect((await store.cas(`p2p/trouble/${h}`, 0, { target: h })).ok).toBe(true);
    expect((await other.cas('p2p/trouble/Elsewhere', 0, { target: 'Elsewhere' })).ok).toBe(true);
    expect((await store.cas('p2p/troubleshooting', 0, 1)).ok).toBe(true);
    const rows = await store.list<{ target: string }>('p2p/trouble/');
    expect(rows.map((r) => r.key)).toEqual(['p2p/trouble/FTP', 'p2p/trouble/Login', 'p2p/trouble/Web1']);
    expect(rows.every((r) => r.version > 0 && r.value.target === r.key.split('/')[2])).toBe(true);
    expect((await other.list('')).map((r) => r.key)).toEqual(['p2p/trouble/Elsewhere']);
  });

  it('concurrent read-modify-write loops lose no update (20 writers, two clients)', async () => {
    expect((await store.cas('counter', 0, 0)).ok).toBe(true);
    const second = new EtcdStore({ hosts: [etcd.endpoint], prefix: 'hatwin/test-a/' });
    let conflicts = 0;
    const increment = async (s: EtcdStore) => {
      for (;;) {
        const cur = (await s.get<number>('counter'))!;
        if ((await s.cas('counter', cur.version, cur.value + 1)).ok) return;
        conflicts++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? store : second)));
    second.close();
    expect((await store.get<number>('counter'))!.value).toBe(20);
    console.log(`[timing] etcd: 20 concurrent increments, ${conflicts} CAS conflicts retried`);
  });

  it('measures a CAS round trip', async () => {
    let v = (await store.cas('timing', 0, 0)).version;
    const xs: number[] = [];
    for (let i = 1; i <= 15; i++) {
      const t0 = performance.now();
      const r = await store.cas('timing', v, i);
      xs.push(performance.now() - t0);
      expect(r.ok).toBe(true);
      v = r.version;
    }
    const g: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      await store.get('timing');
      g.push(performance.now() - t0);
    }
    console.log(`[timing] etcd: CAS txn median ${median(xs).toFixed(1)} ms, get median ${median(g).toFixed(1)} ms`);
    expect(median(xs)).toBeLessThan(500);
  });
});

describe('leases: a dead management program is seen', () => {
  it('the alive record disappears ~TTL after its holder stops keeping it alive', async () => {
    const hold = await store.holdLease('alive/Mail/P1', { manager: 'Mail' }, 2);
    expect((await store.get('alive/Mail/P1'))?.value).toEqual({ manager: 'Mail' });
    // Kept alive past its TTL while the holder lives.
    await new Promise((r) => setTimeout(r, 2_600));
    expect(await store.get('alive/Mail/P1')).not.toBeNull();
    const stoppedAt = performance.now();
    hold.stop(); // the program died: no more keep-alives, no revoke
    await until(async () => (await store.get('alive/Mail/P1')) === null, 6_000, 'alive record expired');
    const goneMs = performance.now() - stoppedAt;
    console.log(`[timing] etcd: lease TTL 2 s, record gone ${(goneMs / 1000).toFixed(2)} s after the last keep-alive stopped`);
    expect(goneMs).toBeGreaterThan(500);
    expect(goneMs).toBeLessThan(4_500);
  });

  it('a clean exit revokes the lease: the record goes at once', async () => {
    const hold = await store.holdLease('alive/FTP/P2', { manager: 'FTP' }, 5);
    expect(await store.get('alive/FTP/P2')).not.toBeNull();
    await hold.revoke();
    expect(await store.get('alive/FTP/P2')).toBeNull();
    await expect(store.holdLease('alive/x', 1, 0)).rejects.toThrow(/TTL/);
  });
});
