// What every verdict rule is given (the facts, the options it names paths and interfaces by, the
// time) and how it says a problem; the rules themselves are in rules.ts, dns-rules.ts and
// daemon-rules.ts.
import type { DiagOptions } from './options';
import type { Facts, Problem, ProblemId, Severity } from './report';

export interface RuleContext {
  facts: Facts;
  opts: Pick<DiagOptions, 'wirelessInterface' | 'lanInterface' | 'wpaSupplicantConfDir' | 'hostapdConfDir' | 'confDir'>;
  now: Date;
}

export const RESTART_HINT = 'restart Wifibox on the host: `service wifibox restart`';

export function problem(id: ProblemId, severity: Severity, summary: string, cause: string, fix: string, evidence: string[] = []): Problem {
  return { id, severity, summary, cause, fix, evidence };
}

export const isStation = (c: RuleContext): boolean => c.facts.wireless.daemon === 'wpa_supplicant';
