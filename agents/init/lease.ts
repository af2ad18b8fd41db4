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
/** `v` when it passes `ok`, else null. */
const only = (v: string | undefined, ok: (v: string) => boolean): string | null => (v !== undefined && ok(v) ? v : null);
/** A decimal whole number from `min` to `max`, as dhcpcd writes one; null for anything else. */
function whole(v: string | undefined, min: number, max: number): number | null {
  const n = v !== undefined && /^(0|[1-9][0-9]{0,9})$/.test(v) ? Number(v) : NaN;
  return n >= min && n <= max ? n : null;
}

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
    // What a DHCP server says is not trusted: what is not an address is not passed on.
    next.lease = {
      iface: only(env.interface, isInterfaceName) ?? '',
      address: only(env.new_ip_address, v4),
      prefixLength: whole(env.new_subnet_cidr, 0, 32),
      router: words(env.new_routers).find(v4) ?? null,
      server: only(env.new_dhcp_server_identifier, v4),
      leaseSeconds: whole(env.new_dhcp_lease_time, 1, 2 ** 32 - 1),
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
  return a.dns.join(' ') === b.dns.join(' ') && a.dns6.join(' ') === b.dns6.join(' ') && a.domain === b.domain && a.search.join(' ') === b.search.join(' ');
}

/** The guest's own resolv.conf, from what the wireless network said. */
export function renderResolvConf(d: WirelessDns): string {
  const lines = ["# written by wifibox-init from the wireless network's DHCP"];
  if (d.domain) lines.push(`domain ${d.domain}`);
  if (d.search.length) lines.push(`search ${d.search.join(' ')}`);
  for (const s of [...d.dns, ...d.dns6]) lines.push(`nameserver ${s}`);
  return lines.join('\n') + '\n';
}
