// The engine's ports: the only way policy code touches the world. Types only; sim and live
// adapters implement them. Typed helpers (used with `yield*`) turn calls into `call` effects.
import { callPort, type Op } from '../runtime/effects.ts';
import type { Depot } from './depot.ts';
import type { Hypervisor } from './hypervisor.ts';
import type { AccessCounter, LoadSampler } from './load.ts';
import type { Messenger } from './messenger.ts';
import type { Network } from './network.ts';
import type { Power } from './power.ts';
import type { Prober, QuietOracle } from './probe.ts';
import type { Services } from './exec.ts';
import type { Store } from './store.ts';

export type * from './depot.ts';
export type * from './hypervisor.ts';
export type * from './load.ts';
export type * from './messenger.ts';
export { mailboxOf } from './messenger.ts';
export type * from './network.ts';
export type * from './power.ts';
export type * from './probe.ts';
export type * from './exec.ts';
export type * from './store.ts';
export type * from './result.ts';
export type * from './trace.ts';
export type * from './site.ts';
export { PortError, PORT_ERROR_KINDS, portErrorOf, isGone, type PortErrorKind } from './errors.ts';

export interface Ports {
  prober: Prober;
  hypervisor: Hypervisor;
  power: Power;
  network: Network;
  load: LoadSampler & AccessCounter;
  store: Store;
  messenger: Messenger;
  services: Services;
  /** Image copies and uptime reports (the Navigator policy's Service Depot). */
  depot: Depot;
  /** Present in sim only: lets `watch` skip quiet probes exactly. */
  quiet?: QuietOracle;
}

export type PortName = Exclude<keyof Ports, 'quiet'>;

type Fn = (...args: never[]) => unknown;
type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
type ValueOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** Typed domain call: `yield* call('hypervisor', 'resume', vm, host)`. */
export function* call<P extends PortName, O extends keyof Ports[P] & string>(
  port: P,
  op: O,
  ...args: Ports[P][O] extends Fn ? ArgsOf<Ports[P][O]> : never
): Op<Ports[P][O] extends Fn ? ValueOf<Ports[P][O]> : never> {
  return (yield* callPort(port, op, args)) as Ports[P][O] extends Fn ? ValueOf<Ports[P][O]> : never;
}
