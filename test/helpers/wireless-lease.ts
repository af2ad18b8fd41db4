// The lease the lab's wireless network gives the guest, as wifibox-init keeps it and reports it.
import type { WirelessLease } from '../../agents/common/status';

/** wlan0's lease from the lab's wireless DHCP server: 192.168.77.2/24, the server (192.168.77.1) also the router. */
export const labWirelessLease = (leaseSeconds: number, obtainedAt: string): WirelessLease => ({
  iface: 'wlan0',
  address: '192.168.77.2',
  prefixLength: 24,
  router: '192.168.77.1',
  server: '192.168.77.1',
  leaseSeconds,
  obtainedAt,
});
