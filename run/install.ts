// The one installer of programs: each program starts on its agent when the run starts (if that
// agent's host is on) and again each time the host boots, unless it is `once`. The sim's
// Simulation, a live agent process and the experiments all install programs through it.
import type { Process } from '../engine/runtime/effects.ts';
import type { Program } from '../policies/manifest.ts';

/** Where programs run: a simulation, or one live agent. */
export interface ProgramHost {
  /** Called once when the run starts. */
  onStart(hook: () => void): void;
  /** Called with a host's name each time it comes (back) up; a live agent never calls it (it is itself started again). */
  onHostUp(hook: (host: string) => void): void;
  /** Starts a process on an agent. */
  start(name: string, body: Process<unknown>, agent: string): void;
  /** Whether the agent's host is on when the run starts (agents that are no host, like ADMIN, count as on). */
  onAtStart(agent: string): boolean;
}

export interface InstallOptions {
  /** Wraps each program's body when it starts (an experiment announcing what each program manages). */
  wrap?: (program: Program, body: Process<unknown>) => Process<unknown>;
}

export function installPrograms(host: ProgramHost, programs: readonly Program[], o: InstallOptions = {}): void {
  const launch = (p: Program) => host.start(p.name, o.wrap ? o.wrap(p, p.body()) : p.body(), p.agent);
  host.onStart(() => {
    for (const p of programs) if (host.onAtStart(p.agent)) launch(p);
  });
  // By agent, in the programs' order: a host that boots starts its own programs, not a scan of all.
  const onBoot = new Map<string, Program[]>();
  for (const p of programs) {
    if (p.once) continue;
    const mine = onBoot.get(p.agent);
    if (mine) mine.push(p);
    else onBoot.set(p.agent, [p]);
  }
  host.onHostUp((h) => {
    for (const p of onBoot.get(h) ?? []) launch(p);
  });
}
