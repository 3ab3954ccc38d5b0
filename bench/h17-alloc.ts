// throw-away: allocation sampling (collected objects included) of one scale case
import { Session } from 'node:inspector';
import fs from 'node:fs';
import { runScale } from '../experiments/scale.ts';
const s = new Session();
s.connect();
const post = (m: string, p?: object) => new Promise<any>((res, rej) => s.post(m, p ?? {}, (e: any, r: any) => (e ? rej(e) : res(r))));
await post('HeapProfiler.enable');
await post('HeapProfiler.startSampling', { samplingInterval: 65536, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const [n, days] = process.argv.slice(2).map(Number);
runScale({ policy: 'p2p', n: n!, days: days!, faultsPerHostYear: 3, seed: 1, nudge: 'changed' }, () => performance.now());
const { profile } = await post('HeapProfiler.stopSampling');
fs.writeFileSync('/tmp/h17-alloc.heapprofile', JSON.stringify(profile));
console.log('ok');
