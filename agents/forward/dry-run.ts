// --dry-run: forwarding.conf read and checked, and the plan printed, as wifibox-init's --dry-run
// does; nothing is bound, no user is looked up and no file is made.
import { printDryRun } from '../common/problems';
import { formatForwardPlan, planForward, readForwardConfig, type ForwardOptions } from './agent';
import type { ForwardSystem } from './system';

/** Prints the problems on `err` and the plan on `out`; the exit status: 1 when the config has an error, as wifibox-init's. */
export function dryRun(opts: Pick<ForwardOptions, 'config'>, sys: Pick<ForwardSystem, 'readText'>, out: (s: string) => void, err: (s: string) => void): number {
  const { config } = readForwardConfig(sys, opts.config);
  return printDryRun(config.problems, formatForwardPlan(planForward(config.lines, new Set())), out, err);
}
