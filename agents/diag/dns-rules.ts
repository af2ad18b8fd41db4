// The DNS the host is given, and whether it answers. With the relay (wifibox-init's default in
// the station flavor) hosts ask the guest itself, so udhcpd must hand out an address the relay
// listens on; with `relay = no` it hands out the wireless network's own servers.
import { parseIPv4 } from '../common/ipv4';
import type { DnsRelayInfo, DnsUpstreamInfo, Problem } from './report';
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
    return problem(
      'dns-not-propagated',
      'degraded',
      `the DNS relay does not listen on ${lan}'s IPv4 address: the host's DNS queries to the guest go unanswered (udhcpd hands out ${handed})`,
      `wifibox-init's DNS relay could not listen on port 53 there: another DNS server in the guest (dnsmasq, unbound, ...) holds it, or ${lan} had no address when the relay started.`,
      `See wifibox-init's line "DNS relay cannot listen there" in the log below; stop the other DNS server, then ${RESTART_HINT}. ${withoutRelay}`,
      evidence,
    );
  }
  return problem(
    'dns-not-propagated',
    'degraded',
    `the host is not given the guest's DNS relay (${own.join(' ')}) as its DNS server`,
    `udhcpd's config ${u.config} hands out ${handed}, not the relay's address: the template ${conf}/udhcpd.conf has no %%DNS%% in its \`opt dns\` line (wifibox-init writes the relay's address there), or the rendered file was changed since.`,
    `Write \`opt dns %%DNS%%\` in ${conf}/udhcpd.conf (fixed servers may follow it), then ${RESTART_HINT}; the host picks the relay up at its next lease renewal. ${withoutRelay}`,
    evidence,
  );
}

/** relay = no (or an older wifibox-init): udhcpd hands out the wireless network's DNS once it is known. */
function wirelessDnsNotHandedOut(c: RuleContext): Problem | null {
  const lease = c.facts.dhcp.wireless;
  const u = c.facts.dhcp.udhcpd;
  if (!lease?.address || lease.dns.length === 0) return null;
  const missing = lease.dns.filter((d) => !u.configDns.includes(d));
  if (u.dnsKnown !== false && missing.length === 0) return null;
  return problem(
    'dns-not-propagated',
    'degraded',
    "the host is not given the wireless network's DNS servers",
    u.dnsKnown === false
      ? "wifibox-init has the wireless lease but has not rendered udhcpd's config with its DNS yet (or failed to)."
      : `udhcpd's config ${u.config} lacks ${missing.join(', ')}: it was not rendered again after the wireless DNS changed.`,
    "Wait a few seconds and look again; if it stays, see wifibox-init's lines in the log. The host picks the DNS up at its next lease renewal.",
    [`wireless DNS: ${lease.dns.join(' ')}`, `${u.config} hands out: ${u.configDns.join(' ') || 'no DNS'}`, `udhcpd.dnsKnown: ${u.dnsKnown}`],
  );
}

/** Timed out, and has not answered since (or never has). */
function silent(u: DnsUpstreamInfo): boolean {
  if (u.timeouts === 0) return false;
  if (u.answered === 0 || u.lastAnswerAt === null) return true;
  return u.lastTimeoutAt !== null && Date.parse(u.lastTimeoutAt) > Date.parse(u.lastAnswerAt);
}

/** The relay asks the wireless network's own servers; one that stays silent slows or breaks the host's names. */
export function wirelessDnsSilent(c: RuleContext): Problem | null {
  const relay = c.facts.agents.init.dnsRelay;
  if (!relay || relay.source !== 'wireless') return null;
  const current = relay.upstream.filter((u) => relay.servers.includes(u.server));
  const failing = current.filter(silent);
  if (!failing.length) return null;
  const names = failing.map((u) => u.server).join(', ');
  const all = failing.length === relay.servers.length;
  const one = failing.length === 1;
  const answering = relay.servers.filter((s) => !failing.some((u) => u.server === s));
  return problem(
    'wireless-dns-not-answering',
    'degraded',
    all
      ? `${one ? "the wireless network's DNS server" : "none of the wireless network's DNS servers"} ${names} ${one ? 'does not answer' : 'answers'}: names do not resolve for the host`
      : `the wireless network's DNS server${one ? '' : 's'} ${names} ${one ? 'does' : 'do'} not answer; the relay asks ${answering.join(', ')} instead`,
    `${names} did not answer the guest's queries in time and ${one ? 'has' : 'have'} not answered since: the server is down or unreachable, or the wireless network holds DNS until its captive portal is passed.`,
    `Open a web page on the host: a captive portal shows its page there, to be accepted. Otherwise renew the wireless lease with \`dhcpcd -n ${c.opts.wirelessInterface}\` in the guest (the network may give other servers). Meanwhile the relay asks the next server for each query${all ? '; while none answers, each query gets SERVFAIL and names do not resolve for the host' : ''}.`,
    current.map(
      (u) =>
        `${u.server}: sent ${u.sent}, answered ${u.answered}, timeouts ${u.timeouts}, last answer ${u.lastAnswerAt ?? 'never'}, last timeout ${u.lastTimeoutAt ?? 'never'}`,
    ),
  );
}
