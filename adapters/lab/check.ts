// A lab service (protocol and `expect` in the lab file) as a check of the one request/reply
// checker, adapters/probe/checkers.ts, which the lab's client and `lab status` call.
import type { ServiceCheck } from '../probe/checkers.ts';
import type { Protocol } from './schema.ts';

// The lab's access log (accesslog.ts) formats the checker's result; it imports the type from here.

/** http: the status `expect` (default 200) and no other; banner: the greeting prefix `expect` (default "220"). */
export function labServiceCheck(s: { protocol: Protocol; expect?: string }): ServiceCheck {
  switch (s.protocol) {
    case 'http': {
      const status = Number(s.expect ?? '200');
      return { protocol: 'http', okStatus: [status, status] };
    }
    case 'banner':
      return s.expect === undefined ? { protocol: 'banner' } : { protocol: 'banner', expect: s.expect };
    case 'echo':
      return { protocol: 'echo' };
  }
}
