// The DNS the host is given: what udhcpd hands out, checked against the wireless network's
// servers (relay = no) or the guest's own DNS relay.
import type { Problem } from './report';
import { isStation, problem, type RuleContext } from './rule-context';

export function dnsPropagation(c: RuleContext): Problem | null {
  const lease = c.facts.dhcp.wireless;
  const u = c.facts.dhcp.udhcpd;
  if (!isStation(c) || !lease?.address || lease.dns.length === 0 || u.configError) return null;
  const missing = lease.dns.filter((d) => !u.configDns.includes(d));
  if (u.dnsKnown !== false && missing.length === 0) return null;
  return problem('dns-not-propagated', 'degraded', 'the host is not given the wireless network\'s DNS servers',
    u.dnsKnown === false
      ? 'wifibox-init has the wireless lease but has not rendered udhcpd\'s config with its DNS yet (or failed to).'
      : `udhcpd's config ${u.config} lacks ${missing.join(', ')}: it was not rendered again after the wireless DNS changed.`,
    'Wait a few seconds and look again; if it stays, see wifibox-init\'s lines in the log. The host picks the DNS up at its next lease renewal.',
    [`wireless DNS: ${lease.dns.join(' ')}`, `${u.config} hands out: ${u.configDns.join(' ') || 'no DNS'}`, `udhcpd.dnsKnown: ${u.dnsKnown}`]);
}
