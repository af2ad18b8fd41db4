// The daemons wifibox-init supervises (udhcpd, dhcpcd, radvd): one that keeps dying.
import type { Problem } from './report';
import { problem, type RuleContext } from './rule-context';

/** A daemon restarted this often, and again within a minute (the supervisor's "healthy" time), is in a loop. */
export const RESTART_LOOP = { restarts: 3, withinMs: 60_000 };

const DAEMON_CAUSES: Record<string, string> = {
  udhcpd: 'udhcpd rejects its config, or another DHCP server already holds port 67.',
  dhcpcd: 'dhcpcd cannot run on the wireless interface (it vanished, or its config is wrong).',
  radvd: 'radvd rejects its config, or IPv6 forwarding is off.',
};

export function restartLoops(c: RuleContext): Problem[] {
  const now = c.now.getTime();
  return c.facts.agents.init.daemons.flatMap((d) => {
    const since = d.since ? Date.parse(d.since) : NaN;
    const recent = d.restarts >= RESTART_LOOP.restarts && Number.isFinite(since) && now - since < RESTART_LOOP.withinMs;
    if (d.state !== 'backoff' && !recent) return [];
    return [problem('daemon-restarting', 'degraded', `${d.name} keeps dying: restarted ${d.restarts} time(s)${d.state === 'backoff' ? ', waiting to start again' : ''}`,
      `${DAEMON_CAUSES[d.name] ?? `${d.name} exits soon after it starts.`} Last exit: ${d.lastExit ?? 'unknown'}.`,
      `wifibox-init logs the daemon's last output with each restart: see its lines in the log below.`,
      [`${d.name}: ${d.state}, restarts ${d.restarts}, last exit ${d.lastExit ?? '?'}, since ${d.since ?? '?'}`])];
  });
}
