// What dhcpcd reports through the hook, folded into wifibox-init's view of the wireless lease. The
// values come from the wireless network's DHCP server: only well-formed ones get through.
import { describe, expect, it } from 'vitest';
import { applyHookReport, emptyLeaseState, renderResolvConf } from '../../agents/init/lease';
import { labWirelessLease } from '../helpers/wireless-lease';

const NOW = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));
const BOUND = {
  reason: 'BOUND',
  interface: 'wlan0',
  new_ip_address: '192.168.77.2',
  new_subnet_cidr: '24',
  new_routers: '192.168.77.1 192.168.77.9',
  new_dhcp_server_identifier: '192.168.77.1',
  new_dhcp_lease_time: '120',
  new_domain_name_servers: '192.168.77.53 8.8.8.8',
  new_domain_name: 'wireless.lab',
  new_domain_search: 'wireless.lab lab',
};

describe("the wireless lease from dhcpcd's reports", () => {
  it('a lease: its address, prefix, router, server, time and DNS', () => {
    expect(applyHookReport(emptyLeaseState(), BOUND, NOW)).toEqual({
      lease: labWirelessLease(120, NOW.toISOString()),
      dns: { dns: ['192.168.77.53', '8.8.8.8'], dns6: [], domain: 'wireless.lab', search: ['wireless.lab', 'lab'] },
    });
  });

  it('what is not an address, a prefix or an interface name is not passed on', () => {
    const s = applyHookReport(
      emptyLeaseState(),
      {
        ...BOUND,
        interface: 'wlan0\nx',
        new_ip_address: '192.168.77.2; rm -rf /',
        new_subnet_cidr: 'abc',
        new_routers: 'router.lab',
        new_dhcp_server_identifier: '1.2.3.4.5',
        new_domain_name_servers: '192.168.77.53 nameserver 999.1.1.1 ::1',
      },
      NOW,
    );
    expect(s.lease).toMatchObject({ iface: '', address: null, prefixLength: null, router: null, server: null });
    expect(s.dns.dns).toEqual(['192.168.77.53']);
    for (const cidr of ['33', '-1', '024', '1e1', '']) {
      expect(applyHookReport(emptyLeaseState(), { ...BOUND, new_subnet_cidr: cidr }, NOW).lease?.prefixLength, cidr).toBeNull();
    }
    expect(Number.isNaN(applyHookReport(emptyLeaseState(), { ...BOUND, new_subnet_cidr: 'x' }, NOW).lease?.prefixLength)).toBe(false);
  });

  it('the lease goes (EXPIRE, STOPPED, …) but the DNS stays; a new lease replaces it', () => {
    const bound = applyHookReport(emptyLeaseState(), BOUND, NOW);
    for (const reason of ['EXPIRE', 'NAK', 'STOPPED', 'DEPARTED', 'NOCARRIER']) {
      const gone = applyHookReport(bound, { reason, interface: 'wlan0' }, NOW);
      expect(gone.lease, reason).toBeNull();
      expect(gone.dns, reason).toEqual(bound.dns);
    }
  });

  it('IPv6 DNS from a router advertisement, well-formed addresses only', () => {
    const s = applyHookReport(
      emptyLeaseState(),
      { reason: 'ROUTERADVERT', interface: 'wlan0', nd1_rdnss1_servers: '2001:db8::53 not-an-address', nd2_rdnss1_servers: '2001:db8::53' },
      NOW,
    );
    expect(s.dns.dns6).toEqual(['2001:db8::53']);
  });

  it('resolv.conf holds only what passed', () => {
    const s = applyHookReport(emptyLeaseState(), { ...BOUND, new_domain_name: 'bad\nnameserver 6.6.6.6' }, NOW);
    expect(renderResolvConf(s.dns)).toBe(
      "# written by wifibox-init from the wireless network's DHCP\nsearch wireless.lab lab\nnameserver 192.168.77.53\nnameserver 8.8.8.8\n",
    );
  });
});
