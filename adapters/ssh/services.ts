// The Services port over Exec: start/stop/restart a daemon by name with argv templates from the
// lab configuration, run on the target over SSH. There are no built-in defaults: on a mini-lab
// host (a network namespace) the machine's own init scripts are the wrong thing to call.
import type { Services } from '../../engine/ports/exec.ts';
import { run, type Exec } from './exec.ts';
import { assertName } from './names.ts';
import { checkTemplate, expand, type ArgvTemplate } from './template.ts';

export type ServiceAction = 'start' | 'stop' | 'restart';

export interface ServiceCommands {
  start: ArgvTemplate;
  stop: ArgvTemplate;
  restart: ArgvTemplate;
}

export interface LiveServicesOptions {
  exec: Exec;
  /** Templates with {target} {service} {action}. */
  commands: ServiceCommands;
  /** Per "target/service" or per "service" templates that replace the defaults. */
  overrides?: Record<string, Partial<ServiceCommands>>;
  timeoutMs?: number;
}

const PLACEHOLDERS = ['target', 'service', 'action'] as const;
const ACTIONS: ServiceAction[] = ['start', 'stop', 'restart'];

export class LiveServices implements Services {
  private readonly commands: ServiceCommands;
  private readonly overrides = new Map<string, Partial<ServiceCommands>>();

  constructor(private readonly opts: LiveServicesOptions) {
    const c = {} as Record<ServiceAction, ArgvTemplate>;
    for (const a of ACTIONS) c[a] = checkTemplate(`services.${a}`, opts.commands?.[a], PLACEHOLDERS);
    this.commands = c;
    for (const [key, o] of Object.entries(opts.overrides ?? {})) {
      const parts = key.split('/');
      if (parts.length > 2) throw new RangeError(`services override ${JSON.stringify(key)}: expected SERVICE or TARGET/SERVICE`);
      parts.forEach((p) => assertName('services override key', p));
      const checked: Partial<ServiceCommands> = {};
      for (const a of ACTIONS) if (o[a] !== undefined) checked[a] = checkTemplate(`services override ${key}.${a}`, o[a], PLACEHOLDERS);
      this.overrides.set(key, checked);
    }
  }

  /** The argv that `action` runs for `service` on `target`. */
  argvFor(target: string, service: string, action: ServiceAction): string[] {
    assertName('target name', target);
    assertName('service name', service);
    const t = this.overrides.get(`${target}/${service}`)?.[action] ?? this.overrides.get(service)?.[action] ?? this.commands[action];
    return expand(t, { target, service, action });
  }

  private async act(target: string, service: string, action: ServiceAction): Promise<void> {
    await run(this.opts.exec, target, this.argvFor(target, service, action), { timeoutMs: this.opts.timeoutMs ?? 30_000 });
  }

  start(target: string, service: string): Promise<void> {
    return this.act(target, service, 'start');
  }
  stop(target: string, service: string): Promise<void> {
    return this.act(target, service, 'stop');
  }
  restart(target: string, service: string): Promise<void> {
    return this.act(target, service, 'restart');
  }
}
