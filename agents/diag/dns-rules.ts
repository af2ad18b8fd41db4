// The DNS the host is given, and whether it answers. With the relay (wifibox-init's default in
// the station flavor) hosts ask the guest itself, so udhcpd must hand out an address the relay
// listens on; with `relay = no` it hands out the wireless network's own servers.
import { parseIPv4 } from '../common/ipv4';
import type { DnsRelayInfo, Problem } from './report';
import { isStation, problem, RESTART_HINT, type RuleContext } from './rule-context';

export function dnsPropagation(c: RuleContext): Problem | null {
  if (!isStation(c) || c.facts.dhcp.udhcpd.configError) return null;
  const relay = c.facts.agents.init.dnsRelay;
  return relay ? relayNotHandedOut(c, relay) : wirelessDnsNotHandedOut(c);
}

function relayNotHandedOut(c: RuleContext, relay: DnsRelayInfo): Problem | null {
  const u = c.facts.dhcp.udhcpd;
  // udhcpd hands out IPv4 only; the relay's IPv6 address is radvd's business.
  const own = relay.listening.filter((a) => parseIPv4(a) !== null);
  if (own.some((a) => u.configDns.includes(a))) return null;
  const handed = u.configDns.join(' ') || 'no DNS server';
  const conf = c.opts.confDir;
  const evidence = [`DNS relay listens on: ${relay.listening.join(' ') || 'nothing'}`, `${u.config} hands out: ${handed}`];
  const withoutRelay = `To do without the relay, set \`relay = no\` in the [init] section of ${conf}/wifibox-agents.conf: udhcpd then hands out the wireless network's DNS itself.`;
  if (own.length === 0) {
    const lan = c.opts.lanInterface;
    return problem('dns-not-propagated', 'degraded', `the DNS relay does not listen on ${lan}'s IPv4 address: the DNS server the host is given (${handed}) does not answer it`,
      `wifibox-init's DNS relay could not listen on port 53 there: another DNS server in the guest (dnsmasq, unbound, ...) holds it, or ${lan} had no address when the relay started.`,
      `See wifibox-init's line "DNS relay cannot listen there" in the log below; stop the other DNS server, then ${RESTART_HINT}. ${withoutRelay}`,
      evidence);
  }
  return problem('dns-not-propagated', 'degraded', `the host is not given the guest's DNS relay (${own.join(' ')}) as its DNS server`,
    `udhcpd's config ${u.config} hands out ${handed}, not the relay's address: the template ${conf}/udhcpd.conf has no %%DNS%% in its \`opt dns\` line (wifibox-init writes the relay's address there), or the rendered file was changed since.`,
    `Write \`opt dns %%DNS%%\` in ${conf}/udhcpd.conf (fixed servers may follow it), then ${RESTART_HINT}; the host picks the relay up at its next lease renewal. ${withoutRelay}`,
    evidence);
}

/** relay = no (or an older wifibox-init): udhcpd hands out the wireless network's DNS once it is known. */
function wirelessDnsNotHandedOut(c: RuleContext): Problem | null {
  const lease = c.facts.dhcp.wireless;
  const u = c.facts.dhcp.udhcpd;
  if (!lease?.address || lease.dns.length === 0) return null;
  const missing = lease.dns.filter((d) => !u.configDns.includes(d));
  if (u.dnsKnown !== false && missing.length === 0) return null;
  return problem('dns-not-propagated', 'degraded', 'the host is not given the wireless network\'s DNS servers',
    u.dnsKnown === false
      ? 'wifibox-init has the wireless lease but has not rendered udhcpd\'s config with its DNS yet (or failed to).'
      : `udhcpd's config ${u.config} lacks ${missing.join(', ')}: it was not rendered again after the wireless DNS changed.`,
    'Wait a few seconds and look again; if it stays, see wifibox-init\'s lines in the log. The host picks the DNS up at its next lease renewal.',
    [`wireless DNS: ${lease.dns.join(' ')}`, `${u.config} hands out: ${u.configDns.join(' ') || 'no DNS'}`, `udhcpd.dnsKnown: ${u.dnsKnown}`]);
}
