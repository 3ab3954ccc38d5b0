// Every policy hatwin knows, one line each. A scenario's `policies: [{kind: ...}]` names one of
// these; sim and live install them the same way (run/policies.ts). To add a policy: a folder
// policies/<name>/ with its processes and a manifest.ts, and one line here.
import type { PolicyManifest } from './manifest.ts';
import { failoverPolicy } from './failover/manifest.ts';
import { p2pPolicy } from './p2p/manifest.ts';
import { pssPolicy } from './pss/manifest.ts';
import { msbsPolicy } from './msbs/manifest.ts';
import { navigatorPolicy } from './navigator/manifest.ts';
import { lbclusterPolicy } from './lbcluster/manifest.ts';
import { dpmPolicy, ovirtPolicy } from './hostpower/manifest.ts';

export const POLICIES: Readonly<Record<string, PolicyManifest>> = {
  failover: failoverPolicy as PolicyManifest,
  p2p: p2pPolicy as PolicyManifest,
  pss: pssPolicy as PolicyManifest,
  msbs: msbsPolicy as PolicyManifest,
  navigator: navigatorPolicy as PolicyManifest,
  lbcluster: lbclusterPolicy as PolicyManifest,
  dpm: dpmPolicy as PolicyManifest,
  ovirt: ovirtPolicy as PolicyManifest,
};
