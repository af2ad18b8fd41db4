// --dry-run: the config read and checked, and the plan printed, as wifibox-init's --dry-run does;
// nothing listens and no file is made. Where network= is empty, the plan uses eth0's address as
// the interfaces have it now.
import { printDryRun } from '../common/problems';
import { readPassthruConfig, type PassthruOptions } from './agent';
import { formatPassthruPlan, planPassthru } from './plan';
import type { PassthruSystem } from './system';

/** Prints the problems on `err` and the plan on `out`; the exit status: 1 when the config has an error, as wifibox-init's. */
export function dryRun(
  opts: Pick<PassthruOptions, 'config' | 'lanInterface'>,
  sys: Pick<PassthruSystem, 'readText' | 'ipv4Addresses'>,
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  const read = readPassthruConfig(sys, opts.config);
  const plan = formatPassthruPlan(planPassthru(read.config, sys.ipv4Addresses(), opts.lanInterface));
  return printDryRun(read.config ? read.config.problems : [read.unreadable], plan, out, err);
}
