// What a policy is to the rest of hatwin: a manifest. A policy folder (policies/<name>/) holds its
// processes, its pure decision functions and one manifest; policies/registry.ts lists the
// manifests, one line each. The composition (run/) reads only manifests: it validates a policy
// block with `schema`, cross-checks it against the site with `check`, and installs `programs` on
// their agents in sim and live alike.
import type { z } from 'zod';
import type { Process } from '../engine/runtime/effects.ts';
import type { Site } from '../engine/ports/site.ts';

/** A problem with a policy block: the path inside the block, and what is wrong. */
export type Problem = [path: (string | number)[], message: string];

/** The agent of programs that the administrator runs once at set-up, on no managed host. */
export const ADMIN = 'admin';

export interface Program {
  /** The host whose agent runs it (or ADMIN). */
  agent: string;
  /** Unique within a run, e.g. `failover/FTP` or `p2p/Mail/executer`. */
  name: string;
  body: () => Process<unknown>;
  /** Run at the start only, not again when the agent's host boots. */
  once?: boolean;
  /** What the program manages, when it manages one thing (shown in traces and views). */
  target?: string;
}

export interface PolicyManifest<C extends { kind: string } = { kind: string }> {
  kind: string;
  /** One line for listings and errors. */
  summary: string;
  /** The policy block of a scenario (strict: unknown fields are errors). */
  schema: z.ZodType<C, unknown>;
  /** Problems of the block against the site: names it uses that the site lacks, and so on. */
  check(cfg: C, site: Site): Problem[];
  /** The programs to run: on `agent`, at start and each time that host boots (`once`: at start only). */
  programs(cfg: C, site: Site): Program[];
}

/** Declares a manifest with its config type inferred from the schema. */
export function definePolicy<S extends z.ZodType<{ kind: string }, unknown>>(m: {
  kind: string;
  summary: string;
  schema: S;
  check(cfg: z.output<S>, site: Site): Problem[];
  programs(cfg: z.output<S>, site: Site): Program[];
}): PolicyManifest<z.output<S>> {
  return m as unknown as PolicyManifest<z.output<S>>;
}

/** Site helpers shared by manifests. */
export const siteHas = {
  host: (s: Site, name: string) => s.hosts.some((h) => h.name === name),
  vm: (s: Site, name: string) => s.vms.some((v) => v.name === name),
  vip: (s: Site, name: string) => s.vips.some((v) => v.name === name),
};
