// What every verdict rule is given (the facts, the options it names paths and interfaces by, the
// time) and how it says a problem; the rules themselves are in rules.ts, dns-rules.ts,
// daemon-rules.ts and forward-rules.ts.
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

/**
 * The problem of an agent whose status endpoint does not answer: `what` names the endpoint,
 * `moreCause` says what it costs the user, `moreEvidence` what else shows it.
 */
export function unreachable(
  id: ProblemId,
  what: string,
  agent: { endpoint: string; error: string | null },
  command: string,
  fix: string,
  moreCause = '',
  moreEvidence: string[] = [],
): Problem {
  const cause = endpointCause(agent.error, command) + (moreCause ? ` ${moreCause}` : '');
  return problem(id, 'degraded', `${what} status endpoint ${agent.endpoint}: not reachable (${agent.error})`, cause, fix, [
    `${agent.endpoint}: ${agent.error}`,
    ...moreEvidence,
  ]);
}

/** Why an agent's status endpoint did not answer, from its error. */
function endpointCause(error: string | null, agent: string): string {
  switch (error) {
    case 'ENOENT':
      return `${agent} is not running (its status socket is not there).`;
    case 'ECONNREFUSED':
      return `${agent} is not running: it stopped without removing its status socket (it crashed or was killed).`;
    case 'ETIMEDOUT':
      return `${agent} is running but does not answer: it is stuck or the guest is overloaded.`;
    case 'EACCES':
      return 'this command may not read the status socket: run it as root.';
    default:
      return `${agent}'s status endpoint failed (${error}).`;
  }
}
