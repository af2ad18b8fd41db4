// What the wireless network's DHCP (and IPv6 RA/DHCPv6) told dhcpcd, as our hook reports it.
// dhcpcd passes everything in environment variables named as in dhcpcd-run-hooks(8).
import { parseIPv4 } from '../common/ipv4';
import type { WirelessDns, WirelessLease } from '../common/status';
import { isInterfaceName, parseIPv6 } from './config/address';
import { hostnameFault } from './config/hostname';

export interface LeaseState {
  lease: WirelessLease | null;
  dns: WirelessDns;
}

const BOUND = new Set(['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'INFORM', 'STATIC']);
const GONE = new Set(['EXPIRE', 'NAK', 'RELEASE', 'STOP', 'STOPPED', 'NOCARRIER', 'DEPARTED', 'FAIL']);
const BOUND6 = new Set(['BOUND6', 'RENEW6', 'REBIND6', 'REBOOT6', 'INFORM6']);

const words = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
// What the wireless network's DHCP says ends up in resolv.conf, udhcpd's and radvd's configs and
// the status: only well-formed addresses and names get through.
const v4 = (a: string) => parseIPv4(a) !== null;
const v6 = (a: string) => parseIPv6(a) !== null;
const name = (n: string) => n.length > 0 && hostnameFault(n) === null;

export function emptyLeaseState(): LeaseState {
  return { lease: null, dns: { dns: [], dns6: [], domain: null, search: [] } };
}

/**
 * Folds one hook report into the state. DNS learnt earlier is kept when the lease goes away
 * (a link flap should not take the host's DNS with it); a new lease replaces it.
 */
export function applyHookReport(prev: LeaseState, env: Record<string, string>, now: Date): LeaseState {
  const reason = env.reason ?? '';
  const next: LeaseState = { lease: prev.lease, dns: { ...prev.dns } };
  if (BOUND.has(reason)) {
    const lease = Number(env.new_dhcp_lease_time);
    // What a DHCP server says is not trusted: what is not an address is not passed on.
    const address = (a: string | undefined): string | null => (a !== undefined && v4(a) ? a : null);
    const prefix = /^(\d|[12]\d|3[0-2])$/.test(env.new_subnet_cidr ?? '') ? Number(env.new_subnet_cidr) : null;
    next.lease = {
      iface: isInterfaceName(env.interface ?? '') ? (env.interface as string) : '',
      address: address(env.new_ip_address),
      prefixLength: prefix,
      router: address(words(env.new_routers)[0]),
      server: address(env.new_dhcp_server_identifier),
      leaseSeconds: Number.isFinite(lease) && lease > 0 ? lease : null,
      obtainedAt: now.toISOString(),
    };
    next.dns.dns = words(env.new_domain_name_servers).filter(v4);
    const domain = env.new_domain_name?.trim() ?? '';
    next.dns.domain = name(domain) ? domain : null;
    next.dns.search = words(env.new_domain_search).filter(name);
  } else if (GONE.has(reason)) {
    next.lease = null;
  } else if (BOUND6.has(reason)) {
    const d6 = words(env.new_dhcp6_name_servers).filter(v6);
    if (d6.length) next.dns.dns6 = d6;
  } else if (reason === 'ROUTERADVERT') {
    // dhcpcd 9 names router advertisement values nd<router>_<option><n>_*, with no new_ prefix.
    const rdnss = Object.keys(env)
      .filter((k) => /^nd\d+_rdnss\d+_servers$/.test(k))
      .sort()
      .flatMap((k) => words(env[k]))
      .filter(v6);
    if (rdnss.length) next.dns.dns6 = [...new Set(rdnss)];
  }
  return next;
}

export function sameDns(a: WirelessDns, b: WirelessDns): boolean {
  return (
    a.dns.join(' ') === b.dns.join(' ') &&
    a.dns6.join(' ') === b.dns6.join(' ') &&
    a.domain === b.domain &&
    a.search.join(' ') === b.search.join(' ')
  );
}

/** The guest's own resolv.conf, from what the wireless network said. */
export function renderResolvConf(d: WirelessDns): string {
  const lines = ['# written by wifibox-init from the wireless network\'s DHCP'];
  if (d.domain) lines.push(`domain ${d.domain}`);
  if (d.search.length) lines.push(`search ${d.search.join(' ')}`);
  for (const s of [...d.dns, ...d.dns6]) lines.push(`nameserver ${s}`);
  return lines.join('\n') + '\n';
}
