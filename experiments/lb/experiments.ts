// The lbcluster experiments (docs/lbcluster.md, "Sim policy").
import type { Experiment } from '../report.ts';
import { lbVrrp } from './vrrp.ts';
import { lbAvailability } from './availability.ts';

export const LB_EXPERIMENTS: Experiment[] = [lbVrrp, lbAvailability];
